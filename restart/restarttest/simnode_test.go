package restarttest_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/products/producttest"
	"github.com/reauth/reauth/restart/restarttest"
)

// TestNodeLifecycle runs one node of every product on each database its fixture exists for,
// through start, logins, a remember-me failover, the rows' deletion and a stop.
func TestNodeLifecycle(t *testing.T) {
	bin := restarttest.BuildSimnode(t)
	cases := []struct{ product, dialect string }{
		{"jira", "postgres"}, {"confluence", "postgres"}, {"bitbucket", "postgres"}, {"bamboo", "postgres"}, {"fisheye", "postgres"},
		{"jira", "mysql"}, {"confluence", "mysql"}, {"bamboo", "mysql"}, {"fisheye", "mysql"},
	}
	for _, c := range cases {
		t.Run(c.product+"/"+c.dialect, func(t *testing.T) {
			t.Parallel()
			lifecycle(t, bin, c.product, c.dialect)
		})
	}
}

func lifecycle(t *testing.T, bin, product, dialect string) {
	server := dbtest.Postgres
	if dialect == "mysql" {
		server = dbtest.MariaDB
	}
	d := server(t).NewDatabase(t)
	fx, ok := producttest.For(product, dialect)
	if !ok {
		t.Fatalf("no fixture for %s on %s", product, dialect)
	}
	fx.Setup(t, d.Exec, 3)
	pool := d.Open(t)
	dir := t.TempDir()
	cfg := nodeConfig(t, product, "node1", "127.0.0.2", dir)
	cfg.DB = restarttest.WriteDSN(t, dir, d)

	node := restarttest.StartNode(t, bin, dir, cfg)
	url := node.URL()

	// Start-up: STARTING with the product's code, then RUNNING; no logins before.
	triedLogin := false
	seen, at := watch(t, product, url, 15*time.Second, func(o observation, err error) bool {
		if err == nil && !triedLogin {
			triedLogin = true
			if code, _, err := restarttest.NewBrowser(t, product).TryLogin(url, "alice", true); err != nil || code != http.StatusServiceUnavailable {
				t.Errorf("login while starting: HTTP %d, %v; want 503", code, err)
			}
		}
		return o == expect(product, "RUNNING")
	})
	if want := []observation{expect(product, "STARTING"), expect(product, "RUNNING")}; !reflect.DeepEqual(seen, want) {
		t.Fatalf("probe replies %+v; want %+v\nlog:\n%s", seen, want, node.Log())
	}
	events := restarttest.ReadEvents(t, cfg.Events)
	if got := statesOf(events, "node1"); got != "STARTING RUNNING" {
		t.Fatalf("events %q; want STARTING RUNNING", got)
	}
	if running := events[1].Time; running.After(at[1]) {
		t.Errorf("RUNNING event at %v, after the probe saw RUNNING at %v", running, at[1])
	}
	if events[0].PID != node.PID() {
		t.Errorf("event pid %d; want %d", events[0].PID, node.PID())
	}
	if pid := restarttest.ReadPidfile(cfg.Pidfile); pid != node.PID() {
		t.Errorf("pidfile holds %d; want %d", pid, node.PID())
	}
	if product == "bamboo" {
		code, body, err := restarttest.Probe("jira", url) // Jira's probe path: /status
		if err != nil || code != 200 || !strings.Contains(body, `"RUNNING"`) {
			t.Errorf("bamboo GET /status: %d %q %v; want 200 RUNNING", code, body, err)
		}
	}

	// A login with remember-me writes one row in the product's layout, user mapped as the
	// product maps it. In Jira "dave" is the trap: his key is JIRAUSER10104, and the key
	// "dave" belongs to david.
	rows := producttest.Count(t, pool, fx.Table)
	dave := restarttest.NewBrowser(t, product)
	dave.Login(t, url, "dave", true)
	if got := producttest.Count(t, pool, fx.Table); got != rows+1 {
		t.Fatalf("remember-me login: %d rows; want %d", got, rows+1)
	}
	wantStored := map[string]string{"jira": "JIRAUSER10104", "bitbucket": "4", "fisheye": "4"}[product]
	if wantStored == "" {
		wantStored = "dave"
	}
	userCol, tokenCol := map[string]string{"bitbucket": "user_id", "fisheye": "cru_user_id"}[product], "token"
	if userCol == "" {
		userCol = "username"
	}
	if product == "fisheye" {
		tokenCol = "cru_rnd"
	}
	var stored string
	if err := pool.QueryRowContext(context.Background(),
		"SELECT "+userCol+" FROM "+fx.Table+" WHERE "+tokenCol+" NOT LIKE 'tok-%'").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != wantStored {
		t.Errorf("the new row's %s = %q; want %q", userCol, stored, wantStored)
	}
	page(t, dave, url, 200, "hello dave from node1")

	// Without remember-me: a session only, no row.
	bob := restarttest.NewBrowser(t, product)
	bob.Login(t, url, "bob", false)
	if len(bob.RememberCookies()) != 0 {
		t.Errorf("login without remember-me set %v", bob.RememberCookies())
	}
	if got := producttest.Count(t, pool, fx.Table); got != rows+1 {
		t.Errorf("login without remember-me: %d rows; want %d", got, rows+1)
	}
	page(t, bob, url, 200, "hello bob from node1")
	bob.ForgetSession()
	page(t, bob, url, 401, "")

	// Unknown users are refused.
	if code, _, err := restarttest.NewBrowser(t, product).TryLogin(url, "mallory", false); err != nil || code != 401 {
		t.Errorf("login of an unknown user: HTTP %d, %v; want 401", code, err)
	}

	// The remember-me cookie alone logs dave back in, with a new session.
	oldSession := dave.SessionCookies()
	dave.ForgetSession()
	page(t, dave, url, 200, "hello dave from node1")
	if s := dave.SessionCookies(); len(s) != 1 || s[0].Value == oldSession[0].Value {
		t.Errorf("after a remember-me login the session cookie is %v; want a new one (old %v)", s, oldSession)
	}
	if code, err := restarttest.Replay(url, dave.RememberCookies()...); err != nil || code != 200 {
		t.Errorf("replaying the remember-me cookie: %d, %v; want 200", code, err)
	}
	forged := []*http.Cookie{{Name: dave.RememberMeName, Value: forge(product, dave.RememberCookies()[0].Value)}}
	if code, err := restarttest.Replay(url, forged...); err != nil || code != 401 {
		t.Errorf("a remember-me cookie with the wrong token: %d, %v; want 401", code, err)
	}

	// Once the rows are gone the remember-me cookie is worthless, but the session lives on in
	// memory until the node restarts: the reason reauth restarts.
	d.Exec(t, "DELETE FROM "+fx.Table)
	if code, err := restarttest.Replay(url, dave.RememberCookies()...); err != nil || code != 401 {
		t.Errorf("remember-me after the rows' deletion: %d, %v; want 401", code, err)
	}
	page(t, dave, url, 200, "hello dave from node1")
	dave.ForgetSession()
	page(t, dave, url, 401, "")

	// SIGTERM: STOPPING (still answering, with the product's code), then gone, exit 0.
	if err := node.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	seen, _ = watch(t, product, url, 10*time.Second, func(o observation, err error) bool { return err != nil })
	if len(seen) > 0 && seen[0] == expect(product, "RUNNING") {
		seen = seen[1:] // the signal may not have arrived yet
	}
	if want := []observation{expect(product, "STOPPING")}; !reflect.DeepEqual(seen, want) {
		t.Errorf("probe replies after SIGTERM %+v; want %+v, then no answer", seen, want)
	}
	if err, ok := node.Wait(10 * time.Second); !ok || err != nil {
		t.Fatalf("after SIGTERM: exited %v, %v; want status 0\n%s", ok, err, node.Log())
	}
	if fileExists(t, cfg.Pidfile) {
		t.Error("pidfile left after a clean stop")
	}
	if got := statesOf(restarttest.ReadEvents(t, cfg.Events), "node1"); got != "STARTING RUNNING STOPPING STOPPED" {
		t.Errorf("events %q; want STARTING RUNNING STOPPING STOPPED", got)
	}
	if fileExists(t, restarttest.SessionsFile(cfg.InstallDir)) {
		t.Error("SESSIONS.ser written without a persisting <Manager>")
	}
	if strings.Contains(node.Log(), d.Server.Password) {
		t.Error("the node's log holds the database password")
	}
}

