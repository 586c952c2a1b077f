package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/reauth/reauth/products"
	"github.com/reauth/reauth/runbook"
)

func (a *app) discoverCommand() *cli.Command {
	return &cli.Command{
		Name:      "discover",
		Usage:     "read a product's database connection from its own config file (the password is never printed)",
		ArgsUsage: " ",
		Description: "Reads dbconfig.xml (Jira), confluence.cfg.xml, shared/bitbucket.properties,\n" +
			"bamboo.cfg.xml, config.xml (Fisheye) or shared/crowd.cfg.xml (Crowd; crowd.cfg.xml in a\n" +
			"home without shared/) under the product's home, on this machine or on a\n" +
			"node over SSH (--host, with the ssh settings of --config), and prints the connection it\n" +
			"found. Plain and Base64 passwords are read; encrypted ones are reported, to be given with\n" +
			"password_env. The same reading happens for a target with database: {discover: {home: DIR}}.\n\n" +
			"Examples:\n" +
			"  reauth discover --product jira --home /var/atlassian/application-data/jira\n" +
			"  reauth discover --product bitbucket --home /var/atlassian/application-data/bitbucket --host bb1.example.com",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "product", Usage: "jira, confluence, bitbucket, bamboo, fisheye or crowd"},
			&cli.StringFlag{Name: "home", Usage: "the product's home `DIR` (local home for Jira and Confluence)"},
			&cli.StringFlag{Name: "host", Usage: "read it on this node over SSH (`HOST`)"},
			&cli.StringFlag{Name: "install-dir", Usage: "the product's install `DIR`, to follow a JNDI datasource into conf/server.xml"},
		},
		Action: func(c *cli.Context) error {
			g, err := readGlobals(c)
			if err != nil {
				return err
			}
			if c.Args().Present() {
				return usageError("discover takes no arguments (got %q)", c.Args().First())
			}
			if c.String("product") == "" || c.String("home") == "" {
				return usageError("discover needs --product and --home")
			}
			p, err := products.Lookup(c.String("product"))
			if err != nil {
				return usageError("--product: %v", err)
			}
			// Discovery is what an admin runs before a config has targets: only the settings
			// (ssh: for --host) are read, and locally no config is needed at all.
			cfg := &runbook.Config{}
			_, statErr := os.Stat(g.config)
			if c.String("host") != "" || statErr == nil {
				if cfg, err = runbook.LoadSettings(g.config); err != nil {
					return err
				}
				a.cfg = cfg
			}
			d, where, err := cfg.Discover(c.Context, p, c.String("home"), c.String("host"), c.String("install-dir"))
			if d == nil {
				return err
			}
			password := map[string]string{"plain": "found in the file (not shown)", "base64": "found, Base64-encoded (not shown)",
				"none": "none in the file", "encrypted": "encrypted: give it with password_env or password_file"}[d.PasswordForm]
			if g.json() {
				if jerr := a.printJSON(map[string]any{"product": p.Name, "file": d.File, "read_from": where,
					"dialect": d.Source.Dialect, "database": d.Source.String(), "schema": d.Source.Schema,
					"user": d.User, "password": d.PasswordForm, "notes": d.Notes}); jerr != nil {
					return jerr
				}
			} else {
				fmt.Fprintf(a.out, "Read:      %s\nDatabase:  %s\n", where, d.Source)
				if d.Source.Schema != "" {
					fmt.Fprintf(a.out, "Schema:    %s\n", d.Source.Schema)
				}
				fmt.Fprintf(a.out, "User:      %s\nPassword:  %s\n", d.User, password)
				for _, n := range d.Notes {
					fmt.Fprintf(a.out, "Note:      %s\n", n)
				}
				fmt.Fprintf(a.out, "\nIn reauth.yaml:\n    database:\n      discover: { home: %s }\n", c.String("home"))
			}
			if errors.Is(err, products.ErrEncryptedPassword) {
				return &exitError{code: exitUsage, err: err}
			}
			return err
		},
	}
}
