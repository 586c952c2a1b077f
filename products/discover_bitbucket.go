package products

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
)

// Bitbucket: bitbucket.properties.

var errMalformedU = errors.New(`malformed \uxxxx escape (a \u needs four hex digits)`)

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
