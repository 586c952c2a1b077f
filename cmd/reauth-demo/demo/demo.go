package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/reauth/reauth/restart"
	"github.com/reauth/reauth/restart/restarttest"
)

// options shape a demo run.
type options struct {
	Nodes int    // simulated Jira nodes (1 to 50)
	Users int    // users logged in before the run; every other one ticks remember-me
	Keep  bool   // keep the working folder
	DB    string // dbAuto (or ""), dbPostgres or dbEmbedded
	// Bin is a folder holding reauth and simnode already built (by the go run launcher, in the
	// same go build as the demo); empty: the demo builds them.
	Bin string
	// BeforeRun, when set, runs just before `reauth run`; Inspect after the demo's last step,
	// before anything is torn down. For tests.
	BeforeRun func(ctx context.Context, e *env) error
	Inspect   func(ctx context.Context, e *env) error
}

// env is the demo's simulated environment.
type env struct {
	Dir    string // the working folder: binaries, reauth.yaml, backups, audit log, node files
	Config string // reauth.yaml
	Reauth string // the reauth binary
	// Simnode is the simulated node's binary.
	Simnode string
	DB      *dbServer
	SSH     *sshServer
	Nodes   []*node
	out     io.Writer
}

// lockedWriter serializes writes from the demo and the commands it runs.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// demo builds the simulated environment, runs the whole job with the real reauth binary,
// proves the result and tears everything down. Everything it prints goes to w.
func demo(ctx context.Context, w io.Writer, o options) (err error) {
	start := time.Now()
	if o.Nodes < 1 || o.Nodes > 50 {
		return fmt.Errorf("--nodes %d: use 1 to 50", o.Nodes)
	}
	if o.Users < 1 || o.Users > 10000 {
		return fmt.Errorf("--users %d: use 1 to 10000", o.Users)
	}
	kind, pgBins, why, err := chooseDB(o.DB)
	if err != nil {
		return err
	}
	out := &lockedWriter{w: w}
	p := func(format string, args ...any) { fmt.Fprintf(out, format, args...) }

	dir, err := os.MkdirTemp("", "reauth-demo-")
	if err != nil {
		return err
	}
	binDir := filepath.Join(dir, "bin")
	e := &env{Dir: dir, Config: filepath.Join(dir, "reauth.yaml"), Reauth: filepath.Join(binDir, "reauth"), Simnode: filepath.Join(binDir, "simnode"), out: out}
	pkgs := []string{"./cmd/reauth", "./restart/restarttest/simnode"}
	if o.Bin != "" {
		e.Reauth, e.Simnode, pkgs = filepath.Join(o.Bin, "reauth"), filepath.Join(o.Bin, "simnode"), nil
	}
	defer func() {
		e.teardown()
		if o.Keep {
			p("\nKept %s (reauth.yaml, backups/, audit.jsonl, nodes/*/log); the servers are gone.\n", dir)
		} else if rmErr := os.RemoveAll(dir); rmErr != nil && err == nil {
			err = rmErr
		}
	}()

	p("reauth demo: a simulated Jira Data Center cluster of %d nodes, on this machine only.\n", o.Nodes)
	p("Working folder: %s\n", dir)

	// 1. Build reauth and simnode (and the embedded database, if used) while the servers start.
	p("\n== 1. Set-up\n\n")
	goBin := goCommand()
	root, err := moduleRoot(ctx, goBin)
	if err != nil {
		return err
	}
	if kind == dbEmbedded {
		pkgs = append(pkgs, embeddbPackage)
	}
	buildStart := time.Now()
	var buildTook time.Duration
	var buildErr error
	buildCtx, cancelBuild := context.WithCancel(ctx)
	buildDone := make(chan struct{})
	go func() {
		defer close(buildDone)
		if len(pkgs) > 0 {
			buildErr = buildBinaries(buildCtx, goBin, root, binDir, filepath.Join(dir, "gotmp"), pkgs...)
		}
		buildTook = time.Since(buildStart)
	}()
	// Nothing is removed while go build may still write into the working folder.
	defer func() {
		cancelBuild()
		<-buildDone
	}()

	password := randomHex(16)
	pwFile := filepath.Join(dir, "jira-db.password") // for reauth (and the embedded database)
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		return err
	}
	if kind == dbPostgres {
		p("Database:  PostgreSQL, a private instance (%s)\n", why)
		if e.DB, err = startPostgres(ctx, pgBins, dir, password); err != nil {
			return err
		}
		if err := e.createDB(ctx, o.Users); err != nil {
			return err
		}
	} else {
		p("Database:  embedded MySQL-protocol server, go-mysql-server in memory (%s)\n", why)
		p("           built with reauth (%s): a machine's first run compiles it, about a minute more\n", embeddbPackage)
	}

	var hosts []string
	for i := 0; i < o.Nodes; i++ {
		hosts = append(hosts, fmt.Sprintf("127.0.0.%d", i+2))
	}
	e.SSH, err = startSSH(filepath.Join(dir, "ssh"), hosts)
	if err != nil {
		return err
	}
	p("SSH:       in-process SSH server on port %d of %s (host key in %s)\n", e.SSH.Port, strings.Join(hosts, ", "), e.SSH.KnownHosts)

	if len(pkgs) > 0 {
		p("Building:  go build -ldflags='-s -w' %s ...", strings.Join(pkgs, " "))
	}
	<-buildDone
	if buildErr != nil {
		p("\n")
		return buildErr
	}
	if len(pkgs) > 0 {
		p(" %.1fs\n", buildTook.Seconds())
	}
	if kind == dbEmbedded {
		if e.DB, err = startEmbedded(ctx, filepath.Join(binDir, "embeddb"), dir, password, pwFile); err != nil {
			return err
		}
		if err := e.createDB(ctx, o.Users); err != nil {
			return err
		}
	}
	simnode := e.Simnode

	if err := e.writeFiles(simnode, pwFile); err != nil {
		return err
	}
	for _, n := range e.Nodes {
		if err := startLocal(simnode, n); err != nil {
			return err
		}
	}
	for _, n := range e.Nodes {
		if err := waitRunning(ctx, n, 30*time.Second); err != nil {
			return err
		}
		p("Node:      %s  %-22s RUNNING  (SSH %s:%d)\n", n.cfg.Node, n.url(), n.host, e.SSH.Port)
	}
	setupTook := time.Since(start)
	cfgText, err := os.ReadFile(e.Config)
	if err != nil {
		return err
	}
	p("\nreauth.yaml:\n\n%s\n", indent(string(cfgText), "    "))

	// 2. Users log in.
	p("== 2. %d users log in (round robin over the nodes; every other one ticks \"remember me\")\n\n", o.Users)
	browsers, err := e.loginUsers(o.Users)
	if err != nil {
		return err
	}
	withRemember := 0
	for _, b := range browsers {
		if len(b.RememberCookies()) > 0 {
			withRemember++
		}
	}
	p("Logged in %d users: %d session cookies (%s), %d remember-me cookies (%s).\n",
		len(browsers), len(browsers), browsers[0].SessionName, withRemember, browsers[0].RememberMeName)
	last := e.Nodes[len(e.Nodes)-1]
	if code, body, err := replayPage(last.url(), browsers[0].RememberCookies()); err == nil {
		p("A remember-me cookie alone logs its user in on any node: user0's on %s: HTTP %d %q\n", last.cfg.Node, code, body)
	}
	type saved struct {
		user              string
		session, remember []*http.Cookie
	}
	var old []saved
	for i, b := range browsers {
		old = append(old, saved{fmt.Sprintf("user%d", i), b.SessionCookies(), b.RememberCookies()})
	}

	// 3. reauth plan.
	p("\n== 3. Look before touching anything\n\n")
	if err := e.reauth(ctx, "plan"); err != nil {
		return err
	}

	// 4. reauth run, while a prober watches the nodes.
	p("\n== 4. The whole job: back up and clear the tokens, restart the nodes one at a time, verify, report\n\n")
	if o.BeforeRun != nil {
		if err := o.BeforeRun(ctx, e); err != nil {
			return err
		}
	}
	runStart := time.Now().UTC().Truncate(time.Second)
	pr := startProber(e.Nodes)
	runErr := e.reauth(ctx, "run", "--yes", "--reason", "DEMO-1")
	minUp, samples := pr.stop()
	if runErr != nil {
		return runErr
	}
	p("\nAvailability: at least %d of %d nodes answered RUNNING in each of %d probes (every 100 ms) during the run.\n", minUp, len(e.Nodes), samples)

	// 5. Old cookies.
	p("\n== 5. Every old cookie is rejected on every node\n\n")
	var accepted []string
	count := func(kind string, pick func(saved) []*http.Cookie) (users, rejected, total int) {
		for _, s := range old {
			ck := pick(s)
			if len(ck) == 0 {
				continue
			}
			users++
			for _, n := range e.Nodes {
				total++
				code, _, err := replayPage(n.url(), ck)
				switch {
				case err != nil:
					accepted = append(accepted, fmt.Sprintf("%s's %s on %s: %v", s.user, kind, n.cfg.Node, err))
				case code == http.StatusUnauthorized:
					rejected++
				default:
					accepted = append(accepted, fmt.Sprintf("%s's %s ACCEPTED on %s (HTTP %d)", s.user, kind, n.cfg.Node, code))
				}
			}
		}
		return
	}
	u, r, t := count("session cookie", func(s saved) []*http.Cookie { return s.session })
	p("Old session cookies (%s) of %d users × %d nodes: %d of %d requests rejected (HTTP 401).\n",
		browsers[0].SessionName, u, len(e.Nodes), r, t)
	u, r, t = count("remember-me cookie", func(s saved) []*http.Cookie { return s.remember })
	p("Old remember-me cookies (%s) of %d users × %d nodes: %d of %d requests rejected (HTTP 401).\n",
		browsers[0].RememberMeName, u, len(e.Nodes), r, t)
	code, body, err := replayPage(last.url(), old[0].remember)
	if err == nil && old[0].remember != nil {
		p("user0's old remember-me cookie on %s now: HTTP %d %q\n", last.cfg.Node, code, strings.TrimSpace(body))
	}
	if len(accepted) > 0 {
		for _, a := range accepted {
			p("  %s\n", a)
		}
		return fmt.Errorf("%d old cookies were not rejected", len(accepted))
	}

	// 6. A fresh login works.
	b, err := e.newBrowser()
	if err != nil {
		return err
	}
	if err := login(b, e.Nodes[0].url(), "user0", true); err != nil {
		return fmt.Errorf("fresh login: %w", err)
	}
	code, body, err = replayPage(last.url(), b.RememberCookies())
	if err != nil || code != http.StatusOK {
		return fmt.Errorf("fresh login: its remember-me cookie on %s: HTTP %d %v", last.cfg.Node, code, err)
	}
	p("A fresh login works: user0 logs in again on %s with remember-me, and the new cookie alone on %s gives HTTP %d %q.\n",
		e.Nodes[0].cfg.Node, last.cfg.Node, code, strings.TrimSpace(body))

	// 7. reauth verify.
	p("\n== 6. Prove it, independently of the run\n\n")
	if err := e.reauth(ctx, "verify", "--target", "jira", "--since", runStart.Format(time.RFC3339)); err != nil {
		return err
	}

	if o.Inspect != nil {
		if err := o.Inspect(ctx, e); err != nil {
			return err
		}
	}
	built := ""
	if len(pkgs) > 0 {
		built = fmt.Sprintf(", of which go build %.1fs", buildTook.Seconds())
	}
	p("\nDemo done in %.1fs (set-up %.1fs%s; %s database).\n", time.Since(start).Seconds(), setupTook.Seconds(), built, e.DB.Kind)
	return nil
}

