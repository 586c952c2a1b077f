package runbook

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/reauth/reauth/db"
)

// groupMembers resolves groups to the login names of their members through the product's
// embedded user directory (cwd_group, cwd_membership), the way the products themselves count
// membership:
//
//   - in every directory that has a group of that name (a name may exist in several);
//   - nested groups included, to any depth, within the directory;
//   - inactive users included: an account switched off today can be switched on tomorrow with
//     its remember-me token still valid.
//
// A group name found in no directory is an error, like an unknown --user.
func (c *Conn) groupMembers(ctx context.Context, groups []string) ([]string, error) {
	d := c.Target.Dialect
	schema := c.Tokens.Table.Schema
	table := func(name string) (db.Table, error) {
		ts, err := db.Tables(ctx, c.Pool, d, schema, db.NameIs(name))
		if err != nil {
			return db.Table{}, err
		}
		if len(ts) != 1 {
			return db.Table{}, fmt.Errorf("%w: --group needs %s's user directory, and table %s is not in schema %s", ErrScope, c.Target.Product.Title, name, schema)
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
	mc, err := c.exactColumns(ctx, memberT, "parent_id", "child_id", "membership_type", "lower_child_name")
	if err != nil {
		return nil, err
	}
	lower := make([]any, len(groups))
	for i, g := range groups {
		lower[i] = strings.ToLower(g)
	}
	// The groups asked for, in every directory.
	q, args := d.Select(groupT, db.SelectSpec{Columns: []string{gc["id"], gc["lower_group_name"]}, Where: []db.Cond{db.In(gc["lower_group_name"], lower...)}})
	rows, err := c.Pool.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("resolve groups: %w", err)
	}
	var frontier []any
	found := map[string]bool{}
	seen := map[string]bool{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("resolve groups: %w", err)
		}
		found[name] = true
		if !seen[id] {
			seen[id] = true
			frontier = append(frontier, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("resolve groups: %w", err)
	}
	var missing []string
	for _, g := range groups {
		if !found[strings.ToLower(g)] {
			missing = append(missing, g)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: no group %s in %s", ErrScope, strings.Join(missing, ", "), groupT)
	}
	// Breadth first through nested groups; each group once, so cycles end.
	users := map[string]bool{}
	for len(frontier) > 0 {
		var next []any
		for i := 0; i < len(frontier); i += d.MaxInList {
			chunk := frontier[i:min(i+d.MaxInList, len(frontier))]
			q, args := d.Select(memberT, db.SelectSpec{
				Columns: []string{mc["child_id"], mc["membership_type"], mc["lower_child_name"]},
				Where:   []db.Cond{db.In(mc["parent_id"], chunk...)},
			})
			rows, err := c.Pool.QueryContext(ctx, q, args...)
			if err != nil {
				return nil, fmt.Errorf("resolve groups: %w", err)
			}
			for rows.Next() {
				var child, kind, name string
				if err := rows.Scan(&child, &kind, &name); err != nil {
					rows.Close()
					return nil, fmt.Errorf("resolve groups: %w", err)
				}
				switch kind {
				case "GROUP_USER":
					users[name] = true
				case "GROUP_GROUP":
					if !seen[child] {
						seen[child] = true
						next = append(next, child)
					}
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, fmt.Errorf("resolve groups: %w", err)
			}
		}
		frontier = next
	}
	out := make([]string, 0, len(users))
	for u := range users {
		out = append(out, u)
	}
	sort.Strings(out)
	return out, nil
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
