package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/restart/restarttest"
	"github.com/reauth/reauth/restart/sshtest"
)

// countHook records, at every node stop, how many remember-me rows the product's table holds:
// a line "<node address> <count>" in <cluster dir>/counts.
func countHook(table string) func(c *cluster) string {
	return func(c *cluster) string {
		s := c.db.Server
		pw := filepath.Join(c.dir, "dbpw")
		if err := os.WriteFile(pw, []byte(s.Password), 0o600); err != nil {
			panic(err)
		}
		q := "SELECT COUNT(*) FROM " + table
		var count string
		if s.Dialect == "postgres" {
			count = fmt.Sprintf(`PGPASSWORD=$(cat %s) %s -h %s -p %d -U %s -d %s -Atc %s`,
				shq(pw), shq(filepath.Join(s.BinDir, "psql")), s.Host, s.Port, s.User, c.db.Name, shq(q))
		} else {
			count = fmt.Sprintf(`MYSQL_PWD=$(cat %s) %s --no-defaults --protocol=TCP -h %s -P %d -u %s -N -e %s %s`,
				shq(pw), shq(filepath.Join(s.BinDir, "mariadb")), s.Host, s.Port, s.User, shq(q), c.db.Name)
		}
		return fmt.Sprintf(`echo "$(echo "$SSH_CONNECTION" | cut -d' ' -f3) $(%s)" >> %s`, count, shq(filepath.Join(c.dir, "counts")))
	}
}

func readCounts(t testing.TB, c *cluster) map[string][]int {
	t.Helper()
	f, err := os.Open(filepath.Join(c.dir, "counts"))
	if err != nil {
		t.Fatalf("no token counts were recorded at node stops: %v", err)
	}
	defer f.Close()
	out := map[string][]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Fields(sc.Text())
		if len(parts) != 2 {
			t.Fatalf("counts line %q", sc.Text())
		}
		n, err := strconv.Atoi(parts[1])
		if err != nil {
			t.Fatalf("counts line %q", sc.Text())
		}
		out[parts[0]] = append(out[parts[0]], n)
	}
	return out
}

