// Package products holds what reauth knows about each supported product: where its remember-me
// tokens live (table, columns, what the user column stores and how a login name maps to it),
// its cookies, readiness probe, default port and start/stop commands, and which databases it
// runs on. The set of products is closed: see All and Lookup.
//
// Facts that no public source confirmed are marked unverified. Code that relies on one must let
// the operator override it and must say that it relied on it.
package products

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrUnknownProduct is returned by Lookup for a name that is not a supported product.
var ErrUnknownProduct = errors.New("unknown product")

// Product is one supported product and its facts.
type Product struct {
	Name  string `json:"name"`  // as written in the config file
	Title string `json:"title"` // for people
	// Tokens is the remember-me table.
	Tokens TokenTable `json:"remember_me"`
	// RememberMeCookie is backed by a row of Tokens; SessionCookie lives in one node's memory.
	RememberMeCookie string `json:"remember_me_cookie"`
	SessionCookie    string `json:"session_cookie"`
	Probe            Probe  `json:"probe"`
	Port             int    `json:"default_port"`
	// Databases are the dialects (db.Dialects keys) the product supports.
	Databases []string `json:"databases"`
	// ConfigFile is where the product keeps its database connection, relative to its home.
	ConfigFile string `json:"config_file"`
	Start      string `json:"start"`
	Stop       string `json:"stop"`
	Service    string `json:"service"` // usual systemd unit
	// Tomcat: the product runs in Tomcat with its usual layout under the install directory
	// (conf/server.xml, context.xml, work/.../SESSIONS.ser), checked and cleaned on restart;
	// TomcatDir is Tomcat's folder inside the install directory, where it is not the install
	// directory itself (Crowd's apache-tomcat).
	Tomcat    bool   `json:"tomcat"`
	TomcatDir string `json:"tomcat_dir,omitempty"`
	// Parts are the product's other tables of sessions (Crowd's own remember-me tokens): each
	// is planned, backed up, cleared, restored and verified as a part of the target, named
	// <target>.<suffix>, in the same database and with the same restart.
	Parts []Part `json:"parts,omitempty"`
	// SessionAPI is the per-user session kill endpoint, where the product has one, for
	// people; SessionPath is its path (the user name is appended) and SessionSince the first
	// release that has it, where that is narrower than the releases reauth supports.
	SessionAPI   string `json:"session_api,omitempty"`
	SessionPath  string `json:"session_path,omitempty"`
	SessionSince string `json:"session_since,omitempty"`
	// SessionAuth says whose credentials the endpoint takes (the config's admin:), for people.
	SessionAuth string `json:"session_auth,omitempty"`
	Notes       string `json:"notes,omitempty"`
}

// TokenTable describes a product's remember-me table.
type TokenTable struct {
	// Table is the table name as the product creates it; compare case-insensitively. When
	// Verified is false, it is only a candidate: the operator confirms it with table: before
	// anything is deleted.
	Table    string `json:"table"`
	Verified bool   `json:"table_verified"`
	// Columns is the documented column layout. Where ColumnsVerified is false, the names are
	// guesses or come from an unofficial model, and the config's columns: overrides them.
	Columns         []ColumnFact `json:"columns"`
	ColumnsVerified bool         `json:"columns_verified"`
	// The roles reauth needs: a unique key to batch and delete by, the user column for --user,
	// the creation time for --older-than. Empty means the product has no such column.
	Key     string `json:"key_column"`
	User    string `json:"user_column,omitempty"`
	Created string `json:"created_column,omitempty"`
	// Users says what the user column holds and how login names map to it.
	Users Users `json:"users"`
	// Groups is the layout of the product's embedded Crowd directory (cwd_group and
	// cwd_membership), which --group resolves through; empty when --group does not apply.
	Groups GroupLayout `json:"group_layout,omitempty"`
	// Holds says what the table's rows are, where they are not remember-me tokens (Crowd's
	// SSO sessions), for messages.
	Holds string `json:"holds,omitempty"`
	// InMemory is a setting in the product's database that, when it holds its value, means the
	// product keeps these sessions in memory instead of the table (Crowd's token storage): the
	// table then holds none, and only a restart ends them.
	InMemory *Setting `json:"in_memory,omitempty"`
	// Keep names rows of the table that are not users' sessions and are never in scope
	// (Crowd's cwd_token also holds applications' sessions).
	Keep *KeepRows `json:"keep,omitempty"`
	// Source names the public schema facts behind this entry, and says what is unverified.
	Source string `json:"source"`
}

