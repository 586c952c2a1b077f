package db

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Default ports, used when a URL names a host without one.
const (
	postgresPort  = 5432
	mysqlPort     = 3306
	sqlserverPort = 1433
	oraclePort    = 1521
)

// ParseURL reads a database address as the products write it: a JDBC URL from dbconfig.xml,
// confluence.cfg.xml, bamboo.cfg.xml or bitbucket.properties, or a native DSN (postgres://,
// mysql://, sqlserver://, oracle://) written by hand into reauth's config. Surrounding
// whitespace is ignored.
//
// A password written into the URL comes back in URLPassword, so that the caller can warn
// about it; it never appears in Source.String() or in an error. Every error is a *URLError;
// those that wrap ErrUnsupported name something reauth cannot connect to at all (Windows
// authentication, an embedded database, an unknown kind of database).
func ParseURL(raw string) (Source, error) {
	p := newURLParser(raw)
	src, err := p.parse()
	if err != nil {
		return Source{}, err
	}
	return src, nil
}

// span is a byte range of urlParser.s.
type span struct{ start, end int }

// urlParser holds what an error needs to be safe to print: the places in the URL that may
// hold a password, found before parsing starts so that an error raised half-way through
// hides them too.
type urlParser struct {
	raw     string   // as given: errors quote it, redacted
	s       string   // raw without surrounding whitespace: what is parsed
	lead    int      // bytes of whitespace before s in raw
	spans   []span   // parts of s that may hold a password: sorted, disjoint
	secrets []string // their texts, raw and decoded
}

func newURLParser(raw string) *urlParser {
	s := strings.TrimSpace(raw)
	p := &urlParser{raw: raw, s: s, lead: len(raw) - len(strings.TrimLeftFunc(raw, unicode.IsSpace))}
	spans := secretSpans(s)
	for _, sp := range spans {
		p.addSecret(s[sp.start:sp.end])
	}
	p.spans = mergeSpans(spans)
	return p
}

// addSecret records a text that must not be quoted in an error, with the forms it may take
// once decoded.
func (p *urlParser) addSecret(v string) {
	forms := []string{v, strings.TrimSpace(v)}
	if t := strings.TrimSpace(v); strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") && len(t) >= 2 {
		forms = append(forms, strings.ReplaceAll(t[1:len(t)-1], "}}", "}"))
	}
	for _, f := range slices.Clone(forms) {
		if d, err := url.PathUnescape(f); err == nil {
			forms = append(forms, d)
		}
		if d, err := url.QueryUnescape(f); err == nil {
			forms = append(forms, d)
		}
	}
	for _, f := range forms {
		if f != "" {
			p.secrets = append(p.secrets, f)
		}
	}
}

// secretSpans finds every part of s that may hold a password, erring on the side of hiding
// too much: the URL may be malformed, so this cannot rely on parsing it.
func secretSpans(s string) []span {
	lower := asciiLower(s)
	sqlserverish := strings.HasPrefix(lower, "jdbc:sqlserver:") || strings.HasPrefix(lower, "jdbc:jtds:")
	var spans []span

	// key=value options naming a password: password, sslpassword, password1 (MySQL
	// multi-factor), trustStorePassword, pwd...
	for _, key := range []string{"password", "pwd"} {
		for i := 0; ; {
			j := strings.Index(lower[i:], key)
			if j < 0 {
				break
			}
			k := i + j + len(key)
			i = k
			for k < len(s) && (s[k] >= '0' && s[k] <= '9' || strings.IndexByte(asciiSpace, s[k]) >= 0) {
				k++
			}
			if k < len(s) && s[k] == '=' {
				spans = append(spans, span{k + 1, optionValueEnd(s, k+1, sqlserverish)})
			}
		}
	}

	// user:password@ in the authority of a URL, or in a go-sql-driver DSN
	// (user:pass@tcp(host)/db). The last @ is the one that ends the password, as in net/url.
	start := -1
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + 3
	} else if !strings.HasPrefix(lower, "jdbc:") {
		start = 0
	}
	if start >= 0 {
		region := s[start:]
		if sqlserverish {
			region, _, _ = strings.Cut(region, ";")
		}
		if at := strings.LastIndexByte(region, '@'); at >= 0 {
			if c := strings.IndexByte(region[:at], ':'); c >= 0 {
				spans = append(spans, span{start + c + 1, start + at})
			}
		}
	}

	// Oracle's jdbc:oracle:thin:user/password@...
	if strings.HasPrefix(lower, "jdbc:oracle:") {
		base := len("jdbc:oracle:")
		if c := strings.IndexByte(s[base:], ':'); c >= 0 {
			base += c + 1
			region := s[base:]
			at := strings.LastIndexByte(region, '@')
			if at < 0 {
				at = len(region) // user/password with the address missing
			}
			if at > 0 && region[0] != '@' {
				if sl := strings.IndexByte(region[:at], '/'); sl >= 0 {
					spans = append(spans, span{base + sl + 1, base + at})
				}
			}
		}
	}
	return spans
}

// optionValueEnd returns where the value of an option that starts at i ends. SQL Server's
// options end at ';' and may be wrapped in braces; the others end at '&'.
func optionValueEnd(s string, i int, sqlserverish bool) int {
	if !sqlserverish {
		if k := strings.IndexByte(s[i:], '&'); k >= 0 {
			return i + k
		}
		return len(s)
	}
	j := i
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	if j < len(s) && s[j] == '{' {
		for j++; j < len(s); j++ {
			if s[j] == '}' {
				if j+1 < len(s) && s[j+1] == '}' {
					j++
					continue
				}
				break
			}
		}
	}
	if j > len(s) {
		j = len(s)
	}
	if k := strings.IndexByte(s[j:], ';'); k >= 0 {
		return j + k
	}
	return len(s)
}

// redacted is the URL as errors quote it: redactURL's result, after the parts that
// secretSpans found were hidden too (redactURL alone misses an Oracle user/password@ and the
// userinfo of a URL that net/url cannot parse).
func (p *urlParser) redacted() string {
	var b strings.Builder
	b.WriteString(p.raw[:p.lead])
	last := 0
	for _, sp := range p.spans {
		b.WriteString(p.s[last:sp.start])
		b.WriteString("xxxxx")
		last = sp.end
	}
	b.WriteString(p.s[last:])
	b.WriteString(p.raw[p.lead+len(p.s):])
	return redactURL(keepCaseWidth(b.String()))
}

