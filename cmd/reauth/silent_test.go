package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/internal/harness"
	"github.com/reauth/reauth/products/gitlab"
	"github.com/reauth/reauth/restart"
	"github.com/reauth/reauth/restart/sshtest"
	"github.com/reauth/reauth/runbook"
)

// silentListener is a server that hangs right after the dial; it returns the port.
func silentListener(t *testing.T) int { return harness.SilentListener(t) }

// readmeDeadlines returns the README's "Deadlines" subsection.
func readmeDeadlines(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n### Deadlines\n")
	if i < 0 {
		t.Fatal("README.md has no Deadlines subsection")
	}
	s = s[i+1:]
	if j := strings.Index(s[4:], "\n#"); j >= 0 {
		s = s[:j+4]
	}
	return s
}

// documented checks that the README's Deadlines subsection gives d for what.
func documented(t *testing.T, readme, what string, d time.Duration) {
	t.Helper()
	want := d.String()
	if d%time.Minute == 0 {
		want = strconv.Itoa(int(d/time.Minute)) + "m"
	}
	re := regexp.MustCompile(`(?m)^\| ` + regexp.QuoteMeta(what) + ` \|[^|]*\| ` + regexp.QuoteMeta(want) + ` \|`)
	if !re.MatchString(readme) {
		t.Errorf("the README's Deadlines table does not give %s for %q (the code's default)", want, what)
	}
}

// override sets *v to d for the test (so that the suite waits seconds, not the real
// deadlines) and restores it afterwards.
func override(t *testing.T, v *time.Duration, d time.Duration) {
	old := *v
	*v = d
	t.Cleanup(func() { *v = old })
}

