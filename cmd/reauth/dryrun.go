package main

import (
	"fmt"

	"github.com/reauth/reauth/runbook"
)

// dryRunResult is the JSON a --dry-run of backup or clear prints.
type dryRunResult struct {
	DryRun    bool     `json:"dry_run"`
	Action    string   `json:"action"`
	Target    string   `json:"target"`
	Table     string   `json:"table"`
	Scope     string   `json:"scope"`
	InScope   int64    `json:"in_scope"`
	BackedUp  int64    `json:"backed_up"`
	Deleted   int64    `json:"deleted"`
	Backup    string   `json:"backup"`
	BatchSize int      `json:"batch_size,omitempty"`
	Warnings  []string `json:"warnings"`
}

func (a *app) printDryRun(g globals, p *runbook.Plan, tp *runbook.TargetPlan, action, path string, batch int) error {
	r := dryRunResult{DryRun: true, Action: action, Target: tp.Name, Table: tp.Table, Scope: p.Scope,
		InScope: tp.InScope, Backup: path, Warnings: tp.Warnings}
	if action == "clear" {
		r.BatchSize = batch
	}
	if g.json() {
		return a.printJSON(r)
	}
	a.printPlan(p)
	fmt.Fprintf(a.out, "\nDry run: nothing was changed. Without --dry-run, reauth would:\n")
	fmt.Fprintf(a.out, "  1. append a line to the audit log %s\n", "(action "+action+", outcome started)")
	if action == "clear" {
		batches := (tp.InScope + int64(batch) - 1) / int64(batch)
		fmt.Fprintf(a.out, "  2. in %d transaction(s) of up to %d rows: write the rows in scope to %s, fsync, then delete exactly those rows\n", batches, batch, path)
		fmt.Fprintf(a.out, "     (%d rows of %s now in scope)\n", tp.InScope, tp.Table)
	} else {
		fmt.Fprintf(a.out, "  2. write the %d rows in scope of %s to %s\n", tp.InScope, tp.Table, path)
	}
	fmt.Fprintf(a.out, "  3. append the outcome to the audit log\n")
	return nil
}
