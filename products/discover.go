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
//     unverified).
//
// Nothing here ever puts a password, or the Base64 form of one, into an error or a note: the
// messages are built without quoting password values, and as a last guard every error and
// note is scrubbed of the passwords that were read.

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
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
	if err != nil && p.Name == "bitbucket" && errors.Is(err, fs.ErrNotExist) {
		// The home given may be the shared home itself.
		alt := joinPath(home, "bitbucket.properties")
		if d2, err2 := read(alt); err2 == nil {
			path, data, err = alt, d2, nil
			note = "read " + alt + ": the home given looks like bitbucket's shared home"
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
	case "confluence", "bamboo":
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

// ---- XML ----

// element is one element of a parsed XML file.
type element struct {
	name  string // local name
	attrs []xml.Attr
	kids  []*element
	text  strings.Builder // character data directly inside
	line  int
}

func (e *element) child(name string) *element {
	for _, k := range e.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

func (e *element) children(name string) []*element {
	var out []*element
	for _, k := range e.kids {
		if k.name == name {
			out = append(out, k)
		}
	}
	return out
}

// find returns the elements named name anywhere below e, in document order.
func (e *element) find(name string) []*element {
	var out []*element
	var walk func(*element)
	walk = func(n *element) {
		for _, k := range n.kids {
			if k.name == name {
				out = append(out, k)
			}
			walk(k)
		}
	}
	walk(e)
	return out
}

// attr returns an attribute, matched exactly first and then ignoring case.
func (e *element) attr(name string) (string, bool) {
	for _, a := range e.attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	for _, a := range e.attrs {
		if strings.EqualFold(a.Name.Local, name) {
			return a.Value, true
		}
	}
	return "", false
}

const maxXMLDepth = 64

// parseXML reads a whole XML document into a tree. Its errors never quote the document's
// text: a malformed file may have a password where markup was expected.
func (c *parser) parseXML(file string, data []byte) (*element, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = charsetReader
	var root *element
	var stack []*element
	fail := func(format string, args ...any) error {
		line, _ := dec.InputPos()
		return &DiscoverError{File: file, Msg: fmt.Sprintf("malformed xml at line %d: ", line) + fmt.Sprintf(format, args...)}
	}
	for {
		startLine, _ := dec.InputPos() // where the next token starts
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, &DiscoverError{File: file, Msg: fmt.Sprintf("malformed xml at line %d: %s", se.Line, xmlSyntax(se.Msg))}
			}
			return nil, fail("%s", xmlOther(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxXMLDepth {
				return nil, fail("elements are nested more than %d deep", maxXMLDepth)
			}
			e := &element{name: t.Name.Local, attrs: t.Attr, line: startLine}
			if len(stack) == 0 {
				if root != nil {
					return nil, fail("a second root element after the first one ends")
				}
				root = e
			} else {
				top := stack[len(stack)-1]
				top.kids = append(top.kids, e)
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, fail("text outside the root element")
			}
		}
	}
	if root == nil {
		return nil, &DiscoverError{File: file, Msg: "no xml element in it: the file is empty or is not the product's config file"}
	}
	if len(stack) > 0 {
		return nil, fail("the file ends before <%s> is closed (is it cut short?)", stack[len(stack)-1].name)
	}
	return root, nil
}

// xmlSyntax turns encoding/xml's syntax errors into text that quotes nothing from the file.
func xmlSyntax(msg string) string {
	switch {
	case strings.HasPrefix(msg, "unexpected EOF"):
		return "the file ends before its elements are closed (is it cut short?)"
	case strings.Contains(msg, "closed by"), strings.HasPrefix(msg, "unexpected end element"), strings.Contains(msg, " in space "):
		return "an end tag does not match the element it closes"
	case strings.HasPrefix(msg, "invalid character entity"):
		return "an & that does not start an entity: a literal & must be written &amp;"
	case strings.HasPrefix(msg, "unescaped < inside quoted string"):
		return "a < inside an attribute value: write &lt;"
	case strings.HasPrefix(msg, "invalid UTF-8"):
		return "the file is not valid utf-8 text: check its encoding"
	case strings.HasPrefix(msg, "illegal character code"):
		return msg // "illegal character code U+0001"
	case strings.HasPrefix(msg, "invalid XML name"):
		return "an invalid element or attribute name"
	case strings.HasPrefix(msg, "invalid characters between"):
		return "a malformed end tag"
	}
	for _, fixed := range []string{
		"expected element name after </", "expected target name after <?", "invalid sequence <!- not part of <!--",
		"invalid <![ sequence", "expected element name after <", "expected /> in element", "expected attribute name in element",
		"attribute name without = in element", "unquoted or missing attribute value in element", "unescaped ]]> not in CDATA section",
	} {
		if msg == fixed {
			return msg
		}
	}
	return "the file is not well-formed xml"
}

// xmlOther words the decoder's other errors (unknown encodings, versions) without quoting
// more than the declaration's value.
func xmlOther(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "encoding"), strings.Contains(msg, "charset"):
		return "its encoding= declaration names an encoding reauth cannot read (utf-8, us-ascii and iso-8859-1 are read)"
	case strings.Contains(msg, "version"):
		return "its <?xml version= is not 1.0"
	}
	return "the file is not well-formed xml"
}

// charsetReader reads the encodings that a config file may declare besides UTF-8.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1":
		b, err := io.ReadAll(input)
		if err != nil {
			return nil, err
		}
		return strings.NewReader(latin1(b)), nil
	}
	return nil, fmt.Errorf("unsupported encoding")
}