// writeConfig writes a config file for one test and returns its path.
func writeConfig(t *testing.T, dir, text string) string {
	t.Helper()
	path := filepath.Join(dir, "reauth.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// timedReauth runs reauth and fails the test if it does not return within limit, instead of
// hanging the suite.
func timedReauth(t *testing.T, limit time.Duration, args ...string) (result, time.Duration) {
	t.Helper()
	res := make(chan result, 1)
	start := time.Now()
	go func() { res <- reauth(t, "", args...) }()
	select {
	case r := <-res:
		return r, time.Since(start)
	case <-time.After(limit):
		t.Fatalf("reauth %s: still running after %v", strings.Join(args, " "), limit)
		return result{}, 0
	}
}

// wantNoAnswer checks one run against a silent server: exit 1 and one line on stderr that names
// the address and says it did not answer.
func wantNoAnswer(t *testing.T, r result, took time.Duration, addr, phrase string) {
	t.Helper()
	t.Logf("exit %d after %v: %s", r.code, took.Round(time.Millisecond), strings.TrimSpace(r.stderr))
	if r.code != 1 {
		t.Errorf("exit %d; want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	msg := strings.TrimSpace(r.stderr)
	if strings.Count(msg, "\n") > 0 || !strings.HasPrefix(msg, "reauth: ") {
		t.Errorf("stderr is not one reauth: line:\n%s", r.stderr)
	}
	if !strings.Contains(msg, addr) || !strings.Contains(msg, phrase) {
		t.Errorf("stderr %q; want it to name %s and say %q", msg, addr, phrase)
	}
	if strings.Contains(r.stdout+r.stderr, "silent-pw") {
		t.Error("the password was printed")
	}
}

// TestSilentServers: a database, a Redis, an SSH server and a node's HTTP endpoint that accept
// the connection and never answer. Each command ends with exit 1 and a line that names the
// server and says it did not answer, within the documented deadline (shortened here to keep the
// suite fast; the defaults are checked against the README).
func TestSilentServers(t *testing.T) {
	readme := readmeDeadlines(t)
	documented(t, readme, "database connect", db.ConnectTimeout)
	documented(t, readme, "Redis connect", gitlab.RedisConnectTimeout)
	documented(t, readme, "Redis reply", gitlab.RedisReplyTimeout)
	documented(t, readme, "SSH connect", restart.SSHConnectTimeout)
	documented(t, readme, "file read over SSH", restart.ReadFileTimeout)
	documented(t, readme, "node lock", restart.LockTimeout)
	documented(t, readme, "status probe", restart.ProbeTimeout)
	const short = time.Second
	override(t, &db.ConnectTimeout, short)
	override(t, &gitlab.RedisConnectTimeout, short)
	override(t, &restart.SSHConnectTimeout, short)
	override(t, &restart.ProbeTimeout, short)
	limit := short + 20*time.Second

	t.Run("databases", func(t *testing.T) {
		for _, c := range []struct{ dialect, url string }{
			{"postgres", "jdbc:postgresql://127.0.0.1:%d/jiradb"},
			{"mysql", "jdbc:mysql://127.0.0.1:%d/jiradb"},
			{"sqlserver", "jdbc:sqlserver://127.0.0.1:%d;databaseName=jiradb;encrypt=false"},
			{"oracle", "jdbc:oracle:thin:@//127.0.0.1:%d/JIRA"},
		} {
			t.Run(c.dialect, func(t *testing.T) {
				t.Parallel()
				port := silentListener(t)
				dir := t.TempDir()
				pw := filepath.Join(dir, "db.pw")
				os.WriteFile(pw, []byte("silent-pw\n"), 0o600)
				cfg := writeConfig(t, dir, fmt.Sprintf(`environment: staging
backup_dir: ./backups
audit_log: ./audit.jsonl
targets:
  - name: jira
    product: jira
    database:
      url: %s
      user: jira
      password_file: %s
`, fmt.Sprintf(c.url, port), pw))
				for _, args := range [][]string{{"plan"}, {"clear", "--target", "jira", "--dry-run"}} {
					r, took := timedReauth(t, limit, append([]string{"--config", cfg}, args...)...)
					wantNoAnswer(t, r, took, "127.0.0.1:"+strconv.Itoa(port), "no answer from 127.0.0.1:"+strconv.Itoa(port)+" within 1s")
				}
			})
		}
	})

	t.Run("redis", func(t *testing.T) {
		d := server(t, "postgres").NewDatabase(t)
		port := silentListener(t)
		dir := t.TempDir()
		pw := filepath.Join(dir, "db.pw")
		os.WriteFile(pw, []byte(d.Server.Password), 0o600)
		rpw := filepath.Join(dir, "redis.pw")
		os.WriteFile(rpw, []byte("silent-pw"), 0o600)
		cfg := writeConfig(t, dir, fmt.Sprintf(`environment: staging
backup_dir: ./backups
audit_log: ./audit.jsonl
targets:
  - name: gitlab
    product: gitlab
    database:
      url: %s
      password_file: %s
    redis:
      url: redis://127.0.0.1:%d
      password_file: %s
`, d.URL, pw, port, rpw))
		addr := "127.0.0.1:" + strconv.Itoa(port)
		for _, args := range [][]string{{"plan"}, {"sessions", "list", "--target", "gitlab"}} {
			r, took := timedReauth(t, limit, append([]string{"--config", cfg}, args...)...)
			wantNoAnswer(t, r, took, addr, "redis at tcp "+addr+" db 0: no answer within 1s")
		}
	})

	t.Run("ssh", func(t *testing.T) {
		port := silentListener(t)
		dir := t.TempDir()
		key := writeIdentity(t, dir)
		kh := filepath.Join(dir, "known_hosts")
		os.WriteFile(kh, nil, 0o600)
		cfg := writeConfig(t, dir, fmt.Sprintf("environment: staging\nssh:\n  user: deploy\n  identity_file: %s\n  known_hosts: %s\n  port: %d\n", key, kh, port))
		r, took := timedReauth(t, limit, "--config", cfg, "discover", "--product", "jira", "--home", "/var/atlassian/application-data/jira", "--host", "127.0.0.1")
		addr := "127.0.0.1:" + strconv.Itoa(port)
		wantNoAnswer(t, r, took, addr, "ssh handshake with "+addr+": no answer within 1s")
	})

	t.Run("http", func(t *testing.T) {
		s := sshtest.Start(t, "127.0.0.1")
		d := server(t, "postgres").NewDatabase(t)
		port := silentListener(t)
		dir := t.TempDir()
		pw := filepath.Join(dir, "db.pw")
		os.WriteFile(pw, []byte(d.Server.Password), 0o600)
		url := "http://127.0.0.1:" + strconv.Itoa(port)
		cfg := writeConfig(t, dir, fmt.Sprintf(`environment: staging
backup_dir: ./backups
audit_log: ./audit.jsonl
ssh:
  user: %s
  identity_file: %s
  known_hosts: %s
  port: %d
targets:
  - name: jira
    product: jira
    database:
      url: %s
      user: %s
      password_file: %s
    nodes:
      - host: 127.0.0.1
        url: %s
`, s.User, s.IdentityFile, s.KnownHosts, s.Port, d.JDBC, d.Server.User, pw, url))
		r, took := timedReauth(t, limit, "--config", cfg, "restart", "--target", "jira", "--dry-run")
		wantNoAnswer(t, r, took, url, "no answer from "+url+"/status within 1s")
	})
}

// writeIdentity writes an SSH private key (ed25519, no passphrase, 0600) and returns its path.
func writeIdentity(t *testing.T, dir string) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDiscoverLargeFileOverSSH: discover --host on a 20 MiB file, over a real sshd. The remote
// side is read up to reauth's limit and the rest drained, so the command ends at once, refusing
// the file with a line that says why, instead of hanging on a remote cat that nobody reads.
func TestDiscoverLargeFileOverSSH(t *testing.T) {
	s := sshtest.Start(t, "127.0.0.1")
	dir := t.TempDir()
	home := filepath.Join(dir, "jira-home")
	os.MkdirAll(home, 0o700)
	f, err := os.OpenFile(filepath.Join(home, "dbconfig.xml"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<jira-database-config>\n<!--")
	pad := []byte(strings.Repeat("x", 1<<20-1) + "\n")
	for i := 0; i < 20; i++ {
		f.Write(pad)
	}
	f.WriteString("-->\n</jira-database-config>\n")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, fmt.Sprintf("environment: staging\nssh:\n  user: %s\n  identity_file: %s\n  known_hosts: %s\n  port: %d\n",
		s.User, s.IdentityFile, s.KnownHosts, s.Port))
	r, took := timedReauth(t, restart.ReadFileTimeout+20*time.Second, "--config", cfg, "discover", "--product", "jira", "--home", home, "--host", "127.0.0.1")
	t.Logf("exit %d after %v: %s", r.code, took.Round(time.Millisecond), strings.TrimSpace(r.stderr))
	if r.code == 0 || !strings.Contains(r.stderr, "dbconfig.xml on 127.0.0.1: larger than 8 MiB") {
		t.Errorf("exit %d, stderr %q; want a refusal of the oversize file", r.code, r.stderr)
	}
	if strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("stderr is not one line:\n%s", r.stderr)
	}
}

// TestSilentSessionAPI: `sessions revoke` with base_url on an endpoint that accepts and never
// answers. The tokens are deleted, the first call gives up after the documented deadline, the
// endpoint is not asked again for the other users (three users wait one deadline, not three),
// and the result says a restart is needed.
func TestSilentSessionAPI(t *testing.T) {
	documented(t, readmeDeadlines(t), "session API", runbook.SessionAPITimeout)
	override(t, &runbook.SessionAPITimeout, time.Second)
	c := newCluster(t, "jira", clusterOpts{nodes: 1, apiAdmin: "s3cret-admin"})
	url := "http://127.0.0.1:" + strconv.Itoa(silentListener(t))
	data, _ := os.ReadFile(c.env.config)
	cfg := regexp.MustCompile(`(?m)^    base_url: .*$`).ReplaceAllString(string(data), "    base_url: "+url)
	os.WriteFile(c.env.config, []byte(cfg), 0o600)
	r, took := timedReauth(t, 20*time.Second, "--config", c.env.config, "sessions", "revoke", "--target", "jira",
		"--user", "user0", "--user", "user1", "--user", "user2", "--yes", "--output", "json")
	t.Logf("exit %d after %v", r.code, took.Round(time.Millisecond))
	var res struct {
		Users []struct {
			User, Outcome string
			Ended         bool `json:"sessions_ended"`
		}
		RestartNeeded bool `json:"restart_needed"`
	}
	r.mustSucceed(t).decode(t, &res)
	if !res.RestartNeeded || len(res.Users) != 3 {
		t.Fatalf("revoke = %+v; want three users and a restart needed", res)
	}
	if o := res.Users[0].Outcome; !strings.Contains(o, url) || !strings.Contains(o, "did not answer within 1s") {
		t.Errorf("first user's outcome %q; want the endpoint and that it did not answer", o)
	}
	for _, u := range res.Users[1:] {
		if u.Ended || !strings.HasPrefix(u.Outcome, "not called: ") {
			t.Errorf("%s: %q; want not called", u.User, u.Outcome)
		}
	}
	if took > 10*time.Second {
		t.Errorf("took %v: the endpoint was asked again after it did not answer", took)
	}
}
