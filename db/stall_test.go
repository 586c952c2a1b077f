package db_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/db/dbtest"
)

// freezer is a TCP proxy on 127.0.0.1 in front of a real server. Once frozen it stops passing
// bytes either way but keeps every connection open: a server that logged reauth in and then
// stopped answering.
type freezer struct {
	addr   string
	frozen atomic.Bool
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{addr: l.Addr().String()}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	keep := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	pipe := func(dst, src net.Conn) {
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			for f.frozen.Load() {
				time.Sleep(10 * time.Millisecond) // hold what was read; the peer waits
			}
			if n > 0 {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			keep(c)
			keep(s)
			go pipe(s, c)
			go pipe(c, s)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		f.frozen.Store(false)
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return f
}

// A server that stops answering in the middle of a statement: statements have no deadline of
// their own (a large batch takes what it takes), so the caller's context is what ends them,
// and it must, at once: an interrupt cancels the context.
func TestStatementOnStalledServerCanceled(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			var srv *dbtest.Server
			if dialect == "postgres" {
				srv = dbtest.Postgres(t)
			} else {
				srv = dbtest.MariaDB(t)
			}
			d := srv.NewDatabase(t)
			f := newFreezer(t, net.JoinHostPort(srv.Host, strconv.Itoa(srv.Port)))
			_, port, _ := net.SplitHostPort(f.addr)
			src, err := db.ParseURL(strings.Replace(d.JDBC, ":"+strconv.Itoa(srv.Port)+"/", ":"+port+"/", 1))
			if err != nil {
				t.Fatal(err)
			}
			if dialect == "postgres" {
				src.Params = map[string]string{"sslmode": "disable"}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			pool, err := db.Open(ctx, src, db.Credentials{User: srv.User, Password: srv.Password})
			if err != nil {
				t.Fatalf("Open(%s) through the proxy: %v", src, err)
			}
			defer pool.Close()
			conn, err := pool.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			f.frozen.Store(true)
			qctx, qcancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, qcancel)
			done := make(chan error, 1)
			start := time.Now()
			go func() {
				var one int
				done <- conn.QueryRowContext(qctx, "SELECT 1").Scan(&one)
			}()
			select {
			case err := <-done:
				took := time.Since(start)
				if err == nil {
					t.Fatal("a query on a frozen server succeeded")
				}
				t.Logf("%v after %v", err, took.Round(time.Millisecond))
			case <-time.After(20 * time.Second):
				t.Fatal("a query on a frozen server: still waiting 20s after its context was cancelled")
			}
		})
	}
}
