package runbook

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"

	"github.com/reauth/reauth/restart"
	"github.com/reauth/reauth/tokens"
)

// Need is what a change to one target must hold before it starts.
type Need struct {
	Target string
	// Table is the connection to the target's token table: reauth's lock on the table in the
	// database is taken on it. Nil: the change needs no table lock (GitLab targets).
	Table *tokens.Conn
	// TableIfReachable connects to the target's database for its table lock only (restart,
	// which changes nothing in the database): if the database cannot be reached, the local
	// and node locks still keep other reauth processes off, and a note says so.
	TableIfReachable bool
	// Nodes are the nodes to be restarted: each one's lock is taken on the node itself.
	Nodes []restart.Node
}

// Acquire takes what the needs ask for, in one order for every command: the local lock of
// each target (an flock in backup_dir), then reauth's lock on each token table in its
// database, then each node's lock on the node, over SSH. The first that another reauth holds
// stops it with an error wrapping ErrBusy, and what was taken is let go. note hears why a
// lock could not be taken where reauth goes on without it. release lets everything go, in
// reverse order.
func (c *Config) Acquire(ctx context.Context, run *Run, needs []Need, note func(string)) (release func(), err error) {
	var held []func()
	letGo := func() {
		for i := len(held) - 1; i >= 0; i-- {
			held[i]()
		}
	}
	defer func() {
		if err != nil {
			letGo()
		}
	}()
	for _, n := range needs {
		unlock, err := c.Lock(n.Target, run)
		if err != nil {
			return nil, err
		}
		held = append(held, unlock)
	}
	for _, n := range needs {
		switch {
		case n.Table != nil:
			unlock, msg, err := n.Table.LockTable(ctx)
			if err != nil {
				return nil, err
			}
			if msg != "" {
				note(msg)
			}
			held = append(held, unlock)
		case n.TableIfReachable:
			unlock, err := c.lockTableIfReachable(ctx, n.Target, note)
			if err != nil {
				return nil, err
			}
			held = append(held, unlock)
		}
	}
	var dialer *restart.Dialer
	for _, n := range needs {
		for _, node := range n.Nodes {
			if dialer == nil {
				if dialer, err = c.Dialer(); err != nil {
					return nil, err
				}
			}
			unlock, err := c.lockNode(ctx, dialer, n.Target, node)
			if err != nil {
				return nil, err
			}
			held = append(held, unlock)
		}
	}
	return letGo, nil
}

// lockTableIfReachable takes the token table's lock for a change that does not otherwise
// need the database.
func (c *Config) lockTableIfReachable(ctx context.Context, target string, note func(string)) (func(), error) {
	none := func() {}
	skip := func(err error) (func(), error) {
		note(fmt.Sprintf("reauth's lock in the database was not taken (%v); this host's lock and the nodes' locks keep other reauth processes off target %s", err, target))
		return none, nil
	}
	tg, err := c.Prepare(ctx, target)
	if err != nil {
		return skip(err)
	}
	conn, err := tg.Connect(ctx)
	if err != nil {
		return skip(err)
	}
	unlock, msg, err := conn.LockTable(ctx)
	switch {
	case errors.Is(err, ErrBusy):
		conn.Close()
		return nil, err
	case err != nil:
		conn.Close()
		return skip(err)
	case msg != "":
		note(msg)
	}
	return func() {
		unlock()
		conn.Close()
	}, nil
}

// NodeLockPath is where a node's lock is taken on the node: one file per port the product
// listens on, so that a node is one lock however a config names its host.
func (c *Config) NodeLockPath(node restart.Node) string {
	port := "80"
	if u, err := url.Parse(node.URL); err == nil {
		switch {
		case u.Port() != "":
			port = u.Port()
		case u.Scheme == "https":
			port = "443"
		}
	}
	return path.Join(c.SSH.NodeLockDir, "reauth-node-"+port+".lock")
}

// lockNode takes one node's lock, held over an SSH connection of its own until released.
func (c *Config) lockNode(ctx context.Context, d *restart.Dialer, target string, node restart.Node) (func(), error) {
	client, err := d.Dial(ctx, node.Host)
	if err != nil {
		return nil, fmt.Errorf("lock node %s of target %s: %w", node.Host, target, err)
	}
	unlock, err := client.Lock(ctx, c.NodeLockPath(node))
	if err != nil {
		client.Close()
		if errors.Is(err, restart.ErrNodeBusy) {
			return nil, fmt.Errorf("%w: node %s of target %s is being restarted by another reauth (%v): wait for it to finish", ErrBusy, node.Host, target, err)
		}
		return nil, fmt.Errorf("lock node %s of target %s: %w", node.Host, target, err)
	}
	return func() {
		unlock()
		client.Close()
	}, nil
}

// NodesOf returns the nodes a restart of the target would touch: none for a GitLab target or
// one that lists none.
func (c *Config) NodesOf(target string) []restart.Node {
	s, err := c.RestartSpec(target)
	if err != nil {
		return nil
	}
	return s.Nodes
}
