// Package runbook runs reauth's jobs from a config file: it loads and checks the config,
// prepares each target (database URL, credentials, token table), builds the plan that is shown
// before anything changes, and executes it (backup, clear, restore), writing the audit log.
package runbook

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/reauth/reauth/backup"
	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/products"
	"github.com/reauth/reauth/tokens"
)

// ErrAudit marks work that was done but whose outcome could not be written to the audit log.
var ErrAudit = errors.New("the outcome could not be written to the audit log")

// withAudit adds a failure to write the outcome's audit line to the outcome's error.
func withAudit(err, aerr error) error {
	switch {
	case aerr == nil:
		return err
	case err == nil:
		return fmt.Errorf("%w: %v", ErrAudit, aerr)
	}
	return fmt.Errorf("%w (and %v: %v)", err, ErrAudit, aerr)
}

// Plan is what a command would act on, found without changing anything. It is printed by
// `plan` and `--dry-run`, and executed by the commands that change state.
type Plan struct {
	Environment string        `json:"environment"`
	Scope       string        `json:"scope"`
	Targets     []*TargetPlan `json:"targets"`

	cfg   *Config
	scope tokens.Scope
}

// TargetPlan is one target's part of a plan.
type TargetPlan struct {
	Name     string `json:"name"`
	Product  string `json:"product"`
	Database string `json:"database,omitempty"`
	// Transport says how the connections are protected on the network (database, and Redis
	// for GitLab); each unencrypted or unchecked one is also a warning.
	Transport []string    `json:"transport,omitempty"`
	Table     string      `json:"table"`
	Tokens    int64       `json:"tokens"`
	InScope   int64       `json:"in_scope"`
	Ready     bool        `json:"ready"`
	Nodes     []NodeState `json:"nodes"`
	// SSO lists the identity providers the product signs users in through, as its database
	// shows them (Atlassian's SSO app).
	SSO      []tokens.IdP `json:"sso,omitempty"`
	Warnings []string     `json:"warnings"`
	Error    string       `json:"error,omitempty"`

	kind targetKind
	conn *tokens.Conn // an Atlassian target's database
	gl   *GitLabConn  // a GitLab target's PostgreSQL and Redis
	err  error
}

// NodeState is a node's state as preflight saw it.
type NodeState struct {
	Host  string `json:"host"`
	State string `json:"state"`
}

// transport records how one connection is protected, with a warning when it is not both
// encrypted and verified over the network.
func (tp *TargetPlan) transport(what string, tr db.Transport) {
	tp.Transport = append(tp.Transport, what+": "+tr.Note)
	if !tr.Verified && !tr.Local {
		tp.Warnings = append(tp.Warnings, what+" connection "+tr.Note)
	}
}

// Err is why the target is not ready, if it is not.
func (tp *TargetPlan) Err() error { return tp.err }

// Noun names a row of the target's table for people ("remember-me", "SSO session").
func (tp *TargetPlan) Noun() string {
	if tp.conn == nil {
		return "remember-me"
	}
	return tp.conn.Target.Product.Tokens.Kind()
}

// Conn is the target's open database connection (nil when it could not connect).
func (tp *TargetPlan) Conn() *tokens.Conn { return tp.conn }

// MakePlan prepares and connects each named target (all targets and their parts when names is
// empty) and counts its tokens in scope. It changes nothing. A target that cannot be used is in
// the plan with Ready false and its error; the caller closes the plan.
func MakePlan(ctx context.Context, cfg *Config, names []string, scope tokens.Scope) (*Plan, error) {
	if scope.Now.IsZero() {
		scope.Now = time.Now().UTC()
	}
	if len(names) == 0 {
		for _, t := range cfg.Targets {
			names = append(names, t.Name)
		}
		names = cfg.WithParts(names)
	}
	if err := backup.CheckDir(cfg.BackupDir); err != nil {
		return nil, &ConfigError{File: cfg.file, Field: "backup_dir", Msg: err.Error()}
	}
	seen := map[string]bool{}
	p := &Plan{Environment: cfg.Environment, Scope: scope.String(), cfg: cfg, scope: scope}
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		tc, err := cfg.Target(name)
		if err != nil {
			return nil, err
		}
		tp := &TargetPlan{Name: name, Product: tc.Product, Nodes: []NodeState{}, Warnings: []string{}}
		tp.err = p.prepare(ctx, tp)
		tp.Warnings = append(tp.Warnings, cfg.skipped[name]...)
		if tc.part != 0 && absentTable(tp.err) {
			// Absent, or not visible to the database user: the catalog cannot tell which.
			prod, _ := products.Lookup(tc.Product)
			part := prod.Parts[tc.part-1]
			tp.err = fmt.Errorf("%w: %s %s and later keep their %s tokens there, so the database user may lack rights on it; a %s older than %s has none: then add skip_parts: [%s] to target %s",
				tp.err, prod.Title, part.Since, part.Tokens.Kind(), prod.Title, part.Since, part.Suffix, tc.of)
		}
		p.Targets = append(p.Targets, tp)
		if tp.err != nil {
			tp.Error = tp.err.Error()
		}
		tp.Ready = tp.err == nil
	}
	return p, nil
}

