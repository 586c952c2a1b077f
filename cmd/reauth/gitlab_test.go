package main

import (
	"context"
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

	// redis.yml (Omnibus' redis_yml_override) naming a sessions instance comes first, as in
	// GitLab: resque.yml now names a Redis that is not there, so only redis.yml can make the
	// plan ready. Without a sessions entry, redis.yml's shared_state comes before resque.yml.
	os.WriteFile(filepath.Join(etc, "resque.yml"), []byte("production:\n  url: redis://127.0.0.1:1\n"), 0o600)
	for _, instance := range []string{"sessions", "shared_state"} {
		os.WriteFile(filepath.Join(etc, "redis.yml"), []byte(fmt.Sprintf(`production: {"%s": {"url": "redis://%s", "password": "%s", "db": %d}, "cache": {"url": "redis://127.0.0.1:1"}}`+"\n",
			instance, r.Server.Addr, r.Server.Password, r.Index)), 0o600)
		r4 := reauth(t, "", "--config", path, "plan", "--output", "json").mustSucceed(t)
		if want := "redis.yml on this machine, entry production." + instance + ": GitLab's " + instance + " instance"; !strings.Contains(r4.stdout, want) ||
			!strings.Contains(r4.stdout, `"ready": true`) {
			t.Errorf("plan with redis.yml's %s entry does not use it, or does not say so (want %q):\n%s", instance, want, r4.stdout)
		}
		if strings.Contains(r4.stdout+r4.stderr, r.Server.Password) {
			t.Error("plan printed a password")
		}
	}
}

// TestGitLabVerify: `reauth verify` on a GitLab target fails, exit 1, naming the key, for
// each thing of a user that is left from before --since (a session record, a lookup id, a
// Rails session in each format GitLab stores, remember-me) and for a Rails session value it
// cannot read; it passes a clean target and a user's new login after --since, and with
// --user it judges only that user's sessions (an unreadable value still fails: whose it is
// is unknown). Text and JSON say the same.
func TestGitLabVerify(t *testing.T) {
	since := time.Now().Add(-time.Minute).UTC()
	before := since.Add(-time.Hour)
	type setup func(t *testing.T, e *gitlabEnv, alice int64) (key string)
	cases := []struct {
		name  string
		setup setup
		scope []string
		ok    bool
	}{
		{"clean", func(t *testing.T, e *gitlabEnv, alice int64) string { return "" }, nil, true},
		{"leftover record", func(t *testing.T, e *gitlabEnv, alice int64) string {
			w := gitlabtest.WriteSession(t, e.redis.Client, gitlabtest.Session{UserID: alice, Format: gitlabtest.V2, NoRack: true, SignedInAt: before})
			e.redis.Client.Del(context.Background(), gitlabtest.LookupKey(alice))
			return gitlabtest.RecordKey(alice, w.PrivateID)
		}, nil, false},
		{"leftover legacy record", func(t *testing.T, e *gitlabEnv, alice int64) string {
			w := gitlabtest.WriteSession(t, e.redis.Client, gitlabtest.Session{UserID: alice, Format: gitlabtest.Legacy, NoRack: true, SignedInAt: before})
			e.redis.Client.Del(context.Background(), gitlabtest.LookupKey(alice))
			return gitlabtest.LegacyKey(alice, w.PrivateID)
		}, nil, false},
		{"leftover lookup id", func(t *testing.T, e *gitlabEnv, alice int64) string {
			e.redis.Client.SAdd(context.Background(), gitlabtest.LookupKey(alice), gitlabtest.PrivateID("0123456789abcdef0123456789abcdef"))
			return gitlabtest.LookupKey(alice)
		}, nil, false},
		{"remember_created_at set", func(t *testing.T, e *gitlabEnv, alice int64) string {
			e.gl.AddUser("erin", gitlabtest.UserSpec{Remember: true})
			return "users.remember_created_at"
		}, nil, false},
		{"unreadable value", func(t *testing.T, e *gitlabEnv, alice int64) string {
			e.redis.Client.Set(context.Background(), gitlabtest.RackKey("2::junk"), "\x04\x08{\x06I\"\x0bbroken", 0)
			return gitlabtest.RackKey("2::junk")
		}, []string{"bob"}, false},
		{"new login after --since", func(t *testing.T, e *gitlabEnv, alice int64) string {
			e.web.Login(t, "alice", true)
			return ""
		}, nil, true},
		{"another user's leftover, out of scope", func(t *testing.T, e *gitlabEnv, alice int64) string {
			gitlabtest.WriteSession(t, e.redis.Client, gitlabtest.Session{UserID: alice, SignedInAt: before})
			return ""
		}, []string{"bob"}, true},
	}
	for _, f := range gitlabtest.RackFormats {
		cases = append(cases, struct {
			name  string
			setup setup
			scope []string
			ok    bool
		}{"leftover Rails session " + string(f), func(t *testing.T, e *gitlabEnv, alice int64) string {
			k := gitlabtest.RackKey(gitlabtest.PrivateID("feedfacefeedfacefeedfacefeedface"))
			e.redis.Client.Set(context.Background(), k, gitlabtest.RackSession(t, f, alice, 0), time.Hour)
			return k
		}, nil, false})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newGitLabEnv(t, "")
			alice := e.gl.AddUser("alice", gitlabtest.UserSpec{})
			e.gl.AddUser("bob", gitlabtest.UserSpec{})
			key := c.setup(t, e, alice)
			args := []string{"verify", "--target", "gitlab", "--since", since.Format(time.RFC3339)}
			for _, u := range c.scope {
				args = append(args, "--user", u)
			}
			r := e.run(t, args...)
			var v struct {
				OK       bool
				Problems []string
				GitLab   *struct {
					NewLogins int `json:"new_logins"`
					Leftovers []struct{ Kind, Key string }
				}
			}
			e.run(t, append(args, "--output", "json")...).decode(t, &v)
			if c.ok {
				if r.code != 0 || !strings.Contains(r.stdout, "Verified: users in scope must log in again.") || !v.OK || v.GitLab == nil {
					t.Errorf("verify: exit %d, JSON %+v; want it to pass\n%s%s", r.code, v, r.stdout, r.stderr)
				}
				if c.name == "new login after --since" && (v.GitLab == nil || v.GitLab.NewLogins != 1 || !strings.Contains(r.stdout, "new logins")) {
					t.Errorf("verify does not count alice's new login: %+v\n%s", v.GitLab, r.stdout)
				}
				return
			}
			if r.code != 1 || !strings.Contains(r.stdout, "PROBLEM: ") || !strings.Contains(r.stdout, key) || !strings.Contains(r.stderr, key) {
				t.Errorf("verify: exit %d; want 1, naming %s\nstdout:\n%s\nstderr:\n%s", r.code, key, r.stdout, r.stderr)
			}
			if v.OK || v.GitLab == nil || len(v.GitLab.Leftovers) != 1 || v.GitLab.Leftovers[0].Key != key || len(v.Problems) != 1 {
				t.Errorf("verify JSON = %+v; want not OK, one leftover, %s", v, key)
			}
		})
	}
}
