package gitlab

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
)

// AllRevoked is what RevokeAll did, or what CountAll found it would do.
type AllRevoked struct {
	Users         int // users with a session record or a lookup set
	Sessions      int // distinct sessions with a record (v2 and legacy keys of one session count once)
	RailsSessions int // session:gitlab keys (signed-in or not)
	Keys          int // keys deleted, both passes (CountAll: keys found)
	// RememberCleared is the number of users whose remember_created_at was cleared.
	RememberCleared int
	// Rewritten counts what the pass after the settle time deleted: keys written back, and
	// remember_created_at set again.
	Rewritten int
}

// CountAll says what RevokeAll would delete, and changes nothing.
func (s *Store) CountAll(ctx context.Context) (AllRevoked, error) {
	var res AllRevoked
	if err := s.DB.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE remember_created_at IS NOT NULL").Scan(&res.RememberCleared); err != nil {
		return res, fmt.Errorf("gitlab: counting remember-me: %w", err)
	}
	t, err := s.sweepAll(ctx, false)
	if err != nil {
		return res, err
	}
	t.into(&res, false)
	return res, nil
}

// RevokeAll signs every user out: remember_created_at is cleared for every user that has it
// set, then every key of the three session namespaces is deleted (SCAN with COUNT 1000, UNLINK
// in pipelined batches; the namespaces are swept concurrently), then, after settle, both are
// done again and what that pass deletes is counted in Rewritten. Keys outside the three
// namespaces (session:lookup:ip:gitlab2:*, session:otp:*, caches, queues) are never touched.
func (s *Store) RevokeAll(ctx context.Context, settle time.Duration) (AllRevoked, error) {
	var res AllRevoked
	n, err := s.clearAllRemember(ctx)
	if err != nil {
		return res, err
	}
	res.RememberCleared = n
	t, err := s.sweepAll(ctx, true)
	if err != nil {
		return res, err
	}
	t.into(&res, true)
	if err := sleep(ctx, settle); err != nil {
		return res, err
	}
	t2, err := s.sweepAll(ctx, true)
	if err != nil {
		return res, err
	}
	res.Keys += t2.deleted
	res.Rewritten += t2.deleted
	n, err = s.clearAllRemember(ctx)
	if err != nil {
		return res, err
	}
	res.Rewritten += n
	return res, nil
}

func (s *Store) clearAllRemember(ctx context.Context) (int, error) {
	var n int64
	err := s.inUTC(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, clearAllRememberSQL)
		if err != nil {
			return err
		}
		n, err = r.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("gitlab: clearing remember-me (users.remember_created_at): %w", err)
	}
	return int(n), nil
}

// tally counts what a sweep of the session namespaces found.
type tally struct {
	mu       sync.Mutex
	users    map[int64]bool
	sessions map[string]bool // "<uid>:<id>"
	racks    int
	found    int
	deleted  int
}

func (t *tally) into(r *AllRevoked, deleted bool) {
	r.Users = len(t.users)
	r.Sessions = len(t.sessions)
	r.RailsSessions = t.racks
	r.Keys = t.found
	if deleted {
		r.Keys = t.deleted
	}
}

func (t *tally) add(keys []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.found += len(keys)
	for _, k := range keys {
		if uid, id, _, ok := parseRecordKey(k); ok {
			t.users[uid] = true
			t.sessions[fmt.Sprint(uid, ":", id)] = true
		} else if uid, ok := parseLookupKey(k); ok {
			t.users[uid] = true
		} else if strings.HasPrefix(k, rackPrefix) {
			t.racks++
		}
	}
}

// sweepAll scans the session namespaces, counting what it finds and, when del is set,
// unlinking it. One SCAN pass (MATCH session:*gitlab:*, COUNT 1000) covers the three
// namespaces: scanning each pattern on its own would walk the whole keyspace three times, and
// the walk is most of the server's work. Only keys under the three exact prefixes are kept
// (isSessionKey); the glob's other matches, if any, are dropped. The scanner hands batches to
// unlinkers, which pipeline several UNLINKs per round trip while the scan goes on.
func (s *Store) sweepAll(ctx context.Context, del bool) (*tally, error) {
	t := &tally{users: map[int64]bool{}, sessions: map[string]bool{}}
	const unlinkers = 2
	batches := make(chan []string, 16)
	// The first error (the scan's or an unlinker's) cancels the others, and is returned.
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(batches)
		return s.scanFiltered(ctx, sweepPattern, isSessionKey, func(keys []string) error {
			t.add(keys)
			if del {
				select {
				case batches <- keys:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
	})
	for range unlinkers {
		g.Go(func() error {
			n, err := s.unlink(ctx, batches)
			t.mu.Lock()
			t.deleted += n
			t.mu.Unlock()
			return err
		})
	}
	return t, g.Wait()
}

// isSessionKey reports whether key is in one of the three session namespaces.
func isSessionKey(key string) bool {
	for _, p := range sessionPrefixes {
		if len(key) > len(p) && strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// unlink UNLINKs the batches it receives, sending what has queued up in one pipeline.
func (s *Store) unlink(ctx context.Context, batches <-chan []string) (int, error) {
	deleted := 0
	for keys := range batches {
		pipe := s.Redis.Pipeline()
		var cmds []*redis.IntCmd
		queue := func(keys []string) {
			for start := 0; start < len(keys); start += keyBatch {
				cmds = append(cmds, pipe.Unlink(ctx, keys[start:min(start+keyBatch, len(keys))]...))
			}
		}
		queue(keys)
	more:
		for len(cmds) < 8 {
			select {
			case k, ok := <-batches:
				if !ok {
					break more
				}
				queue(k)
			default:
				break more
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return deleted, fmt.Errorf("gitlab: deleting session keys: %w", err)
		}
		for _, c := range cmds {
			deleted += int(c.Val())
		}
	}
	return deleted, nil
}
