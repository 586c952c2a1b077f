package gitlab_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/reauth/reauth/products/gitlab"
	"github.com/reauth/reauth/products/gitlab/gitlabtest"
)

// The leftovers Verify lists are bounded, while its counts stay whole; a scope that holds no
// user examined nothing and fails.
func TestVerifyBoundsLeftovers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.gl.AddUser("alice", gitlabtest.UserSpec{})
	ids := make([]any, gitlab.MaxLeftovers+50)
	for i := range ids {
		ids[i] = gitlabtest.PrivateID(fmt.Sprint("stale", i))
	}
	e.redis.Client.SAdd(ctx, gitlabtest.LookupKey(alice), ids...)
	v, err := e.store.Verify(ctx, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if v.OK() || v.LookupIDs != len(ids) || v.Left() != len(ids) || len(v.Leftovers) != gitlab.MaxLeftovers {
		t.Errorf("Verify = %d lookup ids, %d listed; want %d counted, %d listed", v.LookupIDs, len(v.Leftovers), len(ids), gitlab.MaxLeftovers)
	}
	if v, err := e.store.Verify(ctx, []gitlab.User{}, time.Now()); err != nil || v.OK() {
		t.Errorf("Verify(no users) = %+v, %v; want not OK: nothing was examined", v, err)
	}
}
