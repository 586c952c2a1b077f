package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "a5c25ecdfe188e3590f5cbd875a0ad77bad2c1b1"}, {Key: "vcs.time", Value: "2026-12-06T20:50:59Z"}}
	for _, c := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"go install module@version", debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0"},
		{"go run, no VCS", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
		{"go build in a checkout", debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261206205059-a5c25ecdfe18"}, Settings: vcs},
			"v0.0.0-20261206205059-a5c25ecdfe18 (revision a5c25ecdfe188e3590f5cbd875a0ad77bad2c1b1, committed 2026-12-06T20:50:59Z)"},
		{"with changes", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: append(vcs, debug.BuildSetting{Key: "vcs.modified", Value: "true"})},
			"dev (revision a5c25ecdfe188e3590f5cbd875a0ad77bad2c1b1, committed 2026-12-06T20:50:59Z, with uncommitted changes)"},
	} {
		if got := versionOf(&c.bi); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	r := reauth(t, "", "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "reauth version ") {
		t.Errorf("--version: exit %d, %q", r.code, r.stdout)
	}
}
