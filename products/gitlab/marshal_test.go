package gitlab

import (
	"bytes"
	"compress/zlib"
	"strings"
	"testing"

	"github.com/reauth/reauth/products/gitlab/gitlabtest"
)

// Values no GitLab writes: each must be an error, never a panic or a user.
var malformedCases = []struct{ name, data string }{
	{"not marshal", "v2:{}"},
	{"empty", ""},
	{"truncated", "\x04\x08{\x07I\"\x10_csrf_tok"},
	{"trailing bytes", "\x04\x08{\x00X"},
	{"bad link", "\x04\x08[\x06@\x7f"},
	{"huge length", "\x04\x08[\x04\xff\xff\xff\x7f"},
	{"not a hash", "\x04\x08[\x00"},
	{"another class", "\x04\x08o:\x0eSomeClass\x06:\x0b@valuei\x06"},
	{"entry without value", "\x04\x08o: ActiveSupport::Cache::Entry\x00"},
	{"entry holding a string", "\x04\x08o: ActiveSupport::Cache::Entry\x06:\x0b@value\"\x06x"},
	{"compressed entry, not zlib", "\x04\x08o: ActiveSupport::Cache::Entry\x07:\x0b@value\"\x06x:\x10@compressedT"},
	{"user key not an array", "\x04\x08{\x06I\"\x19warden.user.user.key\x06:\x06ETi\x06"},
	{"negative user", "\x04\x08{\x06I\"\x19warden.user.user.key\x06:\x06ET[\x07[\x06i\xfaI\"\x06s\x06;\x00T"},
}

// rubyFixture is a Rails session value that real Ruby wrote.
type rubyFixture struct {
	format gitlabtest.RackFormat
	uid    int64
	value  []byte
}

func rubyFixtures(t testing.TB) []rubyFixture {
	t.Helper()
	var out []rubyFixture
	for _, f := range gitlabtest.RackFormats {
		for _, uid := range []int64{42, 300, 70000, 1 << 40, 0} {
			out = append(out, rubyFixture{f, uid, gitlabtest.RackSession(t, f, uid, 0)})
		}
	}
	return out
}

// Every format GitLab has stored a Rails session in, as Ruby and ActiveSupport write it, reads
// back as its signed-in user: the bare hash (redis-store), the ActiveSupport::Cache::Entry of
// the Rails 6.1 cache coder, compressed and not, and the Rails 7.x Entry layout.
func TestRackSessionUserRubyFormats(t *testing.T) {
	for _, fx := range rubyFixtures(t) {
		uid, err := rackSessionUser(fx.value)
		if uid != fx.uid || err != nil {
			t.Errorf("%s, user %d: rackSessionUser = %d, %v; want %d", fx.format, fx.uid, uid, err, fx.uid)
		}
		// The fixtures are what their names say, or the test proves less than it claims.
		isEntry := bytes.Contains(fx.value, []byte(cacheEntry))
		compressed := bytes.Contains(fx.value, []byte("@compressedT"))
		if isEntry != (fx.format != gitlabtest.RackHash) || compressed != strings.HasSuffix(string(fx.format), "-compressed") {
			t.Errorf("%s: the fixture is not of its format (entry %v, compressed %v): %q", fx.format, isEntry, compressed, fx.value)
		}
	}
	imp := gitlabtest.RackSession(t, gitlabtest.RackEntry61, 7, 1)
	if uid, err := rackSessionUser(imp); uid != 7 || err != nil {
		t.Errorf("an impersonated session: rackSessionUser = %d, %v; want 7", uid, err)
	}
}

