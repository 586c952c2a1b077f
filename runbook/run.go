package runbook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/reauth/reauth/restart"
	"github.com/reauth/reauth/tokens"
)

// RunOptions control a whole run.
type RunOptions struct {
	BatchSize int
	// LockedReads: see ClearOptions.
	LockedReads bool
	Tool        string
	Resume      bool
	// ResumeCmd is the command that resumes this run, for halt messages and the report.
	ResumeCmd string
	Progress  func(target string, done int64)
	Event     func(target string, e restart.Event)
}

// Report is what a run did, for the change ticket.
type Report struct {
	RunID       string         `json:"run_id"`
	Environment string         `json:"environment"`
	Reason      string         `json:"reason,omitempty"`
	OSUser      string         `json:"os_user"`
	Host        string         `json:"host"`
	Scope       string         `json:"scope"`
	Started     time.Time      `json:"started"`
	Finished    time.Time      `json:"finished"`
	Outcome     string         `json:"outcome"` // ok, failed, halted
	Targets     []TargetReport `json:"targets"`
	NotRevoked  []string       `json:"not_revoked"`
	Undo        []string       `json:"undo"` // commands that put the database part back
	Resume      string         `json:"resume,omitempty"`
}

// TargetReport is one target's part of a report.
type TargetReport struct {
	Name    string               `json:"name"`
	Product string               `json:"product"`
	Table   string               `json:"table"`
	Cleared *tokens.ClearResult  `json:"cleared"`
	GitLab  *GitLabResult        `json:"gitlab,omitempty"`
	Nodes   []restart.NodeReport `json:"nodes"`
	Verify  *VerifyResult        `json:"verify,omitempty"`
	Outcome string               `json:"outcome"`
	Error   string               `json:"error,omitempty"`
	Resumed bool                 `json:"resumed,omitempty"`
	// Note says why a target was skipped (outcome "skipped").
	Note    string `json:"note,omitempty"`
	err     error
	halted  bool
	backups []string
}

// runState is what a run leaves per target so that --resume does not clear twice.
type runState struct {
	RunID       string              `json:"run_id"`
	Environment string              `json:"environment"`
	Started     time.Time           `json:"started"`
	Cleared     *tokens.ClearResult `json:"cleared,omitempty"`
	// Backups are the backup files of every clear attempted, kept for the undo commands even
	// when an attempt was interrupted.
	Backups []string `json:"backups"`
	// Restarted is set once every node was restarted, so that a run halted before its verify
	// does not restart them again when resumed.
	Restarted bool                 `json:"restarted,omitempty"`
	Nodes     []restart.NodeReport `json:"nodes,omitempty"` // the restart's, for the report
}

func (c *Config) runStatePath(target string) string {
	return filepath.Join(c.BackupDir, target+".run-state.json")
}

func (c *Config) loadRunState(target string) (*runState, bool, error) {
	b, err := os.ReadFile(c.runStatePath(target))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var st runState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, false, &ConfigError{File: c.runStatePath(target), Msg: "not a run state file: delete it if no run is under way"}
	}
	if err := c.checkHalted(c.runStatePath(target), st.Environment, st.Started); err != nil {
		return nil, false, err
	}
	return &st, true, nil
}

func (c *Config) saveRunState(target string, st *runState) error {
	b, _ := json.MarshalIndent(st, "", "  ")
	tmp := c.runStatePath(target) + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	f.Close()
	return os.Rename(tmp, c.runStatePath(target))
}

// PendingRuns lists the targets of the plan that a halted run left a state for.
func (p *Plan) PendingRuns() []string {
	var out []string
	for _, tp := range p.Targets {
		if _, ok, _ := p.cfg.loadRunState(tp.Name); ok {
			out = append(out, tp.Name)
		}
	}
	return out
}

