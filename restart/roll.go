// Package restart owns the second half of a forced re-authentication: restarting a target's
// nodes one at a time so that the sessions they hold in memory die, without ever taking the
// cluster down. It is responsible for:
//
//   - SSH to the nodes (golang.org/x/crypto/ssh), host keys always checked against known_hosts,
//     key file or ssh-agent, optional jump host, per-command deadlines, output kept for reports;
//   - the readiness probes of each product, which read the JSON state and never trust the
//     HTTP code alone;
//   - preflight: every node reachable and RUNNING, Tomcat session persistence reported;
//   - the rolling restart: stop, wait until down, remove SESSIONS.ser, start, wait for RUNNING,
//     stay RUNNING for the settle time, next node; halting, with what is done, at the first node
//     that does not come back.
package restart

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/reauth/reauth/products"
)

// Node is one node of a target.
type Node struct {
	Host string // SSH address
	URL  string // base URL, probed directly, not through the load balancer
	// Primary marks Bamboo Data Center's primary, restarted after its standbys.
	Primary bool
}

// Spec is how to restart one target's nodes.
type Spec struct {
	Target  string
	Product string // the product's name, for messages
	// Probe is how a node of the product says it is ready.
	Probe products.Probe
	// Tomcat is set for products that run in Tomcat with its usual layout under InstallDir
	// (conf/server.xml, work/.../SESSIONS.ser).
	Tomcat bool
	Nodes  []Node
	Stop   string // remote shell commands
	Start  string
	// InstallDir is the Tomcat install directory: SESSIONS.ser is removed under its work/
	// folder while the node is down, and conf/server.xml and context.xml are checked.
	InstallDir   string
	StopTimeout  time.Duration
	StartTimeout time.Duration
	Settle       time.Duration
	Poll         time.Duration // between probes; default 250 ms
}

// Runner runs shell commands on one node.
type Runner interface {
	Run(ctx context.Context, cmd string) (Result, error)
	Close() error
}

// Roller restarts nodes.
type Roller struct {
	// Dial opens a Runner to a node.
	Dial func(ctx context.Context, host string) (Runner, error)
	HTTP *http.Client
	// Event, when set, hears of each step as it happens (progress lines, bars).
	Event func(Event)
}

// Event is one step of one node.
type Event struct {
	Time   time.Time `json:"time"`
	Node   string    `json:"node"`
	Step   string    `json:"step"` // stop, down, sessions, start, running, settled, failed
	Detail string    `json:"detail,omitempty"`
}

// NodeError is a failure at one node.
type NodeError struct {
	Node string
	Op   string // ssh, preflight, stop, down, sessions, start, running, settle
	Err  error
}

func (e *NodeError) Error() string { return fmt.Sprintf("node %s: %s: %v", e.Node, e.Op, e.Err) }
func (e *NodeError) Unwrap() error { return e.Err }

// HaltError is a rolling restart stopped part-way: the nodes in Done were restarted, Node was
// not brought back, and the ones after it were not touched.
type HaltError struct {
	Done      []string
	Node      string
	Untouched []string
	Err       error // a *NodeError
}

func (e *HaltError) Error() string {
	return fmt.Sprintf("halted at node %s (%d restarted, %d not touched): %v", e.Node, len(e.Done), len(e.Untouched), e.Err)
}

func (e *HaltError) Unwrap() error { return e.Err }

// NodeReport is what happened to one node, for the report.
type NodeReport struct {
	Host            string    `json:"host"`
	StopAt          time.Time `json:"stop_at"`
	DownAt          time.Time `json:"down_at"`
	StartAt         time.Time `json:"start_at"`
	RunningAt       time.Time `json:"running_at"`
	SettledAt       time.Time `json:"settled_at"`
	SessionsRemoved []string  `json:"sessions_removed"`
	Commands        []Result  `json:"commands"`
}

// Ordered returns the nodes in restart order: as configured, Bamboo's primary last.
func (s Spec) Ordered() []Node {
	nodes := append([]Node(nil), s.Nodes...)
	sort.SliceStable(nodes, func(i, j int) bool { return !nodes[i].Primary && nodes[j].Primary })
	return nodes
}

func (s Spec) poll() time.Duration {
	if s.Poll > 0 {
		return s.Poll
	}
	return 250 * time.Millisecond
}

func (r *Roller) event(node, step, detail string) {
	if r.Event != nil {
		r.Event(Event{Time: time.Now(), Node: node, Step: step, Detail: detail})
	}
}

