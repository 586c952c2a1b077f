package harness

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestSkipOrFail(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		r := Capture(t, func(tb testing.TB) { SkipOrFail(tb, "no widget") })
		if ci == "true" && (r.SkipMsg != "" || !strings.Contains(r.FatalMsg, "no widget")) ||
			ci == "" && (r.FatalMsg != "" || r.SkipMsg != "no widget") {
			t.Errorf("CI=%q: skip %q, fatal %q", ci, r.SkipMsg, r.FatalMsg)
		}
	}
}

func TestSweep(t *testing.T) {
	parent := t.TempDir()
	const prefix = "harness-sweep-"
	dead := filepath.Join(parent, prefix+"dead")
	kept := filepath.Join(parent, prefix+"kept")
	mine := filepath.Join(parent, prefix+"mine")
	for _, d := range []string{dead, kept, mine} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// A pid that cannot be running: above the kernel's limit.
	os.WriteFile(filepath.Join(dead, "owner.pid"), []byte("99999999"), 0o600)
	os.WriteFile(filepath.Join(kept, "owner.pid"), []byte("99999999"), 0o600)
	os.WriteFile(filepath.Join(kept, "keep"), nil, 0o600)
	os.WriteFile(filepath.Join(mine, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o600)
	made, err := OwnedDir(parent, prefix, 0o700)
	if err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]bool{dead: false, kept: true, mine: true, made: true} {
		if _, err := os.Stat(d); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(d), err == nil, want)
		}
	}
}
