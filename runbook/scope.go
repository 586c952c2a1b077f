package runbook

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/products"
)

// ErrScope marks a scope that cannot be applied to a target: an unknown user, or a filter the
// product's table has no column for.
var ErrScope = errors.New("scope")

// Scope says which remember-me rows a command acts on. The zero Scope is every row.
type Scope struct {
	Users     []string      // login names; empty (and no Groups): everyone
	Groups    []string      // groups whose members are in scope, nested groups included
	Except    []string      // login names never touched
	OlderThan time.Duration // 0: any age
	// Now is when ages are measured from; fixed once so that every statement of a run agrees.
	Now time.Time
}

// Cutoff is the creation time before which a row is in scope, when OlderThan is set.
func (s Scope) Cutoff() time.Time { return s.Now.Add(-s.OlderThan).UTC() }

// String describes the scope for people, the audit log and backup manifests.
func (s Scope) String() string {
	var parts []string
	if len(s.Users) > 0 {
		parts = append(parts, "users "+strings.Join(s.Users, ", "))
	}
	if len(s.Groups) > 0 {
		parts = append(parts, "members of "+strings.Join(s.Groups, ", "))
	}
	if len(s.Users) == 0 && len(s.Groups) == 0 {
		parts = append(parts, "all users")
	}
	if len(s.Except) > 0 {
		parts = append(parts, "except "+strings.Join(s.Except, ", "))
	}
	if s.OlderThan > 0 {
		parts = append(parts, fmt.Sprintf("created before %s (older than %s)", s.Cutoff().Format(time.RFC3339), s.OlderThan))
	}
	return strings.Join(parts, "; ")
}

// conditions turns the scope into WHERE conditions on the target's token table. Login names
// are resolved the way the product stores them; a name that matches nobody is an error, so
// that a typo in --except never exposes the account it was meant to protect.
func (c *Conn) conditions(ctx context.Context, s Scope) ([]db.Cond, error) {
	tt := c.Tokens
	var conds []db.Cond
	if len(s.Users) > 0 || len(s.Groups) > 0 || len(s.Except) > 0 {
		if tt.User == "" {
			return nil, fmt.Errorf("%w: %s's table %s has no user column: --user, --group and --except cannot apply (set columns.user if it has one)", ErrScope, c.Target.Product.Title, tt.Table)
		}
	}
	if len(s.Users) > 0 || len(s.Groups) > 0 {
		var members []string
		if len(s.Groups) > 0 {
			var err error
			if members, err = c.groupMembers(ctx, s.Groups); err != nil {
				return nil, err
			}
		}
		cond, err := c.userCond(ctx, s.Users, members, false)
		if err != nil {
			return nil, err
		}
		conds = append(conds, cond)
	}
	if len(s.Except) > 0 {
		cond, err := c.userCond(ctx, s.Except, nil, true)
		if err != nil {
			return nil, err
		}
		conds = append(conds, cond)
	}
	params := 0
	for _, cd := range conds {
		params += len(cd.Values)
	}
	if limit := c.Target.Dialect.MaxParams - 16; params > limit {
		return nil, fmt.Errorf("%w: the scope names %d users, more than one %s statement can carry (%d): narrow it, or clear everyone with --except", ErrScope, params, c.Target.Dialect.Title, limit)
	}
	if s.OlderThan > 0 {
		if tt.Created == "" {
			return nil, fmt.Errorf("%w: %s's table %s has no creation time: --older-than cannot apply", ErrScope, c.Target.Product.Title, tt.Table)
		}
		if tt.CreatedKind == db.KindTime {
			conds = append(conds, db.Less(tt.Created, s.Cutoff()))
		} else {
			conds = append(conds, db.Less(tt.Created, s.Cutoff().UnixMilli()))
		}
	}
	return conds, nil
}

