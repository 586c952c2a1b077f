package tokens

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/products/producttest"
)

// TestClearLockWait: on PostgreSQL, whose statements would wait for ever for a row lock that
// another session holds, a clear's batch gives up after db.LockTimeout, rolls back and is
// tried again, 3 times in all. A lock released meanwhile lets the clear finish, every row
// deleted once and backed up; a lock held throughout ends the clear with the lock timeout, every
// row deleted until then in the backup and none of the locked batch's.
func TestClearLockWait(t *testing.T) {
	old := db.LockTimeout
	db.LockTimeout = 200 * time.Millisecond
	t.Cleanup(func() { db.LockTimeout = old })
	srv := dbtest.Postgres(t)
	f, _ := producttest.For("jira", "postgres")
	const rows = 600
	for _, release := range []bool{true, false} {
		name := map[bool]string{true: "lock released", false: "lock held"}[release]
		t.Run(name, func(t *testing.T) {
			d := srv.NewDatabase(t)
			f.Setup(t, d.Exec, rows)
			c, dir := jiraConn(t, srv, d)
			ctx := context.Background()
			// Another session locks the row of the third batch (keys from 10401 up).
			other := d.Open(t)
			tx, err := other.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, "SELECT id FROM remembermetoken WHERE id = 10450 FOR UPDATE"); err != nil {
				t.Fatal(err)
			}
			o := ClearOptions{BatchSize: 200, Path: filepath.Join(dir, "backups", "jira.backup.jsonl"), RunID: "r1", Environment: "test", Tool: "test",
				Scope: Scope{Users: producttest.Users}}
			if release {
				go func() {
					time.Sleep(2 * db.LockTimeout) // during the second try's wait
					tx.Rollback()
				}()
			}
			res, err := c.Clear(ctx, o)
			left := producttest.Count(t, c.Pool, "remembermetoken")
			if release {
				if err != nil {
					t.Fatalf("clear: %v", err)
				}
				if res.Retries == 0 || res.Deleted != rows || res.BackedUp != rows || left != 0 {
					t.Errorf("clear = %+v, %d rows left; want retries, all %d rows deleted and backed up", res, left, rows)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "lock timeout") || res.Retries != maxLockWaits-1 {
				t.Fatalf("clear with the lock held throughout: %v after %d retries; want the lock timeout after %d", err, res.Retries, maxLockWaits-1)
			}
			if res.Deleted != res.BackedUp || res.Deleted+int64(left) != rows || left == 0 {
				t.Errorf("clear = %+v, %d rows left; want what was deleted backed up, the rest in the table", res, left)
			}
			t.Logf("lock held: %d rows deleted before giving up after %d retries: %v", res.Deleted, res.Retries, err)
		})
	}
}
