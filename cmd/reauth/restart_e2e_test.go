package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/restart/restarttest"
)

type restartJSON struct {
	Target string
	Nodes  []struct {
		Host            string
		Stop            time.Time `json:"stop_at"`
		Down            time.Time `json:"down_at"`
		Start           time.Time `json:"start_at"`
		Running         time.Time `json:"running_at"`
		Settled         time.Time `json:"settled_at"`
		SessionsRemoved []string  `json:"sessions_removed"`
	}
	Skipped []string
	Halted  bool
	Resume  string
}

// TestRollingRestartEndToEnd: users log in (half with remember-me) on a simulated cluster over
// real sshd and the real database; reauth clears the tokens and restarts the nodes. Afterwards
// every old session cookie and every old remember-me cookie is rejected on every node; a
// prober hitting all nodes every 100 ms saw all but one serving at every instant; each node
// restarted exactly once; reauth never moved on before a node's new process said RUNNING.
func TestRollingRestartEndToEnd(t *testing.T) {
	tests := []struct {
		name    string
		product string
		o       clusterOpts
		users   int
	}{
		{"jira 3 nodes", "jira", clusterOpts{nodes: 3}, 50},
		{"bitbucket 2 nodes (503 while starting)", "bitbucket", clusterOpts{nodes: 2}, 20},
		{"bamboo primary and standby", "bamboo", clusterOpts{nodes: 2, roles: []string{"primary", "standby"}}, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, tt.product, tt.o)
			browsers := c.loginUsers(t, tt.users)
			// Every user gets in with their cookies before: on their own node with the session
			// (the load balancer is sticky), and on any node with remember-me.
			for i, b := range browsers {
				node := i % len(c.nodes)
				if i%2 == 0 {
					node = (i + 1) % len(c.nodes)
				}
				if code, err := b.Get(c.nodes[node].cfg.URL()); err != nil || code != http.StatusOK {
					t.Fatalf("user%d before: %d, %v", i, code, err)
				}
			}
			type oldCookies struct{ session, remember []*http.Cookie }
			var old []oldCookies
			for _, b := range browsers {
				old = append(old, oldCookies{b.SessionCookies(), b.RememberCookies()})
			}
			since := time.Now()
			p := c.startProber()
			c.env.run(t, "clear", "--target", tt.product, "--yes").mustSucceed(t)
			r := c.env.run(t, "restart", "--target", tt.product, "--yes", "--output", "json", "--reason", "e2e")
			minUp, samples := p.stop()
			r.mustSucceed(t)
			var res restartJSON
			r.decode(t, &res)

			if want := len(c.nodes) - 1; minUp < want {
				t.Errorf("the prober saw %d nodes serving at one point (of %d samples); want at least %d at every instant", minUp, samples, want)
			}
			events := restarttest.ReadEvents(t, c.events)
			var names []string
			for _, n := range c.nodes {
				names = append(names, n.cfg.Node)
			}
			if maxDown, at := restarttest.MaxDown(events, names, since); maxDown > 1 {
				t.Errorf("%d nodes were not RUNNING at once (at %v)", maxDown, at)
			}
			per := restartsPerNode(events, since)
			for _, n := range c.nodes {
				if per[n.cfg.Node] != 1 {
					t.Errorf("node %s restarted %d times; want exactly once", n.cfg.Node, per[n.cfg.Node])
				}
			}
			// reauth acted on RUNNING only after the node's new process said so, and the next
			// node went down only after the settle time.
			byHost := map[string]*simNode{}
			for _, n := range c.nodes {
				byHost[n.host] = n
			}
			for i, rep := range res.Nodes {
				n := byHost[rep.Host]
				ran := runningAt(events, n.cfg.Node, rep.Start)
				if ran.IsZero() || rep.Running.Before(ran) {
					t.Errorf("node %s: reauth saw RUNNING at %v, before the node reported it (%v)", rep.Host, rep.Running, ran)
				}
				if rep.Settled.Sub(rep.Running) < time.Second {
					t.Errorf("node %s: settled %v after RUNNING; want at least the settle time (1s)", rep.Host, rep.Settled.Sub(rep.Running))
				}
				if i > 0 && res.Nodes[i].Stop.Before(res.Nodes[i-1].Settled) {
					t.Errorf("node %s stopped before node %s settled", rep.Host, res.Nodes[i-1].Host)
				}
			}
			if tt.product == "bamboo" {
				if res.Nodes[len(res.Nodes)-1].Host != c.nodes[0].host {
					t.Errorf("bamboo: restart order %v; want the primary (%s) last", hostsOf(res), c.nodes[0].host)
				}
			}
			// Every old cookie is rejected on every node.
			for i, o := range old {
				for _, n := range c.nodes {
					for what, cookies := range map[string][]*http.Cookie{"session": o.session, "remember-me": o.remember} {
						if len(cookies) == 0 {
							continue
						}
						code, err := restarttest.Replay(n.cfg.URL(), cookies...)
						if err != nil || code != http.StatusUnauthorized {
							t.Errorf("user%d's old %s cookie on %s: HTTP %d, %v; want 401", i, what, n.host, code, err)
						}
					}
				}
			}
			// And people can log in again.
			b := restarttest.NewBrowser(t, tt.product)
			b.Login(t, c.nodes[0].cfg.URL(), "user1", true)
			t.Logf("%s: %d probes of every node, fewest serving at once: %d; order %v", tt.name, samples, minUp, hostsOf(res))
		})
	}
}