// Part is one more table of a product's sessions.
type Part struct {
	// Suffix names the part: target crowd's part remember-me is crowd.remember-me.
	Suffix string     `json:"suffix"`
	Tokens TokenTable `json:"tokens"`
	// Cookie is the cookie a row of the table is behind, where a public source names it.
	Cookie string `json:"cookie,omitempty"`
	// Since is the first release with the table: in an older one the table is absent, and the
	// part has nothing to do.
	Since string `json:"since,omitempty"`
}

// Part returns the product as its i-th part sees it: the same product, with the part's
// table and cookie, and no parts of its own.
func (p *Product) Part(i int) *Product {
	q := *p
	q.Tokens, q.RememberMeCookie, q.Parts = p.Parts[i].Tokens, p.Parts[i].Cookie, nil
	return &q
}

// Setting is one row of a product's settings table: the row whose KeyColumn holds Key and
// NameColumn holds Name; Value is the value of ValueColumn that the setting is about.
type Setting struct {
	Table       string `json:"table"`
	KeyColumn   string `json:"key_column"`
	Key         string `json:"key"`
	NameColumn  string `json:"name_column"`
	Name        string `json:"name"`
	ValueColumn string `json:"value_column"`
	Value       string `json:"value"`
}

// Noun names the table for people: "remember-me table", or what it holds.
func (t TokenTable) Noun() string {
	if t.Holds != "" {
		return t.Holds + " table"
	}
	return "remember-me table"
}

// Kind names one row for people, as an adjective of "row": "remember-me", or what it holds
// ("SSO session").
func (t TokenTable) Kind() string {
	if t.Holds != "" {
		return strings.TrimSuffix(t.Holds, "s")
	}
	return "remember-me"
}

// KeepRows are a token table's rows whose Column holds Value: left alone by every command.
type KeepRows struct {
	Column string `json:"column"`
	Value  int64  `json:"value"`
	Why    string `json:"why"`
}

// ColumnFact is one documented column.
type ColumnFact struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Users says how the token table's user column refers to users.
type Users struct {
	// Stores says what the user column holds, for people.
	Stores string `json:"stores"`
	// Names is set where the column may hold login names themselves, spelt as at sign-in: a
	// stored name belongs to a user when the product's fold of it is the user's.
	Names bool `json:"login_names"`
	// Maps are the tables that map a login name to what the column holds otherwise (Jira's
	// user keys, Bitbucket's user ids), all consulted.
	Maps []UserMap `json:"maps,omitempty"`
	// Directory is where a login name must exist when the column stores names, so that a typo
	// in --except is an error rather than an account left exposed.
	Directory *UserMap `json:"directory,omitempty"`
	// Fold is how the product compares login names.
	Fold Fold `json:"fold"`
}

// UserMap is a product table holding login names: rows whose Login column names a user give,
// in Stored, the value the token table holds for that user.
type UserMap struct {
	Table string `json:"table"`
	Login string `json:"login_column"`
	// Folded says Login holds names already folded by the product (lower_user_name), so it is
	// compared with the fold of the name given; otherwise reauth folds each stored name itself.
	Folded bool   `json:"login_folded"`
	Stored string `json:"stored_column"`
}

// Fold is a product's rule for comparing login names.
type Fold string

const (
	// FoldCrowd is the embedded Crowd's rule: names are equal when their CrowdLower forms are.
	FoldCrowd Fold = "crowd"
	// FoldExact compares names as stored, code point for code point.
	FoldExact Fold = "exact"
)

// Apply folds a login name by the rule. exact is false where the result cannot be computed
// with certainty (see CrowdLower).
func (f Fold) Apply(name string) (folded string, exact bool) {
	if f == FoldCrowd {
		return CrowdLower(name)
	}
	return name, true
}

