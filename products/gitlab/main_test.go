package gitlab_test

import (
	"context"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/products/gitlab"
	"github.com/reauth/reauth/products/gitlab/gitlabtest"
)

func TestMain(m *testing.M) { os.Exit(gitlabtest.Main(m)) }

// env is one GitLab instance for one test: a private Redis database and a PostgreSQL database
// with GitLab's tables, and the Store that reauth connects to them (through OpenRedis and
// db.Open, as it does in production).
type env struct {
	store *gitlab.Store
	redis *gitlabtest.DB
	gl    *gitlabtest.GitLab
}

func newEnv(t testing.TB) *env {
	t.Helper()
	r := gitlabtest.Redis(t).NewDB(t)
	d := dbtest.Postgres(t).NewDatabase(t)
	gl := gitlabtest.Schema(t, d)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := gitlab.OpenRedis(ctx, r.URL(), r.Server.Password, 0, "")
	if err != nil {
		t.Fatalf("OpenRedis(%s): %v", r.URL(), err)
	}
	t.Cleanup(func() { client.Close() })
	return &env{store: &gitlab.Store{Redis: client, DB: d.OpenReauth(t)}, redis: r, gl: gl}
}

func user(t testing.TB, e *env, names ...string) []gitlab.User {
	t.Helper()
	us, err := e.store.Users(context.Background(), names)
	if err != nil {
		t.Fatal(err)
	}
	return us
}

// userKeys lists the user's session records and lookup set (Rails session keys are keyed by
// session id alone).
func (e *env) userKeys(t testing.TB, uid int64) []string {
	t.Helper()
	id := strconv.FormatInt(uid, 10)
	var out []string
	out = append(out, e.redis.Keys(t, "session:user:gitlab:"+id+":*")...)
	out = append(out, e.redis.Keys(t, "session:user:gitlab::v2:"+id+":*")...)
	out = append(out, e.redis.Keys(t, "session:lookup:user:gitlab:"+id)...)
	sort.Strings(out)
	return out
}

func (e *env) sessionKeys(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, p := range []string{"session:gitlab:*", "session:user:gitlab:*", "session:lookup:user:gitlab:*"} {
		out = append(out, e.redis.Keys(t, p)...)
	}
	sort.Strings(out)
	return out
}

func (e *env) allKeys(t testing.TB) []string { return e.redis.Keys(t, "*") }

func sameDump(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func short(keys []string) string {
	if len(keys) > 8 {
		return strings.Join(keys[:8], " ") + " ..."
	}
	return strings.Join(keys, " ")
}