// latin1 decodes ISO-8859-1: every byte is the code point of the same number.
func latin1(b []byte) string {
	var s strings.Builder
	s.Grow(len(b))
	for _, c := range b {
		s.WriteRune(rune(c))
	}
	return s.String()
}

// checkRoot refuses a file whose root element is not the one the product writes.
func (c *parser) checkRoot(root *element, want string) error {
	if root.name != want {
		return c.fail("", nil, "the root element is <%s>, not <%s>: is this %s's %s?", truncate(root.name), want, c.product.Title, baseName(c.product.ConfigPath("")))
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// only returns the single child named name of e: nil when there is none, an error when there
// are several (the file would be ambiguous).
func (c *parser) only(e *element, name, path string) (*element, error) {
	kids := e.children(name)
	switch len(kids) {
	case 0:
		return nil, nil
	case 1:
		return kids[0], nil
	}
	return nil, c.fail(path, nil, "appears %d times (lines %d and %d): keep one", len(kids), kids[0].line, kids[1].line)
}

// ---- Jira: dbconfig.xml ----

func (c *parser) jira(data []byte) (*Discovered, error) {
	root, err := c.parseXML(c.file, data)
	if err != nil {
		return nil, err
	}
	if err := c.checkRoot(root, "jira-database-config"); err != nil {
		return nil, err
	}
	dbType := ""
	if e, err := c.only(root, "database-type", "<database-type>"); err != nil {
		return nil, err
	} else if e != nil {
		dbType = strings.TrimSpace(e.text.String())
	}
	schema := ""
	if e, err := c.only(root, "schema-name", "<schema-name>"); err != nil {
		return nil, err
	} else if e != nil {
		schema = strings.TrimSpace(e.text.String())
	}
	ds, err := c.only(root, "jdbc-datasource", "<jdbc-datasource>")
	if err != nil {
		return nil, err
	}
	var d *Discovered
	if ds == nil {
		jndi, err := c.only(root, "jndi-datasource", "<jndi-datasource>")
		if err != nil {
			return nil, err
		}
		if jndi == nil {
			return nil, c.fail("<jdbc-datasource>", nil, "missing: dbconfig.xml names no database (has jira's setup finished?): give database.url, user and password_env")
		}
		name := ""
		if e := jndi.child("jndi-name"); e != nil {
			name = strings.TrimSpace(e.text.String())
		}
		if name == "" {
			return nil, c.fail("<jndi-datasource>/<jndi-name>", nil, "missing or empty: give database.url, user and password_env")
		}
		d, err = c.jndi("<jndi-datasource>/<jndi-name>", name)
		if d == nil {
			return nil, err
		}
		if schema != "" {
			d.Source.Schema = schema
		}
		c.checkKind(d, "<database-type>", dbType, dialectOf(dbType))
		return d, err
	}
	text := func(name string) (string, *element, error) {
		e, err := c.only(ds, name, "<jdbc-datasource>/<"+name+">")
		if err != nil || e == nil {
			return "", nil, err
		}
		return e.text.String(), e, nil
	}
	url, urlElem, err := text("url")
	if err != nil {
		return nil, err
	}
	user, _, err := text("username")
	if err != nil {
		return nil, err
	}
	pw, _, err := text("password")
	if err != nil {
		return nil, err
	}
	cipher, _, err := text("atlassian-password-cipher-provider")
	if err != nil {
		return nil, err
	}
	driver, _, err := text("driver-class")
	if err != nil {
		return nil, err
	}
	c.secret(pw)
	if urlElem == nil || strings.TrimSpace(url) == "" {
		return nil, c.fail("<jdbc-datasource>/<url>", nil, "missing or empty: put jira's jdbc url there, or give database.url")
	}
	// Jira does not expand ${...}; this only words the error for an embedded database.
	if url, err = c.expandURL("<jdbc-datasource>/<url>", url, noProperties, false); err != nil {
		return nil, err
	}
	d, err = c.finish(connection{
		urlField: "<jdbc-datasource>/<url>", url: url,
		userField: "<jdbc-datasource>/<username>", user: user,
		pwField: "<jdbc-datasource>/<password>", pw: pw,
		cipherField: "<atlassian-password-cipher-provider>", cipher: cipher,
	})
	if d == nil {
		return nil, err
	}
	if schema != "" {
		d.Source.Schema = schema
	}
	kind := dialectOf(dbType)
	if kind == "" && dbType != "" {
		c.note("<database-type> %s is not one reauth knows; it uses the url", quoteName(dbType))
	}
	c.checkKind(d, "<database-type>", dbType, kind)
	c.checkKind(d, "<driver-class>", driver, driverDialect(driver))
	return d, err
}

func noProperties(string) (string, bool) { return "", false }

// ---- JNDI datasources in Tomcat's server.xml ----

// jndi follows a JNDI datasource name (java:comp/env/jdbc/confluence) into Tomcat's
// server.xml: a <Resource name="jdbc/confluence" .../> inside a <Context>, or a
// <ResourceLink> there to a global resource.
func (c *parser) jndi(field, name string) (*Discovered, error) {
	res := strings.TrimPrefix(strings.TrimSpace(name), "java:comp/env/")
	if c.server == nil {
		return nil, c.fail(field, nil, "names the jndi datasource %s, which is defined in tomcat's conf/server.xml: set restart.install_dir for this target so that reauth can read that file, or give database.url, user and password_env", quoteName(name))
	}
	sfile := c.server.name
	data, err := c.server.read()
	if err != nil {
		return nil, &DiscoverError{File: sfile, Msg: fmt.Sprintf("cannot read it (%v), and %s names the jndi datasource %s defined there: check restart.install_dir, or give database.url, user and password_env", err, c.file, quoteName(name))}
	}
	root, err := c.parseXML(sfile, data)
	if err != nil {
		return nil, err
	}
	resField := fmt.Sprintf("<Resource name=%s>", quoteName(res))
	notFound := func() error {
		return &DiscoverError{File: sfile, Field: resField, Msg: fmt.Sprintf("not found in any <Context>, although %s names the jndi datasource %s: it may be defined in conf/context.xml or conf/Catalina/localhost/*.xml, which reauth does not read: give database.url, user and password_env", c.file, quoteName(name))}
	}
	var found []*element
	for _, ctx := range root.find("Context") {
		for _, r := range ctx.find("Resource") {
			if v, _ := r.attr("name"); v == res {
				found = append(found, r)
			}
		}
		if len(found) > 0 {
			break
		}
		for _, link := range ctx.find("ResourceLink") {
			if v, _ := link.attr("name"); v != res {
				continue
			}
			global, _ := link.attr("global")
			for _, g := range root.find("GlobalNamingResources") {
				for _, r := range g.find("Resource") {
					if v, _ := r.attr("name"); v == global && global != "" {
						found = append(found, r)
					}
				}
			}
		}
		if len(found) > 0 {
			break
		}
	}
	if len(found) == 0 {
		return nil, notFound()
	}
	r := found[0]
	if len(found) > 1 {
		c.note("%s defines %s %d times; reauth used the first, at line %d", sfile, resField, len(found), r.line)
	}
	get := func(names ...string) (string, string) {
		for _, n := range names {
			if v, ok := r.attr(n); ok {
				return v, n
			}
		}
		return "", names[0]
	}
	url, _ := get("url")
	user, userAttr := get("username", "user")
	pw, _ := get("password")
	driver, _ := get("driverClassName")
	c.secret(pw)
	attrField := func(a string) string { return resField + " " + a + "=" }
	if strings.TrimSpace(url) == "" {
		return nil, &DiscoverError{File: sfile, Field: attrField("url"), Msg: "missing or empty: give database.url, user and password_env"}
	}
	// Tomcat replaces ${...} with Java system properties, which reauth cannot see.
	for _, a := range []struct{ name, value string }{{"url", url}, {userAttr, user}} {
		if names := placeholders(a.value, false); len(names) > 0 {
			return nil, &DiscoverError{File: sfile, Field: attrField(a.name), Msg: fmt.Sprintf("holds %s, which tomcat takes from a java system property that reauth cannot see: give database.url, user and password_env", placeholderList(names))}
		}
	}
	cn := connection{urlField: attrField("url"), url: url, userField: attrField(userAttr), user: user, pwField: attrField("password"), pw: pw}
	if len(placeholders(pw, false)) > 0 {
		cn.pwError = &DiscoverError{File: sfile, Field: attrField("password"), Msg: "holds a ${...} placeholder, which tomcat takes from a java system property that reauth cannot see: " + supplyPassword, Err: ErrEncryptedPassword}
	}
	saved := c.file
	c.file = sfile // errors about the connection are about server.xml
	d, err := c.finish(cn)
	c.file = saved
	if d == nil {
		return nil, err
	}
	d.File = c.file
	c.note("the connection comes from the jndi datasource %s, defined in %s (line %d)", quoteName(res), sfile, r.line)
	c.checkKind(d, "driverClassName", driver, driverDialect(driver))
	return d, err
}

// ---- Confluence and Bamboo: confluence.cfg.xml, bamboo.cfg.xml ----

func (c *parser) cfgXML(data []byte) (*Discovered, error) {
	root, err := c.parseXML(c.file, data)
	if err != nil {
		return nil, err
	}
	want := "confluence-configuration"
	if c.product.Name == "bamboo" {
		want = "application-configuration"
	}
	if err := c.checkRoot(root, want); err != nil {
		return nil, err
	}
	props := map[string]string{}
	lines := map[string]int{}
	for _, ps := range root.children("properties") {
		for _, p := range ps.children("property") {
			name, ok := p.attr("name")
			if !ok {
				continue
			}
			if prev, dup := lines[name]; dup && relevantProperty(name) {
				return nil, c.fail("property "+name, nil, "appears twice (lines %d and %d): keep one", prev, p.line)
			}
			props[name], lines[name] = p.text.String(), p.line
		}
	}
	lookup := func(n string) (string, bool) { v, ok := props[n]; return v, ok }
	pw, hasPW := props["hibernate.connection.password"]
	c.secret(pw)
	if ds := strings.TrimSpace(props["hibernate.connection.datasource"]); ds != "" {
		v, err := c.expand("property hibernate.connection.datasource", ds, lookup, false)
		if err != nil {
			return nil, err
		}
		return c.jndi("property hibernate.connection.datasource", v)
	}
	url, ok := props["hibernate.connection.url"]
	if !ok || strings.TrimSpace(url) == "" {
		return nil, c.fail("property hibernate.connection.url", nil, "missing or empty: %s names no database (has its setup finished?): give database.url, user and password_env", c.product.Title)
	}
	url, err = c.expandURL("property hibernate.connection.url", url, lookup, false)
	if err != nil {
		return nil, err
	}
	user, err := c.expand("property hibernate.connection.username", props["hibernate.connection.username"], lookup, false)
	if err != nil {
		return nil, err
	}
	cn := connection{
		urlField: "property hibernate.connection.url", url: url,
		userField: "property hibernate.connection.username", user: user,
		pwField:     "property hibernate.connection.password",
		cipherField: "property jdbc.password.decrypter.classname", cipher: props["jdbc.password.decrypter.classname"],
	}
	if hasPW {
		cn.pw, cn.pwError = c.expandPassword(cn.pwField, pw, lookup, false)
	}
	d, err := c.finish(cn)
	if d == nil {
		return nil, err
	}
	driver := props["hibernate.connection.driver_class"]
	c.checkKind(d, "property hibernate.connection.driver_class", driver, driverDialect(driver))
	return d, err
}

func relevantProperty(name string) bool {
	switch name {
	case "hibernate.connection.url", "hibernate.connection.username", "hibernate.connection.password",
		"hibernate.connection.datasource", "jdbc.password.decrypter.classname",
		"jdbc.url", "jdbc.user", "jdbc.password":
		return true
	}
	return false
}

// ---- ${...} placeholders ----

// placeholders lists the names of the ${...} placeholders in v. spring: Spring's
// ${name:default} form, whose name ends at the first ':'.
func placeholders(v string, spring bool) []string {
	var names []string
	for i := 0; ; {
		j := strings.Index(v[i:], "${")
		if j < 0 {
			return names
		}
		start := i + j + 2
		end := closingBrace(v, start)
		if end < 0 {
			return names
		}
		name := v[start:end]
		if spring {
			name, _, _ = strings.Cut(name, ":")
		}
		names = append(names, name)
		i = end + 1
	}
}

// closingBrace finds the } that closes a ${ whose name starts at start, skipping nested
// ${...}; -1 when there is none.
func closingBrace(v string, start int) int {
	depth := 0
	for k := start; k < len(v); k++ {
		switch {
		case strings.HasPrefix(v[k:], "${"):
			depth++
			k++
		case v[k] == '}':
			if depth == 0 {
				return k
			}
			depth--
		}
	}
	return -1
}

const maxExpandDepth = 8

// expander resolves ${name} placeholders with the values of the other properties of the same
// file, recursively. spring: Spring Boot's ${name:default} form; the default stands in for a
// name that the file does not define when defaults is set.
type expander struct {
	lookup   func(string) (string, bool)
	spring   bool
	defaults bool
	// missing are the names that could not be resolved; defaulted those replaced by their
	// default.
	missing, defaulted []string
	// looped is set when placeholders refer to each other in a loop, nest too deep or expand
	// past maxExpansions: then the names are in missing too.
	looped bool
	steps  int
}

// maxExpansions bounds the work of one value: ${a}${a}${a} where a refers to itself the same
// way would otherwise grow exponentially.
const maxExpansions = 200

func (x *expander) expand(v string, depth int) string {
	if !strings.Contains(v, "${") {
		return v
	}
	var out strings.Builder
	i := 0
	for {
		j := strings.Index(v[i:], "${")
		if j < 0 {
			out.WriteString(v[i:])
			break
		}
		start := i + j + 2
		end := closingBrace(v, start)
		if end < 0 {
			out.WriteString(v[i:])
			break
		}
		out.WriteString(v[i : start-2])
		i = end + 1
		if x.steps++; depth >= maxExpandDepth || x.steps > maxExpansions {
			x.looped = true
			x.missing = append(x.missing, v[start:end])
			out.WriteString(v[start-2 : end+1])
			continue
		}
		// A placeholder nested in the name is resolved first.
		inner := x.expand(v[start:end], depth+1)
		name, def, hasDef := inner, "", false
		if x.spring {
			name, def, hasDef = strings.Cut(inner, ":")
		}
		if val, ok := x.lookup(name); ok {
			out.WriteString(x.expand(val, depth+1))
		} else if hasDef && x.defaults {
			x.defaulted = append(x.defaulted, name)
			out.WriteString(x.expand(def, depth+1))
		} else {
			x.missing = append(x.missing, name)
			out.WriteString(v[start-2 : end+1])
		}
	}
	return out.String()
}

func placeholderList(names []string) string {
	seen := map[string]bool{}
	var q []string
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			q = append(q, "${"+truncate(n)+"}")
		}
		if len(q) == 3 {
			break
		}
	}
	return strings.Join(q, ", ")
}

