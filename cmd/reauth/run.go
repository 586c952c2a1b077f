package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/reauth/reauth/restart"
	"github.com/reauth/reauth/runbook"
)

func (a *app) runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "the whole job: plan, confirm, clear each target, roll its nodes, verify, report",
		ArgsUsage: " ",
		Description: "Plans every target (or those named), shows the plan and asks for confirmation; then, per\n" +
			"target and all targets in parallel: backs up and clears the remember-me tokens in scope,\n" +
			"restarts the nodes one at a time, and verifies the result. Ends with a report (Markdown;\n" +
			"JSON with --output json), also written next to the backups. A run that halts at a node\n" +
			"exits 3; --resume continues it without clearing twice.\n\n" +
			"Examples:\n" +
			"  reauth run --dry-run\n" +
			"  reauth run --reason INC-1234\n" +
			"  reauth run --target jira --target confluence --except admin --yes\n" +
			"  reauth run --resume",
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "target", Aliases: []string{"t"}, Usage: "only this target (`NAME`; repeatable; default: all)"},
			&cli.IntFlag{Name: "batch-size", Usage: "rows per backup-and-delete transaction (default: 50000 on PostgreSQL and MySQL/MariaDB, 10000 on Oracle, 4000 on SQL Server)"},
			&cli.BoolFlag{Name: "resume", Usage: "continue a run that halted, without clearing again"},
			allowSSOLeft,
		}, scopeFlags()...),
		Action: a.runAction,
	}
}

func (a *app) runAction(c *cli.Context) error {
	g, err := readGlobals(c)
	if err != nil {
		return err
	}
	if c.Args().Present() {
		return usageError("run takes no arguments (got %q)", c.Args().First())
	}
	batch := 0
	if c.IsSet("batch-size") {
		if batch = c.Int("batch-size"); batch < 1 || batch > 1000000 {
			return usageError("--batch-size %d: use 1 to 1000000", batch)
		}
	}
	scope, err := readScope(c)
	if err != nil {
		return err
	}
	cfg, p, err := a.openPlan(c, g, c.StringSlice("target"), scope, true)
	if err != nil {
		return err
	}
	defer p.Close()
	p.CheckNodes(c.Context)
	for _, t := range p.Targets {
		t.Error = a.redact(t.Error)
	}
	resume := c.Bool("resume")
	run := runbook.NewRun(cfg, g.reason, a.redact)
	// What a second run would race for is held before anything is read or asked: the
	// halted-run state, the plan shown and the confirmation are then this run's alone.
	show := func() error {
		if pending := p.PendingRuns(); len(pending) > 0 && !resume {
			return fmt.Errorf("%w: a run halted part-way on %v: continue it with `reauth --config %s run --resume`", runbook.ErrResumeState, pending, cfg.Path)
		}
		switch {
		case g.json() && g.dryRun:
			if err := a.printJSON(p); err != nil {
				return err
			}
		case !g.json():
			a.printPlan(p)
		}
		if !p.Ready() {
			return planError(p)
		}
		if g.dryRun {
			return nil
		}
		if g.json() && !g.yes {
			fmt.Fprintf(a.err, "Will clear the remember-me tokens in scope and restart the nodes of %d targets in environment %s\n", len(p.Targets), p.Environment)
		} else if !g.json() {
			fmt.Fprintf(a.out, "\nWill back up and DELETE the remember-me tokens in scope, then restart each target's nodes one at a time.\n\n")
		}
		return nil
	}
	if !g.dryRun {
		var needs []runbook.Need
		for _, t := range p.Targets {
			needs = append(needs, runbook.Need{Target: t.Name, Table: t.Conn(), Nodes: cfg.NodesOf(t.Name)})
		}
		release, err := a.acquire(c.Context, g, cfg, run, hold{action: "run", needs: needs, show: show})
		if err != nil {
			return err
		}
		defer release()
	} else if err := show(); err != nil {
		return err
	}
	if g.dryRun {
		fmt.Fprintf(a.out, "\nDry run: nothing was changed. Without --dry-run, reauth would, per target and all targets at once:\n"+
			"  1. back up and delete the tokens in scope (as `reauth clear --dry-run` details);\n"+
			"  2. restart the target's nodes one at a time (as `reauth restart --dry-run` details);\n"+
			"  3. verify: no token in scope from before the run, every node RUNNING and restarted;\n"+
			"  4. print and save the report.\n")
		return nil
	}
	resumeCmd := fmt.Sprintf("reauth --config %s run --resume", cfg.Path)
	pr := a.newProgress()
	clears := map[string]func(int64){}
	for _, t := range p.Targets {
		clears[t.Name] = pr.counter("clear "+t.Name, "rows", t.InScope)
	}
	rep := p.Run(c.Context, run, runbook.RunOptions{
		BatchSize: batch, LockedReads: lockedReads(), Tool: version(), Resume: resume, ResumeCmd: resumeCmd,
		Progress: func(target string, done int64) { clears[target](done) },
		Event: func(target string, e restart.Event) {
			pr.line("%s  %-12s %-20s %-9s %s", e.Time.Format("15:04:05.000"), target, e.Node, e.Step, e.Detail)
		},
	})
	pr.done()
	md := a.redact(rep.Markdown())
	base := filepath.Join(cfg.BackupDir, run.ID+"-report")
	if err := os.WriteFile(base+".md", []byte(md), 0o600); err != nil {
		fmt.Fprintf(a.err, "reauth: could not save the report: %v\n", err)
	}
	if js, err := jsonBytes(rep); err != nil {
		fmt.Fprintf(a.err, "reauth: could not save the JSON report: %v\n", err)
	} else if err := os.WriteFile(base+".json", []byte(a.redact(string(js))), 0o600); err != nil {
		fmt.Fprintf(a.err, "reauth: could not save the JSON report: %v\n", err)
	}
	if g.json() {
		if err := a.printJSON(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.out, "\n%s\nReport saved: %s.md\n", md, base)
	}
	err = rep.Err()
	var (
		halt     *restart.HaltError
		stepHalt *runbook.StepHaltError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &halt):
		return &exitError{code: exitHalted, err: fmt.Errorf("%w; once the node is fixed and RUNNING, resume with `%s`", err, resumeCmd)}
	case errors.As(err, &stepHalt):
		return &exitError{code: exitHalted, err: fmt.Errorf("%w; resume with `%s`", err, resumeCmd)}
	}
	return err
}
