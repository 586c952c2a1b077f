package main

import (
	"fmt"
	"time"

	"github.com/reauth/reauth/runbook"
	"github.com/reauth/reauth/tokens"
	"github.com/urfave/cli/v2"
)

func (a *app) sessionsPrune(c *cli.Context) error {
	g, err := readGlobals(c)
	if err != nil {
		return err
	}
	target, err := requireTarget(c)
	if err != nil {
		return err
	}
	max := c.Int("max-per-user")
	if max < 1 {
		return usageError("--max-per-user %d: keep at least 1", max)
	}
	var older time.Duration
	if v := c.String("older-than"); v != "" {
		if older, err = runbook.ParseDuration(v); err != nil {
			return usageError("--older-than: %v", err)
		}
	}
	cfg, p, err := a.openPlan(c, g, []string{target}, tokens.Scope{Users: c.StringSlice("user")}, false)
	if err != nil {
		return err
	}
	defer p.Close()
	tp := p.Targets[0]
	if !tp.Ready {
		return tp.Err()
	}
	gc := tp.GitLab()
	if gc == nil {
		return usageError("sessions prune is for GitLab targets; Atlassian products keep sessions in memory")
	}
	dry, err := gc.Store.CountPrune(c.Context, gc.Users, max, older)
	if err != nil {
		return err
	}
	n := 0
	for _, r := range dry {
		n += r.Sessions
	}
	if g.dryRun {
		if g.json() {
			return a.printJSON(map[string]any{"dry_run": true, "target": target, "sessions": n, "users": dry})
		}
		fmt.Fprintf(a.out, "Dry run: would prune %d sessions of %d users (keep %d per user). Nothing was changed.\n", n, len(dry), max)
		return nil
	}
	run := runbook.NewRun(cfg, g.reason, a.redact)
	release, err := a.acquire(c.Context, g, cfg, run, hold{
		action: fmt.Sprintf("prune %d sessions", n),
		needs:  []runbook.Need{{Target: target}},
	})
	if err != nil {
		return err
	}
	defer release()
	res, err := gc.Store.Prune(c.Context, gc.Users, max, older)
	n = 0
	for _, r := range res {
		n += r.Sessions
	}
	outcome := "ok"
	if err != nil {
		outcome = "failed"
	}
	if aerr := run.Audit(runbook.AuditEntry{Target: target, Action: "prune-sessions", Outcome: outcome,
		Scope: fmt.Sprintf("max %d per user, older than %s", max, older), Counts: map[string]int64{"sessions": int64(n), "users": int64(len(res))}}); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		return err
	}
	if g.json() {
		return a.printJSON(map[string]any{"target": target, "sessions": n, "users": res})
	}
	fmt.Fprintf(a.out, "Pruned %d sessions of %d users.\n", n, len(res))
	return nil
}
