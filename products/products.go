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
	// SessionAPI is the per-user session kill endpoint, where the product has one.
	SessionAPI string `json:"session_api,omitempty"`
	Notes      string `json:"notes,omitempty"`
}

// TokenTable describes a product's remember-me table.
type TokenTable struct {
	// Table is the table name as the product creates it; compare case-insensitively. Empty
	// when unverified: then the catalog is searched for names containing Hint.
	Table    string `json:"table,omitempty"`
	Verified bool   `json:"table_verified"`
	Hint     string `json:"discover_hint,omitempty"`
	// Columns is the documented column layout (empty when unverified).
	Columns         []ColumnFact `json:"columns,omitempty"`
	ColumnsVerified bool         `json:"columns_verified"`
	// The roles reauth needs: a unique key to batch and delete by, the user column for --user,
	// the creation time for --older-than. Empty means the product has no such column.
	Key     string `json:"key_column"`
	User    string `json:"user_column,omitempty"`
	Created string `json:"created_column,omitempty"`
	// UserStores says what the user column holds.
	UserStores string `json:"user_column_stores,omitempty"`
	// Users, when set, maps login names to what the user column stores.
	Users *UserMap `json:"user_map,omitempty"`
	// Directory, when set, is the product's user table, used to check that the login names
	// given exist where the user column stores names directly.
	Directory *UserMap `json:"user_directory,omitempty"`
}

// ColumnFact is one documented column.
type ColumnFact struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// UserMap resolves login names through a product table: rows of Table whose Login column
// equals the login name (case-insensitively) give the value the token table stores, in Stored.
type UserMap struct {
	Table  string `json:"table"`
	Login  string `json:"login_column"`
	Stored string `json:"stored_column"`
}

// Probe is how a node is asked whether it is ready.
type Probe struct {
	Path string `json:"path"`
	// Ready says what counts as ready, for people; the probe code in package restart applies it.
	Ready string `json:"ready"`
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
			UserStores: "user key (app_user.user_key, e.g. JIRAUSER10100), not always the login name",
			Users:      &UserMap{Table: "app_user", Login: "lower_user_name", Stored: "user_key"},
		},
		RememberMeCookie: "seraph.rememberme.cookie", SessionCookie: "JSESSIONID",
		Probe: Probe{Path: "/status", Ready: `HTTP 200 and {"state":"RUNNING"} (200 also while STARTING, STOPPING, FIRST_RUN; 503 MAINTENANCE; 500 ERROR)`},
		Port:  8080, Databases: []string{"postgres", "mysql", "sqlserver", "oracle"},
		ConfigFile: "dbconfig.xml (local home)",
		Start:      "bin/start-jira.sh", Stop: "bin/stop-jira.sh", Service: "jira",
		SessionAPI: "DELETE /rest/api/2/user/session/{username} (Jira 9.11+)",
		Notes:      "Jira Software, Jira Core and Jira Service Management share this layout",
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
			UserStores: "login name",
			Directory:  &UserMap{Table: "cwd_user", Login: "lower_user_name", Stored: "user_name"},
		},
		RememberMeCookie: "seraph.confluence", SessionCookie: "JSESSIONID",
		Probe: Probe{Path: "/status", Ready: `{"state":"RUNNING"} (liveness only)`},
		Port:  8090, Databases: []string{"postgres", "mysql", "sqlserver", "oracle"},
		ConfigFile: "confluence.cfg.xml (local home)",
		Start:      "bin/start-confluence.sh", Stop: "bin/stop-confluence.sh", Service: "confluence",
		Notes: "when clustered, JSESSIONID is ignored and remember-me is enforced",
	},
	{
		Name: "bitbucket", Title: "Bitbucket",
		Tokens: TokenTable{
			Table: "sta_remember_me_token", Verified: true,
			Columns: []ColumnFact{
				{"id", "bigint"}, {"series", "varchar(64)"}, {"token", "varchar(64)"}, {"user_id", "int"},
				{"expiry_timestamp", "timestamptz"}, {"claimed", "bool"}, {"claimed_address", "varchar(255)"},
			},
			ColumnsVerified: true,
			Key:             "id", User: "user_id",
			UserStores: "user id (stash_user.id)",
			Users:      &UserMap{Table: "stash_user", Login: "name", Stored: "id"},
		},
		RememberMeCookie: "_atl_bitbucket_remember_me", SessionCookie: "BITBUCKETSESSIONID",
		Probe: Probe{Path: "/status", Ready: `{"state":"RUNNING"} (503 while STARTING, 200 in MAINTENANCE, may answer empty under load)`},
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
			UserStores: "login name (unverified)",
			Directory:  &UserMap{Table: "cwd_user", Login: "lower_user_name", Stored: "user_name"},
		},
		RememberMeCookie: "seraph.bamboo", SessionCookie: "JSESSIONID",
		Probe: Probe{Path: "/rest/api/latest/status", Ready: `{"state":"RUNNING"} (PAUSED also exists)`},
		Port:  8085, Databases: []string{"postgres", "mysql", "sqlserver", "oracle"},
		ConfigFile: "bamboo.cfg.xml (home)",
		Start:      "bin/start-bamboo.sh", Stop: "bin/stop-bamboo.sh", Service: "bamboo",
		SessionAPI: "DELETE /rest/admin/latest/session/{username}",
		Notes:      "Data Center: one primary serves users, standbys take over",
	},
	{
		Name: "fisheye", Title: "Fisheye / Crucible",
		Tokens: TokenTable{
			// No public schema: the table must be found on the live database and confirmed.
			Verified: false, Hint: "remember",
			ColumnsVerified: false,
			Key:             "id", User: "username", Created: "created",
			UserStores: "login name (unverified)",
		},
		RememberMeCookie: "remember", SessionCookie: "FESESSIONID",
		Probe: Probe{Path: "/", Ready: "HTTP 200 (no documented status endpoint)"},
		Port:  8060, Databases: []string{"postgres", "mysql", "sqlserver", "oracle"},
		ConfigFile: "config.xml ($FISHEYE_INST)",
		Start:      "bin/start.sh", Stop: "bin/stop.sh", Service: "fisheye",
		Notes: "single node only; the embedded HSQLDB is not supported",
	},
}

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

// Supports reports whether the product runs on the dialect.
func (p *Product) Supports(dialect string) bool {
	for _, d := range p.Databases {
		if d == dialect {
			return true
		}
	}
	return false
}
