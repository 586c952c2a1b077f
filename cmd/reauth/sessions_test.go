package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/reauth/reauth/internal/secretscan"
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
