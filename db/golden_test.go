package db_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/db"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestGoldenSQL pins the SQL each dialect renders for every statement reauth runs. SQL Server
// and Oracle have no server in CI, so these files are what proves their SQL; review a diff in
// them as carefully as a code change. Refresh with: go test ./db -run TestGoldenSQL -update
func TestGoldenSQL(t *testing.T) {
	tbl := db.Table{Schema: "public", Name: "remembermetoken"}
	cutoff := time.Date(2026, 10, 24, 10, 0, 0, 0, time.UTC)
	scope := []db.Cond{
		db.In("username", "JIRAUSER10100", "alice"),
		db.NotIn("username", "admin"),
		db.Less("created", cutoff),
	}
	cols := []string{"id", "created", "token", "username"}
	for _, name := range db.DialectNames() {
		t.Run(name, func(t *testing.T) {
			d, err := db.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			stmt := func(title, q string, args []any) {
				fmt.Fprintf(&b, "-- %s\n%s;\n", title, q)
				if len(args) > 0 {
					fmt.Fprintf(&b, "-- args: %v\n", args)
				}
				b.WriteString("\n")
			}
			q, a := d.TablesQuery("")
			stmt("discovery: tables in the default schema", q, a)
			q, a = d.TablesQuery("public")
			stmt("discovery: tables in a configured schema", q, a)
			q, a = d.ColumnsQuery(tbl)
			stmt("discovery: columns", q, a)
			q, a = d.PrimaryKeyQuery(tbl)
			stmt("discovery: primary key", q, a)
			q, a = d.Count(tbl)
			stmt("count: all", q, a)
			q, a = d.Count(tbl, scope...)
			stmt("count: in scope", q, a)
			q, a = d.Count(tbl, db.ExactIn("username", "Alice", "alice"), db.ExactNotIn("username", "root"))
			stmt("count: stored names compared code point for code point, whatever the collation", q, a)
			q, a = d.Select(tbl, db.SelectSpec{Columns: cols, Where: scope, OrderBy: "id"})
			stmt("select in scope: backup, one consistent read", q, a)
			q, a = d.GroupCount(tbl, "username", true, "created", scope...)
			stmt("sessions list: tokens per user", q, a)
			q, a = d.Select(tbl, db.SelectSpec{Columns: cols, Where: append(scope, db.Greater("id", int64(10500))), OrderBy: "id", Limit: 500, Lock: d.Delete == db.DeleteLocked})
			stmt("select in scope: one clear batch after key 10500", q, a)
			q, a = d.DeleteWhere(tbl, append(scope, db.Greater("id", int64(10500)), db.AtMost("id", int64(11000)))...)
			stmt("delete a batch: scope and key range", q, a)
			if d.OrderedDelete {
				q, a = d.DeleteFirst(tbl, "id", 500, db.Greater("id", int64(10500)), db.AtMost("id", int64(11000)))
				stmt("delete a batch of all rows in key order, no further than its rows (the next batch is read meanwhile)", q, a)
				q, a = d.Select(tbl, db.SelectSpec{Columns: []string{"id"}, Where: []db.Cond{db.In("id", int64(11000))}})
				stmt("after it: is the batch's last row left?", q, a)
			}
			if d.ReturningDelete {
				q, a = d.DeleteReturning(tbl, "id", cols, 500, db.Greater("id", int64(10500)), db.AtMost("id", int64(20000)))
				stmt("delete a batch and return its rows (MariaDB), in a key range", q, a)
				stmt("where a clear of every row splits the keys", d.KeyBounds(tbl, "id"), nil)
			}
			if d.DeferPurge {
				q, a = d.Select(tbl, db.SelectSpec{Columns: []string{"id"}, OrderBy: "id", Limit: 1})
				stmt("clear: the consistent read that opens the read view held to defer the purge", q, a)
			}
			if d.Pages {
				q, a = d.PagesQuery(tbl)
				stmt("clear of every row by pages: version, pages, estimated rows", q, a)
				q, a = d.SelectPages(tbl, cols, 120, 240)
				stmt("clear by pages: read a batch of pages", q, a)
				q, a = d.DeletePages(tbl, 120, 240)
				stmt("clear by pages: delete it", q, a)
				q, a = d.SelectPages(tbl, cols, 240, -1)
				stmt("clear by pages: read the pages from 240 to the end", q, a)
				q, a = d.SelectPages(tbl, cols, -1, -1)
				stmt("clear by pages: read every row left (the last batch)", q, a)
				q, a = d.DeletePages(tbl, -1, -1)
				stmt("clear by pages: delete it", q, a)
			}
			if q, a = d.TryLock("reauth:public.remembermetoken"); q != "" {
				stmt("lock the table against other reauth processes, without waiting", q, a)
				q, a = d.Unlock("reauth:public.remembermetoken")
				stmt("release it", q, a)
			}
			q, a = d.DeleteWhere(tbl, db.In("id", int64(10501), int64(10502), int64(10503)))
			stmt("delete a batch by its keys (when rows were inserted into its range)", q, a)
			q, a = d.Select(tbl, db.SelectSpec{Columns: []string{"id"}, Where: []db.Cond{db.In("id", int64(1), int64(2))}})
			stmt("restore: keys already present", q, a)
			stmt("restore: insert two rows", d.Insert(tbl, cols, 2), nil)
			stmt("quoting: hostile identifiers", d.Insert(db.Table{Schema: `we"ird`, Name: "t`a]b\x00le"}, []string{`c"ol`}, 1), nil)
			fmt.Fprintf(&b, "-- delete strategy: %v, ordered delete: %v, returning delete: %v, defer purge: %v, pages: %v, isolation: %v, default batch: %d, max params: %d, max IN list: %d, insert batch for 4 columns: %d, for 7: %d\n",
				map[db.DeleteStrategy]string{db.DeleteLocked: "rows locked", db.DeleteInSnapshot: "in snapshot"}[d.Delete], d.OrderedDelete, d.ReturningDelete, d.DeferPurge, d.Pages, d.Isolation, d.DefaultBatch, d.MaxParams, d.MaxInList, d.InsertBatch(4), d.InsertBatch(7))
			golden(t, filepath.Join("testdata", "golden", name+".sql"), b.String())
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("SQL differs from %s (run with -update if the change is intended):\n--- got\n%s", path, got)
	}
}

func TestQuote(t *testing.T) {
	tests := []struct{ dialect, in, want string }{
		{"postgres", "remembermetoken", `"remembermetoken"`},
		{"postgres", `a"b`, `"a""b"`},
		{"postgres", "a\x00b", `"ab"`},
		{"mysql", "a`b", "`a``b`"},
		{"mysql", `a"b`, "`a\"b`"},
		{"sqlserver", "a]b", "[a]]b]"},
		{"sqlserver", "a[b", "[a[b]"},
		{"oracle", `REMEMBERME_TOKEN`, `"REMEMBERME_TOKEN"`},
		{"oracle", `x"; DROP TABLE t; --`, `"x""; DROP TABLE t; --"`},
	}
	for _, tt := range tests {
		d, _ := db.Lookup(tt.dialect)
		if got := d.Quote(tt.in); got != tt.want {
			t.Errorf("%s Quote(%q) = %s; want %s", tt.dialect, tt.in, got, tt.want)
		}
	}
}

func TestLookupUnknown(t *testing.T) {
	if _, err := db.Lookup("db2"); err == nil || !strings.Contains(err.Error(), "db2") {
		t.Errorf("Lookup(db2) = %v; want an unknown-dialect error naming it", err)
	}
}

// TestLongInLists: Oracle takes at most 1000 values in one IN list; longer lists are split.
func TestLongInLists(t *testing.T) {
	d, _ := db.Lookup("oracle")
	vals := make([]any, 2500)
	for i := range vals {
		vals[i] = i
	}
	q, args := d.Count(db.Table{Name: "t"}, db.In("u", vals...), db.NotIn("v", vals...))
	if strings.Count(q, `"u" IN (`) != 3 || strings.Count(q, " OR ") != 3 || strings.Count(q, `"v" NOT IN (`) != 3 || len(args) != 5000 {
		t.Errorf("2500 values rendered as:\n%.300s... (%d args)", q, len(args))
	}
	for _, list := range strings.Split(q, "IN (")[1:] {
		if n := strings.Count(strings.SplitN(list, ")", 2)[0], ":"); n > 1000 {
			t.Errorf("an IN list has %d values", n)
		}
	}
}
