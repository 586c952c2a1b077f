package db

import (
	"net/url"
	"strings"
)

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
	setLast(&port, props, "portnumber", "port")
	port = strings.TrimSpace(port)
	setLast(&src.Database, props, "databasename", "database")
	setLast(&src.User, props, "user", "username")
	p.takePassword(&src, props, "password")
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

// sqlserverHost is the server name (an IPv6 address unbracketed) and port, the port defaulting
// to SQL Server's.
func (p *urlParser) sqlserverHost(name, port string) (Host, error) {
	hp := name
	if strings.Contains(name, ":") {
		hp = "[" + name + "]"
	}
	h, err := p.hostPort(hp, sqlserverPort)
	if err != nil {
		return Host{}, err
	}
	if port != "" {
		if h.Port, err = p.port(port); err != nil {
			return Host{}, err
		}
	}
	return h, nil
}

// sqlserverFinish checks and sets the address. A port given with an instance wins and the
// instance is dropped, as the Microsoft driver does: the instance name only serves to look
// the port up through the SQL Server Browser service.
func (p *urlParser) sqlserverFinish(src Source, name, instance, port string) (Source, error) {
	h, err := p.sqlserverHost(name, port)
	if err != nil {
		return Source{}, err
	}
	if port != "" {
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
	h, err := p.sqlserverHost(name, port)
	if err != nil {
		return Source{}, err
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
	src, n, opts, err := p.native("sqlserver", rest, url.QueryUnescape)
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
	setLast(&src.Database, opts, "database")
	setLast(&src.User, opts, "user id", "user")
	p.takePassword(&src, opts, "password")
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
