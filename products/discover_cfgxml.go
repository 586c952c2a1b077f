package products

import "strings"

// Confluence, Bamboo and Crowd: confluence.cfg.xml, bamboo.cfg.xml, crowd.cfg.xml.

func (c *parser) cfgXML(data []byte) (*Discovered, error) {
	root, err := c.parseXML(c.file, data)
	if err != nil {
		return nil, err
	}
	want := "confluence-configuration"
	if c.product.Name == "bamboo" || c.product.Name == "crowd" {
		want = "application-configuration"
	}
	if err := c.checkRoot(root, want); err != nil {
		return nil, err
	}
	props := map[string]string{}
	lines := map[string]int{}
	for _, ps := range root.children("properties") {
		for _, p := range ps.children("property") {
			name, ok := p.attr("name")
			if !ok {
				continue
			}
			if prev, dup := lines[name]; dup && relevantProperty(name) {
				return nil, c.fail("property "+name, nil, "appears twice (lines %d and %d): keep one", prev, p.line)
			}
			props[name], lines[name] = p.text.String(), p.line
		}
	}
	lookup := func(n string) (string, bool) { v, ok := props[n]; return v, ok }
	pw, hasPW := props["hibernate.connection.password"]
	c.secret(pw)
	if ds := strings.TrimSpace(props["hibernate.connection.datasource"]); ds != "" {
		v, err := c.expand("property hibernate.connection.datasource", ds, lookup, false)
		if err != nil {
			return nil, err
		}
		return c.jndi("property hibernate.connection.datasource", v)
	}
	url, ok := props["hibernate.connection.url"]
	if !ok || strings.TrimSpace(url) == "" {
		return nil, c.fail("property hibernate.connection.url", nil, "missing or empty: %s names no database (has its setup finished?): give database.url, user and password_env", c.product.Title)
	}
	url, err = c.expandURL("property hibernate.connection.url", url, lookup, false)
	if err != nil {
		return nil, err
	}
	user, err := c.expand("property hibernate.connection.username", props["hibernate.connection.username"], lookup, false)
	if err != nil {
		return nil, err
	}
	cn := connection{
		urlField: "property hibernate.connection.url", url: url,
		userField: "property hibernate.connection.username", user: user,
		pwField:     "property hibernate.connection.password",
		cipherField: "property jdbc.password.decrypter.classname", cipher: props["jdbc.password.decrypter.classname"],
	}
	if hasPW {
		cn.pw, cn.pwError = c.expandPassword(cn.pwField, pw, lookup, false)
	}
	d, err := c.finish(cn)
	if d == nil {
		return nil, err
	}
	driver := props["hibernate.connection.driver_class"]
	c.checkKind(d, "property hibernate.connection.driver_class", driver, driverDialect(driver))
	return d, err
}

func relevantProperty(name string) bool {
	switch name {
	case "hibernate.connection.url", "hibernate.connection.username", "hibernate.connection.password",
		"hibernate.connection.datasource", "jdbc.password.decrypter.classname",
		"jdbc.url", "jdbc.user", "jdbc.password":
		return true
	}
	return false
}
