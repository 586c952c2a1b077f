package tokens

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"
)

// ErrBusy marks a token table that another reauth process is working on.
var ErrBusy = errors.New("target busy")

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
