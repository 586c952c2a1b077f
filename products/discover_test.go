package products

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/internal/secretscan"
)

func product(t testing.TB, name string) *Product {
	t.Helper()
	p, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func sample(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "discover", filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// want is what a discovery should find. For a password that cannot be read (an error
// wrapping ErrEncryptedPassword) it is the partial result.
type want struct {
	dialect  string
	hosts    string // Host.String()s joined by commas
	database string
	sid      bool
	instance string
	schema   string
	params   map[string]string // a subset of Source.Params
	user     string
	password string
	form     string
	notes    []string // each is a substring of some note
}

type discoverCase struct {
	name    string
	product string
	file    string // under testdata/discover
	server  string // under testdata/discover/tomcat; "" for none
	want    *want  // nil: no result
	// The error expected, if any.
	field       string // a substring of DiscoverError.Field
	errText     string // a substring of the error text
	encrypted   bool   // wraps ErrEncryptedPassword
	unsupported bool   // wraps db.ErrUnsupported
	// secrets are the passwords (and parts of them) that the file holds: never shown.
	secrets []string
}

func (tc discoverCase) wantErr() bool { return tc.errText != "" || tc.field != "" }

var discoverTests = []discoverCase{
	// ---- Jira ----
	{name: "jira postgres72", product: "jira", file: "jira/postgres72.xml",
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "jiradb", schema: "public",
			user: "jiradbuser", password: "Jira-PG-s3cret!", form: "plain"}},
	{name: "jira mysql8 address form and entities", product: "jira", file: "jira/mysql8.xml",
		want: &want{dialect: "mysql", hosts: "mysql.example.com:3306", database: "jiradb",
			user: "jiradbuser", password: "Jira-My&s3cret<8>", form: "plain"}},
	{name: "jira mysql57", product: "jira", file: "jira/mysql57.xml",
		want: &want{dialect: "mysql", hosts: "mysql57.example.com:3306", database: "jiradb",
			user: "jira", password: "Jira-My57-s3cret", form: "plain"}},
	{name: "jira mssql", product: "jira", file: "jira/mssql.xml",
		want: &want{dialect: "sqlserver", hosts: "mssql.example.com:1433", database: "jiradb", schema: "dbo",
			user: "jiradbuser", password: "Jira-MS-s3cret!", form: "plain"}},
	{name: "jira oracle10g", product: "jira", file: "jira/oracle10g.xml",
		want: &want{dialect: "oracle", hosts: "oracle.example.com:1521", database: "JIRASVC",
			user: "JIRA", password: "Jira-Ora-s3cret!", form: "plain"}},
	{name: "jira h2 refused", product: "jira", file: "jira/h2.xml",
		field: "<jdbc-datasource>/<url>", errText: "embedded database", unsupported: true},
	{name: "jira base64 cipher", product: "jira", file: "jira/base64.xml",
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "jiradb", schema: "jira",
			params: map[string]string{"sslmode": "require"}, user: "jiradbuser", password: "Jira-B64-s3cret!", form: "base64",
			notes: []string{"Base64-encoded"}},
		secrets: []string{"SmlyYS1CNjQtczNjcmV0IQ"}},
	{name: "jira base64 secret store", product: "jira", file: "jira/base64-secretstore.xml",
		want: &want{dialect: "sqlserver", hosts: "mssql.example.com:1433", database: "jiradb", schema: "dbo",
			params: map[string]string{"encrypt": "true"}, user: "jiradbuser", password: "Jira-SS-s3cret!", form: "base64"}},
	{name: "jira aes", product: "jira", file: "jira/aes.xml",
		field: "<atlassian-password-cipher-provider>", errText: "AlgorithmCipher", encrypted: true,
		want:    &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "jiradb", schema: "public", user: "jiradbuser", form: "encrypted"},
		secrets: []string{"sealedObjectFilePath", "SealedObject_1715090843"}},
	{name: "jira atl_secured", product: "jira", file: "jira/atl-secured.xml",
		field: "<jdbc-datasource>/<password>", errText: "{ATL_SECURED}", encrypted: true,
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "jiradb", schema: "public", user: "jiradbuser", form: "encrypted"}},
	{name: "jira malformed", product: "jira", file: "jira/malformed.xml",
		errText: "malformed xml at line 8", secrets: []string{"Broken-s3cret", "Broken"}},
	{name: "jira no url", product: "jira", file: "jira/no-url.xml",
		field: "<jdbc-datasource>/<url>", errText: "missing", secrets: []string{"Jira-NoURL-s3cret!"}},
	{name: "jira jndi through a resource link", product: "jira", file: "jira/jndi.xml", server: "jira-server.xml",
		want: &want{dialect: "oracle", hosts: "ora1.example.com:1521,ora2.example.com:1521", database: "JIRASVC", schema: "public",
			user: "JIRA", password: "Jira-JNDI-s3cret", form: "plain", notes: []string{`jndi datasource "jdbc/JiraDS"`}}},
	{name: "jira jndi without install dir", product: "jira", file: "jira/jndi.xml",
		field: "<jndi-datasource>/<jndi-name>", errText: "restart.install_dir"},
	{name: "jira given confluence's file", product: "jira", file: "confluence/postgres.cfg.xml",
		errText: "the root element is <confluence-configuration>, not <jira-database-config>", secrets: []string{"Conf-PG-s3cret!"}},

	// ---- Confluence ----
	{name: "confluence postgres", product: "confluence", file: "confluence/postgres.cfg.xml",
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "confluence",
			user: "confluenceuser", password: "Conf-PG-s3cret!", form: "plain"}},
	{name: "confluence mysql with &amp; in the url", product: "confluence", file: "confluence/mysql.cfg.xml",
		want: &want{dialect: "mysql", hosts: "mysql.example.com:3306", database: "confluence",
			user: "confluenceuser", password: "Conf-My&s3cret", form: "plain"}},
	{name: "confluence sqlserver", product: "confluence", file: "confluence/sqlserver.cfg.xml",
		want: &want{dialect: "sqlserver", hosts: "mssql.example.com:1433", database: "confluence",
			params: map[string]string{"encrypt": "true", "TrustServerCertificate": "true"},
			user:   "confluenceuser", password: "Conf-MS-s3cret!", form: "plain"}},
	{name: "confluence oracle", product: "confluence", file: "confluence/oracle.cfg.xml",
		want: &want{dialect: "oracle", hosts: "oracle.example.com:1521", database: "CONFSVC",
			user: "CONFLUENCE", password: "Conf-Ora-s3cret!", form: "plain"}},
	{name: "confluence base64", product: "confluence", file: "confluence/base64.cfg.xml",
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "confluence",
			user: "confluenceuser", password: "Conf-B64-s3cret!", form: "base64", notes: []string{"Base64"}},
		secrets: []string{"Q29uZi1CNjQtczNjcmV0IQ"}},
	{name: "confluence aes", product: "confluence", file: "confluence/aes.cfg.xml",
		field: "property jdbc.password.decrypter.classname", errText: "AlgorithmSecretStore", encrypted: true,
		want:    &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "confluence", user: "confluenceuser", form: "encrypted"},
		secrets: []string{"SealedObject_1715090843"}},
	{name: "confluence atl_secured", product: "confluence", file: "confluence/atl-secured.cfg.xml",
		field: "property hibernate.connection.password", errText: "{ATL_SECURED}", encrypted: true,
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "confluence", user: "confluenceuser", form: "encrypted"}},
	{name: "confluence placeholders resolved", product: "confluence", file: "confluence/placeholder.cfg.xml",
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "confluence",
			user: "confluenceuser", password: "Conf-Ph-s3cret!", form: "plain", notes: []string{"placeholders"}}},
	{name: "confluence placeholder unresolved", product: "confluence", file: "confluence/placeholder-unresolved.cfg.xml",
		field: "property hibernate.connection.url", errText: "holds ${db.host}, which no property of this file defines",
		secrets: []string{"Conf-Ph-s3cret!"}},
	{name: "confluence password placeholder", product: "confluence", file: "confluence/password-placeholder.cfg.xml",
		field: "property hibernate.connection.password", errText: "${CONFLUENCE_DB_PASSWORD}", encrypted: true,
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "confluence", user: "confluenceuser", form: "encrypted"}},
	{name: "confluence hsqldb refused", product: "confluence", file: "confluence/hsqldb.cfg.xml",
		field: "property hibernate.connection.url", errText: "embedded database", unsupported: true},
	{name: "confluence no url", product: "confluence", file: "confluence/no-url.cfg.xml",
		field: "property hibernate.connection.url", errText: "missing", secrets: []string{"Conf-NoURL-s3cret!"}},
	{name: "confluence jndi in server.xml", product: "confluence", file: "confluence/jndi.cfg.xml", server: "confluence-server.xml",
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "confluence", params: map[string]string{"sslmode": "require"},
			user: "confluenceuser", password: "Conf-JNDI-s3cret&1", form: "plain", notes: []string{`jndi datasource "jdbc/confluence"`, "line 22"}}},
	{name: "confluence jndi without install dir", product: "confluence", file: "confluence/jndi.cfg.xml",
		field: "property hibernate.connection.datasource", errText: "defined in tomcat's conf/server.xml: set restart.install_dir"},
	{name: "confluence jndi not in server.xml", product: "confluence", file: "confluence/jndi.cfg.xml", server: "no-resource-server.xml",
		field: `<Resource name="jdbc/confluence">`, errText: "not found in any <Context>"},
	{name: "confluence jndi password placeholder", product: "confluence", file: "confluence/jndi.cfg.xml", server: "placeholder-server.xml",
		field: "password=", errText: "java system property", encrypted: true,
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "confluence", user: "confluenceuser", form: "encrypted"}},
	{name: "confluence malformed entity", product: "confluence", file: "confluence/malformed.cfg.xml",
		errText: "malformed xml at line 6: an & that does not start an entity", secrets: []string{"s3cret", "Conf-Bad"}},

	// ---- Bamboo ----
	{name: "bamboo postgres", product: "bamboo", file: "bamboo/postgres.cfg.xml",
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "bamboo",
			user: "bamboouser", password: "Bamboo-PG-s3cret!", form: "plain"}},
	{name: "bamboo mysql", product: "bamboo", file: "bamboo/mysql.cfg.xml",
		want: &want{dialect: "mysql", hosts: "mysql.example.com:3306", database: "bamboo",
			user: "bamboouser", password: "Bamboo-My-s3cret!", form: "plain"}},
	{name: "bamboo sqlserver named instance", product: "bamboo", file: "bamboo/sqlserver.cfg.xml",
		want: &want{dialect: "sqlserver", hosts: "mssql.example.com:1433", instance: "BAMBOO", database: "bamboo",
			user: "bamboouser", password: "Bamboo-MS-s3cret!", form: "plain"}},
	{name: "bamboo oracle sid", product: "bamboo", file: "bamboo/oracle.cfg.xml",
		want: &want{dialect: "oracle", hosts: "oracle.example.com:1521", database: "BAMBOO", sid: true,
			user: "BAMBOO", password: "Bamboo-Ora-s3cret!", form: "plain"}},
	{name: "bamboo base64", product: "bamboo", file: "bamboo/base64.cfg.xml",
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "bamboo",
			user: "bamboouser", password: "Bamboo-B64-s3cret!", form: "base64"}},
	{name: "bamboo h2 refused", product: "bamboo", file: "bamboo/h2.cfg.xml",
		field: "property hibernate.connection.url", errText: "embedded database", unsupported: true},
	{name: "bamboo given confluence's file", product: "bamboo", file: "confluence/postgres.cfg.xml",
		errText: "not <application-configuration>", secrets: []string{"Conf-PG-s3cret!"}},

	// ---- Crowd: crowd.cfg.xml, the layout of the files Atlassian's Crowd writes (a clustered
	// Crowd 5 and a Crowd 3 on MySQL, as public deployment scripts install them) ----
	{name: "crowd postgres", product: "crowd", file: "crowd/postgres.cfg.xml",
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "crowd",
			user: "crowduser", password: "Crowd-PG-s3cret!", form: "plain"}},
	{name: "crowd mysql", product: "crowd", file: "crowd/mysql.cfg.xml",
		want: &want{dialect: "mysql", hosts: "mysql.example.com:3306", database: "crowd",
			user: "crowduser", password: "Crowd-My-s3cret!", form: "plain"}},
	{name: "crowd given confluence's file", product: "crowd", file: "confluence/postgres.cfg.xml",
		errText: "not <application-configuration>", secrets: []string{"Conf-PG-s3cret!"}},

	// ---- Bitbucket ----
	{name: "bitbucket postgres", product: "bitbucket", file: "bitbucket/postgres.properties",
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "bitbucket",
			user: "bitbucketuser", password: "Bb-PG-s3cret!", form: "plain"}},
	{name: "bitbucket sqlserver", product: "bitbucket", file: "bitbucket/sqlserver.properties",
		want: &want{dialect: "sqlserver", hosts: "mssql.example.com:1433", database: "bitbucket",
			user: "bitbucketuser", password: "Bb-MS-s3cret!", form: "plain"}},
	{name: "bitbucket oracle, colon and space separators", product: "bitbucket", file: "bitbucket/oracle.properties",
		want: &want{dialect: "oracle", hosts: "oracle.example.com:1521", database: "BBSVC",
			user: "BITBUCKET", password: "Bb-Ora-s3cret!", form: "plain"}},
	{name: "bitbucket escapes and continuations", product: "bitbucket", file: "bitbucket/escaped.properties",
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "bitbucket",
			params: map[string]string{"sslmode": "verify-full"},
			user:   "bitbucket_svc", password: "B\u00e4-\\s3cret=:1\ttab", form: "plain"}},
	{name: "bitbucket base64", product: "bitbucket", file: "bitbucket/base64.properties",
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "bitbucket",
			user: "bitbucketuser", password: "Bb-B64-s3cret!", form: "base64", notes: []string{"Base64"}}},
	{name: "bitbucket aes", product: "bitbucket", file: "bitbucket/aes.properties",
		field: "jdbc.password.decrypter.classname", errText: "AlgorithmSecretStore", encrypted: true,
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "bitbucket", user: "bitbucketuser", form: "encrypted"}},
	{name: "bitbucket {ENC}", product: "bitbucket", file: "bitbucket/enc.properties",
		field: "jdbc.password", errText: "starts with {ENC}", encrypted: true,
		want:    &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "bitbucket", user: "bitbucketuser", form: "encrypted"},
		secrets: []string{"QmItRW5jLXMzY3JldCE", "Bb-Enc-s3cret!"}},
	{name: "bitbucket atl_secured", product: "bitbucket", file: "bitbucket/atl-secured.properties",
		field: "jdbc.password", errText: "{ATL_SECURED}", encrypted: true,
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "bitbucket", user: "bitbucketuser", form: "encrypted"}},
	{name: "bitbucket no url (embedded h2)", product: "bitbucket", file: "bitbucket/no-url.properties",
		field: "jdbc.url", errText: "missing"},
	{name: "bitbucket placeholders", product: "bitbucket", file: "bitbucket/placeholder.properties",
		field: "jdbc.password", errText: "${JDBC_PASSWORD}", encrypted: true,
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "bitbucket", user: "bitbucketuser", form: "encrypted",
			notes: []string{"default value of ${db.port}"}}},
	{name: "bitbucket malformed \\u escape", product: "bitbucket", file: "bitbucket/bad-escape.properties",
		field: "jdbc.password", errText: `line 4: malformed \uxxxx escape`, secrets: []string{"-s3cret", "zz"}},

	// ---- Fisheye / Crucible ----
	{name: "fisheye postgres attributes", product: "fisheye", file: "fisheye/postgres.xml",
		want: &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "fecru",
			user: "fecru", password: `Fecru-PG-s3cret&"1`, form: "plain", notes: []string{"unverified"}}},
	{name: "fisheye mysql child elements", product: "fisheye", file: "fisheye/mysql.xml",
		want: &want{dialect: "mysql", hosts: "mysql.example.com:3306", database: "fecru",
			user: "fecru", password: "Fecru-My-s3cret!", form: "plain", notes: []string{"unverified"}}},
	{name: "fisheye hsql refused", product: "fisheye", file: "fisheye/hsql.xml",
		field: "<database> type=", errText: "embedded database", unsupported: true},
	{name: "fisheye default embedded database", product: "fisheye", file: "fisheye/no-database.xml",
		field: "<database>", errText: "embedded hsqldb", unsupported: true},
	{name: "fisheye no url", product: "fisheye", file: "fisheye/no-url.xml",
		field: "jdbcurl=", errText: "missing", secrets: []string{"Fecru-NoURL-s3cret!"}},
	{name: "fisheye {ENC}", product: "fisheye", file: "fisheye/enc.xml",
		field: "password=", errText: "{ENC}", encrypted: true,
		want:    &want{dialect: "postgres", hosts: "pg.example.com:5432", database: "fecru", user: "fecru", form: "encrypted", notes: []string{"unverified"}},
		secrets: []string{"RmVjcnUtRW5jLXMzY3JldA"}},
}

