package runbook

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/internal/secrets"
	"github.com/reauth/reauth/products/gitlab"
)

// Every password reauth uses is read by secretFrom (those the config names: inline, from the
// environment, from a file) or found in a URL or a product's file; each is recorded in the
// config's secrets.Set as it is resolved, and output is scrubbed with that set where it leaves
// reauth (the terminal, the audit log, reports).

// passwordRead is the outcome of reading one password source, kept so that it is read once.
type passwordRead struct {
	value string
	ok    bool   // a source was given
	sub   string // the field at fault: password_env or password_file
	err   error
}

// SecretSet is every password this invocation has resolved so far, for scrubbing output.
func (c *Config) SecretSet() *secrets.Set { return c.secrets }

// Secrets returns every recorded password, in the forms it may take in text.
func (c *Config) Secrets() []string { return c.secrets.Values() }

// Scrub masks every password this invocation knows in s.
func (c *Config) Scrub(s string) string { return c.secrets.Scrub(s) }

// addSecret records a password found while running (a discovered one).
func (c *Config) addSecret(s string) { c.secrets.Add(s) }

// readPassword reads a password given inline, in an environment variable or in a file, once
// per source, and records it.
func (c *Config) readPassword(inline, env, file string) passwordRead {
	key := inline + "\x00" + env + "\x00" + file
	c.pwMu.Lock()
	defer c.pwMu.Unlock()
	if r, ok := c.passwords[key]; ok {
		return r
	}
	var r passwordRead
	switch {
	case env != "":
		v, ok := os.LookupEnv(env)
		r = passwordRead{value: v, ok: true, sub: "password_env"}
		if !ok {
			r.err = fmt.Errorf("environment variable %s is not set", env)
		}
	case file != "":
		r = passwordRead{ok: true, sub: "password_file"}
		b, err := os.ReadFile(file)
		if err != nil {
			r.err = err
		} else {
			r.value = strings.TrimRight(string(b), "\r\n")
		}
	case inline != "":
		r = passwordRead{value: inline, ok: true, sub: "password"}
	}
	c.secrets.Add(r.value)
	if c.passwords == nil {
		c.passwords = map[string]passwordRead{}
	}
	c.passwords[key] = r
	return r
}

// secretFrom reads a password given inline, in an environment variable or in a file; field
// names the config section (targets[0].database) for errors.
func (c *Config) secretFrom(tc *TargetConfig, field, inline, env, file string) (string, bool, error) {
	r := c.readPassword(inline, env, file)
	if r.err != nil {
		return "", false, c.fail(tc, field+"."+r.sub, "%w", r.err)
	}
	return r.value, r.ok, nil
}

// recordSecrets reads every password the config names or holds, so that output is scrubbed
// of them from the start, even in an error about another target; problems (an unset variable)
// are reported by the command that needs the password.
func (c *Config) recordSecrets() {
	for i := range c.Targets {
		t := &c.Targets[i]
		d := t.Database
		c.readPassword(d.Password, d.PasswordEnv, d.PasswordFile)
		if src, err := db.ParseURL(d.URL); err == nil {
			c.secrets.Add(src.URLPassword)
		}
		c.readPassword("", t.Redis.PasswordEnv, t.Redis.PasswordFile)
		for _, p := range gitlab.RedisURLPasswords(t.Redis.URL) {
			c.secrets.Add(p)
		}
		c.readPassword("", t.Admin.PasswordEnv, t.Admin.PasswordFile)
	}
}

// exposure finds the passwords that other users of this machine can read: password files
// and, when it holds a password itself, the config file. They are warnings, and refusals
// under --strict.
func (c *Config) exposure() {
	c.exposed = map[string][]string{}
	configMode := os.FileMode(0)
	if st, err := os.Stat(c.Path); err == nil {
		configMode = st.Mode().Perm()
	}
	for i := range c.Targets {
		t := &c.Targets[i]
		var w []string
		for _, f := range []struct{ field, path string }{
			{"database.password_file", t.Database.PasswordFile},
			{"redis.password_file", t.Redis.PasswordFile},
			{"admin.password_file", t.Admin.PasswordFile},
		} {
			if f.path == "" {
				continue
			}
			if st, err := os.Stat(f.path); err == nil && st.Mode().Perm()&0o077 != 0 {
				w = append(w, fmt.Sprintf("password file %s (%s) is readable by other users (mode %04o): chmod 600 it", f.path, f.field, st.Mode().Perm()))
			}
		}
		inline := t.Database.Password != "" || len(gitlab.RedisURLPasswords(t.Redis.URL)) > 0
		if src, err := db.ParseURL(t.Database.URL); err == nil && src.URLPassword != "" {
			inline = true
		}
		if inline && configMode&0o077 != 0 {
			w = append(w, fmt.Sprintf("config file %s holds a password and is readable by other users (mode %04o): chmod 600 it, or use password_env or password_file", c.file, configMode))
		}
		if len(w) > 0 {
			c.exposed[t.Name] = w
		}
	}
}

// Exposed returns, per target, the passwords that other users of this machine can read.
func (c *Config) Exposed() map[string][]string { return c.exposed }

// announce tells the operator, once per endpoint, where reauth is about to send credentials
// that it read from a product's file on a node rather than from the config.
func (c *Config) announce(target, endpoint, where string) {
	c.pwMu.Lock()
	key := target + "\x00" + endpoint
	seen := c.announced[key]
	if c.announced == nil {
		c.announced = map[string]bool{}
	}
	c.announced[key] = true
	c.pwMu.Unlock()
	if !seen && c.Announce != nil {
		c.Announce(fmt.Sprintf("target %s: connecting to %s (read from %s)", target, endpoint, where))
	}
}

// pwState is the part of Config that holds resolved passwords.
type pwState struct {
	// Announce, when set, is told of each discovered endpoint before credentials go to it.
	Announce func(string)

	secrets   *secrets.Set
	pwMu      sync.Mutex
	passwords map[string]passwordRead
	exposed   map[string][]string
	announced map[string]bool
}