// Run does the whole job on every target of a ready plan: per target, back up and clear the
// tokens in scope, then roll its nodes one at a time, then verify; targets in parallel. Each
// target must be locked (Config.Lock) for the duration by the caller. With Resume, a target whose tokens a halted run cleared
// is not cleared again, and its restart continues where it stopped.
func (p *Plan) Run(ctx context.Context, run *Run, o RunOptions) *Report {
	rep := &Report{
		RunID: run.ID, Environment: run.Environment, Reason: run.Reason, OSUser: run.OSUser, Host: run.Host,
		Scope: p.Scope, Started: time.Now().UTC(), NotRevoked: p.notRevoked(), Undo: []string{},
	}
	rep.Targets = make([]TargetReport, len(p.Targets))
	// A target's parts run first, in its turn, and the target only after all of them ended
	// well: were Crowd's SSO sessions cleared before its remember-me tokens, a remember-me
	// cookie used in between would make a new SSO session that outlives the run.
	parts := map[string][]int{} // target name: indexes of its parts in the plan
	isPart := map[int]bool{}
	inPlan := map[string]bool{}
	for _, tp := range p.Targets {
		inPlan[tp.Name] = true
	}
	for i, tp := range p.Targets {
		if owner := p.cfg.OwnerOf(tp.Name); owner != tp.Name && inPlan[owner] {
			parts[owner] = append(parts[owner], i)
			isPart[i] = true
		}
	}
	// Resuming, the targets that left no state of the halted run finished in it (or never
	// started): they are not cleared and restarted a second time.
	var pending []string
	if o.Resume {
		pending = p.PendingRuns()
	}
	runTarget := func(tp *TargetPlan) TargetReport {
		if len(pending) > 0 && !slices.Contains(pending, tp.Name) {
			return TargetReport{Name: tp.Name, Product: tp.Product, Table: tp.Table, Nodes: []restart.NodeReport{}, Outcome: "skipped",
				Note: "no halted run of this target to resume: it finished in the halted run, or never started (then run it without --resume)"}
		}
		return p.runTarget(ctx, run, tp, o, rep.Started)
	}
	var wg sync.WaitGroup
	for i, tp := range p.Targets {
		if isPart[i] {
			continue // run by its target
		}
		wg.Add(1)
		go func(i int, tp *TargetPlan) {
			defer wg.Done()
			var failed []string
			for _, j := range parts[tp.Name] {
				rep.Targets[j] = runTarget(p.Targets[j])
				if rep.Targets[j].err != nil {
					failed = append(failed, p.Targets[j].Name)
				}
			}
			if len(failed) > 0 {
				err := fmt.Errorf("not started: its part %s did not finish, and %s's own sessions are cleared only after its parts' (run again once it is fixed)",
					strings.Join(failed, ", "), tp.Name)
				rep.Targets[i] = TargetReport{Name: tp.Name, Product: tp.Product, Table: tp.Table, Nodes: []restart.NodeReport{},
					Outcome: "failed", Error: err.Error(), err: err}
				return
			}
			rep.Targets[i] = runTarget(tp)
		}(i, tp)
	}
	wg.Wait()
	rep.Finished = time.Now().UTC()
	rep.Outcome = "ok"
	for _, t := range rep.Targets {
		for _, b := range t.backups {
			if _, err := os.Stat(b); err != nil {
				if _, err := os.Stat(b + ".partial"); err != nil {
					continue // the attempt stopped before writing anything
				}
				b += ".partial"
			}
			rep.Undo = append(rep.Undo, fmt.Sprintf("reauth --config %s restore %s", p.cfg.Path, b))
		}
		switch {
		case t.halted:
			rep.Outcome = "halted"
			rep.Resume = o.ResumeCmd
		case t.err != nil && rep.Outcome == "ok":
			rep.Outcome = "failed"
		}
	}
	return rep
}

// Err joins the errors of the targets that did not finish.
func (r *Report) Err() error {
	var errs []error
	for _, t := range r.Targets {
		if t.err != nil {
			errs = append(errs, fmt.Errorf("target %s: %w", t.Name, t.err))
		}
	}
	return errors.Join(errs...)
}

func (p *Plan) runTarget(ctx context.Context, run *Run, tp *TargetPlan, o RunOptions, started time.Time) TargetReport {
	tr := TargetReport{Name: tp.Name, Product: tp.Product, Table: tp.Table, Nodes: []restart.NodeReport{}, Outcome: "ok"}
	if err := tp.kind.run(ctx, p, run, tp, o, started, &tr); err != nil {
		tr.err, tr.Error, tr.Outcome = err, err.Error(), "failed"
		var (
			halt     *restart.HaltError
			stepHalt *StepHaltError
		)
		if errors.As(err, &halt) || errors.As(err, &stepHalt) {
			tr.halted, tr.Outcome = true, "halted"
		}
	}
	return tr
}

// run, for an Atlassian target: back up and clear the tokens in scope (unless a halted run it
// resumes did), roll the nodes one at a time, then verify.
func (atlassianKind) run(ctx context.Context, p *Plan, run *Run, tp *TargetPlan, o RunOptions, started time.Time, tr *TargetReport) error {
	st, resumed, err := p.resumeState(run, tp, o, started)
	if err != nil {
		return err
	}
	tr.Resumed = resumed
	tr.Cleared, tr.backups = st.Cleared, st.Backups
	return runSteps(ctx, run, tp.Name, true, []step{
		{"clear", func(ctx context.Context) error { return p.clearStep(ctx, run, tp, o, st, tr) }},
		{"restart", func(ctx context.Context) error { return p.restartStep(ctx, run, tp, o, st, tr) }},
		{"verify", func(ctx context.Context) error { return p.verifyStep(ctx, tp, st.Started, tr) }},
	})
}

