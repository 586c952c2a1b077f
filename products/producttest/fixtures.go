// Package producttest holds the products' real table layouts for tests: for each product and
// database kind, the DDL of its remember-me table (and the user table its tokens refer to), as
// the product creates them, and seed rows with users that exercise the name mapping.
//
// Fisheye/Crucible's table is unverified; its fixture is an assumed layout, used with the
// config's table: override exactly as an operator would.
package producttest

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// Fixture is one product's token table on one database kind.
type Fixture struct {
	Product string
	Dialect string
	Table   string // exact name as created
	DDL     string // creates the token table and its user table
	// TableOverride is what the config's table: must say (unverified products only).
	TableOverride string
	created       string // "timestamp" or "millis" or "" (no creation time)
	directory     bool   // the product keeps its users in cwd_user
	userKind      string // "name", "key" (Jira app_user) or "id" (Bitbucket stash_user)
	cols          []string
}

// Users are the login names the seed uses. In Jira, "dave" is a trap: the user key "dave"
// belongs to david (renamed from dave), and today's dave has key JIRAUSER10104, so mapping
// by name instead of through app_user would delete the wrong user's tokens.
var Users = []string{"alice", "bob", "carol", "dave", "admin"}

var jiraKeys = map[string]string{"alice": "JIRAUSER10100", "bob": "bob", "carol": "JIRAUSER10102", "dave": "JIRAUSER10104", "admin": "admin"}

// Base is the seed's reference time: row i was created i hours before it.
var Base = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

var fixtures = []Fixture{
	{Product: "jira", Dialect: "postgres", Table: "remembermetoken", created: "timestamp", userKind: "key",
		DDL: `CREATE TABLE remembermetoken (id numeric(18,0) NOT NULL PRIMARY KEY, created timestamptz, token varchar(255), username varchar(255));
CREATE TABLE app_user (id numeric(18,0) NOT NULL PRIMARY KEY, user_key varchar(255), lower_user_name varchar(255));`},
	{Product: "jira", Dialect: "mysql", Table: "remembermetoken", created: "timestamp", userKind: "key",
		DDL: "CREATE TABLE remembermetoken (ID decimal(18,0) NOT NULL PRIMARY KEY, CREATED datetime, TOKEN varchar(255), USERNAME varchar(255)) ENGINE=InnoDB;" +
			"CREATE TABLE app_user (ID decimal(18,0) NOT NULL PRIMARY KEY, user_key varchar(255), lower_user_name varchar(255)) ENGINE=InnoDB;"},
	{Product: "confluence", Dialect: "postgres", Table: "remembermetoken", created: "millis", userKind: "name", directory: true,
		DDL: `CREATE TABLE remembermetoken (id bigint NOT NULL PRIMARY KEY, username varchar(255), created bigint, token varchar(255));
CREATE TABLE cwd_user (id bigint NOT NULL PRIMARY KEY, user_name varchar(255) NOT NULL, lower_user_name varchar(255) NOT NULL,
  active char(1), directory_id bigint NOT NULL, display_name varchar(255), email_address varchar(255));`},
	{Product: "confluence", Dialect: "mysql", Table: "REMEMBERMETOKEN", created: "millis", userKind: "name", directory: true,
		DDL: "CREATE TABLE REMEMBERMETOKEN (ID bigint NOT NULL PRIMARY KEY, USERNAME varchar(255), CREATED bigint, TOKEN varchar(255)) ENGINE=InnoDB;" +
			" CREATE TABLE cwd_user (id bigint NOT NULL PRIMARY KEY, user_name varchar(255) NOT NULL, lower_user_name varchar(255) NOT NULL, active char(1), directory_id bigint NOT NULL, display_name varchar(255), email_address varchar(255)) ENGINE=InnoDB;"},
	{Product: "bitbucket", Dialect: "postgres", Table: "sta_remember_me_token", userKind: "id",
		DDL: `CREATE TABLE stash_user (id int NOT NULL PRIMARY KEY, name varchar(255) NOT NULL, slug varchar(255) NOT NULL);
CREATE TABLE sta_remember_me_token (id bigint NOT NULL PRIMARY KEY, series varchar(64) NOT NULL, token varchar(64) NOT NULL,
  user_id int NOT NULL REFERENCES stash_user(id), expiry_timestamp timestamptz NOT NULL, claimed boolean NOT NULL, claimed_address varchar(255));`},
	{Product: "bamboo", Dialect: "postgres", Table: "rememberme_token", created: "timestamp", userKind: "name", directory: true,
		DDL: `CREATE TABLE rememberme_token (id bigint NOT NULL PRIMARY KEY, created timestamp, token varchar(255), username varchar(255));
CREATE TABLE cwd_user (id bigint NOT NULL PRIMARY KEY, user_name varchar(255) NOT NULL, lower_user_name varchar(255) NOT NULL,
  active char(1), directory_id bigint NOT NULL, display_name varchar(255), email_address varchar(255));`},
	{Product: "bamboo", Dialect: "mysql", Table: "REMEMBERME_TOKEN", created: "timestamp", userKind: "name", directory: true,
		DDL: "CREATE TABLE REMEMBERME_TOKEN (ID bigint NOT NULL PRIMARY KEY, CREATED datetime, TOKEN varchar(255), USERNAME varchar(255)) ENGINE=InnoDB;" +
			" CREATE TABLE cwd_user (id bigint NOT NULL PRIMARY KEY, user_name varchar(255) NOT NULL, lower_user_name varchar(255) NOT NULL, active char(1), directory_id bigint NOT NULL, display_name varchar(255), email_address varchar(255)) ENGINE=InnoDB;"},
	{Product: "fisheye", Dialect: "postgres", Table: "cru_remember_me", TableOverride: "cru_remember_me", created: "timestamp", userKind: "name",
		DDL: `CREATE TABLE cru_remember_me (id bigint NOT NULL PRIMARY KEY, username varchar(255), token varchar(255), created timestamp);`},
	{Product: "fisheye", Dialect: "mysql", Table: "CRU_REMEMBER_ME", TableOverride: "CRU_REMEMBER_ME", created: "timestamp", userKind: "name",
		DDL: "CREATE TABLE CRU_REMEMBER_ME (id bigint NOT NULL PRIMARY KEY, username varchar(255), token varchar(255), created datetime) ENGINE=InnoDB;"},
}

