package runbook

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/reauth/reauth/products"
	"github.com/reauth/reauth/tokens"
)

// targetKind is what differs between an Atlassian target (remember-me rows in a database
// table, sessions in the nodes' memory, ended by a rolling restart) and a GitLab one (sessions
// in Redis and remember-me in PostgreSQL, ended at once). The plan, the run and verify call it
// and never ask which product a target is.
type targetKind interface {
	// prepare connects and counts what is in scope, for the plan; it changes nothing.
	prepare(ctx context.Context, p *Plan, tp *TargetPlan) error
	// run makes the change and verifies it, filling tr.
	run(ctx context.Context, p *Plan, run *Run, tp *TargetPlan, o RunOptions, started time.Time, tr *TargetReport) error
	// verify checks the target from scratch for anything from before since.
	verify(ctx context.Context, p *Plan, tp *TargetPlan, since time.Time) (VerifyResult, error)
	// restarts says whether a run restarts the target's nodes.
	restarts() bool
	// close closes what prepare opened.
	close(tp *TargetPlan)
}

// atlassianKind is an Atlassian product's target.
type atlassianKind struct{}

func (atlassianKind) restarts() bool { return true }

func (atlassianKind) close(tp *TargetPlan) {
	if tp.conn != nil {
		tp.conn.Close()
	}
}

// gitlab reports whether the target is GitLab.
func (t *TargetConfig) gitlab() bool { return products.IsGitLab(t.Product) }

// prepare, for an Atlassian target: resolve and connect its database, find the token table
// and count the tokens in scope.
func (atlassianKind) prepare(ctx context.Context, p *Plan, tp *TargetPlan) error {
	t, err := p.cfg.Prepare(ctx, tp.Name)
	if err != nil {
		return err
	}
	tp.Database = t.Source.String()
	tp.Warnings = append(tp.Warnings, t.Warnings...)
	tp.transport("database", t.Source.Transport())
	conn, err := t.Connect(ctx)
	if err != nil {
		return err
	}
	tp.conn = conn
	tp.Table = conn.Tokens.Table.String()
	for _, r := range conn.Tokens.Relied {
		tp.Warnings = append(tp.Warnings, "relied on: "+r)
	}
	n, err := conn.Count(ctx, p.scope)
	if err != nil {
		return fmt.Errorf("target %s: %w", tp.Name, err)
	}
	tp.Tokens, tp.InScope = n.Total, n.InScope
	tp.Warnings = append(tp.Warnings, conn.Notes()...)
	if tp.SSO, err = conn.SSO(ctx); err != nil {
		tp.Warnings = append(tp.Warnings, fmt.Sprintf("could not read the identity providers of Atlassian's SSO app: %v", err))
	}
	tp.Warnings = append(tp.Warnings, p.ssoLeft(tp)...)
	if mem, err := conn.InMemory(ctx); err != nil {
		tp.Warnings = append(tp.Warnings, fmt.Sprintf("could not read where %s keeps its sessions: %v", conn.Target.Product.Title, err))
	} else if mem {
		t := conn.Target.Product.Tokens
		what := t.Holds
		if what == "" {
			what = "remember-me tokens"
		}
		tp.Warnings = append(tp.Warnings, fmt.Sprintf("%s keeps its %s in memory (%s %s/%s = %s): %s holds none of them, and only the restart of %s's nodes ends them",
			conn.Target.Product.Title, what, t.InMemory.Table, t.InMemory.Key, t.InMemory.Name, t.InMemory.Value, conn.Tokens.Table, tp.Name))
	}
	if n.InScope == 0 && (len(p.scope.Users) > 0 || len(p.scope.Groups) > 0) {
		tp.Warnings = append(tp.Warnings, "no remember-me token is in scope: the users named hold none, so nothing would be deleted")
	}
	for _, f := range interruptedBackups(p.cfg.BackupDir, tp.Name) {
		tp.Warnings = append(tp.Warnings, fmt.Sprintf("an interrupted run left %s: its rows up to the last checkpoint may be deleted; check them with `reauth restore --dry-run %s`", f, f))
	}
	if conn.Tokens.Unconfirmed {
		return fmt.Errorf("target %s: %w: %s", tp.Name, tokens.ErrUnconfirmed, strings.Join(conn.Tokens.Relied, "; "))
	}
	return nil
}
