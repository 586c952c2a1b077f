package tokens

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/reauth/reauth/backup"
	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/products"
	"github.com/reauth/reauth/products/producttest"
)

// jiraConn connects to a Jira database of srv as the target "jira", and returns a folder with
// an empty backups folder in it.
func jiraConn(t *testing.T, srv *dbtest.Server, d *dbtest.Database) (*Conn, string) {
	t.Helper()
	src, err := db.ParseURL(d.JDBC)
	if err != nil {
		t.Fatal(err)
	}
	p, err := products.Lookup("jira")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pool, err := db.Open(ctx, src, db.Credentials{User: srv.User, Password: srv.Password})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, &Target{Name: "jira", Product: p, Source: src, Dialect: db.Dialects[src.Dialect]}, pool)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	dir := t.TempDir()
	if err := backup.EnsureDir(filepath.Join(dir, "backups")); err != nil {
		t.Fatal(err)
	}
	return c, dir
}

// TestClearByPages checks that a clear of every row on PostgreSQL 14 or later goes by pages, and
// that a row moved into pages already cleared (an UPDATE writes a new version of a row where
// there is room) is taken by the last batch. A scoped clear goes by key.
func TestClearByPages(t *testing.T) {
	srv := dbtest.Postgres(t)
	d := srv.NewDatabase(t)
	f, _ := producttest.For("jira", "postgres")
	f.Setup(t, d.Exec, 3000)
	c, dir := jiraConn(t, srv, d)
	ctx := context.Background()
	if _, ok := c.byPages(ctx, nil); !ok {
		t.Fatal("a clear of every row on PostgreSQL 15 does not go by pages")
	}
	conds, err := c.conditions(ctx, Scope{Users: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.byPages(ctx, conds); ok {
		t.Error("a scoped clear goes by pages")
	}

	// Free room in the first pages, then, once the first batch is done, update rows of the
	// last pages: their new versions land in the room, in pages already cleared.
	d.Exec(t, "DELETE FROM remembermetoken WHERE id % 3 = 0 AND id < 11000")
	d.Exec(t, "VACUUM remembermetoken")
	moved, inCleared := false, 0
	o := ClearOptions{
		BatchSize: 200, Path: filepath.Join(dir, "backups", "jira.backup.jsonl"), RunID: "r1", Environment: "test", Tool: "test",
		Progress: func(done int64) {
			if !moved {
				moved = true
				d.Exec(t, "UPDATE remembermetoken SET token = token || '-moved' WHERE id > 12900")
				// Page 0 is in the first batch: whatever lives there now was moved there.
				q := "SELECT COUNT(*) FROM remembermetoken WHERE ctid < '(1,0)'"
				if err := c.Pool.QueryRowContext(ctx, q).Scan(&inCleared); err != nil {
					t.Error(err)
				}
			}
		},
	}
	res, err := c.Clear(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if inCleared == 0 {
		t.Fatal("no updated row moved into a page already cleared: the test proves nothing")
	}
	t.Logf("%d rows moved into page 0 after its batch; %d rows in %d batches", inCleared, res.Deleted, res.Batches)
	if n := producttest.Count(t, c.Pool, "remembermetoken"); n != 0 {
		t.Errorf("%d rows left after a clear of every row", n)
	}
	if res.Deleted != res.BackedUp {
		t.Errorf("deleted %d rows, backed up %d", res.Deleted, res.BackedUp)
	}
}