func hostsOf(res restartJSON) []string {
	var h []string
	for _, n := range res.Nodes {
		h = append(h, n.Host)
	}
	return h
}

// TestRestartRemovesPersistedSessions: a Tomcat node whose server.xml persists sessions would
// reload them at start; plan reports it, and reauth removes SESSIONS.ser while the node is down,
// so the old session cookie is rejected afterwards.
func TestRestartRemovesPersistedSessions(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "jira", clusterOpts{nodes: 1, manager: restarttest.ManagerPersist})
	b := c.loginUsers(t, 1)[0]
	session := b.SessionCookies()
	r := c.env.run(t, "plan", "--target", "jira").mustSucceed(t)
	if !strings.Contains(r.stdout, `<Manager pathname="SESSIONS.ser">`) || !strings.Contains(r.stdout, "persists sessions") {
		t.Errorf("plan does not report session persistence:\n%s", r.stdout)
	}
	var res restartJSON
	c.env.run(t, "restart", "--target", "jira", "--yes", "--output", "json").mustSucceed(t).decode(t, &res)
	if len(res.Nodes) != 1 || len(res.Nodes[0].SessionsRemoved) != 1 || !strings.HasSuffix(res.Nodes[0].SessionsRemoved[0], "SESSIONS.ser") {
		t.Fatalf("restart removed %v; want the node's SESSIONS.ser", res.Nodes)
	}
	if _, err := os.Stat(restarttest.SessionsFile(c.install)); err == nil {
		t.Error("SESSIONS.ser is still there")
	}
	if code, _ := restarttest.Replay(c.nodes[0].cfg.URL(), session...); code != http.StatusUnauthorized {
		t.Errorf("old session cookie after the restart: HTTP %d; want 401", code)
	}
}

