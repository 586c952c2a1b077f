package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/reauth/reauth/runbook"
)

func (a *app) planCommand() *cli.Command {
	return &cli.Command{
		Name:      "plan",
		Usage:     "read-only preflight: can a run start, and what would it touch?",
		ArgsUsage: " ",
		Description: "Connects to each target's database (all targets unless --target is given), finds the\n" +
			"remember-me table by its exact name, and counts the tokens in scope. Changes nothing.\n" +
			"Exits 0 only if a run could start.\n\n" +
			"Example: reauth plan --target jira --older-than 30d",
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "target", Aliases: []string{"t"}, Usage: "only this target (`NAME`; repeatable)"},
			allowSSOLeft,
		}, scopeFlags()...),
		Action: func(c *cli.Context) error {
			g, err := readGlobals(c)
			if err != nil {
				return err
			}
			if c.Args().Present() {
				return usageError("plan takes no arguments (got %q)", c.Args().First())
			}
			scope, err := readScope(c)
			if err != nil {
				return err
			}
			a.planning = true
			_, p, err := a.openPlan(c, g, c.StringSlice("target"), scope, true)
			if err != nil {
				return err
			}
			defer p.Close()
			p.CheckNodes(c.Context)
			if g.json() {
				if err := a.printJSON(p); err != nil {
					return err
				}
			} else {
				a.printPlan(p)
			}
			if !p.Ready() {
				return planError(p)
			}
			return nil
		},
	}
}

// planError is the error a plan that is not ready exits with: usage (2) when every failure is
// the operator's to fix, else failed (1). Its one line names each target and why.
func planError(p *runbook.Plan) error {
	code := exitUsage
	var why []string
	for _, t := range p.Targets {
		if t.Ready {
			continue
		}
		if !inputError(t.Err()) {
			code = exitFailed
		}
		why = append(why, t.Err().Error())
	}
	if len(p.Targets) == 1 {
		return &exitError{code: code, err: p.Targets[0].Err()}
	}
	return &exitError{code: code, err: fmt.Errorf("not ready: %d of %d targets cannot run: %s", len(why), len(p.Targets), strings.Join(why, "; "))}
}

func (a *app) printPlan(p *runbook.Plan) {
	fmt.Fprintf(a.out, "Environment: %s\nScope:       %s\n", p.Environment, p.Scope)
	for _, t := range p.Targets {
		state := "ready"
		if !t.Ready {
			state = "NOT READY"
		}
		fmt.Fprintf(a.out, "\n%s (%s): %s\n", t.Name, t.Product, state)
		if t.Database != "" {
			fmt.Fprintf(a.out, "  database:  %s\n", t.Database)
			for _, tr := range t.Transport {
				fmt.Fprintf(a.out, "  network:   %s\n", tr)
			}
		}
		if t.Table != "" {
			fmt.Fprintf(a.out, "  table:     %s\n", t.Table)
			fmt.Fprintf(a.out, "  tokens:    %d, in scope: %d\n", t.Tokens, t.InScope)
		}
		for _, n := range t.Nodes {
			fmt.Fprintf(a.out, "  node:      %-24s %s\n", n.Host, n.State)
		}
		for _, i := range t.SSO {
			state := ""
			if !i.Enabled {
				state = " (disabled)"
			}
			kind := i.Type
			if i.Crowd {
				kind = "Crowd SSO (SAML)"
			}
			fmt.Fprintf(a.out, "  sso:       %s %q, %s%s\n", kind, i.Name, i.Where(), state)
		}
		for _, w := range t.Warnings {
			fmt.Fprintf(a.out, "  warning:   %s\n", w)
		}
		if t.Error != "" {
			fmt.Fprintf(a.out, "  error:     %s\n", t.Error)
		}
	}
}
