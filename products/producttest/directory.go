package producttest

import (
	"fmt"
	"strings"
	"testing"
)

// Directory tables as the products' embedded Crowd creates them (the columns reauth reads,
// and a few more), the same in Jira, Confluence, Bitbucket and Bamboo.
const directoryDDL = `CREATE TABLE cwd_directory (id bigint NOT NULL PRIMARY KEY, directory_name varchar(255), lower_directory_name varchar(255),
  active char(1), directory_position bigint, directory_type varchar(60));
CREATE TABLE cwd_group (id bigint NOT NULL PRIMARY KEY, group_name varchar(255) NOT NULL, lower_group_name varchar(255) NOT NULL,
  active char(1), directory_id bigint NOT NULL, group_type varchar(60));
CREATE TABLE cwd_membership (id bigint NOT NULL PRIMARY KEY, parent_id bigint, child_id bigint, membership_type varchar(60),
  group_type varchar(60), parent_name varchar(255), lower_parent_name varchar(255), child_name varchar(255), lower_child_name varchar(255),
  directory_id bigint);`

const cwdUserDDL = `CREATE TABLE cwd_user (id bigint NOT NULL PRIMARY KEY, user_name varchar(255) NOT NULL, lower_user_name varchar(255) NOT NULL,
  active char(1), directory_id bigint NOT NULL, display_name varchar(255), email_address varchar(255));`

// DirUser is a user of a directory.
type DirUser struct {
	Name      string
	Directory int64
	Active    bool
}

// DirGroup is a group of a directory with its direct members: users and groups (of the same
// directory).
type DirGroup struct {
	Name      string
	Directory int64
	Users     []string
	Groups    []string
}

// SetupDirectory creates the directory tables (and cwd_user where the fixture lacks it) and
// fills them: directories 1 (internal) and 2 (LDAP), users and groups as given.
func (f Fixture) SetupDirectory(t testing.TB, exec func(testing.TB, string), users []DirUser, groups []DirGroup) {
	t.Helper()
	if !f.directory {
		exec(t, cwdUserDDL)
	}
	exec(t, directoryDDL)
	exec(t, "INSERT INTO cwd_directory (id, directory_name, lower_directory_name, active, directory_position, directory_type) VALUES "+
		"(1, 'Internal', 'internal', 'T', 0, 'INTERNAL'), (2, 'Corporate LDAP', 'corporate ldap', 'T', 1, 'CONNECTOR')")
	userID := map[string]int64{}
	var rows []string
	next := int64(1000)
	for _, u := range users {
		next++
		userID[fmt.Sprint(u.Directory, "/", u.Name)] = next
		active := "T"
		if !u.Active {
			active = "F"
		}
		rows = append(rows, fmt.Sprintf("(%d, '%s', '%s', '%s', %d, '%s', '%s@example.com')", next, u.Name, strings.ToLower(u.Name), active, u.Directory, u.Name, u.Name))
	}
	if len(rows) > 0 {
		exec(t, "INSERT INTO cwd_user (id, user_name, lower_user_name, active, directory_id, display_name, email_address) VALUES "+strings.Join(rows, ", "))
	}
	groupID := map[string]int64{}
	rows = rows[:0]
	for _, g := range groups {
		next++
		groupID[fmt.Sprint(g.Directory, "/", g.Name)] = next
		rows = append(rows, fmt.Sprintf("(%d, '%s', '%s', 'T', %d, 'GROUP')", next, g.Name, strings.ToLower(g.Name), g.Directory))
	}
	if len(rows) > 0 {
		exec(t, "INSERT INTO cwd_group (id, group_name, lower_group_name, active, directory_id, group_type) VALUES "+strings.Join(rows, ", "))
	}
	rows = rows[:0]
	for _, g := range groups {
		parent := groupID[fmt.Sprint(g.Directory, "/", g.Name)]
		for _, u := range g.Users {
			next++
			rows = append(rows, fmt.Sprintf("(%d, %d, %d, 'GROUP_USER', 'GROUP', '%s', '%s', '%s', '%s', %d)",
				next, parent, userID[fmt.Sprint(g.Directory, "/", u)], g.Name, strings.ToLower(g.Name), u, strings.ToLower(u), g.Directory))
		}
		for _, child := range g.Groups {
			next++
			rows = append(rows, fmt.Sprintf("(%d, %d, %d, 'GROUP_GROUP', 'GROUP', '%s', '%s', '%s', '%s', %d)",
				next, parent, groupID[fmt.Sprint(g.Directory, "/", child)], g.Name, strings.ToLower(g.Name), child, strings.ToLower(child), g.Directory))
		}
	}
	if len(rows) > 0 {
		exec(t, "INSERT INTO cwd_membership (id, parent_id, child_id, membership_type, group_type, parent_name, lower_parent_name, child_name, lower_child_name, directory_id) VALUES "+strings.Join(rows, ", "))
	}
}