// TestRestartFaults: what goes wrong at a node halts reauth there, with what was done and the
// command that resumes, and a problem found before any node is touched touches nothing.
func TestRestartFaults(t *testing.T) {
	t.Run("node never RUNNING: halt, exit 3, later nodes untouched, --resume finishes", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, "jira", clusterOpts{nodes: 3, startTO: "4s", settle: "300ms"})
		// node2's next start never becomes RUNNING.
		broken := c.nodes[1]
		broken.cfg.NeverReady = true
		writeNodeConfig(t, broken)
		since := time.Now()
		r := c.env.run(t, "restart", "--target", "jira", "--yes")
		if r.code != 3 || !strings.Contains(r.stderr, "halted at node 127.0.0.3") || !strings.Contains(r.stderr, "restart --target jira --resume") {
			t.Fatalf("exit %d, stderr %q; want 3, halted at node 127.0.0.3, and the resume command", r.code, r.stderr)
		}
		events := restarttest.ReadEvents(t, c.events)
		for _, e := range events {
			if e.Node == "node3" && e.Time.After(since) {
				t.Errorf("node3 was touched after the halt: %+v", e)
			}
		}
		if _, err := os.Stat(filepath.Join(c.env.dir, "backups", "jira.restart-state.json")); err != nil {
			t.Errorf("no restart state kept for --resume: %v", err)
		}
		// Without --resume a new restart refuses.
		if r := c.env.run(t, "restart", "--target", "jira", "--yes"); r.code != 2 || !strings.Contains(r.stderr, "--resume") {
			t.Errorf("a new restart over a halted one: exit %d, %q; want 2 pointing at --resume", r.code, r.stderr)
		}
		// The operator fixes node2 and starts it by hand; --resume skips node1.
		c.stopLocal(t, broken)
		broken.cfg.NeverReady = false
		writeNodeConfig(t, broken)
		c.startLocal(t, broken)
		restarttest.WaitState(t, broken.cfg.URL(), "RUNNING", 20*time.Second)
		var res restartJSON
		c.env.run(t, "restart", "--target", "jira", "--yes", "--resume", "--output", "json").mustSucceed(t).decode(t, &res)
		if strings.Join(res.Skipped, ",") != "127.0.0.2" || strings.Join(hostsOf(res), ",") != "127.0.0.3,127.0.0.4" {
			t.Errorf("resume skipped %v and restarted %v; want 127.0.0.2 skipped, then 127.0.0.3 and 127.0.0.4", res.Skipped, hostsOf(res))
		}
		if _, err := os.Stat(filepath.Join(c.env.dir, "backups", "jira.restart-state.json")); err == nil {
			t.Error("the restart state is still there after the resumed restart finished")
		}
	})
	t.Run("changed host key: refused before any node is touched", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, "jira", clusterOpts{nodes: 2})
		c.writeSSHConfig(t, c.ssh.KnownHostsWith(t, "127.0.0.3"))
		since := time.Now()
		r := c.env.run(t, "restart", "--target", "jira", "--yes")
		if r.code != 2 || !strings.Contains(r.stderr, "CHANGED") || !strings.Contains(r.stderr, "ssh-keygen -R") {
			t.Errorf("exit %d, %q; want 2, CHANGED and how to fix known_hosts", r.code, r.stderr)
		}
		assertUntouched(t, c, since)
	})
	t.Run("unknown host: refused before any node is touched", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, "jira", clusterOpts{nodes: 2})
		c.writeSSHConfig(t, c.ssh.KnownHostsWithout(t, "127.0.0.3"))
		since := time.Now()
		r := c.env.run(t, "restart", "--target", "jira", "--yes")
		if r.code != 2 || !strings.Contains(r.stderr, "is not in") || !strings.Contains(r.stderr, "ssh-keyscan") {
			t.Errorf("exit %d, %q; want 2 and how to add the host", r.code, r.stderr)
		}
		assertUntouched(t, c, since)
	})
	t.Run("another host holds the table's lock in the database: nothing is touched", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, "jira", clusterOpts{nodes: 2})
		unlock, _, err := tableLockHolder(t, c.db).LockTable(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		since := time.Now()
		r := c.env.run(t, "restart", "--target", "jira", "--yes")
		if r.code != 1 || !strings.Contains(r.stderr, "another reauth, from another host") {
			t.Errorf("exit %d, %q; want 1 and who holds the lock", r.code, r.stderr)
		}
		assertUntouched(t, c, since)
	})
	t.Run("node unreachable at preflight: nothing is touched", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, "jira", clusterOpts{nodes: 3})
		c.stopLocal(t, c.nodes[2])
		since := time.Now()
		r := c.env.run(t, "restart", "--target", "jira", "--yes")
		if r.code != 1 || !strings.Contains(r.stderr, "no node was touched") || !strings.Contains(r.stderr, "DOWN") {
			t.Errorf("exit %d, %q; want 1, DOWN and no node touched", r.code, r.stderr)
		}
		assertUntouched(t, c, since)
	})
	t.Run("SSH connection drops during a stop: halt with a clear state", func(t *testing.T) {
		t.Parallel()
		mark := filepath.Join(t.TempDir(), "stopping")
		c := newCluster(t, "jira", clusterOpts{nodes: 2, stopCmd: "touch " + mark + " && sleep 2"})
		done := make(chan result)
		go func() { done <- c.env.run(t, "restart", "--target", "jira", "--yes") }()
		// Wait until the first node's stop command runs (preflight and the node locks come
		// first, and take longer on a busy machine), then drop the connection inside it.
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if _, err := os.Stat(mark); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the stop command never ran")
			}
		}
		time.Sleep(200 * time.Millisecond)
		c.ssh.Kill(t)
		r := <-done
		if r.code != 3 || !strings.Contains(r.stderr, "connection lost") || !strings.Contains(r.stderr, "--resume") {
			t.Fatalf("exit %d, %q; want 3, connection lost, and the resume command", r.code, r.stderr)
		}
		var st struct{ Done []string }
		data, err := os.ReadFile(filepath.Join(c.env.dir, "backups", "jira.restart-state.json"))
		if err != nil || json.Unmarshal(data, &st) != nil || len(st.Done) != 0 {
			t.Errorf("state after the drop: %s, %v; want a state with no node done", data, err)
		}
		c.ssh.Restart(t)
		c.env.run(t, "restart", "--target", "jira", "--yes", "--resume").mustSucceed(t)
	})
}

