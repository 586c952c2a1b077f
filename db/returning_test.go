package db_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/db/dbtest"
)

// DeleteReturning on MariaDB: a batch is deleted and its rows come back, whole and in key order;
// two batches of disjoint key ranges are deleted at once by two transactions without waiting on
// each other. The lower range's last batch looks at the first row past its range, the first the
// upper range deleted: it does not wait once that batch has committed.
func TestDeleteReturningMariaDB(t *testing.T) {
	d := dbtest.MariaDB(t).NewDatabase(t)
	ctx := context.Background()
	dialect := db.Dialects["mysql"]
	pool := d.OpenReauth(t)
	if ok, err := dialect.DeletesReturning(ctx, pool); err != nil || !ok {
		t.Fatalf("DeletesReturning on the harness's MariaDB = %v, %v; want true", ok, err)
	}
	tbl := db.Table{Schema: d.Name, Name: "tok"}
	if _, err := pool.ExecContext(ctx, "CREATE TABLE tok (id decimal(18,0) NOT NULL PRIMARY KEY, v varchar(20)) ENGINE=InnoDB"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 30; i++ {
		v := any("v" + string(rune('a'+i%26)))
		if i == 7 {
			v = nil
		}
		if _, err := pool.ExecContext(ctx, dialect.Insert(tbl, []string{"id", "v"}, 1), int64(i*10), v); err != nil {
			t.Fatal(err)
		}
	}
	begin := func() *sql.Tx {
		t.Helper()
		conn, err := pool.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		// A lock wait here is the failure: make it quick.
		if _, err := conn.ExecContext(ctx, "SET SESSION innodb_lock_wait_timeout = 1"); err != nil {
			t.Fatal(err)
		}
		tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: dialect.Isolation})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Rollback() })
		return tx
	}
	deleteFirst := func(tx *sql.Tx, n int, conds ...db.Cond) []string {
		t.Helper()
		q, args := dialect.DeleteReturning(tbl, "id", []string{"v", "id"}, n, conds...)
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var v sql.NullString
			var id string
			if err := rows.Scan(&v, &id); err != nil {
				t.Fatal(err)
			}
			if !v.Valid {
				v.String = "NULL"
			}
			got = append(got, id+"="+v.String)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return got
	}
	tx1, tx2 := begin(), begin()
	low := deleteFirst(tx1, 5, db.AtMost("id", int64(150)))
	high := deleteFirst(tx2, 5, db.Greater("id", int64(150)))
	if want := "[10=vb 20=vc 30=vd 40=ve 50=vf]"; bracketed(low) != want {
		t.Errorf("first batch of the low range returned %v; want %s", low, want)
	}
	if want := "[160=vq 170=vr 180=vs 190=vt 200=vu]"; bracketed(high) != want {
		t.Errorf("first batch of the high range returned %v; want %s", high, want)
	}
	if err := tx2.Commit(); err != nil {
		t.Fatal(err)
	}
	// The low range's next batch goes past its last row, 150, to see where the range ends:
	// to 160, which tx2 deleted.
	more := deleteFirst(tx1, 50, db.Greater("id", int64(50)), db.AtMost("id", int64(150)))
	if want := "[60=vg 70=NULL 80=vi 90=vj 100=vk 110=vl 120=vm 130=vn 140=vo 150=vp]"; bracketed(more) != want {
		t.Errorf("rest of the low range returned %v; want %s", more, want)
	}
	if err := tx1.Commit(); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := pool.QueryRowContext(ctx, "SELECT COUNT(*) FROM tok").Scan(&left); err != nil || left != 10 {
		t.Errorf("%d rows left (%v); want 10", left, err)
	}
}

func bracketed(s []string) string { return "[" + strings.Join(s, " ") + "]" }
