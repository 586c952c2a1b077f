package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/products"
	"github.com/reauth/reauth/products/producttest"
	"github.com/reauth/reauth/restart"
	"github.com/reauth/reauth/restart/restarttest"
	"github.com/reauth/reauth/restart/sshtest"
)

// cluster is a simulated Data Center cluster: simnode processes on distinct loopback
// addresses, each also an SSH host of one real sshd, sharing one real product database.
type cluster struct {
	product string
	dir     string
	db      *dbtest.Database
	ssh     *sshtest.Server
	bin     string
	nodes   []*simNode
	events  string
	env     *env
	install string // shared by the nodes: Tomcat's conf and work folders
}

type simNode struct {
	host    string // SSH address, 127.0.0.N
	cfg     restarttest.Config
	cfgPath string
	dir     string
}

// clusterOpts shape a cluster.
type clusterOpts struct {
	nodes    int
	dialect  string
	starting time.Duration
	settle   string
	startTO  string
	manager  string // server.xml <Manager>: restarttest.ManagerOff (default) or ManagerPersist
	roles    []string
	stopCmd  string // runs before the node's own stop command
	// stopHook, when set, gives more shell to run before each stop (after the cluster's
	// database exists), e.g. to record what the database holds at that moment.
	stopHook func(c *cluster) string
	ssh      *sshtest.Server // share an sshd (it must listen on the cluster's hosts)
	// nodeAdmin, when set, is the admin password the nodes' per-user session endpoints accept;
	// apiAdmin, when set, is the one the reauth config gives (base_url: the first node).
	nodeAdmin, apiAdmin string
	first               int // the first node is 127.0.0.<first>; default 2
	// sim, when set, changes each node's simnode config before it starts (e.g. sso_via).
	sim func(cfg *restarttest.Config)
}

// newCluster starts n simulated nodes of product, RUNNING, and writes a reauth config for
// them. Every node gets the same start and stop commands, as systemctl would be on real
// hosts; the commands find their node's files from the address SSH was reached on.
func newCluster(t testing.TB, product string, o clusterOpts) *cluster {
	t.Helper()
	if o.dialect == "" {
		o.dialect = "postgres"
	}
	if o.starting == 0 {
		o.starting = 800 * time.Millisecond
	}
	if o.settle == "" {
		o.settle = "1s"
	}
	if o.startTO == "" {
		o.startTO = "30s"
	}
	if o.manager == "" {
		o.manager = restarttest.ManagerOff
	}
	c := &cluster{product: product, dir: t.TempDir(), bin: restarttest.BuildSimnode(t)}
	c.db = server(t, o.dialect).NewDatabase(t)
	f, _ := producttest.For(product, o.dialect)
	f.Setup(t, c.db.Exec, 0)
	c.addUsers(t, f, 50)
	if o.first == 0 {
		o.first = 2
	}
	var hosts []string
	for i := 0; i < o.nodes; i++ {
		hosts = append(hosts, fmt.Sprintf("127.0.0.%d", i+o.first))
	}
	c.ssh = o.ssh
	if c.ssh == nil {
		c.ssh = sshtest.Start(t, hosts...)
	}
	c.events = filepath.Join(c.dir, "events.jsonl")
	c.install = filepath.Join(c.dir, "install")
	// Tomcat's conf and work folders are in a folder of the install dir for some products
	// (Crowd's apache-tomcat).
	tomcat := filepath.Join(c.install, productOf(t, product).TomcatDir)
	restarttest.WriteServerXML(t, tomcat, o.manager)
	dsn := restarttest.WriteDSN(t, c.dir, c.db)
	for i, h := range hosts {
		n := &simNode{host: h, dir: filepath.Join(c.dir, "nodes", h)}
		os.MkdirAll(n.dir, 0o700)
		n.cfg = restarttest.Config{
			Product: product, Node: fmt.Sprintf("node%d", i+1), Listen: restarttest.FreeAddr(t, h),
			Pidfile: filepath.Join(n.dir, "pid"), Events: c.events,
			Starting: o.starting, Stopping: 200 * time.Millisecond,
			DB: dsn, InstallDir: tomcat,
		}
		if o.nodeAdmin != "" {
			n.cfg.AdminPasswordFile = filepath.Join(c.dir, "node-admin.pw")
			os.WriteFile(n.cfg.AdminPasswordFile, []byte(o.nodeAdmin), 0o600)
		}
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes {
		if product == "crowd" {
			// A Crowd cluster's nodes know each other: an SSO token lives in its node's memory.
			for _, peer := range c.nodes {
				if peer != n {
					n.cfg.Peers = append(n.cfg.Peers, peer.cfg.URL())
				}
			}
		}
		if o.sim != nil {
			o.sim(&n.cfg)
		}
		n.cfgPath = restarttest.WriteConfig(t, n.dir, n.cfg)
		// WriteConfig names the file after the node; the start command looks for cfg.json.
		os.Rename(n.cfgPath, filepath.Join(n.dir, "cfg.json"))
		n.cfgPath = filepath.Join(n.dir, "cfg.json")
	}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			restarttest.KillFromPidfile(n.cfg.Pidfile, n.cfgPath)
		}
	})
	for _, n := range c.nodes {
		c.startLocal(t, n)
	}
	for _, n := range c.nodes {
		restarttest.WaitState(t, n.cfg.URL(), "RUNNING", 30*time.Second)
	}
	// The reauth config.
	var nodes strings.Builder
	for i, n := range c.nodes {
		fmt.Fprintf(&nodes, "      - host: %s\n        url: %s\n", n.host, n.cfg.URL())
		if i < len(o.roles) {
			fmt.Fprintf(&nodes, "        role: %s\n", o.roles[i])
		}
	}
	stop := c.stopCommand()
	if o.stopCmd != "" {
		stop = o.stopCmd + "; " + stop
	}
	if o.stopHook != nil {
		stop = o.stopHook(c) + "; " + stop
	}
	extra := "    nodes:\n" + nodes.String() +
		"    restart:\n" +
		"      stop: " + yamlQuote(stop) + "\n" +
		"      start: " + yamlQuote(c.startCommand()) + "\n" +
		"      install_dir: " + yamlQuote(c.install) + "\n" +
		"      stop_timeout: 20s\n" +
		"      start_timeout: " + o.startTO + "\n" +
		"      settle: " + o.settle + "\n"
	if o.apiAdmin != "" {
		pw := filepath.Join(c.dir, "api-admin.pw")
		os.WriteFile(pw, []byte(o.apiAdmin+"\n"), 0o600)
		extra = "    base_url: " + c.nodes[0].cfg.URL() + "\n    admin:\n      user: admin\n      password_file: " + yamlQuote(pw) + "\n" + extra
	}
	if product == "fisheye" {
		f, _ := producttest.For(product, o.dialect)
		extra = "    table: " + f.TableOverride + "\n" + extra
	}
	c.env = newEnv(t, targetYAML{name: product, product: product, db: c.db, extra: extra})
	c.writeSSHConfig(t, c.ssh.KnownHosts)
	return c
}

func yamlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// writeSSHConfig puts the ssh: section into the config, with the given known_hosts file.
func (c *cluster) writeSSHConfig(t testing.TB, knownHosts string) {
	t.Helper()
	data, err := os.ReadFile(c.env.config)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if i := strings.Index(s, "ssh:\n"); i >= 0 {
		j := strings.Index(s, "targets:\n")
		s = s[:i] + s[j:]
	}
	sshYAML := fmt.Sprintf("ssh:\n  user: %s\n  identity_file: %s\n  known_hosts: %s\n  port: %d\n",
		c.ssh.User, c.ssh.IdentityFile, knownHosts, c.ssh.Port)
	s = strings.Replace(s, "targets:\n", sshYAML+"targets:\n", 1)
	if err := os.WriteFile(c.env.config, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// nodeDir is shell text naming the node's folder from the address SSH was reached on.
func (c *cluster) nodeDir() string {
	return "d=" + shq(c.dir+"/nodes") + "/$(echo \"$SSH_CONNECTION\" | cut -d' ' -f3)"
}

func (c *cluster) startCommand() string {
	return c.nodeDir() + `; setsid ` + shq(c.bin) + ` "$d/cfg.json" >>"$d/log" 2>&1 </dev/null &`
}

// stopCommand is like a product's stop script: SIGTERM, then wait for the process to exit.
func (c *cluster) stopCommand() string {
	return c.nodeDir() + `; pid=$(cat "$d/pid" 2>/dev/null) || exit 0; kill -TERM "$pid" 2>/dev/null || exit 0; ` +
		`i=0; while kill -0 "$pid" 2>/dev/null; do i=$((i+1)); [ $i -gt 150 ] && exit 1; sleep 0.1; done`
}

// startLocal starts a node directly, not over SSH (set-up and repairs by hand).
func (c *cluster) startLocal(t testing.TB, n *simNode) {
	t.Helper()
	cmd := exec.Command("sh", "-c", "setsid "+shq(c.bin)+" "+shq(n.cfgPath)+" >>"+shq(n.dir+"/log")+" 2>&1 </dev/null &")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("start %s: %v %s", n.host, err, out)
	}
}

// stopLocal stops a node directly and waits for it to be gone.
func (c *cluster) stopLocal(t testing.TB, n *simNode) {
	t.Helper()
	if err := restarttest.KillFromPidfile(n.cfg.Pidfile, n.cfgPath); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for restart.Probe(context.Background(), restart.NewHTTPClient(), probeOf(t, c.product), n.cfg.URL()).State != restart.Down {
		if time.Now().After(deadline) {
			t.Fatalf("node %s did not stop", n.host)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// addUsers adds n users (user0 ...) to the product's user tables, besides the fixture's people.
func (c *cluster) addUsers(t testing.TB, f producttest.Fixture, n int) {
	t.Helper()
	var people []producttest.Person
	for i := 0; i < n; i++ {
		people = append(people, producttest.Person{Login: fmt.Sprintf("user%d", i), ID: int64(100 + i), Key: fmt.Sprintf("JIRAUSER%d", 20000+i)})
	}
	f.AddPeople(t, c.db.Exec, people...)
}

// loginUsers logs n users in, round robin over the nodes, every other one with remember-me.
func (c *cluster) loginUsers(t testing.TB, n int) []*restarttest.Browser {
	t.Helper()
	var browsers []*restarttest.Browser
	for i := 0; i < n; i++ {
		b := restarttest.NewBrowser(t, c.product)
		b.Login(t, c.nodes[i%len(c.nodes)].cfg.URL(), fmt.Sprintf("user%d", i), i%2 == 0)
		browsers = append(browsers, b)
	}
	return browsers
}

// prober asks every node for its state every 100 ms until stopped, and remembers the fewest
// nodes it saw serving at once.
type prober struct {
	mu      sync.Mutex
	minUp   int
	at      time.Time
	samples int
	cancel  context.CancelFunc
	done    chan struct{}
}

func (c *cluster) startProber() *prober {
	ctx, cancel := context.WithCancel(context.Background())
	p := &prober{minUp: len(c.nodes), cancel: cancel, done: make(chan struct{})}
	client := restart.NewHTTPClient()
	product, _ := products.Lookup(c.product)
	probe := product.Probe
	go func() {
		defer close(p.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			up := 0
			var wg sync.WaitGroup
			var mu sync.Mutex
			for _, n := range c.nodes {
				wg.Add(1)
				go func(url string) {
					defer wg.Done()
					if restart.Probe(ctx, client, probe, url).Ready() {
						mu.Lock()
						up++
						mu.Unlock()
					}
				}(n.cfg.URL())
			}
			wg.Wait()
			if ctx.Err() != nil {
				return
			}
			p.mu.Lock()
			p.samples++
			if up < p.minUp {
				p.minUp, p.at = up, time.Now()
			}
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *prober) stop() (minUp, samples int) {
	p.cancel()
	<-p.done
	return p.minUp, p.samples
}

// restartsPerNode counts, per node, the processes that reached RUNNING after since.
func restartsPerNode(events []restarttest.Event, since time.Time) map[string]int {
	n := map[string]int{}
	for _, e := range events {
		if e.Time.After(since) && e.State == "RUNNING" {
			n[e.Node]++
		}
	}
	return n
}

// runningAt is when a node's process (after since) wrote its RUNNING event.
func runningAt(events []restarttest.Event, node string, since time.Time) time.Time {
	for _, e := range events {
		if e.Node == node && e.State == "RUNNING" && e.Time.After(since) {
			return e.Time
		}
	}
	return time.Time{}
}

// node is the node with SSH address host.
func (c *cluster) node(host string) *simNode {
	for _, n := range c.nodes {
		if n.host == host {
			return n
		}
	}
	return nil
}

// targetsYAML is the targets: part of the cluster's reauth config.
func (c *cluster) targetsYAML(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(c.env.config)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	return s[strings.Index(s, "targets:\n")+len("targets:\n"):]
}

// probeOf is the product table's probe for a product.
func probeOf(t testing.TB, product string) products.Probe {
	t.Helper()
	return productOf(t, product).Probe
}

// productOf is the product table's entry for a product.
func productOf(t testing.TB, product string) *products.Product {
	t.Helper()
	p, err := products.Lookup(product)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
