package producttest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/reauth/reauth/products"
)

// fold is the lower-case form the products' embedded Crowd stores.
func fold(name string) string {
	l, _ := products.CrowdLower(name)
	return l
}

// cwdUserID is the cwd_user id of a person in a directory.
func cwdUserID(p Person, dir int64) int64 { return dir*1000 + p.ID }

const seedTime = "2026-01-05 09:00:00"

// seedUsers fills the product's user tables with People (and groups), as the product would.
func (f Fixture) seedUsers(t testing.TB, exec func(testing.TB, string)) {
	t.Helper()
	f.AddPeople(t, exec, People...)
	if f.Product == "bitbucket" {
		p := ServiceUser
		exec(t, fmt.Sprintf("INSERT INTO stash_user (id) VALUES (%d)", p.ID))
		exec(t, fmt.Sprintf("INSERT INTO sta_service_user (user_id, display_name, active, name, slug, email_address, label) VALUES (%d, 'Build', true, %s, %s, NULL, 'build')",
			p.ID, lit(p.Login), lit(p.Login)))
	}
	if f.Product == "fisheye" {
		return // Fisheye keeps no Crowd directory tables reauth reads
	}
	if f.Product == "jira" {
		exec(t, "INSERT INTO cwd_directory (id, directory_name, lower_directory_name, active, directory_type, directory_position) VALUES "+
			"(1, 'Jira Internal Directory', 'jira internal directory', 1, 'INTERNAL', 0), (2, 'Corporate LDAP', 'corporate ldap', 1, 'CONNECTOR', 1)")
	}
	f.seedGroups(t, exec)
}

// AddPeople adds people to the product's user tables: Jira's app_user and cwd_user, Confluence's
// user_mapping and cwd_user, Bitbucket's stash_user, sta_normal_user and cwd_user, Bamboo's
// cwd_user, Crucible's CRU_USER.
func (f Fixture) AddPeople(t testing.TB, exec func(testing.TB, string), people ...Person) {
	t.Helper()
	if len(people) == 0 {
		return
	}
	var rows []string
	each := func(format func(p Person) string) {
		rows = rows[:0]
		for _, p := range people {
			rows = append(rows, format(p))
		}
	}
	switch f.Product {
	case "jira":
		each(func(p Person) string { return fmt.Sprintf("(%d, %s, %s)", 10000+p.ID, lit(p.Key), lit(fold(p.Login))) })
		exec(t, "INSERT INTO app_user (id, user_key, lower_user_name) VALUES "+strings.Join(rows, ", "))
	case "confluence":
		each(func(p Person) string {
			return fmt.Sprintf("(%s, %s, %s)", lit(p.ConfluenceKey()), lit(p.Login), lit(fold(p.Login)))
		})
		exec(t, "INSERT INTO user_mapping (user_key, username, lower_username) VALUES "+strings.Join(rows, ", "))
	case "bitbucket":
		each(func(p Person) string { return fmt.Sprintf("(%d)", p.ID) })
		exec(t, "INSERT INTO stash_user (id) VALUES "+strings.Join(rows, ", "))
		each(func(p Person) string {
			return fmt.Sprintf("(%d, %s, %s, NULL, NULL, NULL)", p.ID, lit(p.Login), lit(strings.ToLower(p.Login)))
		})
		exec(t, "INSERT INTO sta_normal_user (user_id, name, slug, locale, deleted_timestamp, time_zone) VALUES "+strings.Join(rows, ", "))
	case "fisheye":
		each(func(p Person) string { return fmt.Sprintf("(%d, %s, 0, NULL, NULL)", p.ID, lit(p.Login)) })
		exec(t, "INSERT INTO "+f.userTable()+" (cru_user_id, cru_user_name, cru_failedlogincount, cru_passwordreset_srnd, cru_passwordresettimestamp) VALUES "+strings.Join(rows, ", "))
		return
	}
	// The embedded Crowd directory: one cwd_user row per directory that holds the person.
	rows = rows[:0]
	for _, p := range people {
		for _, d := range p.dirs() {
			rows = append(rows, f.cwdUserRow(p, d))
		}
	}
	exec(t, "INSERT INTO cwd_user ("+f.cwdUserColumns()+") VALUES "+strings.Join(rows, ", "))
}

// userTable is Crucible's user table as this fixture spells it.
func (f Fixture) userTable() string {
	if f.Dialect == "mysql" {
		return "CRU_USER"
	}
	return "cru_user"
}

func (f Fixture) cwdUserColumns() string {
	switch f.Product {
	case "jira":
		return "id, directory_id, user_name, lower_user_name, active, created_date, updated_date, display_name, lower_display_name, email_address, lower_email_address, deleted_externally"
	case "bitbucket":
		return "id, user_name, lower_user_name, created_date, updated_date, display_name, lower_display_name, email_address, lower_email_address, directory_id, is_active"
	default: // confluence, bamboo
		return "id, user_name, lower_user_name, active, created_date, updated_date, display_name, lower_display_name, email_address, lower_email_address, directory_id"
	}
}