func TestParseConfig(t *testing.T) {
	for _, tc := range discoverTests {
		t.Run(tc.name, func(t *testing.T) {
			p := product(t, tc.product)
			var server func() ([]byte, error)
			if tc.server != "" {
				server = func() ([]byte, error) { return sample(t, "tomcat/"+tc.server), nil }
			}
			d, err := p.ParseConfig(filepath.Base(tc.file), sample(t, tc.file), server)
			checkDiscovery(t, tc, d, err)
		})
	}
}

func checkDiscovery(t *testing.T, tc discoverCase, d *Discovered, err error) {
	t.Helper()
	if !tc.wantErr() && err != nil {
		t.Fatalf("error %v; want none", err)
	}
	if tc.wantErr() {
		if err == nil {
			t.Fatalf("no error (got %+v); want one saying %q", d, tc.errText)
		}
		de := checkErrorShape(t, err, d)
		if !strings.Contains(de.Field, tc.field) {
			t.Errorf("error field %q; want it to hold %q (error: %v)", de.Field, tc.field, err)
		}
		if !strings.Contains(err.Error(), tc.errText) {
			t.Errorf("error %q; want it to say %q", err, tc.errText)
		}
		if got := errors.Is(err, ErrEncryptedPassword); got != tc.encrypted {
			t.Errorf("errors.Is(%v, ErrEncryptedPassword) = %v; want %v", err, got, tc.encrypted)
		}
		if got := errors.Is(err, db.ErrUnsupported); got != tc.unsupported {
			t.Errorf("errors.Is(%v, db.ErrUnsupported) = %v; want %v", err, got, tc.unsupported)
		}
	}
	secrets := append([]string(nil), tc.secrets...)
	if tc.want != nil && tc.want.password != "" {
		secretscan.Register("products: password in the "+tc.name+" sample", tc.want.password)
		secrets = append(secrets, tc.want.password, base64.StdEncoding.EncodeToString([]byte(tc.want.password)))
	}
	var texts []string
	if err != nil {
		texts = append(texts, err.Error())
	}
	if d != nil {
		texts = append(texts, d.Notes...)
	}
	secretscan.Check(t, "the error and notes of discovery", strings.Join(texts, "\n"))
	for _, s := range secrets {
		for _, text := range texts {
			if strings.Contains(text, s) {
				t.Errorf("%q shows the secret %q", text, s)
			}
		}
	}
	w := tc.want
	if w == nil {
		if d != nil {
			t.Errorf("got %+v; want nil", d)
		}
		return
	}
	if d == nil {
		t.Fatalf("no result; want %+v (error %v)", w, err)
	}
	src := d.Source
	var hosts []string
	for _, h := range src.Hosts {
		hosts = append(hosts, h.String())
	}
	got := want{dialect: src.Dialect, hosts: strings.Join(hosts, ","), database: src.Database, sid: src.SID, instance: src.Instance,
		schema: src.Schema, user: d.User, password: d.Password, form: d.PasswordForm}
	exp := *w
	exp.params, exp.notes = nil, nil
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("got  %+v\nwant %+v", got, exp)
	}
	for k, v := range w.params {
		if src.Params[k] != v {
			t.Errorf("Params[%q] = %q; want %q (params %v)", k, src.Params[k], v, src.Params)
		}
	}
	if d.File == "" {
		t.Errorf("File is empty")
	}
	for _, n := range w.notes {
		if !strings.Contains(strings.Join(d.Notes, "\n"), n) {
			t.Errorf("notes %q; want one saying %q", d.Notes, n)
		}
	}
	if src.URLPassword != "" {
		t.Errorf("URLPassword %q; the samples hold none", src.URLPassword)
	}
}