// NodeCheck is what preflight found at one node.
type NodeCheck struct {
	Host   string `json:"host"`
	URL    string `json:"url"`
	State  State  `json:"state"`
	Status Status `json:"status"`
	// Persistence describes Tomcat session persistence found in server.xml/context.xml.
	Persistence string `json:"session_persistence,omitempty"`
	Err         error  `json:"-"`
	Error       string `json:"error,omitempty"`
}

// Preflight checks every node: reachable over SSH (host key verified) and RUNNING now, and, for
// Tomcat products, whether server.xml or context.xml makes Tomcat persist sessions. It touches
// nothing. The error joins every node's problem.
func (r *Roller) Preflight(ctx context.Context, s Spec) ([]NodeCheck, error) {
	nodes := s.Ordered()
	checks := make([]NodeCheck, len(nodes))
	// The nodes are asked at once, a few at a time: a slow node (or one that never answers)
	// then costs its own wait, not its wait times the cluster's size.
	sem := make(chan struct{}, preflightParallel)
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			checks[i] = r.checkNode(ctx, s, n)
		}()
	}
	wg.Wait()
	var errs []error
	for _, c := range checks {
		if c.Err != nil {
			errs = append(errs, c.Err)
		}
	}
	return checks, errors.Join(errs...)
}

// preflightParallel bounds how many nodes one preflight asks at once.
const preflightParallel = 8

// checkNode is the preflight of one node: its status, SSH, and Tomcat's session persistence.
func (r *Roller) checkNode(ctx context.Context, s Spec, n Node) NodeCheck {
	c := NodeCheck{Host: n.Host, URL: n.URL}
	c.Status = Probe(ctx, r.HTTP, s.Probe, n.URL)
	c.State = c.Status.State
	run, err := r.Dial(ctx, n.Host)
	if err != nil {
		c.Err = err
	} else {
		if s.InstallDir != "" && s.Tomcat {
			c.Persistence, err = sessionPersistence(ctx, run, s.InstallDir)
			if err != nil {
				c.Err = &NodeError{Node: n.Host, Op: "preflight", Err: err}
			}
		}
		run.Close()
	}
	if c.Err == nil && !c.Status.Ready() {
		c.Err = &NodeError{Node: n.Host, Op: "preflight", Err: fmt.Errorf("not RUNNING now (%s): a rolling restart must not start while a node is unhealthy", c.Status)}
	}
	if c.Err != nil {
		c.Error = c.Err.Error()
	}
	return c
}

// sessionPersistence reads conf/server.xml and conf/context.xml and says whether Tomcat will
// save sessions to disk at shutdown and reload them at start, or "" when it will not.
func sessionPersistence(ctx context.Context, run Runner, installDir string) (string, error) {
	// A read that hangs (a stale NFS mount) must not hold up the preflight.
	ctx, cancel := context.WithTimeout(ctx, ReadFileTimeout)
	defer cancel()
	var docs []string
	for _, f := range []string{"conf/server.xml", "conf/context.xml"} {
		path := strings.TrimRight(installDir, "/") + "/" + f
		// Run keeps only the end of a command's output; a server.xml is often longer, so a
		// node connection that reads whole files is asked for the file itself.
		if fr, ok := run.(fileReader); ok {
			b, err := fr.ReadFile(ctx, path)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("read %s: %w", path, err)
			}
			docs = append(docs, string(b))
			continue
		}
		res, err := run.Run(ctx, "cat -- "+shellQuote(path)+" 2>/dev/null || true")
		if err != nil {
			return "", fmt.Errorf("read %s: %w", path, err)
		}
		docs = append(docs, res.Output)
	}
	return managerPersistence(docs...), nil
}

// fileReader is a Runner that can also read a whole file of the node (*Client can).
type fileReader interface {
	ReadFile(ctx context.Context, path string) ([]byte, error)
}

