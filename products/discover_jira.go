package products

import (
	"fmt"
	"strings"
)

// Jira: dbconfig.xml, and JNDI datasources in Tomcat's server.xml.

func (c *parser) jira(data []byte) (*Discovered, error) {
	root, err := c.parseXML(c.file, data)
	if err != nil {
		return nil, err
	}
	if err := c.checkRoot(root, "jira-database-config"); err != nil {
		return nil, err
	}
	dbType := ""
	if e, err := c.only(root, "database-type", "<database-type>"); err != nil {
		return nil, err
	} else if e != nil {
		dbType = strings.TrimSpace(e.text.String())
	}
	schema := ""
	if e, err := c.only(root, "schema-name", "<schema-name>"); err != nil {
		return nil, err
	} else if e != nil {
		schema = strings.TrimSpace(e.text.String())
	}
	ds, err := c.only(root, "jdbc-datasource", "<jdbc-datasource>")
	if err != nil {
		return nil, err
	}
	var d *Discovered
	if ds == nil {
		jndi, err := c.only(root, "jndi-datasource", "<jndi-datasource>")
		if err != nil {
			return nil, err
		}
		if jndi == nil {
			return nil, c.fail("<jdbc-datasource>", nil, "missing: dbconfig.xml names no database (has jira's setup finished?): give database.url, user and password_env")
		}
		name := ""
		if e := jndi.child("jndi-name"); e != nil {
			name = strings.TrimSpace(e.text.String())
		}
		if name == "" {
			return nil, c.fail("<jndi-datasource>/<jndi-name>", nil, "missing or empty: give database.url, user and password_env")
		}
		d, err = c.jndi("<jndi-datasource>/<jndi-name>", name)
		if d == nil {
			return nil, err
		}
		if schema != "" {
			d.Source.Schema = schema
		}
		c.checkKind(d, "<database-type>", dbType, dialectOf(dbType))
		return d, err
	}
	text := func(name string) (string, *element, error) {
		e, err := c.only(ds, name, "<jdbc-datasource>/<"+name+">")
		if err != nil || e == nil {
			return "", nil, err
		}
		return e.text.String(), e, nil
	}
	url, urlElem, err := text("url")
	if err != nil {
		return nil, err
	}
	user, _, err := text("username")
	if err != nil {
		return nil, err
	}
	pw, _, err := text("password")
	if err != nil {
		return nil, err
	}
	cipher, _, err := text("atlassian-password-cipher-provider")
	if err != nil {
		return nil, err
	}
	driver, _, err := text("driver-class")
	if err != nil {
		return nil, err
	}
	c.secret(pw)
	if urlElem == nil || strings.TrimSpace(url) == "" {
		return nil, c.fail("<jdbc-datasource>/<url>", nil, "missing or empty: put jira's jdbc url there, or give database.url")
	}
	// Jira does not expand ${...}; this only words the error for an embedded database.
	if url, err = c.expandURL("<jdbc-datasource>/<url>", url, noProperties, false); err != nil {
		return nil, err
	}
	d, err = c.finish(connection{
		urlField: "<jdbc-datasource>/<url>", url: url,
		userField: "<jdbc-datasource>/<username>", user: user,
		pwField: "<jdbc-datasource>/<password>", pw: pw,
		cipherField: "<atlassian-password-cipher-provider>", cipher: cipher,
	})
	if d == nil {
		return nil, err
	}
	if schema != "" {
		d.Source.Schema = schema
	}
	kind := dialectOf(dbType)
	if kind == "" && dbType != "" {
		c.note("<database-type> %s is not one reauth knows; it uses the url", quoteName(dbType))
	}
	c.checkKind(d, "<database-type>", dbType, kind)
	c.checkKind(d, "<driver-class>", driver, driverDialect(driver))
	return d, err
}

func noProperties(string) (string, bool) { return "", false }

