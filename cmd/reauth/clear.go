package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/reauth/reauth/runbook"
	"github.com/reauth/reauth/tokens"
)

func (a *app) clearCommand() *cli.Command {
	return &cli.Command{
		Name:      "clear",
		Usage:     "back up, then delete, the remember-me tokens in scope (no restart)",
		ArgsUsage: " ",
		Description: "Shows the plan, asks for confirmation (type the environment name, or --yes), then\n" +
			"clears in batches: each batch is written to the backup file and made durable before its\n" +
			"delete commits, in the same transaction (on MariaDB, DELETE ... RETURNING deletes the\n" +
			"batch and returns its rows; REAUTH_DELETE_RETURNING=off reads and locks them first, as on\n" +
			"MySQL). Undo with `reauth restore FILE`.\n\n" +
			"Sessions held in the nodes' memory stay valid until each node restarts (reauth restart).\n\n" +
			"Examples:\n" +
			"  reauth clear --target jira --reason INC-1234\n" +
			"  reauth clear --target jira --user alice --user bob --yes\n" +
			"  reauth clear --target confluence --older-than 30d --except admin --dry-run",
		Flags: append([]cli.Flag{
			targetFlag(),
			&cli.IntFlag{Name: "batch-size", Usage: "rows per backup-and-delete transaction (default: 50000 on PostgreSQL and MySQL/MariaDB, 10000 on Oracle, 4000 on SQL Server)"},
		}, scopeFlags()...),
		Action: func(c *cli.Context) error { return a.backupOrClear(c, "clear") },
	}
}

// backupOrClear runs the backup or clear command: plan, show, confirm (clear), execute, report.
func (a *app) backupOrClear(c *cli.Context, action string) error {
	g, err := readGlobals(c)
	if err != nil {
		return err
	}
	if c.Args().Present() {
		return usageError("%s takes no arguments (got %q)", action, c.Args().First())
	}
	batch := 0 // the database's default
	if c.IsSet("batch-size") {
		batch = c.Int("batch-size")
		if batch < 1 || batch > 1000000 {
			return usageError("--batch-size %d: use 1 to 1000000", batch)
		}
	}
	target, err := requireTarget(c)
	if err != nil {
		return err
	}
	scope, err := readScope(c)
	if err != nil {
		return err
	}
	cfg, p, err := a.openPlan(c, g, []string{target}, scope, false)
	if err != nil {
		return err
	}
	defer p.Close()
	tp := p.Targets[0]
	if tp.GitLab() != nil {
		return usageError("target %s is GitLab: use `reauth sessions revoke` or `reauth run`", tp.Name)
	}
	if !tp.Ready {
		if !g.json() {
			a.printPlan(p)
		}
		return tp.Err()
	}
	run := runbook.NewRun(cfg, g.reason, a.redact)
	path := p.BackupPath(tp.Name, run)
	if batch == 0 {
		batch = tp.Conn().Target.Dialect.DefaultBatch
	}
	if g.dryRun {
		return a.printDryRun(g, p, tp, action, path, batch)
	}
	if !g.json() {
		a.printPlan(p)
		verb := "back up"
		if action == "clear" {
			verb = "back up and then DELETE"
		}
		fmt.Fprintf(a.out, "\nWill %s %d remember-me rows of %s (target %s, environment %s).\nBackup file: %s\n\n",
			verb, tp.InScope, tp.Table, tp.Name, p.Environment, path)
	}
	h := hold{needs: []runbook.Need{{Target: tp.Name, Table: tp.Conn()}}}
	if action == "clear" {
		h.action = "clear the tokens of " + tp.Name
		if g.json() && !g.yes {
			// stdout holds only the JSON document: the plan goes to stderr with the prompt.
			fmt.Fprintf(a.err, "Will back up and then DELETE %d remember-me rows of %s (target %s, environment %s); backup file %s\n",
				tp.InScope, tp.Table, tp.Name, p.Environment, path)
		}
	}
	release, err := a.acquire(c.Context, g, cfg, run, h)
	if err != nil {
		return err
	}
	defer release()
	pr := a.newProgress()
	res, err := p.Execute(c.Context, run, tp, action, tokens.ClearOptions{
		BatchSize: batch, LockedReads: lockedReads(), Path: path, Tool: version(), Progress: pr.counter(action+" "+tp.Name, "rows", tp.InScope),
	})
	pr.done()
	if err != nil {
		switch {
		case errors.Is(err, runbook.ErrAudit):
			// The work itself is done; only its record is missing.
			return fmt.Errorf("%w; the %s itself completed: %d rows deleted, backup %s (sha256 %s)", err, action, res.Deleted, res.Backup, res.SHA256)
		case res.Backup != "" && action == "clear":
			return fmt.Errorf("%w; %d rows were deleted before the failure (and perhaps the batch in flight): every row that may have been deleted is in backup %s (%d rows, sha256 %s); undo with `reauth restore %s`, or run clear again to finish",
				err, res.Deleted, res.Backup, res.BackedUp, res.SHA256, res.Backup)
		case action == "clear":
			return fmt.Errorf("%w; nothing was deleted", err)
		}
		return err
	}
	if g.json() {
		return a.printJSON(res)
	}
	if action == "clear" {
		fmt.Fprintf(a.out, "Deleted %d remember-me rows of %s (target %s) in %s.\n", res.Deleted, res.Table, res.Target, plural(res.Batches, "batch", "batches"))
	} else {
		fmt.Fprintf(a.out, "Backed up %d remember-me rows of %s (target %s).\n", res.BackedUp, res.Table, res.Target)
	}
	if res.Retries > 0 {
		fmt.Fprintf(a.out, "%s aborted by the product's concurrent writes and run again.\n", plural(res.Retries, "batch was", "batches were"))
	}
	fmt.Fprintf(a.out, "Backup: %s (%d rows, sha256 %s)\n", res.Backup, res.BackedUp, res.SHA256)
	if action == "clear" {
		fmt.Fprintf(a.out, "Undo:   reauth --config %s restore %s\n", cfg.Path, res.Backup)
		fmt.Fprintf(a.out, "Sessions held in the nodes' memory (%s) stay valid until each node restarts: `reauth restart --target %s`.\n", tp.Conn().Target.Product.SessionCookie, cfg.OwnerOf(tp.Name))
	}
	for _, part := range cfg.Parts(tp.Name) {
		fmt.Fprintf(a.out, "Not included: target %s's part %s, its own table where the release has it: `reauth %s --target %s` (plan and run take both).\n", tp.Name, part, action, part)
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
