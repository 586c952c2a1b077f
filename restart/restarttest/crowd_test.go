package restarttest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/products/producttest"
	"github.com/reauth/reauth/restart/restarttest"
)

// TestCrowdSSOSimnode runs a Crowd cluster of two nodes and a Jira node that signs users in
// through it. Every Crowd login sets the SSO cookie, a row of cwd_token; the cookie opens a
// session on either Crowd node and on Jira, which asks Crowd, and stops doing so once its row
// is deleted or the Crowd node that issued it restarts. Jira's own session outlives both.
func TestCrowdSSOSimnode(t *testing.T) {
	t.Parallel()
	bin := restarttest.BuildSimnode(t)
	srv := dbtest.Postgres(t)
	crowdDB, jiraDB := srv.NewDatabase(t), srv.NewDatabase(t)
	cf, _ := producttest.For("crowd", "postgres")
	jf, _ := producttest.For("jira", "postgres")
	cf.Setup(t, crowdDB.Exec, 0)
	cf.SeedApplicationSessions(t, crowdDB.Exec)
	jf.Setup(t, jiraDB.Exec, 0)
	pool := crowdDB.Open(t)
	dir := t.TempDir()

	c1 := nodeConfig(t, "crowd", "crowd1", "127.0.0.2", dir)
	c2 := nodeConfig(t, "crowd", "crowd2", "127.0.0.3", dir)
	c1.DB = restarttest.WriteDSN(t, dir, crowdDB)
	c2.DB = c1.DB
	c1.Peers, c2.Peers = []string{c2.URL()}, []string{c1.URL()}
	j1 := nodeConfig(t, "jira", "jira1", "127.0.0.4", dir)
	j1.DB = restarttest.WriteDSN(t, dir, jiraDB)
	j1.SSOVia = []string{c1.URL(), c2.URL()}
	crowd1 := restarttest.StartNode(t, bin, dir, c1)
	crowd2 := restarttest.StartNode(t, bin, dir, c2)
	jira := restarttest.StartNode(t, bin, dir, j1)
	for _, n := range []*restarttest.Node{crowd1, crowd2, jira} {
		restarttest.WaitState(t, n.URL(), "RUNNING", 15*time.Second)
	}

	// Crowd answers its probe below its context path, as reauth's probe expects.
	if o, err := probe(t, "crowd", crowd1.URL()); err != nil || o != (observation{200, "RUNNING"}) {
		t.Errorf("crowd probe %+v, %v; want 200 RUNNING", o, err)
	}
	if !strings.HasSuffix(crowd1.URL(), "/crowd") {
		t.Errorf("crowd URL %s lacks the context path", crowd1.URL())
	}
	if resp, err := http.Get("http://" + c1.Listen + "/status"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /status outside /crowd: %v, %v; want 404", resp, err)
	} else {
		resp.Body.Close()
	}

	// A login without remember-me still sets the SSO cookie: a row with the user's directory
	// (alice is in directories 1 and 2) and name, the cookie its random_hash.
	alice := login(t, crowd1, "alice", false)
	var dir1 int64
	var entity string
	if err := pool.QueryRowContext(context.Background(), "SELECT directory_id, entity_name FROM cwd_token WHERE random_hash = $1",
		alice.Value).Scan(&dir1, &entity); err != nil {
		t.Fatalf("no cwd_token row for alice's cookie: %v", err)
	}
	if dir1 != 1 || entity != "alice" {
		t.Errorf("alice's row: directory %d, entity_name %q; want 1, alice", dir1, entity)
	}

	// The cookie alone signs alice in on both Crowd nodes, and on Jira by asking Crowd.
	accepted := func(what string, c *http.Cookie, want int, nodes ...*restarttest.Node) {
		t.Helper()
		for _, n := range nodes {
			if code, err := restarttest.Replay(n.URL(), c); err != nil || code != want {
				t.Errorf("%s on %s: HTTP %d, %v; want %d", what, n.Config.Node, code, err, want)
			}
		}
	}
	accepted("alice's SSO cookie", alice, 200, crowd1, crowd2, jira)
	jb := restarttest.NewBrowser(t, "jira")
	jb.AddCookies(alice)
	page(t, jb, jira.URL(), 200, "hello alice from jira1")
	if len(jb.SessionCookies()) != 1 {
		t.Fatalf("Jira opened no session for alice's SSO cookie")
	}
	accepted("a forged SSO cookie", &http.Cookie{Name: "crowd.token_key", Value: "0123456789abcdef0123456789abcdef"}, 401, crowd1, crowd2, jira)
	// An application's session (directory_id -1) is no user's cookie.
	var app string
	if err := pool.QueryRowContext(context.Background(), "SELECT random_hash FROM cwd_token WHERE directory_id = -1 LIMIT 1").Scan(&app); err != nil {
		t.Fatal(err)
	}
	accepted("an application's token", &http.Cookie{Name: "crowd.token_key", Value: app}, 401, crowd1, crowd2, jira)

	// Crowd's REST validation, as Jira calls it.
	if code, body := validate(t, crowd2.URL(), alice.Value); code != 200 || !strings.Contains(body, `"name":"alice"`) {
		t.Errorf("validate alice's token: HTTP %d %s; want 200 with user alice", code, body)
	}
	if code, body := validate(t, crowd2.URL(), "nope"); code != 404 || !strings.Contains(body, "INVALID_SSO_TOKEN") {
		t.Errorf("validate an unknown token: HTTP %d %s; want 404 INVALID_SSO_TOKEN", code, body)
	}

	// Its row deleted, a token is worthless though its node still holds it.
	bob := login(t, crowd1, "bob", false)
	accepted("bob's SSO cookie", bob, 200, crowd1, crowd2, jira)
	crowdDB.Exec(t, "DELETE FROM cwd_token WHERE entity_name = 'bob' AND directory_id <> -1")
	accepted("bob's SSO cookie without its row", bob, 401, crowd1, crowd2, jira)

	// The node that issued a token restarted: its memory is gone, and with it the token, on
	// every node, though the row is still there. Tokens of the other node live on.
	dave := login(t, crowd1, "dave", true)
	carol := login(t, crowd2, "carol", false)
	crowd1.Stop(t)
	crowd1 = restarttest.StartNode(t, bin, dir, c1)
	if info := restarttest.WaitState(t, crowd1.URL(), "RUNNING", 15*time.Second); info.SSOTokens != 0 {
		t.Errorf("a restarted Crowd node holds %d SSO tokens; want none", info.SSOTokens)
	}
	var rows int
	if err := pool.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM cwd_token WHERE random_hash = $1", dave.Value).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("dave's row: %d, %v; want it still there", rows, err)
	}
	accepted("dave's SSO cookie after its node's restart", dave, 401, crowd1, crowd2, jira)
	accepted("alice's SSO cookie after its node's restart", alice, 401, crowd1, crowd2, jira)
	accepted("carol's SSO cookie, issued by the node that kept running", carol, 200, crowd1, crowd2, jira)

	// Jira's own session is Jira's: neither Crowd's restart nor the rows end it.
	page(t, jb, jira.URL(), 200, "hello alice from jira1")

	// With no Crowd node answering, Jira cannot judge a token, and says so.
	crowd1.Stop(t)
	crowd2.Stop(t)
	if code, err := restarttest.Replay(jira.URL(), carol); err != nil || code != http.StatusServiceUnavailable {
		t.Errorf("SSO cookie with Crowd down: HTTP %d, %v; want 503", code, err)
	}
	jira.Stop(t)
}

// login logs user in on a Crowd node and returns the SSO cookie it set.
func login(t *testing.T, n *restarttest.Node, user string, remember bool) *http.Cookie {
	t.Helper()
	b := restarttest.NewBrowser(t, "crowd")
	b.Login(t, n.URL(), user, remember)
	sso := b.RememberCookies()
	if len(sso) != 1 {
		t.Fatalf("login of %s on %s set no SSO cookie", user, n.Config.Node)
	}
	return sso[0]
}

// validate calls Crowd's REST validation of a token.
func validate(t *testing.T, crowdURL, token string) (int, string) {
	t.Helper()
	resp, err := http.Post(crowdURL+"/rest/usermanagement/1/session/"+token, "application/json", strings.NewReader(`{"validationFactors":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("validation reply is not JSON: %q", body)
	}
	return resp.StatusCode, string(body)
}
