package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/reauth/reauth/restart"
	"github.com/reauth/reauth/runbook"
)

func (a *app) restartCommand() *cli.Command {
	return &cli.Command{
		Name:      "restart",
		Usage:     "rolling restart of a target's nodes, one at a time, so in-memory sessions die",
		ArgsUsage: " ",
		Description: "Checks every node first (SSH with a known host key, RUNNING now), then per node: stop,\n" +
			"wait until it stops answering, remove Tomcat's SESSIONS.ser under restart.install_dir,\n" +
			"start, wait for the status endpoint to say RUNNING, stay RUNNING for restart.settle,\n" +
			"next node. Before a node goes down every other node must be RUNNING, so a target never\n" +
			"has two nodes down. A node that does not come back halts the restart (exit 3) and\n" +
			"leaves the rest untouched; --resume continues from there once it is fixed.\n\n" +
			"Examples:\n" +
			"  reauth restart --target jira --dry-run\n" +
			"  reauth restart --target jira --reason INC-1234\n" +
			"  reauth restart --target jira --node jira2.example.com --yes\n" +
			"  reauth restart --target jira --resume",
		Flags: []cli.Flag{
			targetFlag(),
			&cli.StringSliceFlag{Name: "node", Usage: "restart only this node (`HOST` as in the config; repeatable)"},
			&cli.BoolFlag{Name: "resume", Usage: "continue a restart that halted, skipping the nodes it finished"},
		},
		Action: a.restartAction,
	}
}

func (a *app) restartAction(c *cli.Context) error {
	g, err := readGlobals(c)
	if err != nil {
		return err
	}
	if c.Args().Present() {
		return usageError("restart takes no arguments (got %q)", c.Args().First())
	}
	target, err := requireTarget(c)
	if err != nil {
		return err
	}
	cfg, err := a.loadConfig(g)
	if err != nil {
		return err
	}
	spec, err := cfg.RestartSpec(target)
	if err != nil {
		return err
	}
	only := c.StringSlice("node")
	for _, h := range only {
		found := false
		for _, n := range spec.Nodes {
			found = found || n.Host == h
		}
		if !found {
			return usageError("--node %q is not a node of target %s", h, target)
		}
	}
	resume := c.Bool("resume")
	run := runbook.NewRun(cfg, g.reason, a.redact)
	resumeCmd := fmt.Sprintf("reauth --config %s restart --target %s --resume", cfg.Path, target)
	for _, h := range only {
		resumeCmd += " --node " + h
	}
	var (
		st     *runbook.RestartState
		roller *restart.Roller
		pr     *progress
	)
	// show reads the halted-restart state and runs the preflight. Without --dry-run it runs
	// once every lock is held (this host's, the table's, every node's), so that no other
	// reauth can be restarting these nodes meanwhile.
	show := func() error {
		var exists bool
		var err error
		st, exists, err = cfg.LoadRestartState(target)
		if err != nil {
			return err
		}
		switch {
		case exists && !resume:
			return fmt.Errorf("%w: a restart of %s that halted is on record (%d nodes done: %v): continue it with `%s`, or delete %s if its nodes were dealt with by hand",
				runbook.ErrResumeState, target, len(st.Done), st.Done, resumeCmd, cfg.StatePath(target))
		case !exists && resume:
			return fmt.Errorf("%w: there is no halted restart of %s to resume (%s does not exist)", runbook.ErrResumeState, target, cfg.StatePath(target))
		}
		pr = a.newProgress()
		nodes := pr.counter("restart "+target, "nodes", int64(len(spec.Nodes)))
		var settled int64
		roller, err = cfg.Roller(func(e restart.Event) {
			pr.line("%s  %-20s %-9s %s", e.Time.Format("15:04:05.000"), e.Node, e.Step, e.Detail)
			if e.Step == "settled" {
				settled++
				nodes(settled)
			}
		})
		if err != nil {
			return err
		}
		checks, perr := roller.Preflight(c.Context, spec)
		if !g.json() {
			fmt.Fprintf(a.out, "Target %s (%s), environment %s: %d nodes\n", target, spec.Product, cfg.Environment, len(spec.Nodes))
			for _, ch := range checks {
				line := string(ch.State)
				if ch.Error != "" {
					line += ": " + ch.Error
				}
				fmt.Fprintf(a.out, "  %-24s %s\n", ch.Host, line)
				if ch.Persistence != "" {
					fmt.Fprintf(a.out, "  %-24s Tomcat persists sessions (%s): SESSIONS.ser will be removed while it is stopped\n", "", ch.Persistence)
				}
			}
			if resume {
				fmt.Fprintf(a.out, "Resuming run %s: already restarted: %v\n", st.RunID, st.Done)
			}
		}
		if perr != nil {
			return fmt.Errorf("preflight failed, no node was touched: %w", perr)
		}
		if g.dryRun {
			return nil
		}
		if !g.json() {
			fmt.Fprintf(a.out, "\nWill restart the nodes of %s one at a time (settle %s).\n\n", target, spec.Settle)
		} else if !g.yes {
			fmt.Fprintf(a.err, "Will restart the nodes of %s one at a time (settle %s)\n", target, spec.Settle)
		}
		return nil
	}
	defer func() {
		if pr != nil {
			pr.done()
		}
	}()
	if g.dryRun {
		if err := show(); err != nil {
			return err
		}
		return a.printRestartSteps(g, spec, st.DoneSet(), only)
	}
	release, err := a.acquire(c.Context, g, cfg, run, hold{
		action: "restart the nodes of " + target,
		needs:  []runbook.Need{{Target: target, TableIfReachable: true, Nodes: spec.Nodes}},
		show:   show,
	})
	if err != nil {
		return err
	}
	defer release()
	res, err := runbook.RollTarget(c.Context, cfg, run, roller, spec, st, only, resumeCmd)
	if g.json() {
		if jerr := a.printJSON(res); jerr != nil {
			return jerr
		}
	} else {
		for _, n := range res.Nodes {
			if !n.SettledAt.IsZero() {
				fmt.Fprintf(a.out, "  %-24s stopped %s, down %s, started %s, RUNNING %s, settled %s\n", n.Host,
					clock(n.StopAt), clock(n.DownAt), clock(n.StartAt), clock(n.RunningAt), clock(n.SettledAt))
			}
		}
	}
	var halt *restart.HaltError
	if errors.As(err, &halt) {
		return &exitError{code: exitHalted, err: fmt.Errorf("%w; restarted: %v; not touched: %v; once node %s is fixed and RUNNING, resume with `%s`",
			err, halt.Done, halt.Untouched, faultyNode(halt), resumeCmd)}
	}
	if err != nil {
		return err
	}
	if !g.json() {
		fmt.Fprintf(a.out, "All %d nodes of %s restarted; sessions held in their memory are gone.\n", len(res.Nodes), target)
	}
	return nil
}

