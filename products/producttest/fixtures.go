// Package producttest holds the products' real table layouts for tests: for each product and
// database kind, a schema file under schema/ made from the product's public schema facts (each
// table names its source; what no public source shows is marked UNVERIFIED there), and a seed
// that fills those tables the way the product would: a population of users with the names that
// make mapping mistakes visible, nested groups in two directories, and remember-me rows.
package producttest

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

//go:embed schema/*.sql
var schemas embed.FS

// Fixture is one product's tables on one database kind.
type Fixture struct {
	Product string
	Dialect string
	Table   string // the token table's exact name, as created
	Key     string // its key column
	// TableOverride is what the config's table: must say: the product's table is only a
	// candidate until the operator names it (Fisheye/Crucible).
	TableOverride string
	// Part is the product's part whose table this is (Crowd's remember-me), empty for the
	// product's own table.
	Part string
}

// Target is the name of the fixture's target, in a config whose target is named name: the
// target's part for a part's fixture.
func (f Fixture) Target(name string) string {
	if f.Part != "" {
		return name + "." + f.Part
	}
	return name
}

// kind is the fixture's rows' kind: the product, or product/part.
func (f Fixture) kind() string {
	if f.Part != "" {
		return f.Product + "/" + f.Part
	}
	return f.Product
}

// Name names the fixture in test names: product[/part]/dialect.
func (f Fixture) Name() string { return f.kind() + "/" + f.Dialect }

var fixtures = []Fixture{
	{Product: "jira", Dialect: "postgres", Table: "remembermetoken", Key: "id"},
	{Product: "jira", Dialect: "mysql", Table: "remembermetoken", Key: "id"},
	{Product: "confluence", Dialect: "postgres", Table: "remembermetoken", Key: "id"},
	{Product: "confluence", Dialect: "mysql", Table: "REMEMBERMETOKEN", Key: "id"},
	{Product: "bitbucket", Dialect: "postgres", Table: "sta_remember_me_token", Key: "id"},
	{Product: "bamboo", Dialect: "postgres", Table: "rememberme_token", Key: "id"},
	{Product: "bamboo", Dialect: "mysql", Table: "REMEMBERME_TOKEN", Key: "id"},
	{Product: "fisheye", Dialect: "postgres", Table: "cru_login_cookie", Key: "cru_login_cookie_id", TableOverride: "cru_login_cookie"},
	{Product: "fisheye", Dialect: "mysql", Table: "CRU_LOGIN_COOKIE", Key: "cru_login_cookie_id", TableOverride: "CRU_LOGIN_COOKIE"},
	{Product: "crowd", Dialect: "postgres", Table: "cwd_token", Key: "id"},
	{Product: "crowd", Dialect: "mysql", Table: "cwd_token", Key: "id"},
	{Product: "crowd", Dialect: "postgres", Table: "cwd_remember_me_token", Key: "id", Part: "remember-me"},
	{Product: "crowd", Dialect: "mysql", Table: "cwd_remember_me_token", Key: "id", Part: "remember-me"},
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

// Schema is the fixture's schema file: the DDL, with the sources in its comments.
func (f Fixture) Schema() string {
	b, err := schemas.ReadFile("schema/" + f.Product + "-" + f.Dialect + ".sql")
	if err != nil {
		panic(err) // every fixture has its file; TestSchemaFiles checks it
	}
	return string(b)
}

// statements splits the schema file into statements (each ends with ";" at the end of a line).
func (f Fixture) statements() []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(f.Schema(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		cur.WriteString(line + "\n")
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			if s := strings.TrimSpace(cur.String()); s != ";" {
				out = append(out, strings.TrimSuffix(s, ";"))
			}
			cur.Reset()
		}
	}
	return out
}

// Tables lists the tables the schema file creates, as spelt there.
func (f Fixture) Tables() []string {
	var out []string
	for _, s := range f.statements() {
		if rest, ok := strings.CutPrefix(s, "CREATE TABLE "); ok {
			name, _, _ := strings.Cut(rest, " ")
			out = append(out, strings.Trim(name, "`"))
		}
	}
	return out
}

