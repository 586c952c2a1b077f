package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	_ "github.com/go-sql-driver/mysql" // the embedded database's driver
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL's

	"github.com/reauth/reauth/internal/harness"
	"github.com/reauth/reauth/products/producttest"
)

// The database kinds of --db.
const (
	dbAuto     = "auto"     // PostgreSQL when its server binaries are installed, else embedded
	dbPostgres = "postgres" // a private PostgreSQL instance from the machine's binaries
	dbEmbedded = "embedded" // the embeddb child process (go-mysql-server), built on first use
)

// The names Jira's dbconfig.xml would hold.
const (
	dbName = "jiradb"
	dbUser = "jira"
)

// dbServer is the demo's database server: Jira's database dbName, reached as dbUser with a
// password, over TCP on 127.0.0.1.
type dbServer struct {
	Kind     string // dbPostgres or dbEmbedded
	Dialect  string // "postgres" or "mysql": which producttest schema and which SQL
	Driver   string // the database/sql driver: "pgx" or "mysql"
	Name     string
	User     string
	Password string
	// AdminPassword is the PostgreSQL superuser's (empty for the embedded database): the demo
	// uses it to create the login and the database.
	AdminPassword string
	Addr          string // 127.0.0.1:port
	Version       string // the server's own version line, for the output
	Dir           string // PostgreSQL: its folder (data, log, socket)
	sockDir       string // PostgreSQL: its Unix socket's folder; empty: TCP only

	proc    *harness.Process
	stopSig syscall.Signal
	logPath string
	hold    *os.File // the embedded database's standard input: it ends when this closes
}

// JDBC is the URL as Jira's dbconfig.xml would hold it.
func (d *dbServer) JDBC() string {
	if d.Dialect == "postgres" {
		return fmt.Sprintf("jdbc:postgresql://%s/%s", d.Addr, d.Name)
	}
	return fmt.Sprintf("jdbc:mysql://%s/%s?useUnicode=true&characterEncoding=UTF8", d.Addr, d.Name)
}

// DSN is Driver's DSN for the simulated nodes and the tests (it holds the password: it goes
// into a 0600 file, never into arguments).
func (d *dbServer) DSN() string {
	if d.Dialect == "postgres" {
		return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", d.User, d.Password, d.Addr, d.Name)
	}
	return fmt.Sprintf("%s:%s@tcp(%s)/%s?parseTime=true&loc=UTC", d.User, d.Password, d.Addr, d.Name)
}

// Close stops the server: PostgreSQL with a fast shutdown (SIGINT), the embedded database with
// SIGTERM; SIGKILL after 10 s.
func (d *dbServer) Close() {
	if d == nil {
		return
	}
	if d.hold != nil {
		defer d.hold.Close()
	}
	if d.proc == nil {
		return
	}
	if d.proc.ExitErr() == nil {
		_ = d.proc.Cmd.Process.Signal(d.stopSig)
		select {
		case <-d.proc.Done:
		case <-time.After(10 * time.Second):
			_ = d.proc.Cmd.Process.Kill()
			<-d.proc.Done
		}
	}
	d.proc = nil
}

// createTables creates Jira's remembermetoken and app_user tables, as products/producttest
// holds them for the dialect (the product's real layout), and the users user0..user<users-1>
// with keys JIRAUSER20000... (newer Jira users' keys: the tokens hold the key, not the name),
// and admin.
func (d *dbServer) createTables(ctx context.Context, users int) error {
	fx, ok := producttest.For("jira", d.Dialect)
	if !ok {
		return fmt.Errorf("products/producttest has no Jira schema for %s", d.Dialect)
	}
	stmts, err := createStatements(fx.Schema(), "remembermetoken", "app_user")
	if err != nil {
		return fmt.Errorf("products/producttest's Jira schema for %s: %w", d.Dialect, err)
	}
	rows := []string{"(10000, 'admin', 'admin')"}
	for i := 0; i < users; i++ {
		rows = append(rows, fmt.Sprintf("(%d, 'JIRAUSER%d', 'user%d')", 20000+i, 20000+i, i))
	}
	stmts = append(stmts, "INSERT INTO app_user (id, user_key, lower_user_name) VALUES "+strings.Join(rows, ", "))
	pool, err := sql.Open(d.Driver, d.DSN())
	if err != nil {
		return err
	}
	defer pool.Close()
	for _, q := range stmts {
		if _, err := pool.ExecContext(ctx, q); err != nil {
			first, _, _ := strings.Cut(q, "\n")
			return fmt.Errorf("%s: %s: %w", d.Kind, first, err)
		}
	}
	return nil
}

// createStatements returns the CREATE TABLE statements of a producttest schema file for the
// tables named, in the file's order. Comment lines are left out; each statement ends with a
// line that ends with ";".
func createStatements(schema string, tables ...string) ([]string, error) {
	want := map[string]bool{}
	for _, t := range tables {
		want[t] = true
	}
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(schema, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		cur.WriteString(line + "\n")
		if !strings.HasSuffix(strings.TrimSpace(line), ";") {
			continue
		}
		stmt := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")
		cur.Reset()
		rest, ok := strings.CutPrefix(stmt, "CREATE TABLE ")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, " ")
		name = strings.Trim(name, "`\"")
		if want[name] {
			out = append(out, stmt)
			delete(want, name)
		}
	}
	if len(out) != len(tables) {
		return nil, fmt.Errorf("found %d of the tables %s", len(out), strings.Join(tables, ", "))
	}
	return out, nil
}

// waitReady waits until the server accepts a login (PostgreSQL: the superuser's; embedded:
// the demo's account), or its process has exited.
func waitReady(ctx context.Context, proc *harness.Process, driver, dsn string, timeout time.Duration) error {
	pool, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	deadline := time.Now().Add(timeout)
	for {
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = pool.PingContext(attempt)
		cancel()
		if err == nil {
			return nil
		}
		if e := proc.ExitErr(); e != nil {
			return fmt.Errorf("the server exited: %v", e)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not accepting connections after %v: %v", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// serverProcAttr puts a server in a process group of its own, so that Ctrl-C at the terminal
// reaches the demo only (which stops the server itself, last), and kills it when the demo dies.
func serverProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
}

// serverEnv is the demo's environment without what would point a server's tools at another
// server or change their messages' language.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PG") || strings.HasPrefix(k, "LC_") || k == "LANG" || k == "LANGUAGE" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LANG=C", "LC_ALL=C")
}

// chooseDB resolves --db: auto is PostgreSQL when its server binaries are found, else the
// embedded database. why says how the choice was made, for the output.
func chooseDB(flag string) (kind string, bins pgBinaries, why string, err error) {
	switch flag {
	case "", dbAuto:
		b, err := findPostgres()
		if err != nil {
			return dbEmbedded, b, "--db auto: " + err.Error(), nil
		}
		return dbPostgres, b, "--db auto: the machine's PostgreSQL server, " + b.Postgres, nil
	case dbPostgres:
		b, err := findPostgres()
		if err != nil {
			return "", b, "", fmt.Errorf("--db postgres: %w; install them (Debian: apt-get install postgresql), or use --db embedded", err)
		}
		return dbPostgres, b, "--db postgres: " + b.Postgres, nil
	case dbEmbedded:
		return dbEmbedded, pgBinaries{}, "--db embedded", nil
	}
	return "", pgBinaries{}, "", fmt.Errorf("--db %q: use auto, postgres or embedded", flag)
}
