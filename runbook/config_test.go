package runbook

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/internal/secretscan"
)

// designExample is the config file of DESIGN.md, verbatim: it must load.
const designExample = `environment: staging            # required; live runs ask the operator to type it
backup_dir: ./reauth-backups
audit_log: ./reauth-audit.jsonl
ssh:
  user: deploy
  identity_file: ~/.ssh/id_ed25519   # else the ssh-agent at $SSH_AUTH_SOCK
  known_hosts: ~/.ssh/known_hosts    # always checked
  port: 22
  jump_host: bastion.example.com     # optional
targets:
  - name: jira
    product: jira                    # jira | confluence | bitbucket | bamboo | fisheye | gitlab
    database:
      url: jdbc:postgresql://db.example.com:5432/jiradb   # as in the product's config file, or a native DSN
      user: jira
      password_env: JIRA_DB_PASSWORD  # or password_file; an inline password works but is warned about
      schema: public                  # optional
      # instead of url/user/password:  discover: { home: /var/atlassian/application-data/jira }
    table: remembermetoken            # optional override; required where the product's table is unverified
    nodes:
      - host: jira1.example.com           # SSH address
        url: http://jira1.example.com:8080  # probed directly, not through the load balancer
      - host: jira2.example.com
        url: http://jira2.example.com:8080
    restart:                          # product defaults apply
      stop: sudo systemctl stop jira
      start: sudo systemctl start jira
      install_dir: /opt/atlassian/jira    # server.xml and SESSIONS.ser checks
      stop_timeout: 5m
      start_timeout: 15m
      settle: 30s                     # RUNNING for this long before the next node goes down
  - name: gitlab
    product: gitlab
    redis: { url: "unix:///var/opt/gitlab/redis/redis.socket" }
    database: { url: "postgres:///gitlabhq_production?host=/var/opt/gitlab/postgresql", user: gitlab }
`

func TestDesignExampleLoads(t *testing.T) {
	cfg, err := ParseConfig("/etc/reauth/reauth.yaml", []byte(designExample))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Environment != "staging" || len(cfg.Targets) != 2 || cfg.BackupDir != "/etc/reauth/reauth-backups" {
		t.Errorf("parsed %+v", cfg)
	}
	j := cfg.Targets[0]
	if j.Restart.StartTimeout != Duration(15*time.Minute) || len(j.Nodes) != 2 || j.Database.PasswordEnv != "JIRA_DB_PASSWORD" {
		t.Errorf("jira target = %+v", j)
	}
}

