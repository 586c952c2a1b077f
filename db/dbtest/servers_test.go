package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/reauth/reauth/internal/harness"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func checkServer(t *testing.T, s *Server, dialect string, systemPort int) {
	t.Helper()
	t.Logf("%s %s on %s:%d, started in %v, client tools in %s", s.name, s.Version, s.Host, s.Port,
		s.StartTime.Round(time.Millisecond), s.BinDir)
	if s.Dialect != dialect || s.Host != "127.0.0.1" || s.User != "reauth" || len(s.Password) < 16 {
		t.Errorf("server fields: dialect %q host %q user %q password length %d", s.Dialect, s.Host, s.User, len(s.Password))
	}
	if s.Port <= 0 || s.Port == systemPort {
		t.Errorf("port %d", s.Port)
	}
	// Only the IPv4 loopback address listens.
	if c, err := net.DialTimeout("tcp", net.JoinHostPort("::1", strconv.Itoa(s.Port)), time.Second); err == nil {
		c.Close()
		t.Errorf("the server also answers on [::1]:%d", s.Port)
	}
}

func checkDatabaseFields(t *testing.T, d *Database, scheme, jdbc string) {
	t.Helper()
	s := d.Server
	hp := fmt.Sprintf("127.0.0.1:%d", s.Port)
	if !strings.HasPrefix(d.Name, "reauth_t_") {
		t.Errorf("name %q", d.Name)
	}
	wantURL := scheme + "://reauth@" + hp + "/" + d.Name
	if scheme == "postgres" {
		wantURL += "?sslmode=disable"
	}
	if d.URL != wantURL {
		t.Errorf("URL = %q, want %q", d.URL, wantURL)
	}
	if want := jdbc + "://" + hp + "/" + d.Name; d.JDBC != want {
		t.Errorf("JDBC = %q, want %q", d.JDBC, want)
	}
	if strings.Contains(d.URL, s.Password) || strings.Contains(d.JDBC, s.Password) {
		t.Error("a URL holds the password")
	}
}

