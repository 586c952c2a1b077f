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

// native splits a native URL for dialect (scheme://user:password@hosts/path?query): a Source
// with the URL's user and password, the URL's parts, and its options, whose values optUnescape
// decodes.
func (p *urlParser) native(dialect, rest string, optUnescape func(string) (string, error)) (Source, nativeURL, map[string]string, error) {
	n, err := p.splitNative(rest, url.PathUnescape)
	if err != nil {
		return Source{}, n, nil, err
	}
	opts, err := p.options(n.query, "&", optUnescape)
	if err != nil {
		return Source{}, n, nil, err
	}
	return Source{Dialect: dialect, User: n.user, URLPassword: n.password}, n, opts, nil
}

// setLast sets *dst to the value of the last of keys that props holds, if any: of two spellings
// of one setting, the later wins, as in the drivers.
func setLast(dst *string, props map[string]string, keys ...string) {
	for _, k := range keys {
		if v, ok := props[k]; ok {
			*dst = v
		}
	}
}

// takePassword makes the password that props holds under key, if any, the URL's password, and
// records it as a secret.
func (p *urlParser) takePassword(src *Source, props map[string]string, key string) {
	if v, ok := props[key]; ok {
		p.addSecret(v)
		src.URLPassword = v
	}
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

// ---- PostgreSQL ----

// ---- MySQL and MariaDB ----

// ---- SQL Server ----

// ---- Oracle ----
