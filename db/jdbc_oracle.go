package db

import (
	"net/url"
	"strings"
	"unicode"
)

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
	src, n, opts, err := p.native("oracle", rest, url.QueryUnescape)
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