// createDB creates Jira's tables and users in the database just started, and says so.
func (e *env) createDB(ctx context.Context, users int) error {
	d := e.DB
	if err := d.createTables(ctx, users); err != nil {
		return err
	}
	switch d.Kind {
	case dbPostgres:
		socket := "a Unix socket in that folder too"
		if d.sockDir == "" {
			socket = "no Unix socket: the folder's path is too long for one"
		}
		fmt.Fprintf(e.out, "           %s: initdb in %s, listening on %s (%s), database %s\n", d.Version, d.Dir, d.Addr, socket, d.Name)
	default:
		fmt.Fprintf(e.out, "Database:  embeddb, a child process listening on %s, database %s\n", d.Addr, d.Name)
	}
	layout := "MySQL"
	if d.Dialect == "postgres" {
		layout = "PostgreSQL"
	}
	fmt.Fprintf(e.out, "           with Jira's tables remembermetoken and app_user as Jira creates them on %s (products/producttest),\n", layout)
	fmt.Fprintf(e.out, "           users user0..user%d (keys JIRAUSER2xxxx), login %s with a password\n", users-1, d.User)
	return nil
}

// writeFiles writes the nodes' database DSN, each node's folder and simnode config, Tomcat's
// server.xml, and reauth.yaml (which names pwFile, the database password's file).
func (e *env) writeFiles(simnode, pwFile string) error {
	dsnFile := filepath.Join(e.Dir, "jira-db.dsn") // for the nodes (like Jira's dbconfig.xml)
	if err := os.WriteFile(dsnFile, []byte(e.DB.DSN()+"\n"), 0o600); err != nil {
		return err
	}
	install := filepath.Join(e.Dir, "install") // shared by the nodes: Tomcat's conf and work
	if err := catch(func() { restarttest.WriteServerXML(runtimeTB{}, install, restarttest.ManagerOff) }); err != nil {
		return err
	}
	nodesDir := filepath.Join(e.Dir, "nodes")
	events := filepath.Join(e.Dir, "events.jsonl")
	for i, h := range e.SSH.Hosts {
		n := &node{host: h, dir: filepath.Join(nodesDir, h)}
		if err := os.MkdirAll(n.dir, 0o700); err != nil {
			return err
		}
		listen, err := freeAddr(h)
		if err != nil {
			return err
		}
		n.cfg = restarttest.Config{
			Product: "jira", Node: fmt.Sprintf("node%d", i+1), Listen: listen,
			Pidfile: filepath.Join(n.dir, "pid"), Events: events,
			// Shorter than a real node's minutes, long enough for the prober (every 100 ms)
			// to see each node leave RUNNING and come back.
			Starting: 200 * time.Millisecond, Stopping: 100 * time.Millisecond,
			DB:         &restarttest.DBConfig{Driver: e.DB.Driver, DSNFile: dsnFile},
			InstallDir: install,
		}
		n.cfgPath = filepath.Join(n.dir, "cfg.json")
		if err := writeNodeConfig(n); err != nil {
			return err
		}
		e.Nodes = append(e.Nodes, n)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "environment: demo\nbackup_dir: ./backups\naudit_log: ./audit.jsonl\n")
	fmt.Fprintf(&b, "ssh:\n  user: %s\n  identity_file: %s\n  known_hosts: %s\n  port: %d\n",
		yamlQuote(e.SSH.User), yamlQuote(e.SSH.IdentityFile), yamlQuote(e.SSH.KnownHosts), e.SSH.Port)
	fmt.Fprintf(&b, "targets:\n  - name: jira\n    product: jira\n    database:\n")
	fmt.Fprintf(&b, "      url: %s\n      user: %s\n      password_file: %s\n", yamlQuote(e.DB.JDBC()), e.DB.User, yamlQuote(pwFile))
	fmt.Fprintf(&b, "    nodes:\n")
	for _, n := range e.Nodes {
		fmt.Fprintf(&b, "      - host: %s\n        url: %s\n", n.host, n.url())
	}
	fmt.Fprintf(&b, "    restart:\n      stop: %s\n      start: %s\n      install_dir: %s\n",
		yamlQuote(stopCommand(nodesDir)), yamlQuote(startCommand(nodesDir, simnode)), yamlQuote(install))
	fmt.Fprintf(&b, "      stop_timeout: 20s\n      start_timeout: 30s\n      settle: 250ms\n")
	return os.WriteFile(e.Config, []byte(b.String()), 0o600)
}