// expand resolves the placeholders of a value that is not secret, naming those it cannot.
func (c *parser) expand(field, v string, lookup func(string) (string, bool), spring bool) (string, error) {
	x := &expander{lookup: lookup, spring: spring, defaults: true}
	out := x.expand(v, 0)
	if x.looped {
		return "", c.fail(field, nil, "its placeholders (%s) refer to each other in a loop or nest too deep: put in the value, or give database.url, user and password_env", placeholderList(x.missing))
	}
	if len(x.missing) > 0 {
		return "", c.fail(field, nil, "holds %s, which no property of this file defines (it may come from the environment or a java system property of the node, which reauth cannot see): put in the value, or give database.url, user and password_env", placeholderList(x.missing))
	}
	if len(x.defaulted) > 0 {
		c.note("%s uses the default value of %s, which this file does not define: check that the node's environment does not set it", field, placeholderList(x.defaulted))
	} else if out != v {
		c.note("%s uses ${...} placeholders, resolved from other properties of the file", field)
	}
	return out, nil
}

// expandURL is expand for a JDBC URL: an embedded database is reported as such even when its
// path holds an unresolved placeholder (jdbc:h2:${bambooHome}/database/h2db).
func (c *parser) expandURL(field, v string, lookup func(string) (string, bool), spring bool) (string, error) {
	x := &expander{lookup: lookup, spring: spring, defaults: true}
	if x.expand(v, 0); len(x.missing) > 0 {
		probe := (&expander{lookup: func(string) (string, bool) { return "x", true }, spring: spring}).expand(v, 0)
		if _, err := db.ParseURL(probe); errors.Is(err, db.ErrUnsupported) {
			var ue *db.URLError
			if errors.As(err, &ue) {
				return "", c.fail(field, err, "%s", ue.Reason)
			}
		}
	}
	return c.expand(field, v, lookup, spring)
}

