package products

import (
	"errors"
	"strings"

	"github.com/reauth/reauth/db"
)

// ${...} placeholders.

const maxExpandDepth = 8

// maxExpansions bounds the work of one value: ${a}${a}${a} where a refers to itself the same
// way would otherwise grow exponentially.
const maxExpansions = 200

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
