package db

import (
	"net/url"
	"strings"
)

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
	src, n, opts, err := p.native("mysql", rest, url.QueryUnescape)
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
