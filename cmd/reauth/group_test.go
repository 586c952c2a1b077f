package main

import (
	"database/sql"
	"sort"
	"strings"
	"testing"

	"github.com/reauth/reauth/products/producttest"
)

// TestGroupScope resolves --group through the products' embedded user directory, on real
// layouts: nested groups (to any depth, cycles included), a group of the same name in two
// directories, users in several directories, inactive users; --except always wins. The rows
// deleted are exactly those of the expected users, mapped the way each product stores them.
func TestGroupScope(t *testing.T) {
	users := []producttest.DirUser{
		{Name: "alice", Directory: 1, Active: true}, {Name: "alice", Directory: 2, Active: true},
		{Name: "bob", Directory: 1, Active: true}, {Name: "carol", Directory: 1, Active: true},
		{Name: "dave", Directory: 1, Active: true}, {Name: "admin", Directory: 1, Active: true},
		{Name: "erin", Directory: 2, Active: true}, {Name: "frank", Directory: 1, Active: false},
	}
	groups := []producttest.DirGroup{
		{Name: "jira-users", Directory: 1, Users: []string{"alice", "bob", "carol", "dave", "admin", "frank"}},
		{Name: "Developers", Directory: 1, Users: []string{"carol"}, Groups: []string{"contractors"}},
		{Name: "contractors", Directory: 1, Users: []string{"frank"}, Groups: []string{"vendors"}},
		{Name: "vendors", Directory: 1, Users: []string{"dave"}, Groups: []string{"Developers"}}, // a cycle
		{Name: "developers", Directory: 2, Users: []string{"alice", "erin"}},
		{Name: "admins", Directory: 1, Users: []string{"admin"}},
	}
	// Members of developers: carol, frank (inactive, via contractors), dave (via vendors),
	// alice and erin (the LDAP directory's group of the same name). Except carol.
	want := []string{"alice", "dave", "erin", "frank"}
	for _, tc := range []struct{ product, dialect string }{
		{"jira", "postgres"}, {"jira", "mysql"}, {"confluence", "mysql"}, {"bitbucket", "postgres"},
	} {
		t.Run(tc.product+"/"+tc.dialect, func(t *testing.T) {
			t.Parallel()
			f, _ := producttest.For(tc.product, tc.dialect)
			d := server(t, tc.dialect).NewDatabase(t)
			f.Setup(t, d.Exec, 100) // alice, bob, carol, dave, admin own the rows in turn
			f.SetupDirectory(t, d.Exec, users, groups)
			// erin and frank: users of the product too, with tokens.
			switch tc.product {
			case "jira":
				d.Exec(t, "INSERT INTO app_user (id, user_key, lower_user_name) VALUES (10200, 'JIRAUSER10200', 'erin'), (10201, 'frank', 'frank')")
				d.Exec(t, "INSERT INTO "+f.Table+" VALUES (30001, '2026-01-01 00:00:00', 'e', 'JIRAUSER10200'), (30002, '2026-01-01 00:00:00', 'f', 'frank')")
			case "confluence":
				d.Exec(t, "INSERT INTO "+f.Table+" VALUES (30001, 'erin', 1, 'e'), (30002, 'Frank', 1, 'f')")
			case "bitbucket":
				d.Exec(t, "INSERT INTO stash_user (id, name, slug) VALUES (6, 'erin', 'erin'), (7, 'frank', 'frank')")
				d.Exec(t, "INSERT INTO "+f.Table+" VALUES (30001, 's1', 'e', 6, '2026-12-01 00:00:00+00', false, NULL), (30002, 's2', 'f', 7, '2026-12-01 00:00:00+00', false, NULL)")
			}
			pool := d.Open(t)
			owners := tokenOwners(t, pool, tc.product, f.Table)
			e := newEnv(t, targetYAML{name: "t", product: tc.product, db: d})
			var cl struct{ Deleted int64 }
			e.run(t, "clear", "--target", "t", "--group", "developers", "--except", "carol", "--yes", "--output", "json").mustSucceed(t).decode(t, &cl)
			after := tokenOwners(t, pool, tc.product, f.Table)
			var gone []string
			deleted := 0
			for u, n := range owners {
				if after[u] == 0 {
					gone = append(gone, u)
					deleted += n
				} else if after[u] != n {
					t.Errorf("user %s: %d of %d tokens deleted; want all or none", u, n-after[u], n)
				}
			}
			sort.Strings(gone)
			if strings.Join(gone, ",") != strings.Join(want, ",") {
				t.Errorf("tokens deleted for %v; want exactly %v", gone, want)
			}
			if int(cl.Deleted) != deleted {
				t.Errorf("clear says %d deleted; the table lost %d", cl.Deleted, deleted)
			}
			if r := e.run(t, "plan", "--group", "no-such-group"); r.code != 2 || !strings.Contains(r.stderr, "no group no-such-group") {
				t.Errorf("unknown group: exit %d, %q", r.code, r.stderr)
			}
		})
	}
}

// tokenOwners counts the tokens per login name.
func tokenOwners(t testing.TB, pool *sql.DB, product, table string) map[string]int {
	t.Helper()
	q := map[string]string{
		"jira":       "SELECT a.lower_user_name, COUNT(*) FROM " + table + " r JOIN app_user a ON a.user_key = r.username GROUP BY a.lower_user_name",
		"confluence": "SELECT LOWER(username), COUNT(*) FROM " + table + " GROUP BY LOWER(username)",
		"bitbucket":  "SELECT s.name, COUNT(*) FROM " + table + " r JOIN stash_user s ON s.id = r.user_id GROUP BY s.name",
	}[product]
	rows, err := pool.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var u string
		var n int
		if err := rows.Scan(&u, &n); err != nil {
			t.Fatal(err)
		}
		out[strings.ToLower(u)] = n
	}
	return out
}
