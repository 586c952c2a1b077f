package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/reauth/reauth/products"
	"github.com/reauth/reauth/products/gitlab"
)

func (a *app) productsCommand() *cli.Command {
	return &cli.Command{
		Name:  "products",
		Usage: "list the supported products and what reauth knows about each",
		Description: "For each product: the remember-me table and its columns, what the user column stores,\n" +
			"the cookies, the readiness probe, the default port and start/stop commands, and the\n" +
			"databases it runs on. Facts marked unverified are guesses the config can override.\n" +
			"Then GitLab Self-Managed: where its sessions and remember-me live, and its config files.",
		Action: func(c *cli.Context) error {
			g, err := readGlobals(c)
			if err != nil {
				return err
			}
			if g.json() {
				return a.printJSON(map[string]any{"products": products.All(), "gitlab": gitlabProduct()})
			}
			a.printProducts()
			return nil
		},
	}
}

func (a *app) printProducts() {
	for i, p := range products.All() {
		if i > 0 {
			fmt.Fprintln(a.out)
		}
		tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "%s\t%s\n", p.Name, p.Title)
		tt := p.Tokens
		table := tt.Table
		if !tt.Verified {
			table += " (UNVERIFIED candidate: confirm it with table:)"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", p.Tokens.Noun(), table)
		var cols []string
		for _, c := range tt.Columns {
			cols = append(cols, c.Name+" "+c.Type)
		}
		line := strings.Join(cols, ", ")
		if !tt.ColumnsVerified {
			line += " (UNVERIFIED: columns: overrides them)"
		}
		fmt.Fprintf(tw, "  columns\t%s\n", line)
		fmt.Fprintf(tw, "  user column stores\t%s\n", tt.Users.Stores)
		var maps []string
		for _, m := range tt.Users.Maps {
			maps = append(maps, fmt.Sprintf("%s.%s -> %s", m.Table, m.Login, m.Stored))
		}
		if tt.Users.Names {
			maps = append(maps, "the names the column stores")
		}
		names := "exactly, as stored (UNVERIFIED)"
		if tt.Users.Fold == products.FoldCrowd {
			names = "case-insensitively, lower-cased as Crowd does (Java's toLowerCase, English locale)"
		}
		fmt.Fprintf(tw, "  login names\tthrough %s; compared %s\n", strings.Join(maps, ", "), names)
		switch tt.Groups {
		case products.GroupsTyped:
			fmt.Fprintf(tw, "  --group\tcwd_group, cwd_membership (membership_type, lower_child_name)\n")
		case products.GroupsByID:
			fmt.Fprintf(tw, "  --group\tcwd_group, cwd_membership (child_user_id, child_group_id), cwd_user\n")
		default:
			fmt.Fprintf(tw, "  --group\tdoes not apply (no user directory reauth reads)\n")
		}
		fmt.Fprintf(tw, "  source\t%s\n", tt.Source)
		fmt.Fprintf(tw, "  cookies\t%s %s, session %s\n", tt.Kind(), p.RememberMeCookie, p.SessionCookie)
		for _, part := range p.Parts {
			cookie := part.Cookie
			if cookie == "" {
				cookie = "(cookie UNVERIFIED)"
			}
			fmt.Fprintf(tw, "  part %s\t%s rows of %s, cookie %s (target <name>.%s; source: %s)\n", part.Suffix, part.Tokens.Kind(), part.Tokens.Table,
				cookie, part.Suffix, part.Tokens.Source)
		}
		fmt.Fprintf(tw, "  probe\tGET %s: %s\n", p.Probe.Path, p.Probe.Ready)
		fmt.Fprintf(tw, "  default port\t%d\n", p.Port)
		fmt.Fprintf(tw, "  databases\t%s\n", strings.Join(p.Databases, ", "))
		fmt.Fprintf(tw, "  config file\t%s\n", p.ConfigFile)
		fmt.Fprintf(tw, "  start / stop\t%s / %s (service %s)\n", p.Start, p.Stop, p.Service)
		if p.SessionAPI != "" {
			fmt.Fprintf(tw, "  per-user session API\t%s\n", p.SessionAPI)
		}
		if p.Notes != "" {
			fmt.Fprintf(tw, "  notes\t%s\n", p.Notes)
		}
		tw.Flush()
	}
	fmt.Fprintln(a.out)
	a.printGitLab()
}

// gitlabFacts is what reauth knows of GitLab Self-Managed: no remember-me table and no restart,
// but sessions in Redis and remember-me in one column of PostgreSQL's users table.
type gitlabFacts struct {
	Name             string   `json:"name"`
	Title            string   `json:"title"`
	SessionKeys      []string `json:"session_keys"` // Redis key patterns revoked
	RememberMe       string   `json:"remember_me"`
	SessionCookie    string   `json:"session_cookie"`
	RememberMeCookie string   `json:"remember_me_cookie"`
	Databases        []string `json:"databases"`
	ConfigFiles      []string `json:"config_files"` // on an Omnibus node
	Restart          string   `json:"restart"`
	NotRevoked       string   `json:"not_revoked"`
}

func gitlabProduct() gitlabFacts {
	return gitlabFacts{
		Name: products.GitLab, Title: "GitLab Self-Managed",
		SessionKeys: []string{
			gitlab.RackNamespace + ":2::<sha256 of the session cookie>",
			gitlab.RecordNamespace + "::v2:<user id>:<id> (and the legacy " + gitlab.RecordNamespace + ":<user id>:<id>)",
			gitlab.LookupNamespace + ":<user id>",
		},
		RememberMe:       "users.remember_created_at, set to NULL",
		SessionCookie:    "_gitlab_session",
		RememberMeCookie: "remember_user_token",
		Databases:        []string{"postgres (remember-me)", "redis (sessions)"},
		ConfigFiles:      []string{gitlab.DatabaseYML, gitlab.RedisYML, gitlab.RedisSessionsYML, gitlab.RedisSharedStateYML, gitlab.ResqueYML},
		Restart:          "none: a revoked session is refused at its next request",
		NotRevoked:       "personal, project and group access tokens, deploy tokens, SSH keys, OAuth tokens",
	}
}

func (a *app) printGitLab() {
	g := gitlabProduct()
	tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t%s\n", g.Name, g.Title)
	for i, k := range g.SessionKeys {
		label := ""
		if i == 0 {
			label = "sessions (Redis)"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", label, k)
	}
	fmt.Fprintf(tw, "  remember-me\t%s (PostgreSQL)\n", g.RememberMe)
	fmt.Fprintf(tw, "  cookies\tremember-me %s, session %s\n", g.RememberMeCookie, g.SessionCookie)
	fmt.Fprintf(tw, "  config files\t%s\n", strings.Join(g.ConfigFiles, ", "))
	fmt.Fprintf(tw, "  restart\t%s\n", g.Restart)
	fmt.Fprintf(tw, "  not revoked\t%s\n", g.NotRevoked)
	tw.Flush()
}
