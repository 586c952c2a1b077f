package gitlab

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// GitLab's session namespaces (lib/gitlab/redis/sessions.rb).
const (
	RackNamespace   = "session:gitlab"
	RecordNamespace = "session:user:gitlab"
	LookupNamespace = "session:lookup:user:gitlab"
	rackPrefix      = RackNamespace + ":"
	recordPrefix    = RecordNamespace + ":"
	recordV2Prefix  = RecordNamespace + "::v2:"
	lookupPrefix    = LookupNamespace + ":"
	recordV2Marker  = "v2:"
	maxSessionsCap  = 100 // ActiveSession::ALLOWED_NUMBER_OF_ACTIVE_SESSIONS
	scanCount       = 1000
	keyBatch        = 1000 // keys per MGET / DEL / UNLINK
	userBatch       = 200  // users per pipelined listing round
)

// The prefixes of the three session namespaces. session:user:gitlab: covers the v2 records
// too (they start with "session:user:gitlab::v2:").
var sessionPrefixes = []string{rackPrefix, recordPrefix, lookupPrefix}

// sweepPattern is one SCAN glob that matches every key of the three namespaces
// (session:gitlab:*, session:user:gitlab:*, session:lookup:user:gitlab:*) and none of
// session:lookup:ip:gitlab2:* or session:otp:*; the exact prefixes are checked on every key
// it returns.
const sweepPattern = "session:*gitlab:*"

// PrivateID is Rack's private session id for a public one (the _gitlab_session cookie's whole
// value, a prefix such as "cell-1-" included): "2::" + hex(sha256(public)).
func PrivateID(public string) string {
	sum := sha256.Sum256([]byte(public))
	return "2::" + hex.EncodeToString(sum[:])
}

// RackKey is the Rails session key of a session id.
func RackKey(id string) string { return rackPrefix + id }

// RecordKey is the key of a session record in the current (v2) format.
func RecordKey(userID int64, id string) string {
	return recordV2Prefix + strconv.FormatInt(userID, 10) + ":" + id
}

// LegacyRecordKey is the key of a session record in the legacy (Ruby Marshal) format.
func LegacyRecordKey(userID int64, id string) string {
	return recordPrefix + strconv.FormatInt(userID, 10) + ":" + id
}

// LookupKey is the key of a user's set of session ids.
func LookupKey(userID int64) string { return lookupPrefix + strconv.FormatInt(userID, 10) }

// parseRecordKey splits a session record key into the user id and session id. The session id
// may itself hold colons ("2::<hex>"), so only the first colon after the user id splits.
func parseRecordKey(key string) (userID int64, id string, v2, ok bool) {
	rest, v2 := strings.CutPrefix(key, recordV2Prefix)
	if !v2 {
		if rest, ok = strings.CutPrefix(key, recordPrefix); !ok {
			return 0, "", false, false
		}
	}
	uid, id, found := strings.Cut(rest, ":")
	if !found || id == "" {
		return 0, "", false, false
	}
	n, err := strconv.ParseInt(uid, 10, 64)
	if err != nil || n <= 0 {
		return 0, "", false, false
	}
	return n, id, v2, true
}

// parseLookupKey returns the user id of a lookup set key.
func parseLookupKey(key string) (int64, bool) {
	rest, ok := strings.CutPrefix(key, lookupPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil && n > 0
}

// sessionKeys are the keys GitLab's destroy_sessions deletes for one session id.
func sessionKeys(userID int64, id string) [3]string {
	return [3]string{RecordKey(userID, id), LegacyRecordKey(userID, id), RackKey(id)}
}
