package runbook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/reauth/reauth/products"
	"github.com/reauth/reauth/restart"
)

// Restart defaults where neither the config nor the product says otherwise.
const (
	defaultStopTimeout  = 5 * time.Minute
	defaultStartTimeout = 15 * time.Minute
	defaultSettle       = 30 * time.Second
)

// ErrNoNodes marks a target whose config lists no nodes to restart.
var ErrNoNodes = errors.New("no nodes")

// errPart marks a target's part (ErrNoNodes too): its nodes are its target's, restarted and
// verified there.
var errPart = errors.New("a part of a target")

// ErrResumeState marks a restart refused because of the state a halted one left: there is one
// and --resume was not given, or --resume was given and there is none.
var ErrResumeState = errors.New("restart state")

// RestartSpec builds the restart spec of a target from its config and the product's defaults
// (systemctl with the product's usual unit).
func (c *Config) RestartSpec(name string) (restart.Spec, error) {
	tc, err := c.Target(name)
	if err != nil {
		return restart.Spec{}, err
	}
	if tc.gitlab() {
		return restart.Spec{}, fmt.Errorf("%w: target %s is GitLab, whose sessions end without a restart", ErrNoNodes, name)
	}
	if tc.part != 0 {
		return restart.Spec{}, fmt.Errorf("%w: %w: %s's nodes are target %s's: restart that target", ErrNoNodes, errPart, name, tc.of)
	}
	if len(tc.Nodes) == 0 {
		return restart.Spec{}, fmt.Errorf("%w: target %s lists no nodes: add nodes: with host and url", ErrNoNodes, name)
	}
	p, err := products.Lookup(tc.Product)
	if err != nil {
		return restart.Spec{}, c.fail(tc, "product", "%w", err)
	}
	r := tc.Restart
	s := restart.Spec{
		Target: name, Product: p.Name, Tomcat: p.Tomcat,
		Probe: p.Probe,
		Stop:  r.Stop, Start: r.Start, InstallDir: r.InstallDir,
		StopTimeout: time.Duration(r.StopTimeout), StartTimeout: time.Duration(r.StartTimeout),
	}
	if s.InstallDir != "" && p.TomcatDir != "" {
		// install_dir is the product's install folder; Tomcat is in a folder of it.
		s.InstallDir = strings.TrimRight(s.InstallDir, "/") + "/" + p.TomcatDir
	}
	if s.Stop == "" {
		s.Stop = "sudo systemctl stop " + p.Service
	}
	if s.Start == "" {
		s.Start = "sudo systemctl start " + p.Service
	}
	if s.StopTimeout == 0 {
		s.StopTimeout = defaultStopTimeout
	}
	if s.StartTimeout == 0 {
		s.StartTimeout = defaultStartTimeout
	}
	s.Settle = defaultSettle
	if r.Settle != nil {
		s.Settle = time.Duration(*r.Settle)
	}
	for _, n := range tc.Nodes {
		s.Nodes = append(s.Nodes, restart.Node{Host: n.Host, URL: n.URL, Primary: n.Role == "primary"})
	}
	return s, nil
}

// Roller returns a roller that reaches nodes with the config's SSH settings.
func (c *Config) Roller(event func(restart.Event)) (*restart.Roller, error) {
	d, err := c.Dialer()
	if err != nil {
		return nil, err
	}
	return &restart.Roller{
		Dial: func(ctx context.Context, host string) (restart.Runner, error) {
			return d.Dial(ctx, host)
		},
		HTTP:  restart.NewHTTPClient(),
		Event: event,
	}, nil
}

// Dialer reaches nodes with the config's SSH settings.
func (c *Config) Dialer() (*restart.Dialer, error) {
	sc := restart.SSHConfig{
		User: c.SSH.User, IdentityFile: c.SSH.IdentityFile, KnownHosts: c.SSH.KnownHosts,
		Port: c.SSH.Port, JumpHost: c.SSH.JumpHost,
	}
	if sc.User == "" {
		if u, err := user.Current(); err == nil {
			sc.User = u.Username
		}
	}
	d, err := restart.NewDialer(sc)
	if err != nil {
		return nil, &ConfigError{File: c.file, Field: "ssh", Msg: err.Error()}
	}
	return d, nil
}

