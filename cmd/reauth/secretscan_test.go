package main

import (
	"strings"
	"testing"

	"github.com/reauth/reauth/internal/harness"
	"github.com/reauth/reauth/internal/secretscan"
)

// TestSecretScanSeesOutputs plants a registered secret where reauth rightly carries it on (a
// clear's --reason goes into the audit log; an unknown target's name into the error on stderr)
// and checks that the scan the test helpers run reports it in each place, without showing it.
func TestSecretScanSeesOutputs(t *testing.T) {
	const label = "planted: a secret given as --reason"
	planted := secretscan.Register(label, "PLANTED-"+harness.RandomHex(8))
	rec := &secretscan.Recorder{TB: t}
	t.Cleanup(func() { // after the helpers' own cleanups, which scan the files
		msg := rec.Errors()
		t.Logf("the scan reported:\n%s", msg)
		for _, want := range []string{
			"audit.jsonl holds the secret \"" + label + "\"", `reason\":\"<SECRET>\"`,
			"stderr of `reauth clear` holds the secret \"" + label + "\"", `no target named \"<SECRET>\"`,
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("the scan reported %q; want %q in it", msg, want)
			}
		}
		if strings.Contains(msg, planted) {
			t.Errorf("the scan's report shows the secret: %q", msg)
		}
	})
	e, _, _, _ := jiraEnv(rec, "postgres", 5)
	e.run(rec, "clear", "--target", "jira", "--yes", "--reason", planted).mustSucceed(t)
	e.run(rec, "clear", "--target", planted, "--yes")
}
