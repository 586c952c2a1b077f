package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestAuditLog: every state-changing action leaves a started and an outcome line with who,
// where, what, the counts, the backup's path and checksum, and the --reason.
func TestAuditLog(t *testing.T) {
	e, _, _, _ := jiraEnv(t, "postgres", 120)
	var cl struct{ Backup, SHA256 string }
	e.run(t, "clear", "--target", "jira", "--yes", "--reason", "INC-1234", "--output", "json").mustSucceed(t).decode(t, &cl)
	e.run(t, "restore", "--yes", "--reason", "INC-1234 undo", cl.Backup).mustSucceed(t)
	e.run(t, "plan").mustSucceed(t) // read-only: no line

	f, err := os.Open(filepath.Join(e.dir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if st, _ := f.Stat(); st.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode %04o; want 0600", st.Mode().Perm())
	}
	type line struct {
		Time        string           `json:"time"`
		RunID       string           `json:"run_id"`
		OSUser      string           `json:"os_user"`
		Host        string           `json:"host"`
		Environment string           `json:"environment"`
		Target      string           `json:"target"`
		Action      string           `json:"action"`
		Outcome     string           `json:"outcome"`
		Reason      string           `json:"reason"`
		Backup      string           `json:"backup"`
		SHA256      string           `json:"sha256"`
		Table       string           `json:"table"`
		Counts      map[string]int64 `json:"counts"`
	}
	var lines []line
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("audit line is not JSON: %s", sc.Text())
		}
		lines = append(lines, l)
	}
	want := []struct{ action, outcome, reason string }{
		{"clear", "started", "INC-1234"}, {"clear", "ok", "INC-1234"},
		{"restore", "started", "INC-1234 undo"}, {"restore", "ok", "INC-1234 undo"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d audit lines; want %d: %+v", len(lines), len(want), lines)
	}
	data, _ := os.ReadFile(cl.Backup)
	sum := sha256.Sum256(data)
	for i, w := range want {
		l := lines[i]
		if l.Action != w.action || l.Outcome != w.outcome || l.Reason != w.reason {
			t.Errorf("line %d = %s/%s/%q; want %s/%s/%q", i, l.Action, l.Outcome, l.Reason, w.action, w.outcome, w.reason)
		}
		if l.RunID == "" || l.OSUser == "" || l.Host == "" || l.Environment != "staging" || l.Target != "jira" || l.Time == "" || l.Table == "" {
			t.Errorf("line %d lacks who/where/what: %+v", i, l)
		}
	}
	if lines[1].Counts["deleted"] != 120 || lines[1].Backup != cl.Backup || lines[1].SHA256 != hex.EncodeToString(sum[:]) || cl.SHA256 != lines[1].SHA256 {
		t.Errorf("clear's outcome line = %+v; want 120 deleted, backup %s with the file's sha256sum", lines[1], cl.Backup)
	}
	if lines[3].Counts["restored"] != 120 || lines[2].SHA256 != lines[1].SHA256 {
		t.Errorf("restore lines = %+v %+v", lines[2], lines[3])
	}
	if lines[0].RunID != lines[1].RunID || lines[1].RunID == lines[2].RunID {
		t.Errorf("run ids: one per invocation, shared by its start and outcome lines")
	}
}
