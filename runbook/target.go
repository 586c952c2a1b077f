package runbook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/products"
)

// ErrUnconfirmed marks a destructive step refused because the token table was found by an
// unverified guess that the operator has not confirmed with `table:`.
var ErrUnconfirmed = errors.New("table not confirmed")

// Target is a configured target made ready to connect: its product facts, where its database
// is, and the credentials, which are never printed.
type Target struct {
	Name    string
	Config  *TargetConfig
	Product *products.Product
	Source  db.Source
	Dialect *db.Dialect
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
			if &c.Targets[i] == tc {
				return fmt.Sprintf("targets[%d].%s", i, s)
			}
		}
		return s
	}
	if tc.gitlab() {
		return nil, c.fail(tc, field("product"), "gitlab targets are not supported by this command: their sessions live in Redis (see `reauth sessions`)")
	}
	p, err := products.Lookup(tc.Product)
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
		host := ""
		if len(tc.Nodes) > 0 {
			host = tc.Nodes[0].Host
		}
		var err error
		discovered, where, err = c.Discover(ctx, p, d.Discover.Home, host, tc.Restart.InstallDir)
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
	t := &Target{Name: tc.Name, Config: tc, Product: p, Source: src, Dialect: db.Dialects[src.Dialect]}
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
	t.Warnings = append(t.Warnings, c.exposed[tc.Name]...)
	return t, nil
}

// Conn is an open connection to a target's database, with its token table found.
type Conn struct {
	Target *Target
	Pool   *sql.DB
	Tokens *TokenTable
	notes  []string
}

// Close closes the connection.
func (c *Conn) Close() error { return c.Pool.Close() }

// TokenTable is a target's remember-me table as found in the catalog.
type TokenTable struct {
	Table   db.Table
	Columns []db.Column
	// Key, User and Created are exact column names; User and Created may be empty.
	Key, User, Created string
	// CreatedKind is KindTime for a timestamp, KindInt or KindDecimal for epoch milliseconds.
	CreatedKind db.Kind
	// Unconfirmed is set when the table was guessed from an unverified fact and not named by
	// the operator: it may be read but not cleared.
	Unconfirmed bool
	// Relied lists the unverified facts or overrides the discovery relied on.
	Relied []string
}

func (tt *TokenTable) column(name string) (db.Column, bool) {
	for _, c := range tt.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return db.Column{}, false
}

// ColumnNames lists the exact column names in table order.
func (tt *TokenTable) ColumnNames() []string {
	out := make([]string, len(tt.Columns))
	for i, c := range tt.Columns {
		out[i] = c.Name
	}
	return out
}

// Connect opens the target's database and finds its token table.
func (t *Target) Connect(ctx context.Context) (*Conn, error) {
	if t.announce != nil {
		t.announce()
	}
	pool, err := db.Open(ctx, t.Source, t.cred)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", t.Name, err)
	}
	tt, err := t.findTokens(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("target %s: %w", t.Name, err)
	}
	return &Conn{Target: t, Pool: pool, Tokens: tt}, nil
}

// TableError reports a token table that is missing or not as the product lays it out.
type TableError struct {
	Msg string
}

func (e *TableError) Error() string { return e.Msg }