// twoTargets is Jira on PostgreSQL with 3 nodes and Confluence on MariaDB with 2, on one sshd,
// in one reauth config.
func twoTargets(t *testing.T, jiraOpts, confOpts clusterOpts) (*env, *cluster, *cluster) {
	t.Helper()
	sshd := sshtest.Start(t, "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6")
	jiraOpts.nodes, jiraOpts.ssh, jiraOpts.first = 3, sshd, 2
	confOpts.nodes, confOpts.ssh, confOpts.first, confOpts.dialect = 2, sshd, 5, "mysql"
	jira := newCluster(t, "jira", jiraOpts)
	conf := newCluster(t, "confluence", confOpts)
	dir := t.TempDir()
	cfg := fmt.Sprintf("environment: staging\nbackup_dir: ./backups\naudit_log: ./audit.jsonl\n"+
		"ssh:\n  user: %s\n  identity_file: %s\n  known_hosts: %s\n  port: %d\ntargets:\n%s%s",
		sshd.User, sshd.IdentityFile, sshd.KnownHosts, sshd.Port, jira.targetsYAML(t), conf.targetsYAML(t))
	path := filepath.Join(dir, "reauth.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return &env{dir: dir, config: path}, jira, conf
}

type reportJSON struct {
	RunID   string `json:"run_id"`
	Outcome string
	Reason  string
	Resume  string
	Targets []struct {
		Name    string
		Outcome string
		Resumed bool
		Cleared *struct {
			Deleted  int64
			BackedUp int64 `json:"backed_up"`
			Backup   string
			SHA256   string
		}
		Nodes []struct {
			Host    string
			Stop    time.Time `json:"stop_at"`
			Start   time.Time `json:"start_at"`
			Running time.Time `json:"running_at"`
			Settled time.Time `json:"settled_at"`
		}
		Verify *struct{ OK bool }
	}
	NotRevoked []string `json:"not_revoked"`
	Undo       []string
}

// TestRunEndToEnd: one `reauth run` over two targets (Jira on PostgreSQL with 3 nodes,
// Confluence on MariaDB with 2), rolled in parallel. At every node stop the token table was
// already empty; every old cookie is rejected afterwards; verify passes; the report holds
// counts, backups with checksums, per-node times, what is not revoked and the undo commands;
// every audit line carries the reason.
func TestRunEndToEnd(t *testing.T) {
	e, jira, conf := twoTargets(t,
		clusterOpts{stopHook: countHook("remembermetoken")},
		clusterOpts{stopHook: countHook("REMEMBERMETOKEN")})
	jb := jira.loginUsers(t, 30)
	cb := conf.loginUsers(t, 20)
	var oldRemember [][]*http.Cookie
	var oldSession [][]*http.Cookie
	for _, b := range append(jb, cb...) {
		oldRemember = append(oldRemember, b.RememberCookies())
		oldSession = append(oldSession, b.SessionCookies())
	}
	start := time.Now().UTC()
	r := e.run(t, "run", "--yes", "--reason", "CHG-4711", "--output", "json")
	r.mustSucceed(t)
	var rep reportJSON
	r.decode(t, &rep)

	if rep.Outcome != "ok" || len(rep.Targets) != 2 {
		t.Fatalf("report: %+v", rep)
	}
	for _, c := range []*cluster{jira, conf} {
		counts := readCounts(t, c)
		if len(counts) != len(c.nodes) {
			t.Errorf("%s: counts recorded at stops of %d nodes; want %d", c.product, len(counts), len(c.nodes))
		}
		for node, ns := range counts {
			if len(ns) != 1 || ns[0] != 0 {
				t.Errorf("%s node %s: tokens at its stop %v; want [0] (cleared before any restart)", c.product, node, ns)
			}
		}
	}
	// Rolled in parallel: the two targets' restarts overlap in time.
	span := func(i int) (time.Time, time.Time) {
		n := rep.Targets[i].Nodes
		return n[0].Stop, n[len(n)-1].Settled
	}
	s0, e0 := span(0)
	s1, e1 := span(1)
	if !s0.Before(e1) || !s1.Before(e0) {
		t.Errorf("the targets were restarted one after the other (%v-%v, %v-%v); want in parallel", s0, e0, s1, e1)
	}
	for _, tr := range rep.Targets {
		if tr.Cleared == nil || tr.Cleared.Deleted == 0 || tr.Cleared.Backup == "" || len(tr.Cleared.SHA256) != 64 {
			t.Errorf("target %s: cleared %+v; want counts, backup path and checksum", tr.Name, tr.Cleared)
		}
		if tr.Verify == nil || !tr.Verify.OK {
			t.Errorf("target %s: verify %+v", tr.Name, tr.Verify)
		}
		for _, n := range tr.Nodes {
			if n.Stop.IsZero() || n.Start.IsZero() || n.Running.IsZero() {
				t.Errorf("target %s node %s lacks times: %+v", tr.Name, n.Host, n)
			}
		}
	}
	if len(rep.NotRevoked) == 0 || len(rep.Undo) != 2 || !strings.Contains(rep.Undo[0], " restore ") {
		t.Errorf("report: not revoked %v, undo %v", rep.NotRevoked, rep.Undo)
	}
	md, err := os.ReadFile(filepath.Join(e.dir, "backups", rep.RunID+"-report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Not revoked", "## Undo", " restore ", "SHA-256", "| RUNNING |", "CHG-4711", "Crowd SSO"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the Markdown report lacks %q", want)
		}
	}
	// Every old cookie is rejected on every node of its product.
	for i := range oldRemember {
		c := jira
		if i >= len(jb) {
			c = conf
		}
		for _, n := range c.nodes {
			for _, ck := range [][]*http.Cookie{oldRemember[i], oldSession[i]} {
				if len(ck) == 0 {
					continue
				}
				if code, _ := restarttest.Replay(n.cfg.URL(), ck...); code != http.StatusUnauthorized {
					t.Errorf("%s user %d: old cookie %s accepted on %s (HTTP %d)", c.product, i, ck[0].Name, n.host, code)
				}
			}
		}
	}
	// verify agrees, on its own.
	for _, target := range []string{"jira", "confluence"} {
		e.run(t, "verify", "--target", target, "--since", start.Format(time.RFC3339)).mustSucceed(t)
	}
	// Every audit line carries the reason.
	data, _ := os.ReadFile(filepath.Join(e.dir, "audit.jsonl"))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 10 {
		t.Errorf("%d audit lines; want clear and restart lines for both targets", len(lines))
	}
	steps := map[string][]string{}
	for _, l := range lines {
		var a struct{ Reason, Action, Target, Step, Outcome string }
		json.Unmarshal([]byte(l), &a)
		if a.Reason != "CHG-4711" {
			t.Errorf("audit line without the reason: %s", l)
		}
		if a.Action == "run-step" {
			steps[a.Target] = append(steps[a.Target], a.Step+":"+a.Outcome)
		}
	}
	// Each target's run is its steps, in order, each in the audit log.
	for _, target := range []string{"jira", "confluence"} {
		if got, want := strings.Join(steps[target], " "), "clear:ok restart:ok verify:ok"; got != want {
			t.Errorf("run steps of %s in the audit log: %q; want %q", target, got, want)
		}
	}
}

// TestRunLockAndResume: a second run on a target while the first is running is refused; a run
// halted at a node finishes with --resume and does not clear twice.
func TestRunLockAndResume(t *testing.T) {
	c := newCluster(t, "jira", clusterOpts{nodes: 2, startTO: "4s", settle: "200ms"})
	c.loginUsers(t, 6)
	broken := c.nodes[1]
	broken.cfg.NeverReady = true
	writeNodeConfig(t, broken)

	done := make(chan result)
	go func() { done <- c.env.run(t, "run", "--yes", "--reason", "CHG-1") }()
	// While the first run is restarting node 1, a second one is refused.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(c.env.dir, "backups", "jira.restart-state.json")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first run never got to its restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
	second := c.env.run(t, "run", "--yes")
	if second.code != 1 || !strings.Contains(second.stderr, "being worked on by another reauth") {
		t.Errorf("second run: exit %d, %q; want 1 and busy", second.code, second.stderr)
	}
	first := <-done
	if first.code != 3 || !strings.Contains(first.stderr, "run --resume") {
		t.Fatalf("first run: exit %d, %q; want 3 with the resume command", first.code, first.stderr)
	}
	// Fix the node; users log in again meanwhile; resume.
	c.stopLocal(t, broken)
	broken.cfg.NeverReady = false
	writeNodeConfig(t, broken)
	c.startLocal(t, broken)
	restarttest.WaitState(t, broken.cfg.URL(), "RUNNING", 20*time.Second)
	c.loginUsers(t, 4)
	if r := c.env.run(t, "run", "--yes"); r.code != 2 || !strings.Contains(r.stderr, "--resume") {
		t.Errorf("a run over a halted one without --resume: exit %d, %q; want 2", r.code, r.stderr)
	}
	var rep reportJSON
	c.env.run(t, "run", "--yes", "--resume", "--output", "json").mustSucceed(t).decode(t, &rep)
	if !rep.Targets[0].Resumed {
		t.Error("the report does not say the run was resumed")
	}
	data, _ := os.ReadFile(filepath.Join(c.env.dir, "audit.jsonl"))
	clears := 0
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, `"action":"clear"`) && strings.Contains(l, `"outcome":"started"`) {
			clears++
		}
	}
	if clears != 1 {
		t.Errorf("%d clears in the audit log; want 1: --resume must not clear twice", clears)
	}
}