// All lists every fixture.
func All() []Fixture { return fixtures }

// For returns the fixture of a product on a dialect.
func For(product, dialect string) (Fixture, bool) {
	for _, f := range fixtures {
		if f.Product == product && f.Dialect == dialect {
			return f, true
		}
	}
	return Fixture{}, false
}

// Owner is the login name that row i of the seed belongs to.
func Owner(i int) string { return Users[i%len(Users)] }

// Created is row i's creation time.
func Created(i int) time.Time { return Base.Add(-time.Duration(i) * time.Hour) }

// Setup creates the fixture's tables and seeds n token rows (ids 10000+i for i in 1..n) plus
// the users.
func (f Fixture) Setup(t testing.TB, exec func(testing.TB, string), n int) {
	t.Helper()
	exec(t, f.DDL)
	var users []string
	switch f.userKind {
	case "key":
		id := 10000
		for _, u := range Users {
			id++
			users = append(users, fmt.Sprintf("(%d, '%s', '%s')", id, jiraKeys[u], u))
		}
		// david was renamed from dave and kept the key "dave".
		users = append(users, "(10099, 'dave', 'david')")
		exec(t, "INSERT INTO app_user (id, user_key, lower_user_name) VALUES "+strings.Join(users, ", "))
	case "id":
		for i, u := range Users {
			users = append(users, fmt.Sprintf("(%d, '%s', '%s')", i+1, u, u))
		}
		exec(t, "INSERT INTO stash_user (id, name, slug) VALUES "+strings.Join(users, ", "))
	}
	if f.directory {
		var rows []string
		for i, u := range Users {
			rows = append(rows, fmt.Sprintf("(%d, '%s', '%s', 'T', 1, '%s', '%s@example.com')", i+1, u, u, strings.ToUpper(u[:1])+u[1:], u))
		}
		exec(t, "INSERT INTO cwd_user (id, user_name, lower_user_name, active, directory_id, display_name, email_address) VALUES "+strings.Join(rows, ", "))
	}
	const chunk = 5000
	for start := 1; start <= n; start += chunk {
		exec(t, f.insertSQL(start, min(start+chunk-1, n)))
	}
}

// Insert adds rows ids 10000+from .. 10000+to, as the product would.
func (f Fixture) Insert(t testing.TB, exec func(testing.TB, string), from, to int) {
	t.Helper()
	exec(t, f.insertSQL(from, to))
}

func (f Fixture) insertSQL(from, to int) string {
	var rows []string
	for i := from; i <= to; i++ {
		rows = append(rows, f.row(i))
	}
	return "INSERT INTO " + f.Table + " VALUES " + strings.Join(rows, ", ")
}

func (f Fixture) row(i int) string {
	id := 10000 + i
	owner := Owner(i)
	ts := Created(i).Format("2006-01-02 15:04:05")
	if f.Dialect == "postgres" && f.Product != "bamboo" && f.Product != "fisheye" {
		ts += "+00"
	}
	tok := fmt.Sprintf("tok-%d-%s", i, strings.Repeat("x", i%7))
	switch f.Product {
	case "jira":
		return fmt.Sprintf("(%d, '%s', '%s', '%s')", id, ts, tok, jiraKeys[owner])
	case "confluence":
		return fmt.Sprintf("(%d, '%s', %d, '%s')", id, owner, Created(i).UnixMilli(), tok)
	case "bitbucket":
		uid := 0
		for j, u := range Users {
			if u == owner {
				uid = j + 1
			}
		}
		addr := "NULL"
		if i%3 == 0 {
			addr = fmt.Sprintf("'10.0.0.%d'", i%250)
		}
		return fmt.Sprintf("(%d, 'series-%d', '%s', %d, '%s', %v, %s)", id, i, tok, uid, Created(i).Add(30*24*time.Hour).Format("2006-01-02 15:04:05+00"), i%2 == 0, addr)
	default: // bamboo, fisheye: id, created|username order per DDL
		if f.Product == "fisheye" {
			return fmt.Sprintf("(%d, '%s', '%s', '%s')", id, owner, tok, ts)
		}
		return fmt.Sprintf("(%d, '%s', '%s', '%s')", id, ts, tok, owner)
	}
}

// Digest returns every row of the table as text, in key order: two digests are equal when the
// tables hold the same rows, value for value.
func Digest(t testing.TB, pool *sql.DB, table string) string {
	t.Helper()
	rows, err := pool.QueryContext(context.Background(), "SELECT * FROM "+table)
	if err != nil {
		t.Fatalf("digest of %s: %v", table, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			switch x := v.(type) {
			case []byte:
				parts[i] = string(x)
			case time.Time:
				parts[i] = x.UTC().Format(time.RFC3339Nano)
			default:
				parts[i] = fmt.Sprint(x)
			}
		}
		lines = append(lines, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// Count counts the table's rows.
func Count(t testing.TB, pool *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := pool.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}