// checkErrorShape checks what every discovery error must be: a *DiscoverError of one line
// whose message starts in lower case, with a result only when the password alone is missing.
func checkErrorShape(t testing.TB, err error, d *Discovered) *DiscoverError {
	t.Helper()
	de, ok := err.(*DiscoverError)
	if !ok {
		t.Fatalf("error %v is a %T; want *DiscoverError", err, err)
	}
	if de.Msg == "" {
		t.Fatalf("error %v has no message", err)
	}
	if strings.ContainsAny(err.Error(), "\r\n") {
		t.Fatalf("error %q is not one line", err)
	}
	if r, _ := utf8.DecodeRuneInString(de.Msg); unicode.IsUpper(r) {
		t.Fatalf("error message %q starts in upper case", de.Msg)
	}
	if errors.Is(err, ErrEncryptedPassword) != (d != nil) {
		t.Fatalf("error %v came with result %+v: only ErrEncryptedPassword comes with one", err, d)
	}
	if d != nil && (d.Password != "" || d.PasswordForm != "encrypted") {
		t.Fatalf("result %+v with %v: want no password and form encrypted", d, err)
	}
	return de
}

func TestDiscoverErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  DiscoverError
		want string
	}{
		{DiscoverError{File: "/h/dbconfig.xml", Field: "<url>", Msg: "missing"}, "/h/dbconfig.xml: <url>: missing"},
		{DiscoverError{File: "/h/dbconfig.xml", Msg: "malformed xml at line 3: x"}, "/h/dbconfig.xml: malformed xml at line 3: x"},
		{DiscoverError{Field: "discover.home", Msg: "is empty"}, "discover.home: is empty"},
		{DiscoverError{File: "/h/a\nb", Msg: "m\nn"}, `/h/a\nb: m\nn`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q; want %q", got, tc.want)
		}
	}
	e := &DiscoverError{Msg: "x", Err: ErrEncryptedPassword}
	if !errors.Is(e, ErrEncryptedPassword) {
		t.Errorf("DiscoverError does not unwrap")
	}
}