// reauth runs the reauth binary in the working folder, printing the command line first.
func (e *env) reauth(ctx context.Context, args ...string) error {
	args = append([]string{"--config", "reauth.yaml"}, args...)
	fmt.Fprintf(e.out, "$ reauth %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, e.Reauth, args...)
	cmd.Dir = e.Dir
	cmd.Stdout, cmd.Stderr = e.out, e.out
	// The operator's own REAUTH_* settings must not steer the demo.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REAUTH_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	// Interrupted, reauth gets SIGINT like an operator's Ctrl-C, and SIGKILL 5 s later.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("reauth %s: %w", args[2], err)
	}
	return nil
}

func (e *env) newBrowser() (b *restarttest.Browser, err error) {
	err = catch(func() { b = restarttest.NewBrowser(runtimeTB{}, "jira") })
	return b, err
}

// loginUsers logs user0..user<n-1> in, round robin over the nodes, every other one with
// remember-me.
func (e *env) loginUsers(n int) ([]*restarttest.Browser, error) {
	var browsers []*restarttest.Browser
	for i := 0; i < n; i++ {
		b, err := e.newBrowser()
		if err != nil {
			return nil, err
		}
		if err := login(b, e.Nodes[i%len(e.Nodes)].url(), fmt.Sprintf("user%d", i), i%2 == 0); err != nil {
			return nil, err
		}
		browsers = append(browsers, b)
	}
	return browsers, nil
}

