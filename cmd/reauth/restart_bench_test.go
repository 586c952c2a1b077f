package main

import (
	"math/rand"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/reauth/reauth/restart/restarttest"
)

// BenchmarkRestartReaction measures how long reauth takes to act on a node once it reaches
// RUNNING: from the simulated node's own RUNNING event to the moment reauth records it, over
// many real restarts (sshd, simnode, the status probe). Settle is 0 so that only the reaction
// is measured. Restarts: REAUTH_BENCH_RESTARTS (default 24), in 2-node rolls.
//
//	go test ./cmd/reauth -run XXX -bench RestartReaction -benchtime 1x
func BenchmarkRestartReaction(b *testing.B) {
	restarts := 24
	if v, err := strconv.Atoi(os.Getenv("REAUTH_BENCH_RESTARTS")); err == nil && v > 0 {
		restarts = v
	}
	for i := 0; i < b.N; i++ {
		c := newCluster(b, "jira", clusterOpts{nodes: 2, settle: "0s"})
		var reactions []time.Duration
		rng := rand.New(rand.NewSource(1))
		for len(reactions) < restarts {
			// Vary how long each node takes to start, so that its RUNNING does not always fall
			// at the same point of reauth's polling cycle.
			for _, n := range c.nodes {
				n.cfg.Starting = 500*time.Millisecond + time.Duration(rng.Int63n(int64(time.Second)))
				writeNodeConfig(b, n)
			}
			var res restartJSON
			r := c.env.run(b, "restart", "--target", "jira", "--yes", "--output", "json")
			if r.code != 0 {
				b.Fatalf("restart: exit %d: %s", r.code, r.stderr)
			}
			r.decode(b, &res)
			events := restarttest.ReadEvents(b, c.events)
			for _, n := range res.Nodes {
				node := c.node(n.Host)
				ran := runningAt(events, node.cfg.Node, n.Start)
				if ran.IsZero() {
					b.Fatalf("no RUNNING event for %s after %v", n.Host, n.Start)
				}
				reactions = append(reactions, n.Running.Sub(ran))
			}
		}
		sort.Slice(reactions, func(i, j int) bool { return reactions[i] < reactions[j] })
		median := reactions[len(reactions)/2]
		max := reactions[len(reactions)-1]
		b.ReportMetric(float64(median.Microseconds())/1000, "median-ms")
		b.ReportMetric(float64(max.Microseconds())/1000, "max-ms")
		b.ReportMetric(float64(reactions[0].Microseconds())/1000, "min-ms")
		b.ReportMetric(float64(len(reactions)), "restarts")
		b.Logf("reaction from RUNNING to reauth acting over %d restarts: min %v, median %v, max %v (probes every 250 ms; target: median <= 1 s)",
			len(reactions), reactions[0], median, max)
	}
}

// BenchmarkPlanSlowNodes measures `reauth plan` on a 4-node cluster whose nodes each hold their
// next status reply for 1 s (a slow load balancer, a node under load): the preflight that asks
// every node whether it is RUNNING, over SSH and its status page, is what takes the time.
//
//	go test ./cmd/reauth -run XXX -bench PlanSlowNodes -benchtime 3x
func BenchmarkPlanSlowNodes(b *testing.B) {
	const nodes, delay = 4, time.Second
	c := newCluster(b, "jira", clusterOpts{nodes: nodes})
	var took []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for _, n := range c.nodes {
			restarttest.InjectFault(b, n.cfg.URL(), restarttest.Fault{Delay: delay, Delayed: 1})
		}
		b.StartTimer()
		start := time.Now()
		if r := c.env.run(b, "plan"); r.code != 0 {
			b.Fatalf("plan: exit %d: %s", r.code, r.stderr)
		}
		took = append(took, time.Since(start))
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "median-ms")
	b.Logf("plan over %d nodes, each status reply held %v: %v (median of %d)", nodes, delay, took[len(took)/2], len(took))
}