func writeNodeConfig(t testing.TB, n *simNode) {
	t.Helper()
	p := restarttest.WriteConfig(t, n.dir, n.cfg)
	if err := os.Rename(p, n.cfgPath); err != nil {
		t.Fatal(err)
	}
}

// assertUntouched fails if any node changed state since.
func assertUntouched(t testing.TB, c *cluster, since time.Time) {
	t.Helper()
	for _, e := range restarttest.ReadEvents(t, c.events) {
		if e.Time.After(since) {
			t.Errorf("node %s changed state after the refusal: %+v", e.Node, e)
		}
	}
}

// TestRestartAccess: --dry-run prints each node's steps and touches nothing; nodes are reached
// through a jump host, and with the ssh-agent instead of a key file.
func TestRestartAccess(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "jira", clusterOpts{nodes: 2, settle: "0s"})
	since := time.Now()
	r := c.env.run(t, "restart", "--target", "jira", "--dry-run").mustSucceed(t)
	for _, want := range []string{"node 1: 127.0.0.2", "node 2: 127.0.0.3", "remove every SESSIONS.ser", "says RUNNING", "nothing was changed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, r.stdout)
		}
	}
	assertUntouched(t, c, since)

	// Through a jump host: the same sshd, reached on 127.0.0.2, forwards to the nodes. Each
	// node's connection then also opens one to the jump host: 2 more connections on 127.0.0.2.
	onJump := func() int {
		log, _ := os.ReadFile(c.ssh.LogFile)
		return strings.Count(string(log), " on 127.0.0.2 port ")
	}
	direct := onJump()
	c.env.run(t, "plan", "--target", "jira").mustSucceed(t)
	direct = onJump() - direct
	addSSHLine(t, c, fmt.Sprintf("  jump_host: 127.0.0.2:%d\n", c.ssh.Port))
	before := onJump()
	r = c.env.run(t, "plan", "--target", "jira").mustSucceed(t)
	if strings.Count(r.stdout, "RUNNING") != 2 {
		t.Errorf("plan through the jump host:\n%s", r.stdout)
	}
	if via := onJump() - before; via != direct+2 {
		t.Errorf("connections on the jump host: %d direct, %d with jump_host; want 2 more (one per node)", direct, via)
	}

	// With the ssh-agent: no identity_file, the key loaded into a private agent.
	agent := exec.Command("ssh-agent", "-D", "-a", filepath.Join(c.dir, "agent.sock"))
	if err := agent.Start(); err != nil {
		t.Skipf("ssh-agent: %v", err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	sock := filepath.Join(c.dir, "agent.sock")
	for i := 0; i < 50; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	add := exec.Command("ssh-add", c.ssh.IdentityFile)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v %s", err, out)
	}
	data, _ := os.ReadFile(c.env.config)
	os.WriteFile(c.env.config, []byte(strings.Replace(string(data), "  identity_file: "+c.ssh.IdentityFile+"\n", "", 1)), 0o600)
	cmd := exec.Command(reauthBinary(t), "--config", c.env.config, "restart", "--target", "jira", "--yes")
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	out, err := cmd.CombinedOutput()
	watch(t, cmd.Args[1:], string(out), "")
	if err != nil {
		t.Fatalf("restart with the agent: %v\n%s", err, out)
	}
	if n := len(restartsPerNode(restarttest.ReadEvents(t, c.events), since)); n != 2 {
		t.Errorf("%d nodes restarted with the agent; want 2", n)
	}
}

