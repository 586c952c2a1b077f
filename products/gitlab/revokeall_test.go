package gitlab_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/reauth/reauth/products/gitlab"
	"github.com/reauth/reauth/products/gitlab/gitlabtest"
)

// [5] RevokeAll leaves no session key of any user and no remember-me, leaves every
// non-session key exactly as it was, and deletes the session a request in flight writes back
// during the settle time. Its dry run counts the same and changes nothing.
func TestRevokeAll(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rdb := e.redis.Client
	formats := []gitlabtest.Format{gitlabtest.V2AndLegacy, gitlabtest.V2, gitlabtest.Legacy}
	sessions := 0
	for i := range 30 {
		uid := e.gl.AddUser(fmt.Sprintf("user%02d", i), gitlabtest.UserSpec{Remember: i%3 != 0})
		for j := range i % 4 {
			gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: uid, Format: formats[(i+j)%3], Impersonated: j == 2,
				Extra: map[string]any{"future": j}})
			sessions++
		}
		if i%5 == 0 {
			gitlabtest.WriteStale(t, rdb, uid)
		}
	}
	// Anonymous Rails sessions (no user signed in) are in the session namespace too.
	for i := range 4 {
		rdb.Set(ctx, gitlabtest.RackKey(gitlabtest.PrivateID(fmt.Sprint("anon", i))), gitlabtest.RackSession(t, gitlabtest.RackEntry61, 0, 0), time.Hour)
	}
	e.gl.AddUser("alice", gitlabtest.UserSpec{})
	e.gl.AddUser("bob", gitlabtest.UserSpec{})
	web := gitlabtest.NewWeb(t, rdb, e.gl.Pool)
	alice := web.Login(t, "alice", true)
	bob := web.Login(t, "bob", false)
	sessions += 2
	keep := gitlabtest.WriteNonSession(t, rdb)
	before := gitlabtest.Dump(t, rdb, e.allKeys(t)...)
	wantRemember := len(e.gl.WithRemember())
	sessionKeys := len(e.sessionKeys(t))

	dry, err := e.store.CountAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Users with a session: i%4 != 0 (22 of 30) or a stale id (i%5 == 0: 0,5,10,15,20,25;
	// of those 0 and 20 have no session), plus alice and bob.
	want := gitlab.AllRevoked{Users: 22 + 2 + 2, Sessions: sessions, RailsSessions: sessions + 4, Keys: sessionKeys, RememberCleared: wantRemember}
	if dry != want {
		t.Errorf("dry run = %+v; want %+v", dry, want)
	}
	if after := gitlabtest.Dump(t, rdb, e.allKeys(t)...); !sameDump(before, after) || len(e.gl.WithRemember()) != wantRemember {
		t.Error("the dry run changed something")
	}

	// Bob has a request in flight: it writes his session back during the settle time.
	finish := web.InFlight(t, bob...)
	type result struct {
		res gitlab.AllRevoked
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := e.store.RevokeAll(ctx, 1500*time.Millisecond)
		done <- result{res, err}
	}()
	rack := gitlabtest.RackKey(gitlabtest.PrivateID(cookie(bob, gitlabtest.SessionCookie).Value))
	for deadline := time.Now().Add(5 * time.Second); rdb.Exists(ctx, rack).Val() == 1; {
		if time.Now().After(deadline) {
			t.Fatal("bob's Rails session was not deleted within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if status := finish(); status != http.StatusOK || rdb.Exists(ctx, rack).Val() != 1 {
		t.Fatalf("the in-flight request (status %d) did not write bob's session back", status)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	// The write-back is the Rails session, the v2 and legacy records and the lookup set.
	if r.res.Rewritten != 4 {
		t.Errorf("Rewritten = %d; want 4 (the keys bob's request wrote back)", r.res.Rewritten)
	}
	want.Keys += 4
	want.Rewritten = 4
	if r.res != want {
		t.Errorf("RevokeAll = %+v; want %+v", r.res, want)
	}

	if left := e.sessionKeys(t); len(left) > 0 {
		t.Errorf("session keys left: %s", short(left))
	}
	if left := e.gl.WithRemember(); len(left) > 0 {
		t.Errorf("users with remember-me left: %v", left)
	}
	if after := gitlabtest.Dump(t, rdb, keep...); !sameDump(after, subset(before, keep)) {
		t.Error("non-session keys changed")
	}
	if n := len(e.allKeys(t)); n != len(keep) {
		t.Errorf("%d keys left; want only the %d non-session keys", n, len(keep))
	}
	for _, cs := range [][]*http.Cookie{alice, bob, {cookie(alice, gitlabtest.RememberCookie)}} {
		if r := web.Get(t, cs...); r.SignedIn() {
			t.Errorf("cookies %v still sign %s in", cs, r.Username)
		}
	}
	if v, err := e.store.Verify(ctx, nil, time.Now()); err != nil || !v.OK() || !v.All {
		t.Errorf("Verify(all) = %+v, %v; want OK", v, err)
	}
}

// Verify finds what a revocation by GitLab's method cannot: a Rails session whose record and
// lookup entry are gone still signs its browser in, and only its value says whose it is.
func TestVerifyFindsOrphanRailsSessions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rdb := e.redis.Client
	alice := e.gl.AddUser("alice", gitlabtest.UserSpec{})
	bob := e.gl.AddUser("bob", gitlabtest.UserSpec{})
	web := gitlabtest.NewWeb(t, rdb, e.gl.Pool)
	orphan := web.Login(t, "alice", false)
	// Lose the record and the lookup entry (as an eviction would), keep the Rails session.
	rdb.Del(ctx, gitlabtest.LookupKey(alice))
	for _, k := range e.redis.Keys(t, fmt.Sprintf("session:user:gitlab*:%d:*", alice)) {
		rdb.Del(ctx, k)
	}
	gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: alice})
	gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: bob})
	rdb.Set(ctx, gitlabtest.RackKey("2::junk"), "\x04\x08{\x06I\"\x0bbroken", 0)                            // unreadable
	rdb.Set(ctx, gitlabtest.RackKey("2::anon"), gitlabtest.RackSession(t, gitlabtest.RackEntry61, 0, 0), 0) // anonymous

	users := user(t, e, "alice")
	if _, err := e.store.Revoke(ctx, users, 0); err != nil {
		t.Fatal(err)
	}
	v, err := e.store.Verify(ctx, users, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantKey := gitlabtest.RackKey(gitlabtest.PrivateID(cookie(orphan, gitlabtest.SessionCookie).Value))
	if v.OK() || v.RailsSessions != 1 || v.Records != 0 || v.LookupIDs != 0 || v.Unreadable != 1 || len(v.Leftovers) != 2 ||
		v.Leftovers[0].Key != "session:gitlab:2::junk" && v.Leftovers[1].Key != "session:gitlab:2::junk" ||
		v.Leftovers[0].Key != wantKey && v.Leftovers[1].Key != wantKey {
		t.Errorf("Verify(alice) = %+v; want the orphaned Rails session %s and the unreadable value, each named", v, wantKey)
	}
	// (A request with it would also have GitLab write the record and lookup entry back.)
	if r := web.Get(t, orphan...); !r.SignedIn() {
		t.Error("the orphaned Rails session does not sign alice in: the test is not testing anything")
	}
}