// keepCaseWidth percent-encodes the bytes of invalid UTF-8 and of runes whose lower case has
// another width (U+212A KELVIN SIGN lowers to a one-byte k): redactParams indexes the string
// with offsets found in its strings.ToLower copy, and would otherwise cut it in the wrong
// place or panic.
func keepCaseWidth(s string) string {
	var b strings.Builder
	for i, r := range s {
		n := utf8.RuneLen(r)
		if r == utf8.RuneError || n != utf8.RuneLen(unicode.ToLower(r)) {
			_, size := utf8.DecodeRuneInString(s[i:])
			for _, c := range []byte(s[i : i+size]) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func mergeSpans(spans []span) []span {
	sorted := slices.Clone(spans)
	slices.SortFunc(sorted, func(a, b span) int { return a.start - b.start })
	var out []span
	for _, sp := range sorted {
		if sp.end <= sp.start {
			continue
		}
		if n := len(out); n > 0 && sp.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}

func (p *urlParser) errorf(format string, args ...any) error {
	return &URLError{URL: p.redacted(), Reason: fmt.Sprintf(format, args...)}
}

func (p *urlParser) unsupported(format string, args ...any) error {
	return &URLError{URL: p.redacted(), Reason: fmt.Sprintf(format, args...), Err: ErrUnsupported}
}

// q quotes a piece of the URL for a reason, unless it may hold (part of) a password.
func (p *urlParser) q(piece string) string {
	if p.mayHoldSecret(piece) {
		return "(hidden: it may hold the password)"
	}
	if utf8.RuneCountInString(piece) > 48 {
		piece = string([]rune(piece)[:48]) + "..."
	}
	return strconv.Quote(piece)
}

// mayHoldSecret reports whether piece overlaps a place that may hold a password. It ignores
// ASCII case, because reasons often quote a lower-cased piece.
func (p *urlParser) mayHoldSecret(piece string) bool {
	if piece == "" {
		return false
	}
	piece = asciiLower(piece)
	for _, sec := range p.secrets {
		if strings.Contains(piece, asciiLower(sec)) {
			return true
		}
	}
	s := asciiLower(p.s) // same byte offsets as p.s, so spans still apply
	found := false
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], piece)
		if j < 0 {
			break
		}
		found = true
		start, end := i+j, i+j+len(piece)
		// Spans are sorted and disjoint: only the first one ending after start can overlap.
		k, _ := slices.BinarySearchFunc(p.spans, start, func(sp span, at int) int { return sp.end - 1 - at })
		if k < len(p.spans) && p.spans[k].start < end {
			return true
		}
		i = start + 1
	}
	if !found {
		// A decoded or rebuilt piece: it cannot be placed, so any overlap with a secret
		// hides it.
		for _, sec := range p.secrets {
			if strings.Contains(asciiLower(sec), piece) {
				return true
			}
		}
	}
	return false
}

// asciiLower lower-cases ASCII letters only, keeping every byte offset.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (p *urlParser) parse() (Source, error) {
	s := p.s
	if s == "" {
		return Source{}, p.errorf("empty")
	}
	for i := 0; ; {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			break
		}
		i += j + 2
		// A password may well hold "${"; only a placeholder elsewhere is a mistake.
		if !slices.ContainsFunc(p.spans, func(sp span) bool { return sp.start < i && i-2 < sp.end }) {
			return Source{}, p.errorf("it holds an unexpanded ${...} placeholder: put in the value it stands for")
		}
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return Source{}, p.errorf("it holds a control character (%U)", r)
		}
	}
	lower := asciiLower(s)
	cut := func(prefix string) (string, bool) {
		if strings.HasPrefix(lower, prefix) {
			return s[len(prefix):], true
		}
		return "", false
	}
	if rest, ok := cut("jdbc:postgresql:"); ok {
		return p.postgresJDBC(rest)
	}
	if rest, ok := cut("jdbc:mysql:"); ok {
		return p.mysqlJDBC(rest, "mysql")
	}
	if rest, ok := cut("jdbc:mariadb:"); ok {
		return p.mysqlJDBC(rest, "mariadb")
	}
	if rest, ok := cut("jdbc:sqlserver:"); ok {
		return p.sqlserverJDBC(rest)
	}
	if rest, ok := cut("jdbc:jtds:sqlserver:"); ok {
		return p.jtds(rest)
	}
	if rest, ok := cut("jdbc:oracle:"); ok {
		return p.oracleJDBC(rest)
	}
	for _, scheme := range []string{"postgres://", "postgresql://"} {
		if rest, ok := cut(scheme); ok {
			return p.postgresNative(rest)
		}
	}
	for _, scheme := range []string{"mysql://", "mariadb://"} {
		if rest, ok := cut(scheme); ok {
			return p.mysqlNative(rest)
		}
	}
	if rest, ok := cut("sqlserver://"); ok {
		return p.sqlserverNative(rest)
	}
	if rest, ok := cut("oracle://"); ok {
		return p.oracleNative(rest)
	}
	if rest, ok := cut("jdbc:"); ok {
		sub, _, _ := strings.Cut(rest, ":")
		switch strings.ToLower(sub) {
		case "h2", "hsqldb", "derby", "sqlite":
			return Source{}, p.unsupported("%s is an embedded database that only the product itself can open: reauth needs a database server (PostgreSQL, MySQL, SQL Server or Oracle)", strings.ToLower(sub))
		case "mysql+srv", "mysqlx", "mysqlx+srv":
			return Source{}, p.unsupported("jdbc:%s urls are not supported: use jdbc:mysql://host:3306/db", strings.ToLower(sub))
		case "jtds":
			return Source{}, p.unsupported("jTDS is supported for SQL Server only (jdbc:jtds:sqlserver://...)")
		}
		return Source{}, p.unsupported("unknown jdbc driver %s: reauth works with PostgreSQL, MySQL/MariaDB, SQL Server and Oracle", p.q(sub))
	}
	if i := strings.Index(s, "://"); i > 0 && isSchemeName(s[:i]) {
		return Source{}, p.unsupported("unknown kind of database %s: use a jdbc url, or a postgres://, mysql://, sqlserver:// or oracle:// dsn", p.q(s[:i]))
	}
	return Source{}, p.errorf("not a database url: use the jdbc url from the product's config, or a postgres://, mysql://, sqlserver:// or oracle:// dsn")
}

func isSchemeName(s string) bool {
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' ||
			i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')
		if !ok {
			return false
		}
	}
	return s != ""
}

// ---- shared pieces ----

// hostPort reads one "host", "host:port", "[ipv6]" or "[ipv6]:port".
func (p *urlParser) hostPort(entry string, defPort int) (Host, error) {
	name, portText, hasPort := entry, "", false
	if strings.HasPrefix(entry, "[") {
		end := strings.IndexByte(entry, ']')
		if end < 0 {
			return Host{}, p.errorf("ipv6 address %s has no closing ]", p.q(entry))
		}
		name = entry[1:end]
		if rest := entry[end+1:]; rest != "" {
			if rest[0] != ':' {
				return Host{}, p.errorf("unexpected %s after the ipv6 address %s", p.q(rest), p.q(entry[:end+1]))
			}
			portText, hasPort = rest[1:], true
		}
		addr, _, _ := strings.Cut(name, "%") // a zone (fe80::1%eth0) is not part of the address
		if ip := net.ParseIP(addr); ip == nil || !strings.Contains(addr, ":") {
			return Host{}, p.errorf("%s is not an ipv6 address", p.q(entry[:end+1]))
		}
	} else {
		if i := strings.LastIndexByte(entry, ':'); i >= 0 {
			if strings.Count(entry, ":") > 1 {
				return Host{}, p.errorf("%s looks like an ipv6 address: put it in brackets, as in [::1]:5432", p.q(entry))
			}
			name, portText, hasPort = entry[:i], entry[i+1:], true
		}
		if err := p.checkHostName(name); err != nil {
			return Host{}, err
		}
	}
	port := defPort
	if hasPort {
		var err error
		if port, err = p.port(portText); err != nil {
			return Host{}, err
		}
	}
	return Host{Name: name, Port: port}, nil
}

func (p *urlParser) checkHostName(name string) error {
	if name == "" {
		return p.errorf("a host name is empty")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return p.errorf("host name %s holds %s, which a host name cannot hold", p.q(name), p.q(string(r)))
		}
	}
	if len(name) > 253 {
		return p.errorf("host name %s is longer than 253 characters", p.q(name))
	}
	return nil
}

// hostList reads a comma-separated list of hosts, as PostgreSQL and MySQL write them.
func (p *urlParser) hostList(list string, defPort int) ([]Host, error) {
	if strings.TrimSpace(list) == "" {
		return nil, p.errorf("no host: name one, as in //dbhost:%d/", defPort)
	}
	var hosts []Host
	for _, entry := range strings.Split(list, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			return nil, p.errorf("the host list %s has an empty entry", p.q(list))
		}
		h, err := p.hostPort(entry, defPort)
		if err != nil {
			return nil, err
		}
		hosts = append(hosts, h)
	}
	return hosts, nil
}

func (p *urlParser) port(text string) (int, error) {
	if text == "" {
		return 0, p.errorf("the port after the colon is empty")
	}
	for _, r := range text {
		if r < '0' || r > '9' {
			if p.mayHoldSecret(text) {
				return 0, p.errorf("the port cannot be read, perhaps because the password holds a / ? # : or @: percent-encode those (/ as %%2F, @ as %%40)")
			}
			return 0, p.errorf("port %s is not a number", p.q(text))
		}
	}
	n, err := strconv.Atoi(text)
	if err != nil || n < 1 || n > 65535 {
		return 0, p.errorf("port %s is out of range: use 1 to 65535", p.q(text))
	}
	return n, nil
}

// options reads key=value options separated by sep. Keys are matched case-insensitively and
// never decoded, so that an option naming a password is always recognisable for redaction.
func (p *urlParser) options(q string, sep string, unescape func(string) (string, error)) (map[string]string, error) {
	opts := map[string]string{}
	for _, item := range strings.Split(q, sep) {
		// An &amp; copied out of an XML config file without unescaping leaves "amp;" behind.
		item = strings.TrimPrefix(item, "amp;")
		if strings.TrimSpace(item) == "" {
			continue
		}
		k, v, _ := strings.Cut(item, "=")
		k = optionKey(k)
		if unescape != nil {
			d, err := unescape(v)
			if err != nil {
				return nil, p.errorf("the value of option %s has a malformed %%-escape", p.q(k))
			}
			v = d
		}
		opts[k] = v
	}
	return opts, nil
}

