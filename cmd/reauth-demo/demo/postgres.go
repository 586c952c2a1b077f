package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/reauth/reauth/internal/harness"
)

// pgBinaries are one PostgreSQL installation's server programs.
type pgBinaries struct {
	Postgres, Initdb string
}

// findPostgres finds postgres on PATH, else in /usr/lib/postgresql/*/bin (Debian's layout,
// newest version first), and initdb beside it, so that both come from one installation.
func findPostgres() (pgBinaries, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(d string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(d)), 64)
		return v
	}
	sort.SliceStable(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	pg, ok := harness.Find("postgres", dirs...)
	if !ok {
		return pgBinaries{}, errors.New("no PostgreSQL server binaries (postgres, initdb) on PATH or in /usr/lib/postgresql/*/bin")
	}
	if real, err := filepath.EvalSymlinks(pg); err == nil {
		if p := filepath.Join(filepath.Dir(real), "initdb"); isExecutable(p) {
			return pgBinaries{Postgres: pg, Initdb: p}, nil
		}
	}
	if p := filepath.Join(filepath.Dir(pg), "initdb"); isExecutable(p) {
		return pgBinaries{Postgres: pg, Initdb: p}, nil
	}
	if p, ok := harness.Find("initdb", dirs...); ok {
		return pgBinaries{Postgres: pg, Initdb: p}, nil
	}
	return pgBinaries{}, fmt.Errorf("found %s but no initdb beside it, on PATH or in /usr/lib/postgresql/*/bin", pg)
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// startPostgres starts a private PostgreSQL instance in workDir/pg: initdb there (superuser
// postgres with a random password, scram-sha-256 for every connection), postgres listening on
// a free port of 127.0.0.1 with its Unix socket in that folder and without flushes to disk
// (a demo's data need not survive a crash), then the login dbUser with password and the
// database dbName that it owns. Run as root, the server runs as the postgres OS user (or
// nobody): PostgreSQL refuses to run as root.
func startPostgres(ctx context.Context, bins pgBinaries, workDir, password string) (_ *dbServer, err error) {
	dir := filepath.Join(workDir, "pg")
	d := &dbServer{Kind: dbPostgres, Dialect: "postgres", Driver: "pgx", Name: dbName, User: dbUser,
		Password: password, AdminPassword: randomHex(16), Dir: dir,
		stopSig: syscall.SIGINT, logPath: filepath.Join(dir, "postgres.log")}
	defer func() {
		if err != nil {
			d.Close()
			err = fmt.Errorf("PostgreSQL (%s): %w", dir, err)
		}
	}()
	d.Version = "PostgreSQL"
	if out, err := exec.CommandContext(ctx, bins.Postgres, "--version").Output(); err == nil {
		// "postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)"
		if v, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "postgres (PostgreSQL) "); ok {
			d.Version += " " + v
		}
	}

	cred, u, uid, gid, err := harness.ServerUser()
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL: %w; use --db embedded", err)
	}
	if cred != nil {
		// That user must reach its folder: the working folder becomes traversable, not
		// listable (its files stay 0600), and so must every folder above it be.
		if err := os.Chmod(workDir, 0o711); err != nil {
			return nil, err
		}
		if p, ok := traversable(filepath.Dir(workDir)); !ok {
			return nil, fmt.Errorf("running as root, PostgreSQL runs as the %s OS user, which cannot reach %s (%s is not searchable by others): set TMPDIR to another folder, or use --db embedded", u.Username, workDir, p)
		}
	}
	data := filepath.Join(dir, "data")
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(pwfile, []byte(d.AdminPassword+"\n"), 0o600); err != nil {
		return nil, err
	}
	if cred != nil {
		for _, p := range []string{dir, pwfile} {
			if err := os.Chown(p, uid, gid); err != nil {
				return nil, err
			}
		}
	}

	initdb := exec.Command(bins.Initdb, "-D", data, "-U", "postgres", "-A", "scram-sha-256",
		"--pwfile="+pwfile, "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Dir, initdb.Env, initdb.SysProcAttr = dir, serverEnv(), serverProcAttr(cred)
	err = harness.RunTool(ctx, initdb, filepath.Join(dir, "initdb.log"))
	_ = os.Remove(pwfile)
	if err != nil {
		return nil, err
	}

	// The socket's path must fit in 107 bytes: in a long TMPDIR, TCP only.
	d.sockDir = dir
	if len(dir)+len("/.s.PGSQL.65535.lock") > 107 {
		d.sockDir = ""
	}
	for attempt := 1; ; attempt++ {
		port, err := harness.FreePort("127.0.0.1")
		if err != nil {
			return nil, err
		}
		d.Addr = fmt.Sprintf("127.0.0.1:%d", port)
		logf, err := os.OpenFile(d.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(bins.Postgres, "-D", data, "-p", strconv.Itoa(port), "-k", d.sockDir,
			"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=50", "-c", "TimeZone=UTC",
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "logging_collector=off", "-c", "log_destination=stderr",
			// A statement that fails is not written to the log: CREATE ROLE carries the
			// demo's database password.
			"-c", "log_min_error_statement=panic")
		cmd.Dir, cmd.Env, cmd.SysProcAttr = dir, serverEnv(), serverProcAttr(cred)
		cmd.Stdout, cmd.Stderr = logf, logf
		d.proc, err = harness.Start(cmd)
		logf.Close()
		if err != nil {
			return nil, err
		}
		err = waitReady(ctx, d.proc, "pgx", d.adminURL("postgres"), 60*time.Second)
		if err == nil {
			break
		}
		if d.proc.ExitErr() != nil && attempt < 3 && strings.Contains(harness.Tail(d.logPath), "already in use") {
			d.proc = nil
			continue // another process took the port meanwhile
		}
		return nil, fmt.Errorf("%w; its log (%s):\n%s", err, d.logPath, harness.Tail(d.logPath))
	}

	admin, err := sql.Open("pgx", d.adminURL("postgres"))
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	for _, q := range []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", dbUser, d.Password),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s", dbName, dbUser),
	} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			first, _, _ := strings.Cut(q, " PASSWORD")
			return nil, fmt.Errorf("%s: %w", first, err)
		}
	}
	return d, nil
}

// adminURL is the superuser's URL for database db.
func (d *dbServer) adminURL(db string) string {
	return fmt.Sprintf("postgres://postgres:%s@%s/%s?sslmode=disable", d.AdminPassword, d.Addr, db)
}

// traversable reports whether other users can search every folder from dir up to /, and if
// not, the first one they cannot.
func traversable(dir string) (string, bool) {
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return dir, false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return dir, false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", true
		}
		dir = parent
	}
}
