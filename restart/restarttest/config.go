// Package restarttest holds what end-to-end tests of rolling restarts need around simnode, the
// simulated product node in ./simnode:
//
//   - building simnode once per test binary (BuildSimnode);
//   - writing its config (Config, WriteConfig, WriteDSN) and Tomcat conf files (WriteServerXML),
//     and where a node keeps its persisted sessions (SessionsFile);
//   - starting nodes as child processes (StartNode), or the shell commands that start and stop
//     them detached over SSH (StartCommand, StopCommand), and killing leftovers (KillFromPidfile);
//   - a Browser per user with the product's session and remember-me cookies (Crowd: its SSO
//     cookie, which AddCookies carries to the products that sign in through Crowd), and Replay
//     to send an old set of cookies to any node;
//   - reading the shared events file (ReadEvents) and checking availability (MaxDown).
//
// A node listens on 127.0.0.0/8 only. Its status probe has the product's own HTTP quirks;
// GET /_sim/state gives the simulator's own view and POST /_sim/fault injects faults (see
// Fault).
package restarttest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/db/dbtest"
)

// Config is simnode's config file.
type Config struct {
	Product string // jira, confluence, bitbucket, bamboo, fisheye or crowd
	Node    string // the name written into events and pages
	Listen  string // host:port on 127.0.0.0/8
	Pidfile string
	// Events is the file every state change is appended to (JSON lines, shared by nodes).
	Events   string
	Starting time.Duration // how long the node stays STARTING
	Stopping time.Duration // how long it stays STOPPING (still answering) after SIGTERM
	// NeverReady keeps it STARTING forever: a node that does not come back.
	NeverReady bool
	DB         *DBConfig // nil: no database; logins accept any user, remember-me is refused
	// InstallDir holds conf/server.xml and conf/context.xml (Tomcat products), and the
	// persisted sessions under work/Catalina/localhost/ROOT.
	InstallDir string
	// PersistWithoutManager makes a conf dir without any <Manager> element persist sessions,
	// as a real Tomcat's default StandardManager does. Off by default: only an explicit
	// <Manager> without pathname="" persists.
	PersistWithoutManager bool
	// AdminPasswordFile enables the per-user session endpoints (Jira, Bamboo) for the user
	// "admin" with the password in that file.
	AdminPasswordFile string
	// Peers are the URLs of the other nodes of a Crowd cluster: an SSO token is valid while
	// its row exists and the node that issued it still runs, whichever node is asked.
	Peers []string
	// SSOVia are URLs of Crowd nodes (Config.URL of a Crowd node), asked in turn to validate a
	// crowd.token_key cookie: a product node with them accepts Crowd SSO.
	SSOVia []string
}

// DBConfig names the product database. The DSN (which holds the password) is in a file,
// never in simnode's arguments.
type DBConfig struct {
	Driver  string `json:"driver"` // "pgx" or "mysql", as dbtest.Database.DSN returns it
	DSNFile string `json:"dsn_file"`
}

type configJSON struct {
	Product               string    `json:"product"`
	Node                  string    `json:"node"`
	Listen                string    `json:"listen"`
	Pidfile               string    `json:"pidfile"`
	Events                string    `json:"events,omitempty"`
	Starting              string    `json:"starting,omitempty"`
	Stopping              string    `json:"stopping,omitempty"`
	NeverReady            bool      `json:"never_ready,omitempty"`
	DB                    *DBConfig `json:"db,omitempty"`
	InstallDir            string    `json:"install_dir,omitempty"`
	PersistWithoutManager bool      `json:"persist_without_manager,omitempty"`
	AdminPasswordFile     string    `json:"admin_password_file,omitempty"`
	Peers                 []string  `json:"peers,omitempty"`
	SSOVia                []string  `json:"sso_via,omitempty"`
}

// MarshalJSON writes durations as Go duration strings ("1500ms").
func (c Config) MarshalJSON() ([]byte, error) {
	j := configJSON{Product: c.Product, Node: c.Node, Listen: c.Listen, Pidfile: c.Pidfile, Events: c.Events,
		NeverReady: c.NeverReady, DB: c.DB, InstallDir: c.InstallDir, PersistWithoutManager: c.PersistWithoutManager,
		AdminPasswordFile: c.AdminPasswordFile, Peers: c.Peers, SSOVia: c.SSOVia}
	if c.Starting != 0 {
		j.Starting = c.Starting.String()
	}
	if c.Stopping != 0 {
		j.Stopping = c.Stopping.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *Config) UnmarshalJSON(data []byte) error {
	var j configJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*c = Config{Product: j.Product, Node: j.Node, Listen: j.Listen, Pidfile: j.Pidfile, Events: j.Events,
		NeverReady: j.NeverReady, DB: j.DB, InstallDir: j.InstallDir, PersistWithoutManager: j.PersistWithoutManager,
		AdminPasswordFile: j.AdminPasswordFile, Peers: j.Peers, SSOVia: j.SSOVia}
	var err error
	if j.Starting != "" {
		if c.Starting, err = time.ParseDuration(j.Starting); err != nil {
			return fmt.Errorf("starting: %w", err)
		}
	}
	if j.Stopping != "" {
		if c.Stopping, err = time.ParseDuration(j.Stopping); err != nil {
			return fmt.Errorf("stopping: %w", err)
		}
	}
	return nil
}

// URL is the node's base URL, with the product's context path: Crowd is served below /crowd,
// as it ships; the others at the root.
func (c Config) URL() string {
	if c.Product == "crowd" {
		return "http://" + c.Listen + "/crowd"
	}
	return "http://" + c.Listen
}

// WriteConfig writes cfg to dir/<node>.json (mode 0600) and returns the file's path.
func WriteConfig(t testing.TB, dir string, cfg Config) string {
	t.Helper()
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, cfg.Node+".json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("restarttest: %v", err)
	}
	return path
}