// unescape decodes a percent-encoded name, for the error naming it by what it is.
func (p *urlParser) unescape(v, what string, unescape func(string) (string, error)) (string, error) {
	d, err := unescape(v)
	if err != nil {
		return "", p.errorf("the %s %s has a malformed %%-escape", what, p.q(v))
	}
	if strings.IndexFunc(d, unicode.IsControl) >= 0 {
		return "", p.errorf("the %s holds a control character", what)
	}
	return d, nil
}

func setParam(src *Source, k, v string) {
	if src.Params == nil {
		src.Params = map[string]string{}
	}
	src.Params[k] = v
}

// nativeURL is a scheme://user:password@hosts/path?query DSN taken apart, as net/url would
// but without its checks on the host, which would reject host lists and percent-encoded
// socket directories.
type nativeURL struct {
	user, password string
	hosts          string // raw, possibly a comma-separated list
	path           string // raw, without the leading slash
	query          string
}

func (p *urlParser) splitNative(rest string, unescape func(string) (string, error)) (nativeURL, error) {
	var n nativeURL
	authority := rest
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority = rest[:i]
		rest = rest[i:]
		if strings.HasPrefix(rest, "/") {
			n.path, n.query, _ = strings.Cut(rest[1:], "?")
		} else {
			n.query = rest[1:]
		}
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		user, password, _ := strings.Cut(authority[:at], ":")
		authority = authority[at+1:]
		var err error
		if n.user, err = p.unescape(user, "user name", unescape); err != nil {
			return n, err
		}
		if n.password, err = unescape(password); err != nil {
			return n, p.errorf("the password has a malformed %%-escape")
		}
		p.addSecret(n.password)
	}
	n.hosts = authority
	return n, nil
}

// splitHostPortText splits "host:port" or "[ipv6]:port" without judging either part.
func splitHostPortText(e string) (name, port string, hasPort bool) {
	if strings.HasPrefix(e, "[") {
		end := strings.IndexByte(e, ']')
		if end >= 0 && strings.HasPrefix(e[end+1:], ":") {
			return e[:end+1], e[end+2:], true
		}
		return e, "", false
	}
	if strings.Count(e, ":") == 1 {
		name, port, _ = strings.Cut(e, ":")
		return name, port, true
	}
	return e, "", false
}

// asciiSpace is what option keys are trimmed of. Other white space stays part of the key, so
// that secretSpans, which skips only these, recognises every key the parsers do.
const asciiSpace = " \t\n\r\v\f"

func optionKey(k string) string { return asciiLower(strings.Trim(k, asciiSpace)) }

func hasControl(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }

func isTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "1", "on":
		return true
	}
	return false
}

func isFalse(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "false", "no", "0", "off":
		return true
	}
	return false
}

// firstSchema takes the first schema of a search path ("jira, public" -> "jira").
func firstSchema(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.Trim(strings.TrimSpace(first), `"`)
}

// ---- PostgreSQL ----

func (p *urlParser) postgresJDBC(rest string) (Source, error) {
	src := Source{Dialect: "postgres"}
	addr, query, _ := strings.Cut(rest, "?")
	var db string
	if after, ok := strings.CutPrefix(addr, "//"); ok {
		hosts, path, ok := strings.Cut(after, "/")
		if strings.Contains(hosts, "@") {
			return Source{}, p.errorf("jdbc:postgresql urls cannot carry user:password@: use ?user=name and give the password through password_env")
		}
		if !ok {
			return Source{}, p.errorf("no database: end the address with /dbname, as in jdbc:postgresql://host:5432/dbname")
		}
		var err error
		if src.Hosts, err = p.hostList(hosts, postgresPort); err != nil {
			return Source{}, err
		}
		db = path
	} else {
		// pgjdbc's short forms, jdbc:postgresql:dbname and jdbc:postgresql:/, mean localhost.
		src.Hosts = []Host{{Name: "localhost", Port: postgresPort}}
		db = strings.TrimPrefix(addr, "/")
		if strings.ContainsAny(db, "/:@") {
			return Source{}, p.errorf("%s looks like an address, not a database name: write jdbc:postgresql://host:5432/dbname", p.q(db))
		}
	}
	var err error
	if src.Database, err = p.unescape(db, "database name", url.QueryUnescape); err != nil {
		return Source{}, err
	}
	if src.Database == "" {
		return Source{}, p.errorf("no database name: add it after the last /, as in jdbc:postgresql://host:5432/dbname")
	}
	opts, err := p.options(query, "&", url.QueryUnescape)
	if err != nil {
		return Source{}, err
	}
	if err := p.postgresOptions(&src, opts, "currentschema"); err != nil {
		return Source{}, err
	}
	if _, ok := opts["sslmode"]; !ok {
		// pgjdbc ≥ 42.2.5: a bare "ssl" or "ssl=true" without sslmode means verify-full,
		// certificate and host name checked ("ssl=true implies sslmode=verify-full", 42.2.5
		// changelog; pgjdbc docs, "Configuring the client": "the same as verify-full").
		// Without either, pgjdbc's default is prefer, as libpq's. The one exception is the
		// NonValidatingFactory, which accepts any certificate: that is require.
		if v, ok := opts["ssl"]; ok && (v == "" || isTrue(v)) {
			setParam(&src, "ssl", "true")
			setParam(&src, "sslmode", "verify-full")
			if f := opts["sslfactory"]; strings.HasSuffix(strings.TrimSpace(f), ".NonValidatingFactory") {
				setParam(&src, "sslfactory", "NonValidatingFactory")
				setParam(&src, "sslmode", "require")
			}
		}
	}
	return src, nil
}

// postgresOptions applies the options that JDBC URLs and native DSNs share.
func (p *urlParser) postgresOptions(src *Source, opts map[string]string, schemaKey string) error {
	if v, ok := opts[schemaKey]; ok {
		src.Schema = firstSchema(v)
	}
	if v, ok := opts["user"]; ok {
		src.User = v
	}
	if v, ok := opts["password"]; ok {
		p.addSecret(v)
		src.URLPassword = v
	}
	if hasControl(src.User) || hasControl(src.Schema) {
		return p.errorf("the user or schema name holds a control character")
	}
	if v, ok := opts["sslmode"]; ok {
		mode := strings.ToLower(strings.TrimSpace(v))
		switch mode {
		case "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
			setParam(src, "sslmode", mode)
		default:
			return p.errorf("sslmode %s is not one of disable, allow, prefer, require, verify-ca, verify-full", p.q(v))
		}
	}
	// Certificate files, as both pgjdbc and libpq name them. They are read on this machine
	// when connecting: a path from the product's node must exist here too, or the connect fails.
	for _, k := range []string{"sslrootcert", "sslcert", "sslkey"} {
		if v, ok := opts[k]; ok && strings.TrimSpace(v) != "" {
			if hasControl(v) {
				return p.errorf("%s holds a control character", k)
			}
			setParam(src, k, strings.TrimSpace(v))
		}
	}
	return nil
}

