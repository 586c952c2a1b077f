package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reauth/reauth/products/producttest"
	"github.com/reauth/reauth/restart/restarttest"
	"github.com/reauth/reauth/restart/sshtest"
)

// TestCrowdSSOEndToEnd: Jira (two nodes) signs its users in through Crowd (two nodes), their
// databases on one server. Users sign in at Crowd, carry the SSO cookie to Jira, which opens a
// session after asking Crowd, and some also tick Jira's remember-me. With only Jira named,
// plan refuses and says that Crowd is not in the run. One `reauth run` over both targets
// clears both tables and rolls both clusters; afterwards every old Jira session, Jira
// remember-me cookie and Crowd SSO cookie is rejected on every node, while a new Crowd login
// still signs users in at Jira and Crowd's application sessions are kept.
func TestCrowdSSOEndToEnd(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			crowdSSOEndToEnd(t, dialect)
		})
	}
}

// oldCookie is a cookie a user held before the run: accepted on some nodes then, to be
// rejected on every node of its products after.
type oldCookie struct {
	what     string
	cookie   *http.Cookie
	accepted []*simNode
	rejected []*simNode
}

func crowdSSOEndToEnd(t *testing.T, dialect string) {
	sshd := sshtest.Start(t, "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
	crowd := newCluster(t, "crowd", clusterOpts{nodes: 2, ssh: sshd, first: 4, dialect: dialect})
	cf, _ := producttest.For("crowd", dialect)
	cf.SeedApplicationSessions(t, crowd.db.Exec)
	var crowdURLs []string
	for _, n := range crowd.nodes {
		crowdURLs = append(crowdURLs, n.cfg.URL())
	}
	jira := newCluster(t, "jira", clusterOpts{nodes: 2, ssh: sshd, first: 2, dialect: dialect,
		sim: func(cfg *restarttest.Config) { cfg.SSOVia = crowdURLs }})
	jf, _ := producttest.For("jira", dialect)

	jiraYAML := jira.targetsYAML(t)
	if !strings.Contains(jiraYAML, "    product: jira\n") {
		t.Fatalf("no product line in the Jira target:\n%s", jiraYAML)
	}
	jiraYAML = strings.Replace(jiraYAML, "    product: jira\n", "    product: jira\n    sso_via: crowd\n", 1)
	dir := t.TempDir()
	cfg := fmt.Sprintf("environment: staging\nbackup_dir: ./backups\naudit_log: ./audit.jsonl\n"+
		"ssh:\n  user: %s\n  identity_file: %s\n  known_hosts: %s\n  port: %d\ntargets:\n%s%s",
		sshd.User, sshd.IdentityFile, sshd.KnownHosts, sshd.Port, jiraYAML, crowd.targetsYAML(t))
	path := filepath.Join(dir, "reauth.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &env{dir: dir, config: path}

	// Users sign in at Crowd (some ticking its remember-me), then reach Jira with the SSO
	// cookie; every other one also signs in at Jira with remember-me.
	const users = 8
	var old []oldCookie
	remembered := 0
	everyNode := append(append([]*simNode{}, crowd.nodes...), jira.nodes...)
	for i := 0; i < users; i++ {
		user := fmt.Sprintf("user%d", i)
		cn := crowd.nodes[i%len(crowd.nodes)]
		cb := restarttest.NewBrowser(t, "crowd")
		cb.Login(t, cn.cfg.URL(), user, i%3 == 0)
		sso := cb.RememberCookies()
		if len(sso) != 1 {
			t.Fatalf("%s's Crowd login set no SSO cookie", user)
		}
		if i%3 == 0 {
			// Crowd's own remember-me: it signs the user in again with a new SSO cookie.
			var rc []*http.Cookie
			for _, c := range cb.Cookies() {
				if c.Name == "crowd.rememberme.token" {
					rc = append(rc, c)
				}
			}
			if len(rc) != 1 {
				t.Fatalf("%s's Crowd login with Remember me set no crowd.rememberme.token cookie", user)
			}
			remembered++
			old = append(old, oldCookie{user + "'s Crowd remember-me cookie", rc[0], crowd.nodes, crowd.nodes})
		}
		jn := jira.nodes[(i+1)%len(jira.nodes)]
		jb := restarttest.NewBrowser(t, "jira")
		jb.AddCookies(sso...)
		code, body, err := jb.Page(jn.cfg.URL())
		if want := "hello " + user + " from " + jn.cfg.Node; err != nil || code != http.StatusOK || body != want {
			t.Fatalf("%s at Jira with the SSO cookie: HTTP %d %q, %v; want 200 %q", user, code, body, err, want)
		}
		old = append(old,
			oldCookie{user + "'s Crowd SSO cookie", sso[0], everyNode, everyNode},
			oldCookie{user + "'s Crowd session", cb.SessionCookies()[0], []*simNode{cn}, crowd.nodes},
			oldCookie{user + "'s Jira session from Crowd SSO", jb.SessionCookies()[0], []*simNode{jn}, jira.nodes})
		if i%2 == 0 {
			ln := jira.nodes[i%len(jira.nodes)]
			jb.Login(t, ln.cfg.URL(), user, true)
			old = append(old,
				oldCookie{user + "'s Jira session", jb.SessionCookies()[0], []*simNode{ln}, jira.nodes},
				oldCookie{user + "'s Jira remember-me cookie", jb.RememberCookies()[0], jira.nodes, jira.nodes})
		}
	}
	// Every cookie works before the run: the checks after it are not vacuous.
	for _, o := range old {
		for _, n := range o.accepted {
			if code, err := restarttest.Replay(n.cfg.URL(), o.cookie); err != nil || code != http.StatusOK {
				t.Fatalf("before the run, %s on %s %s: HTTP %d, %v; want 200", o.what, n.cfg.Product, n.host, code, err)
			}
		}
	}

	// Jira alone is refused: its users would sign straight back in through Crowd. This
	// repeats TestSSOVia's check against live clusters.
	why := "users of jira sign in through crowd (sso_via), which is not in this run"
	if r := e.run(t, "plan", "--target", "jira"); r.code != 2 || !strings.Contains(r.stdout+r.stderr, why) {
		t.Errorf("plan of jira alone: exit %d\n%s%s\nwant 2 and %q", r.code, r.stdout, r.stderr, why)
	}
	e.run(t, "plan").mustSucceed(t)

	// The users' SSO sessions: one per login, and one per use of a Crowd remember-me cookie.
	crowdPool := crowd.db.Open(t)
	var ssoRows int64
	if err := crowdPool.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM cwd_token WHERE directory_id <> -1").Scan(&ssoRows); err != nil {
		t.Fatal(err)
	}
	if ssoRows != int64(users+remembered*len(crowd.nodes)) {
		t.Fatalf("%d users' SSO sessions before the run; want %d logins and %d uses of a Crowd remember-me cookie", ssoRows, users, remembered*len(crowd.nodes))
	}

	jp, cp := jira.startProber(), crowd.startProber()
	var rep reportJSON
	e.run(t, "run", "--yes", "--reason", "CHG-14", "--output", "json").mustSucceed(t).decode(t, &rep)
	for _, c := range []struct {
		name     string
		p        *prober
		nodes    int
		sessions int64 // rows the clear must delete: Jira's remember-me, Crowd's users' SSO
	}{{"jira", jp, len(jira.nodes), (users + 1) / 2}, {"crowd", cp, len(crowd.nodes), ssoRows}} {
		if minUp, samples := c.p.stop(); minUp < c.nodes-1 || samples < 5 {
			t.Errorf("%s: at worst %d of %d nodes answered RUNNING (%d samples); want at least %d", c.name, minUp, c.nodes, samples, c.nodes-1)
		}
		found := false
		for _, tr := range rep.Targets {
			if tr.Name != c.name {
				continue // other targets, such as a companion of Crowd's, are not this test's
			}
			found = true
			if tr.Cleared == nil || tr.Cleared.Deleted != c.sessions {
				t.Errorf("target %s cleared %+v; want %d rows deleted", c.name, tr.Cleared, c.sessions)
			}
			if tr.Verify == nil || !tr.Verify.OK || len(tr.Nodes) != c.nodes {
				t.Errorf("target %s: verify %+v, %d nodes restarted; want verified, %d", c.name, tr.Verify, len(tr.Nodes), c.nodes)
			}
		}
		if !found {
			t.Errorf("the report has no target %s: %+v", c.name, rep.Targets)
		}
	}
	// Crowd's own remember-me tokens: the Crowd target's part, cleared and verified in the same
	// run (its nodes are the Crowd target's).
	part := false
	for _, tr := range rep.Targets {
		if tr.Name == "crowd.remember-me" {
			part = true
			if tr.Cleared == nil || tr.Cleared.Deleted != int64(remembered) || tr.Verify == nil || !tr.Verify.OK {
				t.Errorf("target crowd.remember-me cleared %+v, verify %+v; want %d rows deleted and verified", tr.Cleared, tr.Verify, remembered)
			}
		}
	}
	if !part || producttest.Count(t, crowdPool, "cwd_remember_me_token") != 0 {
		t.Errorf("the run left Crowd's remember-me tokens (part in report: %v)", part)
	}
	if rep.Outcome != "ok" {
		t.Errorf("run outcome %q; want ok", rep.Outcome)
	}

	// The tables: no user's SSO session or Jira remember-me row left; the applications' kept.
	var userRows, appRows int
	for q, dst := range map[string]*int{
		"SELECT COUNT(*) FROM cwd_token WHERE directory_id <> -1": &userRows,
		"SELECT COUNT(*) FROM cwd_token WHERE directory_id = -1":  &appRows,
	} {
		if err := crowdPool.QueryRowContext(context.Background(), q).Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	if userRows != 0 || appRows != len(producttest.Applications) {
		t.Errorf("cwd_token after the run: %d users' rows, %d applications'; want 0 and %d", userRows, appRows, len(producttest.Applications))
	}
	if n := producttest.Count(t, jira.db.Open(t), jf.Table); n != 0 {
		t.Errorf("%d Jira remember-me rows left", n)
	}

	// Every old cookie is rejected on every node of its products.
	for _, o := range old {
		for _, n := range o.rejected {
			if code, err := restarttest.Replay(n.cfg.URL(), o.cookie); err != nil || code != http.StatusUnauthorized {
				t.Errorf("after the run, %s on %s %s: HTTP %d, %v; want 401", o.what, n.cfg.Product, n.host, code, err)
			}
		}
	}
	// Crowd still signs users in at Jira: the rejections are Crowd's answer, not its absence.
	cb := restarttest.NewBrowser(t, "crowd")
	cb.Login(t, crowd.nodes[0].cfg.URL(), "user0", false)
	for _, n := range jira.nodes {
		if code, err := restarttest.Replay(n.cfg.URL(), cb.RememberCookies()...); err != nil || code != http.StatusOK {
			t.Errorf("a new Crowd SSO cookie on jira %s: HTTP %d, %v; want 200", n.host, code, err)
		}
	}
}