// GroupLayout is how a product's cwd_membership links groups to their members.
type GroupLayout string

const (
	// GroupsTyped: rows carry membership_type (GROUP_USER, GROUP_GROUP), child_id and the
	// child's lower-cased name, lower_child_name (Jira, Bitbucket, Crowd).
	GroupsTyped GroupLayout = "typed"
	// GroupsByID: rows link parent_id to child_user_id or child_group_id, ids only (Confluence).
	GroupsByID GroupLayout = "by-id"
)

// Probe is how a node is asked whether it is ready.
type Probe struct {
	Path string `json:"path"`
	// JSONState: the reply is {"state":"..."}, and only RUNNING with HTTP 200 is ready;
	// otherwise the page answering 200 is the best there is.
	JSONState bool `json:"json_state"`
	// Ready says what counts as ready, for people; the probe code in package restart applies it.
	Ready string `json:"ready"`
}

// crowdUsers is how Crowd's session tables (cwd_token, cwd_remember_me_token) name users.
var crowdUsers = Users{
	Stores:    "user name (as the directory spells it: UNVERIFIED whether folded), with the user's directory_id",
	Names:     true,
	Directory: &UserMap{Table: "cwd_user", Login: "lower_user_name", Folded: true, Stored: "user_name"},
	Fold:      FoldCrowd,
}

