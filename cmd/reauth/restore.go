package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/reauth/reauth/runbook"
)

func (a *app) restoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "verify a backup, then insert its rows back (rows already present are left alone)",
		ArgsUsage: "FILE",
		Description: "Verifies the file's checksum and manifest from end to end before inserting anything, and\n" +
			"refuses a file that was changed, cut short, or taken from another environment, product or\n" +
			"table, a file the audit log does not show reauth writing (see --unlogged), and a file\n" +
			"holding a row outside the scope its manifest records. Rows whose key is already in the table are skipped, so restoring twice is harmless.\n" +
			"A FILE ending in .partial, left by a run that was killed, is restored up to its last\n" +
			"checkpoint: the rows after it were never deleted.\n\n" +
			"Example: reauth restore reauth-backups/jira-20261123T101500Z-3fa2c1d9e0b4.backup.jsonl",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "target", Aliases: []string{"t"}, Usage: "restore into this target (`NAME`) instead of the one the backup names"},
			&cli.BoolFlag{Name: "unlogged", Usage: "restore a backup the audit log does not record (the log was lost, or the file comes from another jump host); its checksums and scope are still checked"},
		},
		Action: func(c *cli.Context) error {
			g, err := readGlobals(c)
			if err != nil {
				return err
			}
			if c.Args().Len() != 1 {
				return usageError("restore takes exactly one backup FILE (got %d arguments)", c.Args().Len())
			}
			cfg, err := a.loadConfig(g)
			if err != nil {
				return err
			}
			rp, err := runbook.PlanRestore(c.Context, cfg, c.Args().First(), c.String("target"), c.Bool("unlogged"))
			if err != nil {
				return err
			}
			defer rp.Close()
			s := rp.Summary
			if !g.json() || g.dryRun {
				if !g.json() {
					fmt.Fprintf(a.out, "Backup:  %s\n         %d rows, sha256 %s, verified\n", s.Path, s.Rows, s.SHA256)
					if s.Partial {
						fmt.Fprintf(a.out, "         written by a run that did not finish: restoring the rows up to its last checkpoint\n")
					}
					fmt.Fprintf(a.out, "Taken:   %s from %s (%s), table %s, scope: %s\n", rp.Manifest.Created.Format("2006-01-02 15:04:05Z07:00"),
						rp.Manifest.Target, rp.Manifest.Environment, rp.Manifest.Table, rp.Manifest.Scope)
					fmt.Fprintf(a.out, "Into:    target %s, table %s (%d rows there now)\n\n", rp.Target.Name, rp.Target.Table, rp.Target.Tokens)
				}
			}
			if g.dryRun {
				if g.json() {
					return a.printJSON(map[string]any{"dry_run": true, "backup": s.Path, "sha256": s.SHA256, "rows": s.Rows,
						"partial": s.Partial, "target": rp.Target.Name, "table": rp.Target.Table, "restored": 0, "skipped": 0})
				}
				fmt.Fprintf(a.out, "Dry run: nothing was changed. Without --dry-run, reauth would insert the backup's rows whose keys are not in the table.\n")
				return nil
			}
			if g.json() && !g.yes {
				fmt.Fprintf(a.err, "Will restore the %d rows of %s (sha256 %s, verified) into table %s of target %s, skipping keys already there\n",
					s.Rows, s.Path, s.SHA256, rp.Target.Table, rp.Target.Name)
			}
			run := runbook.NewRun(cfg, g.reason, a.redact)
			release, err := a.acquire(c.Context, g, cfg, run, hold{
				action: "restore into " + rp.Target.Name,
				needs:  []runbook.Need{{Target: rp.Target.Name, Table: rp.Target.Conn()}},
			})
			if err != nil {
				return err
			}
			defer release()
			pr := a.newProgress()
			res, err := rp.Execute(c.Context, run, pr.counter("restore", "rows", s.Rows))
			pr.done()
			if errors.Is(err, runbook.ErrAudit) {
				return fmt.Errorf("%w; the restore itself completed: %d rows restored, %d already there", err, res.Restored, res.Skipped)
			}
			if err != nil {
				return fmt.Errorf("%w (%d rows restored before the failure; run restore again: rows already present are skipped)", err, res.Restored)
			}
			if g.json() {
				return a.printJSON(res)
			}
			fmt.Fprintf(a.out, "Restored %d rows into %s (target %s); %d were already there and left alone.\n", res.Restored, res.Table, res.Target, res.Skipped)
			return nil
		},
	}
}