func (p *urlParser) postgresNative(rest string) (Source, error) {
	src := Source{Dialect: "postgres"}
	// libpq decodes %XX only: a '+' stays a '+'.
	n, err := p.splitNative(rest, url.PathUnescape)
	if err != nil {
		return Source{}, err
	}
	src.User, src.URLPassword = n.user, n.password
	opts, err := p.options(n.query, "&", url.PathUnescape)
	if err != nil {
		return Source{}, err
	}

	// Collect hosts and ports first: ?host= and ?port= override the authority, as in libpq.
	type entry struct {
		name, port string // name may be [ipv6] or, percent-decoded, a socket directory
		hasPort    bool
	}
	var entries []entry
	if n.hosts != "" {
		for _, e := range strings.Split(n.hosts, ",") {
			name, port, hasPort := splitHostPortText(e)
			d, err := p.unescape(name, "host", url.PathUnescape)
			if err != nil {
				return Source{}, err
			}
			entries = append(entries, entry{d, port, hasPort})
		}
	}
	if v, ok := opts["host"]; ok && v != "" {
		entries = nil
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if strings.Contains(name, ":") && !strings.HasPrefix(name, "[") && !strings.HasPrefix(name, "/") {
				name = "[" + name + "]" // ?host=::1
			}
			entries = append(entries, entry{name: name})
		}
	}
	if v, ok := opts["port"]; ok && v != "" {
		ports := strings.Split(v, ",")
		switch {
		case len(entries) == 0:
			return Source{}, p.errorf("a port but no host: name one (postgres://host:5432/db) or a socket directory (?host=/var/run/postgresql)")
		case len(ports) != 1 && len(ports) != len(entries):
			return Source{}, p.errorf("%d ports for %d hosts: give one port, or one per host", len(ports), len(entries))
		}
		for i := range entries {
			entries[i].port, entries[i].hasPort = strings.TrimSpace(ports[min(i, len(ports)-1)]), true
		}
	}
	for _, e := range entries {
		if strings.HasPrefix(e.name, "/") {
			if len(entries) > 1 {
				return Source{}, p.errorf("a unix socket directory cannot be mixed with other hosts")
			}
			if e.hasPort {
				port, err := p.port(e.port)
				if err != nil {
					return Source{}, err
				}
				// The port picks the socket file (.s.PGSQL.<port>), and Source has no room
				// for it: refuse rather than reach another cluster on the same machine.
				if port != postgresPort {
					return Source{}, p.errorf("port %d with a unix socket is not supported: use host=localhost&port=%d", port, port)
				}
			}
			if hasControl(e.name) {
				return Source{}, p.errorf("the socket directory holds a control character")
			}
			src.Socket = e.name
			continue
		}
		hp := e.name
		if e.hasPort {
			hp += ":" + e.port
		}
		h, err := p.hostPort(hp, postgresPort)
		if err != nil {
			return Source{}, err
		}
		src.Hosts = append(src.Hosts, h)
	}
	if len(src.Hosts) == 0 && src.Socket == "" {
		return Source{}, p.errorf("no host: name one (postgres://host:5432/db) or a socket directory (?host=/var/run/postgresql)")
	}

	if src.Database, err = p.unescape(n.path, "database name", url.PathUnescape); err != nil {
		return Source{}, err
	}
	if v, ok := opts["dbname"]; ok {
		src.Database = v
	}
	if src.Database == "" || hasControl(src.Database) {
		return Source{}, p.errorf("no database name: add it after the host, as in postgres://host:5432/dbname")
	}
	if err := p.postgresOptions(&src, opts, "search_path"); err != nil {
		return Source{}, err
	}
	return src, nil
}

// ---- MySQL and MariaDB ----

func (p *urlParser) mysqlJDBC(rest, driver string) (Source, error) {
	src := Source{Dialect: "mysql"}
	i := strings.Index(rest, "//")
	if i < 0 {
		return Source{}, p.errorf("no // before the host: write jdbc:%s://host:3306/db", driver)
	}
	// Connector/J and MariaDB Connector/J name a multi-host mode before the //; reauth only
	// needs the hosts.
	switch strings.ToLower(rest[:i]) {
	case "", "loadbalance:", "replication:", "failover:", "sequential:", "aurora:", "load-balance:":
	default:
		return Source{}, p.errorf("unknown connection mode %s: write jdbc:%s://host:3306/db (or loadbalance: or replication: before the //)", p.q(rest[:i]), driver)
	}
	rest = rest[i+2:]
	rest, _, _ = strings.Cut(rest, "#") // Connector/J ignores a fragment
	authority, path, query := rest, "", ""
	if j := strings.IndexAny(rest, "/?"); j >= 0 {
		authority = rest[:j]
		if rest[j] == '/' {
			path, query, _ = strings.Cut(rest[j+1:], "?")
		} else {
			query = rest[j+1:]
		}
	}
	// Connector/J decodes the user, password, database and option values like a form.
	unescape := url.QueryUnescape
	if at := lastAtTopLevel(authority); at >= 0 {
		user, password, _ := strings.Cut(authority[:at], ":")
		authority = authority[at+1:]
		var err error
		if src.User, err = p.unescape(user, "user name", unescape); err != nil {
			return Source{}, err
		}
		if src.URLPassword, err = unescape(password); err != nil {
			return Source{}, p.errorf("the password has a malformed %%-escape")
		}
		p.addSecret(src.URLPassword)
	}
	if err := p.mysqlHosts(&src, authority); err != nil {
		return Source{}, err
	}
	var err error
	if src.Database, err = p.unescape(path, "database name", unescape); err != nil {
		return Source{}, err
	}
	opts, err := p.options(query, "&", unescape)
	if err != nil {
		return Source{}, err
	}
	if err := p.mysqlOptions(&src, opts); err != nil {
		return Source{}, err
	}
	// MariaDB's localSocket and junixsocket's file put Connector/J on a unix socket.
	for _, k := range []string{"localsocket", "junixsocket.file"} {
		if v := opts[k]; v != "" {
			if err := p.mysqlSocket(&src, v); err != nil {
				return Source{}, err
			}
		}
	}
	if src.Database == "" {
		return Source{}, p.errorf("no database name: add it after the host, as in jdbc:%s://host:3306/dbname", driver)
	}
	return src, nil
}

// lastAtTopLevel finds the @ that ends Connector/J's user:password@, skipping any inside
// address=(...) groups, whose values may be e-mail addresses.
func lastAtTopLevel(s string) int {
	depth, at := 0, -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case '@':
			if depth == 0 {
				at = i
			}
		}
	}
	return at
}

// mysqlHosts reads Connector/J's host list: host:port entries, address=(key=value)... groups
// and (key=value,...) groups, separated by commas, optionally wrapped in [ ].
func (p *urlParser) mysqlHosts(src *Source, list string) error {
	list = strings.TrimSpace(list)
	if list == "" {
		// Connector/J's default when no host is named.
		src.Hosts = []Host{{Name: "localhost", Port: mysqlPort}}
		return nil
	}
	if strings.HasPrefix(list, "[") && strings.HasSuffix(list, "]") && strings.Contains(list, ",") {
		list = list[1 : len(list)-1]
	}
	entries, err := p.splitTopLevel(list)
	if err != nil {
		return err
	}
	for _, e := range entries {
		e = strings.TrimSpace(e)
		lower := asciiLower(e)
		var h Host
		switch {
		case e == "":
			return p.errorf("the host list %s has an empty entry", p.q(list))
		case strings.HasPrefix(lower, "address="):
			groups, err := p.parenGroups(e[len("address="):])
			if err != nil {
				return err
			}
			kv := map[string]string{}
			for _, g := range groups {
				k, v, ok := strings.Cut(g, "=")
				if !ok {
					return p.errorf("%s in address=(...) is not key=value", p.q("("+g+")"))
				}
				kv[optionKey(k)] = strings.TrimSpace(v)
			}
			if h, err = p.mysqlAddress(src, kv); err != nil {
				return err
			}
		case strings.HasPrefix(e, "("):
			groups, err := p.parenGroups(e)
			if err != nil {
				return err
			}
			if len(groups) != 1 {
				return p.errorf("%s should be one (host=...,port=...) group", p.q(e))
			}
			kv := map[string]string{}
			for _, item := range strings.Split(groups[0], ",") {
				k, v, ok := strings.Cut(item, "=")
				if !ok {
					return p.errorf("%s in (...) is not key=value", p.q(item))
				}
				kv[optionKey(k)] = strings.TrimSpace(v)
			}
			if h, err = p.mysqlAddress(src, kv); err != nil {
				return err
			}
		default:
			if h, err = p.hostPort(e, mysqlPort); err != nil {
				return err
			}
		}
		src.Hosts = append(src.Hosts, h)
	}
	return nil
}

