package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/products/gitlab/gitlabtest"
)

// gitlabEnv is a GitLab target: a private Redis database and PostgreSQL with GitLab's tables,
// users logged in through the simulated web endpoint.
type gitlabEnv struct {
	*env
	web   *gitlabtest.Web
	redis *gitlabtest.DB
	gl    *gitlabtest.GitLab
}

func newGitLabEnv(t *testing.T, extra string) *gitlabEnv {
	t.Helper()
	r := gitlabtest.Redis(t).NewDB(t)
	d := server(t, "postgres").NewDatabase(t)
	gl := gitlabtest.Schema(t, d)
	dir := t.TempDir()
	pw := filepath.Join(dir, "db.pw")
	os.WriteFile(pw, []byte(d.Server.Password), 0o600)
	rpw := filepath.Join(dir, "redis.pw")
	os.WriteFile(rpw, []byte(r.Server.Password), 0o600)
	cfg := fmt.Sprintf(`environment: staging
backup_dir: ./backups
audit_log: ./audit.jsonl
targets:
  - name: gitlab
    product: gitlab
    database:
      url: %s
      password_file: %s
    redis:
      url: %s
      password_file: %s
%s`, d.URL, pw, r.URL(), rpw, extra)
	path := filepath.Join(dir, "reauth.yaml")
	os.WriteFile(path, []byte(cfg), 0o600)
	return &gitlabEnv{env: &env{dir: dir, config: path}, web: gitlabtest.NewWeb(t, r.Client, d.Open(t)), redis: r, gl: gl}
}

// TestGitLabEndToEnd: sessions list, revoke by user (dry run first), revoke --all, run and
// verify on a GitLab target. Revoked users' old session and remember cookies are refused,
// others still get in, and non-session keys survive.
func TestGitLabEndToEnd(t *testing.T) {
	e := newGitLabEnv(t, "")
	for _, u := range []string{"alice", "bob", "carol"} {
		e.gl.AddUser(u, gitlabtest.UserSpec{})
	}
	alice := e.web.Login(t, "alice", true)
	e.web.Login(t, "alice", false)
	bob := e.web.Login(t, "bob", true)
	carol := e.web.Login(t, "carol", true)
	nonSession := gitlabtest.WriteNonSession(t, e.redis.Client)
	before := gitlabtest.Dump(t, e.redis.Client, nonSession...)

	var list struct {
		Users []struct {
			User     string
			Sessions []json.RawMessage
		}
	}
	e.run(t, "sessions", "list", "--target", "gitlab", "--user", "alice", "--output", "json").mustSucceed(t).decode(t, &list)
	if len(list.Users) != 1 || len(list.Users[0].Sessions) != 2 {
		t.Errorf("sessions list alice = %+v; want 2 sessions", list)
	}
	r := e.run(t, "sessions", "revoke", "--target", "gitlab", "--user", "alice", "--dry-run").mustSucceed(t)
	if !strings.Contains(r.stdout, "would revoke 2 sessions for 1 users") {
		t.Errorf("dry run says:\n%s", r.stdout)
	}
	if code := e.web.Get(t, alice...).Status; code != http.StatusOK {
		t.Fatalf("the dry run changed something: alice gets %d", code)
	}
	e.run(t, "sessions", "revoke", "--target", "gitlab", "--user", "alice", "--yes", "--reason", "INC-9").mustSucceed(t)
	for _, ck := range alice {
		if code := e.web.Get(t, ck).Status; code == http.StatusOK {
			t.Errorf("alice's old %s cookie still gets in", ck.Name)
		}
	}
	if code := e.web.Get(t, bob...).Status; code != http.StatusOK {
		t.Errorf("bob, not revoked, gets %d", code)
	}
	// The audit log has GitLab's per-user fields.
	data, _ := os.ReadFile(filepath.Join(e.dir, "audit.jsonl"))
	if !strings.Contains(string(data), `"username":"alice"`) || !strings.Contains(string(data), `"session_count":2`) || !strings.Contains(string(data), `"performed_at"`) {
		t.Errorf("audit log lacks GitLab's per-user fields:\n%s", data)
	}

	// run over the gitlab target (every user) and verify.
	start := time.Now().UTC()
	var rep struct {
		Outcome string
		Targets []struct {
			GitLab *struct{ Sessions, Users int }
			Verify *struct{ OK bool }
		}
	}
	e.run(t, "run", "--yes", "--output", "json").mustSucceed(t).decode(t, &rep)
	if rep.Outcome != "ok" || rep.Targets[0].GitLab == nil || rep.Targets[0].GitLab.Sessions != 2 || !rep.Targets[0].Verify.OK {
		t.Errorf("run = %+v; want bob's and carol's 2 sessions revoked and verified", rep)
	}
	for name, cks := range map[string][]*http.Cookie{"bob": bob, "carol": carol} {
		for _, ck := range cks {
			if code := e.web.Get(t, ck).Status; code == http.StatusOK {
				t.Errorf("%s's old %s cookie still gets in after run", name, ck.Name)
			}
		}
	}
	if after := gitlabtest.Dump(t, e.redis.Client, nonSession...); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("non-session keys changed:\n%v\nwant\n%v", after, before)
	}
	e.run(t, "verify", "--target", "gitlab", "--since", start.Format(time.RFC3339)).mustSucceed(t)
	// New logins work; --all then revokes them too.
	dave := e.web.Login(t, "bob", true)
	e.run(t, "sessions", "revoke", "--target", "gitlab", "--all", "--yes").mustSucceed(t)
	if code := e.web.Get(t, dave...).Status; code == http.StatusOK {
		t.Error("a session survived revoke --all")
	}
	if keys := e.redis.Keys(t, "session:user:gitlab:*"); len(keys) != 0 {
		t.Errorf("session records left after --all: %v", keys)
	}
}

