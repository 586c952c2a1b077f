package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/internal/secretscan"
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
	watch(t, args, out.String(), errb.String())
	return result{out.String(), errb.String(), code}
}

// watch checks what one invocation of reauth printed for the suite's secrets
// (internal/secretscan), and has the files its config makes it write checked when the test
// ends: backup_dir (backups, manifests, reports, run and restart state, locks) and the audit log.
// Every helper that runs reauth, in this process or as a binary, calls it.
func watch(t testing.TB, args []string, stdout, stderr string) {
	t.Helper()
	cmd := "reauth" // and the command's name, for the message
	for _, a := range args {
		if commandNames[a] {
			cmd += " " + a
			break
		}
	}
	secretscan.Check(t, "stdout of `"+cmd+"`", stdout)
	secretscan.Check(t, "stderr of `"+cmd+"`", stderr)
	for where, path := range writtenBy(args) {
		secretscan.CheckAtCleanup(t, where, path)
	}
}

var commandNames = map[string]bool{"products": true, "discover": true, "plan": true, "backup": true,
	"clear": true, "restore": true, "restart": true, "run": true, "verify": true, "sessions": true}

// writtenBy returns where reauth run with args writes: backup_dir and audit_log of its config
// file, found as reauth finds them (--config, REAUTH_CONFIG, reauth.yaml; paths relative to the
// config's folder). Only paths in the temp folder the tests work in: never a user's own files.
func writtenBy(args []string) map[string]string {
	config := os.Getenv("REAUTH_CONFIG")
	if config == "" {
		config = "reauth.yaml"
	}
	for i, a := range args {
		if a == "--" {
			break
		}
		if (a == "--config" || a == "-config") && i+1 < len(args) {
			config = args[i+1]
		} else if v, ok := strings.CutPrefix(a, "--config="); ok {
			config = v
		}
	}
	data, err := os.ReadFile(config)
	if err != nil {
		return nil
	}
	var c struct {
		BackupDir string `yaml:"backup_dir"`
		AuditLog  string `yaml:"audit_log"`
	}
	_ = yaml.Unmarshal(data, &c) // a config reauth refuses may still name them
	out := map[string]string{}
	for where, p := range map[string]string{"backup_dir": c.BackupDir, "audit log": c.AuditLog} {
		if p == "" {
			p = map[string]string{"backup_dir": "reauth-backups", "audit log": "reauth-audit.jsonl"}[where]
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(config), p)
		}
		if abs, err := filepath.Abs(p); err == nil && strings.HasPrefix(abs, os.TempDir()+string(filepath.Separator)) {
			out[where] = abs
		}
	}
	return out
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