func (f Fixture) cwdUserRow(p Person, dir int64) string {
	id, name, lower := cwdUserID(p, dir), lit(p.Login), lit(fold(p.Login))
	mail := p.ID
	switch f.Product {
	case "jira":
		active := 1
		if p.Inactive {
			active = 0
		}
		return fmt.Sprintf("(%d, %d, %s, %s, %d, '%s', '%s', %s, %s, 'user%d@example.com', 'user%d@example.com', 0)",
			id, dir, name, lower, active, seedTime, seedTime, name, lower, mail, mail)
	case "bitbucket":
		return fmt.Sprintf("(%d, %s, %s, '%s', '%s', %s, %s, 'user%d@example.com', 'user%d@example.com', %d, '%s')",
			id, name, lower, seedTime, seedTime, name, lower, mail, mail, dir, tf(!p.Inactive))
	default:
		return fmt.Sprintf("(%d, %s, %s, '%s', '%s', '%s', %s, %s, 'user%d@example.com', 'user%d@example.com', %d)",
			id, name, lower, tf(!p.Inactive), seedTime, seedTime, name, lower, mail, mail, dir)
	}
}

func tf(b bool) string {
	if b {
		return "T"
	}
	return "F"
}

// seedGroups writes Groups into cwd_group and cwd_membership, in the product's layout: Jira's,
// Bitbucket's and Crowd's (Bamboo) membership rows carry a type and the child's names;
// Confluence's link a parent to a child group or a child user by id only.
func (f Fixture) seedGroups(t testing.TB, exec func(testing.TB, string)) {
	t.Helper()
	groupID := map[string]int64{}
	var rows []string
	for i, g := range Groups {
		id := int64(5000 + i)
		groupID[fmt.Sprint(g.Dir, "/", g.Name)] = id
		switch f.Product {
		case "jira":
			rows = append(rows, fmt.Sprintf("(%d, %s, %s, 1, 0, '%s', '%s', 'GROUP', %d)", id, lit(g.Name), lit(fold(g.Name)), seedTime, seedTime, g.Dir))
		case "bitbucket":
			rows = append(rows, fmt.Sprintf("(%d, %s, %s, '%s', '%s', 'GROUP', %d, 'T', 'F')", id, lit(g.Name), lit(fold(g.Name)), seedTime, seedTime, g.Dir))
		case "confluence":
			rows = append(rows, fmt.Sprintf("(%d, %s, %s, 'T', 'F', '%s', '%s', 'GROUP', %d)", id, lit(g.Name), lit(fold(g.Name)), seedTime, seedTime, g.Dir))
		case "bamboo", "crowd":
			rows = append(rows, fmt.Sprintf("(%d, %s, %s, 'T', 'F', '%s', '%s', 'GROUP', %d)", id, lit(g.Name), lit(fold(g.Name)), seedTime, seedTime, g.Dir))
		}
	}
	groupCols := map[string]string{
		"jira":       "id, group_name, lower_group_name, active, local, created_date, updated_date, group_type, directory_id",
		"bitbucket":  "id, group_name, lower_group_name, created_date, updated_date, group_type, directory_id, is_active, is_local",
		"confluence": "id, group_name, lower_group_name, active, local, created_date, updated_date, group_type, directory_id",
		"bamboo":     "id, group_name, lower_group_name, active, is_local, created_date, updated_date, group_type, directory_id",
		"crowd":      "id, group_name, lower_group_name, active, is_local, created_date, updated_date, group_type, directory_id",
	}[f.Product]
	exec(t, "INSERT INTO cwd_group ("+groupCols+") VALUES "+strings.Join(rows, ", "))

	rows = rows[:0]
	next := int64(7000)
	for _, g := range Groups {
		parent := groupID[fmt.Sprint(g.Dir, "/", g.Name)]
		add := func(childID int64, kind, childName string) {
			next++
			if f.Product == "confluence" {
				if kind == "GROUP_USER" {
					rows = append(rows, fmt.Sprintf("(%d, %d, NULL, %d)", next, parent, childID))
				} else {
					rows = append(rows, fmt.Sprintf("(%d, %d, %d, NULL)", next, parent, childID))
				}
				return
			}
			rows = append(rows, fmt.Sprintf("(%d, %d, %d, '%s', 'GROUP', %s, %s, %s, %s, %d)",
				next, parent, childID, kind, lit(g.Name), lit(fold(g.Name)), lit(childName), lit(fold(childName)), g.Dir))
		}
		for _, u := range g.Users {
			add(cwdUserID(PersonNamed(u), g.Dir), "GROUP_USER", u)
		}
		for _, c := range g.Groups {
			add(groupID[fmt.Sprint(g.Dir, "/", c)], "GROUP_GROUP", c)
		}
	}
	if f.Product == "confluence" {
		exec(t, "INSERT INTO cwd_membership (id, parent_id, child_group_id, child_user_id) VALUES "+strings.Join(rows, ", "))
		return
	}
	exec(t, "INSERT INTO cwd_membership (id, parent_id, child_id, membership_type, group_type, parent_name, lower_parent_name, child_name, lower_child_name, directory_id) VALUES "+strings.Join(rows, ", "))
}