// managerPersistence reads Tomcat configuration files for <Manager> elements. Tomcat's
// StandardManager saves sessions to SESSIONS.ser unless its pathname is set to "": so with no
// <Manager> at all, sessions persist; Atlassian ships <Manager pathname=""/> to turn that off.
func managerPersistence(docs ...string) string {
	var persisting []string
	found := false
	for _, doc := range docs {
		dec := xml.NewDecoder(strings.NewReader(doc))
		dec.Strict = false
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			el, ok := tok.(xml.StartElement)
			if !ok || el.Name.Local != "Manager" {
				continue
			}
			found = true
			pathname, set, class := "", false, ""
			for _, a := range el.Attr {
				switch a.Name.Local {
				case "pathname":
					pathname, set = a.Value, true
				case "className":
					class = a.Value
				}
			}
			switch {
			case strings.Contains(class, "PersistentManager"):
				persisting = append(persisting, fmt.Sprintf("<Manager className=%q> persists sessions", class))
			case !set:
				persisting = append(persisting, "<Manager> without pathname=\"\" saves sessions to SESSIONS.ser")
			case pathname != "":
				persisting = append(persisting, fmt.Sprintf("<Manager pathname=%q> saves sessions to it", pathname))
			}
		}
	}
	if !found {
		return "no <Manager pathname=\"\"/> in server.xml or context.xml: Tomcat's default saves sessions to SESSIONS.ser"
	}
	return strings.Join(persisting, "; ")
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Roll restarts the nodes of s that are neither in done (restarted by an earlier, halted roll)
// nor in skip (left alone on purpose), one at a time, in order. Before each node
// goes down, every other node must be RUNNING: reauth never takes a second node of a target
// down. After each node is settled, nodeDone is called (to record progress for --resume); if
// it fails, the roll stops there. A node that does not come back halts the roll with a
// *HaltError, leaving the nodes after it untouched.
func (r *Roller) Roll(ctx context.Context, s Spec, done, skip map[string]bool, nodeDone func(NodeReport) error) ([]NodeReport, error) {
	var (
		reports  []NodeReport
		finished []string
	)
	order := s.Ordered()
	for _, n := range order {
		if done[n.Host] {
			finished = append(finished, n.Host)
		}
	}
	for i, n := range order {
		if done[n.Host] || skip[n.Host] {
			continue
		}
		halt := func(err error) error {
			var untouched []string
			for _, m := range order[i+1:] {
				if !done[m.Host] && !skip[m.Host] {
					untouched = append(untouched, m.Host)
				}
			}
			r.event(n.Host, "failed", err.Error())
			return &HaltError{Done: finished, Node: n.Host, Untouched: untouched, Err: err}
		}
		if err := ctx.Err(); err != nil {
			return reports, halt(&NodeError{Node: n.Host, Op: "stop", Err: fmt.Errorf("not started: %w", err)})
		}
		rep, err := r.restartNode(ctx, s, n, order)
		var ne *NodeError
		if !errors.As(err, &ne) || ne.Op != "health" { // a node left alone has nothing to report
			reports = append(reports, rep)
		}
		if err != nil {
			return reports, halt(err)
		}
		finished = append(finished, n.Host)
		if nodeDone != nil {
			if err := nodeDone(rep); err != nil {
				return reports, halt(&NodeError{Node: n.Host, Op: "settle", Err: fmt.Errorf("restarted, but its progress could not be recorded: %w", err)})
			}
		}
	}
	return reports, nil
}

// othersReady checks that every node but n is serving.
func (r *Roller) othersReady(ctx context.Context, s Spec, n Node, nodes []Node) error {
	for _, m := range nodes {
		if m.Host == n.Host {
			continue
		}
		if st := Probe(ctx, r.HTTP, s.Probe, m.URL); !st.Ready() {
			return &NodeError{Node: m.Host, Op: "health", Err: fmt.Errorf("is %s, so node %s was not stopped: that would leave two nodes down", st, n.Host)}
		}
	}
	return nil
}

