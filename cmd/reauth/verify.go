package main

import (
	"fmt"

	"github.com/reauth/reauth/runbook"
	"github.com/urfave/cli/v2"
)

func (a *app) verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "prove the result: no token in scope from before TIME, every node RUNNING and restarted since",
		ArgsUsage: " ",
		Description: "Checks that no remember-me row in scope was created before --since, that no row of the\n" +
			"clear backups taken since is back in the table, and that every node is RUNNING and has\n" +
			"a restart after --since in the audit log. Exit 0 only if all hold.\n\n" +
			"Example: reauth verify --target jira --since 2026-11-23T10:00:00Z",
		Flags: append([]cli.Flag{
			targetFlag(),
			&cli.StringFlag{Name: "since", Usage: "the run's start, RFC 3339 (`TIME`, e.g. 2026-11-23T10:00:00Z)"},
		}, scopeFlags()...),
		Action: func(c *cli.Context) error {
			g, err := readGlobals(c)
			if err != nil {
				return err
			}
			target, err := requireTarget(c)
			if err != nil {
				return err
			}
			since, err := parseTime(c.String("since"))
			if err != nil {
				return err
			}
			scope, err := readScope(c)
			if err != nil {
				return err
			}
			if scope.OlderThan > 0 {
				return usageError("verify takes --since, not --older-than")
			}
			_, p, err := a.openPlan(c, g, []string{target}, scope, false)
			if err != nil {
				return err
			}
			defer p.Close()
			tp := p.Targets[0]
			if tp.Conn() == nil && tp.GitLab() == nil {
				if err := tp.Err(); err != nil {
					return err
				}
				return &exitError{code: exitFailed, err: fmt.Errorf("verify %s: the target could not be opened: nothing was examined", target)}
			}
			v, err := p.Verify(c.Context, tp, since)
			if err != nil {
				return err
			}
			if g.json() {
				if err := a.printJSON(v); err != nil {
					return err
				}
			} else {
				a.printVerify(v)
			}
			if !v.OK {
				return &exitError{code: exitFailed, err: fmt.Errorf("verify %s: %d problems: %s", target, len(v.Problems), v.Problems[0])}
			}
			return nil
		},
	}
}

func (a *app) printVerify(v runbook.VerifyResult) {
	fmt.Fprintf(a.out, "Target %s, since %s\n", v.Target, v.Since.Format("2006-01-02T15:04:05Z07:00"))
	if g := v.GitLab; g != nil {
		fmt.Fprintf(a.out, "  session records from before (or of unknown age): %d\n", g.Records)
		fmt.Fprintf(a.out, "  lookup ids of no new login:                     %d\n", g.LookupIDs)
		fmt.Fprintf(a.out, "  Rails sessions of users in scope:               %d\n", g.RailsSessions)
		fmt.Fprintf(a.out, "  Rails sessions reauth cannot read:              %d\n", g.Unreadable)
		fmt.Fprintf(a.out, "  users with remember-me from before:             %d\n", g.Remember)
		fmt.Fprintf(a.out, "  new logins since:                               %d\n", g.NewLogins)
	} else if v.OldTokens >= 0 {
		fmt.Fprintf(a.out, "  tokens in scope created before: %d\n", v.OldTokens)
	} else {
		fmt.Fprintf(a.out, "  tokens in scope created before: (the table has no creation time)\n")
	}
	if v.GitLab == nil {
		fmt.Fprintf(a.out, "  cleared rows back in the table: %d (%d backups checked)\n", v.ClearedLeft, len(v.Backups))
	}
	for _, n := range v.Nodes {
		restarted := "no restart since"
		if !n.RestartedAt.IsZero() {
			restarted = "RUNNING again at " + n.RestartedAt.Format("15:04:05")
		}
		fmt.Fprintf(a.out, "  node %-24s %s, %s\n", n.Host, n.State, restarted)
	}
	if v.OK {
		fmt.Fprintf(a.out, "Verified: users in scope must log in again.\n")
	}
	for _, n := range v.Notes {
		fmt.Fprintf(a.out, "  note: %s\n", n)
	}
	for _, pr := range v.Problems {
		fmt.Fprintf(a.out, "  PROBLEM: %s\n", pr)
	}
}