// forge keeps a remember-me cookie's id (series) and changes its token.
func forge(product, value string) string {
	if product == "bitbucket" {
		raw, _ := base64.StdEncoding.DecodeString(value)
		series, _, _ := strings.Cut(string(raw), ":")
		return base64.StdEncoding.EncodeToString([]byte(series + ":not-the-token"))
	}
	id, _, _ := strings.Cut(value, ":")
	return id + ":not-the-token"
}

func page(t *testing.T, b *restarttest.Browser, url string, wantCode int, wantBody string) {
	t.Helper()
	code, body, err := b.Page(url)
	if err != nil {
		t.Fatalf("GET %s/page: %v", url, err)
	}
	if code != wantCode || (wantBody != "" && body != wantBody) {
		t.Fatalf("GET %s/page: HTTP %d %q; want %d %q", url, code, body, wantCode, wantBody)
	}
}

// TestTwoNodes runs two Jira nodes on one database: users log in on either, with remember-me,
// at the same time; each remember-me cookie works on the other node (the failover that makes
// deleting rows first necessary), and no two rows collide.
func TestTwoNodes(t *testing.T) {
	t.Parallel()
	bin := restarttest.BuildSimnode(t)
	d := dbtest.Postgres(t).NewDatabase(t)
	fx, _ := producttest.For("jira", "postgres")
	fx.Setup(t, d.Exec, 0)
	dir := t.TempDir()
	dbc := restarttest.WriteDSN(t, dir, d)
	var nodes []*restarttest.Node
	for i, ip := range []string{"127.0.0.2", "127.0.0.3"} {
		cfg := nodeConfig(t, "jira", fmt.Sprintf("node%d", i+1), ip, dir)
		cfg.DB = dbc
		nodes = append(nodes, restarttest.StartNode(t, bin, dir, cfg))
	}
	for _, n := range nodes {
		restarttest.WaitState(t, n.URL(), "RUNNING", 15*time.Second)
	}

	users := producttest.Users
	browsers := make([]*restarttest.Browser, 4*len(users))
	errs := make(chan error, len(browsers))
	for i := range browsers {
		browsers[i] = restarttest.NewBrowser(t, "jira")
		go func() {
			code, body, err := browsers[i].TryLogin(nodes[i%2].URL(), users[i%len(users)], true)
			if err == nil && code != 200 {
				err = fmt.Errorf("HTTP %d %s", code, body)
			}
			errs <- err
		}()
	}
	for range browsers {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent login: %v", err)
		}
	}
	if got := producttest.Count(t, d.Open(t), fx.Table); got != len(browsers) {
		t.Fatalf("%d rows after %d remember-me logins", got, len(browsers))
	}
	for i, b := range browsers {
		other := nodes[(i+1)%2]
		b.ForgetSession()
		page(t, b, other.URL(), 200, fmt.Sprintf("hello %s from %s", users[i%len(users)], other.Config.Node))
	}
	// Both nodes wrote to the one events file, whole lines only.
	events := restarttest.ReadEvents(t, nodes[0].Config.Events)
	for _, n := range []string{"node1", "node2"} {
		if got := statesOf(events, n); got != "STARTING RUNNING" {
			t.Errorf("%s events %q; want STARTING RUNNING", n, got)
		}
	}
	for _, n := range nodes {
		n.Stop(t)
	}
	events = restarttest.ReadEvents(t, nodes[0].Config.Events)
	if max, _ := restarttest.MaxDown(events, []string{"node1", "node2"}, events[len(events)-1].Time.Add(-time.Hour)); max != 2 {
		t.Errorf("MaxDown over the whole run = %d; want 2 (both nodes start and stop)", max)
	}
}