// RestartState is what a rolling restart leaves in backup_dir while it runs, so that a halted
// one resumes where it stopped.
type RestartState struct {
	RunID       string               `json:"run_id"`
	Environment string               `json:"environment"`
	Target      string               `json:"target"`
	Started     time.Time            `json:"started"`
	Done        []string             `json:"done"`
	Reports     []restart.NodeReport `json:"reports"`
	path        string
}

// StatePath is where a target's restart state lives.
func (c *Config) StatePath(target string) string {
	return filepath.Join(c.BackupDir, target+".restart-state.json")
}

// LoadRestartState reads a target's restart state; ok is false when there is none.
func (c *Config) LoadRestartState(target string) (st *RestartState, ok bool, err error) {
	path := c.StatePath(target)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &RestartState{Target: target, path: path}, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	st = &RestartState{path: path}
	if err := json.Unmarshal(b, st); err != nil || st.Target != target {
		return nil, false, &ConfigError{File: path, Msg: "not a restart state file of target " + target + ": delete it if no restart is under way"}
	}
	if err := c.checkHalted(path, st.Environment, st.Started); err != nil {
		return nil, false, err
	}
	return st, true, nil
}

// maxResumeAge is how old a halted run or restart may be and still be resumed: past it, what
// was done then proves nothing about the sessions and tokens of now.
const maxResumeAge = 24 * time.Hour

// checkHalted refuses the state a halted run left when it belongs to another environment (two
// configs sharing a backup_dir) or is too old to resume.
func (c *Config) checkHalted(path, env string, started time.Time) error {
	switch {
	case env != "" && env != c.Environment:
		return &ConfigError{File: path, Msg: fmt.Sprintf("left by a run in environment %q, not %q: give each environment its own backup_dir", env, c.Environment)}
	case !started.IsZero() && time.Since(started) > maxResumeAge:
		return &ConfigError{File: path, Msg: fmt.Sprintf("left by a run that halted %s ago (%s): too old to resume; check the nodes, delete it and start afresh", time.Since(started).Round(time.Hour), started.Format(time.RFC3339))}
	}
	return nil
}

// DoneSet is the set of nodes already restarted.
func (st *RestartState) DoneSet() map[string]bool {
	m := map[string]bool{}
	for _, h := range st.Done {
		m[h] = true
	}
	return m
}

// Save writes the state atomically (0600).
func (st *RestartState) Save() error {
	if err := os.MkdirAll(filepath.Dir(st.path), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	tmp := st.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		f.Sync()
		f.Close()
	}
	return os.Rename(tmp, st.path)
}

