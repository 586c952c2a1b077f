package db

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/internal/harness"
)

// silentServer is a database that hangs right after the dial.
func silentServer(t *testing.T) Host {
	return Host{Name: "127.0.0.1", Port: harness.SilentListener(t)}
}

// A server that accepts the connection and then says nothing must not hang Open: each
// driver gives up after ConnectTimeout with an error that says so. Before the deadlines,
// MySQL hung for 70s and SQL Server for 798s.
func TestOpenSilentServer(t *testing.T) {
	old := ConnectTimeout
	ConnectTimeout = time.Second
	t.Cleanup(func() { ConnectTimeout = old })
	for _, dialect := range []string{"postgres", "mysql", "sqlserver", "oracle"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := silentServer(t)
			src := Source{Dialect: dialect, Hosts: []Host{h}, Database: "jiradb"}
			if dialect == "postgres" {
				src.Params = map[string]string{"sslmode": "disable"}
			}
			if dialect == "sqlserver" {
				src.Params = map[string]string{"encrypt": "false"}
			}
			type result struct {
				err error
				in  time.Duration
			}
			res := make(chan result, 1)
			start := time.Now()
			go func() {
				pool, err := Open(context.Background(), src, Credentials{User: "jira", Password: "secret-pw"})
				if pool != nil {
					pool.Close()
				}
				res <- result{err, time.Since(start)}
			}()
			// Generous: the point is that Open returns, not how fast.
			const limit = 30 * time.Second
			select {
			case r := <-res:
				if r.err == nil {
					t.Fatalf("Open(%s) on a silent server succeeded", src)
				}
				if !errors.Is(r.err, ErrNoAnswer) {
					t.Fatalf("Open(%s) = %v after %v; want an error wrapping ErrNoAnswer", src, r.err, r.in)
				}
				want := "no answer from " + h.String() + " within 1s"
				if !strings.Contains(r.err.Error(), want) {
					t.Errorf("Open(%s) = %q; want it to say %q", src, r.err, want)
				}
				if strings.Contains(r.err.Error(), "secret-pw") {
					t.Errorf("Open(%s) error shows the password: %q", src, r.err)
				}
			case <-time.After(limit):
				t.Fatalf("Open(%s) on a silent server has not returned after %v", src, limit)
			}
		})
	}
}

// The caller's context still ends a connect at once, before ConnectTimeout: a first SIGTERM
// must not wait for the deadline.
func TestOpenSilentServerCanceled(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql", "sqlserver", "oracle"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			h := silentServer(t)
			src := Source{Dialect: dialect, Hosts: []Host{h}, Database: "jiradb",
				Params: map[string]string{"sslmode": "disable", "encrypt": "false"}}
			if dialect != "postgres" {
				delete(src.Params, "sslmode")
			}
			if dialect != "sqlserver" {
				delete(src.Params, "encrypt")
			}
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			res := make(chan error, 1)
			go func() {
				pool, err := Open(ctx, src, Credentials{User: "jira", Password: "pw"})
				if pool != nil {
					pool.Close()
				}
				res <- err
			}()
			select {
			case err := <-res:
				if err == nil || errors.Is(err, ErrNoAnswer) {
					t.Fatalf("Open(%s) with a canceled context = %v; want a cancellation error", src, err)
				}
			case <-time.After(ConnectTimeout - time.Second):
				t.Fatalf("Open(%s) did not return when its context was canceled", src)
			}
		})
	}
}