// Person is a user of the seeded population.
type Person struct {
	Login string // as the user directory spells it
	ID    int64  // Bitbucket's stash_user.id, Crucible's CRU_USER_ID; cwd_user ids derive from it
	// Key is the Jira user key that remembermetoken.username holds for this user.
	Key      string
	Inactive bool
	Dirs     []int64 // the directories that hold the user (1 internal, 2 LDAP); nil: {1}
	// Spellings are how a product that stores names in its token table (Confluence, Bamboo)
	// spells this user's rows, in turn: the products compare names case-insensitively, so a
	// login typed as "Alice" may be stored so.
	Spellings []string
}

// ConfluenceKey is the user's key in Confluence's user_mapping.
func (p Person) ConfluenceKey() string { return fmt.Sprintf("8a7f808a9c%022x", p.ID) }

func (p Person) dirs() []int64 {
	if p.Dirs == nil {
		return []int64{1}
	}
	return p.Dirs
}

// People is the seeded population. Its names make the mistakes of a scope visible: "dave" is a
// Jira trap (the user key "dave" belongs to david, renamed from dave; today's dave has key
// JIRAUSER10104); Åsa and asa, a_b and axb and a%b differ only where a case- or
// accent-insensitive collation or a LIKE pattern would confuse them; erin is only in the LDAP
// directory, frank is inactive, alice is in both directories.
var People = []Person{
	{Login: "alice", ID: 1, Key: "JIRAUSER10100", Dirs: []int64{1, 2}, Spellings: []string{"alice", "Alice"}},
	{Login: "bob", ID: 2, Key: "bob"},
	{Login: "carol", ID: 3, Key: "JIRAUSER10102", Spellings: []string{"carol", "CAROL"}},
	{Login: "dave", ID: 4, Key: "JIRAUSER10104"},
	{Login: "admin", ID: 5, Key: "admin"},
	{Login: "david", ID: 6, Key: "dave"},
	{Login: "erin", ID: 7, Key: "JIRAUSER10200", Dirs: []int64{2}},
	{Login: "frank", ID: 8, Key: "frank", Inactive: true},
	{Login: "Åsa", ID: 9, Key: "JIRAUSER10300", Spellings: []string{"Åsa", "ÅSA"}},
	{Login: "asa", ID: 10, Key: "JIRAUSER10301"},
	{Login: "a_b", ID: 11, Key: "JIRAUSER10302"},
	{Login: "axb", ID: 12, Key: "JIRAUSER10303"},
	{Login: "a%b", ID: 13, Key: "JIRAUSER10304"},
}

// ServiceUser is a Bitbucket service user (sta_service_user), which has no directory entry.
var ServiceUser = Person{Login: "svc-build", ID: 50}

// Person returns the person with the login name.
func PersonNamed(login string) Person {
	for _, p := range People {
		if p.Login == login {
			return p
		}
	}
	panic("producttest: no person " + login)
}

// Group is a group of a directory with its direct members (users and groups of that directory).
type Group struct {
	Name   string
	Dir    int64
	Users  []string
	Groups []string
}

// Groups are the seeded groups. Members of "developers" (any case), nested and across both
// directories: carol, frank (inactive, through contractors), dave (through vendors, which nests
// Developers again: a cycle), and alice and erin (the LDAP directory's group of that name).
var Groups = []Group{
	{Name: "jira-users", Dir: 1, Users: []string{"alice", "bob", "carol", "dave", "admin", "david", "frank", "Åsa", "asa", "a_b", "axb", "a%b"}},
	{Name: "Developers", Dir: 1, Users: []string{"carol"}, Groups: []string{"contractors"}},
	{Name: "contractors", Dir: 1, Users: []string{"frank"}, Groups: []string{"vendors"}},
	{Name: "vendors", Dir: 1, Users: []string{"dave"}, Groups: []string{"Developers"}},
	{Name: "developers", Dir: 2, Users: []string{"alice", "erin"}},
	{Name: "admins", Dir: 1, Users: []string{"admin"}},
	{Name: "qa_1", Dir: 1, Users: []string{"a%b"}},
	{Name: "qax1", Dir: 1, Users: []string{"axb"}},
}

