package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/internal/harness"
	"github.com/reauth/reauth/internal/secretscan"
)

// rows returns every remember-me row of the demo's database, one line per row, by key.
func rows(ctx context.Context, e *env) (map[string]string, error) {
	pool, err := sql.Open(e.DB.Driver, e.DB.DSN())
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	rs, err := pool.QueryContext(ctx, "SELECT id, created, token, username FROM remembermetoken")
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[string]string{}
	for rs.Next() {
		var id, token, user string
		var created time.Time
		if err := rs.Scan(&id, &created, &token, &user); err != nil {
			return nil, err
		}
		out[id] = fmt.Sprintf("%s|%s|%s", created.UTC().Format(time.RFC3339Nano), token, user)
	}
	return out, rs.Err()
}

// registerSecrets tells the secret scan the demo's database passwords.
func registerSecrets(e *env) {
	secretscan.Register("reauth-demo: jira database password", e.DB.Password)
	if e.DB.AdminPassword != "" {
		secretscan.Register("reauth-demo: PostgreSQL superuser's password", e.DB.AdminPassword)
	}
}

// TestDemo runs the whole demo as `go run ./cmd/reauth-demo` does on a machine with PostgreSQL's
// server binaries (without them it is skipped, and fails with CI=true).
func TestDemo(t *testing.T) {
	if _, err := findPostgres(); err != nil {
		harness.SkipOrFail(t, "reauth-demo: "+err.Error()+"; install the Debian package postgresql")
	}
	testDemo(t, dbPostgres)
}

// TestDemoEmbedded runs the demo with --db embedded, as it runs on a machine with only Go.
func TestDemoEmbedded(t *testing.T) {
	testDemo(t, dbEmbedded)
}

