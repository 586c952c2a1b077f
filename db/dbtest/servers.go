package dbtest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/reauth/reauth/internal/harness"
	"github.com/reauth/reauth/internal/secretscan"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

const (
	// Loopback is the only address the servers listen on.
	Loopback = "127.0.0.1"
	// TestUser is the login the tests connect as. On PostgreSQL it is a plain role with LOGIN and
	// CREATEDB that owns the test databases; on MariaDB it has all privileges on the databases
	// named reauth_* and no global privilege.
	TestUser = "reauth"

	dirPrefix     = "reauth-dbtest-"
	startDeadline = 60 * time.Second
	stopGrace     = 10 * time.Second
	portAttempts  = 5
)

// Server is a private database server started by this package. Its exported fields are fixed once
// Postgres or MariaDB has returned it.
type Server struct {
	Dialect  string // "postgres" or "mysql"
	Host     string // always 127.0.0.1
	Port     int
	User     string // the login tests connect as: "reauth"
	Password string // User's password; random per server start
	BinDir   string // where the client tools live (psql, pg_dump / mariadb, mariadb-dump)
	Version  string // the server's version string, e.g. "15.20 (Debian 15.20-0+deb12u1)"
	// StartTime is how long the start took (initdb / mariadb-install-db included).
	StartTime time.Duration
	// CAFile is the PEM file of the test CA that signed the server's certificate, for the
	// servers of PostgresTLS and MariaDBTLS; empty for servers without TLS.
	CAFile string

	name     string // "PostgreSQL" or "MariaDB", for messages
	base     string // private temp dir: data, socket, logs
	dataDir  string
	sockPath string // MariaDB: socket file; PostgreSQL: socket directory
	logPath  string // the server's own log
	admin    *sql.DB
	adminPW  string

	proc    *harness.Process
	stopMu  sync.Mutex
	stopped bool
}

// Database is an empty database on a Server, created for one test and dropped after it.
type Database struct {
	Server *Server
	Name   string
	URL    string // native URL without the password
	JDBC   string // the URL as a product's config file would hold it

	cnfDir string // MariaDB: MYSQL_HOME for the client tools (my.cnf naming user, host, port, database)

	mu   sync.Mutex
	pool *sql.DB // Exec's connections
}

// ---------------------------------------------------------------------------------------------
// Main and the per-binary servers

var (
	inMain  atomic.Bool
	regMu   sync.Mutex
	running []*Server
	pg, my  lazyServer
	// The TLS servers, started only by the tests that need them.
	pgTLS, myTLS lazyServer
)

type lazyServer struct {
	once sync.Once
	srv  *Server
	err  error
}

// Main runs the package's tests and then stops every server this package started, returning the
// exit code. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }
func Main(m *testing.M) int {
	inMain.Store(true)
	code := m.Run()
	keep := os.Getenv("DBTEST_KEEP") != "" && os.Getenv("DBTEST_KEEP") != "0"
	if err := stopAll(keep); err != nil {
		fmt.Fprintf(os.Stderr, "dbtest: %v\n", err)
	}
	inMain.Store(false)
	return code
}

func stopAll(keep bool) error {
	regMu.Lock()
	servers := running
	running = nil
	regMu.Unlock()
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.stop(keep)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Postgres returns the test binary's private PostgreSQL server, starting it on first use. Later
// calls return the same server; a failed start is reported to every caller. When PostgreSQL is not
// installed the test is skipped (fails with CI=true).
func Postgres(t testing.TB) *Server {
	t.Helper()
	return get(t, &pg, "PostgreSQL", func() (*Server, error) { return startPostgres(false) })
}

// MariaDB returns the test binary's private MariaDB server (the "mysql" dialect), starting it on
// first use, like Postgres.
func MariaDB(t testing.TB) *Server {
	t.Helper()
	return get(t, &my, "MariaDB", func() (*Server, error) { return startMariaDB(false) })
}

// PostgresTLS returns a second private PostgreSQL server, like Postgres, that also accepts TLS
// (ssl=on) with a certificate for 127.0.0.1 and localhost signed by a CA made for this test
// binary (Server.CAFile). Plain-text connections are still accepted.
func PostgresTLS(t testing.TB) *Server {
	t.Helper()
	return get(t, &pgTLS, "PostgreSQL with TLS", func() (*Server, error) { return startPostgres(true) })
}

// MariaDBTLS returns a second private MariaDB server, like MariaDB, with TLS as PostgresTLS.
func MariaDBTLS(t testing.TB) *Server {
	t.Helper()
	return get(t, &myTLS, "MariaDB with TLS", func() (*Server, error) { return startMariaDB(true) })
}

// serverCert makes a CA and a server certificate for the loopback address in base:
// ca.pem, server.crt, server.key.
func serverCert(base string) (caFile, certFile, keyFile string, err error) {
	ca, err := harness.NewCA("reauth dbtest CA " + harness.RandomHex(4))
	if err != nil {
		return "", "", "", err
	}
	caFile = filepath.Join(base, "ca.pem")
	certFile, keyFile = filepath.Join(base, "server.crt"), filepath.Join(base, "server.key")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o644); err != nil {
		return "", "", "", err
	}
	if err := ca.Issue(certFile, keyFile, Loopback, "localhost"); err != nil {
		return "", "", "", err
	}
	return caFile, certFile, keyFile, nil
}