func login(b *restarttest.Browser, nodeURL, user string, remember bool) error {
	code, body, err := b.TryLogin(nodeURL, user, remember)
	if err != nil {
		return fmt.Errorf("login %s on %s: %w", user, nodeURL, err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("login %s on %s: HTTP %d: %s", user, nodeURL, code, strings.TrimSpace(body))
	}
	if len(b.SessionCookies()) == 0 || remember && len(b.RememberCookies()) == 0 {
		return fmt.Errorf("login %s on %s: the node set no cookies", user, nodeURL)
	}
	return nil
}

var pageClient = &http.Client{
	Timeout:       10 * time.Second,
	Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// replayPage requests /page on a node with exactly these cookies.
func replayPage(nodeURL string, cookies []*http.Cookie) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, strings.TrimRight(nodeURL, "/")+"/page", nil)
	if err != nil {
		return 0, "", err
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := pageClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(body)), err
}

// teardown stops the SSH server (so that no node is started any more), the nodes, and the
// database.
func (e *env) teardown() {
	e.SSH.Close()
	for _, n := range e.Nodes {
		_ = restarttest.KillFromPidfile(n.cfg.Pidfile, n.cfgPath)
	}
	// A node whose start was under way when the demo was interrupted may not have written its
	// pidfile yet: end every process running the demo's own simnode binary.
	killBinary(e.Simnode)
	e.DB.Close()
}

// killBinary SIGKILLs every process whose executable is path (Linux: read from /proc).
func killBinary(path string) {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range procs {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		argv0, _, _ := strings.Cut(string(data), "\x00")
		if argv0 != path {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil && pid != os.Getpid() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// prober asks every node for its state every 100 ms and remembers the fewest RUNNING at once.
type prober struct {
	mu      sync.Mutex
	minUp   int
	samples int
	cancel  context.CancelFunc
	done    chan struct{}
}

func startProber(nodes []*node) *prober {
	ctx, cancel := context.WithCancel(context.Background())
	p := &prober{minUp: len(nodes), cancel: cancel, done: make(chan struct{})}
	client := restart.NewHTTPClient()
	go func() {
		defer close(p.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			var up int
			var mu sync.Mutex
			var wg sync.WaitGroup
			for _, n := range nodes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if restart.Probe(ctx, client, jiraProbe, n.url()).Ready() {
						mu.Lock()
						up++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if ctx.Err() != nil {
				return
			}
			p.mu.Lock()
			p.samples++
			p.minUp = min(p.minUp, up)
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
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

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n") + "\n"
}