func (p *urlParser) mysqlAddress(src *Source, kv map[string]string) (Host, error) {
	if proto, ok := kv["protocol"]; ok && !strings.EqualFold(proto, "tcp") {
		return Host{}, p.unsupported("protocol %s is not supported: reauth connects over tcp", p.q(proto))
	}
	name, ok := kv["host"]
	if !ok {
		return Host{}, p.errorf("an address names no host: add (host=name)")
	}
	hp := name
	if strings.Contains(name, ":") && !strings.HasPrefix(name, "[") {
		hp = "[" + name + "]"
	}
	h, err := p.hostPort(hp, mysqlPort)
	if err != nil {
		return Host{}, err
	}
	if port, ok := kv["port"]; ok {
		if h.Port, err = p.port(port); err != nil {
			return Host{}, err
		}
	}
	// Connector/J allows credentials per host; reauth uses one set for all.
	if v, ok := kv["user"]; ok && src.User == "" {
		src.User = v
	}
	if v, ok := kv["password"]; ok && src.URLPassword == "" {
		p.addSecret(v)
		src.URLPassword = v
	}
	return h, nil
}

// splitTopLevel splits at commas outside parentheses and brackets.
func (p *urlParser) splitTopLevel(s string) ([]string, error) {
	var parts []string
	depth, last := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '[':
			depth++
		case ')', ']':
			depth--
			if depth < 0 {
				return nil, p.errorf("unbalanced parentheses in the host list")
			}
		case ',':
			if depth == 0 {
				parts = append(parts, s[last:i])
				last = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, p.errorf("unbalanced parentheses in the host list")
	}
	return append(parts, s[last:]), nil
}

// parenGroups reads "(a)(b)..." into its inner texts.
func (p *urlParser) parenGroups(s string) ([]string, error) {
	var groups []string
	s = strings.TrimSpace(s)
	for s != "" {
		if s[0] != '(' {
			return nil, p.errorf("expected ( at %s", p.q(s))
		}
		end := strings.IndexByte(s, ')')
		if end < 0 || strings.Contains(s[1:end], "(") {
			return nil, p.errorf("unbalanced parentheses at %s", p.q(s))
		}
		groups = append(groups, s[1:end])
		s = strings.TrimSpace(s[end+1:])
	}
	if len(groups) == 0 {
		return nil, p.errorf("an address has no (key=value) groups")
	}
	return groups, nil
}

// mysqlOptions applies the credentials and TLS options that JDBC URLs and native DSNs share.
func (p *urlParser) mysqlOptions(src *Source, opts map[string]string) error {
	if v, ok := opts["user"]; ok {
		src.User = v
	}
	if v, ok := opts["password"]; ok {
		p.addSecret(v)
		src.URLPassword = v
	}
	if hasControl(src.User) {
		return p.errorf("the user name holds a control character")
	}
	tls, from, err := p.mysqlTLS(opts)
	if err != nil {
		return err
	}
	if tls != "" {
		setParam(src, "tls", tls)
		setParam(src, "tls-from", from)
	}
	// MariaDB Connector/J's serverSslCert: the server's certificate or its CA, as a file
	// path, used when the certificate is verified. A classpath: resource cannot be read here.
	if v := strings.TrimSpace(opts["serversslcert"]); v != "" && tls == "true" {
		if hasControl(v) {
			return p.errorf("serverSslCert must be a file path here, without control characters")
		}
		if strings.HasPrefix(v, "classpath:") {
			return p.unsupported("serverSslCert %s is inside the product's classpath, which reauth cannot read: give the file's path", p.q(v))
		}
		setParam(src, "tls-ca", strings.TrimPrefix(v, "file:"))
	}
	return nil
}

// mysqlTLS maps Connector/J's and MariaDB's TLS options onto go-sql-driver's tls value, and
// says which option decided it. Verification is on unless the URL turns it off: stricter
// than Connector/J's REQUIRED and VERIFY_CA, which do not check the host name. No option
// at all gives "", which Open takes as preferred: Connector/J's default (sslMode=PREFERRED),
// and never weaker than MariaDB Connector/J's default, which is no TLS.
func (p *urlParser) mysqlTLS(opts map[string]string) (tls, from string, err error) {
	verify := true
	noVerify := ""
	if v, ok := opts["verifyservercertificate"]; ok && isFalse(v) {
		verify, noVerify = false, "verifyServerCertificate="+strings.TrimSpace(v)
	}
	if v, ok := opts["trustservercertificate"]; ok && isTrue(v) { // MariaDB
		verify, noVerify = false, "trustServerCertificate="+strings.TrimSpace(v)
	}
	required := func(opt string) (string, string, error) {
		if !verify {
			return "skip-verify", opt + ", " + noVerify, nil
		}
		return "true", opt, nil
	}
	if v, ok := opts["tls"]; ok { // go-sql-driver's own option, in native DSNs
		switch t := strings.ToLower(strings.TrimSpace(v)); t {
		case "true", "false", "skip-verify", "preferred":
			return t, "tls=" + t, nil
		default:
			return "", "", p.errorf("tls %s is not one of true, false, skip-verify, preferred", p.q(v))
		}
	}
	if v, ok := opts["sslmode"]; ok {
		opt := "sslMode=" + strings.TrimSpace(v)
		switch strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(v), "-", "_")) {
		case "DISABLED", "DISABLE":
			return "false", opt, nil
		case "PREFERRED":
			return "preferred", opt, nil
		case "REQUIRED":
			return required(opt)
		case "TRUST": // MariaDB: encrypt, trust any certificate
			return "skip-verify", opt, nil
		case "VERIFY_CA", "VERIFY_IDENTITY", "VERIFY_FULL":
			return "true", opt, nil
		default:
			return "", "", p.errorf("sslMode %s is not one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY", p.q(v))
		}
	}
	for _, k := range []string{"useSSL", "requireSSL"} {
		v, ok := opts[strings.ToLower(k)]
		switch {
		case !ok:
		case isTrue(v):
			return required(k + "=" + strings.TrimSpace(v))
		case isFalse(v):
			if k == "useSSL" {
				return "false", k + "=" + strings.TrimSpace(v), nil
			}
		default:
			return "", "", p.errorf("%s %s is not true or false", k, p.q(v))
		}
	}
	return "", "", nil
}

func (p *urlParser) mysqlSocket(src *Source, path string) error {
	if !strings.HasPrefix(path, "/") {
		return p.errorf("socket %s is not an absolute path", p.q(path))
	}
	if hasControl(path) {
		return p.errorf("the socket path holds a control character")
	}
	// The socket is what the driver connects to; any host named beside it is not used.
	src.Socket, src.Hosts = path, nil
	return nil
}

func (p *urlParser) mysqlNative(rest string) (Source, error) {
	src := Source{Dialect: "mysql"}
	n, err := p.splitNative(rest, url.PathUnescape)
	if err != nil {
		return Source{}, err
	}
	src.User, src.URLPassword = n.user, n.password
	opts, err := p.options(n.query, "&", url.QueryUnescape)
	if err != nil {
		return Source{}, err
	}
	if n.hosts != "" {
		if src.Hosts, err = p.hostList(n.hosts, mysqlPort); err != nil {
			return Source{}, err
		}
	}
	if v := opts["socket"]; v != "" {
		if err := p.mysqlSocket(&src, v); err != nil {
			return Source{}, err
		}
	}
	if len(src.Hosts) == 0 && src.Socket == "" {
		return Source{}, p.errorf("no host: name one (mysql://host:3306/db) or a socket (?socket=/run/mysqld/mysqld.sock)")
	}
	if src.Database, err = p.unescape(n.path, "database name", url.PathUnescape); err != nil {
		return Source{}, err
	}
	if src.Database == "" {
		return Source{}, p.errorf("no database name: add it after the host, as in mysql://host:3306/dbname")
	}
	if err := p.mysqlOptions(&src, opts); err != nil {
		return Source{}, err
	}
	return src, nil
}

// ---- SQL Server ----

