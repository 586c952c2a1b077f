package tokens

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/products"
)

// Target is the target a Conn works on: its name, its product, its database, and the
// operator's overrides of the product's table and column names.
type Target struct {
	Name    string
	Product *products.Product
	Source  db.Source
	Dialect *db.Dialect
	// Table is the token table's name where the operator names it (the config's table:).
	Table string
	// Columns names the key, user and creation columns where the operator overrides the
	// product's (the config's columns:).
	Columns Columns
}

// Columns names a token table's key, user and creation columns; an empty name keeps the
// product's.
type Columns struct {
	Key, User, Created string
}

// Open finds t's token table over pool and returns the connection that works on it. The Conn
// owns pool; when Open fails, it closes pool.
func Open(ctx context.Context, t *Target, pool *sql.DB) (*Conn, error) {
	tt, err := findTokens(ctx, t, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &Conn{Target: t, Pool: pool, Tokens: tt}, nil
}

// ErrUnconfirmed marks a destructive step refused because the token table was found by an
// unverified guess that the operator has not confirmed with `table:`.
var ErrUnconfirmed = errors.New("table not confirmed")

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
	// Keep, when set, leaves out of every scope the rows whose column Keep (exact name) holds
	// KeepValue: they are not users' sessions (products.KeepRows).
	Keep      string
	KeepValue int64
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

// TableError reports a token table that is missing or not as the product lays it out.
type TableError struct {
	Msg string
	// Absent: the database has no table of that name at all.
	Absent bool
}

func (e *TableError) Error() string { return e.Msg }

func findTokens(ctx context.Context, t *Target, q db.Querier) (*TokenTable, error) {
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
	case t.Table != "":
		want = t.Table
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
			return nil, &TableError{Msg: fmt.Sprintf("%s's remember-me table is unverified, and its candidate %s is not in %s: find the table and set table: in the target", p.Title, p.Tokens.Table, where)}
		}
		if len(tables) > 1 {
			return nil, &TableError{Msg: fmt.Sprintf("%s's remember-me table is unverified, and several tables match its candidate %s (%s): set table: in the target", p.Title, p.Tokens.Table, joinTables(tables))}
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
			return nil, &TableError{Msg: fmt.Sprintf("no table %q (any case) in %s of %s: is this %s's database? (set table: or database.schema if it is named differently)", want, where, t.Source, p.Title), Absent: true}
		case len(tables) > 1:
			var exact []db.Table
			for _, tb := range tables {
				if tb.Name == want {
					exact = append(exact, tb)
				}
			}
			if len(exact) != 1 {
				return nil, &TableError{Msg: fmt.Sprintf("several tables match %q (%s): set database.schema, or table: with the exact spelling", want, joinTables(tables))}
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
				return nil, &TableError{Msg: fmt.Sprintf("table %s has no column %q, which %s's %s has (found: %s): is this the right table?", tt.Table, c.Name, p.Title, p.Tokens.Noun(), found)}
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
			return "", &TableError{Msg: fmt.Sprintf("table %s has no %s column %q (%s; found: %s): set columns.%s in the target", tt.Table, what, name, from, found, what)}
		}
		return "", nil
	}
	cc := t.Columns
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
		return nil, &TableError{Msg: fmt.Sprintf("key column %q of %s has type %s: reauth needs a numeric key (set columns.key)", kc.Name, tt.Table, kc.DataType)}
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
			return nil, &TableError{Msg: fmt.Sprintf("key column %q of %s is not the table's single-column primary key (primary key: %s): reauth needs a unique key to batch by (set columns.key to it)", tt.Key, tt.Table, shown)}
		}
	}
	if k := p.Tokens.Keep; k != nil {
		exact, ok := find(k.Column)
		if !ok {
			return nil, &TableError{Msg: fmt.Sprintf("table %s has no column %q, which tells %s's %s apart (found: %s): is this the right table?", tt.Table, k.Column, p.Title, k.Why, found)}
		}
		tt.Keep, tt.KeepValue = exact, k.Value
	}
	if tt.Created != "" {
		c, _ := tt.column(tt.Created)
		switch c.Kind {
		case db.KindTime, db.KindInt, db.KindDecimal:
			tt.CreatedKind = c.Kind
		default:
			return nil, &TableError{Msg: fmt.Sprintf("created column %q of %s has type %s, neither a time nor epoch milliseconds", c.Name, tt.Table, c.DataType)}
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