// addSSHLine adds a line to the config's ssh: section.
func addSSHLine(t testing.TB, c *cluster, line string) {
	t.Helper()
	data, err := os.ReadFile(c.env.config)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), "ssh:\n", "ssh:\n"+line, 1)
	if err := os.WriteFile(c.env.config, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRestartSessionsBehindSymlinks: Tomcat follows symlinks to SESSIONS.ser, so reauth does:
// a work folder that is a link, and a SESSIONS.ser that is a link, are both dealt with, and
// the old session cookie is rejected after the restart.
func TestRestartSessionsBehindSymlinks(t *testing.T) {
	for _, tc := range []string{"work folder is a symlink", "SESSIONS.ser is a symlink"} {
		t.Run(tc, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, "jira", clusterOpts{nodes: 1, manager: restarttest.ManagerPersist})
			file := restarttest.SessionsFile(c.install)
			switch tc {
			case "work folder is a symlink":
				real := filepath.Join(c.install, "work-real")
				if err := os.MkdirAll(filepath.Join(real, "Catalina", "localhost", "ROOT"), 0o755); err != nil {
					t.Fatal(err)
				}
				os.RemoveAll(filepath.Join(c.install, "work"))
				if err := os.Symlink("work-real", filepath.Join(c.install, "work")); err != nil {
					t.Fatal(err)
				}
			case "SESSIONS.ser is a symlink":
				store := filepath.Join(c.install, "session-store")
				if err := os.MkdirAll(store, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(filepath.Join(store, "SESSIONS.ser"), file); err != nil {
					t.Fatal(err)
				}
			}
			b := c.loginUsers(t, 1)[0]
			session := b.SessionCookies()
			var res restartJSON
			c.env.run(t, "restart", "--target", "jira", "--yes", "--output", "json").mustSucceed(t).decode(t, &res)
			if len(res.Nodes) != 1 || len(res.Nodes[0].SessionsRemoved) != 1 {
				t.Fatalf("restart removed %v; want the node's SESSIONS.ser", res.Nodes)
			}
			if _, err := os.Stat(file); err == nil {
				t.Error("SESSIONS.ser is still there")
			}
			if code, _ := restarttest.Replay(c.nodes[0].cfg.URL(), session...); code != http.StatusUnauthorized {
				t.Errorf("old session cookie after the restart: HTTP %d; want 401", code)
			}
		})
	}
}
