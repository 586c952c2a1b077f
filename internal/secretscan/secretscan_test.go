package secretscan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reauth/reauth/internal/harness"
)

func TestScan(t *testing.T) {
	long := Register("test: long", "Pl4nted-p@ss/w0rd&")
	short := Register("test: short", "Zq7")
	for _, tt := range []struct {
		text  string
		label string // "" for none
		form  string
	}{
		{"error: connect: password " + long + " rejected", "test: long", "as is"},
		{"postgres://u:Pl4nted-p%40ss%2Fw0rd&@127.0.0.1/db", "test: long", "percent-encoded"},
		{"?password=Pl4nted-p%40ss%2Fw0rd%26", "test: long", "percent-encoded"},
		{`{"dsn":"Pl4nted-p@ss/w0rd\u0026"}`, "test: long", "JSON-escaped"},
		{"<password>UGw0bnRlZC1wQHNzL3cwcmQm</password>", "test: long", "base64"},
		{"Pl4nted-p@ss", "", ""}, // a part is not the secret
		{"password: Zq7\n", "test: short", "as is"},
		{`{"password":"Zq7"}`, "test: short", "as is"},
		{"Zq7", "test: short", "as is"},
		{"run Zq7a1b done", "", ""}, // a short secret inside a word is a coincidence
		{"id 9Zq7 and xZq7", "", ""},
		{"", "", ""},
	} {
		got := Scan([]byte(tt.text))
		switch {
		case tt.label == "" && len(got) != 0:
			t.Errorf("Scan(%q) = %v; want nothing", tt.text, got)
		case tt.label != "" && (len(got) != 1 || got[0].Label != tt.label || got[0].Form != tt.form):
			t.Errorf("Scan(%q) = %v; want %s %s", tt.text, got, tt.label, tt.form)
		}
		for _, f := range got {
			if strings.Contains(f.Context, long) || strings.Contains(f.Context, short) {
				t.Errorf("Scan(%q): the finding %v shows the secret", tt.text, f)
			}
		}
	}
	got := Scan([]byte("before " + long + " between Zq7 after"))
	if len(got) != 2 || !strings.Contains(got[0].Context, "before <SECRET> between <SECRET> after") {
		t.Errorf("two secrets: %v; want both, masked in the context", got)
	}
}

// TestCheckFails plants secrets in an output and in a file under a folder and checks that the
// checks fail the test, naming the place and the label but never showing the secret.
func TestCheckFails(t *testing.T) {
	pw := Register("test: planted in a backup", harness.RandomHex(16))
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "backups"), 0o700); err != nil {
		t.Fatal(err)
	}
	clean := filepath.Join(dir, "backups", "clean.json")
	leaky := filepath.Join(dir, "backups", "run-report.md")
	os.WriteFile(clean, []byte(`{"rows":3}`), 0o600)
	os.WriteFile(leaky, []byte("# Report\nurl: postgres://u:"+pw+"@db/x\n"), 0o600)

	for _, tt := range []struct {
		name  string
		check func(tb testing.TB)
		want  []string
	}{
		{"stderr", func(tb testing.TB) { Check(tb, "stderr of reauth plan", "reauth: wrong password "+pw) },
			[]string{"stderr of reauth plan", "test: planted in a backup", "wrong password <SECRET>"}},
		{"folder", func(tb testing.TB) { CheckPath(tb, "backup_dir", filepath.Join(dir, "backups")) },
			[]string{"backup_dir", leaky, "test: planted in a backup", "postgres://u:<SECRET>@db/x"}},
		{"clean file", func(tb testing.TB) { CheckPath(tb, "file", clean) }, nil},
		{"missing", func(tb testing.TB) { CheckPath(tb, "audit log", filepath.Join(dir, "none.jsonl")) }, nil},
	} {
		r := &Recorder{TB: t}
		tt.check(r)
		msg := r.Errors()
		if (len(tt.want) == 0) != (msg == "") {
			t.Errorf("%s: errors %q; want %q", tt.name, msg, tt.want)
		}
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: errors %q; want %q in them", tt.name, msg, w)
			}
		}
		if strings.Contains(msg, pw) {
			t.Errorf("%s: the error shows the secret: %q", tt.name, msg)
		}
	}
}
