package products

import (
	"strings"

	"github.com/reauth/reauth/db"
)

// Fisheye/Crucible: config.xml.

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