// Users are the login names that own the n rows Setup seeds, in turn.
var Users = []string{"alice", "bob", "carol", "dave", "admin"}

// Base is the seed's reference time: row i was created i hours before it.
var Base = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// Owner is the login name that seeded row i (key 10000+i) belongs to.
func Owner(i int) string { return Users[i%len(Users)] }

// Created is seeded row i's creation time.
func Created(i int) time.Time { return Base.Add(-time.Duration(i) * time.Hour) }

// PersonRows is how many rows SeedPeople gives each person.
const PersonRows = 3

// OwnerOf is the login name of the person a seeded row belongs to: rows 10000+i of Setup and
// Insert, and rows 20000+ of SeedPeople.
func OwnerOf(key int64) string {
	if key >= 20000 {
		return People[(key-20000)/10].Login
	}
	return Owner(int(key - 10000))
}

// Setup creates the fixture's tables, fills the user tables with People, Groups and the
// Bitbucket service user, and seeds n token rows (keys 10000+i for i in 1..n) owned by Users in
// turn.
func (f Fixture) Setup(t testing.TB, exec func(testing.TB, string), n int) {
	t.Helper()
	for _, s := range f.statements() {
		exec(t, s)
	}
	f.seedUsers(t, exec)
	const chunk = 5000
	for start := 1; start <= n; start += chunk {
		exec(t, f.insertSQL(start, min(start+chunk-1, n)))
	}
}

// Insert adds seeded rows with keys 10000+from .. 10000+to, as the product would.
func (f Fixture) Insert(t testing.TB, exec func(testing.TB, string), from, to int) {
	t.Helper()
	exec(t, f.insertSQL(from, to))
}

// SeedPeople gives every person of People PersonRows token rows, keys 20000 + 10*k + j for
// the k-th person, spelt in turn as the product may store them.
func (f Fixture) SeedPeople(t testing.TB, exec func(testing.TB, string)) {
	t.Helper()
	var rows []string
	for k, p := range People {
		for j := 0; j < PersonRows; j++ {
			key := int64(20000 + 10*k + j)
			rows = append(rows, f.row(key, p, j, Base.Add(-time.Duration(k*PersonRows+j)*time.Minute)))
		}
	}
	exec(t, f.insertHead()+strings.Join(rows, ", "))
}

func (f Fixture) insertSQL(from, to int) string {
	var rows []string
	for i := from; i <= to; i++ {
		rows = append(rows, f.row(int64(10000+i), PersonNamed(Owner(i)), i/len(Users), Created(i)))
	}
	return f.insertHead() + strings.Join(rows, ", ")
}

func (f Fixture) insertHead() string {
	cols := map[string]string{
		"jira":              "id, created, token, username",
		"confluence":        "id, username, created, token",
		"bitbucket":         "id, series, token, user_id, expiry_timestamp, claimed, claimed_address",
		"bamboo":            "id, created, token, username",
		"fisheye":           "cru_login_cookie_id, cru_user_id, cru_create_date, cru_rnd, cru_type, cru_url, cru_recursive_url",
		"crowd":             "id, directory_id, entity_name, random_number, identifier_hash, random_hash, created_date, last_accessed_date, last_accessed_time, duration",
		"crowd/remember-me": "id, username, remote_address, token, series, created_date, used_date, directory_id",
	}[f.kind()]
	return "INSERT INTO " + f.Table + " (" + cols + ") VALUES "
}