// WriteDSN writes the database's DSN to dir/<database name>.dsn (mode 0600) and returns the
// DBConfig that points simnode at it.
func WriteDSN(t testing.TB, dir string, d *dbtest.Database) *DBConfig {
	t.Helper()
	driver, dsn := d.DSN()
	path := filepath.Join(dir, d.Name+".dsn")
	if err := os.WriteFile(path, []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatalf("restarttest: %v", err)
	}
	return &DBConfig{Driver: driver, DSNFile: path}
}

// FreeAddr returns a loopback address ip:port (ip in 127.0.0.0/8) whose port was free a
// moment ago.
func FreeAddr(t testing.TB, ip string) string {
	t.Helper()
	if parsed := net.ParseIP(ip); parsed == nil || !parsed.IsLoopback() || parsed.To4() == nil {
		t.Fatalf("restarttest: FreeAddr(%q): want an IPv4 loopback address", ip)
	}
	ln, err := net.Listen("tcp4", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("restarttest: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// ManagerPersist and ManagerOff are the two <Manager> settings of Tomcat's server.xml that
// matter: sessions saved to SESSIONS.ser on stop and restored on start, or never.
const (
	ManagerPersist = `<Manager pathname="SESSIONS.ser"/>`
	ManagerOff     = `<Manager pathname=""/>`
)

// WriteServerXML writes installDir/conf/server.xml, shaped like the one Jira ships, with
// manager (e.g. ManagerPersist, ManagerOff, or "" for none) inside the ROOT context. A
// commented-out Manager is included, as in real files, and must not count.
func WriteServerXML(t testing.TB, installDir, manager string) string {
	t.Helper()
	xml := `<?xml version="1.0" encoding="utf-8"?>
<Server port="8005" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector port="8080" protocol="HTTP/1.1" relaxedPathChars="[]|" maxThreads="150"/>
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="true" autoDeploy="true">
        <!-- <Manager pathname="SESSIONS.ser"/> would keep sessions across restarts -->
        <Context path="" docBase="${catalina.home}/atlassian-jira" reloadable="false" useHttpOnly="true">
          <Resource name="UserTransaction" auth="Container" type="javax.transaction.UserTransaction"/>
          ` + manager + `
        </Context>
      </Host>
    </Engine>
  </Service>
</Server>
`
	path := filepath.Join(installDir, "conf", "server.xml")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// SessionsFile is where a Tomcat node under installDir persists its sessions: the file reauth
// must remove while the node is stopped.
func SessionsFile(installDir string) string {
	return filepath.Join(installDir, "work", "Catalina", "localhost", "ROOT", "SESSIONS.ser")
}

// Event is one line of the events file: a node entered State at Time.
type Event struct {
	Time  time.Time `json:"time"`
	Node  string    `json:"node"`
	State string    `json:"state"` // STARTING, RUNNING, STOPPING, STOPPED, or a forced state
	PID   int       `json:"pid"`
}

// ReadEvents reads the events file (a missing file has none), in time order.
func ReadEvents(t testing.TB, path string) []Event {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("restarttest: %v", err)
	}
	var events []Event
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("restarttest: %s:%d: %v: %q", path, line, err, sc.Text())
		}
		events = append(events, e)
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })
	return events
}

// MaxDown returns the largest number of nodes that were not RUNNING at the same time, from
// since on, and when that was first reached. A node's state at since is the last event it
// wrote before; nodes that wrote none by then are counted as down until they report RUNNING.
// nodes lists every node of the target.
func MaxDown(events []Event, nodes []string, since time.Time) (max int, at time.Time) {
	state := map[string]string{}
	for _, n := range nodes {
		state[n] = ""
	}
	down := func() int {
		c := 0
		for _, s := range state {
			if s != "RUNNING" {
				c++
			}
		}
		return c
	}
	i := 0
	for ; i < len(events) && !events[i].Time.After(since); i++ {
		if _, ok := state[events[i].Node]; ok {
			state[events[i].Node] = events[i].State
		}
	}
	max, at = down(), since
	for ; i < len(events); i++ {
		if _, ok := state[events[i].Node]; !ok {
			continue
		}
		state[events[i].Node] = events[i].State
		if d := down(); d > max {
			max, at = d, events[i].Time
		}
	}
	return max, at
}
