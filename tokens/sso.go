package tokens

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/reauth/reauth/db"
)

// ssoTable is where Atlassian's SSO app ("SSO for Data Center", ActiveObjects prefix ED669C)
// keeps its identity providers in the product's database, in Jira, Confluence, Bitbucket and
// Bamboo alike (public pg_dumps of Confluence and Bitbucket).
const ssoTable = "AO_ED669C_IDP_CONFIG"

// crowdSSOPath ends the SSO URL of a Crowd identity provider (Crowd SSO 2.0): the app writes
// <Crowd's base URL>/console/secure/saml/sso.action, and infers the Crowd type from it where
// SAML_IDP_TYPE is empty (the app's SamlConfig).
const crowdSSOPath = "/console/secure/saml/sso.action"

// IdP is an identity provider that a product signs users in through.
type IdP struct {
	Name string `json:"name"`
	// Type is SAML or OIDC.
	Type    string `json:"type"`
	Issuer  string `json:"issuer"`
	URL     string `json:"url,omitempty"` // where users are sent to sign in
	Enabled bool   `json:"enabled"`
	// Crowd: the identity provider is Crowd (Crowd SSO 2.0, a SAML IdP of type CROWD), whose
	// Issuer is Crowd's base URL: its SSO sessions are a Crowd target's.
	Crowd bool `json:"crowd"`
}

// Where is where users signing in through the IdP are sent.
func (i IdP) Where() string {
	if i.URL != "" {
		return i.URL
	}
	return i.Issuer
}

// SSO reads, read-only, the identity providers configured in Atlassian's SSO app in the
// target's database: none where the app's table is not there.
func (c *Conn) SSO(ctx context.Context) ([]IdP, error) {
	tables, err := db.Tables(ctx, c.Pool, c.Target.Dialect, c.Tokens.Table.Schema, db.NameIs(ssoTable))
	if err != nil || len(tables) != 1 {
		return nil, err
	}
	t := tables[0]
	cols, err := c.exactColumns(ctx, t, "NAME", "SSO_TYPE", "ISSUER", "SSO_URL", "ENABLED")
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", t, err)
	}
	read := []string{cols["NAME"], cols["SSO_TYPE"], cols["ISSUER"], cols["SSO_URL"], cols["ENABLED"]}
	// SAML_IDP_TYPE (GENERIC or CROWD) came with Crowd as an identity provider; older tables
	// lack it.
	if typ, err := c.exactColumns(ctx, t, "SAML_IDP_TYPE"); err == nil {
		read = append(read, typ["SAML_IDP_TYPE"])
	}
	var out []IdP
	err = c.each(ctx, t, read, nil, func(v []sql.NullString) {
		i := IdP{Name: v[0].String, Type: strings.ToUpper(v[1].String), Issuer: v[2].String, URL: v[3].String, Enabled: isTrue(v[4])}
		i.Crowd = i.Type == "SAML" && (len(v) > 5 && strings.EqualFold(v[5].String, "CROWD") || strings.HasSuffix(strings.TrimRight(i.URL, "/"), crowdSSOPath))
		out = append(out, i)
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", t, err)
	}
	return out, nil
}

// isTrue reads a boolean column as text: PostgreSQL's true, MySQL's 1.
func isTrue(v sql.NullString) bool {
	switch strings.ToLower(v.String) {
	case "1", "t", "true", "y":
		return v.Valid
	}
	return false
}

// InMemory reports, read-only, whether the product keeps the table's sessions in memory
// instead (products.TokenTable.InMemory): false when it has no such setting, or the setting's
// table or row is not there.
func (c *Conn) InMemory(ctx context.Context) (bool, error) {
	s := c.Target.Product.Tokens.InMemory
	if s == nil {
		return false, nil
	}
	tables, err := db.Tables(ctx, c.Pool, c.Target.Dialect, c.Tokens.Table.Schema, db.NameIs(s.Table))
	if err != nil || len(tables) != 1 {
		return false, err
	}
	cols, err := c.exactColumns(ctx, tables[0], s.KeyColumn, s.NameColumn, s.ValueColumn)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", tables[0], err)
	}
	found := false
	err = c.each(ctx, tables[0], []string{cols[s.ValueColumn]},
		[]db.Cond{db.ExactIn(cols[s.KeyColumn], s.Key), db.ExactIn(cols[s.NameColumn], s.Name)},
		func(v []sql.NullString) {
			found = found || (v[0].Valid && strings.EqualFold(strings.TrimSpace(v[0].String), s.Value))
		})
	if err != nil {
		return false, fmt.Errorf("read %s: %w", tables[0], err)
	}
	return found, nil
}
