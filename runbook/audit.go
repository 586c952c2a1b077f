package runbook

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/reauth/reauth/restart"
)

// AuditEntry is one line of the audit log: one state-changing action, or its start.
type AuditEntry struct {
	Time        time.Time            `json:"time"`
	RunID       string               `json:"run_id"`
	OSUser      string               `json:"os_user"`
	Host        string               `json:"host"`
	Environment string               `json:"environment"`
	Target      string               `json:"target,omitempty"`
	Action      string               `json:"action"`         // backup, clear, restore, restart, run-step, ...
	Step        string               `json:"step,omitempty"` // for run-step: clear, restart, verify, revoke
	Scope       string               `json:"scope,omitempty"`
	Table       string               `json:"table,omitempty"`
	Counts      map[string]int64     `json:"counts,omitempty"`
	Backup      string               `json:"backup,omitempty"`
	SHA256      string               `json:"sha256,omitempty"`
	Nodes       []restart.NodeReport `json:"nodes,omitempty"` // per node: stop, down, start, RUNNING, settled times
	// GitLab's own audit fields, per user revoked (as its group script logs them).
	UserID       int64      `json:"user_id,omitempty"`
	Username     string     `json:"username,omitempty"`
	SessionCount *int       `json:"session_count,omitempty"`
	Group        string     `json:"group,omitempty"`
	PerformedAt  *time.Time `json:"performed_at,omitempty"`
	Outcome      string     `json:"outcome"` // started, ok, failed
	Error        string     `json:"error,omitempty"`
	Reason       string     `json:"reason,omitempty"`
}

// Run identifies one invocation of reauth in the audit log, backups and reports.
type Run struct {
	ID          string
	Environment string
	Reason      string
	OSUser      string
	Host        string
	auditPath   string
	// Redact removes secrets from text that goes into the audit log.
	Redact func(string) string
}

// NewRun starts a run: a fresh id, who and where.
func NewRun(cfg *Config, reason string, redact func(string) string) *Run {
	var b [6]byte
	rand.Read(b[:])
	r := &Run{
		ID:          time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]),
		Environment: cfg.Environment,
		Reason:      reason,
		auditPath:   cfg.AuditLog,
		Redact:      redact,
	}
	if u, err := user.Current(); err == nil {
		r.OSUser = u.Username
	}
	r.Host, _ = os.Hostname()
	return r
}

// ShortID is the run id's random part, short enough for file names.
func (r *Run) ShortID() string {
	if i := strings.LastIndexByte(r.ID, '-'); i >= 0 {
		return r.ID[i+1:]
	}
	return r.ID
}

func (r *Run) redact(s string) string {
	if r.Redact == nil {
		return s
	}
	return r.Redact(s)
}

// Audit appends an entry to the audit log and makes it durable. A state-changing action whose
// start cannot be logged must not run, so callers check the error.
func (r *Run) Audit(e AuditEntry) error {
	e.Time = time.Now().UTC()
	e.RunID, e.OSUser, e.Host, e.Environment, e.Reason = r.ID, r.OSUser, r.Host, r.Environment, r.Reason
	if r.Redact != nil {
		e.Error = r.Redact(e.Error)
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(r.auditPath), 0o700); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	f, err := openPrivate(r.auditPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("audit log %s: %w", r.auditPath, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("audit log %s: %w", r.auditPath, err)
	}
	return nil
}

// openPrivate opens a file reauth keeps for its user alone (the audit log, reports): never
// through a symbolic link, only a regular file of the user running reauth, and made 0600 if
// it was readable by others.
func openPrivate(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%s is a symbolic link: give the file's real path", path)
		}
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
		f.Close()
		return nil, fmt.Errorf("%s belongs to user id %d, not to the user running reauth (%d)", path, sys.Uid, os.Geteuid())
	}
	if st.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s is readable by other users (mode %04o) and cannot be made private: %w", path, st.Mode().Perm(), err)
		}
	}
	return f, nil
}
