package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/products/producttest"
	"github.com/reauth/reauth/runbook"
	"github.com/reauth/reauth/tokens"
)

// TestTableLockAcrossConfigs is invariant 8 across hosts and configs: a reauth working on a
// table from another config (another backup_dir, as on another jump host) holds reauth's lock
// in the database, and clear, restore and sessions revoke from this config refuse, touching
// nothing, until it is released.
func TestTableLockAcrossConfigs(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			const rows = 50
			e, d, pool, _ := jiraEnv(t, dialect, rows)
			conn := tableLockHolder(t, d)
			ctx := context.Background()

			r := e.run(t, "backup", "--target", "jira", "--output", "json").mustSucceed(t)
			var b struct{ Backup string }
			r.decode(t, &b)

			unlock, note, err := conn.LockTable(ctx)
			if err != nil || note != "" {
				t.Fatalf("LockTable: %v %q", err, note)
			}
			for _, args := range [][]string{
				{"clear", "--target", "jira", "--yes"},
				{"restore", "--yes", b.Backup},
				{"sessions", "revoke", "--target", "jira", "--user", "alice", "--yes"},
			} {
				r := e.run(t, args...)
				if r.code == 0 || !strings.Contains(r.stderr, "another reauth, from another host or another config") {
					t.Errorf("%s while another config holds the table: exit %d, %q; want a refusal", args[0], r.code, r.stderr)
				}
			}
			if n := producttest.Count(t, pool, "remembermetoken"); n != rows {
				t.Fatalf("%d rows left after refused commands; want %d", n, rows)
			}
			// One holder at a time, even within one process.
			if _, _, err := conn.LockTable(ctx); !errors.Is(err, runbook.ErrBusy) {
				t.Errorf("a second LockTable while the first holds: %v; want ErrBusy", err)
			}
			unlock()
			e.run(t, "clear", "--target", "jira", "--yes").mustSucceed(t)
			if n := producttest.Count(t, pool, "remembermetoken"); n != 0 {
				t.Errorf("%d rows left after the clear; want 0", n)
			}
		})
	}
}

// tableLockHolder connects to d's Jira table as a reauth with a config of its own (another
// backup_dir, as on another jump host) would, for the caller to take the table's lock with.
func tableLockHolder(t *testing.T, d *dbtest.Database) *tokens.Conn {
	t.Helper()
	other := newEnv(t, targetYAML{name: "jira", product: "jira", db: d})
	ctx := context.Background()
	cfg, err := runbook.LoadConfig(other.config)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := cfg.Prepare(ctx, "jira")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tg.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
