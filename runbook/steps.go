package runbook

import (
	"context"
	"fmt"
	"strings"

	"github.com/reauth/reauth/db"
)

// step is one named part of a target's run: clear, restart, verify. A run is a list of them,
// done in order by runSteps.
type step struct {
	name string
	do   func(ctx context.Context) error
}

// StepHaltError is a target's run stopped between two steps by an interrupt: the steps before
// Next are done and stay done, and --resume goes on from Next.
type StepHaltError struct {
	Done []string
	Next string
	Err  error
}

func (e *StepHaltError) Error() string {
	return fmt.Sprintf("halted before %s (%s): %v", e.Next, doneText(e.Done), e.Err)
}

func doneText(done []string) string {
	if len(done) == 0 {
		return "no step done"
	}
	return strings.Join(done, ", ") + " done"
}

func (e *StepHaltError) Unwrap() error { return e.Err }

// runSteps does a target's steps in order. Each begins only if the run has not been
// interrupted meanwhile. An interrupt between two steps halts a resumable run there
// (StepHaltError: its state records what was done); before the first step, or in a run that
// keeps no state, it is a plain error. Each step's outcome is a line of the audit log (action
// "run-step"; "halted" for a step an interrupt kept from starting).
func runSteps(ctx context.Context, run *Run, target string, resumable bool, steps []step) error {
	var done []string
	for _, s := range steps {
		entry := AuditEntry{Target: target, Action: "run-step", Step: s.name, Outcome: "ok"}
		if err := ctx.Err(); err != nil {
			var herr error = &StepHaltError{Done: done, Next: s.name, Err: err}
			if !resumable || len(done) == 0 {
				herr = fmt.Errorf("interrupted before %s (%s): %w", s.name, doneText(done), err)
			}
			entry.Outcome, entry.Error = "halted", herr.Error()
			return withAudit(herr, run.Audit(entry))
		}
		err := s.do(ctx)
		if err != nil {
			entry.Outcome, entry.Error = "failed", db.OneLine(err.Error())
		}
		if err := withAudit(err, run.Audit(entry)); err != nil {
			return err
		}
		done = append(done, s.name)
	}
	return nil
}
