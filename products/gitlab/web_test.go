package gitlab_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/reauth/reauth/products/gitlab/gitlabtest"
)

func cookie(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// [3] Through a simulated GitLab node: after revoking alice and bob, every session cookie and
// every remember-me cookie they had is refused, alone or together, including a session that a
// request in flight wrote back during the settle time; carol and dave still get in with
// theirs. A new sign-in works again, and alice's old remember-me cookie stays refused even
// after she ticks "remember me" again.
func TestWebRejectsRevokedCookies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		e.gl.AddUser(name, gitlabtest.UserSpec{})
	}
	web := gitlabtest.NewWeb(t, e.redis.Client, e.gl.Pool)
	web.Prefix = "cell-1-"

	type browser struct {
		user    string
		cookies []*http.Cookie
	}
	var browsers []browser
	login := func(name string, remember bool) browser {
		b := browser{name, web.Login(t, name, remember)}
		if c := cookie(b.cookies, gitlabtest.SessionCookie); c == nil || len(c.Value) != len("cell-1-")+32 {
			t.Fatalf("sign-in of %s set no prefixed session cookie: %v", name, b.cookies)
		}
		if remember != (cookie(b.cookies, gitlabtest.RememberCookie) != nil) {
			t.Fatalf("sign-in of %s (remember %v) set cookies %v", name, remember, b.cookies)
		}
		browsers = append(browsers, b)
		return b
	}
	login("alice", true)
	login("alice", true)
	aliceSlow := login("alice", false)
	login("bob", true)
	login("carol", true)
	login("carol", false)
	login("dave", true)

	// Every cookie works before the revocation: sessions through Redis, remember-me cookies
	// alone through remember_created_at.
	check := func(b browser, names []string, wantIn bool) {
		t.Helper()
		var cs []*http.Cookie
		for _, n := range names {
			if c := cookie(b.cookies, n); c != nil {
				cs = append(cs, c)
			}
		}
		if len(cs) != len(names) {
			return // this browser has no such cookie
		}
		r := web.Get(t, cs...)
		if r.SignedIn() != wantIn || (wantIn && r.Username != b.user) {
			t.Errorf("%s with %v: status %d as %q; want signed in = %v", b.user, names, r.Status, r.Username, wantIn)
		}
	}
	combos := [][]string{{gitlabtest.SessionCookie}, {gitlabtest.RememberCookie}, {gitlabtest.SessionCookie, gitlabtest.RememberCookie}}
	for _, b := range browsers {
		for _, names := range combos {
			check(b, names, true)
		}
	}

	// A request of alice's is in flight while she is revoked: it writes her session back
	// during the settle time.
	finish := web.InFlight(t, aliceSlow.cookies...)
	users := user(t, e, "alice", "bob")
	since := time.Now()
	type result struct {
		err error
		n   int
	}
	done := make(chan result, 1)
	go func() {
		res, err := e.store.Revoke(ctx, users, 1500*time.Millisecond)
		n := 0
		for _, r := range res {
			n += r.Rewritten
		}
		done <- result{err, n}
	}()
	rack := gitlabtest.RackKey(gitlabtest.PrivateID(cookie(aliceSlow.cookies, gitlabtest.SessionCookie).Value))
	for deadline := time.Now().Add(5 * time.Second); e.redis.Client.Exists(ctx, rack).Val() == 1; {
		if time.Now().After(deadline) {
			t.Fatal("alice's Rails session was not deleted within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if status := finish(); status != http.StatusOK {
		t.Fatalf("in-flight request: %d", status)
	}
	if e.redis.Client.Exists(ctx, rack).Val() != 1 {
		t.Fatal("the in-flight request did not write alice's session back")
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.n < 1 {
		t.Errorf("Revoke counted %d rewritten sessions; want the one written back", r.n)
	}

	for _, b := range browsers {
		revoked := b.user == "alice" || b.user == "bob"
		for _, names := range combos {
			check(b, names, !revoked)
		}
	}
	if v, err := e.store.Verify(ctx, users, since); err != nil || !v.OK() {
		t.Errorf("Verify(alice, bob) = %+v, %v; want OK", v, err)
	}

	// Alice signs in again, with remember-me: the new cookies work, the old remember-me
	// cookie (generated before the new remember_created_at) does not.
	fresh := login("alice", true)
	for _, names := range combos {
		check(fresh, names, true)
	}
	for _, b := range browsers[:2] {
		check(b, []string{gitlabtest.RememberCookie}, false)
	}
}
