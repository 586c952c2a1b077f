package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Session is one of a user's web sessions, read from its session record.
type Session struct {
	UserID int64
	// PrivateID is the id the user's lookup set holds: Rack's private id ("2::<hex>") for
	// every session GitLab has written since 13.x; older entries may hold the public id.
	PrivateID string
	// SessionID is the public session id that old records also hold ("session_id"); GitLab
	// destroys the keys of both ids.
	SessionID               string
	IP, Browser, OS         string
	DeviceName, DeviceType  string
	CreatedAt               time.Time // GitLab stores the user's last sign-in time here
	UpdatedAt               time.Time // last activity; zero when unknown
	Impersonated, AdminMode bool
	// Legacy: the record is in the legacy Ruby Marshal format, whose fields are not read
	// (all but UserID and PrivateID are unknown). Prune treats such sessions as the oldest.
	Legacy bool
	// Unreadable: a v2 record whose JSON could not be read; fields unknown, as for Legacy.
	Unreadable bool

	recordPrivateID string // session_private_id, when it differs from PrivateID
}

// ids are the session ids whose keys GitLab destroys for this session (ActiveSession#ids,
// plus the id the lookup set holds).
func (s Session) ids() []string {
	ids := []string{s.PrivateID}
	for _, id := range []string{s.recordPrivateID, s.SessionID} {
		if id != "" && id != s.PrivateID {
			ids = append(ids, id)
		}
	}
	return ids
}

// known reports whether the session's last activity is known.
func (s Session) known() bool { return !s.Legacy && !s.Unreadable && !s.UpdatedAt.IsZero() }

// Sessions lists a user's sessions as GitLab's ActiveSession.list does: the ids of the
// lookup set, the v2 record of each, the legacy record for ids without one. Ids with neither
// are returned as stale (GitLab removes them from the set lazily; Sessions changes nothing).
// Impersonated sessions are included and marked. Sessions come newest activity first, those
// whose activity is unknown last.
func (s *Store) Sessions(ctx context.Context, userID int64) (sessions []Session, stale []string, err error) {
	ls, err := s.list(ctx, []int64{userID})
	if err != nil {
		return nil, nil, err
	}
	l := ls[userID]
	return l.sessions, l.stale, nil
}

// listing is what the lookup set and the records say about one user.
type listing struct {
	userID   int64
	ids      []string // the lookup set
	sessions []Session
	stale    []string
}

// destroyIDs are the ids whose keys revoking every session of the listing deletes: every id
// of the lookup set (stale ones too) and the ids the records name.
func (l *listing) destroyIDs() []string {
	seen := map[string]bool{}
	var out []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, id := range l.ids {
		add(id)
	}
	for _, s := range l.sessions {
		for _, id := range s.ids() {
			add(id)
		}
	}
	return out
}