func get(t testing.TB, l *lazyServer, name string, start func() (*Server, error)) *Server {
	t.Helper()
	if !inMain.Load() {
		t.Fatalf("dbtest: %s needs the package's TestMain to run the tests through dbtest.Main:\n"+
			"\tfunc TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }", name)
	}
	first := false
	l.once.Do(func() {
		first = true
		l.srv, l.err = start()
		if l.err == nil {
			regMu.Lock()
			running = append(running, l.srv)
			regMu.Unlock()
		}
	})
	var miss *missingError
	switch {
	case errors.As(l.err, &miss):
		harness.SkipOrFail(t, miss.Error())
	case l.err != nil:
		t.Fatalf("dbtest: %s did not start: %v", name, l.err)
	}
	s := l.srv
	if err := s.proc.ExitErr(); err != nil {
		t.Fatalf("dbtest: the %s server on %s:%d has exited (%v); log %s:\n%s",
			name, s.Host, s.Port, err, s.logPath, s.logTail())
	}
	if first {
		t.Logf("dbtest: started %s %s on %s:%d in %v (%s)", name, s.Version, s.Host, s.Port,
			s.StartTime.Round(time.Millisecond), s.base)
	}
	return s
}

// ---------------------------------------------------------------------------------------------
// Binaries

type missingError struct{ binary, pkg string }

func (e *missingError) Error() string {
	return fmt.Sprintf("dbtest: %s not found on PATH, in /usr/lib/postgresql/*/bin, /usr/sbin or /usr/bin; "+
		"install the Debian package %s", e.binary, e.pkg)
}

// Require returns the path of binary. When it is missing the test is skipped, or fails when
// CI=true, with a message naming the Debian package that provides it.
func Require(t testing.TB, binary, debianPackage string) string {
	t.Helper()
	p, err := lookup(binary, debianPackage)
	if err != nil {
		harness.SkipOrFail(t, err.Error())
	}
	return p
}

// lookup finds a binary on PATH, then in /usr/lib/postgresql/*/bin (highest version first), then in
// /usr/sbin and /usr/bin.
func lookup(binary, pkg string) (string, error) {
	if p, ok := harness.Find(binary, append(postgresBinDirs(), "/usr/sbin", "/usr/bin")...); ok {
		return p, nil
	}
	return "", &missingError{binary, pkg}
}

// postgresBinDirs lists /usr/lib/postgresql/*/bin, highest version first.
func postgresBinDirs() []string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64)
		return v
	}
	sort.SliceStable(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	return dirs
}

// sibling returns the binary named name in the directory of exe (symlinks resolved), so that the
// tools of one installation are used together, else lookup's answer.
func sibling(exe, name, pkg string) (string, error) {
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		p := filepath.Join(filepath.Dir(real), name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return lookup(name, pkg)
}

// ---------------------------------------------------------------------------------------------
// Processes

// run runs a short-lived tool to completion (harness.RunTool), failing after timeout.
func run(cmd *exec.Cmd, logPath string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return harness.RunTool(ctx, cmd, logPath)
}

// childEnv is the environment for the server tools: ours without the variables that would point
// them at another server or option file.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PG") || strings.HasPrefix(k, "MYSQL") || strings.HasPrefix(k, "MARIADB") ||
			strings.HasPrefix(k, "LC_") || k == "LANG" || k == "LANGUAGE" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LANG=C", "LC_ALL=C")
}

func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Pdeathsig:  syscall.SIGKILL,
		Setpgid:    true, // a ^C at the terminal goes to the test binary only; its death kills the server
		Credential: cred,
	}
}