// TestRunResumeSkipsFinished: a run over Crowd and its part halts at a Crowd node after the
// part finished. `run --resume` continues Crowd's restart without clearing again, and leaves
// the part, which the halted run finished, alone ("skipped"): no second clear of either table.
func TestRunResumeSkipsFinished(t *testing.T) {
	c := newCluster(t, "crowd", clusterOpts{nodes: 2, startTO: "4s", settle: "200ms"})
	c.loginUsers(t, 4)
	c.db.Exec(t, `INSERT INTO cwd_remember_me_token (id, username, remote_address, token, series, created_date, used_date, directory_id)
		SELECT id, user_name, NULL, 'tok-' || user_name, 'series-' || user_name, created_date, NULL, directory_id FROM cwd_user WHERE lower_user_name IN ('user0', 'user1')`)
	broken := c.nodes[1]
	broken.cfg.NeverReady = true
	writeNodeConfig(t, broken)
	first := c.env.run(t, "run", "--yes", "--reason", "CHG-1")
	if first.code != 3 || !strings.Contains(first.stderr, "run --resume") {
		t.Fatalf("first run: exit %d, %q; want 3 with the resume command", first.code, first.stderr)
	}
	c.stopLocal(t, broken)
	broken.cfg.NeverReady = false
	writeNodeConfig(t, broken)
	c.startLocal(t, broken)
	restarttest.WaitState(t, broken.cfg.URL(), "RUNNING", 20*time.Second)

	var rep struct {
		Outcome string
		Targets []struct {
			Name, Outcome, Note string
			Resumed             bool
		}
	}
	c.env.run(t, "run", "--yes", "--resume", "--output", "json").mustSucceed(t).decode(t, &rep)
	if rep.Outcome != "ok" || len(rep.Targets) != 2 || rep.Targets[0].Name != "crowd" || !rep.Targets[0].Resumed || rep.Targets[0].Outcome != "ok" ||
		rep.Targets[1].Name != "crowd.remember-me" || rep.Targets[1].Outcome != "skipped" || !strings.Contains(rep.Targets[1].Note, "finished in the halted run") {
		t.Errorf("resumed run = %+v; want crowd resumed and ok, its part skipped", rep)
	}
	data, _ := os.ReadFile(filepath.Join(c.env.dir, "audit.jsonl"))
	clears := map[string]int{}
	for _, l := range strings.Split(string(data), "\n") {
		var a struct{ Target, Action, Outcome string }
		if json.Unmarshal([]byte(l), &a) == nil && a.Action == "clear" && a.Outcome == "started" {
			clears[a.Target]++
		}
	}
	if clears["crowd"] != 1 || clears["crowd.remember-me"] != 1 {
		t.Errorf("clears started per target: %v; want one each: --resume clears nothing twice", clears)
	}
}
