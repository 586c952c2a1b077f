package runbook

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/reauth/reauth/tokens"
)

// ErrBusy marks a target that another reauth process is working on: it holds the target's
// lock on this host, one of its nodes' locks, or its token table's lock in the database
// (tokens.ErrBusy, the same error).
var ErrBusy = tokens.ErrBusy

type lockInfo struct {
	RunID   string    `json:"run_id"`
	PID     int       `json:"pid"`
	OSUser  string    `json:"os_user"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
}

// Lock takes the target's lock for the rest of the process's work on it: a second reauth
// working on the same target from this config refuses instead of racing the first. The lock
// is an flock on a file in backup_dir, released by the returned func or when the process
// dies, so a killed run never leaves a stale lock.
func (c *Config) Lock(target string, run *Run) (unlock func(), err error) {
	if err := os.MkdirAll(c.BackupDir, 0o700); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	path := filepath.Join(c.BackupDir, target+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		var held lockInfo
		b := make([]byte, 4096)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if json.Unmarshal(b[:n], &held) == nil && held.PID != 0 {
			return nil, fmt.Errorf("%w: target %s is being worked on by another reauth (run %s, pid %d, %s@%s, since %s): wait for it to finish",
				ErrBusy, target, held.RunID, held.PID, held.OSUser, held.Host, held.Started.Format(time.RFC3339))
		}
		return nil, fmt.Errorf("%w: target %s is being worked on by another reauth (%s is locked)", ErrBusy, target, path)
	}
	info, _ := json.Marshal(lockInfo{RunID: run.ID, PID: os.Getpid(), OSUser: run.OSUser, Host: run.Host, Started: time.Now().UTC()})
	f.Truncate(0)
	f.WriteAt(info, 0)
	return func() {
		f.Truncate(0)
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
