package runbook

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretsOneOwner: every password a config names or holds is known as soon as the config
// is read, whatever its length and wherever it is (environment, file, inline, database URL,
// Redis password file, Redis URL userinfo or option, admin password file), and is masked.
func TestSecretsOneOwner(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("redis.pw", "redis-from-file\n", 0o600)
	write("admin.pw", "adm\n", 0o640)
	t.Setenv("REAUTH_TEST_DB_PW", "db1")
	cfgPath := write("c.yaml", `environment: p
targets:
  - {name: j, product: jira, database: {url: "jdbc:postgresql://h/db?user=u&password=url-pw-q", password_env: REAUTH_TEST_DB_PW}, admin: {user: a, password_file: admin.pw}, base_url: "https://jira.example.com"}
  - {name: g, product: gitlab, database: {url: "jdbc:postgresql://h/db", user: u, password: in}, redis: {url: "redis://:r%40url@h:6379/0", password_file: redis.pw}}
  - {name: g2, product: gitlab, database: {url: "jdbc:postgresql://h/db", user: u}, redis: {url: "redis://h:6379?password=opt-pw"}}
`, 0o644)
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	known := strings.Join(cfg.Secrets(), "\n")
	for _, s := range []string{"db1", "url-pw-q", "adm", "in", "redis-from-file", "r@url", "opt-pw"} {
		if !strings.Contains("\n"+known+"\n", "\n"+s+"\n") {
			t.Errorf("Secrets() misses %q", s)
		}
		if got := cfg.Scrub("auth with " + s + " failed"); got != "auth with xxxxx failed" {
			t.Errorf("Scrub: %q", got)
		}
	}
	// Short ones are masked as words, not inside other words.
	if got := cfg.Scrub("index db1x admin"); got != "index db1x admin" {
		t.Errorf("short secret masked inside words: %q", got)
	}
	// Readable by others: the admin password file, and the config holding inline passwords.
	exp := cfg.Exposed()
	if w := strings.Join(exp["j"], "\n"); !strings.Contains(w, "admin.pw (admin.password_file) is readable by other users (mode 0640)") ||
		!strings.Contains(w, "config file "+cfgPath+" holds a password and is readable by other users (mode 0644)") {
		t.Errorf("target j exposure: %q", w)
	}
	if w := strings.Join(exp["g"], "\n"); !strings.Contains(w, "holds a password") || strings.Contains(w, "redis.pw") {
		t.Errorf("target g exposure: %q", w)
	}
	os.Chmod(cfgPath, 0o600)
	os.Chmod(filepath.Join(dir, "admin.pw"), 0o600)
	if cfg, err = LoadConfig(cfgPath); err != nil || len(cfg.Exposed()) != 0 {
		t.Errorf("private files still reported: %v %v", cfg.Exposed(), err)
	}
}

// TestConfigErrorKeepsCause: a config error names the field and still carries its cause.
func TestConfigErrorKeepsCause(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	os.MkdirAll(home, 0o700)
	os.WriteFile(filepath.Join(home, "dbconfig.xml"), []byte(`<jira-database-config><database-type>postgres72</database-type><jdbc-datasource><url>jdbc:postgresql://evil.example.com/j</url><username>j</username><password>{ATL_SECURED}</password></jdbc-datasource></jira-database-config>`), 0o600)
	cfg, err := ParseConfig(filepath.Join(dir, "c.yaml"), []byte(`environment: p
targets:
  - {name: missing, product: jira, database: {url: "jdbc:postgresql://h/db", user: u, password_file: nope.pw}}
  - {name: unpinned, product: jira, database: {discover: {home: `+home+`, expect_host: db.example.com}, password_file: nope.pw}}
`))
	if err != nil {
		t.Fatal(err)
	}
	var ce *ConfigError
	if _, err := cfg.Prepare(context.Background(), "missing"); !errors.As(err, &ce) || !errors.Is(err, fs.ErrNotExist) || ce.Field != "targets[0].database.password_file" {
		t.Errorf("missing password file: %v", err)
	}
	if _, err := cfg.Prepare(context.Background(), "unpinned"); !errors.As(err, &ce) || !errors.Is(err, ErrUnpinned) || !strings.Contains(err.Error(), "evil.example.com:5432") {
		t.Errorf("unpinned server: %v", err)
	}
}
