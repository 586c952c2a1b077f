package gitlab_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/reauth/reauth/products/gitlab"
	"github.com/reauth/reauth/products/gitlab/gitlabtest"
)

// [4] GitLab's cap on demand: a user with 105 sessions keeps exactly the 100 most recently
// active (written in random order), the 5 others lose every key; a user under the cap and
// remember-me are untouched; stale ids go. Legacy records, whose activity is unknown, go
// first; an age limit removes what has been idle too long.
func TestPrune(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rdb := e.redis.Client
	heavy := e.gl.AddUser("heavy", gitlabtest.UserSpec{Remember: true})
	light := e.gl.AddUser("light", gitlabtest.UserSpec{Remember: true})
	base := time.Now().UTC().Add(-200 * time.Hour).Truncate(time.Millisecond)

	order := rand.Perm(105)
	written := make([]gitlabtest.Written, 105)
	for _, i := range order {
		written[i] = gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: heavy, UpdatedAt: base.Add(time.Duration(i) * time.Minute),
			Format: []gitlabtest.Format{gitlabtest.V2AndLegacy, gitlabtest.V2}[i%2]})
	}
	stale := gitlabtest.WriteStale(t, rdb, heavy)
	var lightKeys []string
	for range 3 {
		lightKeys = append(lightKeys, gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: light}).Keys...)
	}
	keep := gitlabtest.WriteNonSession(t, rdb)
	before := gitlabtest.Dump(t, rdb, e.allKeys(t)...)

	dry, err := e.store.CountPrune(ctx, nil, 100, 0)
	want := []gitlab.Revoked{{UserID: heavy, Username: "heavy", Sessions: 5, Stale: 1}}
	if err != nil || !slices.Equal(dry, want) {
		t.Errorf("dry-run Prune(all, 100) = %+v, %v; want %+v", dry, err, want)
	}
	if after := gitlabtest.Dump(t, rdb, e.allKeys(t)...); !sameDump(before, after) {
		t.Error("the dry run changed Redis")
	}

	got, err := e.store.Prune(ctx, nil, 100, 0)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Prune(all, 100) = %+v, %v; want %+v", got, err, want)
	}
	sessions, gotStale, err := e.store.Sessions(ctx, heavy)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, s := range sessions {
		kept = append(kept, s.PrivateID)
	}
	var wantKept []string
	for i := 104; i >= 5; i-- {
		wantKept = append(wantKept, written[i].PrivateID)
	}
	if !slices.Equal(kept, wantKept) {
		t.Errorf("kept %d sessions; want the 100 most recently active (%d..104), newest first", len(kept), 5)
	}
	if len(gotStale) != 0 || rdb.SIsMember(ctx, gitlabtest.LookupKey(heavy), stale).Val() {
		t.Errorf("stale id left: %v", gotStale)
	}
	for i := range 5 {
		for _, k := range written[i].Keys {
			if rdb.Exists(ctx, k).Val() != 0 {
				t.Errorf("pruned session %d: key %s left", i, k)
			}
		}
	}
	for i := 5; i < 105; i++ {
		if after := gitlabtest.Dump(t, rdb, written[i].Keys...); !sameDump(after, subset(before, written[i].Keys)) {
			t.Errorf("kept session %d changed", i)
		}
	}
	if after := gitlabtest.Dump(t, rdb, append(lightKeys, keep...)...); !sameDump(after, subset(before, append(lightKeys, keep...))) {
		t.Error("the user under the cap or the non-session keys changed")
	}
	if e.gl.RememberCreatedAt(heavy) == nil || e.gl.RememberCreatedAt(light) == nil {
		t.Error("Prune cleared remember-me")
	}

	t.Run("legacy first, then by age", func(t *testing.T) {
		u := e.gl.AddUser("mixed", gitlabtest.UserSpec{})
		now := time.Now().UTC()
		recent := gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: u, UpdatedAt: now.Add(-time.Hour)})
		old := gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: u, UpdatedAt: now.Add(-10 * 24 * time.Hour)})
		legacy := gitlabtest.WriteSession(t, rdb, gitlabtest.Session{UserID: u, Format: gitlabtest.Legacy})
		users := user(t, e, "mixed")
		got, err := e.store.Prune(ctx, users, 2, 0)
		if err != nil || len(got) != 1 || got[0].Sessions != 1 || got[0].Legacy != 1 {
			t.Errorf("Prune(mixed, 2) = %+v, %v; want the legacy session pruned", got, err)
		}
		got, err = e.store.Prune(ctx, users, 0, 7*24*time.Hour)
		if err != nil || len(got) != 1 || got[0].Sessions != 1 {
			t.Errorf("Prune(mixed, older than 7d) = %+v, %v; want the 10-day-old session pruned", got, err)
		}
		left := e.userKeys(t, u)
		sort.Strings(left)
		want := []string{gitlabtest.LegacyKey(u, recent.PrivateID), gitlabtest.RecordKey(u, recent.PrivateID), gitlabtest.LookupKey(u)}
		sort.Strings(want)
		if !slices.Equal(left, want) {
			t.Errorf("left %v; want only the recent session's", left)
		}
		for _, w := range []gitlabtest.Written{old, legacy} {
			if rdb.Exists(ctx, w.RackKey).Val() != 0 {
				t.Errorf("%s: Rails session left", w)
			}
		}
		if _, err := e.store.Prune(ctx, users, 0, 0); err == nil {
			t.Error("Prune with neither a cap nor an age: no error")
		}
	})
}
