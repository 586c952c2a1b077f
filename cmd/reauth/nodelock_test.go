package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reauth/reauth/products/producttest"
	"github.com/reauth/reauth/restart/restarttest"
)

// TestConcurrentRestartsOverlappingNodes runs two restarts at once, again and again, over
// nodes that two configs share: another config with its own backup_dir and its own database
// (as a staging config that names production nodes by mistake, on another jump host), so
// that neither this host's lock nor the table lock keeps them apart. Only the nodes' own
// locks do: whatever the timing, never two nodes are down at once, and a restart that finds
// a node locked refuses before touching any.
func TestConcurrentRestartsOverlappingNodes(t *testing.T) {
	t.Parallel()
	const reps = 10
	c := newCluster(t, "jira", clusterOpts{nodes: 3, settle: "0s", starting: 300 * time.Millisecond})
	other := server(t, "postgres").NewDatabase(t)
	f, _ := producttest.For("jira", "postgres")
	f.Setup(t, other.Exec, 0)

	data, err := os.ReadFile(c.env.config)
	if err != nil {
		t.Fatal(err)
	}
	// The other config: its own folder (so its own backup_dir and audit log), its own
	// database, and only the last two nodes.
	b := strings.Replace(string(data), c.db.JDBC, other.JDBC, 1)
	first := regexp.MustCompile(`(?m)^      - host: ` + regexp.QuoteMeta(c.nodes[0].host) + `\n        url: \S+\n`)
	if !first.MatchString(b) {
		t.Fatalf("node %s not found in the config:\n%s", c.nodes[0].host, b)
	}
	b = first.ReplaceAllString(b, "")
	bDir := t.TempDir()
	bConfig := filepath.Join(bDir, "reauth.yaml")
	if err := os.WriteFile(bConfig, []byte(b), 0o600); err != nil {
		t.Fatal(err)
	}
	envB := &env{dir: bDir, config: bConfig}

	var names []string
	for _, n := range c.nodes {
		names = append(names, n.cfg.Node)
	}
	since := time.Now()
	p := c.startProber()
	refused, ran := 0, 0
	for i := 0; i < reps; i++ {
		envs := []*env{c.env, envB}
		if i%2 == 1 {
			envs[0], envs[1] = envs[1], envs[0]
		}
		results := make([]result, 2)
		var wg sync.WaitGroup
		for j, e := range envs {
			wg.Add(1)
			go func(j int, e *env) {
				defer wg.Done()
				results[j] = e.run(t, "restart", "--target", "jira", "--yes")
			}(j, e)
		}
		wg.Wait()
		ok := 0
		for j, r := range results {
			switch {
			case r.code == 0:
				ok++
			case strings.Contains(r.stderr, "another reauth"):
				refused++
			default:
				t.Fatalf("repetition %d, restart %d: exit %d\nstdout:\n%s\nstderr:\n%s", i, j, r.code, r.stdout, r.stderr)
			}
		}
		if ok == 0 {
			t.Fatalf("repetition %d: both restarts refused; want one to run", i)
		}
		ran += ok
		for _, n := range c.nodes {
			restarttest.WaitState(t, n.cfg.URL(), "RUNNING", 30*time.Second)
		}
	}
	minUp, samples := p.stop()
	events := restarttest.ReadEvents(t, c.events)
	if maxDown, at := restarttest.MaxDown(events, names, since); maxDown > 1 {
		t.Errorf("%d nodes were not RUNNING at once (at %v)", maxDown, at)
	}
	if minUp < len(c.nodes)-1 {
		t.Errorf("the prober saw %d of %d nodes serving at one point (of %d samples); want at least %d at every instant", minUp, len(c.nodes), samples, len(c.nodes)-1)
	}
	t.Logf("%d repetitions: %d restarts ran, %d refused on a node's lock; %d probes, fewest serving at once: %d", reps, ran, refused, samples, minUp)
}
