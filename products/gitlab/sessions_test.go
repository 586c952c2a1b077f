package gitlab_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/products/gitlab"
	"github.com/reauth/reauth/products/gitlab/gitlabtest"
)

// [1] Listing and revoking sessions in every format GitLab has written: v2 records with and
// without the legacy twin GitLab still writes, v2 records with fields this version does not
// know, legacy-only Marshal records, impersonated sessions, old entries keyed by their public
// id, records whose Rails session is gone, unreadable JSON, stale lookup ids, prefixed
// (Cells) session ids. Another user and the non-session keys stay exactly as they were.
func TestSessionsAndRevokeEveryFormat(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rdb := e.redis.Client
	alice := e.gl.AddUser("alice", gitlabtest.UserSpec{Remember: true})
	bob := e.gl.AddUser("bob", gitlabtest.UserSpec{Remember: true})
	now := time.Now().UTC().Truncate(time.Millisecond)
	signIn := now.Add(-48 * time.Hour)

	a1 := gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: alice, IP: "10.0.0.1", Browser: "Chrome",
		OS: "Mac OS X", DeviceType: "desktop", SignedInAt: signIn, UpdatedAt: now.Add(-time.Minute)})
	a2 := gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: alice, Format: gitlabtest.V2, AdminMode: true,
		DeviceName: "iPhone", DeviceType: "smartphone", UpdatedAt: now.Add(-time.Hour),
		Extra: map[string]any{"ip_address_v6": "2001:db8::5", "new_in_19": map[string]any{"x": []int{1, 2}}, "risk_score": 0.3}})
	a3 := gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: alice, Format: gitlabtest.Legacy, UpdatedAt: now.Add(-time.Minute)})
	a4 := gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: alice, Impersonated: true, UpdatedAt: now.Add(-2 * time.Hour)})
	a5 := gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: alice, Format: gitlabtest.V2, OldEntry: true, UpdatedAt: now.Add(-3 * time.Hour)})
	a6 := gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: alice, NoRack: true, UpdatedAt: now.Add(-4 * time.Hour)})
	a7 := gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: alice, Prefix: "cell-1-", UpdatedAt: now.Add(-5 * time.Hour)})
	// A v2 record whose JSON is damaged: fields unknown, but still revoked.
	bad := gitlabtest.PrivateID("feedfacefeedfacefeedfacefeedface")
	if err := rdb.Set(ctx, gitlabtest.RecordKey(alice, bad), "v2:{\"ip_address\":", 0).Err(); err != nil {
		t.Fatal(err)
	}
	rdb.Set(ctx, gitlabtest.RackKey(bad), gitlabtest.RackSession(t, gitlabtest.RackEntry61, alice, 0), 0)
	rdb.SAdd(ctx, gitlabtest.LookupKey(alice), bad)
	stale := gitlabtest.WriteStale(t, rdb, alice)

	b1 := gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: bob})
	b2 := gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: bob, Format: gitlabtest.Legacy})
	gitlabtest.WriteStale(t, rdb, bob)
	keep := gitlabtest.WriteNonSession(t, rdb)
	bobKeys := append(e.userKeys(t, bob), b1.RackKey, b2.RackKey)
	before := gitlabtest.Dump(t, rdb, e.allKeys(t)...)

	t.Run("list", func(t *testing.T) {
		sessions, gotStale, err := e.store.Sessions(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gotStale, []string{stale}) {
			t.Errorf("stale = %v; want [%s]", gotStale, stale)
		}
		// Newest activity first; unknown activity (legacy, unreadable) last.
		var order []string
		for _, s := range sessions {
			order = append(order, s.PrivateID)
		}
		wantKnown := []string{a1.PrivateID, a2.PrivateID, a4.PrivateID, a5.PrivateID, a6.PrivateID, a7.PrivateID}
		if len(order) != 8 || !slices.Equal(order[:6], wantKnown) ||
			!slices.Contains(order[6:], a3.PrivateID) || !slices.Contains(order[6:], bad) {
			t.Fatalf("sessions in order %v; want %v then the legacy and the unreadable one", order, wantKnown)
		}
		s1 := sessions[0]
		want1 := gitlab.Session{UserID: alice, PrivateID: a1.PrivateID, IP: "10.0.0.1", Browser: "Chrome", OS: "Mac OS X",
			DeviceType: "desktop", CreatedAt: signIn, UpdatedAt: now.Add(-time.Minute)}
		if !sameSession(s1, want1) {
			t.Errorf("v2 session = %+v; want %+v", s1, want1)
		}
		s2 := sessions[1]
		if !s2.AdminMode || s2.DeviceName != "iPhone" || s2.DeviceType != "smartphone" || s2.Legacy || s2.Unreadable ||
			!s2.UpdatedAt.Equal(now.Add(-time.Hour)) {
			t.Errorf("v2 session with unknown fields = %+v", s2)
		}
		if s := sessions[2]; !s.Impersonated {
			t.Errorf("impersonated session read as %+v", s)
		}
		if s := sessions[3]; s.SessionID != a5.PublicID {
			t.Errorf("old entry's session_id = %q; want the public id %q", s.SessionID, a5.PublicID)
		}
		for _, s := range sessions[6:] {
			switch s.PrivateID {
			case a3.PrivateID:
				if !s.Legacy || s.IP != "" || !s.UpdatedAt.IsZero() {
					t.Errorf("legacy session = %+v; want Legacy with unknown fields", s)
				}
			case bad:
				if !s.Unreadable || s.Legacy {
					t.Errorf("damaged v2 session = %+v; want Unreadable", s)
				}
			}
		}
		if after := gitlabtest.Dump(t, rdb, e.allKeys(t)...); !sameDump(before, after) {
			t.Error("listing changed Redis")
		}
	})

	t.Run("dry run", func(t *testing.T) {
		got, err := e.store.CountRevoke(ctx, user(t, e, "alice"))
		if err != nil {
			t.Fatal(err)
		}
		want := []gitlab.Revoked{{UserID: alice, Username: "alice", Sessions: 8, Legacy: 1, Impersonated: 1, Stale: 1, RememberCleared: true}}
		if !slices.Equal(got, want) {
			t.Errorf("dry run = %+v; want %+v", got, want)
		}
		if after := gitlabtest.Dump(t, rdb, e.allKeys(t)...); !sameDump(before, after) {
			t.Error("the dry run changed Redis")
		}
		if e.gl.RememberCreatedAt(alice) == nil {
			t.Error("the dry run cleared remember-me")
		}
	})

	t.Run("revoke", func(t *testing.T) {
		got, err := e.store.Revoke(ctx, user(t, e, "alice"), 0)
		if err != nil {
			t.Fatal(err)
		}
		want := []gitlab.Revoked{{UserID: alice, Username: "alice", Sessions: 8, Legacy: 1, Impersonated: 1, Stale: 1, RememberCleared: true}}
		if !slices.Equal(got, want) {
			t.Errorf("Revoke = %+v; want %+v", got, want)
		}
		if left := e.userKeys(t, alice); len(left) > 0 {
			t.Errorf("alice's keys left: %s", short(left))
		}
		for _, w := range []gitlabtest.Written{a1, a2, a3, a4, a5, a6, a7} {
			for _, k := range w.Keys {
				if n := rdb.Exists(ctx, k).Val(); n != 0 {
					t.Errorf("%s: key %s left", w, k)
				}
			}
		}
		if n := rdb.Exists(ctx, gitlabtest.RackKey(bad)).Val(); n != 0 {
			t.Error("the damaged record's Rails session is left")
		}
		if e.gl.RememberCreatedAt(alice) != nil {
			t.Error("alice's remember_created_at is still set")
		}
		// Bob and the non-session keys: exactly as before.
		if after := gitlabtest.Dump(t, rdb, append(bobKeys, keep...)...); !sameDump(after, subset(before, append(bobKeys, keep...))) {
			t.Error("bob's sessions or the non-session keys changed")
		}
		if e.gl.RememberCreatedAt(bob) == nil {
			t.Error("bob lost remember-me")
		}
		v, err := e.store.Verify(ctx, user(t, e, "alice"), time.Now())
		if err != nil || !v.OK() {
			t.Errorf("Verify(alice) = %+v, %v; want OK", v, err)
		}
		v, err = e.store.Verify(ctx, user(t, e, "bob"), time.Now())
		if err != nil || v.OK() || v.Records != 3 || v.LookupIDs != 3 || v.RailsSessions != 2 || v.Remember != 1 {
			t.Errorf("Verify(bob) = %+v, %v; want 3 records, 3 lookup ids, 2 Rails sessions, remember-me", v, err)
		}
	})

	t.Run("unknown user", func(t *testing.T) {
		_, err := e.store.Users(ctx, []string{"Alice", "nobody", "ghost"})
		if !errors.Is(err, gitlab.ErrUnknownUser) || !contains(err.Error(), `"nobody"`, `"ghost"`) || contains(err.Error(), "alice") {
			t.Errorf("Users(Alice, nobody, ghost) error = %v; want ErrUnknownUser naming nobody and ghost", err)
		}
		us, err := e.store.Users(ctx, []string{"BOB", "alice", "bob"})
		if err != nil || len(us) != 2 || us[0].ID != bob || us[1].ID != alice {
			t.Errorf("Users(BOB, alice, bob) = %+v, %v; want bob then alice, once each", us, err)
		}
	})
}

func sameSession(a, b gitlab.Session) bool {
	return a.UserID == b.UserID && a.PrivateID == b.PrivateID && a.IP == b.IP && a.Browser == b.Browser &&
		a.OS == b.OS && a.DeviceName == b.DeviceName && a.DeviceType == b.DeviceType &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt) && a.Impersonated == b.Impersonated &&
		a.AdminMode == b.AdminMode && a.Legacy == b.Legacy && a.Unreadable == b.Unreadable && a.SessionID == b.SessionID
}

func subset(m map[string]string, keys []string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
