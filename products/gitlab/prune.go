package gitlab

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Prune applies GitLab's cap on demand. For each user (all users with a lookup set when users
// is nil) it keeps the max sessions with the latest activity and destroys the rest (max <= 0:
// no cap); sessions whose activity is unknown (legacy records) count as the oldest. With
// olderThan > 0 it also destroys every session not active for that long, unknown activity
// included. Stale lookup ids are removed, as GitLab's cleanup does. Remember-me is left
// alone. The result lists, for an explicit list, every user; for all users, those pruned.
func (s *Store) Prune(ctx context.Context, users []User, max int, olderThan time.Duration) ([]Revoked, error) {
	return s.prune(ctx, users, max, olderThan, s.destroy)
}

// CountPrune says what Prune would destroy, and changes nothing.
func (s *Store) CountPrune(ctx context.Context, users []User, max int, olderThan time.Duration) ([]Revoked, error) {
	return s.prune(ctx, users, max, olderThan, nil)
}

// prune finds, a batch of users at a time, the sessions Prune destroys and hands them to
// destroy (nil: none is destroyed).
func (s *Store) prune(ctx context.Context, users []User, max int, olderThan time.Duration, destroy func(context.Context, map[int64][]string) error) ([]Revoked, error) {
	if max <= 0 && olderThan <= 0 {
		return nil, fmt.Errorf("gitlab: prune needs a maximum number of sessions per user or an age")
	}
	all := users == nil
	var ids []int64
	names := map[int64]string{}
	if all {
		err := s.scan(ctx, lookupPrefix+"*", func(keys []string) error {
			for _, k := range keys {
				if uid, ok := parseLookupKey(k); ok {
					ids = append(ids, uid)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		byID, err := s.usersByID(ctx, ids)
		if err != nil {
			return nil, err
		}
		for id, u := range byID {
			names[id] = u.Username
		}
	} else {
		ids = sortedIDs(users)
		for _, u := range users {
			names[u.ID] = u.Username
		}
	}
	cutoff := time.Time{}
	if olderThan > 0 {
		cutoff = time.Now().Add(-olderThan)
	}
	var out []Revoked
	for start := 0; start < len(ids); start += userBatch {
		batch := ids[start:min(start+userBatch, len(ids))]
		ls, err := s.list(ctx, batch)
		if err != nil {
			return out, err
		}
		victims := map[int64][]string{}
		for _, uid := range batch {
			l := ls[uid]
			r := Revoked{UserID: uid, Username: names[uid], Stale: len(l.stale)}
			var ids []string
			for i, sess := range l.sessions { // newest first, unknown activity last
				old := olderThan > 0 && (!sess.known() || sess.UpdatedAt.Before(cutoff))
				if (max > 0 && i >= max) || old {
					r.Sessions++
					if sess.Legacy {
						r.Legacy++
					}
					if sess.Impersonated {
						r.Impersonated++
					}
					ids = append(ids, sess.ids()...)
				}
			}
			ids = append(ids, l.stale...)
			if len(ids) > 0 {
				victims[uid] = ids
			}
			if !all || r.Sessions > 0 || r.Stale > 0 {
				out = append(out, r)
			}
		}
		if destroy != nil {
			if err := destroy(ctx, victims); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}