func runTool(t *testing.T, env []string, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func TestPostgres(t *testing.T) {
	t0 := time.Now()
	s := Postgres(t)
	t.Logf("Postgres(t) returned after %v", time.Since(t0).Round(time.Millisecond))
	checkServer(t, s, "postgres", 5432)
	if again := Postgres(t); again != s {
		t.Fatal("a second Postgres call started another server")
	}

	d1, d2 := s.NewDatabase(t), s.NewDatabase(t)
	if d1.Name == d2.Name {
		t.Fatalf("two databases named %s", d1.Name)
	}
	for _, d := range []*Database{d1, d2} {
		checkDatabaseFields(t, d, "postgres", "jdbc:postgresql")
		db := d.Open(t)
		var exists bool
		if err := db.QueryRow(`SELECT to_regclass('tokens') IS NOT NULL`).Scan(&exists); err != nil || exists {
			t.Fatalf("fresh database %s: tokens exists=%v err=%v", d.Name, exists, err)
		}
		d.Exec(t, `CREATE TABLE tokens (id serial PRIMARY KEY, v text);
			INSERT INTO tokens (v) VALUES ('a');
			INSERT INTO tokens (v) VALUES ('b')`)
		var (
			n            int
			user, dbname string
			super        bool
			addr         string
			port         int
		)
		err := db.QueryRow(`SELECT (SELECT count(*) FROM tokens), current_user, current_database(),
			(SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
			host(inet_server_addr()), inet_server_port()`).Scan(&n, &user, &dbname, &super, &addr, &port)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 || user != "reauth" || dbname != d.Name || super || addr != "127.0.0.1" || port != s.Port {
			t.Errorf("got count %d user %s db %s superuser %v server %s:%d", n, user, dbname, super, addr, port)
		}
		var listen, portSetting string
		if err := db.QueryRow(`SELECT current_setting('listen_addresses'), current_setting('port')`).Scan(&listen, &portSetting); err != nil {
			t.Fatal(err)
		}
		if listen != "127.0.0.1" || portSetting != strconv.Itoa(s.Port) {
			t.Errorf("listen_addresses %q port %q", listen, portSetting)
		}
	}

	t.Run("wrong password is refused", func(t *testing.T) {
		for _, c := range []struct{ user, password string }{
			{s.User, "wrong"}, {s.User, ""}, {"postgres", ""}, {"postgres", s.Password},
		} {
			db, err := sql.Open("pgx", pgURL(c.user, c.password, s.Port, d1.Name))
			if err != nil {
				t.Fatal(err)
			}
			err = db.Ping()
			db.Close()
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
				t.Errorf("login as %s with password %q: got %v, want SQLSTATE 28P01", c.user, c.password, err)
			}
		}
	})

	t.Run("Exec fails the test", func(t *testing.T) {
		r := harness.Capture(t, func(tb testing.TB) {
			d1.Exec(tb, `INSERT INTO tokens (v) VALUES ('c'); INSERT INTO nope VALUES (1)`)
		})
		if !strings.Contains(r.FatalMsg, "nope") {
			t.Errorf("Exec of a bad script: fatal = %q", r.FatalMsg)
		}
		var n int
		if err := d1.Open(t).QueryRow(`SELECT count(*) FROM tokens`).Scan(&n); err != nil || n != 2 {
			t.Errorf("after the failed script: %d rows, %v (want 2: one transaction)", n, err)
		}
	})

	t.Run("client tools", func(t *testing.T) {
		psql := filepath.Join(s.BinDir, "psql")
		out, err := runTool(t, d1.Env(), psql, "-X", "-A", "-t", "-c",
			"select current_user || ' ' || current_database() || ' ' || inet_server_port()")
		if want := fmt.Sprintf("reauth %s %d", d1.Name, s.Port); err != nil || out != want {
			t.Errorf("psql with Env: %q, %v; want %q", out, err, want)
		}
		args := append(d2.ClientArgs(), "-X", "-A", "-t", "-d", d2.Name, "-c", "select 1")
		if out, err := runTool(t, []string{"PGPASSWORD=" + s.Password}, psql, args...); err != nil || out != "1" {
			t.Errorf("psql with ClientArgs: %q, %v", out, err)
		}
		if out, err := runTool(t, append(d1.Env(), "PGPASSWORD=wrong"), psql, "-X", "-c", "select 1"); err == nil ||
			!strings.Contains(out, "password authentication failed") {
			t.Errorf("psql with a wrong password: %q, %v", out, err)
		}
		out, err = runTool(t, d1.Env(), filepath.Join(s.BinDir, "pg_dump"), "--schema-only")
		if err != nil || !strings.Contains(out, "CREATE TABLE public.tokens") {
			t.Errorf("pg_dump with Env: %v\n%s", err, out)
		}
	})

	t.Run("databases are dropped", func(t *testing.T) {
		var name string
		outer := t
		t.Run("inner", func(t *testing.T) {
			d := s.NewDatabase(t)
			name = d.Name
			d.Exec(t, "CREATE TABLE x (i int)")
			// A session still connected, in a transaction, when the database is dropped.
			db, err := sql.Open(d.DSN())
			if err != nil {
				t.Fatal(err)
			}
			outer.Cleanup(func() { db.Close() })
			db.SetMaxOpenConns(1)
			if _, err := db.Exec("BEGIN; INSERT INTO x VALUES (1)"); err != nil {
				t.Fatal(err)
			}
		})
		var n int
		if err := d1.Open(t).QueryRow(`SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil || n != 0 {
			t.Errorf("database %s after its test: %d, %v", name, n, err)
		}
	})
}

func TestMariaDB(t *testing.T) {
	t0 := time.Now()
	s := MariaDB(t)
	t.Logf("MariaDB(t) returned after %v", time.Since(t0).Round(time.Millisecond))
	checkServer(t, s, "mysql", 3306)
	if again := MariaDB(t); again != s {
		t.Fatal("a second MariaDB call started another server")
	}

	d1, d2 := s.NewDatabase(t), s.NewDatabase(t)
	if d1.Name == d2.Name {
		t.Fatalf("two databases named %s", d1.Name)
	}
	for _, d := range []*Database{d1, d2} {
		checkDatabaseFields(t, d, "mysql", "jdbc:mysql")
		db := d.Open(t)
		var tables int
		if err := db.QueryRow(`SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()`).Scan(&tables); err != nil || tables != 0 {
			t.Fatalf("fresh database %s: %d tables, %v", d.Name, tables, err)
		}
		d.Exec(t, "CREATE TABLE tokens (id int AUTO_INCREMENT PRIMARY KEY, v varchar(10), created datetime);\n"+
			"INSERT INTO tokens (v, created) VALUES ('a', NOW());\n"+
			"INSERT INTO tokens (v, created) VALUES ('b', NOW());")
		var (
			n                int
			user, dbname     string
			bind             string
			port             int
			created          time.Time
			charset, collate string
		)
		err := db.QueryRow(`SELECT (SELECT count(*) FROM tokens), CURRENT_USER(), DATABASE(), @@bind_address, @@port,
			(SELECT MAX(created) FROM tokens), @@character_set_database, @@collation_database`).
			Scan(&n, &user, &dbname, &bind, &port, &created, &charset, &collate)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 || user != "reauth@127.0.0.1" || dbname != d.Name || bind != "127.0.0.1" || port != s.Port {
			t.Errorf("got count %d user %s db %s server %s:%d", n, user, dbname, bind, port)
		}
		if d := time.Since(created); d < -time.Minute || d > time.Minute {
			t.Errorf("NOW() read back as %v (parseTime, UTC)", created)
		}
		if charset != "utf8mb4" || collate != "utf8mb4_bin" {
			t.Errorf("database charset %s collation %s", charset, collate)
		}
	}

	t.Run("wrong password is refused", func(t *testing.T) {
		for _, c := range []struct{ user, password string }{
			{s.User, "wrong"}, {s.User, ""}, {"root", ""}, {"root", s.Password},
		} {
			cfg := s.mysqlConfig(c.password, d1.Name)
			cfg.User = c.user
			db, err := sql.Open("mysql", cfg.FormatDSN())
			if err != nil {
				t.Fatal(err)
			}
			err = db.Ping()
			db.Close()
			var myErr *mysql.MySQLError
			if !errors.As(err, &myErr) || (myErr.Number != 1045 && myErr.Number != 1130) {
				t.Errorf("login as %s with password %q: got %v, want access denied", c.user, c.password, err)
			}
		}
	})

	t.Run("privileges are limited", func(t *testing.T) {
		db := d1.Open(t)
		_, err := db.Exec("CREATE DATABASE other_db")
		var myErr *mysql.MySQLError
		if !errors.As(err, &myErr) || myErr.Number != 1044 {
			t.Errorf("CREATE DATABASE other_db as reauth: %v, want error 1044", err)
		}
		if _, err := db.Exec("SELECT * FROM mysql.user"); err == nil {
			t.Error("reauth can read mysql.user")
		}
	})

	t.Run("Exec fails the test", func(t *testing.T) {
		r := harness.Capture(t, func(tb testing.TB) {
			d1.Exec(tb, "INSERT INTO tokens (v) VALUES ('c'); INSERT INTO nope VALUES (1)")
		})
		if !strings.Contains(r.FatalMsg, "nope") {
			t.Errorf("Exec of a bad script: fatal = %q", r.FatalMsg)
		}
	})

	t.Run("client tools", func(t *testing.T) {
		mariadb := filepath.Join(s.BinDir, "mariadb")
		if _, err := os.Stat(mariadb); err != nil {
			mariadb = Require(t, "mariadb", "mariadb-client")
		}
		out, err := runTool(t, d1.Env(), mariadb, "-N", "-B", "-e", "select current_user(), database(), @@port")
		if want := fmt.Sprintf("reauth@127.0.0.1\t%s\t%d", d1.Name, s.Port); err != nil || out != want {
			t.Errorf("mariadb with Env: %q, %v; want %q", out, err, want)
		}
		args := append(d2.ClientArgs(), "-N", "-B", "-e", "select 1", d2.Name)
		if out, err := runTool(t, []string{"MYSQL_PWD=" + s.Password}, mariadb, args...); err != nil || out != "1" {
			t.Errorf("mariadb with ClientArgs: %q, %v", out, err)
		}
		if out, err := runTool(t, append(d1.Env(), "MYSQL_PWD=wrong"), mariadb, "-e", "select 1"); err == nil ||
			!strings.Contains(out, "Access denied") {
			t.Errorf("mariadb with a wrong password: %q, %v", out, err)
		}
		dump := filepath.Join(s.BinDir, "mariadb-dump")
		if _, err := os.Stat(dump); err != nil {
			dump = Require(t, "mysqldump", "mariadb-client")
		}
		out, err = runTool(t, d1.Env(), dump, "--no-data", d1.Name)
		if err != nil || !strings.Contains(out, "CREATE TABLE `tokens`") {
			t.Errorf("mariadb-dump with Env: %v\n%s", err, out)
		}
	})

	t.Run("databases are dropped", func(t *testing.T) {
		var name string
		outer := t
		t.Run("inner", func(t *testing.T) {
			d := s.NewDatabase(t)
			name = d.Name
			d.Exec(t, "CREATE TABLE x (i int)")
			// A session still connected when the database is dropped, its open transaction
			// holding a metadata lock that would block DROP DATABASE.
			db, err := sql.Open(d.DSN())
			if err != nil {
				t.Fatal(err)
			}
			outer.Cleanup(func() { db.Close() })
			conn, err := db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			outer.Cleanup(func() { conn.Close() })
			if _, err := conn.ExecContext(context.Background(), "BEGIN; INSERT INTO x VALUES (1)"); err != nil {
				t.Fatal(err)
			}
		})
		var n int
		err := d1.Open(t).QueryRow(`SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?`, name).Scan(&n)
		if err != nil || n != 0 {
			t.Errorf("database %s after its test: %d, %v", name, n, err)
		}
	})
}

// TestParallel creates and uses databases on both servers from parallel tests.
func TestParallel(t *testing.T) {
	servers := []struct {
		name  string
		start func(testing.TB) *Server
	}{{"postgres", Postgres}, {"mariadb", MariaDB}}
	for i := range 6 {
		for _, srv := range servers {
			t.Run(fmt.Sprintf("%s/%d", srv.name, i), func(t *testing.T) {
				t.Parallel()
				d := srv.start(t).NewDatabase(t)
				d.Exec(t, "CREATE TABLE t (i int); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)")
				var sum int
				if err := d.Open(t).QueryRow("SELECT SUM(i) FROM t").Scan(&sum); err != nil || sum != 3 {
					t.Errorf("%s: sum %d, %v", d.Name, sum, err)
				}
			})
		}
	}
}

func TestRequire(t *testing.T) {
	if p := Require(t, "sh", "dash"); !filepath.IsAbs(p) {
		t.Errorf("Require(sh) = %q, want an absolute path", p)
	}
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			r := harness.Capture(t, func(tb testing.TB) { Require(tb, "no-such-binary-dbtest", "no-such-package") })
			msg := r.SkipMsg
			if ci == "true" {
				msg = r.FatalMsg
			}
			if r.SkipMsg != "" && r.FatalMsg != "" || !strings.Contains(msg, "no-such-binary-dbtest") ||
				!strings.Contains(msg, "Debian package no-such-package") {
				t.Errorf("skip %q, fatal %q", r.SkipMsg, r.FatalMsg)
			}
		})
	}
}

// TestStartOutcomeRemembered: a server start runs once; a missing binary skips (fails with
// CI=true) and a failed start fails every caller.
func TestStartOutcomeRemembered(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Run("missing/CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			var l lazyServer
			starts := 0
			start := func() (*Server, error) { starts++; return nil, &missingError{"xyzd", "xyz-server"} }
			for range 2 {
				r := harness.Capture(t, func(tb testing.TB) { get(tb, &l, "XYZ", start) })
				msg := r.SkipMsg
				if ci == "true" {
					msg = r.FatalMsg
				}
				if !strings.Contains(msg, "xyzd") || !strings.Contains(msg, "Debian package xyz-server") {
					t.Errorf("skip %q, fatal %q", r.SkipMsg, r.FatalMsg)
				}
			}
			if starts != 1 {
				t.Errorf("%d starts", starts)
			}
		})
	}
	t.Run("failed", func(t *testing.T) {
		var l lazyServer
		starts := 0
		start := func() (*Server, error) { starts++; return nil, errors.New("boom") }
		for range 2 {
			r := harness.Capture(t, func(tb testing.TB) { get(tb, &l, "XYZ", start) })
			if r.SkipMsg != "" || !strings.Contains(r.FatalMsg, "XYZ did not start: boom") {
				t.Errorf("skip %q, fatal %q", r.SkipMsg, r.FatalMsg)
			}
		}
		if starts != 1 {
			t.Errorf("%d starts", starts)
		}
	})
}