// row is one token row for person p; turn picks the spelling for products that store names.
func (f Fixture) row(key int64, p Person, turn int, created time.Time) string {
	ts := created.Format("2006-01-02 15:04:05")
	if f.Product == "jira" && f.Dialect == "postgres" {
		ts += "+00" // timestamptz
	}
	tok := fmt.Sprintf("tok-%d-%s", key, strings.Repeat("x", int(key%7)))
	switch f.kind() {
	case "jira":
		return fmt.Sprintf("(%d, '%s', '%s', %s)", key, ts, tok, lit(p.Key))
	case "confluence":
		// Whether Confluence stores the login name or the user key is unverified: rows of
		// both kinds are seeded.
		stored := append(spellings(p), p.ConfluenceKey())
		return fmt.Sprintf("(%d, %s, %d, '%s')", key, lit(stored[turn%len(stored)]), created.UnixMilli(), tok)
	case "bitbucket":
		addr := "NULL"
		if key%3 == 0 {
			addr = fmt.Sprintf("'10.0.0.%d'", key%250)
		}
		return fmt.Sprintf("(%d, 'series-%d', '%s', %d, '%s', %v, %s)", key, key, tok, p.ID,
			created.Add(30*24*time.Hour).Format("2006-01-02 15:04:05"), boolLit(f.Dialect, key%2 == 0), addr)
	case "bamboo":
		s := spellings(p)
		return fmt.Sprintf("(%d, '%s', '%s', %s)", key, ts, tok, lit(s[turn%len(s)]))
	case "fisheye":
		return fmt.Sprintf("(%d, %d, %d, '%s', 1, NULL, 0)", key, p.ID, created.UnixMilli(), tok)
	case "crowd":
		// A user's SSO session: the user's directory and name, spelt in turn (UNVERIFIED whether
		// Crowd folds it).
		s := spellings(p)
		return crowdToken(key, p.dirs()[0], s[turn%len(s)], ts, created)
	case "crowd/remember-me":
		// A user who ticked "Remember me" at Crowd's login: the user's directory and name, spelt
		// in turn; used_date NULL until the cookie is first used, and the address only sometimes.
		s := spellings(p)
		used, addr := "NULL", "NULL"
		if key%2 == 0 {
			used = "'" + created.Add(time.Hour).Format("2006-01-02 15:04:05.000000") + "'"
		}
		if key%3 == 0 {
			addr = fmt.Sprintf("'10.0.0.%d'", key%250)
		}
		return fmt.Sprintf("(%d, %s, %s, '%s', 'series-%d', '%s', %s, %d)", key, lit(s[turn%len(s)]), addr, tok, key,
			created.Format("2006-01-02 15:04:05.000000"), used, p.dirs()[0])
	}
	panic("producttest: no rows for " + f.kind())
}

func crowdToken(key, dir int64, name, ts string, created time.Time) string {
	return fmt.Sprintf("(%d, %d, %s, %d, 'idh-%d', 'rh-%d-%s', '%s', '%s', %d, NULL)",
		key, dir, lit(name), key*7919, key, key, strings.Repeat("x", int(key%7)), ts, ts, created.UnixMilli())
}

// Applications are the applications whose Crowd SSO sessions SeedApplicationSessions writes:
// "bob" is also a user's name.
var Applications = []string{"jira", "confluence", "bob"}

// SeedApplicationSessions writes, for Crowd, one SSO session per application of Applications
// (directory_id -1, keys 90000+): sessions that are not users' and that no scope takes.
func (f Fixture) SeedApplicationSessions(t testing.TB, exec func(testing.TB, string)) {
	t.Helper()
	if f.Product != "crowd" {
		t.Fatalf("producttest: %s has no application sessions", f.Product)
	}
	var rows []string
	for i, a := range Applications {
		rows = append(rows, crowdToken(int64(90000+i), -1, a, Base.Format("2006-01-02 15:04:05"), Base))
	}
	exec(t, f.insertHead()+strings.Join(rows, ", "))
}

func spellings(p Person) []string {
	if len(p.Spellings) == 0 {
		return []string{p.Login}
	}
	return p.Spellings
}