func TestConfigPath(t *testing.T) {
	for _, tc := range []struct{ product, home, want string }{
		{"jira", "/var/atlassian/application-data/jira", "/var/atlassian/application-data/jira/dbconfig.xml"},
		{"jira", "/var/atlassian/application-data/jira/", "/var/atlassian/application-data/jira/dbconfig.xml"},
		{"confluence", "/var/atlassian/application-data/confluence", "/var/atlassian/application-data/confluence/confluence.cfg.xml"},
		{"bitbucket", "/var/atlassian/application-data/bitbucket", "/var/atlassian/application-data/bitbucket/shared/bitbucket.properties"},
		{"bamboo", "/var/atlassian/application-data/bamboo", "/var/atlassian/application-data/bamboo/bamboo.cfg.xml"},
		{"fisheye", "/var/atlassian/application-data/fecru", "/var/atlassian/application-data/fecru/config.xml"},
		{"crowd", "/var/atlassian/application-data/crowd", "/var/atlassian/application-data/crowd/shared/crowd.cfg.xml"},
		{"bitbucket", `C:\Atlassian\ApplicationData\Bitbucket`, `C:\Atlassian\ApplicationData\Bitbucket\shared\bitbucket.properties`},
		{"jira", "/", "/dbconfig.xml"},
	} {
		if got := product(t, tc.product).ConfigPath(tc.home); got != tc.want {
			t.Errorf("%s.ConfigPath(%q) = %q; want %q", tc.product, tc.home, got, tc.want)
		}
	}
}

// fakeFS is a read function over a map, recording what was read.
type fakeFS struct {
	files map[string][]byte
	read  []string
}

func (f *fakeFS) readFile(path string) ([]byte, error) {
	f.read = append(f.read, path)
	if b, ok := f.files[path]; ok {
		return b, nil
	}
	return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
}

func TestDiscover(t *testing.T) {
	t.Run("jira local home", func(t *testing.T) {
		f := &fakeFS{files: map[string][]byte{"/data/jira/dbconfig.xml": sample(t, "jira/postgres72.xml")}}
		d, err := product(t, "jira").Discover("/data/jira", f.readFile, "")
		if err != nil {
			t.Fatal(err)
		}
		if d.File != "/data/jira/dbconfig.xml" || d.Password != "Jira-PG-s3cret!" || d.Source.Database != "jiradb" {
			t.Errorf("got %+v", d)
		}
	})
	t.Run("confluence jndi through the install dir", func(t *testing.T) {
		f := &fakeFS{files: map[string][]byte{
			"/data/confluence/confluence.cfg.xml":       sample(t, "confluence/jndi.cfg.xml"),
			"/opt/atlassian/confluence/conf/server.xml": sample(t, "tomcat/confluence-server.xml"),
		}}
		d, err := product(t, "confluence").Discover("/data/confluence/", f.readFile, "/opt/atlassian/confluence")
		if err != nil {
			t.Fatal(err)
		}
		if d.File != "/data/confluence/confluence.cfg.xml" || d.User != "confluenceuser" || d.Password != "Conf-JNDI-s3cret&1" {
			t.Errorf("got %+v", d)
		}
		if !strings.Contains(strings.Join(d.Notes, "\n"), "/opt/atlassian/confluence/conf/server.xml") {
			t.Errorf("notes %q do not name server.xml", d.Notes)
		}
	})
	t.Run("confluence jndi with a missing server.xml", func(t *testing.T) {
		f := &fakeFS{files: map[string][]byte{"/data/confluence/confluence.cfg.xml": sample(t, "confluence/jndi.cfg.xml")}}
		_, err := product(t, "confluence").Discover("/data/confluence", f.readFile, "/opt/confluence")
		var de *DiscoverError
		if !errors.As(err, &de) || de.File != "/opt/confluence/conf/server.xml" || !strings.Contains(err.Error(), "restart.install_dir") {
			t.Errorf("error %v; want one about /opt/confluence/conf/server.xml", err)
		}
	})
	t.Run("bitbucket shared home given directly", func(t *testing.T) {
		f := &fakeFS{files: map[string][]byte{"/mnt/bitbucket-shared/bitbucket.properties": sample(t, "bitbucket/postgres.properties")}}
		d, err := product(t, "bitbucket").Discover("/mnt/bitbucket-shared", f.readFile, "")
		if err != nil {
			t.Fatal(err)
		}
		if d.File != "/mnt/bitbucket-shared/bitbucket.properties" || !strings.Contains(d.Notes[0], "shared home") {
			t.Errorf("got %+v", d)
		}
		if want := []string{"/mnt/bitbucket-shared/shared/bitbucket.properties", "/mnt/bitbucket-shared/bitbucket.properties"}; !reflect.DeepEqual(f.read, want) {
			t.Errorf("read %q; want %q", f.read, want)
		}
	})
	t.Run("crowd home without a shared home", func(t *testing.T) {
		f := &fakeFS{files: map[string][]byte{"/opt/data/crowd/crowd.cfg.xml": sample(t, "crowd/mysql.cfg.xml")}}
		d, err := product(t, "crowd").Discover("/opt/data/crowd", f.readFile, "")
		if err != nil {
			t.Fatal(err)
		}
		if d.File != "/opt/data/crowd/crowd.cfg.xml" || d.Password != "Crowd-My-s3cret!" || !strings.Contains(d.Notes[0], "not clustered") {
			t.Errorf("got %+v", d)
		}
		if want := []string{"/opt/data/crowd/shared/crowd.cfg.xml", "/opt/data/crowd/crowd.cfg.xml"}; !reflect.DeepEqual(f.read, want) {
			t.Errorf("read %q; want %q", f.read, want)
		}
	})
	t.Run("unreadable file", func(t *testing.T) {
		f := &fakeFS{}
		_, err := product(t, "bamboo").Discover("/data/bamboo", f.readFile, "")
		de := checkErrorShape(t, err, nil)
		if de.File != "/data/bamboo/bamboo.cfg.xml" || !strings.Contains(de.Msg, "discover.home") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("empty home", func(t *testing.T) {
		_, err := product(t, "jira").Discover(" ", (&fakeFS{}).readFile, "")
		de := checkErrorShape(t, err, nil)
		if de.Field != "discover.home" {
			t.Errorf("error %v", err)
		}
	})
	t.Run("encrypted password comes with the connection", func(t *testing.T) {
		f := &fakeFS{files: map[string][]byte{"/j/dbconfig.xml": sample(t, "jira/aes.xml")}}
		d, err := product(t, "jira").Discover("/j", f.readFile, "")
		if !errors.Is(err, ErrEncryptedPassword) || d == nil || d.Source.Database != "jiradb" || d.User != "jiradbuser" {
			t.Errorf("got %+v, %v", d, err)
		}
	})
}

// A password is never shown, even where the parser quotes other parts of the file that
// happen to hold it.
func TestDiscoverNeverShowsPassword(t *testing.T) {
	const pw = "Hunter2Hunter2"
	b64 := base64.StdEncoding.EncodeToString([]byte(pw))
	for _, tc := range []struct {
		product, file string
	}{
		{"jira", `<jira-database-config><jdbc-datasource><url>jdbc:postgresql://` + pw + `:x/db</url><password>` + pw + `</password></jdbc-datasource></jira-database-config>`},
		{"jira", `<jira-database-config><jdbc-datasource><url>jdbc:postgresql://` + b64 + `:x/db</url>` +
			`<atlassian-password-cipher-provider>Base64Cipher</atlassian-password-cipher-provider><password>` + b64 + `</password></jdbc-datasource></jira-database-config>`},
		{"jira", `<jira-database-config><jdbc-datasource><url>jdbc:postgresql://h/db</url>` +
			`<atlassian-password-cipher-provider>` + pw + `</atlassian-password-cipher-provider><password>` + pw + `</password></jdbc-datasource></jira-database-config>`},
		{"confluence", `<confluence-configuration><properties><property name="hibernate.connection.url">jdbc:postgresql://h/${` + pw + `}</property>` +
			`<property name="hibernate.connection.password">` + pw + `</property></properties></confluence-configuration>`},
		{"confluence", `<confluence-configuration><properties><property name="hibernate.connection.url">jdbc:postgresql://h/db</property>` +
			`<property name="hibernate.connection.password">a${` + pw + `}</property></properties></confluence-configuration>`},
		{"bitbucket", "jdbc.url=jdbc:sqlserver://h;instanceName=" + pw + "!\njdbc.password=" + pw + "\n"},
		{"bitbucket", "jdbc.url=jdbc:postgresql://h/db\njdbc.password=" + pw + "\\u12\n"},
		{"bitbucket", "jdbc.url=jdbc:postgresql://h/db\njdbc.password={ENC}" + pw + "\n"},
		{"fisheye", `<config><database type="postgresql"><connection jdbcurl="jdbc:postgresql://h:` + pw + `/db" password="` + pw + `"/></database></config>`},
		{"jira", `<jira-database-config><jdbc-datasource><url>jdbc:postgresql://h/db</url><password>x<` + pw + `>y</password></jdbc-datasource></jira-database-config>`},
		{"jira", `<jira-database-config><jdbc-datasource><url>jdbc:postgresql://h/db</url><password>x&` + pw + `;</password></jdbc-datasource></jira-database-config>`},
	} {
		d, err := product(t, tc.product).ParseConfig("f", []byte(tc.file), nil)
		if err == nil {
			t.Errorf("%s %q: no error", tc.product, tc.file)
			continue
		}
		checkErrorShape(t, err, d)
		if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), b64) || strings.Contains(err.Error(), "Hunter2") {
			t.Errorf("%s: error %q shows the password", tc.product, err)
		}
	}
}

