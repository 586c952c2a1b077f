package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reauth/reauth/products/producttest"
)

// TestConfigLimits: values that would fail only at run time, or break a run half-way, are
// refused when the config is read or the table is found, with exit 2 and nothing changed.
func TestConfigLimits(t *testing.T) {
	f, _ := producttest.For("bitbucket", "postgres")
	d := server(t, "postgres").NewDatabase(t)
	f.Setup(t, d.Exec, 30)
	pool := d.Open(t)

	// A key that is not unique: a batch ending at a value shared by later rows would delete
	// rows its backup does not hold.
	e := newEnv(t, targetYAML{name: "bb", product: "bitbucket", db: d, extra: "    columns:\n      key: user_id\n"})
	r := e.run(t, "clear", "--target", "bb", "--yes")
	if r.code != 2 || !strings.Contains(r.stderr, `key column "user_id" of public.sta_remember_me_token is not the table's single-column primary key`) {
		t.Errorf("non-unique columns.key: exit %d, %q", r.code, r.stderr)
	}
	if n := producttest.Count(t, pool, f.Table); n != 30 {
		t.Errorf("%d rows left; want 30", n)
	}

	for name, extra := range map[string]string{
		"ssh.port: 70000 is not a TCP port": "ssh:\n  port: 70000\n",
	} {
		cfg := filepath.Join(t.TempDir(), "reauth.yaml")
		data, _ := os.ReadFile(e.config)
		if err := os.WriteFile(cfg, []byte(extra+string(data)), 0o600); err != nil {
			t.Fatal(err)
		}
		if r := reauth(t, "", "--config", cfg, "plan"); r.code != 2 || !strings.Contains(r.stderr, name) {
			t.Errorf("%s: exit %d, %q", name, r.code, r.stderr)
		}
	}
	e = newEnv(t, targetYAML{name: "bb", product: "bitbucket", db: d, extra: "    restart:\n      start_timeout: 1ms\n"})
	if r := e.run(t, "plan"); r.code != 2 || !strings.Contains(r.stderr, "start_timeout: 1ms is too short") {
		t.Errorf("start_timeout 1ms: exit %d, %q", r.code, r.stderr)
	}
}
