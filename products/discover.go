package products

// Discovery of a product's database connection from the product's own config file:
//
//   - Jira: <local-home>/dbconfig.xml (<jira-database-config>, <jdbc-datasource> or
//     <jndi-datasource>);
//   - Confluence: <local-home>/confluence.cfg.xml and Bamboo: <home>/bamboo.cfg.xml
//     (<properties><property name="hibernate.connection.*">; Confluence may name a JNDI
//     datasource defined in Tomcat's conf/server.xml);
//   - Bitbucket: <home>/shared/bitbucket.properties (Java properties, read as Spring Boot
//     reads them);
//   - Fisheye/Crucible: $FISHEYE_INST/config.xml (<database><connection .../>; format
//     unverified);
//   - Crowd: <home>/shared/crowd.cfg.xml (Data Center), or <home>/crowd.cfg.xml, the same
//     <properties> as Bamboo's.
//
// Nothing here ever puts a password, or the Base64 form of one, into an error or a note: the
// messages are built without quoting password values, and as a last guard every error and
// note is scrubbed of the passwords that were read.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/reauth/reauth/db"
)

// ErrEncryptedPassword marks a config file whose password reauth cannot read by itself: it is
// encrypted (Atlassian's AES "advanced encryption", a secret store such as AWS Secrets
// Manager or Vault, a custom cipher), held in the product's secret storage ({ATL_SECURED}),
// or a reference (${...}) to a value kept outside the file. The operator supplies it with
// database.password_env or database.password_file. Errors wrapping it come with a
// *Discovered that is complete apart from the password.
var ErrEncryptedPassword = errors.New("the password in the product's config file cannot be read")

// Discovered is what a product's config file says about its database.
type Discovered struct {
	File     string    // the file it was read from
	Source   db.Source // parsed JDBC URL (schema filled from <schema-name> where given)
	User     string
	Password string // decoded; empty when the file holds none
	// PasswordForm is "plain", "base64" (Atlassian's "basic encryption", decoded here),
	// "none" (the file holds no password), or "encrypted" (only with an error wrapping
	// ErrEncryptedPassword: the password must come from elsewhere).
	PasswordForm string
	Notes        []string // e.g. "password was Base64-encoded", "Fisheye's config.xml format is unverified"
}

// DiscoverError reports a config file that does not give a usable database connection. Its
// text is one lower-case line naming the file, the element or property at fault and what to
// do. It never holds a password.
type DiscoverError struct {
	File  string // the file at fault (the product's config file, or Tomcat's server.xml)
	Field string // the element, attribute or property at fault; may be empty
	Msg   string
	// Err is what the error wraps: ErrEncryptedPassword, a *db.URLError (which wraps
	// db.ErrUnsupported for embedded databases), db.ErrUnsupported, or nil.
	Err error
}

func (e *DiscoverError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(oneLine(e.File))
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(oneLine(e.Field))
		b.WriteString(": ")
	}
	b.WriteString(oneLine(e.Msg))
	return b.String()
}

func (e *DiscoverError) Unwrap() error { return e.Err }

