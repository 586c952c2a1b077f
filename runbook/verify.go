package runbook

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/reauth/reauth/backup"
	"github.com/reauth/reauth/products/gitlab"
	"github.com/reauth/reauth/restart"
)

// VerifyResult is the proof that a target's users must log in again: no remember-me row in
// scope from before Since, none of the rows the run's backups hold, every node RUNNING and
// restarted after Since.
type VerifyResult struct {
	Target string    `json:"target"`
	Since  time.Time `json:"since"`
	OK     bool      `json:"ok"`
	// OldTokens counts rows in scope created before Since (-1: the table has no creation time).
	OldTokens int64 `json:"old_tokens"`
	// ClearedLeft counts rows of clear backups taken since Since that are in the table again.
	ClearedLeft int64        `json:"cleared_left"`
	Backups     []string     `json:"backups_checked"`
	Nodes       []NodeVerify `json:"nodes"`
	Problems    []string     `json:"problems"`
	Notes       []string     `json:"notes"`
	// GitLab is what a GitLab target's verification found (OldTokens then counts every
	// leftover from before Since, or of unknown age or owner).
	GitLab *gitlab.VerifyResult `json:"gitlab,omitempty"`
}

// NodeVerify is one node's part of a verification.
type NodeVerify struct {
	Host        string    `json:"host"`
	State       string    `json:"state"`
	RestartedAt time.Time `json:"restarted_at,omitempty"` // RUNNING again after its restart
	OK          bool      `json:"ok"`
}

// Verify checks a target. The database part needs the plan's connection; the node part reads
// the audit log for restarts after since and probes each node now.
func (p *Plan) Verify(ctx context.Context, tp *TargetPlan, since time.Time) (VerifyResult, error) {
	return tp.kind.verify(ctx, p, tp, since)
}

// verify, for an Atlassian target: no token in scope older than since, no cleared row back,
// every node restarted after since and RUNNING now.
func (atlassianKind) verify(ctx context.Context, p *Plan, tp *TargetPlan, since time.Time) (VerifyResult, error) {
	res := VerifyResult{Target: tp.Name, Since: since.UTC(), Nodes: []NodeVerify{}, Problems: []string{}, Backups: []string{}, Notes: []string{}}
	if tp.conn == nil {
		return res, tp.err
	}
	c := tp.conn
	scope := p.scope
	res.OldTokens = -1
	// What the run could not end, where the product signs users in through an identity provider.
	res.Notes = append(res.Notes, p.ssoLeft(tp)...)
	n, ok, naive, err := c.OldTokens(ctx, scope, since)
	if err != nil {
		return res, err
	}
	if ok {
		res.OldTokens = n
		switch {
		case n > 0 && naive:
			// The product may write local time there: a count off by the time zone is no proof
			// either way. The backup-key check below is exact.
			res.Notes = append(res.Notes, fmt.Sprintf("%d remember-me rows in scope have a creation time before %s read as UTC, but column %s has no time zone: if the product writes local time, they may be new logins", n, since.UTC().Format(time.RFC3339), c.Tokens.Created))
		case n > 0:
			res.Problems = append(res.Problems, fmt.Sprintf("%d remember-me rows in scope were created before %s", n, since.UTC().Format(time.RFC3339)))
		}
	}
	files, err := clearBackupsSince(p.cfg.BackupDir, tp.Name, since)
	if err != nil {
		return res, err
	}
	for _, f := range files {
		n, err := c.KeysPresent(ctx, f)
		if err != nil {
			return res, err
		}
		res.Backups = append(res.Backups, f)
		res.ClearedLeft += n
	}
	if res.ClearedLeft > 0 {
		res.Problems = append(res.Problems, fmt.Sprintf("%d rows that were cleared are in the table again (restored?)", res.ClearedLeft))
	}
	if res.OldTokens < 0 {
		// Without a creation time, only the rows the run cleared can be looked for.
		if len(res.Backups) == 0 {
			res.Problems = append(res.Problems, fmt.Sprintf("table %s has no creation time and no clear backup of this target was taken since %s: nothing shows that the old tokens are gone", c.Tokens.Table, since.UTC().Format(time.RFC3339)))
		} else {
			res.Notes = append(res.Notes, fmt.Sprintf("table %s has no creation time: only the rows of the %d clear backups since then were looked for", c.Tokens.Table, len(res.Backups)))
		}
	}
	spec, err := p.cfg.RestartSpec(tp.Name)
	switch {
	case errors.Is(err, errPart):
		owner := p.cfg.OwnerOf(tp.Name)
		res.Notes = append(res.Notes, fmt.Sprintf("the nodes are target %s's: `reauth verify --target %s` checks their restart", owner, owner))
	case errors.Is(err, ErrNoNodes):
		res.Problems = append(res.Problems, fmt.Sprintf("target %s lists no nodes: nothing shows that the sessions held in the nodes' memory ended (add nodes: with host and url)", tp.Name))
	case err != nil:
		return res, err
	default:
		restarted, err := restartsSince(p.cfg.AuditLog, tp.Name, since)
		if err != nil {
			return res, err
		}
		client := restart.NewHTTPClient()
		for _, n := range spec.Ordered() {
			st := restart.Probe(ctx, client, spec.Probe, n.URL)
			nv := NodeVerify{Host: n.Host, State: string(st.State), RestartedAt: restarted[n.Host]}
			nv.OK = st.Ready() && !nv.RestartedAt.IsZero()
			switch {
			case !st.Ready():
				res.Problems = append(res.Problems, fmt.Sprintf("node %s is %s", n.Host, st))
			case nv.RestartedAt.IsZero():
				res.Problems = append(res.Problems, fmt.Sprintf("node %s has no restart after %s in the audit log: its in-memory sessions may live on", n.Host, since.UTC().Format(time.RFC3339)))
			}
			res.Nodes = append(res.Nodes, nv)
		}
	}
	res.OK = len(res.Problems) == 0
	return res, nil
}

// clearBackupsSince lists the target's complete clear backups taken at or after since.
func clearBackupsSince(dir, target string, since time.Time) ([]string, error) {
	paths, _ := filepath.Glob(filepath.Join(dir, target+"-*"+backup.Extension))
	sort.Strings(paths)
	var out []string
	for _, p := range paths {
		r, err := backup.Open(p)
		if err != nil {
			continue // a damaged file is restore's business; verify checks what it can read
		}
		m := r.Manifest()
		if m.Action == "clear" && m.Target == target && !m.Created.Before(since.Add(-time.Second)) {
			out = append(out, p)
		}
	}
	return out, nil
}

// restartsSince reads the audit log for nodes of target restarted (RUNNING again) after since.
func restartsSince(auditLog, target string, since time.Time) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	f, err := os.Open(auditLog)
	if os.IsNotExist(err) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e AuditEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Target != target || e.Action != "restart-node" || e.Outcome != "ok" {
			continue
		}
		for _, n := range e.Nodes {
			if n.StopAt.After(since) && n.RunningAt.After(out[n.Host]) {
				out[n.Host] = n.RunningAt
			}
		}
	}
	return out, sc.Err()
}