// resumeState is the target's run state: the halted run's, which o.Resume must ask for, or a
// new one.
func (p *Plan) resumeState(run *Run, tp *TargetPlan, o RunOptions, started time.Time) (st *runState, resumed bool, err error) {
	st, resumed, err = p.cfg.loadRunState(tp.Name)
	if err != nil {
		return nil, false, err
	}
	if resumed && !o.Resume {
		return nil, false, fmt.Errorf("%w: a run of %s halted part-way (run %s): continue it with --resume", ErrResumeState, tp.Name, st.RunID)
	}
	if !resumed {
		st = &runState{RunID: run.ID, Environment: run.Environment, Started: started}
	}
	if rst, ok, err := p.cfg.LoadRestartState(tp.Name); err != nil {
		return nil, false, err
	} else if ok && rst.RunID != st.RunID {
		return nil, false, fmt.Errorf("%w: a restart of %s halted outside this run (run %s): finish it with `reauth restart --target %s --resume` first", ErrResumeState, tp.Name, rst.RunID, tp.Name)
	}
	return st, resumed, nil
}

// clearStep backs up and clears the tokens in scope, unless the halted run this one resumes
// did. The backup's name is recorded before the clear starts, so that an interrupted attempt's
// backup is in the undo list.
func (p *Plan) clearStep(ctx context.Context, run *Run, tp *TargetPlan, o RunOptions, st *runState, tr *TargetReport) error {
	if st.Cleared != nil {
		return nil
	}
	path := p.BackupPath(tp.Name, run)
	st.Backups = append(st.Backups, path)
	tr.backups = st.Backups
	if err := p.cfg.saveRunState(tp.Name, st); err != nil {
		return fmt.Errorf("run state: %w", err)
	}
	res, err := p.Execute(ctx, run, tp, "clear", tokens.ClearOptions{BatchSize: o.BatchSize, LockedReads: o.LockedReads, Tool: o.Tool, Path: path,
		Progress: func(done int64) {
			if o.Progress != nil {
				o.Progress(tp.Name, done)
			}
		}})
	if res.Backup != "" {
		tr.Cleared = &res
	}
	if err != nil {
		return err
	}
	st.Cleared = &res
	if err := p.cfg.saveRunState(tp.Name, st); err != nil {
		return fmt.Errorf("run state: %w", err)
	}
	tr.Cleared = st.Cleared
	return nil
}

// restartStep rolls the target's nodes one at a time, going on from a halted restart of this
// run where there is one, unless the run it resumes restarted them all. A target without nodes
// has nothing to roll.
func (p *Plan) restartStep(ctx context.Context, run *Run, tp *TargetPlan, o RunOptions, st *runState, tr *TargetReport) error {
	if st.Restarted {
		tr.Nodes = append(tr.Nodes, st.Nodes...)
		return nil
	}
	spec, err := p.cfg.RestartSpec(tp.Name)
	switch {
	case errors.Is(err, ErrNoNodes):
		return nil
	case err != nil:
		return err
	}
	roller, err := p.cfg.Roller(func(e restart.Event) {
		if o.Event != nil {
			o.Event(tp.Name, e)
		}
	})
	if err != nil {
		return err
	}
	rst, _, err := p.cfg.LoadRestartState(tp.Name)
	if err != nil {
		return err
	}
	res, err := RollTarget(ctx, p.cfg, run, roller, spec, rst, nil, o.ResumeCmd)
	// Every node restarted so far (by this run or the halted one it resumes), then the one it
	// stopped at, if any.
	tr.Nodes = append(tr.Nodes, rst.Reports...)
	for _, n := range res.Nodes {
		if n.SettledAt.IsZero() {
			tr.Nodes = append(tr.Nodes, n)
		}
	}
	if err != nil {
		return err
	}
	st.Restarted, st.Nodes = true, tr.Nodes
	if err := p.cfg.saveRunState(tp.Name, st); err != nil {
		return fmt.Errorf("run state: %w", err)
	}
	return nil
}

// verifyStep checks the target from scratch for anything from before since; once it holds,
// the run's state is removed: the run is complete.
func (p *Plan) verifyStep(ctx context.Context, tp *TargetPlan, since time.Time, tr *TargetReport) error {
	v, err := p.Verify(ctx, tp, since)
	if err != nil {
		return err
	}
	tr.Verify = &v
	if !v.OK {
		return fmt.Errorf("verify: %s", v.Problems[0])
	}
	if err := os.Remove(p.cfg.runStatePath(tp.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("run state: %w", err)
	}
	return nil
}