func clock(t time.Time) string { return t.Format("15:04:05.000") }

// printRestartSteps prints, for --dry-run, exactly what each node would go through.
func (a *app) printRestartSteps(g globals, spec restart.Spec, done map[string]bool, only []string) error {
	want := map[string]bool{}
	for _, h := range only {
		want[h] = true
	}
	type step struct {
		Node  string   `json:"node"`
		Steps []string `json:"steps"`
	}
	var plan []step
	for _, n := range spec.Ordered() {
		if done[n.Host] || (len(only) > 0 && !want[n.Host]) {
			continue
		}
		s := step{Node: n.Host}
		s.Steps = append(s.Steps, "check every other node is RUNNING")
		s.Steps = append(s.Steps, fmt.Sprintf("ssh %s: %s (at most %s)", n.Host, spec.Stop, spec.StopTimeout))
		s.Steps = append(s.Steps, fmt.Sprintf("wait until %s%s stops answering", n.URL, spec.Probe.Path))
		if spec.InstallDir != "" && spec.Tomcat {
			s.Steps = append(s.Steps, fmt.Sprintf("ssh %s: remove every SESSIONS.ser under %s/work", n.Host, spec.InstallDir))
		}
		s.Steps = append(s.Steps, fmt.Sprintf("ssh %s: %s", n.Host, spec.Start))
		s.Steps = append(s.Steps, fmt.Sprintf("wait until %s%s says RUNNING (at most %s after the start), then stays RUNNING for %s", n.URL, spec.Probe.Path, spec.StartTimeout, spec.Settle))
		plan = append(plan, s)
	}
	if g.json() {
		return a.printJSON(map[string]any{"dry_run": true, "target": spec.Target, "nodes": plan})
	}
	fmt.Fprintf(a.out, "\nDry run: nothing was changed. Without --dry-run, reauth would, one node at a time:\n")
	for i, s := range plan {
		fmt.Fprintf(a.out, "  node %d: %s\n", i+1, s.Node)
		for _, line := range s.Steps {
			fmt.Fprintf(a.out, "    - %s\n", line)
		}
	}
	return nil
}

// faultyNode is the node to fix after a halt: the one that did not come back, or another one
// found unhealthy before the next stop.
func faultyNode(h *restart.HaltError) string {
	var ne *restart.NodeError
	if errors.As(h.Err, &ne) {
		return ne.Node
	}
	return h.Node
}
