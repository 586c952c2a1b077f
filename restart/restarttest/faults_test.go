package restarttest_test

import (
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/reauth/reauth/restart/restarttest"
)

// TestProbeCodes forces each state on a node of every product and checks the probe's HTTP
// status against the product's quirks, and that logins and pages are refused unless RUNNING.
func TestProbeCodes(t *testing.T) {
	bin := restarttest.BuildSimnode(t)
	for product, codes := range wantCode {
		t.Run(product, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := nodeConfig(t, product, "node1", "127.0.0.6", dir)
			cfg.Starting = 50 * time.Millisecond
			node := restarttest.StartNode(t, bin, dir, cfg)
			restarttest.WaitState(t, node.URL(), "RUNNING", 15*time.Second)
			for state := range codes {
				restarttest.InjectFault(t, node.URL(), restarttest.Fault{State: state})
				if o, err := probe(t, product, node.URL()); err != nil || o != expect(product, state) {
					t.Errorf("%s: probe %+v, %v; want %+v", state, o, err, expect(product, state))
				}
				b := restarttest.NewBrowser(t, product)
				code, _, err := b.TryLogin(node.URL(), "alice", false)
				if want := map[bool]int{true: 200, false: 503}[state == "RUNNING"]; err != nil || code != want {
					t.Errorf("%s: login HTTP %d, %v; want %d", state, code, err, want)
				}
			}
			node.Stop(t)
		})
	}
}

// TestFaults: empty and garbage replies with 200, like Bitbucket under load, then the real
// state again; delayed replies; forced states recorded as events.
func TestFaults(t *testing.T) {
	bin := restarttest.BuildSimnode(t)
	for _, product := range []string{"jira", "bitbucket", "bamboo", "fisheye"} {
		t.Run(product, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := nodeConfig(t, product, "node1", "127.0.0.7", dir)
			cfg.Starting = 50 * time.Millisecond
			node := restarttest.StartNode(t, bin, dir, cfg)
			url := node.URL()
			restarttest.WaitState(t, url, "RUNNING", 15*time.Second)

			restarttest.InjectFault(t, url, restarttest.Fault{State: "MAINTENANCE", Empty: 2, Garbage: 1})
			for i, want := range []string{"", "", "<html>oops</html>"} {
				code, body, err := restarttest.Probe(product, url)
				if err != nil || code != http.StatusOK || body != want {
					t.Errorf("reply %d after the fault: %d %q, %v; want 200 %q", i+1, code, body, err, want)
				}
			}
			if o, err := probe(t, product, url); err != nil || o != expect(product, "MAINTENANCE") {
				t.Errorf("after the faulty replies: %+v, %v; want %+v", o, err, expect(product, "MAINTENANCE"))
			}
			if info, err := restarttest.State(url); err != nil || info.Empty != 0 || info.Garbage != 0 {
				t.Errorf("sim state %+v, %v; want no faults pending", info, err)
			}

			restarttest.InjectFault(t, url, restarttest.Fault{State: "RUNNING", Delay: 400 * time.Millisecond})
			start := time.Now()
			if o, err := probe(t, product, url); err != nil || o != expect(product, "RUNNING") {
				t.Errorf("delayed reply %+v, %v; want %+v", o, err, expect(product, "RUNNING"))
			}
			if took := time.Since(start); took < 400*time.Millisecond {
				t.Errorf("delayed reply came after %v; want at least 400ms", took)
			}
			start = time.Now()
			if _, err := probe(t, product, url); err != nil || time.Since(start) > 300*time.Millisecond {
				t.Errorf("the reply after the delayed one took %v (%v); want no delay", time.Since(start), err)
			}

			if err := node.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err, ok := node.Wait(10 * time.Second); !ok || err != nil {
				t.Fatalf("exit %v, %v", ok, err)
			}
			if got := statesOf(restarttest.ReadEvents(t, cfg.Events), "node1"); got != "STARTING RUNNING MAINTENANCE RUNNING STOPPING STOPPED" {
				t.Errorf("events %q", got)
			}
		})
	}
}

// TestNeverReady: a node that never comes back stays STARTING, and still stops on SIGTERM.
func TestNeverReady(t *testing.T) {
	t.Parallel()
	bin := restarttest.BuildSimnode(t)
	dir := t.TempDir()
	cfg := nodeConfig(t, "jira", "node1", "127.0.0.8", dir)
	cfg.Starting = 50 * time.Millisecond
	cfg.NeverReady = true
	node := restarttest.StartNode(t, bin, dir, cfg)
	restarttest.WaitState(t, node.URL(), "STARTING", 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	if o, err := probe(t, "jira", node.URL()); err != nil || o != expect("jira", "STARTING") {
		t.Errorf("never_ready node: %+v, %v; want %+v", o, err, expect("jira", "STARTING"))
	}
	node.Stop(t)
	if got := statesOf(restarttest.ReadEvents(t, cfg.Events), "node1"); got != "STARTING STOPPING STOPPED" {
		t.Errorf("events %q; want STARTING STOPPING STOPPED", got)
	}
}
