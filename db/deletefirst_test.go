package db_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/db/dbtest"
)

// DeleteFirst on InnoDB: a batch locked by its read is deleted while the next batch is locked
// by another transaction, and rows inserted into the batch's range since its read show as the
// batch's last row left behind.
func TestDeleteFirstMariaDB(t *testing.T) {
	d := dbtest.MariaDB(t).NewDatabase(t)
	ctx := context.Background()
	dialect := db.Dialects["mysql"]
	pool := d.OpenReauth(t)
	tbl := db.Table{Schema: d.Name, Name: "tok"}
	if _, err := pool.ExecContext(ctx, "CREATE TABLE tok (id decimal(18,0) NOT NULL PRIMARY KEY, v varchar(20)) ENGINE=InnoDB"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 30; i++ {
		if _, err := pool.ExecContext(ctx, dialect.Insert(tbl, []string{"id", "v"}, 1), int64(i*10), "x"); err != nil {
			t.Fatal(err)
		}
	}
	// lockBatch reads and locks the 10 rows after key `after`, as a clear batch does.
	lockBatch := func(after int64) (*sql.Conn, *sql.Tx) {
		t.Helper()
		conn, err := pool.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// A lock wait here is the failure: make it quick.
		if _, err := conn.ExecContext(ctx, "SET SESSION innodb_lock_wait_timeout = 1"); err != nil {
			t.Fatal(err)
		}
		tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: dialect.Isolation})
		if err != nil {
			t.Fatal(err)
		}
		q, args := dialect.Select(tbl, db.SelectSpec{Columns: []string{"id"}, Where: []db.Cond{db.Greater("id", after)},
			OrderBy: "id", Limit: 10, Lock: true})
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if rows.Close(); n != 10 {
			t.Fatalf("batch after %d read %d rows; want 10", after, n)
		}
		return conn, tx
	}
	left := func(tx *sql.Tx, key int64) bool {
		t.Helper()
		q, args := dialect.Select(tbl, db.SelectSpec{Columns: []string{"id"}, Where: []db.Cond{db.In("id", key)}})
		var s sql.NullString
		err := tx.QueryRowContext(ctx, q, args...).Scan(&s)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		return err == nil
	}

	conn1, tx1 := lockBatch(0)   // 10..100
	conn2, tx2 := lockBatch(100) // 110..200, the next batch, locked meanwhile
	defer conn1.Close()
	defer conn2.Close()
	defer tx2.Rollback()

	// The plain range delete looks at row 110 and waits for the next batch.
	q, args := dialect.DeleteWhere(tbl, db.Greater("id", int64(0)), db.AtMost("id", int64(100)))
	t0 := time.Now()
	if _, err := tx1.ExecContext(ctx, q, args...); err == nil {
		t.Logf("note: the range delete did not wait for the next batch's lock (%v)", time.Since(t0))
	} else if !db.Retryable(err) {
		t.Fatalf("range delete: %v", err)
	}
	// InnoDB rolled back only that statement; the batch's rows are still locked by tx1.
	q, args = dialect.DeleteFirst(tbl, "id", 10, db.Greater("id", int64(0)), db.AtMost("id", int64(100)))
	r, err := tx1.ExecContext(ctx, q, args...)
	if err != nil {
		t.Fatalf("DeleteFirst while the next batch is locked: %v", err)
	}
	if n, _ := r.RowsAffected(); n != 10 || left(tx1, 100) {
		t.Errorf("DeleteFirst deleted %d rows, last row left %v; want 10, false", n, left(tx1, 100))
	}
	if err := tx1.Commit(); err != nil {
		t.Fatal(err)
	}

	// A row inserted into the next batch's range after its read: the delete takes it, and
	// leaves the batch's last row.
	if _, err := pool.ExecContext(ctx, dialect.Insert(tbl, []string{"id", "v"}, 1), int64(115), "new"); err != nil {
		t.Fatal(err)
	}
	q, args = dialect.DeleteFirst(tbl, "id", 10, db.Greater("id", int64(100)), db.AtMost("id", int64(200)))
	r, err = tx2.ExecContext(ctx, q, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := r.RowsAffected(); n != 10 || !left(tx2, 200) {
		t.Errorf("with a row inserted into the range: deleted %d rows, last row left %v; want 10, true", n, left(tx2, 200))
	}
}