// absentTable reports whether err says the database has no token table at all.
func absentTable(err error) bool {
	var te *tokens.TableError
	return errors.As(err, &te) && te.Absent
}

// ErrSSOLeft marks a target whose users sign in through another target (sso_via) that is not
// in the run: its sessions would sign them in again at once.
var ErrSSOLeft = errors.New("SSO provider not in the run")

// CheckSSOVia looks, for each target of the plan, at the target its users sign in through
// (sso_via): when that one is not in the plan, the target is not ready (ErrSSOLeft), or, with
// allowLeft, it is and says why it should not be.
func (p *Plan) CheckSSOVia(allowLeft bool) {
	in := map[string]bool{}
	for _, tp := range p.Targets {
		in[tp.Name] = true
	}
	for _, tp := range p.Targets {
		tc, err := p.cfg.Target(tp.Name)
		if err != nil || tc.SSOVia == "" || in[tc.SSOVia] {
			continue
		}
		msg := fmt.Sprintf("users of %s sign in through %s (sso_via), which is not in this run: its SSO sessions sign them in again as soon as %s's end; add --target %s",
			tp.Name, tc.SSOVia, tp.Name, tc.SSOVia)
		if allowLeft {
			tp.Warnings = append(tp.Warnings, msg)
			continue
		}
		if tp.err == nil {
			tp.fail(fmt.Errorf("%w: %s (or pass --allow-sso-left)", ErrSSOLeft, msg))
		}
	}
}

func (p *Plan) prepare(ctx context.Context, tp *TargetPlan) error {
	tp.kind = atlassianKind{}
	if tc, err := p.cfg.Target(tp.Name); err == nil && tc.gitlab() {
		tp.kind = gitlabKind{}
	}
	return tp.kind.prepare(ctx, p, tp)
}

// interruptedBackups lists .partial backup files of a target: left by a run that was killed.
func interruptedBackups(dir, target string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, target+"-*"+backup.Extension+backup.PartialSuffix))
	sort.Strings(m)
	return m
}

// Ready reports whether every target is ready, i.e. whether a run could start.
func (p *Plan) Ready() bool {
	for _, t := range p.Targets {
		if !t.Ready {
			return false
		}
	}
	return true
}

// Err joins the errors of the targets that are not ready.
func (p *Plan) Err() error {
	var errs []error
	for _, t := range p.Targets {
		if t.err != nil {
			errs = append(errs, t.err)
		}
	}
	return errors.Join(errs...)
}

// Close closes every connection the plan opened.
func (p *Plan) Close() {
	for _, t := range p.Targets {
		if t.kind != nil {
			t.kind.close(t)
		}
	}
}

// BackupPath is where a backup of the target taken by run goes.
func (p *Plan) BackupPath(target string, run *Run) string {
	return filepath.Join(p.cfg.BackupDir, backup.Name(target, time.Now(), run.ShortID()))
}

