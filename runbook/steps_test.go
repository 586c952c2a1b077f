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
		err := runSteps(ctx, run, "jira", []step{do("clear", nil), do("restart", cancel), do("verify", nil)})
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

	t.Run("a failed step stops the run", func(t *testing.T) {
		ran = nil
		run := &Run{ID: "r2", Reason: "CHG-1", auditPath: filepath.Join(t.TempDir(), "audit.jsonl")}
		boom := errors.New("boom")
		fail := step{"restart", func(context.Context) error { ran = append(ran, "restart"); return boom }}
		err := runSteps(context.Background(), run, "jira", []step{do("clear", nil), fail, do("verify", nil)})
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
