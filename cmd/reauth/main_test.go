package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/products/gitlab/gitlabtest"
)

func TestMain(m *testing.M) { os.Exit(gitlabtest.Main(m)) }

// result is what one invocation of reauth printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// reauth runs the real command line with buffers, as main does with the process's streams.
func reauth(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"reauth"}, args...), strings.NewReader(stdin), &out, &errb)
	return result{out.String(), errb.String(), code}
}

func (r result) mustSucceed(t testing.TB) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	return r
}

func (r result) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, r.stdout)
	}
}

// env is a directory with a config file for one test.
type env struct {
	dir    string
	config string
}

// targetYAML describes one target of a test config.
type targetYAML struct {
	name, product string
	db            *dbtest.Database
	extra         string // more YAML lines for the target, indented by 4
}

// newEnv writes a config file for targets; the database password goes in a 0600 file.
func newEnv(t testing.TB, targets ...targetYAML) *env {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "environment: staging\nbackup_dir: ./backups\naudit_log: ./audit.jsonl\ntargets:\n")
	for _, tg := range targets {
		pw := filepath.Join(dir, tg.name+".pw")
		if err := os.WriteFile(pw, []byte(tg.db.Server.Password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "  - name: %s\n    product: %s\n    database:\n      url: %s\n      user: %s\n      password_file: %s\n",
			tg.name, tg.product, tg.db.JDBC, tg.db.Server.User, pw)
		if tg.extra != "" {
			b.WriteString(tg.extra)
		}
	}
	cfg := filepath.Join(dir, "reauth.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return &env{dir: dir, config: cfg}
}

func (e *env) run(t testing.TB, args ...string) result {
	t.Helper()
	return reauth(t, "", append([]string{"--config", e.config}, args...)...)
}
