package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reauth/reauth/internal/secretscan"
	"github.com/reauth/reauth/products/producttest"
)

// Passwords that must never be printed, whatever goes wrong; reauth() scans every output for
// them. Short ones too: an administrator's test database may well have a 3-letter password.
var (
	secret      = secretscan.Register("badinput: inline wrong password", "Sup3r-Secret-Pa55word")
	shortSecret = secretscan.Register("badinput: short inline wrong password", "Zq7")
	urlSecret   = secretscan.Register("badinput: password in the JDBC url", "k9Q%x")
)

// TestBadInput is invariant 7: bad config, flags, product tables and backups each get one clear
// line naming what is at fault and a non-zero exit, never a panic, never a password.
func TestBadInput(t *testing.T) {
	pg := server(t, "postgres")
	good := pg.NewDatabase(t)
	f, _ := producttest.For("jira", "postgres")
	f.Setup(t, good.Exec, 10)
	empty := pg.NewDatabase(t)
	noToken := pg.NewDatabase(t)
	noToken.Exec(t, "CREATE TABLE remembermetoken (id numeric(18,0) PRIMARY KEY, created timestamptz, username varchar(255))")
	my := server(t, "mysql").NewDatabase(t)

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pwFile := write("pw", pg.Password)
	// A config for target t1 whose database part is given.
	cfg := func(name, database string) string {
		return write(name+".yaml", "environment: staging\nbackup_dir: "+filepath.Join(dir, "b")+"\naudit_log: "+filepath.Join(dir, "a.jsonl")+
			"\ntargets:\n  - name: t1\n    product: jira\n    database:\n"+database)
	}
	db := func(url, user, pwLine string) string {
		return fmt.Sprintf("      url: %s\n      user: %s\n%s", url, user, pwLine)
	}
	goodDB := db(good.JDBC, pg.User, "      password_file: "+pwFile+"\n")
	goodCfg := cfg("good", goodDB)
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := closed.Addr().(*net.TCPAddr).Port
	closed.Close()

	// A real backup to damage.
	r := reauth(t, "", "--config", goodCfg, "backup", "--target", "t1", "--output", "json").mustSucceed(t)
	var bk struct{ Backup string }
	r.decode(t, &bk)
	data, _ := os.ReadFile(bk.Backup)
	tampered := strings.Replace(string(data), "tok-10003-", "tok-10003-y", 1)
	if tampered == string(data) {
		t.Fatal("no token tok-10003- in the backup to tamper with")
	}

	tests := []struct {
		name string
		args []string
		code int
		want string // in the one line on stderr
	}{
		{"yaml syntax", []string{"--config", write("syntax.yaml", "environment: [staging\n"), "plan"}, 2, "syntax.yaml"},
		{"unknown key", []string{"--config", cfg("unknown", goodDB+"      pasword_env: X\n"), "plan"}, 2, `unknown.yaml:11: targets[0].database.pasword_env: unknown key "pasword_env"`},
		{"unknown product", []string{"--config", write("product.yaml", "environment: s\ntargets:\n  - name: t1\n    product: jiro\n    database: {url: x}\n"), "plan"}, 2, `targets[0].product: unknown product "jiro"`},
		{"missing environment", []string{"--config", write("noenv.yaml", "targets:\n  - name: t1\n    product: jira\n    database: {url: x}\n"), "plan"}, 2, "environment: is required"},
		{"missing config file", []string{"--config", filepath.Join(dir, "nope.yaml"), "plan"}, 2, "nope.yaml: file not found"},
		{"bad jdbc url", []string{"--config", cfg("badurl", db("jdbc:postgresql://db.example.com:99999/jira", "u", "")), "plan"}, 2, "targets[0].database.url"},
		{"integrated security", []string{"--config", cfg("integrated", db("jdbc:sqlserver://db:1433;databaseName=jira;integratedSecurity=true", "u", "")), "plan"}, 2, "integratedSecurity"},
		{"wrong password", []string{"--config", cfg("wrongpw", db(good.JDBC, pg.User, "      password: "+secret+"\n")), "plan"}, 2, "authentication failed"},
		{"wrong password mariadb", []string{"--config", cfg("wrongpw-my", db(my.JDBC, my.Server.User, "      password: "+secret+"\n")), "plan"}, 2, "authentication failed"},
		{"wrong short password", []string{"--config", cfg("wrongpw-short", db(good.JDBC, pg.User, "      password: "+shortSecret+"\n")), "plan"}, 2, "authentication failed"},
		{"unset password env", []string{"--config", cfg("noenv-pw", db(good.JDBC, pg.User, "      password_env: REAUTH_TEST_UNSET_PW\n")), "plan"}, 2, "REAUTH_TEST_UNSET_PW is not set"},
		{"unreachable database", []string{"--config", cfg("unreachable", db(fmt.Sprintf("jdbc:postgresql://127.0.0.1:%d/jira", closedPort), "u", "      password: "+secret+"\n")), "plan"}, 1, "connect to postgres://127.0.0.1:"},
		{"unreachable database, password in the url", []string{"--config", cfg("unreachable-urlpw", db(fmt.Sprintf("jdbc:postgresql://127.0.0.1:%d/jira?password=%s", closedPort, url.QueryEscape(urlSecret)), "u", "")), "plan"}, 1, "connect to postgres://127.0.0.1:"},
		{"missing table", []string{"--config", cfg("empty", db(empty.JDBC, pg.User, "      password_file: "+pwFile+"\n")), "plan"}, 2, `no table "remembermetoken"`},
		{"table missing a column", []string{"--config", cfg("notoken", db(noToken.JDBC, pg.User, "      password_file: "+pwFile+"\n")), "clear", "--target", "t1", "--yes"}, 2, `has no column "token"`},
		{"unknown target", []string{"--config", goodCfg, "clear", "--target", "t2", "--yes"}, 2, `no target named "t2"`},
		{"unknown user", []string{"--config", goodCfg, "clear", "--target", "t1", "--user", "mallory", "--yes"}, 2, "no user mallory in public.app_user"},
		{"bad duration", []string{"--config", goodCfg, "clear", "--target", "t1", "--older-than", "3x", "--yes"}, 2, `bad duration "3x"`},
		{"bad batch size", []string{"--config", goodCfg, "clear", "--target", "t1", "--batch-size", "0", "--yes"}, 2, "--batch-size 0"},
		{"bad output", []string{"--config", goodCfg, "--output", "xml", "plan"}, 2, `--output "xml"`},
		{"backup missing", []string{"--config", goodCfg, "restore", "--yes", filepath.Join(dir, "gone.backup.jsonl")}, 2, "gone.backup.jsonl: no such file"},
		{"backup junk", []string{"--config", goodCfg, "restore", "--yes", write("junk.backup.jsonl", "hello\nworld\n")}, 2, "not a reauth backup file"},
		{"backup tampered", []string{"--config", goodCfg, "restore", "--yes", write("tampered.backup.jsonl", tampered)}, 2, "checksum mismatch"},
		{"restore without file", []string{"--config", goodCfg, "restore", "--yes"}, 2, "exactly one backup FILE"},
		{"unknown command", []string{"--config", goodCfg, "clean"}, 2, `unknown command "clean"`},
		{"unknown flag", []string{"--config", goodCfg, "clear", "--target", "t1", "--force"}, 2, "flag provided but not defined: -force"},
		{"missing required flag", []string{"--config", goodCfg, "clear"}, 2, `needs --target NAME`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reauth(t, "", tt.args...)
			t.Logf("exit %d: %s", r.code, strings.TrimSpace(r.stderr))
			if r.code != tt.code {
				t.Errorf("exit %d; want %d", r.code, tt.code)
			}
			if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "reauth: ") {
				t.Errorf("stderr is not one line starting with reauth: %q", r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q does not say %q", r.stderr, tt.want)
			}
			if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine") {
				t.Errorf("stderr shows a panic: %s", r.stderr)
			}
		})
	}
}
