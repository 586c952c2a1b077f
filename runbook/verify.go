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
	"strings"
	"time"

	"github.com/reauth/reauth/backup"
	"github.com/reauth/reauth/db"
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
	if c.Tokens.Created != "" {
		conds, err := c.conditions(ctx, scope)
		if err != nil {
			return res, err
		}
		var cutoff any = since.UTC()
		if c.Tokens.CreatedKind != db.KindTime {
			cutoff = since.UnixMilli()
		}
		q, args := c.Target.Dialect.Count(c.Tokens.Table, append(conds, db.Less(c.Tokens.Created, cutoff))...)
		if err := c.Pool.QueryRowContext(ctx, q, args...).Scan(&res.OldTokens); err != nil {
			return res, fmt.Errorf("verify %s: %w", tp.Name, err)
		}
		col, _ := c.Tokens.column(c.Tokens.Created)
		switch {
		case res.OldTokens > 0 && naiveTime(col):
			// The product may write local time there: a count off by the time zone is no proof
			// either way. The backup-key check below is exact.
			res.Notes = append(res.Notes, fmt.Sprintf("%d remember-me rows in scope have a creation time before %s read as UTC, but column %s has no time zone: if the product writes local time, they may be new logins", res.OldTokens, since.UTC().Format(time.RFC3339), col.Name))
		case res.OldTokens > 0:
			res.Problems = append(res.Problems, fmt.Sprintf("%d remember-me rows in scope were created before %s", res.OldTokens, since.UTC().Format(time.RFC3339)))
		}
	}
	files, err := clearBackupsSince(p.cfg.BackupDir, tp.Name, since)
	if err != nil {
		return res, err
	}
	for _, f := range files {
		n, err := c.keysPresent(ctx, f)
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

// keysPresent counts the rows of a backup whose key is in the table now.
func (c *Conn) keysPresent(ctx context.Context, path string) (int64, error) {
	r, err := backup.Open(path)
	if err != nil {
		return 0, err
	}
	m := r.Manifest()
	ki := m.KeyIndex()
	kind := m.Columns[ki].Kind
	d := c.Target.Dialect
	var (
		total int64
		keys  []any
	)
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		q, args := d.Count(c.Tokens.Table, db.In(c.Tokens.Key, keys...))
		var n int64
		if err := c.Pool.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			return fmt.Errorf("verify %s: %w", path, err)
		}
		total += n
		keys = keys[:0]
		return nil
	}
	err = r.Each(func(v []*string) error {
		k, err := db.Value(kind, *v[ki])
		if err != nil {
			return err
		}
		keys = append(keys, k)
		if len(keys) == d.MaxInList {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return total, err
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

// naiveTime reports a creation column that holds a wall-clock time without a time zone.
func naiveTime(c db.Column) bool {
	if c.Kind != db.KindTime {
		return false // epoch milliseconds are absolute
	}
	t := strings.ToLower(c.DataType)
	switch {
	case strings.Contains(t, "with time zone"), t == "datetimeoffset":
		return false
	case t == "timestamp":
		// MySQL's TIMESTAMP is stored in UTC and read in the session's zone, UTC for reauth;
		// PostgreSQL calls its naive type "timestamp without time zone".
		return false
	}
	return true
}
