package gitlab

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
)

// Leftover is one thing Verify found still in place.
type Leftover struct {
	UserID int64  `json:"user_id,omitempty"` // 0 when the owner is unknown (an unreadable value)
	Kind   string `json:"kind"`              // "record", "lookup", "rails-session", "unreadable" or "remember"
	Key    string `json:"key"`               // the Redis key; "users.remember_created_at" for remember
	Why    string `json:"why"`
}

// VerifyResult is what Verify found for the users in scope.
type VerifyResult struct {
	All   bool `json:"all"`   // every user was in scope
	Users int  `json:"users"` // users in scope (0 with All)
	// Records counts session records (v2 or legacy) from before since, or of unknown age.
	Records int `json:"records"`
	// LookupIDs counts ids in the users' lookup sets that belong to no new login.
	LookupIDs int `json:"lookup_ids"`
	// RailsSessions counts session:gitlab keys whose value names a user in scope and that
	// belong to no new login.
	RailsSessions int `json:"rails_sessions"`
	// Unreadable counts session:gitlab keys whose value reauth cannot read: whose they are is
	// unknown, so each one fails the verification.
	Unreadable int `json:"unreadable"`
	// Remember counts users whose remember_created_at is set to a time before since.
	Remember int `json:"remember"`
	// NewLogins counts sessions whose record shows a sign-in at or after since.
	NewLogins int `json:"new_logins"`
	// Leftovers lists what was found, up to MaxLeftovers entries.
	Leftovers []Leftover `json:"leftovers"`
}

// MaxLeftovers bounds VerifyResult.Leftovers.
const MaxLeftovers = 200

// OK reports whether nothing of the users' sessions or remember-me from before since is left,
// and nothing was in the way of telling.
func (r VerifyResult) OK() bool {
	return r.Left() == 0 && (r.All || r.Users > 0)
}

// Left is the number of leftovers found (Leftovers lists at most MaxLeftovers of them).
func (r VerifyResult) Left() int {
	return r.Records + r.LookupIDs + r.RailsSessions + r.Unreadable + r.Remember
}

func (r *VerifyResult) leftover(l Leftover) {
	if len(r.Leftovers) < MaxLeftovers {
		r.Leftovers = append(r.Leftovers, l)
	}
}