func TestConfigErrors(t *testing.T) {
	base := "environment: prod\ntargets:\n  - name: j\n    product: jira\n    database:\n      url: jdbc:postgresql://h/db\n"
	second := "  - name: k\n    product: confluence\n    database:\n      url: jdbc:postgresql://h/db2\n"
	tests := []struct{ name, yaml, want string }{
		{"unknown top key", "environment: p\ntarget: []\n", `c.yaml:2: target: unknown key "target"`},
		{"unknown nested key", base + "    restart:\n      stopp: x\n", `c.yaml:8: targets[0].restart.stopp: unknown key "stopp"`},
		{"duplicate key", base + "    table: a\n    table: b\n", "key given twice"},
		{"bad duration", base + "    restart:\n      settle: 30 seconds\n", `c.yaml:8: bad duration "30 seconds"`},
		{"negative duration", base + "    restart:\n      settle: -5s\n", `bad duration "-5s"`},
		{"wrong type", base + "    nodes: {host: a}\n", "targets[0].nodes: expected a list"},
		{"port not a number", "environment: p\nssh:\n  port: twenty\n" + base[len("environment: prod\n"):], "c.yaml:3: cannot unmarshal"},
		{"no targets", "environment: p\n", "targets: at least one target is required"},
		{"environment with space", "environment: my prod\n", "must be one word"},
		{"bad target name", strings.Replace(base, "name: j", "name: ../etc", 1), `targets[0].name: "../etc" must be`},
		{"duplicate target", base + "  - name: j\n    product: jira\n    database: {url: x}\n", `"j" is used by two targets`},
		{"two passwords", base + "      password: a\n      password_env: B\n", "only one of password"},
		{"no url", "environment: p\ntargets:\n  - name: j\n    product: jira\n", "database.url: is required"},
		{"empty", "", "file is empty"},
		{"two documents", base + "---\nenvironment: x\n", "more than one YAML document"},
		{"tabs", "environment: p\n\ttargets: []\n", "not valid YAML"},
		{"scalar root", "hello\n", "expected a mapping"},
		{"ssh port out of range", "environment: p\nssh:\n  port: 70000\n" + base[len("environment: prod\n"):], "ssh.port: 70000 is not a TCP port"},
		{"negative ssh port", "environment: p\nssh:\n  port: -1\n" + base[len("environment: prod\n"):], "ssh.port: -1 is not a TCP port"},
		{"start timeout too short", base + "    restart:\n      start_timeout: 1ms\n", "targets[0].restart.start_timeout: 1ms is too short"},
		{"stop timeout too short", base + "    restart:\n      stop_timeout: 10ms\n", "targets[0].restart.stop_timeout: 10ms is too short"},
		{"negative redis db", base + "    redis: {db: -1}\n", "targets[0].redis.db: -1 is not"},
		{"redis ca_file without TLS", base + "    redis: {url: 'redis://:pw@r1:6379', ca_file: ca.pem}\n", "targets[0].redis.ca_file: is for a TLS Redis, and redis.url is not rediss://"},
		{"node host in two targets", base + "    nodes: [{host: n1, url: 'http://n1:8080'}]\n" + second + "    nodes: [{host: N1:22, url: 'http://n1b:8080'}]\n",
			`targets[1].nodes[0].host: "N1:22" is also a node of target j`},
		{"node url in two targets", base + "    nodes: [{host: n1, url: 'http://n1:8080'}]\n" + second + "    nodes: [{host: n2, url: 'http://N1:8080/'}]\n",
			`targets[1].nodes[0].url: "http://N1:8080/" is also a node of target j`},
		{"node url twice, default port", base + "    nodes: [{host: n1, url: 'http://n1'}, {host: n2, url: 'http://n1:80'}]\n",
			`targets[0].nodes[1].url: "http://n1:80" is listed for two nodes`},
		{"relative node lock dir", "environment: p\nssh:\n  node_lock_dir: tmp\n" + base[len("environment: prod\n"):], `ssh.node_lock_dir: "tmp" must be an absolute path`},
	}
	for _, tt := range tests {
		_, err := ParseConfig("c.yaml", []byte(tt.yaml))
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: ParseConfig = %v; want a ConfigError saying %q", tt.name, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", tt.name, err)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"720h", 720 * time.Hour, true},
		{"30d", 30 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"0s", 0, true},
		{"", 0, false},
		{"3x", 0, false},
		{"d", 0, false},
		{"-1h", 0, false},
		{"1.5d", 0, false},
		{"99999999999d", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestPrepareCredentials(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte(secretscan.Register("config: password in a password_file", "from-file")+"\n"), 0o644)
	t.Setenv("REAUTH_TEST_PW", secretscan.Register("config: password in password_env", "from-env"))
	secretscan.Register("config: inline password", "inline-pw")
	cfg, err := ParseConfig(filepath.Join(dir, "c.yaml"), []byte(`environment: p
targets:
  - {name: env, product: jira, database: {url: "jdbc:postgresql://h/db", user: u, password_env: REAUTH_TEST_PW}}
  - {name: file, product: jira, database: {url: "jdbc:postgresql://h/db", user: u, password_file: pw}}
  - {name: inline, product: jira, database: {url: "jdbc:postgresql://h/db", user: u, password: inline-pw}}
  - {name: bb-mysql, product: bitbucket, database: {url: "jdbc:mysql://h/db", user: u}}
`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"env": "from-env", "file": "from-file", "inline": "inline-pw"} {
		tg, err := cfg.Prepare(context.Background(), name)
		if err != nil || tg.Secret() != want {
			t.Errorf("Prepare(%s) password = %q, %v; want %q", name, tg.Secret(), err, want)
		}
		if err == nil {
			secretscan.Check(t, "Prepare("+name+")'s warnings", strings.Join(tg.Warnings, "\n"))
		}
	}
	if tg, _ := cfg.Prepare(context.Background(), "inline"); len(tg.Warnings) == 0 {
		t.Error("an inline password is not warned about")
	}
	if tg, _ := cfg.Prepare(context.Background(), "file"); len(tg.Warnings) == 0 || !strings.Contains(tg.Warnings[0], "chmod 600") {
		t.Error("a world-readable password file is not warned about")
	}
	if _, err := cfg.Prepare(context.Background(), "bb-mysql"); err == nil || !strings.Contains(err.Error(), "does not run on MySQL") {
		t.Errorf("Bitbucket on MySQL: %v; want refused", err)
	}
	secrets := strings.Join(cfg.Secrets(), ",")
	for _, s := range []string{"from-env", "from-file", "inline-pw"} {
		if !strings.Contains(secrets, s) {
			t.Errorf("Secrets() = %q misses %q", secrets, s)
		}
	}
}

// FuzzParseConfig: any input gives a config or a one-line *ConfigError, never a panic.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(designExample))
	f.Add([]byte("environment: p\ntargets:\n  - {name: j, product: jira, database: {url: x}}\n"))
	f.Add([]byte("environment: [\n"))
	f.Add([]byte("a: &x {b: *x}\n"))
	f.Add([]byte("environment: p\ntargets: &t [*t]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("f.yaml", data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *ConfigError: %v", err, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if cfg.Environment == "" || len(cfg.Targets) == 0 {
			t.Fatalf("accepted a config without environment or targets")
		}
	})
}

// TestKeycloakLogoutAll: an issuer of the form of a Keycloak realm's gives the realm's
// logout-all admin endpoint (Keycloak's admin REST API, /admin/realms/{realm}/logout-all, under
// /auth before Keycloak 17); any other issuer gives none.
func TestKeycloakLogoutAll(t *testing.T) {
	for _, tc := range []struct{ issuer, want string }{
		{"https://kc.example.com/realms/corp", "https://kc.example.com/admin/realms/corp/logout-all"},
		{"https://kc.example.com/auth/realms/corp/", "https://kc.example.com/auth/admin/realms/corp/logout-all"},
		{"https://kc.example.com:8443/realms/a%20b", "https://kc.example.com:8443/admin/realms/a%20b/logout-all"},
		{"http://www.okta.com/exk1", ""},
		{"https://crowd.example.com/crowd", ""},
		{"https://kc.example.com/realms/", ""},
		{"https://kc.example.com/realms/corp/protocol/openid-connect", ""},
		{"realms/corp", ""},
	} {
		got, ok := keycloakLogoutAll(tc.issuer)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("keycloakLogoutAll(%q) = %q, %v; want %q", tc.issuer, got, ok, tc.want)
		}
	}
}