// Malformed, truncated and unknown values are errors, never a panic or a user: the hand-made
// cases, and every truncation of every Ruby-written value.
func TestRackSessionUserMalformed(t *testing.T) {
	for _, c := range malformedCases {
		if uid, err := rackSessionUser([]byte(c.data)); err == nil || uid != 0 {
			t.Errorf("%s: rackSessionUser = %d, %v; want an error", c.name, uid, err)
		}
	}
	for _, fx := range rubyFixtures(t) {
		for n := range len(fx.value) {
			if uid, err := rackSessionUser(fx.value[:n]); err == nil || uid != 0 {
				t.Errorf("%s of user %d cut to %d of %d bytes: rackSessionUser = %d, %v; want an error", fx.format, fx.uid, n, len(fx.value), uid, err)
				break
			}
		}
	}
	deep := "\x04\x08"
	for range 200 {
		deep += "[\x06"
	}
	if _, err := rackSessionUser([]byte(deep + "0")); err == nil {
		t.Error("200 nested arrays read; want the depth limit to refuse them")
	}
	// A compressed value that inflates without bound is refused.
	var bomb bytes.Buffer
	zw := zlib.NewWriter(&bomb)
	zw.Write(append([]byte("\x04\x08\"\x04\x00\x00\x80\x00"), make([]byte, maxInflated+10)...))
	zw.Close()
	entry := "\x04\x08o: ActiveSupport::Cache::Entry\x07:\x0b@value\"\x04" + string([]byte{byte(bomb.Len()), byte(bomb.Len() >> 8), byte(bomb.Len() >> 16), byte(bomb.Len() >> 24)}) + bomb.String() + ":\x10@compressedT"
	if _, err := rackSessionUser([]byte(entry)); err == nil || !strings.Contains(err.Error(), "beyond") {
		t.Errorf("a compressed value inflating past %d bytes: %v; want refused", maxInflated, err)
	}
}

func TestParseRecordKey(t *testing.T) {
	tests := []struct {
		key string
		uid int64
		id  string
		v2  bool
		ok  bool
	}{
		{"session:user:gitlab::v2:42:2::abc", 42, "2::abc", true, true},
		{"session:user:gitlab:42:2::abc", 42, "2::abc", false, true},
		{"session:user:gitlab:42:6919a6f1bb119dd7396fadc38fd18d0d", 42, "6919a6f1bb119dd7396fadc38fd18d0d", false, true},
		{"session:user:gitlab::v2:x:2::abc", 0, "", false, false},
		{"session:user:gitlab:42:", 0, "", false, false},
		{"session:gitlab:2::abc", 0, "", false, false},
	}
	for _, tt := range tests {
		uid, id, v2, ok := parseRecordKey(tt.key)
		if uid != tt.uid || id != tt.id || v2 != tt.v2 || ok != tt.ok {
			t.Errorf("parseRecordKey(%q) = %d, %q, %v, %v; want %d, %q, %v, %v", tt.key, uid, id, v2, ok, tt.uid, tt.id, tt.v2, tt.ok)
		}
	}
	if got := PrivateID("6919a6f1bb119dd7396fadc38fd18d0d"); len(got) != 3+64 || got[:3] != "2::" {
		t.Errorf("PrivateID = %q", got)
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{"2024-05-01T10:00:00.123Z", "2024-05-01T12:00:00.123+02:00", "2024-05-01 10:00:00.123 UTC",
		"2024-05-01T10:00:00.123", "2024-05-01 10:00:00.123 +0000", "1714557600.123"} {
		got := parseTime(s)
		if want := "2024-05-01T10:00:00.123Z"; got.Format("2006-01-02T15:04:05.000Z07:00") != want {
			t.Errorf("parseTime(%q) = %v; want %s", s, got, want)
		}
	}
	for _, s := range []string{"", "yesterday", "-5", "1e300"} {
		if got := parseTime(s); !got.IsZero() {
			t.Errorf("parseTime(%q) = %v; want zero", s, got)
		}
	}
}

func FuzzRackSessionUser(f *testing.F) {
	for _, c := range malformedCases {
		f.Add([]byte(c.data))
	}
	for _, fx := range rubyFixtures(f) {
		f.Add(fx.value)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		uid, err := rackSessionUser(data)
		if uid < 0 || (uid != 0 && err != nil) {
			t.Fatalf("rackSessionUser = %d, %v", uid, err)
		}
	})
}
