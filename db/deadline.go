package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Deadlines. Every network step of a connection is bounded:
//
//   - Open: connecting (TCP dial, TLS handshake, login) and the first check of the connection
//     must finish within ConnectTimeout for each address of the source (15s for one host),
//     whether or not the caller's context has a deadline. Otherwise Open fails with an error
//     that wraps ErrNoAnswer and reads "no answer from HOST:PORT within 15s".
//   - Every later connection the pool opens is bounded the same way: PostgreSQL by pgx's
//     connect_timeout (dial, TLS and authentication), MySQL, SQL Server and Oracle by a guard
//     that ends the connection when its login has not finished within ConnectTimeout or the
//     caller's context ends first.
//   - MySQL writes: a write that the server does not take within mysqlWriteTimeout fails.
//   - Queries, deletes and commits are bounded by the caller's context only. Per-read
//     timeouts (go-sql-driver's readTimeout, go-ora's TIMEOUT, go-mssqldb's connection
//     timeout) are deliberately not set: they apply to every packet read for the life of the
//     connection, so a long batch delete that sends nothing back for a while would be cut
//     half-way. The caller decides how long a statement may run.
var ConnectTimeout = 15 * time.Second

// LockTimeout bounds how long one statement waits for a lock that another session holds (a
// product's transaction on a token row, a migration's lock on the table), where the database
// would otherwise wait for ever: PostgreSQL's lock_timeout, set on every connection. The
// statement then fails with a lock timeout, which Retryable accepts: a clear's batch rolls back
// and is tried again. MySQL and MariaDB bound the wait themselves (innodb_lock_wait_timeout,
// 50 s by default, error 1205); SQL Server and Oracle are left to wait, as an interrupt ends it.
var LockTimeout = 50 * time.Second

// mysqlWriteTimeout bounds one write to a MySQL server. The server reads a statement before
// running it, so a write waits only on a server that has stopped reading.
const mysqlWriteTimeout = 60 * time.Second

// ErrNoAnswer marks a database that accepted no connection, or did not complete its
// handshake or login, within the deadline.
var ErrNoAnswer = errors.New("no answer")

// loginGuard bounds a driver's connect (dial, TLS handshake, login) by its context, for drivers
// that watch the context while dialling but not while reading the server's first packets
// (go-mssqldb waited 798s on a server that never answered). The driver dials through the
// guard, which remembers the connection; when the context ends before the connect returns,
// the connection gets a deadline in the past and the driver's blocked read fails at once.
// Connects through one guard run one at a time so that the connections dialled belong to the
// connect in progress; reauth opens a handful of connections per database.
type loginGuard struct {
	inner   driver.Connector
	timeout time.Duration // bound on one connect; the caller's context may end it sooner

	connectMu sync.Mutex
	mu        sync.Mutex // guards the fields below
	active    bool       // a connect is in progress
	expired   bool       // its context has ended
	dialed    []net.Conn
}

func (g *loginGuard) Driver() driver.Driver { return g.inner.Driver() }

func (g *loginGuard) Connect(ctx context.Context) (driver.Conn, error) {
	g.connectMu.Lock()
	defer g.connectMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	g.mu.Lock()
	g.active, g.expired, g.dialed = true, false, nil
	g.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.expired = true
		for _, c := range g.dialed {
			_ = c.SetDeadline(time.Unix(1, 0))
		}
	})
	conn, err := g.inner.Connect(ctx)
	inTime := stop()
	g.mu.Lock()
	g.active, g.dialed = false, nil
	g.mu.Unlock()
	if !inTime {
		// The connection, if any, has a deadline in the past: it cannot be used.
		if err == nil {
			conn.Close()
			err = ctx.Err()
		}
		return nil, fmt.Errorf("%w: %w", context.Cause(ctx), err)
	}
	return conn, err
}

// DialContext is the dialer handed to the driver.
func (g *loginGuard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.active {
		g.dialed = append(g.dialed, c)
		if g.expired {
			_ = c.SetDeadline(time.Unix(1, 0))
		}
	}
	return c, nil
}

// connectDeadline is how long Open waits for src: ConnectTimeout for each address, as the
// drivers try them in turn.
func connectDeadline(src Source) time.Duration {
	return ConnectTimeout * time.Duration(max(1, len(src.Hosts)))
}

// noAnswerError says which address did not answer in time.
func noAnswerError(src Source, within time.Duration) error {
	addr := src.Socket
	if addr == "" {
		var hosts []string
		for _, h := range src.Hosts {
			hosts = append(hosts, h.String())
		}
		addr = joinOr(hosts)
	}
	if src.Descriptor != "" && len(src.Hosts) == 0 {
		addr = "the descriptor's addresses"
	}
	return fmt.Errorf("connect to %s: %w from %s within %v", src, ErrNoAnswer, addr, within)
}

func joinOr(s []string) string {
	switch len(s) {
	case 0:
		return "the server"
	case 1:
		return s[0]
	}
	out := s[0]
	for _, x := range s[1 : len(s)-1] {
		out += ", " + x
	}
	return out + " or " + s[len(s)-1]
}