// restartNode runs one node's cycle. Never a second node down: every other node of nodes
// must be serving right before this one stops, after the SSH connection is up.
func (r *Roller) restartNode(parent context.Context, s Spec, n Node, nodes []Node) (NodeReport, error) {
	rep := NodeReport{Host: n.Host, SessionsRemoved: []string{}, Commands: []Result{}}
	// Once a node is being restarted, an interrupt must not leave it stopped: its cycle runs to
	// the end, bounded by its own timeouts, and the roll halts before the next node.
	ctx := context.WithoutCancel(parent)
	fail := func(op string, err error) (NodeReport, error) {
		return rep, &NodeError{Node: n.Host, Op: op, Err: err}
	}
	run, err := r.Dial(ctx, n.Host)
	if err != nil {
		return fail("ssh", err)
	}
	defer run.Close()
	if err := r.othersReady(parent, s, n, nodes); err != nil {
		return rep, err
	}

	stopCtx, cancel := context.WithTimeout(ctx, s.StopTimeout)
	defer cancel()
	rep.StopAt = time.Now()
	r.event(n.Host, "stop", s.Stop)
	res, err := run.Run(stopCtx, s.Stop)
	rep.Commands = append(rep.Commands, res)
	if err != nil {
		return fail("stop", err)
	}
	// The stop command returning is not proof: wait until connections are refused, twice in a
	// row (a JVM that is slow to answer is not a stopped one).
	refused := 0
	if _, err := r.waitFor(stopCtx, s, n, func(st Status) bool {
		if st.State != Down {
			refused = 0
			return false
		}
		refused++
		return refused >= 2
	}); err != nil {
		return fail("down", fmt.Errorf("still answering %s after the stop command: %w", s.StopTimeout, err))
	}
	rep.DownAt = time.Now()
	r.event(n.Host, "down", "")

	if s.InstallDir != "" && s.Tomcat {
		// Tomcat reloads SESSIONS.ser at start: removed while the node is down, no session
		// survives the restart. Tomcat follows symlinks, so find does too (-L): a work folder
		// that is a link, linked folders below it, and a SESSIONS.ser that is itself a link
		// (removed; its target is left alone and reported). Each entry is printed only once
		// removed; then nothing may be left, or the node would reload its sessions (a work
		// folder the SSH user cannot write).
		work := shellQuote(strings.TrimRight(s.InstallDir, "/") + "/work")
		cmd := "[ -d " + work + " ] || exit 0; " +
			"find -L " + work + " -name SESSIONS.ser ! -type d -print 2>/dev/null | while IFS= read -r f; do " +
			`if [ -L "$f" ]; then printf 'link %s -> %s\n' "$f" "$(readlink "$f")"; fi; ` +
			`rm -f -- "$f" && printf 'removed %s\n' "$f"; done; ` +
			"left=$(find -L " + work + " -name SESSIONS.ser ! -type d -print 2>/dev/null); " +
			`[ -z "$left" ] || { echo "could not remove: $left" >&2; exit 1; }`
		res, err := run.Run(stopCtx, cmd)
		rep.Commands = append(rep.Commands, res)
		if err != nil {
			return fail("sessions", err)
		}
		var links []string
		for _, line := range strings.Split(res.Output, "\n") {
			if f, ok := strings.CutPrefix(line, "removed "); ok {
				rep.SessionsRemoved = append(rep.SessionsRemoved, f)
			} else if l, ok := strings.CutPrefix(line, "link "); ok {
				links = append(links, l)
			}
		}
		msg := fmt.Sprintf("%d SESSIONS.ser removed", len(rep.SessionsRemoved))
		if len(links) > 0 {
			msg += "; behind symlinks (the links were removed, their targets left): " + strings.Join(links, ", ")
		}
		r.event(n.Host, "sessions", msg)
	}

	startCtx, cancel2 := context.WithTimeout(ctx, s.StartTimeout)
	defer cancel2()
	rep.StartAt = time.Now()
	r.event(n.Host, "start", s.Start)
	res, err = run.Run(startCtx, s.Start)
	rep.Commands = append(rep.Commands, res)
	if err != nil {
		return fail("start", err)
	}
	for {
		last, err := r.waitFor(startCtx, s, n, Status.Ready)
		if err != nil {
			return fail("running", fmt.Errorf("not RUNNING within %s of the start (last seen: %s): %w", s.StartTimeout, last, err))
		}
		if rep.RunningAt.IsZero() {
			rep.RunningAt = time.Now()
			r.event(n.Host, "running", "")
		}
		// RUNNING must hold for the settle time; a node that drops out starts it over. The settle
		// has its own deadline: a node that came up late in its start timeout still gets it.
		settleCtx, cancel3 := context.WithTimeout(ctx, s.Settle+s.StartTimeout)
		st, ok, err := r.hold(settleCtx, s, n)
		cancel3()
		if err != nil {
			return fail("settle", fmt.Errorf("did not stay RUNNING for %s within %s of the start (last seen: %s): %w", s.Settle, s.StartTimeout, st, err))
		}
		if ok {
			break
		}
		r.event(n.Host, "unsettled", st.String())
	}
	rep.SettledAt = time.Now()
	r.event(n.Host, "settled", "")
	return rep, nil
}

// waitFor probes until ok or ctx ends; it returns the last status seen.
func (r *Roller) waitFor(ctx context.Context, s Spec, n Node, ok func(Status) bool) (Status, error) {
	t := time.NewTicker(s.poll())
	defer t.Stop()
	for {
		st := Probe(ctx, r.HTTP, s.Probe, n.URL)
		if ok(st) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-t.C:
		}
	}
}

// hold probes for the settle time; ok is false if the node left RUNNING meanwhile.
func (r *Roller) hold(ctx context.Context, s Spec, n Node) (Status, bool, error) {
	deadline := time.Now().Add(s.Settle)
	t := time.NewTicker(s.poll())
	defer t.Stop()
	for {
		st := Probe(ctx, r.HTTP, s.Probe, n.URL)
		if !st.Ready() {
			return st, false, nil
		}
		if !time.Now().Before(deadline) {
			return st, true, nil
		}
		select {
		case <-ctx.Done():
			return st, false, ctx.Err()
		case <-t.C:
		}
	}
}