// userCond builds the condition on the token table's user column for the login names given
// (each must exist) and those found as group members (which need not have tokens, or rows in
// the product's user map, at all).
func (c *Conn) userCond(ctx context.Context, names, members []string, except bool) (db.Cond, error) {
	var lower []any
	seen := map[string]bool{}
	for _, n := range append(append([]string{}, names...), members...) {
		if l := strings.ToLower(n); !seen[l] {
			seen[l] = true
			lower = append(lower, l)
		}
	}
	tokens := c.Target.Product.Tokens
	if tokens.Users == nil {
		// The token table stores login names: check that they exist, where the product has a
		// user table to check against, so that a typo in --except is an error.
		if d := tokens.Directory; d != nil {
			if _, err := c.lookupUsers(ctx, d, names, true); err != nil {
				return db.Cond{}, err
			}
		} else if len(names) > 0 {
			c.note(fmt.Sprintf("%s has no user table reauth knows: the names given to --user and --except cannot be checked, so check their spelling", c.Target.Product.Title))
		}
		if except {
			return db.NotLowerIn(c.Tokens.User, lower...), nil
		}
		return db.LowerIn(c.Tokens.User, lower...), nil
	}
	// The token table stores something else than the login name (Jira's user key, Bitbucket's
	// user id): map through the product's user table.
	values, err := c.lookupUsers(ctx, tokens.Users, names, true)
	if err != nil {
		return db.Cond{}, err
	}
	if len(members) > 0 {
		more, err := c.lookupUsers(ctx, tokens.Users, members, false)
		if err != nil {
			return db.Cond{}, err
		}
		values = append(values, more...)
	}
	if except {
		return db.NotIn(c.Tokens.User, values...), nil
	}
	return db.In(c.Tokens.User, values...), nil
}

// lookupUsers finds login names in a product user table (case-insensitively) and returns the
// Stored column's values. With strict, a name that is not there is an error. A missing table is
// an error where the values are needed (a user map), else a note for the plan.
func (c *Conn) lookupUsers(ctx context.Context, m *products.UserMap, names []string, strict bool) ([]any, error) {
	if len(names) == 0 {
		return nil, nil
	}
	d := c.Target.Dialect
	required := m != c.Target.Product.Tokens.Directory
	lower := make([]any, len(names))
	for i, n := range names {
		lower[i] = strings.ToLower(n)
	}
	tables, err := db.Tables(ctx, c.Pool, d, c.Tokens.Table.Schema, db.NameIs(m.Table))
	if err != nil {
		return nil, err
	}
	if len(tables) != 1 {
		if !required {
			c.note(fmt.Sprintf("no user table %s in schema %s: the names given to --user and --except cannot be checked, so check their spelling", m.Table, c.Tokens.Table.Schema))
			return nil, nil
		}
		return nil, fmt.Errorf("%w: cannot map login names: table %s not found (or found twice) in schema %s", ErrScope, m.Table, c.Tokens.Table.Schema)
	}
	cols, err := db.Columns(ctx, c.Pool, d, tables[0])
	if err != nil {
		return nil, err
	}
	exact := func(name string) string {
		for _, col := range cols {
			if strings.EqualFold(col.Name, name) {
				return col.Name
			}
		}
		return ""
	}
	login, stored := exact(m.Login), exact(m.Stored)
	if login == "" || stored == "" {
		return nil, fmt.Errorf("%w: cannot map login names: table %s lacks column %s or %s", ErrScope, tables[0], m.Login, m.Stored)
	}
	var values []any
	found := map[string]bool{}
	for i := 0; i < len(lower); i += d.MaxInList {
		chunk := lower[i:min(i+d.MaxInList, len(lower))]
		q, args := d.Select(tables[0], db.SelectSpec{Columns: []string{stored, login}, Where: []db.Cond{db.LowerIn(login, chunk...)}})
		rows, err := c.Pool.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("resolve users through %s: %w", tables[0], err)
		}
		for rows.Next() {
			var v, l string
			if err := rows.Scan(&v, &l); err != nil {
				rows.Close()
				return nil, fmt.Errorf("resolve users through %s: %w", tables[0], err)
			}
			values = append(values, v)
			found[strings.ToLower(l)] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("resolve users through %s: %w", tables[0], err)
		}
	}
	var missing []string
	for _, n := range names {
		if !found[strings.ToLower(n)] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 && strict {
		sort.Strings(missing)
		return nil, fmt.Errorf("%w: no user %s in %s", ErrScope, strings.Join(missing, ", "), tables[0])
	}
	return values, nil
}

// note records something the plan should say about how the scope was applied.
func (c *Conn) note(s string) {
	for _, n := range c.notes {
		if n == s {
			return
		}
	}
	c.notes = append(c.notes, s)
}

// Notes are what the plan should say about how the scope was applied.
func (c *Conn) Notes() []string { return c.notes }