// list reads the sessions of many users with pipelined rounds: the lookup sets of a batch of
// users, then their v2 records, then the legacy records of the ids still missing.
func (s *Store) list(ctx context.Context, userIDs []int64) (map[int64]*listing, error) {
	out := make(map[int64]*listing, len(userIDs))
	for start := 0; start < len(userIDs); start += userBatch {
		batch := userIDs[start:min(start+userBatch, len(userIDs))]
		if err := s.listBatch(ctx, batch, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) listBatch(ctx context.Context, userIDs []int64, out map[int64]*listing) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	pipe := s.Redis.Pipeline()
	members := make([]*redis.StringSliceCmd, len(userIDs))
	for i, uid := range userIDs {
		members[i] = pipe.SMembers(ctx, LookupKey(uid))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("gitlab: reading lookup sets: %w", err)
	}
	ls := make([]*listing, len(userIDs))
	for i, uid := range userIDs {
		ids := members[i].Val()
		sort.Strings(ids)
		ls[i] = &listing{userID: uid, ids: ids}
		out[uid] = ls[i]
	}

	// v2 records.
	values, err := s.mget(ctx, ls, func(l *listing) []string { return l.ids }, RecordKey)
	if err != nil {
		return err
	}
	missing := map[*listing][]string{}
	for _, l := range ls {
		for _, id := range l.ids {
			v, ok := values[l][id]
			if !ok {
				missing[l] = append(missing[l], id)
				continue
			}
			l.sessions = append(l.sessions, parseRecord(l.userID, id, v))
		}
	}
	// Legacy records for the ids without a v2 one.
	values, err = s.mget(ctx, ls, func(l *listing) []string { return missing[l] }, LegacyRecordKey)
	if err != nil {
		return err
	}
	for _, l := range ls {
		for _, id := range missing[l] {
			v, ok := values[l][id]
			if !ok {
				l.stale = append(l.stale, id)
				continue
			}
			sess := parseRecord(l.userID, id, v)
			l.sessions = append(l.sessions, sess)
		}
		sortSessions(l.sessions)
	}
	return nil
}

// mget reads key(uid, id) for the ids of each listing, pipelined, in MGETs of keyBatch keys.
// Absent keys are absent from the result.
func (s *Store) mget(ctx context.Context, ls []*listing, ids func(*listing) []string, key func(int64, string) string) (map[*listing]map[string]string, error) {
	type part struct {
		l   *listing
		ids []string
		cmd *redis.SliceCmd
	}
	var parts []part
	pipe := s.Redis.Pipeline()
	for _, l := range ls {
		all := ids(l)
		for start := 0; start < len(all); start += keyBatch {
			chunk := all[start:min(start+keyBatch, len(all))]
			keys := make([]string, len(chunk))
			for i, id := range chunk {
				keys[i] = key(l.userID, id)
			}
			parts = append(parts, part{l, chunk, pipe.MGet(ctx, keys...)})
		}
	}
	out := map[*listing]map[string]string{}
	if len(parts) == 0 {
		return out, nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("gitlab: reading session records: %w", err)
	}
	for _, p := range parts {
		m := out[p.l]
		if m == nil {
			m = map[string]string{}
			out[p.l] = m
		}
		for i, v := range p.cmd.Val() {
			if str, ok := v.(string); ok {
				m[p.ids[i]] = str
			}
		}
	}
	return out, nil
}

// sortSessions orders sessions newest activity first, unknown activity last, then by id.
func sortSessions(ss []Session) {
	sort.SliceStable(ss, func(i, j int) bool {
		a, b := ss[i], ss[j]
		if a.known() != b.known() {
			return a.known()
		}
		if !a.UpdatedAt.Equal(b.UpdatedAt) {
			return a.UpdatedAt.After(b.UpdatedAt)
		}
		return a.PrivateID < b.PrivateID
	})
}

// parseRecord reads a session record: "v2:" + JSON, or anything else (Ruby Marshal, GitLab's
// legacy format) as a legacy record whose fields stay unknown. Unknown JSON fields are
// ignored, as GitLab ignores them.
func parseRecord(userID int64, id, value string) Session {
	sess := Session{UserID: userID, PrivateID: id}
	body, ok := strings.CutPrefix(value, recordV2Marker)
	if !ok {
		sess.Legacy = true
		return sess
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&fields); err != nil || fields == nil {
		sess.Unreadable = true
		return sess
	}
	sess.IP = jsonString(fields["ip_address"])
	sess.Browser = jsonString(fields["browser"])
	sess.OS = jsonString(fields["os"])
	sess.DeviceName = jsonString(fields["device_name"])
	sess.DeviceType = jsonString(fields["device_type"])
	sess.CreatedAt = jsonTime(fields["created_at"])
	sess.UpdatedAt = jsonTime(fields["updated_at"])
	sess.Impersonated = jsonBool(fields["is_impersonated"])
	sess.AdminMode = jsonBool(fields["admin_mode"])
	// Old entries name the public id too, and a set may still hold an old entry's public id:
	// GitLab destroys the keys of every id a session has.
	sess.SessionID = jsonString(fields["session_id"])
	if pid := jsonString(fields["session_private_id"]); pid != id {
		sess.recordPrivateID = pid
	}
	return sess
}

func jsonString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	// A number or something else: its JSON text.
	var v any
	if err := json.Unmarshal(raw, &v); err == nil {
		switch v.(type) {
		case float64, bool:
			return string(raw)
		}
	}
	return ""
}

func jsonBool(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	switch strings.ToLower(strings.Trim(string(raw), `"`)) {
	case "true", "1", "t", "yes":
		return true
	}
	return false
}

// jsonTime reads a timestamp leniently: ISO-8601 with or without fraction, offset or zone
// (no zone means UTC, as GitLab writes UTC), Ruby's "2024-05-01 10:00:00 UTC", or seconds
// since the epoch. Anything else is the zero time.
func jsonTime(raw json.RawMessage) time.Time {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = string(raw) // a bare number
	}
	return parseTime(s)
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999 Z07:00",
	"2006-01-02 15:04:05.999999999 -0700",
	"2006-01-02 15:04:05.999999999 MST",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02",
}

func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f <= 0 || f > 1e11 {
			return time.Time{}
		}
		sec := int64(f)
		// A float64 holds an epoch to about a microsecond: round there.
		return time.Unix(sec, int64(math.Round((f-float64(sec))*1e6))*1000).UTC()
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
