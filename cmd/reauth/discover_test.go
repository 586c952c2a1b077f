package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/reauth/reauth/internal/secretscan"
)

// jiraHome writes a Jira local home whose dbconfig.xml points at the cluster's database, with
// the password as given (plain, Base64 with the cipher provider, or {ATL_SECURED}).
func jiraHome(t testing.TB, c *cluster, form string) string {
	t.Helper()
	home := filepath.Join(c.dir, "jira-home-"+form)
	os.MkdirAll(home, 0o700)
	pw, cipher := c.db.Server.Password, ""
	switch form {
	case "base64":
		pw = base64.StdEncoding.EncodeToString([]byte(pw))
		cipher = "<atlassian-password-cipher-provider>com.atlassian.db.config.password.ciphers.base64.Base64Cipher</atlassian-password-cipher-provider>"
	case "secured":
		pw = "{ATL_SECURED}"
	}
	xml := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<jira-database-config>
  <name>defaultDS</name>
  <delegator-name>default</delegator-name>
  <database-type>postgres72</database-type>
  <schema-name>public</schema-name>
  <jdbc-datasource>
    <url>%s?tcpKeepAlive=true&amp;socketTimeout=240</url>
    <driver-class>org.postgresql.Driver</driver-class>
    <username>%s</username>
    %s
    <password>%s</password>
    <pool-max-size>20</pool-max-size>
  </jdbc-datasource>
</jira-database-config>
`, c.db.JDBC, c.db.Server.User, cipher, pw)
	if err := os.WriteFile(filepath.Join(home, "dbconfig.xml"), []byte(xml), 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}

// useDiscovery replaces the target's database section by database.discover.
func useDiscovery(t testing.TB, c *cluster, home, extra string) {
	t.Helper()
	data, _ := os.ReadFile(c.env.config)
	s := string(data)
	i := strings.Index(s, "    database:\n")
	j := strings.Index(s, "    nodes:\n")
	s = s[:i] + "    database:\n      discover: { home: " + yamlQuote(home) + " }\n" + extra + s[j:]
	if err := os.WriteFile(c.env.config, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDiscovery: the product's own config file, read locally and on a node over SSH, with a
// plain, a Base64 and an {ATL_SECURED} password; and a plan that uses database.discover.
func TestDiscovery(t *testing.T) {
	c := newCluster(t, "jira", clusterOpts{nodes: 1})
	c.loginUsers(t, 4)
	secret := c.db.Server.Password
	for _, form := range []string{"plain", "base64"} {
		home := jiraHome(t, c, form)
		for _, where := range []string{"local", "ssh"} {
			args := []string{"--config", c.env.config, "discover", "--product", "jira", "--home", home}
			if where == "ssh" {
				args = append(args, "--host", c.nodes[0].host)
			}
			r := reauth(t, "", args...).mustSucceed(t)
			if !strings.Contains(r.stdout, "postgres://127.0.0.1:") || !strings.Contains(r.stdout, c.db.Name) || !strings.Contains(r.stdout, "(not shown)") {
				t.Errorf("%s/%s: discover printed:\n%s", form, where, r.stdout)
			}
			if where == "ssh" && !strings.Contains(r.stdout, "127.0.0.2 over SSH") {
				t.Errorf("%s: not read over SSH:\n%s", form, r.stdout)
			}
			if strings.Contains(r.stdout+r.stderr, secret) || strings.Contains(r.stdout+r.stderr, base64.StdEncoding.EncodeToString([]byte(secret))) {
				t.Errorf("%s/%s: discover printed the password", form, where)
			}
		}
		// plan reads it from the target's first node.
		useDiscovery(t, c, home, "")
		var plan struct {
			Targets []struct {
				Ready    bool
				Tokens   int64
				Warnings []string
			}
		}
		c.env.run(t, "plan", "--output", "json").mustSucceed(t).decode(t, &plan)
		if !plan.Targets[0].Ready || plan.Targets[0].Tokens != 2 || !strings.Contains(strings.Join(plan.Targets[0].Warnings, " "), "dbconfig.xml on 127.0.0.2 over SSH") {
			t.Errorf("%s: plan with database.discover = %+v", form, plan)
		}
	}
	// {ATL_SECURED}: refused with a way out, which then works.
	home := jiraHome(t, c, "secured")
	r := reauth(t, "", "discover", "--product", "jira", "--home", home)
	if r.code != 2 || !strings.Contains(r.stderr, "password_env") {
		t.Errorf("{ATL_SECURED}: exit %d, %q; want 2 and password_env", r.code, r.stderr)
	}
	useDiscovery(t, c, home, "")
	if r := c.env.run(t, "plan"); r.code != 2 || !strings.Contains(r.stderr, "password_env") {
		t.Errorf("plan with {ATL_SECURED} and no password given: exit %d, %q", r.code, r.stderr)
	}
	pw := filepath.Join(c.dir, "given.pw")
	os.WriteFile(pw, []byte(secret), 0o600)
	// The password now comes from the config, not from the file that names the server: the
	// server must be one the config names too.
	useDiscovery(t, c, home, "      password_file: "+yamlQuote(pw)+"\n")
	if r := c.env.run(t, "plan"); r.code != 2 || !strings.Contains(r.stderr, "expect_host") {
		t.Errorf("plan with a discovered, unpinned server and password_file: exit %d, %q; want 2 naming expect_host", r.code, r.stderr)
	}
	pinDiscovery(t, c.env.config, "127.0.0.1")
	r = c.env.run(t, "plan").mustSucceed(t)
	if !strings.Contains(r.stderr, "connecting to postgres://127.0.0.1:") {
		t.Errorf("plan does not say where it sends the password first:\n%s", r.stderr)
	}
}

// pinDiscovery adds expect_host to a config's database.discover.
func pinDiscovery(t testing.TB, config, hosts string) {
	t.Helper()
	data, _ := os.ReadFile(config)
	re := regexp.MustCompile(`discover: \{ home: ([^}]*?)(, expect_host: [^}]*)? \}`)
	s := re.ReplaceAllString(string(data), "discover: { home: $1, expect_host: "+hosts+" }")
	if err := os.WriteFile(config, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDiscoverBeforeTargets: discover is what an admin runs while writing the config, so it
// works with no config file at all, and with one that has only environment: and ssh: so far.
func TestDiscoverBeforeTargets(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "jira-home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	password := secretscan.Register("discover: password in a jira dbconfig.xml", "s3cret-Passw0rd")
	xml := `<?xml version="1.0" encoding="UTF-8"?>
