package gitlab

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ErrUnknownUser and ErrUnknownGroup mark a username or group that GitLab's database does not
// hold.
var (
	ErrUnknownUser  = errors.New("unknown gitlab user")
	ErrUnknownGroup = errors.New("unknown gitlab group")
)

// Store is one GitLab instance: the Redis that holds its sessions and its main PostgreSQL
// database (connected with db.Open, the pgx driver).
type Store struct {
	Redis *redis.Client
	DB    *sql.DB
}

// User is a row of GitLab's users table.
type User struct {
	ID       int64
	Username string
	State    string // "active", "blocked", "deactivated", "banned", ...
	UserType *int   // 0 human (NULL on very old instances); anything else is a bot or a service account
	Bot      bool   // UserType is set and not 0
}

const userColumns = "id, username, COALESCE(state, ''), user_type"

func scanUsers(rows *sql.Rows) ([]User, error) {
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var ut sql.NullInt64
		var name sql.NullString
		if err := rows.Scan(&u.ID, &name, &u.State, &ut); err != nil {
			return nil, err
		}
		u.Username = name.String
		if ut.Valid {
			v := int(ut.Int64)
			u.UserType = &v
			u.Bot = v != 0
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Users resolves usernames (case-insensitively, as GitLab does) to users, in the order given,
// each once. Every username GitLab does not know is named in one error wrapping ErrUnknownUser.
func (s *Store) Users(ctx context.Context, usernames []string) ([]User, error) {
	var lower []string
	seen := map[string]bool{}
	for _, n := range usernames {
		l := strings.ToLower(strings.TrimSpace(n))
		if l != "" && !seen[l] {
			seen[l] = true
			lower = append(lower, l)
		}
	}
	if len(lower) == 0 {
		return nil, nil
	}
	rows, err := s.DB.QueryContext(ctx, "SELECT "+userColumns+" FROM users WHERE lower(username) = ANY($1)", lower)
	if err != nil {
		return nil, fmt.Errorf("gitlab: users: %w", err)
	}
	found, err := scanUsers(rows)
	if err != nil {
		return nil, fmt.Errorf("gitlab: users: %w", err)
	}
	byName := map[string]User{}
	for _, u := range found {
		byName[strings.ToLower(u.Username)] = u
	}
	var out []User
	var missing []string
	for _, l := range lower {
		if u, ok := byName[l]; ok {
			out = append(out, u)
		} else {
			missing = append(missing, strconv.Quote(l))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("gitlab: %w: %s", ErrUnknownUser, strings.Join(missing, ", "))
	}
	return out, nil
}

// usersByID returns the users with the given ids, by id (ids GitLab does not know are absent).
func (s *Store) usersByID(ctx context.Context, ids []int64) (map[int64]User, error) {
	out := map[int64]User{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.DB.QueryContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = ANY($1)", ids)
	if err != nil {
		return nil, fmt.Errorf("gitlab: users: %w", err)
	}
	found, err := scanUsers(rows)
	if err != nil {
		return nil, fmt.Errorf("gitlab: users: %w", err)
	}
	for _, u := range found {
		out[u.ID] = u
	}
	return out, nil
}

// groupMembersSQL collects a group's members as GitLab's documented group revocation script
// does (see domain/gitlab.md, "Group members"). $1 is the group's id.
//
// mwp(X), members_with_parents of a set of groups X, is: the members of X and of its
// ancestors, plus the direct members of the groups shared into X or its ancestors; members
// count when state = 0, requested_at IS NULL, invite_token IS NULL and access_level > 5
// (5 is minimal access). The script takes mwp(G); mwp of every group shared into G; and,
// for every descendant subgroup S, S's direct members (requested_at IS NULL and
// access_level > 5: Group#members) and mwp of every group shared into S. Finally only
// active human users remain.
const groupMembersSQL = `
WITH g AS (
	SELECT id, traversal_ids FROM namespaces WHERE id = $1 AND type = 'Group'
),
-- Descendant subgroups: G itself is not one (its direct members take the stricter rules).
descendants AS (
	SELECT n.id FROM namespaces n, g
	WHERE n.type = 'Group' AND n.traversal_ids @> ARRAY[g.id] AND n.id <> g.id
),
-- The groups whose members_with_parents the script takes: G, the groups shared into G, and
-- the groups shared into each descendant subgroup.
mwp_roots AS (
	SELECT id FROM g
	UNION
	SELECT l.shared_with_group_id FROM group_group_links l, g WHERE l.shared_group_id = g.id
	UNION
	SELECT l.shared_with_group_id FROM group_group_links l JOIN descendants d ON l.shared_group_id = d.id
),
-- Each root with its ancestors (traversal_ids ends with the group's own id).
mwp_hierarchy AS (
	SELECT DISTINCT unnest(n.traversal_ids) AS id
	FROM namespaces n JOIN mwp_roots r ON n.id = r.id
),
-- Groups shared into a root or one of its ancestors.
mwp_shared AS (
	SELECT DISTINCT l.shared_with_group_id AS id
	FROM group_group_links l JOIN mwp_hierarchy h ON l.shared_group_id = h.id
),
member_ids AS (
	SELECT m.user_id FROM members m
	WHERE m.source_type = 'Namespace'
	  AND (m.source_id IN (SELECT id FROM mwp_hierarchy) OR m.source_id IN (SELECT id FROM mwp_shared))
	  AND m.state = 0 AND m.requested_at IS NULL AND m.invite_token IS NULL AND m.access_level > 5
	UNION
	SELECT m.user_id FROM members m
	WHERE m.source_type = 'Namespace' AND m.source_id IN (SELECT id FROM descendants)
	  AND m.requested_at IS NULL AND m.access_level > 5
)
SELECT ` + "u.id, u.username, COALESCE(u.state, ''), u.user_type" + `
FROM users u
WHERE u.id IN (SELECT user_id FROM member_ids WHERE user_id IS NOT NULL)
  AND u.state = 'active' AND (u.user_type = 0 OR u.user_type IS NULL)
ORDER BY u.username, u.id`

// GroupMembers returns the users whose sessions GitLab's group script would revoke for the
// group, given by full path (routes.path, case-insensitively) or by numeric id. The path is
// tried first, as the script's find_group does: a group whose path is "2024" is that group,
// not the group with id 2024. A group GitLab does not know is an error wrapping
// ErrUnknownGroup.
func (s *Store) GroupMembers(ctx context.Context, group string) ([]User, error) {
	id, err := s.groupID(ctx, group)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.QueryContext(ctx, groupMembersSQL, id)
	if err != nil {
		return nil, fmt.Errorf("gitlab: members of group %q: %w", group, err)
	}
	users, err := scanUsers(rows)
	if err != nil {
		return nil, fmt.Errorf("gitlab: members of group %q: %w", group, err)
	}
	return users, nil
}

func (s *Store) groupID(ctx context.Context, group string) (int64, error) {
	ident := strings.Trim(strings.TrimSpace(group), "/")
	if ident == "" {
		return 0, fmt.Errorf("gitlab: %w: the group is empty", ErrUnknownGroup)
	}
	var id int64
	err := s.DB.QueryRowContext(ctx, `SELECT n.id FROM routes r JOIN namespaces n ON n.id = r.source_id
		WHERE r.source_type = 'Namespace' AND lower(r.path) = lower($1) AND n.type = 'Group'
		ORDER BY n.id LIMIT 1`, ident).Scan(&id)
	if n, perr := strconv.ParseInt(ident, 10, 64); perr == nil && errors.Is(err, sql.ErrNoRows) {
		err = s.DB.QueryRowContext(ctx, "SELECT id FROM namespaces WHERE id = $1 AND type = 'Group'", n).Scan(&id)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("gitlab: %w %q (give its full path, e.g. my-org/my-team, or its numeric id)", ErrUnknownGroup, group)
	}
	if err != nil {
		return 0, fmt.Errorf("gitlab: group %q: %w", group, err)
	}
	return id, nil
}

// sortedIDs returns the users' ids, sorted and each once.
func sortedIDs(users []User) []int64 {
	seen := map[int64]bool{}
	var ids []int64
	for _, u := range users {
		if !seen[u.ID] {
			seen[u.ID] = true
			ids = append(ids, u.ID)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}
