package gitlab

import "testing"

// Ruby's own Marshal.dump output (Ruby 3.x), written out byte by byte.
var marshalCases = []struct {
	name     string
	data     string
	uid      int64
	readable bool
}{
	// {"_csrf_token"=>"tok", "warden.user.user.key"=>[[42], "$2a$10$salt"]}
	{"devise", "\x04\x08{\x07I\"\x10_csrf_token\x06:\x06ETI\"\x08tok\x06;\x00TI\"\x19warden.user.user.key\x06;\x00T[\x07[\x06i\x2fI\"\x10$2a$10$salt\x06;\x00T", 42, true},
	// {"warden.user.user.key"=>[[300], "s"]}: a two-byte fixnum
	{"fixnum 300", "\x04\x08{\x06I\"\x19warden.user.user.key\x06:\x06ET[\x07[\x06i\x02\x2c\x01I\"\x06s\x06;\x00T", 300, true},
	// {"warden.user.user.key"=>[[70000], "s"]}: three bytes
	{"fixnum 70000", "\x04\x08{\x06I\"\x19warden.user.user.key\x06:\x06ET[\x07[\x06i\x03\x70\x11\x01I\"\x06s\x06;\x00T", 70000, true},
	// {:"warden.user.user.key"=>[[7], "s"]}: a symbol key
	{"symbol key", "\x04\x08{\x06:\x19warden.user.user.key[\x07[\x06i\x0cI\"\x06s\x06:\x06ET", 7, true},
	// {"warden.user.user.key"=>["User", [9], "s"]}: Devise 1.x
	{"devise 1.x", "\x04\x08{\x06I\"\x19warden.user.user.key\x06:\x06ET[\x08I\"\x09User\x06;\x00T[\x06i\x0eI\"\x06s\x06;\x00T", 9, true},
	// {"_csrf_token"=>"x"}: nobody signed in
	{"anonymous", "\x04\x08{\x06I\"\x10_csrf_token\x06:\x06ETI\"\x06x\x06;\x00T", 0, true},
	// {"big"=>2**64, "flash"=>nil, "f"=>1.5, "warden.user.user.key"=>[[5], "s"]}
	{"bignum, nil, float", "\x04\x08{\x09I\"\x08big\x06:\x06ETl+\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00I\"\x0aflash\x06;\x00T0I\"\x06f\x06;\x00Tf\x081.5I\"\x19warden.user.user.key\x06;\x00T[\x07[\x06i\x0aI\"\x06s\x06;\x00T", 5, true},
	// {"a"=>s, "b"=>s} with one string object: an object link (@)
	{"object link", "\x04\x08{\x07I\"\x06a\x06:\x06ETI\"\x06s\x06;\x00TI\"\x06b\x06;\x00T@\x07", 0, true},
	{"not marshal", "v2:{}", 0, false},
	{"truncated", "\x04\x08{\x07I\"\x10_csrf_tok", 0, false},
	{"trailing bytes", "\x04\x08{\x00X", 0, false},
	{"bad link", "\x04\x08[\x06@\x7f", 0, false},
	{"huge length", "\x04\x08[\x04\xff\xff\xff\x7f", 0, false},
	{"not a hash", "\x04\x08[\x00", 0, false},
	{"negative user", "\x04\x08{\x06I\"\x19warden.user.user.key\x06:\x06ET[\x07[\x06i\xfaI\"\x06s\x06;\x00T", 0, false},
}

func TestRackSessionUser(t *testing.T) {
	for _, c := range marshalCases {
		uid, readable := rackSessionUser([]byte(c.data))
		if uid != c.uid || readable != c.readable {
			t.Errorf("%s: rackSessionUser = %d, %v; want %d, %v", c.name, uid, readable, c.uid, c.readable)
		}
	}
	deep := "\x04\x08" + string(make([]byte, 0))
	for range 200 {
		deep += "[\x06"
	}
	if _, readable := rackSessionUser([]byte(deep + "0")); readable {
		t.Error("200 nested arrays read; want the depth limit to refuse them")
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
	for _, c := range marshalCases {
		f.Add([]byte(c.data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		uid, readable := rackSessionUser(data)
		if uid < 0 || (uid != 0 && !readable) {
			t.Fatalf("rackSessionUser = %d, %v", uid, readable)
		}
	})
}
