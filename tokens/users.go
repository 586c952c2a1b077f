package tokens

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/products"
)

// A scope's login names are matched as the product itself matches them, never by pattern and
// never by the database's collation: each name is folded by the product's rule (Crowd's
// lower-casing for the Atlassian products), compared with the product's own folded columns
// (lower_user_name and the like) or with the fold of each name it stores, and the values found
// are compared with the token table's user column code point for code point.

// foldName folds a login or group name by the product's rule.
func (c *Conn) foldName(name string) (string, error) {
	f, exact := c.Target.Product.Tokens.Users.Fold.Apply(name)
	if !exact {
		return "", fmt.Errorf("%w: %q cannot be matched exactly: %s folds a capital sigma (Σ) by the word around it; give the name in lower case, as the product stores it", ErrScope, name, c.Target.Product.Title)
	}
	return f, nil
}

// nameSet is a set of folded names, with the form each was given in.
type nameSet struct {
	given map[string]string // folded -> as given (names that must exist)
	all   map[string]bool   // folded, given and group members
	sigma map[string]bool   // all, with ς read as σ: for stored names whose fold is uncertain
}

func (c *Conn) newNameSet(names, members []string) (*nameSet, error) {
	s := &nameSet{given: map[string]string{}, all: map[string]bool{}, sigma: map[string]bool{}}
	for _, n := range names {
		f, err := c.foldName(n)
		if err != nil {
			return nil, err
		}
		s.given[f] = n
		s.all[f] = true
	}
	for _, m := range members {
		s.all[m] = true
	}
	for f := range s.all {
		s.sigma[strings.ReplaceAll(f, "ς", "σ")] = true
	}
	return s, nil
}

// match reports whether a stored name is one of the set's, by the product's fold. A stored name
// whose fold is uncertain (it holds Σ) and could be one of them is an error: reauth will not
// guess whose tokens those are.
func (s *nameSet) match(fold products.Fold, stored, where string) (string, bool, error) {
	f, exact := fold.Apply(stored)
	if exact {
		return f, s.all[f], nil
	}
	if s.sigma[strings.ReplaceAll(f, "ς", "σ")] {
		return "", false, fmt.Errorf("%w: the name %q stored in %s holds a capital sigma (Σ), which the product folds by the word around it: reauth cannot tell whether it is one of the users in scope", ErrScope, stored, where)
	}
	return f, false, nil
}

func (s *nameSet) folded() []any {
	out := make([]any, 0, len(s.all))
	for f := range s.all {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].(string) < out[j].(string) })
	return out
}