func (t *Target) findTokens(ctx context.Context, q db.Querier) (*TokenTable, error) {
	p := t.Product
	tt := &TokenTable{}
	schema := t.Source.Schema
	where := "the connection's default schema"
	if schema != "" {
		where = "schema " + schema
	}
	var (
		tables []db.Table
		err    error
		want   string
	)
	switch {
	case t.Config.Table != "":
		want = t.Config.Table
		tables, err = db.Tables(ctx, q, t.Dialect, schema, db.NameIs(want))
		if !p.Tokens.Verified {
			tt.Relied = append(tt.Relied, fmt.Sprintf("table %q named by the config's table: (the product's table is unverified)", want))
		} else if !strings.EqualFold(want, p.Tokens.Table) {
			tt.Relied = append(tt.Relied, fmt.Sprintf("table %q from the config's table: instead of the product's %q", want, p.Tokens.Table))
		}
	case p.Tokens.Verified:
		want = p.Tokens.Table
		tables, err = db.Tables(ctx, q, t.Dialect, schema, db.NameIs(want))
	default:
		// The product's table is only a candidate (no public source confirms it): it may be read,
		// but nothing is deleted until the operator names it with table:.
		tables, err = db.Tables(ctx, q, t.Dialect, schema, db.NameIs(p.Tokens.Table))
		if err != nil {
			return nil, err
		}
		if len(tables) == 0 {
			return nil, &TableError{fmt.Sprintf("%s's remember-me table is unverified, and its candidate %s is not in %s: find the table and set table: in the target", p.Title, p.Tokens.Table, where)}
		}
		if len(tables) > 1 {
			return nil, &TableError{fmt.Sprintf("%s's remember-me table is unverified, and several tables match its candidate %s (%s): set table: in the target", p.Title, p.Tokens.Table, joinTables(tables))}
		}
		tt.Unconfirmed = true
		tt.Relied = append(tt.Relied, fmt.Sprintf("table %s is %s's candidate remember-me table, UNVERIFIED (%s): confirm it with table: %s", tables[0], p.Title, p.Tokens.Source, tables[0].Name))
	}
	if err != nil {
		return nil, err
	}
	if want != "" {
		switch {
		case len(tables) == 0:
			return nil, &TableError{fmt.Sprintf("no table %q (any case) in %s of %s: is this %s's database? (set table: or database.schema if it is named differently)", want, where, t.Source, p.Title)}
		case len(tables) > 1:
			var exact []db.Table
			for _, tb := range tables {
				if tb.Name == want {
					exact = append(exact, tb)
				}
			}
			if len(exact) != 1 {
				return nil, &TableError{fmt.Sprintf("several tables match %q (%s): set database.schema, or table: with the exact spelling", want, joinTables(tables))}
			}
			tables = exact
		}
	}
	tt.Table = tables[0]
	if tt.Columns, err = db.Columns(ctx, q, t.Dialect, tt.Table); err != nil {
		return nil, err
	}
	find := func(name string) (string, bool) {
		for _, c := range tt.Columns {
			if strings.EqualFold(c.Name, name) {
				return c.Name, true
			}
		}
		return "", false
	}
	found := strings.Join(tt.ColumnNames(), ", ")
	if p.Tokens.ColumnsVerified {
		for _, c := range p.Tokens.Columns {
			if _, ok := find(c.Name); !ok {
				return nil, &TableError{fmt.Sprintf("table %s has no column %q, which %s's remember-me table has (found: %s): is this the right table?", tt.Table, c.Name, p.Title, found)}
			}
		}
	} else if len(p.Tokens.Columns) > 0 {
		tt.Relied = append(tt.Relied, fmt.Sprintf("%s's token columns are unverified: using key %q, user %q, created %q unless columns: says otherwise", p.Title, p.Tokens.Key, p.Tokens.User, p.Tokens.Created))
	}
	role := func(override, def, what string, required bool) (string, error) {
		name, from := def, "product default"
		if override != "" {
			name, from = override, "columns: in the config"
		}
		if name == "" {
			return "", nil
		}
		if exact, ok := find(name); ok {
			return exact, nil
		}
		if required || override != "" {
			return "", &TableError{fmt.Sprintf("table %s has no %s column %q (%s; found: %s): set columns.%s in the target", tt.Table, what, name, from, found, what)}
		}
		return "", nil
	}
	cc := t.Config.Columns
	if tt.Key, err = role(cc.Key, p.Tokens.Key, "key", true); err != nil {
		return nil, err
	}
	if tt.User, err = role(cc.User, p.Tokens.User, "user", false); err != nil {
		return nil, err
	}
	if tt.Created, err = role(cc.Created, p.Tokens.Created, "created", false); err != nil {
		return nil, err
	}
	if kc, _ := tt.column(tt.Key); kc.Kind != db.KindInt && kc.Kind != db.KindDecimal {
		// Batches page through the key with > and ORDER BY; for text, the database's collation
		// and the bound parameter's can disagree, and rows could be skipped.
		return nil, &TableError{fmt.Sprintf("key column %q of %s has type %s: reauth needs a numeric key (set columns.key)", kc.Name, tt.Table, kc.DataType)}
	}
	if !p.Tokens.ColumnsVerified || cc.Key != "" {
		// Batches end at a key value and delete up to it: with a key that is not unique, rows
		// sharing the last value could be deleted without being in the batch's backup.
		pk, err := db.PrimaryKey(ctx, q, t.Dialect, tt.Table)
		if err != nil {
			return nil, err
		}
		if len(pk) != 1 || pk[0] != tt.Key {
			shown := strings.Join(pk, ", ")
			if shown == "" {
				shown = "none"
			}
			return nil, &TableError{fmt.Sprintf("key column %q of %s is not the table's single-column primary key (primary key: %s): reauth needs a unique key to batch by (set columns.key to it)", tt.Key, tt.Table, shown)}
		}
	}
	if tt.Created != "" {
		c, _ := tt.column(tt.Created)
		switch c.Kind {
		case db.KindTime, db.KindInt, db.KindDecimal:
			tt.CreatedKind = c.Kind
		default:
			return nil, &TableError{fmt.Sprintf("created column %q of %s has type %s, neither a time nor epoch milliseconds", c.Name, tt.Table, c.DataType)}
		}
	}
	return tt, nil
}

func joinTables(ts []db.Table) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return strings.Join(s, ", ")
}