var all = []*Product{
	{
		Name: "jira", Title: "Jira",
		Tokens: TokenTable{
			Table: "remembermetoken", Verified: true,
			Columns: []ColumnFact{
				{"id", "numeric(18,0)"}, {"created", "timestamptz"}, {"token", "varchar(255)"}, {"username", "varchar(255)"},
			},
			ColumnsVerified: true,
			Key:             "id", User: "username", Created: "created",
			Users: Users{
				Stores: "user key (app_user.user_key, e.g. JIRAUSER10100), not always the login name",
				Maps:   []UserMap{{Table: "app_user", Login: "lower_user_name", Folded: true, Stored: "user_key"}},
				Fold:   FoldCrowd,
			},
			Groups: GroupsTyped,
			Source: "public pg_dump of Jira 8 and mysqldump of Jira 7; Jira's JiraRememberMeTokenDao stores the user key in username",
		},
		RememberMeCookie: "seraph.rememberme.cookie", SessionCookie: "JSESSIONID",
		Probe: Probe{Path: "/status", JSONState: true, Ready: `HTTP 200 and {"state":"RUNNING"} (200 also while STARTING, STOPPING, FIRST_RUN; 503 MAINTENANCE; 500 ERROR)`},
		Port:  8080, Databases: []string{"postgres", "mysql", "sqlserver", "oracle"},
		ConfigFile: "dbconfig.xml (local home)",
		Start:      "bin/start-jira.sh", Stop: "bin/stop-jira.sh", Service: "jira", Tomcat: true,
		SessionAPI: "DELETE /rest/api/2/user/session/{username} (Jira 9.11+)", SessionPath: "/rest/api/2/user/session/", SessionSince: "9.11",
		Notes: "Jira Software, Jira Core and Jira Service Management share this layout",
	},
	{
		Name: "confluence", Title: "Confluence",
		Tokens: TokenTable{
			Table: "remembermetoken", Verified: true,
			Columns: []ColumnFact{
				{"id", "bigint"}, {"username", "varchar(255)"}, {"created", "bigint (epoch milliseconds)"}, {"token", "varchar(255)"},
			},
			ColumnsVerified: true,
			Key:             "id", User: "username", Created: "created",
			Users: Users{
				Stores:    "login name or user key (user_mapping.user_key): UNVERIFIED which, so both are matched",
				Names:     true,
				Maps:      []UserMap{{Table: "user_mapping", Login: "lower_username", Folded: true, Stored: "user_key"}},
				Directory: &UserMap{Table: "cwd_user", Login: "lower_user_name", Folded: true, Stored: "user_name"},
				Fold:      FoldCrowd,
			},
			Groups: GroupsByID,
			Source: "public pg_dumps of Confluence 6.x; no public MySQL dump (UNVERIFIED there); epoch milliseconds in created UNVERIFIED",
		},
		RememberMeCookie: "seraph.confluence", SessionCookie: "JSESSIONID",
		Probe: Probe{Path: "/status", JSONState: true, Ready: `{"state":"RUNNING"} (liveness only)`},
		Port:  8090, Databases: []string{"postgres", "mysql", "sqlserver", "oracle"},
		ConfigFile: "confluence.cfg.xml (local home)",
		Start:      "bin/start-confluence.sh", Stop: "bin/stop-confluence.sh", Service: "confluence", Tomcat: true,
		Notes: "when clustered, JSESSIONID is ignored and remember-me is enforced",
	},
	{
		Name: "bitbucket", Title: "Bitbucket",
		Tokens: TokenTable{
			Table: "sta_remember_me_token", Verified: true,
			Columns: []ColumnFact{
				{"id", "bigint"}, {"series", "varchar(64)"}, {"token", "varchar(64)"}, {"user_id", "int"},
				{"expiry_timestamp", "timestamp"}, {"claimed", "bool"}, {"claimed_address", "varchar(255)"},
			},
			ColumnsVerified: true,
			Key:             "id", User: "user_id",
			Users: Users{
				Stores: "user id (stash_user.id): sta_normal_user.user_id for people, sta_service_user.user_id for service users",
				Maps: []UserMap{
					{Table: "sta_normal_user", Login: "name", Stored: "user_id"},
					{Table: "sta_service_user", Login: "name", Stored: "user_id"},
				},
				Fold: FoldCrowd,
			},
			Groups: GroupsTyped,
			Source: "public pg_dumps of Bitbucket (PostgreSQL 9.5 and 12); Bitbucket KB 1319568820",
		},
		RememberMeCookie: "_atl_bitbucket_remember_me", SessionCookie: "BITBUCKETSESSIONID",
		Probe: Probe{Path: "/status", JSONState: true, Ready: `{"state":"RUNNING"} (503 while STARTING, 200 in MAINTENANCE, may answer empty under load)`},
		Port:  7990, Databases: []string{"postgres", "sqlserver", "oracle"},
		ConfigFile: "shared/bitbucket.properties",
		Start:      "bin/start-bitbucket.sh", Stop: "bin/stop-bitbucket.sh", Service: "atlbitbucket",
		Notes: "Data Center does not support MySQL; tokens carry an expiry, not a creation time, so --older-than does not apply",
	},
	{
		Name: "bamboo", Title: "Bamboo",
		Tokens: TokenTable{
			Table: "REMEMBERME_TOKEN", Verified: true,
			// Bamboo's KB names the table; its columns are the Seraph model's, unconfirmed.
			Columns: []ColumnFact{
				{"ID", "bigint"}, {"CREATED", "timestamp"}, {"TOKEN", "varchar(255)"}, {"USERNAME", "varchar(255)"},
			},
			ColumnsVerified: false,
			Key:             "ID", User: "USERNAME", Created: "CREATED",
			Users: Users{
				Stores:    "login name (UNVERIFIED)",
				Names:     true,
				Directory: &UserMap{Table: "cwd_user", Login: "lower_user_name", Folded: true, Stored: "user_name"},
				Fold:      FoldCrowd,
			},
			Groups: GroupsTyped,
			Source: "table name from Bamboo's KB \"Invalidate all Bamboo login sessions\"; columns and directory layout UNVERIFIED (Seraph's and Crowd's)",
		},
		RememberMeCookie: "seraph.bamboo", SessionCookie: "JSESSIONID",
		Probe: Probe{Path: "/rest/api/latest/status", JSONState: true, Ready: `{"state":"RUNNING"} (PAUSED also exists)`},
		Port:  8085, Databases: []string{"postgres", "mysql", "sqlserver", "oracle"},
		ConfigFile: "bamboo.cfg.xml (home)",
		Start:      "bin/start-bamboo.sh", Stop: "bin/stop-bamboo.sh", Service: "bamboo", Tomcat: true,
		SessionAPI: "DELETE /rest/admin/latest/session/{username} (Bamboo 9.4+)", SessionPath: "/rest/admin/latest/session/", SessionSince: "9.4",
		Notes: "Data Center: one primary serves users, standbys take over",
	},
	{
		Name: "fisheye", Title: "Fisheye / Crucible",
		Tokens: TokenTable{
			// A public JPA model of a Crucible database; not confirmed by Atlassian: the operator
			// confirms it with table: before anything is deleted.
			Table: "CRU_LOGIN_COOKIE", Verified: false,
			Columns: []ColumnFact{
				{"CRU_LOGIN_COOKIE_ID", "bigint"}, {"CRU_USER_ID", "bigint"}, {"CRU_CREATE_DATE", "numeric (epoch milliseconds)"},
				{"CRU_RND", "varchar"}, {"CRU_TYPE", "numeric"}, {"CRU_URL", "varchar"}, {"CRU_RECURSIVE_URL", "numeric"},
			},
			ColumnsVerified: false,
			Key:             "CRU_LOGIN_COOKIE_ID", User: "CRU_USER_ID", Created: "CRU_CREATE_DATE",
			Users: Users{
				Stores: "user id (CRU_USER.CRU_USER_ID)",
				Maps:   []UserMap{{Table: "CRU_USER", Login: "CRU_USER_NAME", Stored: "CRU_USER_ID"}},
				Fold:   FoldExact,
			},
			Source: "UNVERIFIED: a public JPA model of a Crucible database (CruLoginCookie, CruUser); types, the unit of CRU_CREATE_DATE and how Fisheye compares names are unconfirmed",
		},
		RememberMeCookie: "remember", SessionCookie: "FESESSIONID",
		Probe: Probe{Path: "/", Ready: "HTTP 200 (no documented status endpoint)"},
		Port:  8060, Databases: []string{"postgres", "mysql", "sqlserver", "oracle"},
		ConfigFile: "config.xml ($FISHEYE_INST)",
		Start:      "bin/start.sh", Stop: "bin/stop.sh", Service: "fisheye",
		Notes: "single node only; the embedded HSQLDB is not supported",
	},
	{
		Name: "crowd", Title: "Crowd",
		Tokens: TokenTable{
			// Crowd's SSO sessions: the crowd.token_key cookie of every application that signs
			// in through Crowd SSO is a row here, unless Crowd keeps its tokens in memory
			// (cwd_property crowd/database.token.storage.enabled = false; a restart of Crowd's
			// nodes then ends them).
			Table: "cwd_token", Verified: true, Holds: "SSO sessions",
			Columns: []ColumnFact{
				{"id", "bigint"}, {"directory_id", "bigint"}, {"entity_name", "varchar(255)"}, {"random_number", "bigint"},
				{"identifier_hash", "varchar(255)"}, {"random_hash", "varchar(255)"}, {"created_date", "timestamp"},
				{"last_accessed_date", "timestamp"}, {"last_accessed_time", "bigint (epoch milliseconds)"}, {"duration", "bigint (seconds)"},
			},
			ColumnsVerified: true,
			Key:             "id", User: "entity_name", Created: "created_date",
			Users:  crowdUsers,
			Groups: GroupsTyped,
			// Crowd's Property.DATABASE_TOKEN_STORAGE_ENABLED, read as true when absent.
			InMemory: &Setting{Table: "cwd_property", KeyColumn: "property_key", Key: "crowd",
				NameColumn: "property_name", Name: "database.token.storage.enabled", ValueColumn: "property_value", Value: "false"},
			Keep: &KeepRows{Column: "directory_id", Value: -1,
				Why: "application sessions (directory_id -1: Jira, Confluence... signed in to Crowd as applications), not users'"},
			Source: "public pg_dump of a Crowd 5 database (PostgreSQL 14.7, build 1891) and mysqldump of Crowd 2 (build 522); " +
				"application tokens have directory_id -1 (Crowd's Token.APPLICATION_TOKEN_DIRECTORY_ID)",
		},
		Parts: []Part{{
			Suffix: "remember-me", Since: "3.4",
			// Crowd's own remember-me tokens (a user who ticked "Remember me" at Crowd's login):
			// while one is valid, Crowd signs the user in and issues a new SSO session.
			Tokens: TokenTable{
				Table: "cwd_remember_me_token", Verified: true,
				Columns: []ColumnFact{
					{"id", "bigint"}, {"username", "varchar(255)"}, {"remote_address", "varchar(255)"}, {"token", "varchar(64)"},
					{"series", "varchar(64)"}, {"created_date", "timestamp"}, {"used_date", "timestamp"}, {"directory_id", "bigint"},
				},
				ColumnsVerified: true,
				Key:             "id", User: "username", Created: "created_date",
				Users:  crowdUsers,
				Groups: GroupsTyped,
				Source: "public pg_dump of a Crowd 5 database (PostgreSQL 14.7, build 1891): primary key id, unique (token, series); " +
					"the table is absent before Crowd 3.4 (CrowdRememberMeService, since 3.4); UNVERIFIED: its MySQL column types",
			},
			// Crowd's CrowdRememberMeConfiguration cookie, as Crowd's debug log shows it (Atlassian
			// KB "Logging out intermittently from Crowd administration console").
			Cookie: "crowd.rememberme.token",
		}},
		RememberMeCookie: "crowd.token_key", SessionCookie: "JSESSIONID",
		Probe: Probe{Path: "/status", JSONState: true, Ready: `{"state":"RUNNING"} at the node URL with Crowd's context path (http://node:8095/crowd/status)`},
		Port:  8095, Databases: []string{"postgres", "mysql", "sqlserver", "oracle"},
		ConfigFile: "shared/crowd.cfg.xml (home; crowd.cfg.xml in a home without shared/)",
		Start:      "start_crowd.sh", Stop: "stop_crowd.sh", Service: "crowd", Tomcat: true, TomcatDir: "apache-tomcat",
		// Crowd's REST "invalidate all tokens for a given user name" (usermanagement API 1.3):
		// 204 when done, 404 for an unknown user, 401 "Application failed to authenticate" for
		// wrong application credentials; Crowd's own client reads 405 as an older API. It ends
		// the user's SSO sessions wherever Crowd keeps them, in memory too.
		SessionAPI:  "DELETE /rest/usermanagement/1/session?username={username} (Crowd 2.6 has it)",
		SessionPath: "/rest/usermanagement/1/session?username=", SessionAuth: "an application's name and password, as registered in Crowd",
		Notes: "the SSO cookie (crowd.token_key, configurable as cookie.tokenkey) is a row of cwd_token; UNVERIFIED: the service name and JSESSIONID; " +
			"Crowd's own remember-me tokens (cwd_remember_me_token, Crowd 3.4+) are the target's part remember-me",
	},
}