// stop shuts the server down (SIGTERM; PostgreSQL: SIGINT, its fast shutdown, which does not wait
// for clients to disconnect), kills it after stopGrace, and removes its directory unless keep.
func (s *Server) stop(keep bool) error {
	s.stopMu.Lock()
	defer s.stopMu.Unlock()
	if s.stopped {
		return nil
	}
	s.stopped = true
	if s.admin != nil {
		s.admin.Close()
	}
	var errs []error
	if s.proc != nil && s.proc.ExitErr() == nil {
		sig := syscall.SIGTERM
		if s.Dialect == "postgres" {
			sig = syscall.SIGINT
		}
		_ = s.proc.Cmd.Process.Signal(sig)
		select {
		case <-s.proc.Done:
		case <-time.After(stopGrace):
			errs = append(errs, fmt.Errorf("%s on port %d did not stop within %v; killed it; log %s:\n%s",
				s.name, s.Port, stopGrace, s.logPath, s.logTail()))
			_ = s.proc.Cmd.Process.Kill()
			<-s.proc.Done
		}
	}
	if keep {
		_ = os.WriteFile(filepath.Join(s.base, "keep"), nil, 0o600)
		fmt.Fprintf(os.Stderr, "dbtest: DBTEST_KEEP: %s data and logs kept in %s\n", s.name, s.base)
	} else if err := os.RemoveAll(s.base); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ---------------------------------------------------------------------------------------------
// Directories, ports, secrets

// newBase makes the server's private directory, traversable (not listable) by others so that a
// server running as another OS user can reach its own subdirectories.
func newBase(kind string) (string, error) {
	parent := os.TempDir()
	// Socket paths must stay short (108 bytes), and as root the postgres user must be able to
	// reach the directory: fall back to /tmp when TMPDIR is long or private.
	if len(parent) > 60 || (os.Geteuid() == 0 && !traversable(parent)) {
		parent = "/tmp"
	}
	base, err := harness.OwnedDir(parent, dirPrefix+kind+"-", 0o711)
	if err != nil {
		return "", err
	}
	return base, nil
}

// traversable reports whether every directory from dir up to / can be searched by any user.
func traversable(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	dir, err = filepath.EvalSymlinks(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

// logTail is the tail of the server's log, with MariaDB's own stderr (errors from before it opens
// its log) when there is any.
func (s *Server) logTail() string {
	t := harness.Tail(s.logPath)
	if s.Dialect == "mysql" {
		out := filepath.Join(s.base, "mariadbd.out")
		if fi, err := os.Stat(out); err == nil && fi.Size() > 0 {
			t += "\n\tmariadbd's output (" + out + "):\n" + harness.Tail(out)
		}
	}
	return t
}

func addrInUse(logPath string) bool {
	b, _ := os.ReadFile(logPath)
	return bytes.Contains(b, []byte("Address already in use"))
}

// waitReady pings db until it answers, the process exits, or the deadline passes.
func waitReady(ctx context.Context, s *Server, db *sql.DB) error {
	var last error
	for {
		if err := s.proc.ExitErr(); err != nil {
			return fmt.Errorf("%s exited during start-up (%v); log %s:\n%s", s.name, err, s.logPath, s.logTail())
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = db.PingContext(pctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not accept connections within %v (last error: %v); log %s:\n%s",
				s.name, startDeadline, last, s.logPath, s.logTail())
		case <-s.proc.Done:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

func startPostgres(withTLS bool) (*Server, error) {
	t0 := time.Now()
	postgres, err := lookup("postgres", "postgresql")
	if err != nil {
		return nil, err
	}
	initdb, err := sibling(postgres, "initdb", "postgresql")
	if err != nil {
		return nil, err
	}
	binDir := filepath.Dir(postgres)
	if real, err := filepath.EvalSymlinks(postgres); err == nil {
		binDir = filepath.Dir(real)
	}

	// PostgreSQL refuses to run as root: run it as the postgres OS user (or nobody).
	cred, _, uid, gid, err := harness.ServerUser()
	if err != nil {
		return nil, fmt.Errorf("dbtest: %w", err)
	}

	kind := "pg"
	if withTLS {
		kind = "pgtls"
	}
	base, err := newBase(kind)
	if err != nil {
		return nil, err
	}
	s := &Server{
		Dialect: "postgres", Host: Loopback, User: TestUser, Password: secretscan.Register("dbtest: "+kind+" test user's password", harness.RandomHex(16)),
		BinDir: binDir, name: "PostgreSQL", base: base,
		dataDir: filepath.Join(base, "data"), sockPath: filepath.Join(base, "s"),
		logPath: filepath.Join(base, "postgres.log"), adminPW: secretscan.Register("dbtest: "+kind+" superuser's password", harness.RandomHex(16)),
	}
	fail := func(err error) (*Server, error) {
		if s.proc != nil {
			_ = s.proc.Cmd.Process.Kill()
			<-s.proc.Done
		}
		if s.admin != nil {
			s.admin.Close()
		}
		// Keep the directory: the error names its logs. The next run's sweep removes it.
		return nil, err
	}
	pwfile := filepath.Join(base, "pwfile")
	for _, d := range []string{s.dataDir, s.sockPath} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return fail(err)
		}
	}
	if err := os.WriteFile(pwfile, []byte(s.adminPW+"\n"), 0o600); err != nil {
		return fail(err)
	}
	if cred != nil {
		for _, p := range []string{s.dataDir, s.sockPath, pwfile} {
			if err := os.Chown(p, uid, gid); err != nil {
				return fail(err)
			}
		}
	}

	cmd := exec.Command(initdb, "-D", s.dataDir, "-U", "postgres", "-A", "scram-sha-256",
		"--pwfile="+pwfile, "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	cmd.Dir, cmd.Env, cmd.SysProcAttr = base, childEnv(), sysProcAttr(cred)
	err = run(cmd, filepath.Join(base, "initdb.log"), startDeadline)
	_ = os.Remove(pwfile)
	if err != nil {
		return fail(fmt.Errorf("dbtest: %w", err))
	}

	// No flushes to disk, which tests do not need: in the configuration file rather than on the
	// command line, so that Durable can turn them on with ALTER SYSTEM.
	conf, err := os.OpenFile(filepath.Join(s.dataDir, "postgresql.conf"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fail(err)
	}
	_, err = conf.WriteString("\nfsync = off\nfull_page_writes = off\nsynchronous_commit = off\n")
	if err == nil && withTLS {
		var certFile, keyFile string
		if s.CAFile, certFile, keyFile, err = serverCert(base); err == nil {
			for _, f := range []string{certFile, keyFile} {
				if cred != nil && err == nil {
					err = os.Chown(f, uid, gid)
				}
			}
		}
		if err == nil {
			_, err = fmt.Fprintf(conf, "ssl = on\nssl_cert_file = %s\nssl_key_file = %s\n", sqlString(certFile), sqlString(keyFile))
		}
	}
	if cerr := conf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), startDeadline)
	defer cancel()
	for attempt := 1; ; attempt++ {
		if s.Port, err = harness.FreePort(Loopback); err != nil {
			return fail(err)
		}
		logf, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fail(err)
		}
		cmd := exec.Command(postgres, "-D", s.dataDir, "-p", strconv.Itoa(s.Port), "-k", s.sockPath,
			"-c", "listen_addresses="+Loopback,
			"-c", "max_connections=100", "-c", "TimeZone=UTC",
			"-c", "logging_collector=off", "-c", "log_destination=stderr")
		cmd.Dir, cmd.Env, cmd.SysProcAttr = base, childEnv(), sysProcAttr(cred)
		cmd.Stdout, cmd.Stderr = logf, logf
		s.proc, err = harness.Start(cmd)
		logf.Close()
		if err != nil {
			return fail(fmt.Errorf("dbtest: %s: %w", postgres, err))
		}
		s.admin, err = sql.Open("pgx", pgURL("postgres", s.adminPW, s.Port, "postgres"))
		if err != nil {
			return fail(err)
		}
		s.admin.SetMaxOpenConns(4)
		err = waitReady(ctx, s, s.admin)
		if err == nil {
			break
		}
		if s.proc.ExitErr() != nil && addrInUse(s.logPath) && attempt < portAttempts {
			s.admin.Close()
			s.admin, s.proc = nil, nil
			continue // another process took the port meanwhile
		}
		return fail(fmt.Errorf("dbtest: %w", err))
	}

	// Make sure this is our server, then create the test role.
	var dataDir string
	if err := s.admin.QueryRowContext(ctx, "SHOW data_directory").Scan(&dataDir); err != nil {
		return fail(fmt.Errorf("dbtest: PostgreSQL on port %d: %w", s.Port, err))
	}
	if dataDir != s.dataDir {
		return fail(fmt.Errorf("dbtest: port %d answers with data directory %s, not ours (%s)", s.Port, dataDir, s.dataDir))
	}
	if err := s.admin.QueryRowContext(ctx, "SHOW server_version").Scan(&s.Version); err != nil {
		return fail(err)
	}
	_, err = s.admin.ExecContext(ctx, fmt.Sprintf(
		"CREATE ROLE %s LOGIN CREATEDB NOSUPERUSER NOCREATEROLE PASSWORD %s", TestUser, sqlString(s.Password)))
	if err != nil {
		return fail(fmt.Errorf("dbtest: creating role %s: %w", TestUser, err))
	}
	s.StartTime = time.Since(t0)
	return s, nil
}

func pgURL(user, password string, port int, dbname string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     net.JoinHostPort(Loopback, strconv.Itoa(port)),
		Path:     "/" + dbname,
		RawQuery: "sslmode=disable&connect_timeout=10",
	}
	return u.String()
}

// sqlString quotes s as a standard SQL string literal (for the generated hex secrets).
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// ---------------------------------------------------------------------------------------------
// MariaDB

func startMariaDB(withTLS bool) (*Server, error) {
	t0 := time.Now()
	mariadbd, err := lookup("mariadbd", "mariadb-server")
	if err != nil {
		if mariadbd, err = lookup("mysqld", "mariadb-server"); err != nil {
			return nil, &missingError{"mariadbd", "mariadb-server"}
		}
	}
	installDB, err := lookup("mariadb-install-db", "mariadb-server")
	if err != nil {
		if installDB, err = lookup("mysql_install_db", "mariadb-server"); err != nil {
			return nil, &missingError{"mariadb-install-db", "mariadb-server"}
		}
	}
	binDir := filepath.Dir(installDB)
	if client, err := lookup("mariadb", "mariadb-client"); err == nil {
		binDir = filepath.Dir(client)
	}
	kind := "my"
	if withTLS {
		kind = "mytls"
	}
	base, err := newBase(kind)
	if err != nil {
		return nil, err
	}
	s := &Server{
		Dialect: "mysql", Host: Loopback, User: TestUser, Password: secretscan.Register("dbtest: "+kind+" test user's password", harness.RandomHex(16)),
		BinDir: binDir, name: "MariaDB", base: base,
		dataDir: filepath.Join(base, "data"), sockPath: filepath.Join(base, "mysqld.sock"),
		logPath: filepath.Join(base, "err.log"), adminPW: secretscan.Register("dbtest: "+kind+" root's password", harness.RandomHex(16)),
	}
	fail := func(err error) (*Server, error) {
		if s.proc != nil {
			_ = s.proc.Cmd.Process.Kill()
			<-s.proc.Done
		}
		if s.admin != nil {
			s.admin.Close()
		}
		return nil, err
	}
	tmp := filepath.Join(base, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return fail(err)
	}
	var asRoot []string
	if os.Geteuid() == 0 {
		asRoot = []string{"--user=root"} // mariadbd refuses to run as root without it
	}
	var tlsArgs []string
	if withTLS {
		var certFile, keyFile string
		if s.CAFile, certFile, keyFile, err = serverCert(base); err != nil {
			return fail(err)
		}
		tlsArgs = []string{"--ssl-cert=" + certFile, "--ssl-key=" + keyFile, "--ssl-ca=" + s.CAFile}
	}

	// --no-defaults must come first. Root gets a password-less login over the socket only
	// until the start-up below gives it a password.
	args := append([]string{"--no-defaults", "--datadir=" + s.dataDir,
		"--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve",
		"--tmpdir=" + tmp}, asRoot...)
	cmd := exec.Command(installDB, args...)
	cmd.Dir, cmd.Env, cmd.SysProcAttr = base, childEnv(), sysProcAttr(nil)
	if err := run(cmd, filepath.Join(base, "install.log"), startDeadline); err != nil {
		return fail(fmt.Errorf("dbtest: %w", err))
	}

	ctx, cancel := context.WithTimeout(context.Background(), startDeadline)
	defer cancel()
	rootCfg := mysql.NewConfig()
	rootCfg.User, rootCfg.Net, rootCfg.Addr = "root", "unix", s.sockPath
	rootCfg.Timeout = 5 * time.Second
	for attempt := 1; ; attempt++ {
		if s.Port, err = harness.FreePort(Loopback); err != nil {
			return fail(err)
		}
		args := append([]string{"--no-defaults", "--datadir=" + s.dataDir,
			"--port=" + strconv.Itoa(s.Port), "--bind-address=" + Loopback,
			"--socket=" + s.sockPath, "--pid-file=" + filepath.Join(base, "mysqld.pid"),
			"--log-error=" + s.logPath, "--tmpdir=" + tmp,
			"--skip-name-resolve", "--innodb-flush-log-at-trx-commit=0",
			"--innodb-buffer-pool-size=256M", "--skip-innodb-doublewrite",
			"--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin",
			"--default-time-zone=+00:00"}, append(asRoot, tlsArgs...)...)
		cmd := exec.Command(mariadbd, args...)
		cmd.Dir, cmd.Env, cmd.SysProcAttr = base, childEnv(), sysProcAttr(nil)
		// mariadbd writes to --log-error; early failures go to stderr.
		logf, err := os.OpenFile(filepath.Join(base, "mariadbd.out"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fail(err)
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		s.proc, err = harness.Start(cmd)
		logf.Close()
		if err != nil {
			return fail(fmt.Errorf("dbtest: %s: %w", mariadbd, err))
		}
		s.admin, err = sql.Open("mysql", rootCfg.FormatDSN())
		if err != nil {
			return fail(err)
		}
		s.admin.SetMaxOpenConns(1) // the session below is one connection
		err = waitReady(ctx, s, s.admin)
		if err == nil {
			break
		}
		if s.proc.ExitErr() != nil && addrInUse(s.logPath) && attempt < portAttempts {
			s.admin.Close()
			s.admin, s.proc = nil, nil
			continue
		}
		return fail(fmt.Errorf("dbtest: %w", err))
	}

	// Secure the admin login, drop the other root and anonymous accounts, create the test user.
	var port int
	if err := s.admin.QueryRowContext(ctx, "SELECT @@port, VERSION()").Scan(&port, &s.Version); err != nil {
		return fail(fmt.Errorf("dbtest: MariaDB on %s: %w", s.sockPath, err))
	}
	if port != s.Port {
		return fail(fmt.Errorf("dbtest: MariaDB on %s listens on port %d, not %d", s.sockPath, port, s.Port))
	}
	rows, err := s.admin.QueryContext(ctx,
		"SELECT User, Host FROM mysql.user WHERE User = '' OR (User = 'root' AND Host <> 'localhost')")
	if err != nil {
		return fail(err)
	}
	var drops []string
	for rows.Next() {
		var u, h string
		if err := rows.Scan(&u, &h); err != nil {
			rows.Close()
			return fail(err)
		}
		drops = append(drops, fmt.Sprintf("DROP USER %s@%s", sqlString(u), sqlString(h)))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	stmts := append(drops,
		"ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD("+sqlString(s.adminPW)+")")
	for _, host := range []string{Loopback, "localhost"} {
		acct := sqlString(TestUser) + "@" + sqlString(host)
		stmts = append(stmts,
			"CREATE USER "+acct+" IDENTIFIED VIA mysql_native_password USING PASSWORD("+sqlString(s.Password)+")",
			"GRANT ALL PRIVILEGES ON `reauth\\_%`.* TO "+acct)
	}
	for _, q := range stmts {
		if _, err := s.admin.ExecContext(ctx, q); err != nil {
			return fail(fmt.Errorf("dbtest: MariaDB set-up: %s: %w", strings.SplitN(q, " IDENTIFIED", 2)[0], err))
		}
	}
	s.admin.Close()
	rootCfg.Passwd = s.adminPW
	if s.admin, err = sql.Open("mysql", rootCfg.FormatDSN()); err != nil {
		return fail(err)
	}
	s.admin.SetMaxOpenConns(4)
	if err := s.admin.PingContext(ctx); err != nil {
		return fail(fmt.Errorf("dbtest: MariaDB admin login after set-up: %w", err))
	}
	s.StartTime = time.Since(t0)
	return s, nil
}

func (s *Server) mysqlConfig(password, dbname string) *mysql.Config {
	c := mysql.NewConfig()
	c.User, c.Passwd = s.User, password
	c.Net, c.Addr = "tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	c.DBName = dbname
	c.ParseTime, c.Loc, c.MultiStatements = true, time.UTC, true
	c.Timeout = 10 * time.Second
	return c
}

// ---------------------------------------------------------------------------------------------
// Databases

// NewDatabase creates an empty database with a random name (reauth_t_<hex>), owned by (PostgreSQL)
// or fully granted to (MariaDB) Server.User, and drops it when the test ends.
func (s *Server) NewDatabase(t testing.TB) *Database {
	t.Helper()
	name := "reauth_t_" + harness.RandomHex(8)
	d := &Database{Server: s, Name: name}
	hostPort := net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	switch s.Dialect {
	case "postgres":
		d.URL = "postgres://" + url.PathEscape(s.User) + "@" + hostPort + "/" + name + "?sslmode=disable"
		d.JDBC = "jdbc:postgresql://" + hostPort + "/" + name
		_, err = s.admin.ExecContext(ctx, `CREATE DATABASE "`+name+`" OWNER "`+s.User+`"`)
	case "mysql":
		d.URL = "mysql://" + url.PathEscape(s.User) + "@" + hostPort + "/" + name
		d.JDBC = "jdbc:mysql://" + hostPort + "/" + name
		if _, err = s.admin.ExecContext(ctx, "CREATE DATABASE `"+name+"`"); err == nil {
			err = d.writeClientConfig()
		}
	}
	if err != nil {
		t.Fatalf("dbtest: creating database %s on %s: %v", name, s.name, err)
	}
	t.Cleanup(func() {
		d.mu.Lock()
		if d.pool != nil {
			d.pool.Close()
			d.pool = nil
		}
		d.mu.Unlock()
		if err := s.dropDatabase(name); err != nil {
			t.Errorf("dbtest: dropping database %s: %v", name, err)
		}
		if d.cnfDir != "" {
			_ = os.RemoveAll(d.cnfDir)
		}
	})
	return d
}

func (s *Server) dropDatabase(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if s.Dialect == "postgres" {
		_, err := s.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`)
		return err
	}
	// Sessions left open in the database would block DROP DATABASE on metadata locks.
	conn, err := s.admin.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx,
		"SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", name)
	if err != nil {
		return err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err == nil {
			ids = append(ids, id)
		}
	}
	rows.Close()
	for _, id := range ids {
		_, _ = conn.ExecContext(ctx, "KILL "+strconv.FormatInt(id, 10))
	}
	_, err = conn.ExecContext(ctx, "SET STATEMENT lock_wait_timeout=20 FOR DROP DATABASE IF EXISTS `"+name+"`")
	return err
}

// writeClientConfig writes the option file that Env points the MariaDB client tools at.
func (d *Database) writeClientConfig() error {
	dir, err := os.MkdirTemp(d.Server.base, "client-")
	if err != nil {
		return err
	}
	d.cnfDir = dir
	s := d.Server
	cnf := fmt.Sprintf("[client]\nuser=%s\nhost=%s\nport=%d\nprotocol=TCP\n\n"+
		"[mysql]\ndatabase=%s\n\n[mariadb-client]\ndatabase=%s\n", s.User, s.Host, s.Port, d.Name, d.Name)
	return os.WriteFile(filepath.Join(dir, "my.cnf"), []byte(cnf), 0o600)
}

// DSN returns the database/sql driver name ("pgx" or "mysql") and a DSN that logs in as
// Server.User with its password. The DSN holds the password: never print it.
func (d *Database) DSN() (driverName, dsn string) {
	s := d.Server
	if s.Dialect == "postgres" {
		return "pgx", pgURL(s.User, s.Password, s.Port, d.Name)
	}
	return "mysql", s.mysqlConfig(s.Password, d.Name).FormatDSN()
}

// Open returns a connection pool logged in as Server.User (PostgreSQL: the pgx driver; MariaDB:
// parseTime=true, loc=UTC, multiStatements=true). It is closed when the test ends.
func (d *Database) Open(t testing.TB) *sql.DB {
	t.Helper()
	db, err := d.open()
	if err != nil {
		t.Fatalf("dbtest: connecting to %s as %s: %v", d.URL, d.Server.User, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func (d *Database) open() (*sql.DB, error) {
	db, err := sql.Open(d.DSN())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Exec runs a script of one or more statements separated by ';' as Server.User, in one round
// trip (PostgreSQL: the simple query protocol; MariaDB: multiStatements), and fails the test on
// the first error. On PostgreSQL a script without explicit BEGIN/COMMIT runs as one transaction.
func (d *Database) Exec(t testing.TB, script string) {
	t.Helper()
	d.mu.Lock()
	if d.pool == nil {
		db, err := d.open()
		if err != nil {
			d.mu.Unlock()
			t.Fatalf("dbtest: connecting to %s as %s: %v", d.URL, d.Server.User, err)
		}
		d.pool = db
	}
	db := d.pool
	d.mu.Unlock()
	if _, err := db.Exec(script); err != nil {
		shown := script
		if len(shown) > 2000 {
			shown = shown[:2000] + "..."
		}
		t.Fatalf("dbtest: exec on %s: %v\nscript:\n%s", d.Name, err, shown)
	}
}

// Env returns the environment variables that make the server's client tools connect to this
// database as Server.User without prompting; append them to os.Environ(). PostgreSQL (psql,
// pg_dump, ...): PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE. MariaDB (mariadb,
// mariadb-dump, ...): MYSQL_PWD, and MYSQL_HOME naming an option file with user, host, port and,
// for the mariadb client, the database; a ~/.my.cnf would still be read after it, so programs
// that must not depend on the home directory pass ClientArgs instead. Env holds the password.
func (d *Database) Env() []string {
	s := d.Server
	if s.Dialect == "postgres" {
		return []string{
			"PGHOST=" + s.Host, "PGPORT=" + strconv.Itoa(s.Port), "PGUSER=" + s.User,
			"PGPASSWORD=" + s.Password, "PGDATABASE=" + d.Name, "PGSSLMODE=disable",
			"PGCONNECT_TIMEOUT=10",
		}
	}
	return []string{
		"MYSQL_PWD=" + s.Password, "MYSQL_HOME=" + d.cnfDir, "MARIADB_HOME=" + d.cnfDir,
		"MYSQL_HOST=" + s.Host, "MYSQL_TCP_PORT=" + strconv.Itoa(s.Port),
		"MYSQL_UNIX_PORT=" + s.sockPath,
	}
}

// ClientArgs returns the leading command-line arguments that point a client tool at the server
// as Server.User, reading no option file; the password comes from Env. MariaDB: --no-defaults
// (which must be the first argument), --protocol=TCP, --host, --port, --user; the database name
// is for the caller to add. PostgreSQL: -h, -p, -U (the database comes from Env's PGDATABASE or
// the caller's -d).
func (d *Database) ClientArgs() []string {
	s := d.Server
	if s.Dialect == "postgres" {
		return []string{"-h", s.Host, "-p", strconv.Itoa(s.Port), "-U", s.User}
	}
	return []string{"--no-defaults", "--protocol=TCP", "--host=" + s.Host,
		"--port=" + strconv.Itoa(s.Port), "--user=" + s.User}
}

// Durable makes the server as durable as a production one, for the rest of the test: the
// harness runs it without the flushes to disk that tests do not need (PostgreSQL with fsync,
// full_page_writes and synchronous_commit off; MariaDB's InnoDB flushing its log once a second
// rather than at each commit), which favours work done in one big transaction over work in
// many. For benchmarks against what an administrator would meet. Cleanup puts the harness's
// settings back.
func (s *Server) Durable(t testing.TB) {
	t.Helper()
	var on, off []string
	switch s.Dialect {
	case "postgres":
		on = []string{"ALTER SYSTEM SET fsync = on", "ALTER SYSTEM SET full_page_writes = on",
			"ALTER SYSTEM SET synchronous_commit = on", "SELECT pg_reload_conf()"}
		off = []string{"ALTER SYSTEM RESET ALL", "SELECT pg_reload_conf()"}
	default:
		on = []string{"SET GLOBAL innodb_flush_log_at_trx_commit = 1"}
		off = []string{"SET GLOBAL innodb_flush_log_at_trx_commit = 0"}
	}
	exec := func(qs []string) error {
		for _, q := range qs {
			if _, err := s.admin.Exec(q); err != nil {
				return fmt.Errorf("dbtest: %s: %s: %w", s.name, q, err)
			}
		}
		return nil
	}
	if err := exec(on); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := exec(off); err != nil {
			t.Error(err)
		}
	})
	if s.Dialect != "postgres" {
		return
	}
	// A reload reaches each backend at its next command: wait until a new session sees it.
	for deadline := time.Now().Add(10 * time.Second); ; {
		var fsync, fpw, sc string
		err := s.admin.QueryRow("SELECT current_setting('fsync'), current_setting('full_page_writes'), current_setting('synchronous_commit')").Scan(&fsync, &fpw, &sc)
		if err == nil && fsync == "on" && fpw == "on" && sc == "on" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dbtest: %s did not take the durable settings (fsync %s, full_page_writes %s, synchronous_commit %s, %v)", s.name, fsync, fpw, sc, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