// userValues returns the values of the token table's user column that belong to the login names
// given (each must exist: a typo in --except must not leave the account it meant to protect
// exposed) and to the group members found (folded names, which need not have tokens at all).
func (c *Conn) userValues(ctx context.Context, names, members []string) ([]any, error) {
	users := c.Target.Product.Tokens.Users
	if strings.Contains(users.Stores, "UNVERIFIED") || users.Fold != products.FoldCrowd {
		c.note(fmt.Sprintf("relied on: %s's user column holds %s; names compared %s", c.Target.Product.Title, users.Stores, map[products.Fold]string{
			products.FoldCrowd: "as Crowd folds them", products.FoldExact: "exactly (UNVERIFIED)"}[users.Fold]))
	}
	set, err := c.newNameSet(names, members)
	if err != nil {
		return nil, err
	}
	var values []any
	seen := map[string]bool{}
	add := func(v string) {
		if !seen[v] {
			seen[v] = true
			values = append(values, v)
		}
	}
	found := map[string]bool{}
	var looked []string
	for _, m := range users.Maps {
		vals, hits, table, err := c.mapNames(ctx, m, set, true)
		if err != nil {
			return nil, err
		}
		looked = append(looked, table)
		for _, v := range vals {
			add(v)
		}
		for f := range hits {
			found[f] = true
		}
	}
	if users.Names {
		spellings, err := c.storedNames(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range spellings {
			_, ok, err := set.match(users.Fold, s, c.Tokens.Table.String())
			if err != nil {
				return nil, err
			}
			if ok {
				add(s)
			}
		}
		if d := users.Directory; d != nil && len(set.given) > 0 {
			_, hits, table, err := c.mapNames(ctx, *d, set, false)
			if err != nil {
				return nil, err
			}
			if table == "" {
				c.note(fmt.Sprintf("no user table %s in schema %s: the names given to --user and --except cannot be checked, so check their spelling", d.Table, c.Tokens.Table.Schema))
				return values, nil
			}
			looked = append(looked, table)
			for f := range hits {
				found[f] = true
			}
		}
	}
	var missing []string
	for f, n := range set.given {
		if !found[f] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("%w: no user %s in %s", ErrScope, strings.Join(missing, ", "), strings.Join(looked, ", "))
	}
	return values, nil
}

// mapNames reads a product user table for the names of set: the Stored values of the rows whose
// Login is one of them, and which names were found. A missing table is an error when required,
// else reported by an empty table name.
func (c *Conn) mapNames(ctx context.Context, m products.UserMap, set *nameSet, required bool) (values []string, hits map[string]bool, table string, err error) {
	d := c.Target.Dialect
	tables, err := db.Tables(ctx, c.Pool, d, c.Tokens.Table.Schema, db.NameIs(m.Table))
	if err != nil {
		return nil, nil, "", err
	}
	if len(tables) != 1 {
		if !required {
			return nil, nil, "", nil
		}
		return nil, nil, "", fmt.Errorf("%w: cannot map login names: table %s not found (or found twice) in schema %s", ErrScope, m.Table, c.Tokens.Table.Schema)
	}
	t := tables[0]
	cols, err := c.exactColumns(ctx, t, m.Login, m.Stored)
	if err != nil {
		return nil, nil, "", err
	}
	login, stored := cols[m.Login], cols[m.Stored]
	hits = map[string]bool{}
	scan := func(q string, args []any, keep func(storedV, loginV string) (bool, error)) error {
		rows, err := c.Pool.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("resolve users through %s: %w", t, err)
		}
		defer rows.Close()
		for rows.Next() {
			var v, l sql.NullString
			if err := rows.Scan(&v, &l); err != nil {
				return fmt.Errorf("resolve users through %s: %w", t, err)
			}
			if !v.Valid || !l.Valid {
				continue
			}
			ok, err := keep(v.String, l.String)
			if err != nil {
				return err
			}
			if ok {
				values = append(values, v.String)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("resolve users through %s: %w", t, err)
		}
		return nil
	}
	if m.Folded {
		// The product folded the names it stores: compare them with ours, exactly.
		want := set.folded()
		for i := 0; i < len(want); i += d.MaxInList {
			q, args := d.Select(t, db.SelectSpec{Columns: []string{stored, login}, Where: []db.Cond{db.ExactIn(login, want[i:min(i+d.MaxInList, len(want))]...)}})
			err := scan(q, args, func(_, l string) (bool, error) {
				hits[l] = true
				return true, nil
			})
			if err != nil {
				return nil, nil, "", err
			}
		}
		return values, hits, t.String(), nil
	}
	// The product stores names as spelt: fold each one as the product does.
	q, args := d.Select(t, db.SelectSpec{Columns: []string{stored, login}})
	err = scan(q, args, func(_, l string) (bool, error) {
		f, ok, err := set.match(c.Target.Product.Tokens.Users.Fold, l, t.String())
		if ok {
			hits[f] = true
		}
		return ok, err
	})
	if err != nil {
		return nil, nil, "", err
	}
	return values, hits, t.String(), nil
}

// storedNames lists the distinct values of the token table's user column, each spelling apart
// whatever the column's collation.
func (c *Conn) storedNames(ctx context.Context) ([]string, error) {
	q, args := c.Target.Dialect.GroupCount(c.Tokens.Table, c.Tokens.User, true, "")
	rows, err := c.Pool.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read the user names of %s: %w", c.Tokens.Table, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var (
			u sql.NullString
			n int64
		)
		if err := rows.Scan(&u, &n); err != nil {
			return nil, fmt.Errorf("read the user names of %s: %w", c.Tokens.Table, err)
		}
		if u.Valid {
			out = append(out, u.String)
		}
	}
	return out, rows.Err()
}

// userIn is the condition on the token table's user column for values: exact for text, as the
// values were found exactly.
func (c *Conn) userIn(values []any, except bool) db.Cond {
	col := c.Tokens.User
	text := false
	if cc, ok := c.Tokens.column(col); ok && cc.Kind == db.KindText {
		text = true
	}
	switch {
	case except && text:
		return db.ExactNotIn(col, values...)
	case except:
		return db.NotIn(col, values...)
	case text:
		return db.ExactIn(col, values...)
	}
	return db.In(col, values...)
}