// lit is a SQL string literal.
func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func boolLit(dialect string, b bool) string {
	if dialect == "mysql" {
		if b {
			return "1"
		}
		return "0"
	}
	return fmt.Sprint(b)
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

// ssoPostgres is the identity-provider table of Atlassian's SSO app ("SSO for Data Center",
// plugin com.atlassian.plugins.authentication) on PostgreSQL, as the app creates it in Jira,
// Confluence, Bitbucket and Bamboo alike: copied from public pg_dumps of Confluence and of
// Bitbucket (both list the same 26 columns). The SSO_TYPE values SAML and OIDC are the app's
// SsoType names, and SAML_IDP_TYPE's GENERIC and CROWD its SamlConfig.IdpType names, written by
// name (the app's SsoConfigDao; a Crowd IdP is SAML with SAML_IDP_TYPE CROWD, its issuer
// Crowd's base URL and its SSO URL that base + /console/secure/saml/sso.action). Its MySQL
// form is UNVERIFIED (no public dump found).
const ssoPostgres = `CREATE TABLE "AO_ED669C_IDP_CONFIG" (
    "ADDITIONAL_JIT_SCOPES" text,
    "ADDITIONAL_SCOPES" text,
    "AUTHORIZATION_ENDPOINT" character varying(255),
    "BUTTON_TEXT" character varying(255) NOT NULL,
    "CLIENT_ID" character varying(255),
    "CLIENT_SECRET" character varying(255),
    "ENABLED" boolean NOT NULL,
    "ENABLE_REMEMBER_ME" boolean,
    "ID" bigint NOT NULL,
    "INCLUDE_CUSTOMER_LOGINS" boolean,
    "ISSUER" character varying(255) NOT NULL,
    "LAST_UPDATED" timestamp without time zone,
    "MAPPING_DISPLAYNAME" character varying(255),
    "MAPPING_EMAIL" character varying(255),
    "MAPPING_GROUPS" character varying(255),
    "NAME" character varying(255) NOT NULL,
    "SAML_IDP_TYPE" character varying(255),
    "SIGNING_CERT" text,
    "SSO_TYPE" character varying(255),
    "SSO_URL" character varying(255),
    "TOKEN_ENDPOINT" character varying(255),
    "USERNAME_ATTRIBUTE" character varying(255),
    "USERNAME_CLAIM" character varying(255),
    "USER_INFO_ENDPOINT" character varying(255),
    "USER_PROVISIONING_ENABLED" boolean,
    "USE_DISCOVERY" boolean,
    CONSTRAINT "AO_ED669C_IDP_CONFIG_pkey" PRIMARY KEY ("ID")
)`

// IdP is an identity provider of Atlassian's SSO app, for SetupSSO.
type IdP struct {
	Name, Type, Issuer, URL string // Type: SAML or OIDC
	Enabled                 bool
	// SAMLType is SAML_IDP_TYPE: GENERIC, CROWD (Crowd SSO 2.0, whose URL is then Crowd's
	// base URL + /console/secure/saml/sso.action and issuer Crowd's base URL), or empty (NULL).
	SAMLType string
}

// SetupSSO creates the SSO app's identity-provider table on PostgreSQL and configures idps in it
// as the app's admin page would.
func SetupSSO(t testing.TB, exec func(testing.TB, string), idps ...IdP) {
	t.Helper()
	exec(t, ssoPostgres)
	for i, p := range idps {
		url := "NULL"
		if p.URL != "" {
			url = lit(p.URL)
		}
		typ := "NULL"
		if p.SAMLType != "" {
			typ = lit(p.SAMLType)
		}
		exec(t, fmt.Sprintf(`INSERT INTO "AO_ED669C_IDP_CONFIG" ("ID", "NAME", "BUTTON_TEXT", "ENABLED", "ENABLE_REMEMBER_ME", "ISSUER", "SSO_TYPE", "SSO_URL", "SAML_IDP_TYPE", "LAST_UPDATED") VALUES (%d, %s, %s, %v, true, %s, %s, %s, %s, '%s')`,
			i+1, lit(p.Name), lit("Continue with "+p.Name), p.Enabled, lit(p.Issuer), lit(p.Type), url, typ, seedTime))
	}
}
