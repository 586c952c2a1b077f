package runbook

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ErrBusy marks a target that another reauth process is working on.
var ErrBusy = errors.New("target busy")

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

// LockTable takes reauth's lock on the target's token table in the database itself, for the
// rest of the process's work on it: Lock keeps apart the processes of one config on one host;
// this one also keeps apart those of other hosts and other configs that reach the same table.
// The lock is held by a connection of its own, so it ends with the process at the latest.
// Where the dialect has no such lock (Oracle), it takes none and says so in note.
func (c *Conn) LockTable(ctx context.Context) (unlock func(), note string, err error) {
	d := c.Target.Dialect
	name := "reauth:" + c.Tokens.Table.String()
	q, args := d.TryLock(name)
	if q == "" {
		return func() {}, fmt.Sprintf("%s has no lock reauth can take without extra grants: only this host's lock keeps other reauth processes off %s", d.Title, c.Tokens.Table), nil
	}
	conn, err := c.Pool.Conn(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("lock %s: %w", c.Tokens.Table, err)
	}
	var got int
	if err := conn.QueryRowContext(ctx, q, args...).Scan(&got); err != nil {
		conn.Close()
		return nil, "", fmt.Errorf("lock %s: %w", c.Tokens.Table, err)
	}
	if got != 1 {
		conn.Close()
		return nil, "", fmt.Errorf("%w: table %s of target %s is being worked on by another reauth, from another host or another config (it holds reauth's lock in the database): wait for it to finish",
			ErrBusy, c.Tokens.Table, c.Target.Name)
	}
	return func() {
		// The connection goes back to the pool: release the lock first, or it would stay with
		// the pooled session.
		q, args := d.Unlock(name)
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, q, args...); err != nil {
			// Not released: the session must end instead.
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, "", nil
}