func (p *urlParser) sqlserverJDBC(rest string) (Source, error) {
	after, ok := strings.CutPrefix(rest, "//")
	if !ok {
		return Source{}, p.errorf("no // after jdbc:sqlserver: write jdbc:sqlserver://host:1433;databaseName=db")
	}
	server, props, err := p.semicolonProps(after)
	if err != nil {
		return Source{}, err
	}
	if strings.Contains(server, "@") {
		return Source{}, p.errorf("jdbc:sqlserver urls cannot carry user:password@: use ;user=name and give the password through password_env")
	}
	src := Source{Dialect: "sqlserver"}
	var name, instance, port string
	if server = strings.TrimSpace(server); server != "" {
		if name, instance, port, err = p.sqlserverServer(server); err != nil {
			return Source{}, err
		}
	}
	// Properties win over the address before the first ';', as in the Microsoft driver.
	if v, ok := props["servername"]; ok {
		var inst, prt string
		if name, inst, prt, err = p.sqlserverServer(strings.TrimSpace(v)); err != nil {
			return Source{}, err
		}
		if inst != "" {
			instance = inst
		}
		if prt != "" {
			port = prt
		}
	}
	if v, ok := props["instancename"]; ok {
		instance = strings.TrimSpace(v)
	}
	for _, k := range []string{"portnumber", "port"} {
		if v, ok := props[k]; ok {
			port = strings.TrimSpace(v)
		}
	}
	for _, k := range []string{"databasename", "database"} {
		if v, ok := props[k]; ok {
			src.Database = v
		}
	}
	for _, k := range []string{"user", "username"} {
		if v, ok := props[k]; ok {
			src.User = v
		}
	}
	if v, ok := props["password"]; ok {
		p.addSecret(v)
		src.URLPassword = v
	}
	if v := props["integratedsecurity"]; isTrue(v) {
		return Source{}, p.unsupported("integratedSecurity=true is Windows authentication, which reauth does not support: use SQL Server authentication with database.user and password_env")
	}
	if v := strings.ToLower(strings.TrimSpace(props["authenticationscheme"])); v == "javakerberos" || v == "ntlm" {
		return Source{}, p.unsupported("authenticationScheme=%s is Windows authentication, which reauth does not support: use SQL Server authentication with database.user and password_env", props["authenticationscheme"])
	}
	if v := strings.ToLower(strings.TrimSpace(props["authentication"])); strings.HasPrefix(v, "activedirectory") {
		return Source{}, p.unsupported("authentication %s is Entra ID (Azure AD) authentication, which reauth does not support: use SQL Server authentication with database.user and password_env", p.q(props["authentication"]))
	}
	// trustStore is a Java keystore, which go-mssqldb cannot read; a PEM or DER certificate
	// file given there (or as serverCertificate, mssql-jdbc 11.2) is used as the CA.
	for _, k := range []string{"truststore", "servercertificate"} {
		v := strings.TrimSpace(props[k])
		switch strings.ToLower(filepathExt(v)) {
		case ".pem", ".crt", ".cer", ".der":
			if hasControl(v) {
				return Source{}, p.errorf("%s holds a control character", k)
			}
			setParam(&src, "certificate", v)
		}
	}
	for k, param := range map[string]string{
		"encrypt":                "encrypt",
		"trustservercertificate": "TrustServerCertificate",
		"hostnameincertificate":  "hostNameInCertificate",
	} {
		if v, ok := props[k]; ok {
			v = strings.TrimSpace(v)
			if param != "hostNameInCertificate" {
				v = strings.ToLower(v)
			}
			setParam(&src, param, v)
		}
	}
	if name == "" {
		return Source{}, p.errorf("no server name: write jdbc:sqlserver://host:1433;databaseName=db")
	}
	return p.sqlserverFinish(src, name, instance, port)
}

// sqlserverFinish checks and sets the address. A port given with an instance wins and the
// instance is dropped, as the Microsoft driver does: the instance name only serves to look
// the port up through the SQL Server Browser service.
func (p *urlParser) sqlserverFinish(src Source, name, instance, port string) (Source, error) {
	hp := name
	if strings.Contains(name, ":") {
		hp = "[" + name + "]"
	}
	h, err := p.hostPort(hp, sqlserverPort)
	if err != nil {
		return Source{}, err
	}
	if port != "" {
		if h.Port, err = p.port(port); err != nil {
			return Source{}, err
		}
		instance = ""
	}
	if err := p.checkInstance(instance); err != nil {
		return Source{}, err
	}
	if hasControl(src.Database) || hasControl(src.User) {
		return Source{}, p.errorf("the database or user name holds a control character")
	}
	src.Hosts, src.Instance = []Host{h}, instance
	return src, nil
}

func (p *urlParser) checkInstance(name string) error {
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_$#-.", r)) {
			return p.errorf("instance name %s holds %s, which an instance name cannot hold", p.q(name), p.q(string(r)))
		}
	}
	return nil
}