// expandPassword resolves the placeholders of a password. It never names them unless the
// whole value is one placeholder: the rest of the value would be the password itself. A
// default is not taken: the node's environment would win over it.
func (c *parser) expandPassword(field, v string, lookup func(string) (string, bool), spring bool) (string, *DiscoverError) {
	x := &expander{lookup: lookup, spring: spring}
	out := x.expand(v, 0)
	if len(x.missing) == 0 {
		if out != v {
			c.note("%s uses ${...} placeholders, resolved from other properties of the file", field)
			c.secret(out)
		}
		return out, nil
	}
	what := "a ${...} placeholder"
	if t := strings.TrimSpace(v); strings.HasPrefix(t, "${") && closingBrace(t, 2) == len(t)-1 {
		name := t[2 : len(t)-1]
		if spring {
			name, _, _ = strings.Cut(name, ":")
		}
		if isPropertyName(name) {
			what = "${" + name + "}"
		}
	}
	if x.looped {
		if what != "a ${...} placeholder" {
			what = " (" + what + ")"
		} else {
			what = ""
		}
		return "", c.fail(field, ErrEncryptedPassword, "its placeholders%s refer to each other in a loop or nest too deep: %s", what, supplyPassword)
	}
	return "", c.fail(field, ErrEncryptedPassword, "holds %s, which no property of this file defines (it may come from the environment or a java system property of the node, which reauth cannot see): %s", what, supplyPassword)
}

