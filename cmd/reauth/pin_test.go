package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reauth/reauth/internal/secretscan"
	"github.com/reauth/reauth/products/gitlab/gitlabtest"
)

// recorder is a loopback server that records every connection and every byte it receives,
// then hangs up: it stands for a listener that a compromised node's rewritten file points at.
type recorder struct {
	ln    net.Listener
	mu    sync.Mutex
	conns int
	got   []byte
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns++
			r.mu.Unlock()
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(300 * time.Millisecond))
				b, _ := io.ReadAll(c)
				r.mu.Lock()
				r.got = append(r.got, b...)
				r.mu.Unlock()
			}()
		}
	}()
	return r
}

func (r *recorder) port() int { return r.ln.Addr().(*net.TCPAddr).Port }

func (r *recorder) seen() (int, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns, string(r.got)
}

// TestDiscoveredEndpointPinned is issue 12's first failure: with database.discover the
// server comes from the product's file on a node, while the password may come from the
// config. A node whose file was rewritten to point at a listener of its own must not receive
// that password: reauth refuses a discovered server the config does not name in expect_host,
// and says where it connects before it sends anything.
func TestDiscoveredEndpointPinned(t *testing.T) {
	password := secretscan.Register("TestDiscoveredEndpointPinned password_env", "pinned-Operator-Pw-91")
	t.Setenv("REAUTH_PIN_TEST_PW", password)
	dir := t.TempDir()

	type setup struct {
		name  string
		write func(fake int) (config string) // writes the product's files and a config
		field string                         // the expect_host key named when refused
		pin   func(config, hosts string)     // adds expect_host to the config
	}
	config := func(name, body string) string {
		path := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(path, []byte("environment: staging\nbackup_dir: ./"+name+"-backups\naudit_log: ./"+name+"-audit.jsonl\ntargets:\n"+body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write := func(path, data string) {
		os.MkdirAll(filepath.Dir(path), 0o700)
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dbconfig := func(home, url string) {
		write(filepath.Join(home, "dbconfig.xml"), `<?xml version="1.0" encoding="UTF-8"?>
<jira-database-config>
  <name>defaultDS</name>
  <delegator-name>default</delegator-name>
  <database-type>postgres72</database-type>
  <jdbc-datasource>
    <url>`+url+`</url>
    <username>jira</username>
    <password>{ATL_SECURED}</password>
  </jdbc-datasource>
</jira-database-config>
`)
	}
	replace := func(config, old, new string) {
		data, _ := os.ReadFile(config)
		if !strings.Contains(string(data), old) {
			t.Fatalf("%s has no %q", config, old)
		}
		os.WriteFile(config, []byte(strings.Replace(string(data), old, new, 1)), 0o600)
	}
	setups := []setup{
		{name: "jira postgres", field: "database.discover.expect_host", write: func(fake int) string {
			home := filepath.Join(dir, "jira-pg")
			dbconfig(home, fmt.Sprintf("jdbc:postgresql://127.0.0.1:%d/jiradb?sslmode=disable", fake))
			return config("jira-pg", "  - name: jira\n    product: jira\n    database:\n      discover: { home: "+yamlQuote(home)+" }\n      password_env: REAUTH_PIN_TEST_PW\n")
		}},
		{name: "jira mysql", field: "database.discover.expect_host", write: func(fake int) string {
			home := filepath.Join(dir, "jira-my")
			dbconfig(home, fmt.Sprintf("jdbc:mysql://127.0.0.1:%d/jiradb?useSSL=false", fake))
			return config("jira-my", "  - name: jira\n    product: jira\n    database:\n      discover: { home: "+yamlQuote(home)+" }\n      password_env: REAUTH_PIN_TEST_PW\n")
		}},
		{name: "gitlab database.yml", field: "database.discover.expect_host", write: func(fake int) string {
			home := filepath.Join(dir, "gitlab-db")
			write(filepath.Join(home, "gitlab-rails/etc/database.yml"), fmt.Sprintf("production:\n  main:\n    adapter: postgresql\n    database: gitlabhq_production\n    username: gitlab\n    host: 127.0.0.1\n    port: %d\n    sslmode: disable\n", fake))
			return config("gitlab-db", "  - name: gitlab\n    product: gitlab\n    database:\n      discover: { home: "+yamlQuote(home)+" }\n      password_env: REAUTH_PIN_TEST_PW\n    redis:\n      url: redis://127.0.0.1:1\n")
		}},
		{name: "gitlab resque.yml", field: "redis.expect_host", write: func(fake int) string {
			home := filepath.Join(dir, "gitlab-redis")
			// The database and its password come from database.yml together: nothing to pin.
			// The Redis named by resque.yml gets the password from the config: pinned.
			d := server(t, "postgres").NewDatabase(t)
			gitlabtest.Schema(t, d)
			s := d.Server
			write(filepath.Join(home, "gitlab-rails/etc/database.yml"), fmt.Sprintf("production:\n  main:\n    adapter: postgresql\n    database: %s\n    username: %q\n    password: %q\n    host: %q\n    port: %d\n    sslmode: disable\n", d.Name, s.User, s.Password, s.Host, s.Port))
			write(filepath.Join(home, "gitlab-rails/etc/resque.yml"), fmt.Sprintf("production:\n  url: redis://127.0.0.1:%d/0\n", fake))
			return config("gitlab-redis", "  - name: gitlab\n    product: gitlab\n    database:\n      discover: { home: "+yamlQuote(home)+" }\n    redis:\n      password_env: REAUTH_PIN_TEST_PW\n")
		}, pin: func(config, hosts string) {
			replace(config, "    redis:\n", "    redis:\n      expect_host: "+hosts+"\n")
		}},
	}
	for _, s := range setups {
		t.Run(s.name, func(t *testing.T) {
			fake := newRecorder(t)
			cfg := s.write(fake.port())
			pin := s.pin
			if pin == nil {
				pin = func(config, hosts string) { pinDiscovery(t, config, hosts) }
			}
			// Unpinned, then pinned to another server: refused before any connection.
			for _, step := range []struct{ pin, why string }{{"", "no expect_host"}, {"[db.example.com, 127.0.0.9]", "another server"}} {
				if step.pin != "" {
					pin(cfg, step.pin)
				}
				r := reauth(t, "", "--config", cfg, "plan")
				if r.code != 2 || !strings.Contains(r.stderr, s.field) || !strings.Contains(r.stderr, fmt.Sprintf("127.0.0.1:%d", fake.port())) {
					t.Errorf("%s: exit %d, stderr %q; want 2 naming %s and the discovered server", step.why, r.code, r.stderr, s.field)
				}
				if strings.Contains(r.stdout+r.stderr, password) {
					t.Errorf("%s: the password was printed", step.why)
				}
				time.Sleep(50 * time.Millisecond)
				if n, _ := fake.seen(); n != 0 {
					t.Fatalf("%s: the discovered server received %d connections", step.why, n)
				}
			}
			// Pinned: reauth says where it connects, then connects.
			if s.pin == nil {
				pinDiscovery(t, cfg, fmt.Sprintf(`"127.0.0.1:%d"`, fake.port()))
			} else {
				replace(cfg, "expect_host: [db.example.com, 127.0.0.9]", fmt.Sprintf(`expect_host: "127.0.0.1:%d"`, fake.port()))
			}
			r := reauth(t, "", "--config", cfg, "plan")
			announced := strings.Index(r.stderr, "connecting to ")
			if announced < 0 || !strings.Contains(r.stderr[announced:], fmt.Sprintf("127.0.0.1:%d", fake.port())) {
				t.Errorf("pinned: stderr does not say where reauth connects:\n%s", r.stderr)
			}
			deadline := time.Now().Add(2 * time.Second)
			for {
				// (Once pinned, the server is the operator's choice: Redis AUTH, say, sends the
				// password at once, in clear unless the URL is rediss://.)
				if n, _ := fake.seen(); n > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("pinned: the server received no connection (exit %d, %q)", r.code, r.stderr)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