// testDemo runs the whole demo on the database kind db, checks what it prints, then restores
// the run's backup with `reauth restore` and checks that every row came back value for value in
// the database, and that nothing the demo started is left running.
func testDemo(t *testing.T, db string) {
	var out bytes.Buffer
	var before map[string]string
	o := options{Nodes: 3, Users: 10, DB: db,
		BeforeRun: func(ctx context.Context, e *env) (err error) {
			registerSecrets(e)
			if e.DB.Kind != db {
				return fmt.Errorf("the database is %s; want %s", e.DB.Kind, db)
			}
			before, err = rows(ctx, e)
			return err
		},
		Inspect: func(ctx context.Context, e *env) error {
			// Before the demo removes its working folder: what reauth wrote and sent.
			secretscan.CheckPath(t, "the demo's backup_dir", filepath.Join(e.Dir, "backups"))
			secretscan.CheckPath(t, "the demo's audit log", filepath.Join(e.Dir, "audit.jsonl"))
			cmds := e.SSH.Commands()
			if len(cmds) == 0 {
				return errors.New("the SSH server recorded no command: the scan of remote commands saw nothing")
			}
			secretscan.Check(t, "the demo's remote commands", strings.Join(cmds, "\n"))
			backups, _ := filepath.Glob(filepath.Join(e.Dir, "backups", "jira-*.backup.jsonl"))
			if len(backups) != 1 {
				return fmt.Errorf("backups: %v; want one", backups)
			}
			if err := e.reauth(ctx, "restore", "--yes", backups[0]); err != nil {
				return err
			}
			after, err := rows(ctx, e)
			if err != nil {
				return err
			}
			for id, row := range before {
				if after[id] != row {
					return fmt.Errorf("row %s restored as %q; was %q", id, after[id], row)
				}
			}
			if len(after) != len(before)+1 { // and the fresh login's row
				return fmt.Errorf("%d rows after the restore; want %d", len(after), len(before)+1)
			}
			return nil
		},
	}
	start := time.Now()
	err := demo(context.Background(), &out, o)
	took := time.Since(start)
	t.Logf("demo took %v (building reauth and simnode included)", took.Round(100*time.Millisecond))
	secretscan.Check(t, "the demo's output (reauth's stdout and stderr)", out.String())
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if testing.Verbose() {
		t.Logf("output:\n%s", out.String())
	}
	if len(before) != 5 {
		t.Errorf("%d remember-me rows before the run; want 5 (every other one of 10 users)", len(before))
	}
	s := out.String()
	for _, want := range []string{
		"$ reauth --config reauth.yaml plan",
		"$ reauth --config reauth.yaml run --yes --reason DEMO-1",
		"# reauth run ", ": OK",
		"Remember-me tokens revoked: **5** rows deleted",
		"| 127.0.0.2 |", "| 127.0.0.3 |", "| 127.0.0.4 |",
		"## Not revoked", "## Undo",
		"Old session cookies (JSESSIONID) of 10 users × 3 nodes: 30 of 30 requests rejected (HTTP 401).",
		"Old remember-me cookies (seraph.rememberme.cookie) of 5 users × 3 nodes: 15 of 15 requests rejected (HTTP 401).",
		"A fresh login works",
		"$ reauth --config reauth.yaml verify --target jira --since ",
		"Verified: users in scope must log in again.",
		"Restored 5 rows",
		"Demo done in ", db + " database).",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	if m := regexp.MustCompile(`at least (\d+) of 3 nodes answered RUNNING`).FindStringSubmatch(s); m == nil || m[1] != "2" {
		t.Errorf("availability line: %v; want at least 2 of 3 nodes up throughout", m)
	}
	dir := regexp.MustCompile(`Working folder: (\S+)`).FindStringSubmatch(s)
	if dir == nil {
		t.Fatal("the output does not name the working folder")
	}
	if _, err := os.Stat(dir[1]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the working folder %s is still there (%v)", dir[1], err)
	}
	if left := mentioning(dir[1]); len(left) > 0 {
		t.Errorf("processes of the demo left running: %v", left)
	}
}

// TestDemoInterrupted: interrupted in the middle of the rolling restart (Ctrl-C), the demo
// stops every node it started and removes its working folder.
func TestDemoInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	var simnode, workDir string
	interrupted := make(chan struct{})
	o := options{Nodes: 2, Users: 2, BeforeRun: func(_ context.Context, e *env) error {
		registerSecrets(e)
		workDir = e.Dir
		simnode = filepath.Join(e.Dir, "bin", "simnode")
		events := filepath.Join(e.Dir, "events.jsonl")
		// Interrupt as soon as the first node has stopped: reauth is about to start it again.
		go func() {
			defer close(interrupted)
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if data, _ := os.ReadFile(events); strings.Contains(string(data), `"state":"STOPPED"`) {
					cancel()
					return
				}
			}
		}()
		return nil
	}}
	err := demo(ctx, &out, o)
	secretscan.Check(t, "the demo's output (reauth's stdout and stderr)", out.String())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("demo: %v; want context.Canceled\n%s", err, out.String())
	}
	<-interrupted
	if simnode == "" {
		t.Fatal("BeforeRun was not called")
	}
	// Nothing runs the demo's simnode any more.
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := running(simnode)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("simnode processes left running: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(workDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the working folder is still there (%v)", err)
	}
	// Nor the database (PostgreSQL's data folder or the embedded database's binary are in the
	// working folder).
	if left := mentioning(workDir); len(left) > 0 {
		t.Errorf("processes of the demo left running: %v", left)
	}
}

// mentioning lists the live processes whose command line names something in dir.
func mentioning(dir string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range procs {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if strings.Contains(string(data), dir+"/") {
			out = append(out, filepath.Base(filepath.Dir(f))+": "+strings.ReplaceAll(string(data), "\x00", " "))
		}
	}
	return out
}

// running lists the live processes whose executable is path (a zombie has an empty cmdline).
func running(path string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range procs {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if argv0, _, _ := strings.Cut(string(data), "\x00"); argv0 == path {
			out = append(out, filepath.Base(filepath.Dir(f)))
		}
	}
	return out
}