func isPropertyName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-", r)) {
			return false
		}
	}
	return true
}

// ---- Bitbucket: bitbucket.properties ----

func (c *parser) bitbucket(data []byte) (*Discovered, error) {
	entries, err := parseProperties(data)
	if err != nil {
		var pe *propertiesError
		if errors.As(err, &pe) {
			field := ""
			if relevantProperty(pe.key) {
				field = pe.key
			}
			return nil, c.fail(field, nil, "line %d: %s", pe.line, pe.msg)
		}
		return nil, c.fail("", nil, "%v", err)
	}
	props := map[string]string{}
	raw := map[string]string{}
	for _, e := range entries {
		// Bitbucket reads the file as Spring Boot does: keys and values are trimmed of
		// white space and control characters, escaped or not, and empty keys are skipped.
		k := javaTrim(e.key)
		if k == "" {
			continue
		}
		props[k], raw[k] = javaTrim(e.value), e.value
	}
	lookup := func(n string) (string, bool) { v, ok := props[n]; return v, ok }
	pw, hasPW := props["jdbc.password"]
	c.secret(raw["jdbc.password"])
	c.secret(pw)
	url := props["jdbc.url"]
	if url == "" {
		return nil, c.fail("jdbc.url", nil, "missing or empty: bitbucket then runs on its embedded h2 database (which reauth cannot open) or takes JDBC_URL from its service's environment (which reauth cannot see): give database.url, user and password_env")
	}
	url, err = c.expandURL("jdbc.url", url, lookup, true)
	if err != nil {
		return nil, err
	}
	user, err := c.expand("jdbc.user", props["jdbc.user"], lookup, true)
	if err != nil {
		return nil, err
	}
	cn := connection{
		urlField: "jdbc.url", url: url, userField: "jdbc.user", user: user, pwField: "jdbc.password",
		cipherField: "jdbc.password.decrypter.classname", cipher: props["jdbc.password.decrypter.classname"],
		encryptedPrefixes: true,
	}
	if hasPW {
		cn.pw, cn.pwError = c.expandPassword("jdbc.password", pw, lookup, true)
		if raw["jdbc.password"] != pw {
			c.note("white space around jdbc.password was dropped, as bitbucket (spring boot) does")
		}
	}
	d, err := c.finish(cn)
	if d == nil {
		return nil, err
	}
	driver := props["jdbc.driver"]
	c.checkKind(d, "jdbc.driver", driver, driverDialect(driver))
	return d, err
}

