package db

import (
	"net/url"
	"strings"
)

// firstSchema takes the first schema of a search path ("jira, public" -> "jira").
func firstSchema(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.Trim(strings.TrimSpace(first), `"`)
}

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
	// libpq decodes %XX only: a '+' stays a '+'.
	src, n, opts, err := p.native("postgres", rest, url.PathUnescape)
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