// sqlserverServer reads "host", "host:port", "host\instance", "host\instance:port" or
// "[ipv6]:port"; the host comes back without brackets.
func (p *urlParser) sqlserverServer(s string) (name, instance, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", "", p.errorf("ipv6 address %s has no closing ]", p.q(s))
		}
		name, s = s[1:end], s[end+1:]
		if name == "" {
			return "", "", "", p.errorf("a host name is empty")
		}
	} else {
		i := strings.IndexAny(s, `\:`)
		if i < 0 {
			i = len(s)
		}
		name, s = s[:i], s[i:]
		if name == "" {
			return "", "", "", p.errorf("a host name is empty")
		}
	}
	if rest, ok := strings.CutPrefix(s, `\`); ok {
		instance, s, _ = strings.Cut(rest, ":")
		if instance == "" {
			return "", "", "", p.errorf(`the instance name after \ is empty`)
		}
		if len(rest) > len(instance) {
			s = ":" + s
		}
	}
	if rest, ok := strings.CutPrefix(s, ":"); ok {
		_, err := p.port(rest)
		return name, instance, rest, err
	}
	if s != "" {
		return "", "", "", p.errorf("unexpected %s after the server name", p.q(s))
	}
	return name, instance, "", nil
}

// semicolonProps splits "head;key=value;key={va;lue}..." as SQL Server's drivers do: keys are
// case-insensitive and a value in braces may hold ';' ("}}" stands for '}').
func (p *urlParser) semicolonProps(s string) (string, map[string]string, error) {
	props := map[string]string{}
	head, rest, ok := strings.Cut(s, ";")
	if !ok {
		return head, props, nil
	}
	for rest != "" {
		semi := strings.IndexByte(rest, ';')
		eq := strings.IndexByte(rest, '=')
		if eq < 0 || semi >= 0 && semi < eq {
			item := rest
			if semi >= 0 {
				item, rest = rest[:semi], rest[semi+1:]
			} else {
				rest = ""
			}
			if strings.TrimSpace(item) != "" {
				return "", nil, p.errorf("property %s has no =value", p.q(strings.TrimSpace(item)))
			}
			continue
		}
		key := optionKey(rest[:eq])
		if key == "" {
			return "", nil, p.errorf("a property has an empty name")
		}
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var value string
		if strings.HasPrefix(rest, "{") {
			var b strings.Builder
			i := 1
			for ; i < len(rest); i++ {
				if rest[i] == '}' {
					if i+1 < len(rest) && rest[i+1] == '}' {
						b.WriteByte('}')
						i++
						continue
					}
					break
				}
				b.WriteByte(rest[i])
			}
			if i >= len(rest) {
				return "", nil, p.errorf("the value of property %s has no closing }", p.q(key))
			}
			value, rest = b.String(), strings.TrimLeft(rest[i+1:], " \t")
			if rest != "" && rest[0] != ';' {
				return "", nil, p.errorf("unexpected text after the } of property %s", p.q(key))
			}
			rest = strings.TrimPrefix(rest, ";")
		} else {
			value, rest, _ = strings.Cut(rest, ";")
			value = strings.TrimSpace(value)
		}
		props[key] = value
	}
	return head, props, nil
}

func (p *urlParser) jtds(rest string) (Source, error) {
	after, ok := strings.CutPrefix(rest, "//")
	if !ok {
		return Source{}, p.errorf("no // after jdbc:jtds:sqlserver: write jdbc:jtds:sqlserver://host:1433/db")
	}
	head, props, err := p.semicolonProps(after)
	if err != nil {
		return Source{}, err
	}
	server, db, _ := strings.Cut(strings.TrimSpace(head), "/")
	if strings.Contains(server, "@") {
		return Source{}, p.errorf("jdbc:jtds urls cannot carry user:password@: use ;user=name and give the password through password_env")
	}
	if strings.Contains(server, `\`) {
		return Source{}, p.errorf(`jTDS takes the instance as ;instance=NAME, not as host\NAME`)
	}
	src := Source{Dialect: "sqlserver", Database: db}
	if v, ok := props["databasename"]; ok {
		src.Database = v
	}
	if v, ok := props["user"]; ok {
		src.User = v
	}
	if v, ok := props["password"]; ok {
		p.addSecret(v)
		src.URLPassword = v
	}
	if v := props["domain"]; strings.TrimSpace(v) != "" {
		return Source{}, p.unsupported("domain %s makes jTDS use Windows (NTLM) authentication, which reauth does not support: use SQL Server authentication with database.user and password_env", p.q(v))
	}
	if isTrue(props["namedpipe"]) {
		return Source{}, p.unsupported("namedPipe=true is not supported: reauth connects over tcp")
	}
	// jTDS's ssl=off (its default) uses no TLS; request and require encrypt without checking
	// the certificate (request falls back to plain text, which go-mssqldb cannot: it requires
	// TLS, stricter); authenticate checks it. go-mssqldb's encrypt=false still encrypts the
	// login packet, at least as much as jTDS's off.
	switch v := strings.ToLower(strings.TrimSpace(props["ssl"])); v {
	case "", "off":
		setParam(&src, "encrypt", "false")
		setParam(&src, "TrustServerCertificate", "true")
		if v == "" {
			setParam(&src, "tls-from", "no jTDS ssl option (its default, off)")
		} else {
			setParam(&src, "tls-from", "jTDS ssl="+props["ssl"])
		}
	case "request", "require":
		setParam(&src, "encrypt", "true")
		setParam(&src, "TrustServerCertificate", "true")
		setParam(&src, "tls-from", "jTDS ssl="+props["ssl"])
	case "authenticate":
		setParam(&src, "encrypt", "true")
		setParam(&src, "tls-from", "jTDS ssl="+props["ssl"])
	default:
		return Source{}, p.errorf("ssl %s is not one of off, request, require, authenticate", p.q(props["ssl"]))
	}
	name, port := server, ""
	if strings.HasPrefix(server, "[") {
		if end := strings.Index(server, "]:"); end >= 0 {
			name, port = server[1:end], server[end+2:]
		} else {
			name = strings.TrimSuffix(strings.TrimPrefix(server, "["), "]")
		}
	} else if i := strings.LastIndexByte(server, ':'); i >= 0 && strings.Count(server, ":") == 1 {
		name, port = server[:i], server[i+1:]
	}
	if name == "" {
		return Source{}, p.errorf("no server name: write jdbc:jtds:sqlserver://host:1433/db")
	}
	hp := name
	if strings.Contains(name, ":") {
		hp = "[" + name + "]"
	}
	h, err := p.hostPort(hp, sqlserverPort)
	if err != nil {
		return Source{}, err
	}
	if port != "" {
		if h.Port, err = p.port(port); err != nil {
			return Source{}, err
		}
	}
	// Unlike the Microsoft driver, jTDS looks the instance's port up even when a port is
	// given, so the instance is kept.
	src.Instance = strings.TrimSpace(props["instance"])
	if err := p.checkInstance(src.Instance); err != nil {
		return Source{}, err
	}
	if hasControl(src.Database) || hasControl(src.User) {
		return Source{}, p.errorf("the database or user name holds a control character")
	}
	src.Hosts = []Host{h}
	return src, nil
}

func (p *urlParser) sqlserverNative(rest string) (Source, error) {
	src := Source{Dialect: "sqlserver"}
	n, err := p.splitNative(rest, url.PathUnescape)
	if err != nil {
		return Source{}, err
	}
	src.User, src.URLPassword = n.user, n.password
	opts, err := p.options(n.query, "&", url.QueryUnescape)
	if err != nil {
		return Source{}, err
	}
	if strings.Contains(n.hosts, ",") {
		return Source{}, p.errorf("sqlserver:// takes one host")
	}
	name, port := n.hosts, ""
	if strings.HasPrefix(name, "[") {
		end := strings.IndexByte(name, ']')
		if end < 0 {
			return Source{}, p.errorf("ipv6 address %s has no closing ]", p.q(name))
		}
		if rest := name[end+1:]; rest != "" {
			if rest[0] != ':' {
				return Source{}, p.errorf("unexpected %s after the ipv6 address", p.q(rest))
			}
			port = rest[1:]
			if port == "" {
				return Source{}, p.errorf("the port after the colon is empty")
			}
		}
		name = name[1:end]
	} else if i := strings.LastIndexByte(name, ':'); i >= 0 {
		name, port = name[:i], name[i+1:]
		if port == "" {
			return Source{}, p.errorf("the port after the colon is empty")
		}
	}
	if name == "" {
		return Source{}, p.errorf("no host: write sqlserver://host:1433?database=db")
	}
	instance, err := p.unescape(strings.Trim(n.path, "/"), "instance name", url.PathUnescape)
	if err != nil {
		return Source{}, err
	}
	if v, ok := opts["port"]; ok && port == "" {
		port = v
	}
	if v, ok := opts["database"]; ok {
		src.Database = v
	}
	for _, k := range []string{"user id", "user"} {
		if v, ok := opts[k]; ok {
			src.User = v
		}
	}
	if v, ok := opts["password"]; ok {
		p.addSecret(v)
		src.URLPassword = v
	}
	if isTrue(opts["integrated security"]) || strings.EqualFold(opts["integrated security"], "sspi") {
		return Source{}, p.unsupported("integrated security is Windows authentication, which reauth does not support: use SQL Server authentication with database.user and password_env")
	}
	if v := strings.ToLower(opts["authenticator"]); v == "krb5" || v == "winsspi" {
		return Source{}, p.unsupported("authenticator %s is Windows authentication, which reauth does not support: use SQL Server authentication with database.user and password_env", p.q(v))
	}
	for k, param := range map[string]string{
		"encrypt":                "encrypt",
		"trustservercertificate": "TrustServerCertificate",
		"hostnameincertificate":  "hostNameInCertificate",
		"certificate":            "certificate",
	} {
		if v, ok := opts[k]; ok {
			setParam(&src, param, v)
		}
	}
	return p.sqlserverFinish(src, name, instance, port)
}

// filepathExt is the extension of a path or file: URL, "" when there is none.
func filepathExt(p string) string {
	i := strings.LastIndexAny(p, "./\\")
	if i < 0 || p[i] != '.' {
		return ""
	}
	return p[i:]
}

// ---- Oracle ----

func (p *urlParser) oracleJDBC(rest string) (Source, error) {
	driver, after, ok := strings.Cut(rest, ":")
	switch strings.ToLower(driver) {
	case "thin", "oci", "oci8":
	default:
		if !ok {
			return Source{}, p.errorf("no driver type: write jdbc:oracle:thin:@//host:1521/SERVICE")
		}
		return Source{}, p.unsupported("oracle driver type %s is not supported: write jdbc:oracle:thin:@//host:1521/SERVICE", p.q(driver))
	}
	src := Source{Dialect: "oracle"}
	// user/password@ may come first (jdbc:oracle:thin:scott/tiger@//host:1521/SVC); a quoted
	// password may hold an @.
	at := strings.IndexByte(after, '@')
	if sl := strings.IndexByte(after, '/'); sl >= 0 && (at < 0 || sl < at) && strings.HasPrefix(after[sl+1:], `"`) {
		if q := strings.IndexByte(after[sl+2:], '"'); q >= 0 {
			at = sl + 2 + q + 1
			if at >= len(after) || after[at] != '@' {
				return Source{}, p.errorf("expected @ after the quoted password")
			}
		}
	}
	if at < 0 {
		return Source{}, p.errorf("no @ before the address: write jdbc:oracle:%s:@//host:1521/SERVICE", strings.ToLower(driver))
	}
	if creds := after[:at]; creds != "" {
		user, password, hasPassword := strings.Cut(creds, "/")
		src.User = strings.Trim(user, `"`)
		if hasPassword {
			src.URLPassword = strings.Trim(password, `"`)
			p.addSecret(src.URLPassword)
		}
		if hasControl(src.User) {
			return Source{}, p.errorf("the user name holds a control character")
		}
	}
	return p.oracleAddress(src, strings.TrimSpace(after[at+1:]))
}

