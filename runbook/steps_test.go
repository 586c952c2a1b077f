package runbook

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/reauth/reauth/restart"
)

// TestRunSteps: the steps run in order, each audited as it ends; an interrupt during a step
// lets it finish and halts the run before the next one (StepHaltError, audited as halted); a
// failed step stops the run with its error.
func TestRunSteps(t *testing.T) {
	audited := func(t *testing.T, path string) []string {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var out []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var e AuditEntry
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatal(err)
			}
			if e.Action != "run-step" || e.Target != "jira" || e.Reason != "CHG-1" {
				t.Errorf("audit line %s", sc.Text())
			}
			out = append(out, e.Step+":"+e.Outcome)
		}
		return out
	}
	var ran []string
	do := func(name string, f func()) step {
		return step{name, func(context.Context) error {
			ran = append(ran, name)
			if f != nil {
				f()
			}
			return nil
		}}
	}

	t.Run("interrupt between steps halts", func(t *testing.T) {
		ran = nil
		run := &Run{ID: "r1", Reason: "CHG-1", auditPath: filepath.Join(t.TempDir(), "audit.jsonl")}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		err := runSteps(ctx, run, "jira", true, []step{do("clear", nil), do("restart", cancel), do("verify", nil)})
		var halt *StepHaltError
		if !errors.As(err, &halt) || halt.Next != "verify" || !reflect.DeepEqual(halt.Done, []string{"clear", "restart"}) || !errors.Is(err, context.Canceled) {
			t.Fatalf("runSteps = %v; want halted before verify, clear and restart done", err)
		}
		if !reflect.DeepEqual(ran, []string{"clear", "restart"}) {
			t.Errorf("ran %v", ran)
		}
		if got, want := audited(t, run.auditPath), []string{"clear:ok", "restart:ok", "verify:halted"}; !reflect.DeepEqual(got, want) {
			t.Errorf("audit log %v; want %v", got, want)
		}
	})

	// With nothing done, or in a run that keeps no state to resume from, an interrupt is a
	// plain error: there is nothing for --resume to go on from.
	for _, c := range []struct {
		name      string
		resumable bool
		first     func()
		want      []string
	}{
		{"interrupt before the first step", true, nil, nil},
		{"interrupt in a run without state", false, func() {}, []string{"revoke:ok"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ran = nil
			run := &Run{ID: "r3", Reason: "CHG-1", auditPath: filepath.Join(t.TempDir(), "audit.jsonl")}
			ctx, cancel := context.WithCancel(context.Background())
			steps := []step{do("verify", nil)}
			if c.first != nil {
				steps = append([]step{do("revoke", cancel)}, steps...)
			} else {
				cancel()
			}
			err := runSteps(ctx, run, "jira", c.resumable, steps)
			var halt *StepHaltError
			if !errors.Is(err, context.Canceled) || errors.As(err, &halt) {
				t.Fatalf("runSteps = %v; want an interrupted error, not a halt", err)
			}
			if got, want := audited(t, run.auditPath), append(c.want, "verify:halted"); !reflect.DeepEqual(got, want) {
				t.Errorf("audit log %v; want %v", got, want)
			}
		})
	}

	t.Run("a failed step stops the run", func(t *testing.T) {
		ran = nil
		run := &Run{ID: "r2", Reason: "CHG-1", auditPath: filepath.Join(t.TempDir(), "audit.jsonl")}
		boom := errors.New("boom")
		fail := step{"restart", func(context.Context) error { ran = append(ran, "restart"); return boom }}
		err := runSteps(context.Background(), run, "jira", true, []step{do("clear", nil), fail, do("verify", nil)})
		var halt *StepHaltError
		if !errors.Is(err, boom) || errors.As(err, &halt) {
			t.Fatalf("runSteps = %v; want boom, not a halt", err)
		}
		if !reflect.DeepEqual(ran, []string{"clear", "restart"}) {
			t.Errorf("ran %v", ran)
		}
		if got, want := audited(t, run.auditPath), []string{"clear:ok", "restart:failed"}; !reflect.DeepEqual(got, want) {
			t.Errorf("audit log %v; want %v", got, want)
		}
	})
}

// TestRestartStepResumed: a run halted after its restart finished does not restart the nodes
// again when resumed; the report still lists them.
func TestRestartStepResumed(t *testing.T) {
	st := &runState{Restarted: true, Nodes: []restart.NodeReport{{Host: "node1"}, {Host: "node2"}}}
	var tr TargetReport
	// The plan has no config: reaching the restart itself would panic.
	if err := (&Plan{}).restartStep(context.Background(), nil, &TargetPlan{}, RunOptions{}, st, &tr); err != nil {
		t.Fatal(err)
	}
	if len(tr.Nodes) != 2 || tr.Nodes[1].Host != "node2" {
		t.Errorf("report nodes %+v; want the restart's two", tr.Nodes)
	}
}
