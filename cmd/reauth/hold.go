package main

import (
	"context"
	"fmt"

	"github.com/reauth/reauth/runbook"
)

// hold is what a command that changes something takes before it does (see acquire).
type hold struct {
	// action is what the operator confirms ("clear the tokens of jira"); empty asks nothing
	// (backup, which changes nothing in the product).
	action string
	needs  []runbook.Need
	// show runs once everything is held and before the confirmation: it reads what the locks
	// protect (a halted run's state, the nodes' preflight) and prints what will happen.
	show func() error
}

// acquire takes everything h needs, in one order for every command (runbook.Acquire: this
// host's lock, the database's table lock, the nodes' locks), then shows and asks for
// confirmation. Every command that changes anything goes through it, so none can skip a step;
// release lets go of what was taken.
func (a *app) acquire(ctx context.Context, g globals, cfg *runbook.Config, run *runbook.Run, h hold) (release func(), err error) {
	if h.action != "" {
		if err := a.canConfirm(g, h.action); err != nil {
			return nil, err
		}
	}
	release, err = cfg.Acquire(ctx, run, h.needs, func(msg string) {
		fmt.Fprintf(a.err, "note: %s\n", msg)
	})
	if err != nil {
		return nil, err
	}
	if h.show != nil {
		if err := h.show(); err != nil {
			release()
			return nil, err
		}
	}
	if h.action != "" {
		if err := a.confirm(g, cfg.Environment, h.action); err != nil {
			release()
			return nil, err
		}
	}
	return release, nil
}
