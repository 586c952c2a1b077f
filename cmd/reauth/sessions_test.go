package main

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/reauth/reauth/internal/secretscan"
	"github.com/reauth/reauth/products/producttest"
	"github.com/reauth/reauth/restart/restarttest"
)

// TestSessionsAtlassian: `sessions list` counts tokens per login name; `sessions revoke` deletes
// the users' tokens and, through the product's per-user session endpoint (Jira 9.11+, Bamboo),
// ends their in-memory sessions at once: other users stay logged in. A 401 (wrong admin
// credentials) and a 404 (a version without the endpoint) say that a restart is needed.
func TestSessionsAtlassian(t *testing.T) {
	admin := secretscan.Register("sessions: the nodes' admin password", "s3cret-admin")
	short := secretscan.Register("sessions: a short admin password", "q!7z")
	wrong := secretscan.Register("sessions: a wrong admin password", "wrong-admin")
	for _, tc := range []struct {
		name, product       string
		nodeAdmin, apiAdmin string
		ended               bool
		outcome             string
	}{
		{"jira ends sessions", "jira", admin, admin, true, "sessions ended"},
		{"bamboo ends sessions", "bamboo", short, short, true, "sessions ended"},
		{"jira wrong admin password: 401", "jira", admin, wrong, false, "HTTP 401"},
		{"bamboo without the endpoint: 404", "bamboo", "", admin, false, "HTTP 404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, tc.product, clusterOpts{nodes: 1, nodeAdmin: tc.nodeAdmin, apiAdmin: tc.apiAdmin})
			url := c.nodes[0].cfg.URL()
			alice := restarttest.NewBrowser(t, tc.product)
			alice.Login(t, url, "user0", true)
			alice2 := restarttest.NewBrowser(t, tc.product)
			alice2.Login(t, url, "user0", true)
			bob := restarttest.NewBrowser(t, tc.product)
			bob.Login(t, url, "user1", true)

			var list struct {
				Tokens int64
				Users  []struct {
					User   string
					Tokens int64
				}
			}
			c.env.run(t, "sessions", "list", "--target", tc.product, "--output", "json").mustSucceed(t).decode(t, &list)
			if list.Tokens != 3 || len(list.Users) != 2 || list.Users[0].User != "user0" || list.Users[0].Tokens != 2 {
				t.Errorf("sessions list = %+v; want user0 with 2 tokens, then user1", list)
			}
			var res struct {
				Cleared struct{ Deleted int64 }
				Users   []struct {
					User, Outcome string
					Ended         bool `json:"sessions_ended"`
				}
				RestartNeeded bool `json:"restart_needed"`
				Restart       string
			}
			c.env.run(t, "sessions", "revoke", "--target", tc.product, "--user", "user0", "--yes", "--output", "json").mustSucceed(t).decode(t, &res)
			if res.Cleared.Deleted != 2 || len(res.Users) != 1 || res.Users[0].Ended != tc.ended || !strings.Contains(res.Users[0].Outcome, tc.outcome) {
				t.Fatalf("revoke = %+v; want 2 deleted and user0 %q", res, tc.outcome)
			}
			if res.RestartNeeded == tc.ended || (res.RestartNeeded && !strings.Contains(res.Restart, "restart --target "+tc.product)) {
				t.Errorf("restart needed = %v (%q); want %v with the restart command", res.RestartNeeded, res.Restart, !tc.ended)
			}
			// Only the session cookie: the remember-me rows are gone either way.
			code, _ := restarttest.Replay(url, alice.SessionCookies()...)
			if want := map[bool]int{true: http.StatusUnauthorized, false: http.StatusOK}[tc.ended]; code != want {
				t.Errorf("user0's session after revoke: HTTP %d; want %d", code, want)
			}
			if code, _ := restarttest.Replay(url, alice2.RememberCookies()...); code != http.StatusUnauthorized {
				t.Errorf("user0's remember-me after revoke: HTTP %d; want 401", code)
			}
			if code, _ := bob.Get(url); code != http.StatusOK {
				t.Errorf("user1, not revoked: HTTP %d; want 200", code)
			}
		})
	}
}

