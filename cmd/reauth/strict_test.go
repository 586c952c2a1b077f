package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStrictExposedPasswords: a password file, or a config holding a password, that other
// users can read is a warning (plan lists it with the target; other commands on stderr), and
// a refusal with --strict, before anything is connected to.
func TestStrictExposedPasswords(t *testing.T) {
	e, d, _, _ := jiraEnv(t, "postgres", 3)
	pw := filepath.Join(e.dir, "jira.pw")
	os.Chmod(pw, 0o644)
	if r := e.run(t, "plan").mustSucceed(t); !strings.Contains(r.stdout, "jira.pw (database.password_file) is readable by other users (mode 0644)") || strings.Contains(r.stderr, "readable") {
		t.Errorf("plan: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	if r := e.run(t, "backup", "--target", "jira", "--dry-run"); !strings.Contains(r.stderr, "warning: target jira: password file") {
		t.Errorf("backup --dry-run does not warn: exit %d, %q", r.code, r.stderr)
	}
	for _, args := range [][]string{{"--strict", "plan"}, {"backup", "--target", "jira", "--strict", "--dry-run"}} {
		if r := e.run(t, args...); r.code != 2 || !strings.Contains(r.stderr, "refused: --strict") || strings.Contains(r.stdout, "tokens:") {
			t.Errorf("%v: exit %d, %q; want 2", args, r.code, r.stderr)
		}
	}
	// A config file holding the password inline.
	os.Chmod(pw, 0o600)
	data, _ := os.ReadFile(e.config)
	inline := strings.Replace(string(data), "password_file: "+pw, "password: "+yamlQuote(d.Server.Password), 1)
	os.WriteFile(e.config, []byte(inline), 0o644)
	os.Chmod(e.config, 0o644)
	if r := e.run(t, "--strict", "plan"); r.code != 2 || !strings.Contains(r.stderr, "holds a password and is readable by other users") || strings.Contains(r.stderr, d.Server.Password) {
		t.Errorf("inline password in a readable config: exit %d, %q", r.code, r.stderr)
	}
	os.Chmod(e.config, 0o600)
	e.run(t, "--strict", "plan").mustSucceed(t)
}

// TestPlanTransport: plan says how each connection is protected on the network, and warns
// about each one that is not both encrypted and verified.
func TestPlanTransport(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		e, _, _, _ := jiraEnv(t, dialect, 1)
		var plan struct {
			Targets []struct {
				Transport []string
				Warnings  []string
			}
		}
		e.run(t, "plan", "--output", "json").mustSucceed(t).decode(t, &plan)
		tp := plan.Targets[0]
		if len(tp.Transport) != 1 || !strings.HasPrefix(tp.Transport[0], "database: may be unencrypted") {
			t.Errorf("%s: transport %q", dialect, tp.Transport)
		}
		if !strings.Contains(strings.Join(tp.Warnings, "\n"), "database connection may be unencrypted") {
			t.Errorf("%s: no warning for a connection that may fall back to plain text: %q", dialect, tp.Warnings)
		}
		if r := e.run(t, "plan"); !strings.Contains(r.stdout, "  network:   database: may be unencrypted") {
			t.Errorf("%s: plan text:\n%s", dialect, r.stdout)
		}
	}
}