// TestDatabaseWithoutTables: a node whose database lacks the product's tables goes to ERROR,
// as a product does, instead of RUNNING.
func TestDatabaseWithoutTables(t *testing.T) {
	t.Parallel()
	bin := restarttest.BuildSimnode(t)
	d := dbtest.Postgres(t).NewDatabase(t)
	dir := t.TempDir()
	cfg := nodeConfig(t, "jira", "node1", "127.0.0.4", dir)
	cfg.Starting = 100 * time.Millisecond
	cfg.DB = restarttest.WriteDSN(t, dir, d)
	node := restarttest.StartNode(t, bin, dir, cfg)
	restarttest.WaitState(t, node.URL(), "ERROR", 15*time.Second)
	if o, err := probe(t, "jira", node.URL()); err != nil || o != expect("jira", "ERROR") {
		t.Errorf("probe %+v, %v; want %+v", o, err, expect("jira", "ERROR"))
	}
	if !strings.Contains(node.Log(), "no table remembermetoken") {
		t.Errorf("log does not say which table is missing:\n%s", node.Log())
	}
	node.Stop(t)
}

// TestBadConfig: a config simnode cannot use is refused with exit status 2 before anything
// starts.
func TestBadConfig(t *testing.T) {
	t.Parallel()
	bin := restarttest.BuildSimnode(t)
	dir := t.TempDir()
	cases := map[string]string{
		"unknown field":    `{"product":"jira","node":"n","listen":"127.0.0.2:1","pidfile":"` + dir + `/p","colour":"red"}`,
		"unknown product":  `{"product":"gitlab","node":"n","listen":"127.0.0.2:1","pidfile":"` + dir + `/p"}`,
		"not loopback":     `{"product":"jira","node":"n","listen":"0.0.0.0:18080","pidfile":"` + dir + `/p"}`,
		"bad duration":     `{"product":"jira","node":"n","listen":"127.0.0.2:1","pidfile":"` + dir + `/p","starting":"soon"}`,
		"no pidfile":       `{"product":"jira","node":"n","listen":"127.0.0.2:1"}`,
		"bad db driver":    `{"product":"jira","node":"n","listen":"127.0.0.2:1","pidfile":"` + dir + `/p","db":{"driver":"oracle","dsn_file":"x"}}`,
		"not JSON at all:": `listen: 127.0.0.2:1`,
		"peers of jira":    `{"product":"jira","node":"n","listen":"127.0.0.2:1","pidfile":"` + dir + `/p","peers":["http://127.0.0.3:1"]}`,
		"crowd via crowd":  `{"product":"crowd","node":"n","listen":"127.0.0.2:1","pidfile":"` + dir + `/p","sso_via":["http://127.0.0.3:1/crowd"]}`,
		"sso_via offsite":  `{"product":"jira","node":"n","listen":"127.0.0.2:1","pidfile":"` + dir + `/p","sso_via":["http://crowd.example.com/crowd"]}`,
	}
	for name, text := range cases {
		path := dir + "/" + strings.ReplaceAll(name, " ", "_") + ".json"
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := execOutput(bin, path)
		if code := exitCode(err); code != 2 {
			t.Errorf("%s: exit %d (%v); want 2\n%s", name, code, err, out)
		}
		if fileExists(t, dir+"/p") {
			t.Fatalf("%s: pidfile written for a refused config", name)
		}
	}
	if out, err := execOutput(bin); exitCode(err) != 2 || !strings.Contains(out, "usage") {
		t.Errorf("no argument: exit %d, %q; want 2 and a usage line", exitCode(err), out)
	}
}

func execOutput(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