// Execute runs action ("backup" or "clear") on one target of a ready plan: it checks the backup
// folder, logs the start in the audit log (refusing to go on if it cannot), does the work and
// logs the outcome.
func (p *Plan) Execute(ctx context.Context, run *Run, tp *TargetPlan, action string, o tokens.ClearOptions) (tokens.ClearResult, error) {
	if tp.err != nil {
		return tokens.ClearResult{}, tp.err
	}
	if err := backup.EnsureDir(p.cfg.BackupDir); err != nil {
		return tokens.ClearResult{}, err
	}
	o.Scope = p.scope
	o.RunID, o.Environment = run.ID, run.Environment
	if o.Path == "" {
		o.Path = p.BackupPath(tp.Name, run)
	}
	entry := AuditEntry{Target: tp.Name, Action: action, Scope: p.Scope, Table: tp.Table, Backup: o.Path,
		Counts: map[string]int64{"tokens": tp.Tokens, "in_scope": tp.InScope}, Outcome: "started"}
	if err := run.Audit(entry); err != nil {
		return tokens.ClearResult{}, err
	}
	var (
		res tokens.ClearResult
		err error
	)
	if action == "clear" {
		res, err = tp.conn.Clear(ctx, o)
	} else {
		res, err = tp.conn.Backup(ctx, o)
	}
	entry.Counts = map[string]int64{"backed_up": res.BackedUp, "deleted": res.Deleted}
	entry.SHA256, entry.Outcome = res.SHA256, "ok"
	if res.Backup != "" {
		entry.Backup = res.Backup
	}
	if err != nil {
		entry.Outcome, entry.Error = "failed", db.OneLine(err.Error())
	}
	err = withAudit(err, run.Audit(entry))
	return res, err
}

// RestorePlan is a verified backup matched against the target it goes back into.
type RestorePlan struct {
	Summary  backup.Summary  `json:"backup"`
	Manifest backup.Manifest `json:"manifest"`
	Target   *TargetPlan     `json:"target"`
	reader   *backup.Reader
	plan     *Plan
}

// PlanRestore verifies a backup file from end to end, finds the target it was taken from (or
// the one named), connects and checks the manifest against the table as it is now.
func PlanRestore(ctx context.Context, cfg *Config, path, target string, unlogged bool) (*RestorePlan, error) {
	r, err := backup.Open(path)
	if err != nil {
		return nil, err
	}
	m := r.Manifest()
	if !unlogged {
		if err := cfg.Authenticate(m, r.Summary()); err != nil {
			return nil, fmt.Errorf("backup %s: %w", path, err)
		}
	}
	if target == "" {
		target = m.Target
		if _, err := cfg.Target(target); err != nil {
			return nil, &ConfigError{File: cfg.file, Field: "targets", Msg: fmt.Sprintf("the backup was taken from target %q, which is not in this config: add it, or name another with --target", target)}
		}
	}
	p, err := MakePlan(ctx, cfg, []string{target}, tokens.Scope{})
	if err != nil {
		return nil, err
	}
	tp := p.Targets[0]
	rp := &RestorePlan{Summary: r.Summary(), Manifest: m, Target: tp, reader: r, plan: p}
	if tp.conn == nil {
		p.Close()
		return nil, tp.err
	}
	if err := tp.conn.CheckManifest(m, cfg.Environment); err != nil {
		p.Close()
		return nil, fmt.Errorf("backup %s: %w", path, err)
	}
	if err := tp.conn.CheckRows(r); err != nil {
		p.Close()
		return nil, fmt.Errorf("backup %s: %w", path, err)
	}
	return rp, nil
}

// Close closes the target's connection.
func (rp *RestorePlan) Close() { rp.plan.Close() }

// Execute restores the backup, with audit log lines before and after.
func (rp *RestorePlan) Execute(ctx context.Context, run *Run, progress func(int64)) (tokens.RestoreResult, error) {
	tp := rp.Target
	entry := AuditEntry{Target: tp.Name, Action: "restore", Table: tp.Table, Backup: rp.Summary.Path,
		SHA256: rp.Summary.SHA256, Counts: map[string]int64{"rows": rp.Summary.Rows}, Outcome: "started"}
	if err := run.Audit(entry); err != nil {
		return tokens.RestoreResult{}, err
	}
	res, err := tp.conn.Restore(ctx, rp.reader, progress)
	entry.Counts = map[string]int64{"restored": res.Restored, "skipped": res.Skipped}
	entry.Outcome = "ok"
	if err != nil {
		entry.Outcome, entry.Error = "failed", db.OneLine(err.Error())
	}
	err = withAudit(err, run.Audit(entry))
	return res, err
}
