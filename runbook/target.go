package runbook

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/products"
	"github.com/reauth/reauth/tokens"
)

// Target is a configured target made ready to connect: its product facts, where its database
// is, and the credentials, which are never printed.
type Target struct {
	tokens.Target
	Config *TargetConfig
	// Warnings are things the operator should know before trusting a run (printed by plan).
	Warnings []string

	cred db.Credentials
	// announce, for a discovered connection, tells the operator where it goes before the
	// first connection sends credentials there.
	announce func()
}

// Secret is the database password, for callers that must keep it out of output.
func (t *Target) Secret() string { return t.cred.Password }

// Prepare resolves a target: parses its database URL (or reads the connection from the
// product's own config file, database.discover), reads its password from the environment or a
// file, and checks that the product runs on that database. It does not connect to the database.
func (c *Config) Prepare(ctx context.Context, name string) (*Target, error) {
	tc, err := c.Target(name)
	if err != nil {
		return nil, err
	}
	field := func(s string) string {
		for i := range c.Targets {
			if c.Targets[i].Name == tc.Owner() {
				return fmt.Sprintf("targets[%d].%s", i, s)
			}
		}
		return s
	}
	if tc.gitlab() {
		return nil, c.fail(tc, field("product"), "gitlab targets are not supported by this command: their sessions live in Redis (see `reauth sessions`)")
	}
	p, err := tc.productFacts()
	if err != nil {
		return nil, c.fail(tc, field("product"), "%w", err)
	}
	var (
		src        db.Source
		discovered *products.Discovered
		where      string
	)
	d := tc.Database
	if d.Discover != nil {
		// A part's product files are its target's: on the target's first node.
		own, err := c.Target(tc.Owner())
		if err != nil {
			return nil, err
		}
		host := ""
		if len(own.Nodes) > 0 {
			host = own.Nodes[0].Host
		}
		discovered, where, err = c.Discover(ctx, p, d.Discover.Home, host, own.Restart.InstallDir)
		if err != nil && !(errors.Is(err, products.ErrEncryptedPassword) && discovered != nil && d.givesPassword()) {
			return nil, c.fail(tc, field("database.discover"), "%w", err)
		}
		src = discovered.Source
		c.addSecret(discovered.Password)
		if err := c.checkPin(tc, field("database.discover.expect_host"), where, sourceEndpoints(src), d.Discover.ExpectHost, d.givesPassword()); err != nil {
			return nil, err
		}
	} else {
		var err error
		if src, err = db.ParseURL(d.URL); err != nil {
			return nil, c.fail(tc, field("database.url"), "%w", err)
		}
	}
	if tc.Database.Schema != "" {
		src.Schema = tc.Database.Schema
	}
	if !p.Supports(src.Dialect) {
		return nil, c.fail(tc, field("database.url"), "%s does not run on %s (supported: %s)", p.Title, db.Dialects[src.Dialect].Title, strings.Join(p.Databases, ", "))
	}
	t := &Target{Config: tc, Target: tokens.Target{Name: tc.Name, Product: p, Source: src, Dialect: db.Dialects[src.Dialect],
		Table: tc.Table, Columns: tokens.Columns(tc.Columns)}}
	t.cred.User = tc.Database.User
	if t.cred.User == "" {
		t.cred.User = src.User
	}
	if discovered != nil {
		if t.cred.User == "" {
			t.cred.User = discovered.User
		}
		t.Warnings = append(t.Warnings, "database connection read from "+where)
		t.announce = func() { c.announce(t.Name, src.String(), where) }
		t.Warnings = append(t.Warnings, discovered.Notes...)
	}
	if t.cred.User == "" {
		return nil, c.fail(tc, field("database.user"), "is required")
	}
	pw, given, err := c.secretFrom(tc, field("database"), d.Password, d.PasswordEnv, d.PasswordFile)
	if err != nil {
		return nil, err
	}
	switch {
	case given:
		t.cred.Password = pw
		if d.Password != "" {
			t.Warnings = append(t.Warnings, "the database password is written in the config file: prefer password_env or password_file")
		}
	case discovered != nil:
		t.cred.Password = discovered.Password
	case src.URLPassword != "":
		t.cred.Password = src.URLPassword
		t.Warnings = append(t.Warnings, "the database password is written in the database URL: prefer password_env or password_file")
	}
	t.Warnings = append(t.Warnings, c.exposed[tc.Owner()]...)
	return t, nil
}

// Connect opens the target's database and finds its token table.
func (t *Target) Connect(ctx context.Context) (*tokens.Conn, error) {
	if t.announce != nil {
		t.announce()
	}
	pool, err := db.Open(ctx, t.Source, t.cred)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", t.Name, err)
	}
	c, err := tokens.Open(ctx, &t.Target, pool)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", t.Name, err)
	}
	return c, nil
}
