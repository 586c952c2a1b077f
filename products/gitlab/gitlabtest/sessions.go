package gitlabtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/reauth/reauth/internal/harness"
	"net/http"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// GitLab's key layout, written out from lib/gitlab/redis/sessions.rb and
// app/models/active_session.rb (not taken from package gitlab, on purpose).

// PrivateID is Rack's private id of a public session id (the whole cookie value).
func PrivateID(public string) string {
	sum := sha256.Sum256([]byte(public))
	return "2::" + hex.EncodeToString(sum[:])
}

// RackKey is the Rails session key (redis-store namespace "session:gitlab").
func RackKey(id string) string { return "session:gitlab:" + id }

// RecordKey is ActiveSession.key_name: the v2 record, with the double colon.
func RecordKey(uid int64, id string) string {
	return "session:user:gitlab::v2:" + strconv.FormatInt(uid, 10) + ":" + id
}

// LegacyKey is ActiveSession.key_name_v1: the legacy Marshal record.
func LegacyKey(uid int64, id string) string {
	return "session:user:gitlab:" + strconv.FormatInt(uid, 10) + ":" + id
}

// LookupKey is ActiveSession.lookup_key_name: the user's set of session ids.
func LookupKey(uid int64) string { return "session:lookup:user:gitlab:" + strconv.FormatInt(uid, 10) }

// Format is how a session's record is stored.
type Format int

const (
	// V2AndLegacy is what GitLab's ActiveSession.set writes today: the v2 JSON record and,
	// "temporary to support mixed deployments", the legacy Marshal record of the same id.
	V2AndLegacy Format = iota
	// V2 is the v2 record alone.
	V2
	// Legacy is the legacy Marshal record alone, as GitLab before 14.x wrote it.
	Legacy
)

// Session is a session to write into Redis.
type Session struct {
	UserID                                  int64
	PublicID                                string // the _gitlab_session cookie's value; random 32 hex digits when empty
	Prefix                                  string // put before a generated PublicID, e.g. "cell-1-"
	IP, Browser, OS, DeviceName, DeviceType string
	SignedInAt                              time.Time // the record's created_at (GitLab: the user's current_sign_in_at); now when zero
	UpdatedAt                               time.Time // last activity; now when zero
	Impersonated                            bool
	AdminMode                               bool
	Format                                  Format
	// Extra are fields a newer GitLab adds to the v2 JSON, which readers must ignore.
	Extra map[string]any
	// OldEntry writes an entry from before Rack 2.0.8: the record holds the public id too
	// (session_id), and the Rails session is keyed by the public id.
	OldEntry bool
	NoRack   bool          // no Rails session key (it expired or was never written)
	Rack     RackFormat    // the Rails session's format; RackEntry61 (current GitLab) when empty
	TTL      time.Duration // 7 days (session_expire_delay's default) when zero
}

// Written is what WriteSession stored.
type Written struct {
	UserID    int64
	PublicID  string // the cookie value
	PrivateID string // the lookup set's id
	RackKey   string // empty with NoRack
	Keys      []string
}

// Cookie is the _gitlab_session cookie of the session.
func (w Written) Cookie() *http.Cookie { return &http.Cookie{Name: SessionCookie, Value: w.PublicID} }

// RecordV2 is the v2 record GitLab writes for the session under the private id.
func RecordV2(s Session, privateID string) string {
	fillSession(&s)
	return v2JSON(s, privateID)
}