// TestCrowdSessionsRevoke: on Crowd, `sessions revoke --user` deletes the users' SSO sessions
// and Crowd remember-me rows (with backups), then calls Crowd's "invalidate all tokens for a
// given user name" with an application's credentials, which ends them in Crowd's memory too.
// A wrong application password (401), a Crowd without the endpoint (405) and a Crowd that does
// not answer each say that a restart is needed; after the first refusal the other users are
// not tried. Whatever the endpoint does, every row deleted is in a backup.
func TestCrowdSessionsRevoke(t *testing.T) {
	app := secretscan.Register("crowd sessions: the application's password", "app-s3cret")
	wrong := secretscan.Register("crowd sessions: a wrong application password", "app-wrong")
	for _, tc := range []struct {
		name                string
		nodeAdmin, apiAdmin string
		unreachable         bool
		ended               bool
		outcome, second     string
	}{
		{"ended", app, app, false, true, "sessions ended", "sessions ended"},
		{"wrong application password: 401", app, wrong, false, false, "refused (HTTP 401): check the target's admin: user and password (an application's name and password, as registered in Crowd)", "not called: "},
		{"Crowd without the endpoint: 405", "", app, false, false, "not allowed (HTTP 405)", "not called: "},
		{"Crowd does not answer", app, app, true, false, "the call failed (", "the call failed ("},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, "crowd", clusterOpts{nodes: 1, nodeAdmin: tc.nodeAdmin, apiAdmin: tc.apiAdmin})
			url := c.nodes[0].cfg.URL()
			if tc.unreachable {
				// A port nothing listens on: connection refused.
				data, _ := os.ReadFile(c.env.config)
				closed := "http://" + restarttest.FreeAddr(t, "127.0.0.1") + "/crowd"
				os.WriteFile(c.env.config, []byte(strings.Replace(string(data), "base_url: "+url, "base_url: "+closed, 1)), 0o600)
			}
			var browsers []*restarttest.Browser
			for _, u := range []string{"user0", "user0", "user2", "user1"} {
				b := restarttest.NewBrowser(t, "crowd")
				b.Login(t, url, u, false)
				browsers = append(browsers, b)
			}
			pool := c.db.Open(t)
			// user0 and user1 also have a Crowd remember-me token each.
			c.db.Exec(t, `INSERT INTO cwd_remember_me_token (id, username, remote_address, token, series, created_date, used_date, directory_id)
				SELECT id, user_name, NULL, 'tok-' || user_name, 'series-' || user_name, created_date, NULL, directory_id FROM cwd_user WHERE lower_user_name IN ('user0', 'user1')`)
			rmBefore := producttest.Count(t, pool, "cwd_remember_me_token")

			var res struct {
				Cleared struct {
					Backup   string
					BackedUp int64 `json:"backed_up"`
					Deleted  int64
				}
				Parts []struct {
					Backup   string
					BackedUp int64 `json:"backed_up"`
					Deleted  int64
				}
				Users []struct {
					User, Outcome string
					Ended         bool `json:"sessions_ended"`
				}
				RestartNeeded bool `json:"restart_needed"`
			}
			r := c.env.run(t, "sessions", "revoke", "--target", "crowd", "--user", "user0", "--user", "user2", "--yes", "--output", "json").mustSucceed(t)
			r.decode(t, &res)
			if res.Cleared.Deleted != 3 || len(res.Users) != 2 || res.RestartNeeded == tc.ended {
				t.Fatalf("revoke = %+v; want user0's and user2's 3 SSO sessions deleted, restart needed %v", res, !tc.ended)
			}
			for i, want := range []string{tc.outcome, tc.second} {
				if u := res.Users[i]; u.Ended != tc.ended || !strings.Contains(u.Outcome, want) {
					t.Errorf("user %s: %+v; want %q (ended %v)", u.User, u, want, tc.ended)
				}
			}
			// Nothing deleted that is not backed up, whatever the endpoint did.
			if res.Cleared.BackedUp != res.Cleared.Deleted || len(res.Parts) != 1 || res.Parts[0].BackedUp != res.Parts[0].Deleted {
				t.Errorf("backed up and deleted differ: %+v", res)
			}
			if got := producttest.Count(t, pool, "cwd_remember_me_token"); rmBefore != 2 || got != 1 || res.Parts[0].Deleted != 1 {
				t.Errorf("remember-me rows: %d left of %d, %d deleted; want user0's deleted, user1's left", got, rmBefore, res.Parts[0].Deleted)
			}
			// The endpoint's work shows in the node's memory: only user1's token is left when
			// the calls went through.
			st, err := restarttest.State(url)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 1, false: 4}[tc.ended]; st.SSOTokens != want {
				t.Errorf("the Crowd node holds %d SSO tokens; want %d", st.SSOTokens, want)
			}
			if code, _ := browsers[3].Get(url); code != http.StatusOK {
				t.Errorf("user1, not revoked: HTTP %d; want 200", code)
			}
			if code, _ := restarttest.Replay(url, browsers[0].RememberCookies()...); code != http.StatusUnauthorized {
				t.Errorf("user0's SSO cookie after revoke: HTTP %d; want 401", code)
			}
			if strings.Contains(r.stdout+r.stderr, tc.apiAdmin) {
				t.Error("the application password is in the output")
			}
		})
	}
}
