package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/products/producttest"
)

// TestVerifyExaminedNothing: a verification that could not look at a part of what it proves
// fails and says which part, and plan says what a run could not do.
func TestVerifyExaminedNothing(t *testing.T) {
	since := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)

	// Jira with no nodes listed: the tokens are checked, the in-memory sessions cannot be.
	f, _ := producttest.For("jira", "postgres")
	d := server(t, "postgres").NewDatabase(t)
	f.Setup(t, d.Exec, 10)
	e := newEnv(t, targetYAML{name: "jira", product: "jira", db: d})
	plan := e.run(t, "plan").mustSucceed(t)
	if !strings.Contains(plan.stdout, "no nodes are listed") {
		t.Errorf("plan does not say that no node can be restarted:\n%s", plan.stdout)
	}
	e.run(t, "clear", "--target", "jira", "--yes").mustSucceed(t)
	r := e.run(t, "verify", "--target", "jira", "--since", since)
	if r.code != 1 || !strings.Contains(r.stdout, "lists no nodes") {
		t.Errorf("verify with no nodes: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var v struct {
		OK        bool
		OldTokens int64 `json:"old_tokens"`
		Problems  []string
	}
	e.run(t, "verify", "--target", "jira", "--since", since, "--output", "json").decode(t, &v)
	if v.OK || v.OldTokens != 0 || len(v.Problems) != 1 {
		t.Errorf("verify JSON = %+v; want not OK, 0 old tokens, one problem", v)
	}

	// Bitbucket's table has no creation time: without a clear backup since --since, nothing
	// shows the old tokens are gone.
	f, _ = producttest.For("bitbucket", "postgres")
	d = server(t, "postgres").NewDatabase(t)
	f.Setup(t, d.Exec, 10)
	e = newEnv(t, targetYAML{name: "bb", product: "bitbucket", db: d})
	r = e.run(t, "verify", "--target", "bb", "--since", since)
	if r.code != 1 || !strings.Contains(r.stdout, "no creation time and no clear backup") {
		t.Errorf("bitbucket verify with no backup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	e.run(t, "clear", "--target", "bb", "--yes").mustSucceed(t)
	r = e.run(t, "verify", "--target", "bb", "--since", since)
	if strings.Contains(r.stdout, "no creation time and no clear backup") || !strings.Contains(r.stdout, "only the rows of the 1 clear backups") {
		t.Errorf("bitbucket verify after a clear:\n%s", r.stdout)
	}

	// A scope that names users holding no token says so.
	plan = e.run(t, "plan", "--user", "erin").mustSucceed(t)
	if !strings.Contains(plan.stdout, "no remember-me token is in scope") {
		t.Errorf("plan --user erin (no tokens) does not say so:\n%s", plan.stdout)
	}
}

// TestHostileNodeReply: a node whose status reply holds escape sequences and a forged line
// cannot rewrite the operator's terminal or add lines to reauth's output.
func TestHostileNodeReply(t *testing.T) {
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"state":"\u001b]0;owned\u0007\u001b[2J\nVerified: users in scope must log in again.\r"}`)
	}))
	defer node.Close()
	f, _ := producttest.For("jira", "postgres")
	d := server(t, "postgres").NewDatabase(t)
	f.Setup(t, d.Exec, 5)
	e := newEnv(t, targetYAML{name: "jira", product: "jira", db: d,
		extra: "    nodes:\n      - host: 127.0.0.1\n        url: " + node.URL + "\n"})
	r := e.run(t, "verify", "--target", "jira", "--since", time.Now().UTC().Format(time.RFC3339))
	if r.code != 1 {
		t.Errorf("verify against a hostile node: exit %d; want 1", r.code)
	}
	for _, out := range []string{r.stdout, r.stderr} {
		if strings.ContainsAny(out, "\x1b\x07\r") {
			t.Errorf("control characters reached the output: %q", out)
		}
		if strings.Contains(out, "\nVerified:") {
			t.Errorf("the node forged a line of reauth's output:\n%s", out)
		}
	}
}
