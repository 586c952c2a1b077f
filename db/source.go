package db

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Source says where a product database lives. It is parsed from the JDBC URL that the product's
// own config file holds, or from a native DSN, and it never holds the password used to connect:
// credentials travel separately (see Credentials), so a Source can always be printed.
type Source struct {
	Dialect  string // a key of Dialects: postgres, mysql, sqlserver, oracle
	Hosts    []Host // TCP addresses, in the order the URL gives them
	Socket   string // unix socket (PostgreSQL: directory; MySQL: socket file); empty for TCP
	Database string // database name; Oracle: service name, or SID when SID is set
	SID      bool   // Oracle: Database is a SID (jdbc:oracle:thin:@host:port:SID)
	// Descriptor is a full Oracle Net descriptor, (DESCRIPTION=...), used as given.
	Descriptor string
	Instance   string // SQL Server named instance (host\instance)
	Schema     string // schema named in the URL (PostgreSQL currentSchema), if any
	User       string // user named in the URL, if any
	// URLPassword is a password that was written into the URL itself. It is kept apart so
	// that callers can warn about it, and it is never printed.
	URLPassword string
	// Params are driver options carried over from the URL (TLS settings and the like).
	Params map[string]string
}

// Host is one TCP address of a database server.
type Host struct {
	Name string
	Port int
}

func (h Host) String() string { return net.JoinHostPort(h.Name, strconv.Itoa(h.Port)) }

// Credentials are what a connection authenticates with. They are kept out of Source so that
// a Source can be logged, printed and written into backup manifests.
type Credentials struct {
	User     string
	Password string
}

// ErrUnsupported marks a URL that is well-formed but names something reauth cannot connect to
// (Windows integrated authentication, an embedded database).
var ErrUnsupported = errors.New("unsupported")

// URLError reports a database URL that could not be used. URL is already redacted.
type URLError struct {
	URL    string
	Reason string
	Err    error // ErrUnsupported, or nil
}

func (e *URLError) Error() string {
	return fmt.Sprintf("database url %q: %s", e.URL, e.Reason)
}

func (e *URLError) Unwrap() error { return e.Err }

// String renders the source for people: dialect, addresses, database. It never includes a
// password.
func (s Source) String() string {
	var b strings.Builder
	b.WriteString(s.Dialect)
	b.WriteString("://")
	switch {
	case s.Descriptor != "":
		b.WriteString(s.Descriptor)
		return b.String()
	case s.Socket != "":
		b.WriteString("unix(" + s.Socket + ")")
	default:
		for i, h := range s.Hosts {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(h.String())
		}
	}
	if s.Instance != "" {
		b.WriteString("\\" + s.Instance)
	}
	b.WriteByte('/')
	b.WriteString(s.Database)
	if s.SID {
		b.WriteString(" (SID)")
	}
	return b.String()
}

// redactURL hides anything that looks like a password in a URL before it is quoted in an
// error message: userinfo passwords and password=... options.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			raw = u.String()
		}
	}
	return redactParams(raw)
}

// redactParams replaces the value of every password=... option, whatever separates options.
func redactParams(s string) string {
	// Lower-case ASCII only, so that offsets in lower are offsets in s whatever the bytes.
	lb := []byte(s)
	for i, c := range lb {
		if 'A' <= c && c <= 'Z' {
			lb[i] = c + 'a' - 'A'
		}
	}
	lower := string(lb)
	var b strings.Builder
	i := 0
	for {
		j := strings.Index(lower[i:], "password=")
		if j < 0 {
			b.WriteString(s[i:])
			return b.String()
		}
		j += i + len("password=")
		b.WriteString(s[i:j])
		b.WriteString("xxxxx")
		k := j
		for k < len(s) && s[k] != ';' && s[k] != '&' {
			k++
		}
		i = k
	}
}