func TestParseConfigEdges(t *testing.T) {
	jira := product(t, "jira")
	t.Run("latin-1 declared", func(t *testing.T) {
		data := []byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<jira-database-config><jdbc-datasource>" +
			"<url>jdbc:postgresql://h/db</url><username>j\xf6rg</username><password>p\xe4ss</password></jdbc-datasource></jira-database-config>")
		d, err := jira.ParseConfig("dbconfig.xml", data, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.User != "jörg" || d.Password != "päss" {
			t.Errorf("got user %q password %q", d.User, d.Password)
		}
	})
	t.Run("unknown encoding", func(t *testing.T) {
		data := []byte("<?xml version=\"1.0\" encoding=\"EBCDIC-US\"?>\n<jira-database-config/>")
		_, err := jira.ParseConfig("dbconfig.xml", data, nil)
		if err == nil || !strings.Contains(err.Error(), "encoding") {
			t.Errorf("error %v; want one about the encoding", err)
		}
	})
	t.Run("two urls", func(t *testing.T) {
		data := []byte("<jira-database-config><jdbc-datasource><url>jdbc:postgresql://a/db</url>\n<url>jdbc:postgresql://b/db</url></jdbc-datasource></jira-database-config>")
		_, err := jira.ParseConfig("dbconfig.xml", data, nil)
		if err == nil || !strings.Contains(err.Error(), "<jdbc-datasource>/<url>: appears 2 times (lines 1 and 2)") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("empty file", func(t *testing.T) {
		_, err := jira.ParseConfig("dbconfig.xml", nil, nil)
		if err == nil || !strings.Contains(err.Error(), "no xml element") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("cut short", func(t *testing.T) {
		data := sample(t, "jira/postgres72.xml")
		_, err := jira.ParseConfig("dbconfig.xml", data[:len(data)/2], nil)
		if err == nil || !strings.Contains(err.Error(), "cut short") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("deep nesting", func(t *testing.T) {
		data := strings.Repeat("<a>", 200) + strings.Repeat("</a>", 200)
		_, err := jira.ParseConfig("dbconfig.xml", []byte(data), nil)
		if err == nil || !strings.Contains(err.Error(), "nested") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("database-type disagrees with the url", func(t *testing.T) {
		data := []byte("<jira-database-config><database-type>mssql</database-type><jdbc-datasource><url>jdbc:postgresql://h/db</url></jdbc-datasource></jira-database-config>")
		d, err := jira.ParseConfig("dbconfig.xml", data, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.PasswordForm != "none" || !strings.Contains(strings.Join(d.Notes, "\n"), `<database-type> "mssql" does not match the postgres url`) {
			t.Errorf("got %+v", d)
		}
	})
	t.Run("user from the url", func(t *testing.T) {
		data := []byte("<jira-database-config><jdbc-datasource><url>jdbc:postgresql://h/db?user=jira</url></jdbc-datasource></jira-database-config>")
		d, err := jira.ParseConfig("dbconfig.xml", data, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.User != "jira" {
			t.Errorf("got %+v", d)
		}
	})
	t.Run("base64 that is not", func(t *testing.T) {
		data := []byte("<jira-database-config><jdbc-datasource><url>jdbc:postgresql://h/db</url><atlassian-password-cipher-provider>com.atlassian.db.config.password.ciphers.base64.Base64Cipher</atlassian-password-cipher-provider><password>not*base64!</password></jdbc-datasource></jira-database-config>")
		d, err := jira.ParseConfig("dbconfig.xml", data, nil)
		checkErrorShape(t, err, d)
		if !strings.Contains(err.Error(), "not valid base64") || strings.Contains(err.Error(), "not*base64") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("windows authentication", func(t *testing.T) {
		data := []byte("jdbc.url=jdbc:sqlserver://h:1433;databaseName=bb;integratedSecurity=true\n")
		_, err := product(t, "bitbucket").ParseConfig("bitbucket.properties", data, nil)
		if !errors.Is(err, db.ErrUnsupported) || !strings.Contains(err.Error(), "bitbucket.properties: jdbc.url: database url") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("placeholders in a loop", func(t *testing.T) {
		data := []byte("a=${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}${b}\nb=${a}\njdbc.url=jdbc:postgresql://${a}/db\n")
		_, err := product(t, "bitbucket").ParseConfig("bitbucket.properties", data, nil)
		if err == nil || !strings.Contains(err.Error(), "jdbc.url: its placeholders (${a}, ${b}) refer to each other in a loop") {
			t.Errorf("error %v", err)
		}
		data = []byte(`<confluence-configuration><properties><property name="x">${y}</property><property name="y">${x}</property>` +
			`<property name="hibernate.connection.url">jdbc:postgresql://h/db</property><property name="hibernate.connection.password">${x}</property></properties></confluence-configuration>`)
		d, err := product(t, "confluence").ParseConfig("confluence.cfg.xml", data, nil)
		if !errors.Is(err, ErrEncryptedPassword) || d == nil || !strings.Contains(err.Error(), "its placeholders (${x}) refer to each other in a loop") {
			t.Errorf("got %+v, %v", d, err)
		}
	})
	t.Run("spring trims values", func(t *testing.T) {
		data := []byte("jdbc.url = jdbc:postgresql://h/db  \njdbc.user = bb \\t\njdbc.password = \\ secret \\u0020\n")
		d, err := product(t, "bitbucket").ParseConfig("bitbucket.properties", data, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.User != "bb" || d.Password != "secret" || !strings.Contains(strings.Join(d.Notes, "\n"), "white space around jdbc.password") {
			t.Errorf("got %+v", d)
		}
	})
}

// ---- Java properties ----

func TestParseProperties(t *testing.T) {
	type kv = [2]string
	for _, tc := range []struct {
		name string
		in   string
		want []kv
		err  string
	}{
		{"separators", "a=1\nb:2\nc 3\nd = 4\ne : 5\nf   6\ng\t=\t7\nh\f8\n", []kv{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}, {"f", "6"}, {"g", "7"}, {"h", "8"}}, ""},
		{"only one separator is eaten", "a = = 1\nb  :=2\nc=:3\n", []kv{{"a", "= 1"}, {"b", "=2"}, {"c", ":3"}}, ""},
		{"key only", "a\nb=\nc   \n", []kv{{"a", ""}, {"b", ""}, {"c", ""}}, ""},
		{"leading white space and blank lines", "\n   \n\t a=1\n\f\n", []kv{{"a", "1"}}, ""},
		{"comments", "# c\n! c\n  # indented\na=1 # not a comment\n#b=2\n", []kv{{"a", "1 # not a comment"}}, ""},
		{"comment ending in a backslash does not continue", "# c \\\na=1\n", []kv{{"a", "1"}}, ""},
		{"continuation", "a=one\\\n    two\\\n\tthree\n", []kv{{"a", "onetwothree"}}, ""},
		{"continuation keeps the space before the backslash", "a=one \\\n  two\n", []kv{{"a", "one two"}}, ""},
		{"continued line that looks like a comment", "a=1\\\n#2\n", []kv{{"a", "1#2"}}, ""},
		{"continuation then blank line ends the value", "a=1\\\n\nb=2\n", []kv{{"a", "1"}, {"b", "2"}}, ""},
		{"continuation then white-space line ends the value", "a=1\\\n   \nb=2\n", []kv{{"a", "1"}, {"b", "2"}}, ""},
		{"continuation in the key", "ke\\\n  y=v\n", []kv{{"key", "v"}}, ""},
		{"even backslashes do not continue", "a=1\\\\\nb=2\n", []kv{{"a", "1\\"}, {"b", "2"}}, ""},
		{"odd backslashes continue", "a=1\\\\\\\nb=2\n", []kv{{"a", "1\\b=2"}}, ""},
		{"trailing backslash at end of file", "a=1\\", []kv{{"a", "1"}}, ""},
		{"crlf and cr", "a=1\r\nb=2\rc=3\\\r\n   4\r", []kv{{"a", "1"}, {"b", "2"}, {"c", "34"}}, ""},
		{"escaped separators in the key", "a\\=b\\:c\\ d=v\n", []kv{{"a=b:c d", "v"}}, ""},
		{"escapes", `a=\t\n\r\f\\\:\=\ \b\"\#` + "\n", []kv{{"a", "\t\n\r\f\\:= b\"#"}}, ""},
		{"unicode escapes", `a=\u0041\u00e9\u20AC\uD83D\uDE00` + "\n", []kv{{"a", "Aé€😀"}}, ""},
		{"lone surrogate", `a=\uD83Dx` + "\n", []kv{{"a", "\uFFFDx"}}, ""},
		{"latin-1 bytes", "a=\xe9\xff\n", []kv{{"a", "éÿ"}}, ""},
		{"trailing white space is kept", "a=1  \n", []kv{{"a", "1  "}}, ""},
		{"empty key", "=v\n:w\n", []kv{{"", "v"}, {"", "w"}}, ""},
		{"repeated keys", "a=1\na=2\n", []kv{{"a", "1"}, {"a", "2"}}, ""},
		{"malformed unicode", "a=1\nb=\\u12g4\n", nil, `line 2: malformed \uxxxx escape (a \u needs four hex digits) in the value of "b"`},
		{"short unicode at end", "a=\\u12", nil, `line 1: malformed \uxxxx escape`},
		{"malformed unicode in a key", "\\uzzzz=1", nil, `line 1: malformed \uxxxx escape (a \u needs four hex digits) in a key`},
		{"line numbers count continuations", "a=1\\\n2\nb=\\u", nil, "line 3:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseProperties([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v; want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var kvs []kv
			for _, p := range got {
				kvs = append(kvs, kv{p.key, p.value})
			}
			if !reflect.DeepEqual(kvs, tc.want) {
				t.Errorf("got  %q\nwant %q", kvs, tc.want)
			}
		})
	}
}

// propertyUnits escapes s as java.util.Properties.store does, one unit (a character or its
// escape) at a time: \\, \t, \n, \r, \f, the separators and comment characters, spaces
// where they would be lost (all of a key's, a value's first), and \uXXXX for everything
// outside printable ASCII (surrogate pairs beyond the BMP).
func propertyUnits(s string, key bool) []string {
	var units []string
	for i, r := range s {
		switch {
		case r == '\\':
			units = append(units, `\\`)
		case r == '\t':
			units = append(units, `\t`)
		case r == '\n':
			units = append(units, `\n`)
		case r == '\r':
			units = append(units, `\r`)
		case r == '\f':
			units = append(units, `\f`)
		case r == '=' || r == ':' || r == '#' || r == '!':
			units = append(units, `\`+string(r))
		case r == ' ' && (key || i == 0):
			units = append(units, `\ `)
		case r < 0x20 || r > 0x7e:
			for _, u := range utf16.Encode([]rune{r}) {
				units = append(units, fmt.Sprintf(`\u%04X`, u))
			}
		default:
			units = append(units, string(r))
		}
	}
	return units
}

// writeProperty writes one key and value; layout picks the separator, the line end, leading
// white space and where lines are continued.
func writeProperty(b *strings.Builder, key, value string, layout uint8) {
	eols := []string{"\n", "\r\n", "\r"}
	eol := eols[int(layout>>4)%3]
	seps := []string{"=", ":", " ", " = ", "\t:  "}
	sep := seps[int(layout)%len(seps)]
	if key == "" && strings.TrimSpace(sep) == "" {
		sep = "=" // a line that starts with white space would lose it
	}
	if layout&0x40 != 0 {
		b.WriteString(" \t")
	}
	every := int(layout>>2)%4 + 1 // continue after every n units
	write := func(units []string) {
		for i, u := range units {
			if i > 0 && i%every == 0 && layout&0x80 != 0 {
				b.WriteString("\\" + eol + "  \t")
				if u == " " {
					u = `\ ` // the next line's leading white space is dropped
				}
			}
			b.WriteString(u)
		}
	}
	write(propertyUnits(key, true))
	b.WriteString(sep)
	write(propertyUnits(value, false))
	b.WriteString(eol)
	if layout&0x20 != 0 {
		b.WriteString("# a comment \\" + eol + eol)
	}
}

func TestPropertiesRoundTrip(t *testing.T) {
	pairs := [][2]string{
		{"jdbc.password", `p@ss w:o=r#d!\ "x"`},
		{" key with spaces ", " leading and trailing  "},
		{"", "empty key"},
		{"#comment-like", "!value"},
		{"unicode", "päss€😀\u0001\t\n\r\f"},
		{"k", ""},
	}
	for layout := range 256 {
		var b strings.Builder
		for _, p := range pairs {
			writeProperty(&b, p[0], p[1], uint8(layout))
		}
		got, err := parseProperties([]byte(b.String()))
		if err != nil {
			t.Fatalf("layout %#x: %v\n%s", layout, err, b.String())
		}
		if len(got) != len(pairs) {
			t.Fatalf("layout %#x: %d properties; want %d\n%q", layout, len(got), len(pairs), b.String())
		}
		for i, p := range pairs {
			if got[i].key != p[0] || got[i].value != p[1] {
				t.Fatalf("layout %#x: got %q=%q; want %q=%q\n%q", layout, got[i].key, got[i].value, p[0], p[1], b.String())
			}
		}
	}
}

// ---- fuzzing ----

// validXML reports whether s can be written into an XML file and read back unchanged.
func validXML(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !(r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return false
		}
	}
	return true
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// checkFuzzResult checks any discovery's outcome: a *DiscoverError of one line, and no
// password of the result in its notes.
func checkFuzzResult(t *testing.T, d *Discovered, err error) {
	t.Helper()
	if err != nil {
		checkErrorShape(t, err, d)
		return
	}
	if d == nil {
		t.Fatal("no result and no error")
	}
	switch d.PasswordForm {
	case "plain", "base64":
		if d.Password == "" {
			t.Fatalf("form %q with an empty password", d.PasswordForm)
		}
	case "none":
		if d.Password != "" {
			t.Fatal("form none with a password")
		}
	default:
		t.Fatalf("form %q without an error", d.PasswordForm)
	}
	if _, err := db.Lookup(d.Source.Dialect); err != nil {
		t.Fatalf("dialect %q: %v", d.Source.Dialect, err)
	}
	checkNoLeak(t, d.Password, d.Notes...)
}

// checkNoLeak fails when a password that scrubbing must hide shows in any of texts.
func checkNoLeak(t *testing.T, pw string, texts ...string) {
	t.Helper()
	if notSecret(pw) {
		return // {ATL_SECURED}, ${NAME}: messages name them
	}
	for _, form := range []string{pw, strings.TrimSpace(pw), base64.StdEncoding.EncodeToString([]byte(pw))} {
		if len(form) < minSecret {
			continue
		}
		for _, text := range texts {
			if strings.Contains(text, form) {
				t.Fatalf("%q shows the password %q", text, form)
			}
		}
	}
}

// checkTemplated checks a discovery from a file written with a known password: the error
// never shows it, and a result holds exactly what was written.
func checkTemplated(t *testing.T, d *Discovered, err error, pw, user, form string) {
	t.Helper()
	checkFuzzResult(t, d, err)
	if err != nil {
		checkNoLeak(t, pw, err.Error())
		if d != nil {
			checkNoLeak(t, pw, d.Notes...)
		}
		return
	}
	checkNoLeak(t, pw, d.Notes...)
	if pw == "" {
		form = "none"
	}
	if d.Password != pw || d.PasswordForm != form {
		t.Fatalf("password %q (%s); want %q (%s)", d.Password, d.PasswordForm, pw, form)
	}
	if u := strings.TrimSpace(user); u != "" && d.User != u {
		t.Fatalf("user %q; want %q", d.User, u)
	}
}

// seedStrings are connection values for the templated part of the fuzz targets.
var seedStrings = [][3]string{
	{"jdbc:postgresql://pg.example.com:5432/jiradb", "jira", "Sup3r-s3cret!"},
	{"jdbc:mysql://address=(protocol=tcp)(host=h)(port=3306)/db?a=1&b=2", "u", "p&<>\"' x"},
	{"jdbc:sqlserver://h:1433;databaseName=db;password=pw", "sa", "{ATL_SECURED}"},
	{"jdbc:oracle:thin:@//h:1521/SVC", "", " spaced "},
	{"jdbc:h2:file:/tmp/db", "sa", ""},
	{"jdbc:postgresql://${host}/db", "${user}", "${pw}"},
}

func FuzzParseDBConfigXML(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "discover", "jira", "*.xml"))
	for i, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		s := seedStrings[i%len(seedStrings)]
		f.Add(data, s[0], s[1], s[2], uint8(i))
	}
	jira := product(f, "jira")
	server := func() ([]byte, error) {
		return os.ReadFile(filepath.Join("testdata", "discover", "tomcat", "jira-server.xml"))
	}
	f.Fuzz(func(t *testing.T, data []byte, url, user, pw string, variant uint8) {
		d, err := jira.ParseConfig("dbconfig.xml", data, server)
		checkFuzzResult(t, d, err)

		if !validXML(url) || !validXML(user) || !validXML(pw) {
			return
		}
		value, provider, form := pw, "", "plain"
		switch variant % 4 {
		case 1:
			value, provider, form = base64.StdEncoding.EncodeToString([]byte(pw)), "com.atlassian.secrets.store.base64.Base64SecretStore", "base64"
		case 2:
			provider = "com.atlassian.db.config.password.ciphers.algorithm.AlgorithmCipher"
		}
		var b strings.Builder
		b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<jira-database-config>\n  <name>defaultDS</name>\n  <database-type>postgres72</database-type>\n  <jdbc-datasource>\n")
		fmt.Fprintf(&b, "    <url>%s</url>\n    <username>%s</username>\n", xmlText(url), xmlText(user))
		if provider != "" {
			fmt.Fprintf(&b, "    <atlassian-password-cipher-provider>%s</atlassian-password-cipher-provider>\n", provider)
		}
		fmt.Fprintf(&b, "    <password>%s</password>\n  </jdbc-datasource>\n</jira-database-config>\n", xmlText(value))
		d, err = jira.ParseConfig("dbconfig.xml", []byte(b.String()), nil)
		checkTemplated(t, d, err, pw, user, form)
		if err == nil && variant%4 == 2 {
			t.Fatalf("an AES password was accepted: %+v", d)
		}
	})
}

func FuzzParseCfgXML(f *testing.F) {
	var files []string
	for _, dir := range []string{"confluence", "bamboo"} {
		m, _ := filepath.Glob(filepath.Join("testdata", "discover", dir, "*.xml"))
		files = append(files, m...)
	}
	servers, _ := filepath.Glob(filepath.Join("testdata", "discover", "tomcat", "*.xml"))
	for i, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		server, err := os.ReadFile(servers[i%len(servers)])
		if err != nil {
			f.Fatal(err)
		}
		s := seedStrings[i%len(seedStrings)]
		f.Add(data, server, s[0], s[1], s[2], uint8(i))
	}
	confluence, bamboo := product(f, "confluence"), product(f, "bamboo")
	f.Fuzz(func(t *testing.T, data, server []byte, url, user, pw string, variant uint8) {
		serverXML := func() ([]byte, error) { return server, nil }
		for _, p := range []*Product{confluence, bamboo} {
			d, err := p.ParseConfig("cfg.xml", data, serverXML)
			checkFuzzResult(t, d, err)
		}

		if !validXML(url) || !validXML(user) || !validXML(pw) {
			return
		}
		p, root := confluence, "confluence-configuration"
		if variant&1 != 0 {
			p, root = bamboo, "application-configuration"
		}
		value, decrypter, form := pw, "", "plain"
		switch variant >> 1 % 4 {
		case 1:
			value, decrypter, form = base64.StdEncoding.EncodeToString([]byte(pw)), "com.atlassian.secrets.store.base64.Base64SecretStore", "base64"
		case 2:
			decrypter = "com.atlassian.secrets.store.algorithm.AlgorithmSecretStore"
		}
		prop := func(b *strings.Builder, name, v string) {
			fmt.Fprintf(b, "    <property name=\"%s\">%s</property>\n", name, xmlText(v))
		}
		var b strings.Builder
		fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<%s>\n  <setupStep>complete</setupStep>\n  <properties>\n", root)
		prop(&b, "hibernate.connection.driver_class", "org.postgresql.Driver")
		var sx func() ([]byte, error)
		jndi := variant&8 != 0 && p == confluence
		if jndi {
			// The connection is in server.xml, as attributes.
			prop(&b, "hibernate.connection.datasource", "java:comp/env/jdbc/confluence")
			srv := fmt.Sprintf("<Server><Service><Engine><Host><Context path=\"\">\n<Resource name=\"jdbc/confluence\" auth=\"Container\" url=\"%s\" username=\"%s\" password=\"%s\"/>\n</Context></Host></Engine></Service></Server>",
				xmlText(url), xmlText(user), xmlText(pw))
			sx = func() ([]byte, error) { return []byte(srv), nil }
			form = "plain"
		} else {
			prop(&b, "hibernate.connection.url", url)
			prop(&b, "hibernate.connection.username", user)
			prop(&b, "hibernate.connection.password", value)
			if decrypter != "" {
				prop(&b, "jdbc.password.decrypter.classname", decrypter)
			}
		}
		fmt.Fprintf(&b, "  </properties>\n</%s>\n", root)
		d, err := p.ParseConfig("cfg.xml", []byte(b.String()), sx)
		checkTemplated(t, d, err, pw, user, form)
		if err == nil && !jndi && decrypter != "" && form != "base64" {
			t.Fatalf("an AES password was accepted: %+v", d)
		}
	})
}

func FuzzParseProperties(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "discover", "bitbucket", "*.properties"))
	for i, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		s := seedStrings[i%len(seedStrings)]
		f.Add(data, "jdbc.password", " x=y:z\\ \t", s[0], s[1], s[2], uint8(i*37))
	}
	bitbucket := product(f, "bitbucket")
	f.Fuzz(func(t *testing.T, data []byte, key, value, url, user, pw string, layout uint8) {
		d, err := bitbucket.ParseConfig("bitbucket.properties", data, nil)
		checkFuzzResult(t, d, err)
		if _, err := parseProperties(data); err != nil {
			if _, ok := err.(*propertiesError); !ok {
				t.Fatalf("parseProperties error %v is a %T", err, err)
			}
		}

		// Round trip: what is written with Java's escaping reads back the same.
		norm := func(s string) string { return string([]rune(s)) } // invalid UTF-8 becomes U+FFFD
		pairs := [][2]string{{norm(key), norm(value)}, {"jdbc.url", norm(url)}, {norm(value), norm(key)}}
		var b strings.Builder
		for i, p := range pairs {
			writeProperty(&b, p[0], p[1], layout+uint8(i)*29)
		}
		got, err := parseProperties([]byte(b.String()))
		if err != nil {
			t.Fatalf("reading back %q: %v", b.String(), err)
		}
		if len(got) != len(pairs) {
			t.Fatalf("read %d properties back from %q; want %d", len(got), b.String(), len(pairs))
		}
		for i, p := range pairs {
			if got[i].key != p[0] || got[i].value != p[1] {
				t.Fatalf("read %q=%q back from %q; want %q=%q", got[i].key, got[i].value, b.String(), p[0], p[1])
			}
		}

		// A bitbucket.properties written with a known password.
		if !utf8.ValidString(pw) || !utf8.ValidString(user) {
			return
		}
		b.Reset()
		writeProperty(&b, "jdbc.driver", "org.postgresql.Driver", layout)
		writeProperty(&b, "jdbc.url", norm(url), layout>>1)
		writeProperty(&b, "jdbc.user", user, layout>>2)
		form, value := "plain", pw
		if layout&1 != 0 {
			form, value = "base64", base64.StdEncoding.EncodeToString([]byte(javaTrim(pw)))
			writeProperty(&b, "jdbc.password.decrypter.classname", "com.atlassian.db.config.password.ciphers.base64.Base64Cipher", layout>>3)
		}
		writeProperty(&b, "jdbc.password", value, layout>>4)
		d, err = bitbucket.ParseConfig("bitbucket.properties", []byte(b.String()), nil)
		checkTemplated(t, d, err, javaTrim(pw), javaTrim(user), form)
	})
}

func FuzzParseFisheyeConfig(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "discover", "fisheye", "*.xml"))
	for i, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		s := seedStrings[i%len(seedStrings)]
		f.Add(data, s[0], s[1], s[2], uint8(i))
	}
	fisheye := product(f, "fisheye")
	f.Fuzz(func(t *testing.T, data []byte, url, user, pw string, variant uint8) {
		d, err := fisheye.ParseConfig("config.xml", data, nil)
		checkFuzzResult(t, d, err)
		if err == nil && !strings.Contains(strings.Join(d.Notes, "\n"), "unverified") {
			t.Fatalf("notes %q do not say the format is unverified", d.Notes)
		}

		if !validXML(url) || !validXML(user) || !validXML(pw) {
			return
		}
		types := []string{"postgresql", "mysql", "sqlserver", "oracle"}
		var b strings.Builder
		fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<config version=\"1.0\">\n  <database type=\"%s\">\n", types[variant%4])
		if variant&4 == 0 {
			fmt.Fprintf(&b, "    <connection driverSource=\"bundled\" jdbcurl=\"%s\" username=\"%s\" password=\"%s\"/>\n", xmlText(url), xmlText(user), xmlText(pw))
		} else {
			fmt.Fprintf(&b, "    <connection>\n      <url>%s</url>\n      <user>%s</user>\n      <password>%s</password>\n    </connection>\n", xmlText(url), xmlText(user), xmlText(pw))
		}
		b.WriteString("  </database>\n</config>\n")
		d, err = fisheye.ParseConfig("config.xml", []byte(b.String()), nil)
		checkTemplated(t, d, err, pw, user, "plain")
	})
}