// javaTrim is Java's String.trim: it drops every character up to U+0020 at both ends.
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

// property is one key and value of a properties file.
type property struct {
	key, value string
	line       int // where its logical line starts
}

type propertiesError struct {
	line int
	key  string // the key whose value is at fault, when known
	msg  string
}

func (e *propertiesError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func isPropSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

// parseProperties reads a .properties file as java.util.Properties.load(InputStream) does:
// ISO-8859-1 text; natural lines end at \n, \r or \r\n; a line whose first non-blank character
// is # or ! is a comment; a line ending in an odd number of backslashes continues on the next
// one, whose leading white space is dropped; the key ends at the first unescaped =, : or
// white space, and one = or : with white space around it separates it from the value; \t, \n,
// \r, \f and \uXXXX are escapes, and a backslash before any other character stands for that
// character. Keys may repeat: callers take the last.
func parseProperties(data []byte) ([]property, error) {
	var out []property
	line := 1
	i := 0
	eol := func(k int) (next int, ok bool) { // the index after the line terminator at k
		switch {
		case k >= len(data):
			return k, false
		case data[k] == '\r' && k+1 < len(data) && data[k+1] == '\n':
			return k + 2, true
		case data[k] == '\r' || data[k] == '\n':
			return k + 1, true
		}
		return k, false
	}
	for i < len(data) {
		for i < len(data) && isPropSpace(data[i]) {
			i++
		}
		if next, ok := eol(i); ok {
			i, line = next, line+1
			continue
		}
		if i >= len(data) {
			break
		}
		if data[i] == '#' || data[i] == '!' {
			for i < len(data) && data[i] != '\n' && data[i] != '\r' {
				i++
			}
			continue
		}
		// Collect one logical line, joining continued natural lines.
		start := line
		var logical []byte
		for {
			k := i
			for k < len(data) && data[k] != '\n' && data[k] != '\r' {
				k++
			}
			seg := data[i:k]
			slashes := 0
			for n := len(seg) - 1; n >= 0 && seg[n] == '\\'; n-- {
				slashes++
			}
			next, hadEOL := eol(k)
			if slashes%2 == 1 {
				logical = append(logical, seg[:len(seg)-1]...)
				if !hadEOL {
					i = k
					break
				}
				i, line = next, line+1
				for i < len(data) && isPropSpace(data[i]) {
					i++
				}
				continue
			}
			logical = append(logical, seg...)
			i = next
			if hadEOL {
				line++
			}
			break
		}
		p, err := splitProperty(logical, start)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// splitProperty splits a logical line into its key and value and decodes their escapes.
func splitProperty(s []byte, line int) (property, error) {
	keyEnd, valStart := len(s), len(s)
	hasSep, escaped := false, false
	for k := 0; k < len(s); k++ {
		c := s[k]
		if !escaped && (c == '=' || c == ':') {
			keyEnd, valStart, hasSep = k, k+1, true
			break
		}
		if !escaped && isPropSpace(c) {
			keyEnd, valStart = k, k+1
			break
		}
		escaped = c == '\\' && !escaped
	}
	for valStart < len(s) {
		c := s[valStart]
		if !isPropSpace(c) {
			if !hasSep && (c == '=' || c == ':') {
				hasSep = true
			} else {
				break
			}
		}
		valStart++
	}
	key, err := unescapeProperty(s[:keyEnd])
	if err != nil {
		return property{}, &propertiesError{line: line, msg: err.Error() + " in a key"}
	}
	value, err := unescapeProperty(s[valStart:])
	if err != nil {
		return property{}, &propertiesError{line: line, key: key, msg: err.Error() + " in the value of " + strconv.Quote(truncate(key))}
	}
	return property{key: key, value: value, line: line}, nil
}

var errMalformedU = errors.New(`malformed \uxxxx escape (a \u needs four hex digits)`)

// unescapeProperty decodes a key or value of a properties file (ISO-8859-1 bytes with Java
// escapes) into UTF-8. \uXXXX escapes are UTF-16 code units: surrogate pairs combine, and a
// lone surrogate becomes U+FFFD, as a Java string holding one would print.
func unescapeProperty(s []byte) (string, error) {
	units := make([]uint16, 0, len(s))
	for k := 0; k < len(s); k++ {
		c := s[k]
		if c != '\\' {
			units = append(units, uint16(c))
			continue
		}
		k++
		if k >= len(s) {
			break // a lone trailing backslash is dropped
		}
		switch c = s[k]; c {
		case 't':
			units = append(units, '\t')
		case 'n':
			units = append(units, '\n')
		case 'r':
			units = append(units, '\r')
		case 'f':
			units = append(units, '\f')
		case 'u':
			if k+4 >= len(s) {
				return "", errMalformedU
			}
			var v uint16
			for _, h := range s[k+1 : k+5] {
				switch {
				case h >= '0' && h <= '9':
					v = v<<4 | uint16(h-'0')
				case h >= 'a' && h <= 'f':
					v = v<<4 | uint16(h-'a'+10)
				case h >= 'A' && h <= 'F':
					v = v<<4 | uint16(h-'A'+10)
				default:
					return "", errMalformedU
				}
			}
			units = append(units, v)
			k += 4
		default:
			units = append(units, uint16(c))
		}
	}
	return string(utf16.Decode(units)), nil
}

// ---- Fisheye/Crucible: config.xml ----

const fisheyeUnverified = "fisheye's config.xml format is unverified: check the connection found"

func (c *parser) fisheye(data []byte) (*Discovered, error) {
	root, err := c.parseXML(c.file, data)
	if err != nil {
		return nil, err
	}
	if err := c.checkRoot(root, "config"); err != nil {
		return nil, err
	}
	dbs := root.children("database")
	if len(dbs) == 0 {
		dbs = root.find("database")
	}
	if len(dbs) == 0 {
		return nil, c.fail("<database>", db.ErrUnsupported, "missing: fisheye then runs on its embedded hsqldb, which only fisheye can open: migrate it to an external database, or give database.url, user and password_env (%s)", "the config.xml format is unverified")
	}
	if len(dbs) > 1 {
		return nil, c.fail("<database>", nil, "appears %d times (lines %d and %d): keep one", len(dbs), dbs[0].line, dbs[1].line)
	}
	dbe := dbs[0]
	typ, _ := dbe.attr("type")
	kind := dialectOf(typ)
	conn := dbe.child("connection")
	// value looks a setting up as an attribute or a child element of <connection>, then of
	// <database> itself.
	value := func(names ...string) (string, string, bool) {
		for _, e := range []*element{conn, dbe} {
			if e == nil {
				continue
			}
			path := "<database>"
			if e == conn {
				path = "<database>/<connection>"
			}
			for _, n := range names {
				if v, ok := e.attr(n); ok {
					return v, path + " " + n + "=", true
				}
			}
			for _, n := range names {
				for _, k := range e.kids {
					if strings.EqualFold(k.name, n) {
						return k.text.String(), path + "/<" + k.name + ">", true
					}
				}
			}
		}
		return "", "", false
	}
	url, urlField, _ := value("jdbcurl", "jdbcUrl", "jdbc-url", "url")
	user, userField, _ := value("username", "user", "userName")
	pw, pwField, hasPW := value("password")
	driver, _, _ := value("driver", "driverClass", "driver-class")
	c.secret(pw)
	if kind == "embedded" || strings.TrimSpace(typ) == "" && strings.TrimSpace(url) == "" {
		return nil, c.fail("<database> type=", db.ErrUnsupported, "%s is fisheye's embedded database, which only fisheye can open: migrate fisheye to an external database, or give database.url, user and password_env (the config.xml format is unverified)", quoteName(orDefault(strings.TrimSpace(typ), "hsql")))
	}
	if strings.TrimSpace(url) == "" {
		return nil, c.fail("<database>/<connection> jdbcurl=", nil, "missing or empty: give database.url, user and password_env (the config.xml format is unverified)")
	}
	if url, err = c.expandURL(urlField, url, noProperties, false); err != nil {
		return nil, err
	}
	if pwField == "" {
		pwField = "<database>/<connection> password="
	}
	if userField == "" {
		userField = "<database>/<connection> username="
	}
	cn := connection{urlField: urlField, url: url, userField: userField, user: user, pwField: pwField, encryptedPrefixes: true}
	if hasPW {
		cn.pw = pw
	}
	c.note(fisheyeUnverified)
	d, err := c.finish(cn)
	if d == nil {
		return nil, err
	}
	if kind == "" && strings.TrimSpace(typ) != "" {
		c.note("<database> type %s is not one reauth knows; it uses the url", quoteName(typ))
	}
	c.checkKind(d, "<database> type", typ, kind)
	c.checkKind(d, "driver", driver, driverDialect(driver))
	return d, err
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