// jndi follows a JNDI datasource name (java:comp/env/jdbc/confluence) into Tomcat's
// server.xml: a <Resource name="jdbc/confluence" .../> inside a <Context>, or a
// <ResourceLink> there to a global resource.
func (c *parser) jndi(field, name string) (*Discovered, error) {
	res := strings.TrimPrefix(strings.TrimSpace(name), "java:comp/env/")
	if c.server == nil {
		return nil, c.fail(field, nil, "names the jndi datasource %s, which is defined in tomcat's conf/server.xml: set restart.install_dir for this target so that reauth can read that file, or give database.url, user and password_env", quoteName(name))
	}
	sfile := c.server.name
	data, err := c.server.read()
	if err != nil {
		return nil, &DiscoverError{File: sfile, Msg: fmt.Sprintf("cannot read it (%v), and %s names the jndi datasource %s defined there: check restart.install_dir, or give database.url, user and password_env", err, c.file, quoteName(name))}
	}
	root, err := c.parseXML(sfile, data)
	if err != nil {
		return nil, err
	}
	resField := fmt.Sprintf("<Resource name=%s>", quoteName(res))
	notFound := func() error {
		return &DiscoverError{File: sfile, Field: resField, Msg: fmt.Sprintf("not found in any <Context>, although %s names the jndi datasource %s: it may be defined in conf/context.xml or conf/Catalina/localhost/*.xml, which reauth does not read: give database.url, user and password_env", c.file, quoteName(name))}
	}
	var found []*element
	for _, ctx := range root.find("Context") {
		for _, r := range ctx.find("Resource") {
			if v, _ := r.attr("name"); v == res {
				found = append(found, r)
			}
		}
		if len(found) > 0 {
			break
		}
		for _, link := range ctx.find("ResourceLink") {
			if v, _ := link.attr("name"); v != res {
				continue
			}
			global, _ := link.attr("global")
			for _, g := range root.find("GlobalNamingResources") {
				for _, r := range g.find("Resource") {
					if v, _ := r.attr("name"); v == global && global != "" {
						found = append(found, r)
					}
				}
			}
		}
		if len(found) > 0 {
			break
		}
	}
	if len(found) == 0 {
		return nil, notFound()
	}
	r := found[0]
	if len(found) > 1 {
		c.note("%s defines %s %d times; reauth used the first, at line %d", sfile, resField, len(found), r.line)
	}
	get := func(names ...string) (string, string) {
		for _, n := range names {
			if v, ok := r.attr(n); ok {
				return v, n
			}
		}
		return "", names[0]
	}
	url, _ := get("url")
	user, userAttr := get("username", "user")
	pw, _ := get("password")
	driver, _ := get("driverClassName")
	c.secret(pw)
	attrField := func(a string) string { return resField + " " + a + "=" }
	if strings.TrimSpace(url) == "" {
		return nil, &DiscoverError{File: sfile, Field: attrField("url"), Msg: "missing or empty: give database.url, user and password_env"}
	}
	// Tomcat replaces ${...} with Java system properties, which reauth cannot see.
	for _, a := range []struct{ name, value string }{{"url", url}, {userAttr, user}} {
		if names := placeholders(a.value, false); len(names) > 0 {
			return nil, &DiscoverError{File: sfile, Field: attrField(a.name), Msg: fmt.Sprintf("holds %s, which tomcat takes from a java system property that reauth cannot see: give database.url, user and password_env", placeholderList(names))}
		}
	}
	cn := connection{urlField: attrField("url"), url: url, userField: attrField(userAttr), user: user, pwField: attrField("password"), pw: pw}
	if len(placeholders(pw, false)) > 0 {
		cn.pwError = &DiscoverError{File: sfile, Field: attrField("password"), Msg: "holds a ${...} placeholder, which tomcat takes from a java system property that reauth cannot see: " + supplyPassword, Err: ErrEncryptedPassword}
	}
	saved := c.file
	c.file = sfile // errors about the connection are about server.xml
	d, err := c.finish(cn)
	c.file = saved
	if d == nil {
		return nil, err
	}
	d.File = c.file
	c.note("the connection comes from the jndi datasource %s, defined in %s (line %d)", quoteName(res), sfile, r.line)
	c.checkKind(d, "driverClassName", driver, driverDialect(driver))
	return d, err
}