// Remove deletes the state once every node is done.
func (st *RestartState) Remove() error {
	err := os.Remove(st.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// RestartResult is what a rolling restart did.
type RestartResult struct {
	Target  string               `json:"target"`
	Nodes   []restart.NodeReport `json:"nodes"`
	Skipped []string             `json:"skipped"` // restarted by an earlier, halted run
	Halted  bool                 `json:"halted"`
	Resume  string               `json:"resume,omitempty"` // the command that resumes
	Error   string               `json:"error,omitempty"`
}

// RollTarget restarts a target's nodes one at a time, recording each finished node in the
// state file and the audit log. only, when not empty, limits the restart to those hosts. A halt
// returns the *restart.HaltError with the state kept for --resume.
func RollTarget(ctx context.Context, cfg *Config, run *Run, roller *restart.Roller, spec restart.Spec, st *RestartState, only []string, resumeCmd string) (RestartResult, error) {
	res := RestartResult{Target: spec.Target, Skipped: append([]string{}, st.Done...), Nodes: []restart.NodeReport{}}
	done := st.DoneSet()
	skip := map[string]bool{} // not asked for with --node: left alone
	if len(only) > 0 {
		want := map[string]bool{}
		for _, h := range only {
			want[h] = true
		}
		for _, n := range spec.Nodes {
			if !want[n.Host] {
				skip[n.Host] = true
			}
		}
	}
	if st.RunID == "" {
		st.RunID, st.Started, st.Environment = run.ID, time.Now().UTC(), run.Environment
	}
	left := map[string]bool{}
	for h := range done {
		left[h] = true
	}
	for h := range skip {
		left[h] = true
	}
	entry := AuditEntry{Target: spec.Target, Action: "restart", Scope: "nodes " + strings.Join(hosts(spec.Ordered(), left), ", "), Outcome: "started"}
	if err := run.Audit(entry); err != nil {
		return res, err
	}
	if err := st.Save(); err != nil {
		return res, fmt.Errorf("restart state %s: %w", st.path, err)
	}
	reports, err := roller.Roll(ctx, spec, done, skip, func(rep restart.NodeReport) error {
		for i := range rep.Commands {
			rep.Commands[i].Output = run.redact(rep.Commands[i].Output)
		}
		// The audit line first: verify trusts it, and a node in the state but not in the audit
		// log would be skipped by --resume and then fail verify.
		if err := run.Audit(AuditEntry{Target: spec.Target, Action: "restart-node", Scope: rep.Host, Outcome: "ok",
			Nodes: []restart.NodeReport{rep}}); err != nil {
			return err
		}
		st.Done = append(st.Done, rep.Host)
		st.Reports = append(st.Reports, rep)
		return st.Save()
	})
	res.Nodes = reports
	entry.Outcome = "ok"
	var halt *restart.HaltError
	if err != nil {
		entry.Outcome, entry.Error = "halted", err.Error()
		res.Error = err.Error()
		if errors.As(err, &halt) {
			res.Halted, res.Resume = true, resumeCmd
		}
	} else {
		// Done: every node asked for is restarted. A --node restart leaves no state behind,
		// so that no later restart skips a node because of it.
		if rerr := st.Remove(); rerr != nil {
			err = fmt.Errorf("restart state %s: %w", st.path, rerr)
		}
	}
	return res, withAudit(err, run.Audit(entry))
}

func hosts(nodes []restart.Node, skip map[string]bool) []string {
	var out []string
	for _, n := range nodes {
		if !skip[n.Host] {
			out = append(out, n.Host)
		}
	}
	return out
}

// CheckNodes runs the restart preflight of every target of the plan that lists nodes: each
// node reachable over SSH with a known host key, RUNNING now, and Tomcat session persistence
// reported. A target with a node that fails is not ready. It changes nothing.
func (p *Plan) CheckNodes(ctx context.Context) {
	var (
		roller    *restart.Roller
		rollerErr error
	)
	in := map[string]bool{}
	for _, tp := range p.Targets {
		in[tp.Name] = true
	}
	for _, tp := range p.Targets {
		spec, err := p.cfg.RestartSpec(tp.Name)
		if owner := p.cfg.OwnerOf(tp.Name); errors.Is(err, errPart) && !in[owner] {
			tp.Warnings = append(tp.Warnings, fmt.Sprintf("the nodes are target %s's, which is not in this run: sessions held in their memory stay until `reauth restart --target %s`", owner, owner))
			continue
		}
		if errors.Is(err, ErrNoNodes) {
			if tp.kind.restarts() && !errors.Is(err, errPart) {
				tp.Warnings = append(tp.Warnings, "no nodes are listed: a run cannot restart this target, so sessions held in the nodes' memory stay until they restart (add nodes: with host and url)")
			}
			continue
		}
		if err == nil && roller == nil && rollerErr == nil {
			roller, rollerErr = p.cfg.Roller(nil)
		}
		if err == nil {
			err = rollerErr
		}
		if err != nil {
			tp.fail(err)
			continue
		}
		checks, err := roller.Preflight(ctx, spec)
		for _, c := range checks {
			tp.Nodes = append(tp.Nodes, NodeState{Host: c.Host, State: string(c.State)})
			if c.Persistence != "" {
				tp.Warnings = append(tp.Warnings, fmt.Sprintf("node %s: Tomcat persists sessions (%s): reauth removes SESSIONS.ser while the node is stopped", c.Host, c.Persistence))
			}
		}
		if spec.InstallDir == "" && spec.Tomcat {
			tp.Warnings = append(tp.Warnings, "restart.install_dir is not set: server.xml is not checked for session persistence and SESSIONS.ser is not removed")
		}
		if err != nil {
			tp.fail(err)
		}
	}
}

// fail marks the target not ready because of err (keeping the first error).
func (tp *TargetPlan) fail(err error) {
	tp.Ready = false
	if tp.err == nil {
		tp.err = err
		tp.Error = err.Error()
	}
}
