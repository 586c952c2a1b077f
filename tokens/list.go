package tokens

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/reauth/reauth/db"
)

// UserTokens is one user's remember-me tokens.
type UserTokens struct {
	// User is the login name, folded as the product folds it where it compares names so (the
	// stored value itself when it maps to no user, with Unknown set).
	User    string `json:"user"`
	Unknown bool   `json:"unknown,omitempty"`
	// Stored are the values of the token table's user column counted here: a user key, an id,
	// or each spelling of a name.
	Stored []string   `json:"stored"`
	Tokens int64      `json:"tokens"`
	Oldest *time.Time `json:"oldest,omitempty"`
	Newest *time.Time `json:"newest,omitempty"`
}

// ListTokens counts the remember-me tokens in scope per user, most first.
func (c *Conn) ListTokens(ctx context.Context, s Scope) ([]UserTokens, error) {
	tt := c.Tokens
	if tt.User == "" {
		return nil, fmt.Errorf("%w: %s's table %s has no user column (set columns.user if it has one)", ErrScope, c.Target.Product.Title, tt.Table)
	}
	conds, err := c.conditions(ctx, s)
	if err != nil {
		return nil, err
	}
	d := c.Target.Dialect
	q, args := d.GroupCount(tt.Table, tt.User, true, tt.Created, conds...)
	rows, err := c.Pool.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list tokens of %s: %w", tt.Table, err)
	}
	defer rows.Close()
	var per []UserTokens
	for rows.Next() {
		var (
			u          sql.NullString
			n          int64
			minT, maxT = db.ScanTarget(tt.CreatedKind), db.ScanTarget(tt.CreatedKind)
		)
		dest := []any{&u, &n}
		if tt.Created != "" {
			dest = append(dest, minT, maxT)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("list tokens of %s: %w", tt.Table, err)
		}
		ut := UserTokens{User: u.String, Tokens: n}
		if u.Valid {
			ut.Stored = []string{u.String}
		} else {
			ut.User, ut.Unknown = "(no user)", true
		}
		if tt.Created != "" {
			ut.Oldest, ut.Newest = createdTime(minT, tt.CreatedKind), createdTime(maxT, tt.CreatedKind)
		}
		per = append(per, ut)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens of %s: %w", tt.Table, err)
	}
	names, err := c.loginNames(ctx, per)
	if err != nil {
		return nil, err
	}
	out := mergeByUser(per, names)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Tokens != out[j].Tokens {
			return out[i].Tokens > out[j].Tokens
		}
		return out[i].User < out[j].User
	})
	return out, nil
}

// mergeByUser adds up the counts of the stored values that belong to one login name.
func mergeByUser(per []UserTokens, names map[string]string) []UserTokens {
	var out []UserTokens
	at := map[string]int{}
	for _, ut := range per {
		if len(ut.Stored) == 0 {
			out = append(out, ut)
			continue
		}
		login, ok := names[ut.Stored[0]]
		if !ok {
			ut.Unknown = true
			out = append(out, ut)
			continue
		}
		i, seen := at[login]
		if !seen {
			at[login] = len(out)
			ut.User = login
			out = append(out, ut)
			continue
		}
		m := &out[i]
		m.Tokens += ut.Tokens
		m.Stored = append(m.Stored, ut.Stored...)
		if ut.Oldest != nil && (m.Oldest == nil || ut.Oldest.Before(*m.Oldest)) {
			m.Oldest = ut.Oldest
		}
		if ut.Newest != nil && (m.Newest == nil || ut.Newest.After(*m.Newest)) {
			m.Newest = ut.Newest
		}
	}
	for i := range out {
		sort.Strings(out[i].Stored)
	}
	return out
}

func createdTime(dest any, kind db.Kind) *time.Time {
	s, ok := db.Text(dest)
	if !ok {
		return nil
	}
	if kind == db.KindTime {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil
		}
		return &t
	}
	var ms int64
	if _, err := fmt.Sscan(s, &ms); err != nil {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

// loginNames maps stored values to login names: through the product's user tables (Jira's user
// keys, Bitbucket's ids), and, where the column holds names, by the product's fold.
func (c *Conn) loginNames(ctx context.Context, per []UserTokens) (map[string]string, error) {
	users := c.Target.Product.Tokens.Users
	out := map[string]string{}
	var stored []any
	for _, u := range per {
		if len(u.Stored) > 0 {
			stored = append(stored, u.Stored[0])
		}
	}
	if len(stored) == 0 {
		return out, nil
	}
	d := c.Target.Dialect
	for _, m := range users.Maps {
		tables, err := db.Tables(ctx, c.Pool, d, c.Tokens.Table.Schema, db.NameIs(m.Table))
		if err != nil {
			return nil, err
		}
		if len(tables) != 1 {
			c.note(fmt.Sprintf("no table %s in schema %s: users are shown as the token table stores them", m.Table, c.Tokens.Table.Schema))
			continue
		}
		mc, err := c.exactColumns(ctx, tables[0], m.Stored, m.Login)
		if err != nil {
			return nil, err
		}
		col, _ := db.Columns(ctx, c.Pool, d, tables[0])
		cond := db.In
		for _, cc := range col {
			if cc.Name == mc[m.Stored] && cc.Kind == db.KindText {
				cond = db.ExactIn
			}
		}
		for i := 0; i < len(stored); i += d.MaxInList {
			err := c.each(ctx, tables[0], []string{mc[m.Stored], mc[m.Login]}, []db.Cond{cond(mc[m.Stored], stored[i:min(i+d.MaxInList, len(stored))]...)}, func(v []sql.NullString) {
				if v[0].Valid && v[1].Valid {
					if _, dup := out[v[0].String]; !dup {
						out[v[0].String] = v[1].String
					}
				}
			})
			if err != nil {
				return nil, fmt.Errorf("map users through %s: %w", tables[0], err)
			}
		}
	}
	if users.Names {
		for _, s := range stored {
			s := s.(string)
			if _, ok := out[s]; ok {
				continue
			}
			if f, exact := users.Fold.Apply(s); exact {
				out[s] = f
			}
		}
	}
	return out, nil
}