// v2JSON renders a record as GitLab's ActiveSession#dump does: "v2:" + the JSON of the
// instance variables in assignment order, times as ActiveSupport renders them (UTC,
// milliseconds).
func v2JSON(s Session, privateID string) string {
	type record struct {
		IPAddress        string  `json:"ip_address"`
		Browser          string  `json:"browser"`
		OS               string  `json:"os"`
		DeviceName       *string `json:"device_name"`
		DeviceType       string  `json:"device_type"`
		CreatedAt        string  `json:"created_at"`
		UpdatedAt        string  `json:"updated_at"`
		SessionPrivateID string  `json:"session_private_id"`
		SessionID        string  `json:"session_id,omitempty"`
		IsImpersonated   bool    `json:"is_impersonated"`
		AdminMode        bool    `json:"admin_mode"`
	}
	r := record{IPAddress: s.IP, Browser: s.Browser, OS: s.OS, DeviceType: s.DeviceType,
		CreatedAt: rubyJSONTime(s.SignedInAt), UpdatedAt: rubyJSONTime(s.UpdatedAt),
		SessionPrivateID: privateID, IsImpersonated: s.Impersonated, AdminMode: s.AdminMode}
	if s.DeviceName != "" {
		r.DeviceName = &s.DeviceName
	}
	if s.OldEntry {
		r.SessionID = s.PublicID
	}
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	if len(s.Extra) > 0 {
		keys := make([]string, 0, len(s.Extra))
		for k := range s.Extra {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = b[:len(b)-1]
		for _, k := range keys {
			kb, _ := json.Marshal(k)
			vb, err := json.Marshal(s.Extra[k])
			if err != nil {
				panic(err)
			}
			b = append(append(append(append(b, ','), kb...), ':'), vb...)
		}
		b = append(b, '}')
	}
	return "v2:" + string(b)
}

func rubyJSONTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// WriteSession stores a session as GitLab does at sign-in: the Rails session
// (session:gitlab:<private id>), the record(s), and the id in the user's lookup set.
func WriteSession(t testing.TB, rdb *redis.Client, s Session) Written {
	t.Helper()
	RequireRuby(t)
	w, err := writeSession(context.Background(), rdb, s)
	if err != nil {
		t.Fatalf("gitlabtest: writing a session of user %d: %v", s.UserID, err)
	}
	return w
}

func fillSession(s *Session) {
	if s.PublicID == "" {
		s.PublicID = s.Prefix + harness.RandomHex(16)
	}
	now := time.Now().UTC()
	if s.SignedInAt.IsZero() {
		s.SignedInAt = now
	}
	if s.UpdatedAt.IsZero() {
		s.UpdatedAt = now
	}
	if s.TTL == 0 {
		s.TTL = 7 * 24 * time.Hour
	}
	if s.IP == "" {
		s.IP = "127.0.0.1"
	}
	if s.Browser == "" {
		s.Browser = "Firefox"
	}
	if s.OS == "" {
		s.OS = "Ubuntu"
	}
	if s.DeviceType == "" {
		s.DeviceType = "desktop"
	}
}

func writeSession(ctx context.Context, rdb *redis.Client, s Session) (Written, error) {
	fillSession(&s)
	w := Written{UserID: s.UserID, PublicID: s.PublicID, PrivateID: PrivateID(s.PublicID)}
	pipe := rdb.Pipeline()
	if !s.NoRack {
		id := w.PrivateID
		if s.OldEntry {
			id = s.PublicID
		}
		w.RackKey = RackKey(id)
		var imp int64
		if s.Impersonated {
			imp = 1
		}
		v, err := rackValue(s.Rack, s.UserID, imp)
		if err != nil {
			return w, err
		}
		pipe.Set(ctx, w.RackKey, v, s.TTL)
		w.Keys = append(w.Keys, w.RackKey)
	}
	if s.Format != Legacy {
		k := RecordKey(s.UserID, w.PrivateID)
		pipe.Set(ctx, k, v2JSON(s, w.PrivateID), s.TTL)
		w.Keys = append(w.Keys, k)
	}
	if s.Format != V2 {
		k := LegacyKey(s.UserID, w.PrivateID)
		v, err := rubyValues([]map[string]any{legacyRequest(s, w.PrivateID)})
		if err != nil {
			return w, err
		}
		pipe.Set(ctx, k, v[0], s.TTL)
		w.Keys = append(w.Keys, k)
	}
	pipe.SAdd(ctx, LookupKey(s.UserID), w.PrivateID)
	_, err := pipe.Exec(ctx)
	return w, err
}

// WriteStale adds an id to the user's lookup set whose records are gone (expired), as GitLab
// leaves them until the next listing; it returns the id.
func WriteStale(t testing.TB, rdb *redis.Client, uid int64) string {
	t.Helper()
	id := PrivateID(harness.RandomHex(16))
	if err := rdb.SAdd(context.Background(), LookupKey(uid), id).Err(); err != nil {
		t.Fatal(err)
	}
	return id
}

// WriteNonSession writes keys that share Redis with the sessions and must survive any
// revocation: the anonymous sessions' per-IP lookup sets (session:lookup:ip:gitlab2:<ip>),
// OTP sessions (session:otp:<id>), and other keys of GitLab's main Redis (caches, queues, a
// key whose name merely contains "gitlab"). It returns their names.
func WriteNonSession(t testing.TB, rdb *redis.Client) []string {
	t.Helper()
	ctx := context.Background()
	pipe := rdb.Pipeline()
	var keys []string
	for i, ip := range []string{"127.0.0.1", "10.0.0.7", "2001:db8::1"} {
		k := "session:lookup:ip:gitlab2:" + ip
		pipe.SAdd(ctx, k, PrivateID(harness.RandomHex(16)), PrivateID(harness.RandomHex(16)))
		pipe.Expire(ctx, k, 24*time.Hour)
		keys = append(keys, k)
		k = "session:otp:" + strconv.Itoa(1000+i)
		pipe.Set(ctx, k, "true", 15*time.Minute)
		keys = append(keys, k)
	}
	for _, k := range []string{"cache:gitlab:application_setting.last", "resque:gitlab:queue:default",
		"gitlab:exclusive_lease:session_cleanup", "session:gitlabx:not-a-session", "sessions:gitlab:1"} {
		pipe.Set(ctx, k, "keep me", 0)
		keys = append(keys, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	return keys
}

// Dump returns the serialized value (DUMP) of each key that exists, to check later that a key
// was left exactly as it was.
func Dump(t testing.TB, rdb *redis.Client, keys ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, k := range keys {
		v, err := rdb.Dump(context.Background(), k).Result()
		if err == redis.Nil {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

// String is a one-line description of a session, for test messages.
func (w Written) String() string {
	return fmt.Sprintf("session %s of user %d", w.PrivateID[:12], w.UserID)
}
