package tokens

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/reauth/reauth/backup"
	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/products/producttest"
)

// TestClearInterruptedKeepsOnlyDeleted: a clear interrupted with a batch in flight lands that
// batch before returning, and its backup holds exactly the rows deleted: a batch the interrupt
// rolled back is cut from it.
func TestClearInterruptedKeepsOnlyDeleted(t *testing.T) {
	for _, name := range []string{"postgres", "mariadb"} {
		t.Run(name, func(t *testing.T) {
			var srv *dbtest.Server
			dialect := "postgres"
			if name == "mariadb" {
				srv, dialect = dbtest.MariaDB(t), "mysql"
			} else {
				srv = dbtest.Postgres(t)
			}
			d := srv.NewDatabase(t)
			f, _ := producttest.For("jira", dialect)
			const rows = 3000
			f.Setup(t, d.Exec, rows)
			c, dir := jiraConn(t, srv, d)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			path := filepath.Join(dir, "backups", "jira.backup.jsonl")
			res, err := c.Clear(ctx, ClearOptions{
				BatchSize: 200, Path: path, RunID: "r1", Environment: "test", Tool: "test",
				// LockedReads keeps MariaDB on the pipeline of read-then-delete batches.
				LockedReads: true,
				Progress: func(done int64) {
					if done >= 400 {
						cancel()
					}
				},
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Clear = %+v, %v; want interrupted", res, err)
			}
			left := producttest.Count(t, c.Pool, "remembermetoken")
			if res.Deleted != rows-int64(left) {
				t.Errorf("result says %d deleted; the table lost %d", res.Deleted, rows-int64(left))
			}
			if res.BackedUp != res.Deleted {
				t.Errorf("backed up %d rows, deleted %d", res.BackedUp, res.Deleted)
			}
			r, err := backup.Open(res.Backup)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			if err := r.Each(func([]*string) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
			if int64(n) != res.Deleted {
				t.Errorf("the backup holds %d rows; %d were deleted", n, res.Deleted)
			}
			t.Logf("%d rows deleted in %d batches before the interrupt; %d left", res.Deleted, res.Batches, left)
		})
	}
}