// Verify checks, independently of how they were revoked, that the users (nil: every user)
// have nothing left from before since: no session record, no id in their lookup set, no
// Rails session key whose value names them as the signed-in user, and no remember_created_at
// before since. A session whose v2 record shows a sign-in (created_at) at or after since is a
// new login and passes, with its Rails session, lookup id and legacy record; anything whose
// age or owner cannot be established fails: a legacy record alone, a record without a
// readable created_at, a Rails session value reauth cannot read.
//
// It scans the whole session keyspace and reads every Rails session's value: a Rails session
// left behind without a record or lookup entry still keeps a browser signed in, and only its
// value says whose it is.
func (s *Store) Verify(ctx context.Context, users []User, since time.Time) (VerifyResult, error) {
	res := VerifyResult{Leftovers: []Leftover{}}
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
	sinceText := since.UTC().Format(time.RFC3339)

	// Records: a v2 record dated at or after since is a new login, and every id it names is
	// that login's. Legacy records are judged once all v2 records are known.
	newIDs := map[int64]map[string]bool{}
	type legacy struct {
		uid      int64
		id, key  string
		readable bool
	}
	var legacies []legacy
	err := s.scan(ctx, recordPrefix+"*", func(keys []string) error {
		var mine []string
		for _, k := range keys {
			if uid, _, _, ok := parseRecordKey(k); ok && in(uid) {
				mine = append(mine, k)
			}
		}
		if len(mine) == 0 {
			return nil
		}
		vals, err := s.Redis.MGet(ctx, mine...).Result()
		if err != nil {
			return fmt.Errorf("gitlab: reading session records: %w", err)
		}
		for i, k := range mine {
			str, isStr := vals[i].(string)
			if !isStr {
				continue // gone since the scan
			}
			uid, id, v2, _ := parseRecordKey(k)
			if !v2 {
				legacies = append(legacies, legacy{uid, id, k, true})
				continue
			}
			sess := parseRecord(uid, id, str)
			switch {
			case sess.Legacy || sess.Unreadable:
				res.Records++
				res.leftover(Leftover{UserID: uid, Kind: "record", Key: k, Why: "its value cannot be read, so its sign-in time is unknown"})
			case sess.CreatedAt.IsZero():
				res.Records++
				res.leftover(Leftover{UserID: uid, Kind: "record", Key: k, Why: "it has no readable created_at, so its sign-in time is unknown"})
			case sess.CreatedAt.Before(since):
				res.Records++
				res.leftover(Leftover{UserID: uid, Kind: "record", Key: k, Why: "signed in at " + sess.CreatedAt.UTC().Format(time.RFC3339) + ", before " + sinceText})
			default:
				res.NewLogins++
				if newIDs[uid] == nil {
					newIDs[uid] = map[string]bool{}
				}
				for _, x := range sess.ids() {
					newIDs[uid][x] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	isNew := func(uid int64, id string) bool { return newIDs[uid][id] }
	for _, l := range legacies {
		if !isNew(l.uid, l.id) {
			res.Records++
			res.leftover(Leftover{UserID: l.uid, Kind: "record", Key: l.key, Why: "a legacy record with no v2 record dated at or after " + sinceText + ", so its sign-in time is unknown"})
		}
	}

	err = s.scan(ctx, lookupPrefix+"*", func(keys []string) error {
		pipe := s.Redis.Pipeline()
		type members struct {
			uid int64
			key string
			cmd *redis.StringSliceCmd
		}
		var sets []members
		for _, k := range keys {
			if uid, ok := parseLookupKey(k); ok && in(uid) {
				sets = append(sets, members{uid, k, pipe.SMembers(ctx, k)})
			}
		}
		if len(sets) == 0 {
			return nil
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return fmt.Errorf("gitlab: reading lookup sets: %w", err)
		}
		for _, m := range sets {
			ids := m.cmd.Val()
			sort.Strings(ids)
			for _, id := range ids {
				if !isNew(m.uid, id) {
					res.LookupIDs++
					res.leftover(Leftover{UserID: m.uid, Kind: "lookup", Key: m.key, Why: "holds " + id + ", a session that is no new login"})
				}
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
				continue // gone since the scan
			}
			uid, err := rackSessionUser([]byte(str))
			switch {
			case err != nil:
				res.Unreadable++
				res.leftover(Leftover{Kind: "unreadable", Key: keys[i], Why: "reauth cannot read this Rails session, so whose it is is unknown: " + err.Error()})
			case uid != 0 && in(uid) && !isNew(uid, keys[i][len(rackPrefix):]):
				res.RailsSessions++
				res.leftover(Leftover{UserID: uid, Kind: "rails-session", Key: keys[i], Why: "keeps a browser signed in, and no record shows a sign-in at or after " + sinceText})
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}

	// Devise accepts a remember cookie only if it was generated after remember_created_at:
	// one set at or after since (a new sign-in with "remember me") rejects every older cookie.
	q, args := "SELECT id FROM users WHERE remember_created_at < $1 ORDER BY id", []any{since.UTC()}
	if scope != nil {
		ids := make([]int64, 0, len(scope))
		for id := range scope {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		q, args = "SELECT id FROM users WHERE id = ANY($2) AND remember_created_at < $1 ORDER BY id", []any{since.UTC(), ids}
	}
	remember, err := queryIDs(ctx, s.DB, q, args...)
	if err != nil {
		return res, fmt.Errorf("gitlab: reading remember-me: %w", err)
	}
	res.Remember = len(remember)
	for _, id := range remember {
		res.leftover(Leftover{UserID: id, Kind: "remember", Key: "users.remember_created_at", Why: "set before " + sinceText + ": the user's remember-me cookies still sign them in"})
	}
	return res, nil
}
