package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/reauth/reauth/products"
)

func (a *app) productsCommand() *cli.Command {
	return &cli.Command{
		Name:  "products",
		Usage: "list the supported products and what reauth knows about each",
		Description: "For each product: the remember-me table and its columns, what the user column stores,\n" +
			"the cookies, the readiness probe, the default port and start/stop commands, and the\n" +
			"databases it runs on. Facts marked unverified are guesses the config can override.",
		Action: func(c *cli.Context) error {
			g, err := readGlobals(c)
			if err != nil {
				return err
			}
			if g.json() {
				return a.printJSON(map[string]any{"products": products.All()})
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
		switch {
		case table == "":
			table = fmt.Sprintf("UNVERIFIED: found by a name containing %q, confirm with table:", tt.Hint)
		case !tt.Verified:
			table += " (UNVERIFIED)"
		}
		fmt.Fprintf(tw, "  remember-me table\t%s\n", table)
		if len(tt.Columns) > 0 {
			var cols []string
			for _, c := range tt.Columns {
				cols = append(cols, c.Name+" "+c.Type)
			}
			line := strings.Join(cols, ", ")
			if !tt.ColumnsVerified {
				line += " (UNVERIFIED)"
			}
			fmt.Fprintf(tw, "  columns\t%s\n", line)
		} else {
			fmt.Fprintf(tw, "  columns\tUNVERIFIED: key %s, user %s, created %s unless columns: says otherwise\n", tt.Key, tt.User, tt.Created)
		}
		if tt.UserStores != "" {
			fmt.Fprintf(tw, "  user column stores\t%s\n", tt.UserStores)
		}
		fmt.Fprintf(tw, "  cookies\tremember-me %s, session %s\n", p.RememberMeCookie, p.SessionCookie)
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
}