// GitLab is the name of GitLab targets in a config. GitLab is not in the product table: its
// sessions live in Redis (package gitlab).
const GitLab = "gitlab"

// SignsInOthers reports whether the product is one that signs users in to the others (Crowd,
// through its SSO cookie).
func SignsInOthers(name string) bool { return name == "crowd" }

// IsGitLab reports whether a config's product name is GitLab.
func IsGitLab(name string) bool { return name == GitLab }

// All returns the supported products in a stable order.
func All() []*Product { return all }

// Names lists the product names.
func Names() []string {
	names := make([]string, len(all))
	for i, p := range all {
		names[i] = p.Name
	}
	return names
}

// Lookup returns the named product, or an error wrapping ErrUnknownProduct. GitLab is not an
// Atlassian-style product and is not in this table.
func Lookup(name string) (*Product, error) {
	for _, p := range all {
		if p.Name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%w %q (supported: %s)", ErrUnknownProduct, name, strings.Join(Names(), ", "))
}

// SessionURL is the per-user session endpoint of the product at base for user: the name is
// a query value where the path ends with "=" (Crowd), else the last path segment.
func (p *Product) SessionURL(base, user string) string {
	base = strings.TrimRight(base, "/") + p.SessionPath
	if strings.HasSuffix(p.SessionPath, "=") {
		return base + url.QueryEscape(user)
	}
	return base + url.PathEscape(user)
}

// Supports reports whether the product runs on the dialect.
func (p *Product) Supports(dialect string) bool {
	for _, d := range p.Databases {
		if d == dialect {
			return true
		}
	}
	return false
}