// TestGitLabDiscovery reads GitLab's connections from an Omnibus node's Rails config, over SSH
// and on this machine.
func TestGitLabDiscovery(t *testing.T) {
	c := newCluster(t, "jira", clusterOpts{nodes: 1}) // an SSH host; its product does not matter
	r := gitlabtest.Redis(t).NewDB(t)
	d := server(t, "postgres").NewDatabase(t)
	gl := gitlabtest.Schema(t, d)
	gl.AddUser("alice", gitlabtest.UserSpec{Remember: true})
	home := filepath.Join(c.dir, "var-opt-gitlab")
	etc := filepath.Join(home, "gitlab-rails", "etc")
	os.MkdirAll(etc, 0o700)
	s := d.Server
	os.WriteFile(filepath.Join(etc, "database.yml"), []byte(fmt.Sprintf(`production:
  main:
    adapter: postgresql
    encoding: unicode
    collation:
    database: %s
    username: "%s"
    password: "%s"
    host: "%s"
    port: %d
    sslmode: disable
`, d.Name, s.User, s.Password, s.Host, s.Port)), 0o600)
	os.WriteFile(filepath.Join(etc, "resque.yml"), []byte(fmt.Sprintf("production:\n  url: redis://:%s@%s/%d\n", r.Server.Password, r.Server.Addr, r.Index)), 0o600)
	cfg := fmt.Sprintf(`environment: staging
backup_dir: ./backups
ssh:
  user: %s
  identity_file: %s
  known_hosts: %s
  port: %d
targets:
  - name: gitlab
    product: gitlab
    database:
      discover: { home: %s }
    nodes:
      - host: 127.0.0.2
        url: http://127.0.0.2:1
`, c.ssh.User, c.ssh.IdentityFile, c.ssh.KnownHosts, c.ssh.Port, home)
	path := filepath.Join(c.dir, "gitlab.yaml")
	os.WriteFile(path, []byte(cfg), 0o600)
	r2 := reauth(t, "", "--config", path, "plan", "--output", "json").mustSucceed(t)
	if !strings.Contains(r2.stdout, "database.yml on 127.0.0.2 over SSH") || !strings.Contains(r2.stdout, "resque.yml on 127.0.0.2 over SSH") {
		t.Errorf("plan does not say it read GitLab's files over SSH:\n%s", r2.stdout)
	}
	if strings.Contains(r2.stdout+r2.stderr, s.Password) || strings.Contains(r2.stdout+r2.stderr, r.Server.Password) {
		t.Error("plan printed a password")
	}

	// The same files on this machine (reauth run on the GitLab node itself): no nodes, no SSH.
	local := fmt.Sprintf(`environment: staging
backup_dir: ./backups
targets:
  - name: gitlab
    product: gitlab
    database:
      discover: { home: %s }
`, home)
	path = filepath.Join(c.dir, "gitlab-local.yaml")
	os.WriteFile(path, []byte(local), 0o600)
	r3 := reauth(t, "", "--config", path, "plan", "--output", "json").mustSucceed(t)
	if !strings.Contains(r3.stdout, "database.yml on this machine") || !strings.Contains(r3.stdout, "resque.yml on this machine") {
		t.Errorf("plan does not say it read GitLab's files on this machine:\n%s", r3.stdout)
	}
	if !strings.Contains(r3.stdout, `"ready": true`) || !strings.Contains(r3.stdout, "etc/resque.yml on this machine") {
		t.Errorf("plan with GitLab's files on this machine is not ready, or names the wrong file:\n%s", r3.stdout)
	}
	if strings.Contains(r3.stdout+r3.stderr, s.Password) || strings.Contains(r3.stdout+r3.stderr, r.Server.Password) {
		t.Error("plan printed a password")
	}
}
