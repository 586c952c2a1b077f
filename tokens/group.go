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

// groupMembers resolves groups to the folded login names of their members through the product's
// embedded user directory (cwd_group, cwd_membership, and cwd_user where memberships name users
// by id), the way the products count membership:
//
//   - in every directory that has a group of that name (a name may exist in several);
//   - nested groups included, to any depth, within the directory;
//   - inactive users included: an account switched off today can be switched on tomorrow with
//     its remember-me token still valid.
//
// Group names are folded and compared as the product does (lower_group_name). A group found in
// no directory is an error, like an unknown --user.
func (c *Conn) groupMembers(ctx context.Context, groups []string) ([]string, error) {
	p := c.Target.Product
	if p.Tokens.Groups == "" {
		return nil, fmt.Errorf("%w: %s has no user directory reauth resolves groups through: --group does not apply (name the users with --user)", ErrScope, p.Title)
	}
	d := c.Target.Dialect
	schema := c.Tokens.Table.Schema
	table := func(name string) (db.Table, error) {
		ts, err := db.Tables(ctx, c.Pool, d, schema, db.NameIs(name))
		if err != nil {
			return db.Table{}, err
		}
		if len(ts) != 1 {
			return db.Table{}, fmt.Errorf("%w: --group needs %s's user directory, and table %s is not in schema %s", ErrScope, p.Title, name, schema)
		}
		return ts[0], nil
	}
	groupT, err := table("cwd_group")
	if err != nil {
		return nil, err
	}
	memberT, err := table("cwd_membership")
	if err != nil {
		return nil, err
	}
	gc, err := c.exactColumns(ctx, groupT, "id", "lower_group_name")
	if err != nil {
		return nil, err
	}
	layout, mc, err := c.membershipLayout(ctx, memberT)
	if err != nil {
		return nil, err
	}
	if layout != p.Tokens.Groups {
		c.note(fmt.Sprintf("%s's cwd_membership has the %s layout, not the %s one reauth expects for %s: read as it is", memberT, layout, p.Tokens.Groups, p.Title))
	}

	// The groups asked for, in every directory.
	var wanted []any
	asked := map[string]string{}
	for _, g := range groups {
		f, err := c.foldName(g)
		if err != nil {
			return nil, err
		}
		asked[f] = g
		wanted = append(wanted, f)
	}
	var frontier []any
	found := map[string]bool{}
	seen := map[string]bool{}
	err = c.each(ctx, groupT, []string{gc["id"], gc["lower_group_name"]}, []db.Cond{db.ExactIn(gc["lower_group_name"], wanted...)}, func(v []sql.NullString) {
		found[v[1].String] = true
		if id := v[0].String; !seen[id] {
			seen[id] = true
			frontier = append(frontier, id)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("resolve groups: %w", err)
	}
	var missing []string
	for f, g := range asked {
		if !found[f] {
			missing = append(missing, g)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("%w: no group %s in %s", ErrScope, strings.Join(missing, ", "), groupT)
	}

	// Breadth first through nested groups; each group once, so cycles end.
	users := map[string]bool{}
	var userIDs []any
	for len(frontier) > 0 {
		var next []any
		for i := 0; i < len(frontier); i += d.MaxInList {
			chunk := frontier[i:min(i+d.MaxInList, len(frontier))]
			var cols []string
			if layout == products.GroupsTyped {
				cols = []string{mc["child_id"], mc["membership_type"], mc["lower_child_name"]}
			} else {
				cols = []string{mc["child_group_id"], mc["child_user_id"]}
			}
			err := c.each(ctx, memberT, cols, []db.Cond{db.In(mc["parent_id"], chunk...)}, func(v []sql.NullString) {
				var group string
				if layout == products.GroupsTyped {
					switch v[1].String {
					case "GROUP_USER":
						if v[2].Valid {
							users[v[2].String] = true
						}
					case "GROUP_GROUP":
						group = v[0].String
					}
				} else {
					if v[1].Valid {
						userIDs = append(userIDs, v[1].String)
					}
					group = v[0].String
				}
				if group != "" && !seen[group] {
					seen[group] = true
					next = append(next, group)
				}
			})
			if err != nil {
				return nil, fmt.Errorf("resolve groups: %w", err)
			}
		}
		frontier = next
	}
	if len(userIDs) > 0 {
		// Confluence's memberships name users by cwd_user id.
		userT, err := table("cwd_user")
		if err != nil {
			return nil, err
		}
		uc, err := c.exactColumns(ctx, userT, "id", "lower_user_name")
		if err != nil {
			return nil, err
		}
		for i := 0; i < len(userIDs); i += d.MaxInList {
			err := c.each(ctx, userT, []string{uc["lower_user_name"]}, []db.Cond{db.In(uc["id"], userIDs[i:min(i+d.MaxInList, len(userIDs))]...)}, func(v []sql.NullString) {
				if v[0].Valid {
					users[v[0].String] = true
				}
			})
			if err != nil {
				return nil, fmt.Errorf("resolve groups: %w", err)
			}
		}
	}
	out := make([]string, 0, len(users))
	for u := range users {
		out = append(out, u)
	}
	sort.Strings(out)
	return out, nil
}

// membershipLayout tells which of the two cwd_membership layouts a table has, from its columns.
func (c *Conn) membershipLayout(ctx context.Context, t db.Table) (products.GroupLayout, map[string]string, error) {
	if mc, err := c.exactColumns(ctx, t, "parent_id", "child_id", "membership_type", "lower_child_name"); err == nil {
		return products.GroupsTyped, mc, nil
	}
	if mc, err := c.exactColumns(ctx, t, "parent_id", "child_group_id", "child_user_id"); err == nil {
		return products.GroupsByID, mc, nil
	}
	cols, err := db.Columns(ctx, c.Pool, c.Target.Dialect, t)
	if err != nil {
		return "", nil, err
	}
	names := make([]string, len(cols))
	for i, col := range cols {
		names[i] = col.Name
	}
	return "", nil, fmt.Errorf("%w: table %s has neither membership layout reauth knows (parent_id with child_id, membership_type and lower_child_name, or with child_group_id and child_user_id): found %s", ErrScope, t, strings.Join(names, ", "))
}

// each runs a SELECT of cols from t where cond holds, and calls f with each row's values as text.
func (c *Conn) each(ctx context.Context, t db.Table, cols []string, where []db.Cond, f func([]sql.NullString)) error {
	q, args := c.Target.Dialect.Select(t, db.SelectSpec{Columns: cols, Where: where})
	rows, err := c.Pool.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		f(vals)
	}
	return rows.Err()
}

// exactColumns finds columns of a product table by name, case-insensitively (Oracle spells
// them upper-case), and returns their exact spellings; a missing one is an error.
func (c *Conn) exactColumns(ctx context.Context, t db.Table, names ...string) (map[string]string, error) {
	cols, err := db.Columns(ctx, c.Pool, c.Target.Dialect, t)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, n := range names {
		for _, col := range cols {
			if strings.EqualFold(col.Name, n) {
				out[n] = col.Name
			}
		}
		if out[n] == "" {
			return nil, fmt.Errorf("%w: table %s has no column %s", ErrScope, t, n)
		}
	}
	return out, nil
}

// ScopeUsers lists the login names a scope names: its users and its groups' members.
func (c *Conn) ScopeUsers(ctx context.Context, s Scope) ([]string, error) {
	names := append([]string{}, s.Users...)
	if len(s.Groups) > 0 {
		members, err := c.groupMembers(ctx, s.Groups)
		if err != nil {
			return nil, err
		}
		names = append(names, members...)
	}
	fold := func(n string) string {
		f, _ := c.Target.Product.Tokens.Users.Fold.Apply(n)
		return f
	}
	except := map[string]bool{}
	for _, e := range s.Except {
		except[fold(e)] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		l := fold(n)
		if !except[l] && !seen[l] {
			seen[l] = true
			out = append(out, n)
		}
	}
	return out, nil
}
