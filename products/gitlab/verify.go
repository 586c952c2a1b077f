package gitlab

import (
	"context"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"
)

// Leftover is one thing Verify found still in place.
type Leftover struct {
	UserID int64
	Kind   string // "record", "lookup", "rails-session" or "remember"
	Key    string // the Redis key; "users.remember_created_at" for remember
}

// VerifyResult is what Verify found for the users in scope.
type VerifyResult struct {
	All           bool // every user was in scope
	Users         int  // users in scope (0 with All)
	Records       int  // session records (v2 or legacy keys)
	LookupIDs     int  // ids in their lookup sets
	RailsSessions int  // session:gitlab keys whose value names one of them as the signed-in user
	Remember      int  // users with remember_created_at set
	// Unattributed counts session:gitlab keys whose value could not be read, so whose user is
	// unknown (a format this reader does not know, or compressed). They do not fail Verify.
	Unattributed int
	// Leftovers lists what was found, up to MaxLeftovers entries.
	Leftovers []Leftover
}

// MaxLeftovers bounds VerifyResult.Leftovers.
const MaxLeftovers = 200

// OK reports whether nothing of the users' sessions or remember-me is left.
func (r VerifyResult) OK() bool {
	return r.Records == 0 && r.LookupIDs == 0 && r.RailsSessions == 0 && r.Remember == 0
}

func (r *VerifyResult) leftover(l Leftover) {
	if len(r.Leftovers) < MaxLeftovers {
		r.Leftovers = append(r.Leftovers, l)
	}
}

// Verify checks, independently of how they were revoked, that the users (nil: every user)
// have no session record, no id in their lookup set, no Rails session key whose value names
// them as the signed-in user, and remember_created_at NULL. It scans the whole session
// keyspace and reads every Rails session's value: a Rails session left behind without a
// record or lookup entry still keeps a browser signed in, and only its value says whose it is.
func (s *Store) Verify(ctx context.Context, users []User) (VerifyResult, error) {
	var res VerifyResult
	var scope map[int64]bool
	if users == nil {
		res.All = true
	} else {
		scope = map[int64]bool{}
		for _, u := range users {
			scope[u.ID] = true
		}
		res.Users = len(scope)
	}
	in := func(uid int64) bool { return scope == nil || scope[uid] }

	err := s.scan(ctx, recordPrefix+"*", func(keys []string) error {
		for _, k := range keys {
			if uid, _, _, ok := parseRecordKey(k); ok && in(uid) {
				res.Records++
				res.leftover(Leftover{UserID: uid, Kind: "record", Key: k})
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}

	err = s.scan(ctx, lookupPrefix+"*", func(keys []string) error {
		pipe := s.Redis.Pipeline()
		type card struct {
			uid int64
			key string
			cmd *redis.IntCmd
		}
		var cards []card
		for _, k := range keys {
			if uid, ok := parseLookupKey(k); ok && in(uid) {
				cards = append(cards, card{uid, k, pipe.SCard(ctx, k)})
			}
		}
		if len(cards) == 0 {
			return nil
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("gitlab: reading lookup sets: %w", err)
		}
		for _, c := range cards {
			if n := int(c.cmd.Val()); n > 0 {
				res.LookupIDs += n
				res.leftover(Leftover{UserID: c.uid, Kind: "lookup", Key: c.key})
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}

	err = s.scan(ctx, rackPrefix+"*", func(keys []string) error {
		vals, err := s.Redis.MGet(ctx, keys...).Result()
		if err != nil {
			return fmt.Errorf("gitlab: reading Rails sessions: %w", err)
		}
		for i, v := range vals {
			str, ok := v.(string)
			if !ok {
				continue // gone since the scan, or not a string
			}
			uid, readable := rackSessionUser([]byte(str))
			switch {
			case !readable:
				res.Unattributed++
			case uid != 0 && in(uid):
				res.RailsSessions++
				res.leftover(Leftover{UserID: uid, Kind: "rails-session", Key: keys[i]})
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}

	q, args := "SELECT id FROM users WHERE remember_created_at IS NOT NULL ORDER BY id", []any(nil)
	if scope != nil {
		ids := make([]int64, 0, len(scope))
		for id := range scope {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		q, args = "SELECT id FROM users WHERE id = ANY($1) AND remember_created_at IS NOT NULL ORDER BY id", []any{ids}
	}
	remember, err := queryIDs(ctx, s.DB, q, args...)
	if err != nil {
		return res, fmt.Errorf("gitlab: reading remember-me: %w", err)
	}
	res.Remember = len(remember)
	for _, id := range remember {
		res.leftover(Leftover{UserID: id, Kind: "remember", Key: "users.remember_created_at"})
	}
	return res, nil
}
