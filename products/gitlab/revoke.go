package gitlab

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Revoked is what revoking (or pruning) did, or in a dry run would do, to one user.
type Revoked struct {
	UserID   int64
	Username string
	// Sessions is the number of sessions destroyed (or to destroy); Legacy and Impersonated
	// count those among them in the legacy record format and the impersonated ones.
	Sessions     int
	Legacy       int
	Impersonated int
	// Stale is the number of lookup set ids that had no session record left.
	Stale int
	// RememberCleared: the user's remember_created_at was set and has been cleared, which
	// makes every remember-me cookie of theirs invalid.
	RememberCleared bool
	// Rewritten counts what in-flight requests wrote back and the pass after the settle
	// time deleted: session ids whose keys had reappeared or that had newly appeared in the
	// lookup set, and a remember_created_at set again.
	Rewritten int
}

// The statements GitLab's invalidate_all_remember_tokens! and the documented console recipe
// run. They run with the session time zone set to UTC: users.remember_created_at and
// updated_at are timestamp without time zone holding UTC, as Rails writes them.
const (
	clearRememberSQL    = "UPDATE users SET remember_created_at = NULL, updated_at = NOW() WHERE id = ANY($1)"
	clearAllRememberSQL = "UPDATE users SET remember_created_at = NULL, updated_at = NOW() WHERE remember_created_at IS NOT NULL"
	// The pass after the settle time touches only rows that were set again meanwhile.
	reclearRememberSQL = "UPDATE users SET remember_created_at = NULL, updated_at = NOW() WHERE id = ANY($1) AND remember_created_at IS NOT NULL RETURNING id"
)