// oneLine keeps an error on one line whatever a file name or value holds.
func oneLine(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// configFiles is where each product keeps its database connection, relative to its home.
var configFiles = map[string]string{
	"jira":       "dbconfig.xml",
	"confluence": "confluence.cfg.xml",
	"bitbucket":  "shared/bitbucket.properties",
	"bamboo":     "bamboo.cfg.xml",
	"fisheye":    "config.xml",
	"crowd":      "shared/crowd.cfg.xml",
}

// altConfigFiles is where a product's file is when the home given is not laid out as
// configFiles says: Bitbucket's shared home given as the home, a Crowd without a shared home.
var altConfigFiles = map[string]struct{ rel, note string }{
	"bitbucket": {"bitbucket.properties", "the home given looks like bitbucket's shared home"},
	"crowd":     {"crowd.cfg.xml", "the home has no shared/crowd.cfg.xml (not clustered)"},
}

// ConfigPath is where product p keeps its DB config, relative to the home given: Jira's and
// Confluence's local home, Bitbucket's home (the file is in its shared home, home/shared),
// Bamboo's home, Fisheye's $FISHEYE_INST.
func (p *Product) ConfigPath(home string) string {
	rel, ok := configFiles[p.Name]
	if !ok {
		return ""
	}
	return joinPath(home, rel)
}

// joinPath joins a home directory and a slash-separated relative path, in the home's own
// style: backslashes for a Windows home, slashes otherwise (remote homes are read over SSH
// from Linux nodes).
func joinPath(home, rel string) string {
	sep := "/"
	if strings.Contains(home, `\`) && !strings.Contains(home, "/") {
		sep = `\`
		rel = strings.ReplaceAll(rel, "/", `\`)
	}
	trimmed := strings.TrimRight(home, `/\`)
	if trimmed == "" && home != "" {
		return sep + rel // the root directory
	}
	if trimmed == "" {
		return rel
	}
	return trimmed + sep + rel
}

// Discover reads the file with read (a local os.ReadFile, or a remote `cat` over SSH supplied
// by the caller) and parses it. installDir, when not empty, is the product's install
// directory: a JNDI datasource is then looked up in installDir/conf/server.xml, read with
// read too.
//
// An error wrapping ErrEncryptedPassword comes with a *Discovered that is complete apart from
// the password; every other error comes with nil.
func (p *Product) Discover(home string, read func(path string) ([]byte, error), installDir string) (*Discovered, error) {
	if _, ok := configFiles[p.Name]; !ok {
		return nil, &DiscoverError{Field: "product", Msg: fmt.Sprintf("reauth cannot read %s's database connection from its files: give database.url, user and password_env", p.Name)}
	}
	if strings.TrimSpace(home) == "" {
		return nil, &DiscoverError{Field: "discover.home", Msg: fmt.Sprintf("is empty: give %s's home directory (%s)", p.Title, p.ConfigFile)}
	}
	path := p.ConfigPath(home)
	data, err := read(path)
	var note string
	if a, ok := altConfigFiles[p.Name]; ok && err != nil && errors.Is(err, fs.ErrNotExist) {
		alt := joinPath(home, a.rel)
		if d2, err2 := read(alt); err2 == nil {
			path, data, err = alt, d2, nil
			note = "read " + alt + ": " + a.note
		}
	}
	if err != nil {
		return nil, &DiscoverError{File: path, Msg: fmt.Sprintf("cannot read it (%v): check discover.home (%s's home directory holds %s)", err, p.Title, p.ConfigFile)}
	}
	var sx *serverXMLSource
	if strings.TrimSpace(installDir) != "" {
		name := joinPath(installDir, "conf/server.xml")
		sx = &serverXMLSource{name: name, read: func() ([]byte, error) { return read(name) }}
	}
	d, err := p.parseConfig(path, data, sx)
	if d != nil && note != "" {
		d.Notes = append([]string{note}, d.Notes...)
	}
	return d, err
}

// ParseConfig parses the contents of product p's DB config file (name is used in messages).
// serverXML, when not nil, returns Tomcat's conf/server.xml, in which a JNDI datasource
// (Confluence's hibernate.connection.datasource, Jira's <jndi-datasource>) is looked up.
//
// An error wrapping ErrEncryptedPassword comes with a *Discovered that is complete apart from
// the password; every other error comes with nil. Every error is a *DiscoverError.
func (p *Product) ParseConfig(name string, data []byte, serverXML func() ([]byte, error)) (*Discovered, error) {
	var sx *serverXMLSource
	if serverXML != nil {
		sx = &serverXMLSource{name: "server.xml", read: serverXML}
	}
	return p.parseConfig(name, data, sx)
}

type serverXMLSource struct {
	name string
	read func() ([]byte, error)
}

func (p *Product) parseConfig(name string, data []byte, sx *serverXMLSource) (d *Discovered, err error) {
	c := &parser{file: name, product: p, server: sx}
	switch p.Name {
	case "jira":
		d, err = c.jira(data)
	case "confluence", "bamboo", "crowd":
		d, err = c.cfgXML(data)
	case "bitbucket":
		d, err = c.bitbucket(data)
	case "fisheye":
		d, err = c.fisheye(data)
	default:
		err = &DiscoverError{File: name, Field: "product", Msg: fmt.Sprintf("reauth cannot read %s's database connection from its files: give database.url, user and password_env", p.Name)}
	}
	return c.scrub(d, err)
}

// parser holds what one discovery learnt, including the secrets that its errors and notes
// must never show.
type parser struct {
	file    string
	product *Product
	server  *serverXMLSource
	secrets []string
	notes   []string
}

// minSecret is the shortest password that scrub hides. Shorter ones would blank out ordinary
// words; the messages never quote a password in the first place.
const minSecret = 4

// secret records a value that must not appear in an error or a note, with its Base64 form.
// The {ATL_SECURED} marker and a value that is only a reference to another one (${NAME}) are
// not secrets: messages name them.
func (c *parser) secret(v string) {
	if notSecret(v) {
		return
	}
	forms := []string{v, strings.TrimSpace(v), base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v))}
	// The value may be the Base64 form of the password: its decoding is hidden as well,
	// before anything decides whether it is.
	if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v)); err == nil {
		forms = append(forms, string(raw))
	}
	for _, s := range forms {
		if len(s) >= minSecret {
			c.secrets = append(c.secrets, s)
		}
	}
}

// notSecret reports a password value that is a marker or a reference, not a password.
func notSecret(v string) bool {
	t := strings.TrimSpace(v)
	return t == "{ATL_SECURED}" || strings.HasPrefix(t, "${") && strings.HasSuffix(t, "}") && isPropertyName(t[2:len(t)-1])
}

func (c *parser) hide(s string) string {
	for _, sec := range c.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, "xxxxx")
		}
	}
	return s
}

// scrub is the last guard: no error or note leaves with a password in it.
func (c *parser) scrub(d *Discovered, err error) (*Discovered, error) {
	if err != nil {
		var de *DiscoverError
		if !errors.As(err, &de) {
			de = &DiscoverError{File: c.file, Msg: err.Error(), Err: err}
		}
		de.Field, de.Msg = c.hide(de.Field), c.hide(de.Msg)
		err = de
		if !errors.Is(err, ErrEncryptedPassword) {
			d = nil
		}
	}
	if d != nil {
		d.Notes = append(d.Notes, c.notes...)
		for i, n := range d.Notes {
			d.Notes[i] = c.hide(n)
		}
	}
	return d, err
}

func (c *parser) note(format string, args ...any) {
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

func (c *parser) fail(field string, wrapped error, format string, args ...any) *DiscoverError {
	return &DiscoverError{File: c.file, Field: field, Msg: fmt.Sprintf(format, args...), Err: wrapped}
}

const supplyPassword = "set database.password_env (or password_file) for this target"

// connection is what a config file names, before it is checked.
type connection struct {
	urlField, url   string
	userField, user string
	pwField, pw     string
	// cipher is the class that the file says decodes the password ("" for none), named by
	// cipherField.
	cipherField, cipher string
	// pwError, when set, is why the password cannot be read (it wraps ErrEncryptedPassword).
	pwError *DiscoverError
	// encryptedPrefixes refuses values that look encrypted (formats unverified).
	encryptedPrefixes bool
}

// finish parses the URL and decodes the password. A password that cannot be read gives a
// Discovered without it and an error wrapping ErrEncryptedPassword.
func (c *parser) finish(cn connection) (*Discovered, error) {
	c.secret(cn.pw)
	// The password is decoded first, so that an error about the URL hides it too.
	var pw, form string
	perr := cn.pwError
	if perr == nil {
		pw, form, perr = c.password(cn)
	}
	src, err := db.ParseURL(cn.url)
	if err != nil {
		return nil, c.fail(cn.urlField, err, "%v", err)
	}
	d := &Discovered{File: c.file, Source: src, User: strings.TrimSpace(cn.user)}
	if d.User == "" && src.User != "" {
		d.User = src.User
		c.note("the user name comes from the jdbc url")
	}
	if src.URLPassword != "" {
		c.secret(src.URLPassword)
		c.note("the jdbc url carries a password (prefer password_env)")
	}
	if perr != nil {
		d.PasswordForm = "encrypted"
		return d, perr
	}
	d.Password, d.PasswordForm = pw, form
	if form == "base64" {
		c.note("the password was Base64-encoded (basic encryption) in %s; reauth decoded it", cn.pwField)
	}
	return d, nil
}

// password decodes a password value as the file's cipher says.
func (c *parser) password(cn connection) (pw, form string, err *DiscoverError) {
	v := cn.pw
	t := strings.TrimSpace(v)
	if strings.HasPrefix(t, "{ATL_SECURED}") {
		return "", "", c.fail(cn.pwField, ErrEncryptedPassword, "the password is {ATL_SECURED}: %s keeps it in its secret storage, which only the product can read: %s", c.product.Title, supplyPassword)
	}
	if cn.encryptedPrefixes {
		for _, prefix := range []string{"{ENC}", "{AES", "{ENCRYPTED}"} {
			if len(t) >= len(prefix) && strings.EqualFold(t[:len(prefix)], prefix) {
				return "", "", c.fail(cn.pwField, ErrEncryptedPassword, "the password looks encrypted (it starts with %s), which reauth cannot decrypt: %s", prefix, supplyPassword)
			}
		}
	}
	if cipher := strings.TrimSpace(cn.cipher); cipher != "" {
		if !strings.Contains(strings.ToLower(cipher), "base64") {
			return "", "", c.fail(cn.cipherField, ErrEncryptedPassword, "the password is encrypted with %s, which reauth cannot decrypt: %s", quoteName(cipher), supplyPassword)
		}
		if t == "" {
			return "", "none", nil
		}
		raw, err := base64.StdEncoding.DecodeString(t)
		if err != nil {
			raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(t, "="))
		}
		if err != nil {
			return "", "", c.fail(cn.pwField, ErrEncryptedPassword, "the password is not valid base64, although %s names the Base64 cipher %s: fix it, or %s", cn.cipherField, quoteName(cipher), supplyPassword)
		}
		if !utf8.Valid(raw) {
			return "", "", c.fail(cn.pwField, ErrEncryptedPassword, "the base64 password does not decode to utf-8 text: fix it, or %s", supplyPassword)
		}
		c.secret(string(raw))
		return string(raw), "base64", nil
	}
	if v == "" {
		return "", "none", nil
	}
	return v, "plain", nil
}

// quoteName quotes a class or element name from a file for a message.
func quoteName(s string) string {
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return strconv.Quote(s)
}

// dialectOf maps a product's name for its database kind onto a db dialect: "embedded" for
// H2/HSQLDB, "" when unknown.
func dialectOf(kind string) string {
	k := strings.ToLower(strings.TrimSpace(kind))
	switch {
	case strings.HasPrefix(k, "postgres"):
		return "postgres"
	case strings.HasPrefix(k, "mysql"), strings.HasPrefix(k, "mariadb"), strings.HasPrefix(k, "aurora"):
		return "mysql"
	case strings.HasPrefix(k, "mssql"), strings.HasPrefix(k, "sqlserver"):
		return "sqlserver"
	case strings.HasPrefix(k, "oracle"):
		return "oracle"
	case k == "h2", strings.HasPrefix(k, "hsql"):
		return "embedded"
	}
	return ""
}

// driverDialect maps a JDBC driver class onto a db dialect ("" when unknown).
func driverDialect(class string) string {
	switch strings.TrimSpace(class) {
	case "org.postgresql.Driver":
		return "postgres"
	case "com.mysql.jdbc.Driver", "com.mysql.cj.jdbc.Driver", "org.mariadb.jdbc.Driver":
		return "mysql"
	case "com.microsoft.sqlserver.jdbc.SQLServerDriver", "net.sourceforge.jtds.jdbc.Driver":
		return "sqlserver"
	case "oracle.jdbc.OracleDriver", "oracle.jdbc.driver.OracleDriver":
		return "oracle"
	case "org.h2.Driver", "org.hsqldb.jdbcDriver", "org.hsqldb.jdbc.JDBCDriver":
		return "embedded"
	}
	return ""
}

// checkKind notes a database kind (Jira's <database-type>, Fisheye's type=, a driver class)
// that disagrees with the URL: the URL is what the product connects to, so it wins.
func (c *parser) checkKind(d *Discovered, field, value, dialect string) {
	if dialect == "" || d == nil || dialect == d.Source.Dialect {
		return
	}
	c.note("%s %s does not match the %s url; reauth uses the url", field, quoteName(strings.TrimSpace(value)), d.Source.Dialect)
}
