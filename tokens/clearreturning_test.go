package tokens

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reauth/reauth/backup"
	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/products/producttest"
)

// TestClearReturning: on MariaDB a clear of every row deletes with DELETE ... RETURNING in two
// key ranges at once, and the backup holds exactly the rows deleted. When one range fails part
// way (a trigger refuses to delete one row), the other stops too, the backup is finished with
// every row that was deleted and no other, and restoring it gives back the original table.
func TestClearReturning(t *testing.T) {
	srv := dbtest.MariaDB(t)
	d := srv.NewDatabase(t)
	f, _ := producttest.For("jira", "mysql")
	const rows = 20000
	f.Setup(t, d.Exec, rows)
	d.Exec(t, "CREATE TABLE pristine AS SELECT * FROM remembermetoken")
	c, dir := jiraConn(t, srv, d)
	ctx := context.Background()
	original := producttest.Digest(t, c.Pool, "remembermetoken")

	if ok, err := c.deletesReturning(ctx, ClearOptions{}); err != nil || !ok {
		t.Fatalf("deletesReturning on MariaDB = %v, %v; want true", ok, err)
	}
	ranges, err := c.splitKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ranges) != returningStreams {
		t.Fatalf("the keys of %d rows split into %d ranges; want %d", rows, len(ranges), returningStreams)
	}
	t.Logf("key ranges: %v", ranges)
	if ok, _ := c.deletesReturning(ctx, ClearOptions{LockedReads: true}); ok {
		t.Errorf("LockedReads: the clear still deletes with RETURNING")
	}

	clear := func(name string) (ClearResult, error) {
		return c.Clear(ctx, ClearOptions{BatchSize: 500, Path: filepath.Join(dir, "backups", name+backup.Extension),
			RunID: name, Environment: "test", Tool: "test"})
	}
	res, err := clear("whole")
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != rows || res.BackedUp != rows || producttest.Count(t, c.Pool, "remembermetoken") != 0 {
		t.Fatalf("clear: deleted %d, backed up %d, %d left; want %d, %d, 0", res.Deleted, res.BackedUp,
			producttest.Count(t, c.Pool, "remembermetoken"), rows, rows)
	}
	restore(t, c, res.Backup)
	if producttest.Digest(t, c.Pool, "remembermetoken") != original {
		t.Fatal("the table restored from the backup differs from the original")
	}

	// A row of the upper range that cannot be deleted: its stream fails, the other stops.
	d.Exec(t, "CREATE TRIGGER refuse BEFORE DELETE ON remembermetoken FOR EACH ROW"+
		" IF OLD.ID = 25000 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused'; END IF")
	res, err = clear("failed")
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("clear with a row that cannot be deleted: %v; want the trigger's error", err)
	}
	left := producttest.Count(t, c.Pool, "remembermetoken")
	t.Logf("failed clear: %v; %d deleted in %d batches, %d left, backup %s", err, res.Deleted, res.Batches, left, res.Backup)
	if res.Deleted == 0 || res.Deleted != res.BackedUp || int(res.Deleted)+left != rows {
		t.Errorf("failed clear: deleted %d, backed up %d, %d left; want as many backed up as deleted, and the rest left",
			res.Deleted, res.BackedUp, left)
	}
	if filepath.Ext(res.Backup) != filepath.Ext(backup.Extension) {
		t.Errorf("the failed clear's backup is %s; want a finished file", res.Backup)
	}
	d.Exec(t, "DROP TRIGGER refuse")
	restore(t, c, res.Backup)
	if producttest.Digest(t, c.Pool, "remembermetoken") != original {
		t.Fatal("the table restored after the failed clear differs from the original")
	}
}

func restore(t *testing.T, c *Conn, path string) {
	t.Helper()
	r, err := backup.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Restore(context.Background(), r, nil); err != nil {
		t.Fatal(err)
	}
}
