package gitlab_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/products/gitlab/gitlabtest"
)

// seedCmd is one write of the benchmark's data set.
type seedCmd struct {
	key, value string
	member     bool // SADD value to key, else SET key value
}

// benchData is 100,000 sessions of 20,000 users as GitLab writes them today (Rails session, v2
// and legacy records, lookup set entry), plus keys that share the Redis: anonymous per-IP
// lookup sets, OTP sessions, caches and queues. Ruby writes the Marshal values, in one batch
// before the benchmark starts: a user's sessions share one Rails session value (its CSRF token
// aside, GitLab's would be the same), each session has its own legacy record.
func benchData(tb testing.TB, users, perUser int) (cmds []seedCmd, ipKeys int) {
	now := time.Now().UTC()
	uids := make([]int64, users)
	var ss []gitlabtest.Session
	var pids []string
	for u := 1; u <= users; u++ {
		uids[u-1] = int64(u)
		for j := range perUser {
			s := gitlabtest.Session{UserID: int64(u), PublicID: fmt.Sprintf("%08x%08x%016x", u, j, u*7919+j),
				UpdatedAt: now.Add(-time.Duration(j) * time.Minute), SignedInAt: now.Add(-time.Hour)}
			ss = append(ss, s)
			pids = append(pids, gitlabtest.PrivateID(s.PublicID))
		}
	}
	rack := gitlabtest.RackSessions(tb, gitlabtest.RackEntry61, uids)
	legacy := gitlabtest.LegacyRecords(tb, ss, pids)
	for i, s := range ss {
		pid := pids[i]
		cmds = append(cmds,
			seedCmd{key: gitlabtest.RackKey(pid), value: string(rack[s.UserID-1])},
			seedCmd{key: gitlabtest.RecordKey(s.UserID, pid), value: gitlabtest.RecordV2(s, pid)},
			seedCmd{key: gitlabtest.LegacyKey(s.UserID, pid), value: string(legacy[i])},
			seedCmd{key: gitlabtest.LookupKey(s.UserID), value: pid, member: true})
	}
	for i := range users / 4 {
		cmds = append(cmds, seedCmd{key: fmt.Sprintf("session:lookup:ip:gitlab2:10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
			value: gitlabtest.PrivateID(strconv.Itoa(i)), member: true})
		ipKeys++
	}
	for i := range users / 20 {
		cmds = append(cmds, seedCmd{key: "session:otp:" + strconv.Itoa(i), value: "true"},
			seedCmd{key: "cache:gitlab:" + strconv.Itoa(i), value: "cached"})
	}
	return cmds, ipKeys
}

func seed(b *testing.B, rdb *redis.Client, cmds []seedCmd) {
	ctx := context.Background()
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		b.Fatal(err)
	}
	for start := 0; start < len(cmds); start += 10000 {
		pipe := rdb.Pipeline()
		for _, c := range cmds[start:min(start+10000, len(cmds))] {
			if c.member {
				pipe.SAdd(ctx, c.key, c.value)
			} else {
				pipe.Set(ctx, c.key, c.value, 7*24*time.Hour)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func count(b *testing.B, rdb *redis.Client, pattern string) int {
	n := 0
	iter := rdb.Scan(context.Background(), 0, pattern, 1000).Iterator()
	for iter.Next(context.Background()) {
		n++
	}
	if err := iter.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}

// [7] RevokeAll on 100,000 sessions of 20,000 users, against the naive shell one-liner
// (redis-cli --scan --pattern 'session:*gitlab*' | xargs redis-cli del) on identical data in
// the same run. The one-liner's pattern also matches the anonymous per-IP lookup sets
// (session:lookup:ip:gitlab2:*), which it deletes; RevokeAll leaves them, and also clears
// remember-me for the 20,000 users in PostgreSQL, which the one-liner does not do at all.
func BenchmarkRevokeAll(b *testing.B) {
	redisCLI := dbtest.Require(b, "redis-cli", "redis-tools")
	e := newEnv(b)
	ctx := context.Background()
	const users, perUser = 20000, 5
	if _, err := e.gl.Pool.Exec(`INSERT INTO users (id, username, email, projects_limit, state, user_type, remember_created_at)
		SELECT i, 'user' || i, 'user' || i || '@example.com', 100, 'active', 0, now() AT TIME ZONE 'UTC'
		FROM generate_series(1, $1) AS i`, users); err != nil {
		b.Fatal(err)
	}
	cmds, ipKeys := benchData(b, users, perUser)
	rdb := e.redis.Client
	srv := e.redis.Server
	naiveScript := fmt.Sprintf("%[1]s -h %[2]s -p %[3]d -n %[4]d --scan --pattern 'session:*gitlab*' | xargs %[1]s -h %[2]s -p %[3]d -n %[4]d del > /dev/null",
		redisCLI, "127.0.0.1", srv.Port, e.redis.Index)

	var ours, naive time.Duration
	var naiveIPDeleted int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		seed(b, rdb, cmds)
		if _, err := e.gl.Pool.Exec(`UPDATE users SET remember_created_at = now() AT TIME ZONE 'UTC'`); err != nil {
			b.Fatal(err)
		}
		sessionKeys := count(b, rdb, "session:*gitlab:*")
		b.StartTimer()
		t0 := time.Now()
		res, err := e.store.RevokeAll(ctx, 0)
		ours += time.Since(t0)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if res.Sessions != users*perUser || res.Users != users || res.RememberCleared != users {
			b.Fatalf("RevokeAll = %+v; want %d sessions of %d users", res, users*perUser, users)
		}
		if left := count(b, rdb, "session:*gitlab:*"); left != 0 || res.Keys != sessionKeys {
			b.Fatalf("RevokeAll left %d session keys, deleted %d of %d", left, res.Keys, sessionKeys)
		}
		if n := count(b, rdb, "session:lookup:ip:gitlab2:*"); n != ipKeys {
			b.Fatalf("RevokeAll touched the per-IP lookup sets: %d of %d left", n, ipKeys)
		}

		seed(b, rdb, cmds)
		cmd := exec.Command("sh", "-c", naiveScript)
		cmd.Env = append(os.Environ(), "REDISCLI_AUTH="+srv.Password)
		t0 = time.Now()
		out, err := cmd.CombinedOutput()
		naive += time.Since(t0)
		if err != nil {
			b.Fatalf("the one-liner: %v\n%s", err, out)
		}
		if left := count(b, rdb, "session:*gitlab:*"); left != 0 {
			b.Fatalf("the one-liner left %d session keys", left)
		}
		naiveIPDeleted += ipKeys - count(b, rdb, "session:lookup:ip:gitlab2:*")
	}
	n := float64(b.N)
	b.ReportMetric(ours.Seconds()/n, "revokeall-s")
	b.ReportMetric(naive.Seconds()/n, "oneliner-s")
	b.ReportMetric(ours.Seconds()/naive.Seconds(), "ratio")
	b.ReportMetric(float64(naiveIPDeleted)/n, "oneliner-ip-keys-deleted")
	b.Logf("%d sessions of %d users (%d keys, %d per-IP lookup sets): RevokeAll %v (also clears remember-me), one-liner %v, ratio %.2f; the one-liner deleted %d of %d per-IP lookup sets",
		users*perUser, users, len(cmds), ipKeys, (ours / time.Duration(b.N)).Round(time.Millisecond),
		(naive / time.Duration(b.N)).Round(time.Millisecond), ours.Seconds()/naive.Seconds(), naiveIPDeleted/b.N, ipKeys)
}