// oracleAddress reads what follows the @: an Easy Connect address, host:port:SID, or a full
// (DESCRIPTION=...) descriptor.
func (p *urlParser) oracleAddress(src Source, addr string) (Source, error) {
	if strings.HasPrefix(addr, "(") {
		return p.oracleDescriptor(src, addr)
	}
	lower := asciiLower(addr)
	switch {
	case strings.HasPrefix(lower, "tcps://"):
		return Source{}, p.unsupported("tcps:// (oracle over tls) is not supported yet: use tcp, or a (DESCRIPTION=...) descriptor")
	case strings.HasPrefix(lower, "ldap://"), strings.HasPrefix(lower, "ldaps://"):
		return Source{}, p.unsupported("ldap name lookups are not supported: give host, port and service (@//host:1521/SERVICE)")
	case strings.HasPrefix(lower, "tcp://"):
		addr = addr[len("tcp://"):]
	}
	addr, ez := strings.CutPrefix(addr, "//")
	addr, _, _ = strings.Cut(addr, "?") // Easy Connect Plus options: not needed to connect
	if addr == "" {
		return Source{}, p.errorf("no host after the @: write @//host:1521/SERVICE")
	}
	var name, rest string
	if strings.HasPrefix(addr, "[") {
		end := strings.IndexByte(addr, ']')
		if end < 0 {
			return Source{}, p.errorf("ipv6 address %s has no closing ]", p.q(addr))
		}
		name, rest = addr[1:end], addr[end+1:]
		if name == "" {
			return Source{}, p.errorf("a host name is empty")
		}
		name = "[" + name + "]"
	} else {
		i := strings.IndexAny(addr, ":/")
		if i < 0 {
			if !ez {
				return Source{}, p.unsupported("%s looks like a tns alias, which needs tnsnames.ora: give host, port and service (@//host:1521/SERVICE) or the full (DESCRIPTION=...)", p.q(addr))
			}
			i = len(addr)
		}
		name, rest = addr[:i], addr[i:]
	}
	h, err := p.hostPort(name, oraclePort)
	if err != nil {
		return Source{}, err
	}
	if r, ok := strings.CutPrefix(rest, ":"); ok {
		portText := r
		if i := strings.IndexAny(r, ":/"); i >= 0 {
			portText, rest = r[:i], r[i:]
		} else {
			rest = ""
		}
		if h.Port, err = p.port(portText); err != nil {
			return Source{}, err
		}
	}
	switch {
	case strings.HasPrefix(rest, ":"):
		src.Database, src.SID = rest[1:], true
	case strings.HasPrefix(rest, "/"):
		// Easy Connect may add :server_type and /instance_name after the service.
		svc := rest[1:]
		if i := strings.IndexAny(svc, ":/"); i >= 0 {
			svc = svc[:i]
		}
		src.Database = svc
	}
	if src.Database == "" {
		return Source{}, p.errorf("no service name or sid: write @//host:1521/SERVICE or @host:1521:SID")
	}
	if err := p.checkOracleName(src.Database); err != nil {
		return Source{}, err
	}
	src.Hosts = []Host{h}
	return src, nil
}

func (p *urlParser) checkOracleName(name string) error {
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_$#.-", r)) {
			return p.errorf("service name or sid %s holds %s, which it cannot hold", p.q(name), p.q(string(r)))
		}
	}
	return nil
}

// netNode is one (KEY=value) or (KEY=(...)(...)) of an Oracle Net descriptor.
type netNode struct {
	key, value string
	kids       []*netNode
}

const maxDescriptorDepth = 32

func (p *urlParser) oracleDescriptor(src Source, d string) (Source, error) {
	depth := 0
	for _, r := range d {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		}
		if depth < 0 {
			break
		}
	}
	if depth != 0 {
		return Source{}, p.errorf("unbalanced parentheses in the oracle descriptor")
	}
	root, end, err := p.netNode(d, 0, 0)
	if err != nil {
		return Source{}, err
	}
	if strings.TrimSpace(d[end:]) != "" {
		return Source{}, p.errorf("unexpected %s after the oracle descriptor", p.q(strings.TrimSpace(d[end:])))
	}
	if k := strings.ToUpper(root.key); k != "DESCRIPTION" && k != "DESCRIPTION_LIST" {
		return Source{}, p.errorf("an oracle descriptor starts with (DESCRIPTION=, not with %s", p.q(root.key))
	}
	src.Descriptor = d
	var walk func(n *netNode) error
	walk = func(n *netNode) error {
		switch strings.ToUpper(n.key) {
		case "ADDRESS":
			var host, port string
			for _, k := range n.kids {
				switch strings.ToUpper(k.key) {
				case "HOST":
					host = k.value
				case "PORT":
					port = k.value
				}
			}
			if host == "" {
				return nil // IPC or BEQ addresses have no host
			}
			hp := host
			if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
				hp = "[" + host + "]"
			}
			h, err := p.hostPort(hp, oraclePort)
			if err != nil {
				return err
			}
			if port != "" {
				if h.Port, err = p.port(port); err != nil {
					return err
				}
			}
			src.Hosts = append(src.Hosts, h)
		case "SERVICE_NAME":
			if src.Database == "" {
				src.Database = n.value
			}
		case "SID":
			if src.Database == "" {
				src.Database, src.SID = n.value, true
			}
		}
		for _, k := range n.kids {
			if err := walk(k); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return Source{}, err
	}
	if src.Database != "" {
		if err := p.checkOracleName(src.Database); err != nil {
			return Source{}, err
		}
	}
	return src, nil
}

// netNode parses the node that starts at d[i] == '(' and returns it with the index after
// its closing parenthesis.
func (p *urlParser) netNode(d string, i, depth int) (*netNode, int, error) {
	if depth > maxDescriptorDepth {
		return nil, 0, p.errorf("the oracle descriptor is nested too deeply")
	}
	skip := func() {
		for i < len(d) && unicode.IsSpace(rune(d[i])) {
			i++
		}
	}
	if i >= len(d) || d[i] != '(' {
		return nil, 0, p.errorf("malformed oracle descriptor: expected ( at %s", p.q(d[i:]))
	}
	i++
	eq := strings.IndexAny(d[i:], "=()")
	if eq < 0 || d[i+eq] != '=' {
		return nil, 0, p.errorf("malformed oracle descriptor: expected KEY= at %s", p.q(d[i:]))
	}
	n := &netNode{key: strings.TrimSpace(d[i : i+eq])}
	if n.key == "" {
		return nil, 0, p.errorf("malformed oracle descriptor: a key is empty")
	}
	i += eq + 1
	skip()
	if i < len(d) && d[i] == '(' {
		for {
			kid, next, err := p.netNode(d, i, depth+1)
			if err != nil {
				return nil, 0, err
			}
			n.kids = append(n.kids, kid)
			i = next
			skip()
			if i < len(d) && d[i] == '(' {
				continue
			}
			break
		}
	} else {
		end := strings.IndexAny(d[i:], "()")
		if end < 0 || d[i+end] == '(' {
			return nil, 0, p.errorf("malformed oracle descriptor: the value of %s is not closed", p.q(n.key))
		}
		n.value = strings.TrimSpace(d[i : i+end])
		i += end
	}
	if i >= len(d) || d[i] != ')' {
		return nil, 0, p.errorf("malformed oracle descriptor: expected ) after %s", p.q(n.key))
	}
	return n, i + 1, nil
}

func (p *urlParser) oracleNative(rest string) (Source, error) {
	src := Source{Dialect: "oracle"}
	n, err := p.splitNative(rest, url.PathUnescape)
	if err != nil {
		return Source{}, err
	}
	src.User, src.URLPassword = n.user, n.password
	opts, err := p.options(n.query, "&", url.QueryUnescape)
	if err != nil {
		return Source{}, err
	}
	if strings.Contains(n.hosts, ",") {
		return Source{}, p.errorf("oracle:// takes one host")
	}
	if n.hosts == "" {
		return Source{}, p.errorf("no host: write oracle://host:1521/SERVICE")
	}
	h, err := p.hostPort(n.hosts, oraclePort)
	if err != nil {
		return Source{}, err
	}
	src.Hosts = []Host{h}
	if src.Database, err = p.unescape(strings.Trim(n.path, "/"), "service name", url.PathUnescape); err != nil {
		return Source{}, err
	}
	if v := opts["sid"]; v != "" && src.Database == "" {
		src.Database, src.SID = v, true
	}
	if src.Database == "" {
		return Source{}, p.errorf("no service name: write oracle://host:1521/SERVICE (or ?SID=name)")
	}
	if err := p.checkOracleName(src.Database); err != nil {
		return Source{}, err
	}
	return src, nil
}