// CountRevoke says what Revoke would destroy, and changes nothing.
func (s *Store) CountRevoke(ctx context.Context, users []User) ([]Revoked, error) {
	out, index, ids, _, err := s.listRevoke(ctx, users)
	if err != nil || len(ids) == 0 {
		return out, err
	}
	had, err := s.rememberSet(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range had {
		out[index[id]].RememberCleared = true
	}
	return out, nil
}

// listRevoke lists the users' sessions, with a result per user (sorted by id) counting them.
func (s *Store) listRevoke(ctx context.Context, users []User) (out []Revoked, index map[int64]int, ids []int64, ls map[int64]*listing, err error) {
	ids = sortedIDs(users)
	names := map[int64]string{}
	for _, u := range users {
		names[u.ID] = u.Username
	}
	if ls, err = s.list(ctx, ids); err != nil {
		return nil, nil, nil, nil, err
	}
	out = make([]Revoked, len(ids))
	index = map[int64]int{}
	for i, id := range ids {
		index[id] = i
		l := ls[id]
		r := Revoked{UserID: id, Username: names[id], Sessions: len(l.sessions), Stale: len(l.stale)}
		for _, sess := range l.sessions {
			if sess.Legacy {
				r.Legacy++
			}
			if sess.Impersonated {
				r.Impersonated++
			}
		}
		out[i] = r
	}
	return out, index, ids, ls, nil
}

// Revoke destroys every session of the users (impersonated ones too) and their remember-me,
// in GitLab's order: remember_created_at is cleared first, in one statement for all users, so
// that no remember cookie can sign a browser back in while the sessions go; then, per user,
// the listed ids are removed from the lookup set and their v2, legacy and Rails session keys
// deleted (pipelined, as ActiveSession.destroy_sessions does); then, after settle, whatever a
// request that was in flight wrote back is deleted too, and counted in Rewritten.
func (s *Store) Revoke(ctx context.Context, users []User, settle time.Duration) ([]Revoked, error) {
	out, index, ids, ls, err := s.listRevoke(ctx, users)
	if err != nil || len(ids) == 0 {
		return out, err
	}
	cleared, err := s.clearRemember(ctx, ids)
	if err != nil {
		return out, err
	}
	for _, id := range cleared {
		out[index[id]].RememberCleared = true
	}

	destroyed := map[int64][]string{}
	for _, id := range ids {
		destroyed[id] = ls[id].destroyIDs()
	}
	if err := s.destroy(ctx, destroyed); err != nil {
		return out, err
	}

	if err := sleep(ctx, settle); err != nil {
		return out, err
	}
	rewritten, err := s.sweepUsers(ctx, destroyed)
	if err != nil {
		return out, err
	}
	for id, n := range rewritten {
		out[index[id]].Rewritten += n
	}
	again, err := s.reclearRemember(ctx, ids)
	if err != nil {
		return out, err
	}
	for _, id := range again {
		out[index[id]].Rewritten++
	}
	return out, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// inUTC runs f in a transaction whose session time zone is UTC.
func (s *Store) inUTC(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL TIME ZONE 'UTC'"); err != nil {
		return err
	}
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func queryIDs(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// rememberSet returns which of the users have remember_created_at set.
func (s *Store) rememberSet(ctx context.Context, ids []int64) ([]int64, error) {
	had, err := queryIDs(ctx, s.DB, "SELECT id FROM users WHERE id = ANY($1) AND remember_created_at IS NOT NULL ORDER BY id", ids)
	if err != nil {
		return nil, fmt.Errorf("gitlab: reading remember-me: %w", err)
	}
	return had, nil
}

// clearRemember runs GitLab's statement for the users and returns those whose
// remember_created_at it cleared (read, locked, in the same transaction).
func (s *Store) clearRemember(ctx context.Context, ids []int64) ([]int64, error) {
	var had []int64
	err := s.inUTC(ctx, func(tx *sql.Tx) error {
		var err error
		had, err = queryIDs(ctx, tx, "SELECT id FROM users WHERE id = ANY($1) AND remember_created_at IS NOT NULL ORDER BY id FOR UPDATE", ids)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, clearRememberSQL, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("gitlab: clearing remember-me (users.remember_created_at): %w", err)
	}
	return had, nil
}

func (s *Store) reclearRemember(ctx context.Context, ids []int64) ([]int64, error) {
	var again []int64
	err := s.inUTC(ctx, func(tx *sql.Tx) error {
		var err error
		again, err = queryIDs(ctx, tx, reclearRememberSQL, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("gitlab: clearing remember-me again after the settle time: %w", err)
	}
	return again, nil
}

// destroy runs GitLab's destroy_sessions for each user's ids: SREM the ids from the lookup
// set, DEL the v2 and legacy record keys, DEL the Rails session keys. Users are pipelined
// together, in rounds of bounded size.
func (s *Store) destroy(ctx context.Context, ids map[int64][]string) error {
	users := make([]int64, 0, len(ids))
	for uid := range ids {
		users = append(users, uid)
	}
	sort.Slice(users, func(i, j int) bool { return users[i] < users[j] })
	pipe := s.Redis.Pipeline()
	queued := 0
	flush := func() error {
		if queued == 0 {
			return nil
		}
		queued = 0
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("gitlab: deleting sessions: %w", err)
		}
		return nil
	}
	for _, uid := range users {
		all := ids[uid]
		for start := 0; start < len(all); start += keyBatch / 2 {
			chunk := all[start:min(start+keyBatch/2, len(all))]
			members := make([]any, len(chunk))
			records := make([]string, 0, 2*len(chunk))
			racks := make([]string, 0, len(chunk))
			for i, id := range chunk {
				members[i] = id
				k := sessionKeys(uid, id)
				records = append(records, k[0], k[1])
				racks = append(racks, k[2])
			}
			pipe.SRem(ctx, LookupKey(uid), members...)
			pipe.Del(ctx, records...)
			pipe.Del(ctx, racks...)
			queued += len(chunk)
			if queued >= keyBatch*4 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// sweepUsers is the pass after the settle time: for each user it deletes the keys of the
// destroyed ids that have reappeared and every session now in the lookup set. It returns,
// per user, how many session ids it found written back.
func (s *Store) sweepUsers(ctx context.Context, destroyed map[int64][]string) (map[int64]int, error) {
	users := make([]int64, 0, len(destroyed))
	for uid := range destroyed {
		users = append(users, uid)
	}
	sort.Slice(users, func(i, j int) bool { return users[i] < users[j] })
	found := map[int64]map[string]bool{}
	mark := func(uid int64, id string) {
		if found[uid] == nil {
			found[uid] = map[string]bool{}
		}
		found[uid][id] = true
	}
	for start := 0; start < len(users); start += userBatch {
		batch := users[start:min(start+userBatch, len(users))]
		// Which destroyed ids have any key again, and what the lookup sets hold now.
		pipe := s.Redis.Pipeline()
		type check struct {
			uid int64
			id  string
			cmd *redis.IntCmd
		}
		var checks []check
		members := make([]*redis.StringSliceCmd, len(batch))
		for i, uid := range batch {
			members[i] = pipe.SMembers(ctx, LookupKey(uid))
			for _, id := range destroyed[uid] {
				k := sessionKeys(uid, id)
				checks = append(checks, check{uid, id, pipe.Exists(ctx, k[0], k[1], k[2])})
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("gitlab: checking for sessions written back: %w", err)
		}
		for _, c := range checks {
			if c.cmd.Val() > 0 {
				mark(c.uid, c.id)
			}
		}
		for i, uid := range batch {
			for _, id := range members[i].Val() {
				mark(uid, id)
			}
		}
	}
	again := map[int64][]string{}
	counts := map[int64]int{}
	for uid, ids := range found {
		for id := range ids {
			again[uid] = append(again[uid], id)
		}
		sort.Strings(again[uid])
		counts[uid] = len(ids)
	}
	if len(again) == 0 {
		return counts, nil
	}
	// A record written back may name further ids (an old entry's public id).
	ls, err := s.list(ctx, keysOf(again))
	if err != nil {
		return nil, err
	}
	for uid, l := range ls {
		seen := map[string]bool{}
		for _, id := range again[uid] {
			seen[id] = true
		}
		for _, id := range l.destroyIDs() {
			if !seen[id] {
				again[uid] = append(again[uid], id)
			}
		}
	}
	return counts, s.destroy(ctx, again)
}

func keysOf(m map[int64][]string) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// scan calls f with the keys matching pattern, a SCAN page at a time. Each key is checked
// against the pattern's literal prefix as well, so that nothing outside the namespace can be
// handed on whatever the server's glob matching does.
func (s *Store) scan(ctx context.Context, pattern string, f func([]string) error) error {
	prefix := strings.TrimSuffix(pattern, "*")
	return s.scanFiltered(ctx, pattern, func(k string) bool {
		return len(k) > len(prefix) && strings.HasPrefix(k, prefix)
	}, f)
}

func (s *Store) scanFiltered(ctx context.Context, pattern string, keep func(string) bool, f func([]string) error) error {
	var cursor uint64
	for {
		keys, next, err := s.Redis.Scan(ctx, cursor, pattern, scanCount).Result()
		if err != nil {
			return fmt.Errorf("gitlab: scanning %s: %w", pattern, err)
		}
		kept := keys[:0]
		for _, k := range keys {
			if keep(k) {
				kept = append(kept, k)
			}
		}
		if len(kept) > 0 {
			if err := f(kept); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}