<jira-database-config>
  <name>defaultDS</name>
  <delegator-name>default</delegator-name>
  <database-type>postgres72</database-type>
  <schema-name>public</schema-name>
  <jdbc-datasource>
    <url>jdbc:postgresql://db.example.com:5432/jiradb</url>
    <driver-class>org.postgresql.Driver</driver-class>
    <username>jira</username>
    <password>` + password + `</password>
  </jdbc-datasource>
</jira-database-config>
`
	if err := os.WriteFile(filepath.Join(home, "dbconfig.xml"), []byte(xml), 0o600); err != nil {
		t.Fatal(err)
	}
	settingsOnly := filepath.Join(dir, "reauth.yaml")
	if err := os.WriteFile(settingsOnly, []byte("environment: staging\nssh:\n  user: deploy\n  port: 22\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, config := range map[string]string{"no config file": filepath.Join(dir, "absent.yaml"), "settings only": settingsOnly} {
		r := reauth(t, "", "--config", config, "discover", "--product", "jira", "--home", home).mustSucceed(t)
		if !strings.Contains(r.stdout, "db.example.com") || !strings.Contains(r.stdout, "User:      jira") {
			t.Errorf("%s: discover printed:\n%s", name, r.stdout)
		}
	}
	// Commands that act on targets still need one.
	if r := reauth(t, "", "--config", settingsOnly, "plan"); r.code != 2 || !strings.Contains(r.stderr, "at least one target is required") {
		t.Errorf("plan with no targets: exit %d, %q", r.code, r.stderr)
	}
}
