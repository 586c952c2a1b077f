package dbtest

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/db"
)

// Source is where d lives, as package db describes it.
func (d *Database) Source() db.Source {
	s := d.Server
	src := db.Source{Dialect: s.Dialect, Hosts: []db.Host{{Name: s.Host, Port: s.Port}}, Database: d.Name}
	if s.Dialect == "postgres" {
		src.Params = map[string]string{"sslmode": "disable"}
	}
	return src
}

// Credentials are the test login's.
func (d *Database) Credentials() db.Credentials {
	return db.Credentials{User: d.Server.User, Password: d.Server.Password}
}

// OpenReauth opens d through db.Open, the way reauth itself connects.
func (d *Database) OpenReauth(t testing.TB) *sql.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := db.Open(ctx, d.Source(), d.Credentials())
	if err != nil {
		t.Fatalf("db.Open(%s): %v", d.Source(), err)
	}
	t.Cleanup(func() { pool.Close() })
	return pool
}

// conformanceDDL creates the suite's table, named with mixed case so that exact-name discovery
// is exercised, with one column of every kind.
var conformanceDDL = map[string]string{
	"postgres": `CREATE TABLE "Tokens_T" (id bigint PRIMARY KEY, created timestamptz, naive timestamp,
		token varchar(255), username varchar(255), flag boolean, amount numeric(18,0),
		ratio double precision, bin bytea)`,
	"mysql": "CREATE TABLE `Tokens_T` (id bigint PRIMARY KEY, created datetime(6), naive timestamp(6) NULL," +
		" token varchar(255), username varchar(255), flag tinyint(1), amount decimal(18,0)," +
		" ratio double, bin varbinary(64))",
	"sqlserver": `CREATE TABLE "Tokens_T" (id bigint PRIMARY KEY, created datetimeoffset(7), naive datetime2(6),
		token nvarchar(255), username nvarchar(255), flag bit, amount numeric(18,0), ratio float, bin varbinary(64))`,
	"oracle": `CREATE TABLE "Tokens_T" ("id" NUMBER(19) PRIMARY KEY, "created" TIMESTAMP(6) WITH TIME ZONE,
		"naive" TIMESTAMP(6), "token" VARCHAR2(255), "username" VARCHAR2(255), "flag" NUMBER(1),
		"amount" NUMBER(18,0), "ratio" BINARY_DOUBLE, "bin" RAW(64))`,
	"postgres/big":  "CREATE TABLE big (id bigint PRIMARY KEY, v varchar(20))",
	"mysql/big":     "CREATE TABLE big (id bigint PRIMARY KEY, v varchar(20))",
	"sqlserver/big": "CREATE TABLE big (id bigint PRIMARY KEY, v varchar(20))",
	"oracle/big":    `CREATE TABLE "big" ("id" NUMBER(19) PRIMARY KEY, "v" VARCHAR2(20))`,
}

var conformanceKinds = map[string][]db.Kind{
	"postgres":  {db.KindInt, db.KindTime, db.KindTime, db.KindText, db.KindText, db.KindBool, db.KindDecimal, db.KindDecimal, db.KindBytes},
	"mysql":     {db.KindInt, db.KindTime, db.KindTime, db.KindText, db.KindText, db.KindInt, db.KindDecimal, db.KindDecimal, db.KindBytes},
	"sqlserver": {db.KindInt, db.KindTime, db.KindTime, db.KindText, db.KindText, db.KindBool, db.KindDecimal, db.KindDecimal, db.KindBytes},
	"oracle":    {db.KindDecimal, db.KindTime, db.KindTime, db.KindText, db.KindText, db.KindDecimal, db.KindDecimal, db.KindDecimal, db.KindBytes},
}

func sp(s string) *string { return &s }

// conformanceRows are the values written and read back: NULLs, an empty string, text that
// needs escaping, microsecond times, an 18-digit numeric, bytes with NUL and 0xff.
func conformanceRows(dialect string) [][]*string {
	t, f := "true", "false"
	if dialect == "mysql" || dialect == "oracle" {
		t, f = "1", "0"
	}
	return [][]*string{
		{sp("1"), sp("2026-11-23T10:00:00.123456Z"), sp("2026-01-01T00:00:00Z"), sp("tok-1"), sp("Alice"), &t, sp("123456789012345678"), sp("0.5"), sp(base64.StdEncoding.EncodeToString([]byte{0, 0xff, 'x'}))},
		{sp("2"), nil, nil, nil, nil, nil, nil, nil, nil},
		{sp("3"), sp("1999-12-31T23:59:59.999999Z"), sp("2000-02-29T12:00:00Z"), sp("ünïcødé ✓ \"q\" \\ b\nline\ttab"), sp("BOB"), &f, sp("-5"), sp("-2.25"), sp("")},
		{sp("4"), sp("2026-11-20T00:00:00Z"), sp("2026-11-20T00:00:00Z"), sp(""), sp("carol"), &t, sp("0"), sp("1"), sp("AA==")},
		{sp("5"), sp("2026-11-22T00:00:00Z"), nil, sp("tok-5"), nil, &f, sp("10100"), sp("3"), nil},
	}
}

// Live is a database the conformance suite runs on: connected the way reauth connects, in an
// empty schema the suite may create tables in.
type Live struct {
	Dialect *db.Dialect
	Pool    *sql.DB
	Schema  string // exact spelling, as the catalog stores it
}

// Exec runs one statement or fails the test.
func (l Live) Exec(t *testing.T, q string) {
	t.Helper()
	if _, err := l.Pool.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// Conformance runs the suite on a private database of this package.
func Conformance(t *testing.T, d *Database) {
	dialect, err := db.Lookup(d.Server.Dialect)
	if err != nil {
		t.Fatal(err)
	}
	schema := "public"
	if dialect.Name == "mysql" {
		schema = d.Name
	}
	ConformanceLive(t, Live{Dialect: dialect, Pool: d.OpenReauth(t), Schema: schema})
}

// ExternalEnv names, per dialect, the environment variable that points the suite at a server
// this machine cannot run (a DSN with user and password, e.g.
// sqlserver://user:pass@host:1433?database=scratch). The database must be empty and
// disposable: the suite creates tables in it.
var ExternalEnv = map[string]string{
	"sqlserver": "REAUTH_TEST_SQLSERVER_DSN",
	"oracle":    "REAUTH_TEST_ORACLE_DSN",
}

// External connects to the server named by the dialect's ExternalEnv variable, or skips.
func External(t *testing.T, dialect string) Live {
	t.Helper()
	env := ExternalEnv[dialect]
	dsn := os.Getenv(env)
	if dsn == "" {
		t.Skipf("%s is not set: no %s server to test against (its SQL is pinned by the golden files)", env, dialect)
	}
	src, err := db.ParseURL(dsn)
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := db.Open(ctx, src, db.Credentials{User: src.User, Password: src.URLPassword})
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	t.Cleanup(func() { pool.Close() })
	var schema string
	q := "SELECT SCHEMA_NAME()"
	if dialect == "oracle" {
		q = "SELECT SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') FROM DUAL"
	}
	if err := pool.QueryRowContext(ctx, q).Scan(&schema); err != nil {
		t.Fatalf("%s: current schema: %v", env, err)
	}
	return Live{Dialect: db.Dialects[dialect], Pool: pool, Schema: schema}
}

// ConformanceLive is the dialect conformance suite: every statement package db renders, run
// on a live database of the dialect's kind, with the results a user of reauth relies on.
func ConformanceLive(t *testing.T, l Live) {
	dialect, pool, schema := l.Dialect, l.Pool, l.Schema
	ctx := context.Background()
	l.Exec(t, conformanceDDL[dialect.Name])
	tbl := db.Table{Schema: schema, Name: "Tokens_T"}
	names := []string{"id", "created", "naive", "token", "username", "flag", "amount", "ratio", "bin"}

	t.Run("discovery", func(t *testing.T) {
		for _, s := range []string{"", schema} {
			got, err := db.Tables(ctx, pool, dialect, s, db.NameIs("tokens_t"))
			if err != nil {
				t.Fatal(err)
			}
			if want := []db.Table{tbl}; !reflect.DeepEqual(got, want) {
				t.Errorf("Tables(schema %q, NameIs(tokens_t)) = %v; want %v (exact spelling)", s, got, want)
			}
		}
		got, err := db.Tables(ctx, pool, dialect, schema, db.NameContains("KENS"))
		if err != nil || len(got) != 1 {
			t.Errorf("Tables(NameContains(KENS)) = %v, %v; want the one table", got, err)
		}
		got, err = db.Tables(ctx, pool, dialect, "no_such_schema", db.NameIs("tokens_t"))
		if err != nil || len(got) != 0 {
			t.Errorf("Tables(other schema) = %v, %v; want none", got, err)
		}
		cols, err := db.Columns(ctx, pool, dialect, tbl)
		if err != nil {
			t.Fatal(err)
		}
		var gotNames []string
		var gotKinds []db.Kind
		for _, c := range cols {
			gotNames = append(gotNames, c.Name)
			gotKinds = append(gotKinds, c.Kind)
		}
		if !reflect.DeepEqual(gotNames, names) || !reflect.DeepEqual(gotKinds, conformanceKinds[dialect.Name]) {
			t.Errorf("Columns = %v %v; want %v %v", gotNames, gotKinds, names, conformanceKinds[dialect.Name])
		}
		pk, err := db.PrimaryKey(ctx, pool, dialect, tbl)
		if err != nil || !reflect.DeepEqual(pk, []string{"id"}) {
			t.Errorf("PrimaryKey = %v, %v; want [id]", pk, err)
		}
	})

	kinds := conformanceKinds[dialect.Name]
	rows := conformanceRows(dialect.Name)
	t.Run("insert and read back losslessly", func(t *testing.T) {
		var args []any
		for _, r := range rows {
			for i, v := range r {
				if v == nil {
					args = append(args, nil)
					continue
				}
				val, err := db.Value(kinds[i], *v)
				if err != nil {
					t.Fatal(err)
				}
				args = append(args, val)
			}
		}
		if _, err := pool.ExecContext(ctx, dialect.Insert(tbl, names, len(rows)), args...); err != nil {
			t.Fatalf("insert: %v", err)
		}
		got := readAll(t, pool, dialect, tbl, names, kinds, db.SelectSpec{OrderBy: "id"})
		if !equalRows(got, rows) {
			t.Errorf("read back:\n%s\nwant:\n%s", showRows(got), showRows(rows))
		}
	})

	count := func(conds ...db.Cond) int64 {
		t.Helper()
		q, args := dialect.Count(tbl, conds...)
		var n int64
		if err := pool.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	t.Run("conditions", func(t *testing.T) {
		cutoff := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
		tests := []struct {
			name  string
			conds []db.Cond
			want  int64
		}{
			{"all", nil, 5},
			{"in", []db.Cond{db.In("username", "Alice", "carol")}, 2},
			{"in is case-sensitive", []db.Cond{db.In("username", "alice")}, 0},
			{"empty in matches nothing", []db.Cond{db.In("username")}, 0},
			{"not in keeps NULLs", []db.Cond{db.NotIn("username", "Alice")}, 4},
			{"empty not in matches all", []db.Cond{db.NotIn("username")}, 5},
			{"exact in", []db.Cond{db.ExactIn("username", "Alice", "bob")}, 1},
			{"exact not in keeps NULLs", []db.Cond{db.ExactNotIn("username", "Alice", "bob")}, 4},
			{"older than (NULL never)", []db.Cond{db.Less("created", cutoff)}, 2},
			{"key range", []db.Cond{db.Greater("id", int64(1)), db.AtMost("id", int64(4))}, 3},
			{"numeric key compared as text value", []db.Cond{db.In("amount", "10100")}, 1},
			{"together", []db.Cond{db.ExactNotIn("username", "carol"), db.Less("created", cutoff), db.Greater("id", int64(1))}, 1},
		}
		for _, tt := range tests {
			if got := count(tt.conds...); got != tt.want {
				t.Errorf("%s: count = %d; want %d", tt.name, got, tt.want)
			}
		}
	})

	t.Run("exact names under an insensitive collation", func(t *testing.T) {
		// Products on MySQL or SQL Server may sit on a case- and accent-insensitive collation;
		// names must still match code point for code point.
		ddl := map[string]string{
			"postgres":  `CREATE TABLE names_ci (id bigint PRIMARY KEY, name varchar(255))`,
			"mysql":     "CREATE TABLE names_ci (id bigint PRIMARY KEY, name varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci)",
			"sqlserver": `CREATE TABLE names_ci (id bigint PRIMARY KEY, name nvarchar(255) COLLATE Latin1_General_CI_AI)`,
			"oracle":    `CREATE TABLE "names_ci" ("id" NUMBER(19) PRIMARY KEY, "name" VARCHAR2(255))`,
		}[dialect.Name]
		if _, err := pool.ExecContext(ctx, ddl); err != nil {
			t.Fatalf("%s: %v", ddl, err)
		}
		names := []string{"Åsa", "ÅSA", "asa", "Asa", "a_b", "axb", "a%b"}
		nt := db.Table{Schema: tbl.Schema, Name: "names_ci"}
		var args []any
		args = append(args, int64(0), nil)
		for i, n := range names {
			args = append(args, int64(i+1), n)
		}
		q := dialect.Insert(nt, []string{"id", "name"}, len(names)+1)
		if _, err := pool.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		countIn := func(conds ...db.Cond) int64 {
			q, args := dialect.Count(nt, conds...)
			var n int64
			if err := pool.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return n
		}
		for _, tt := range []struct {
			name string
			cond db.Cond
			want int64
		}{
			{"exact in", db.ExactIn("name", "Åsa"), 1},
			{"exact in, two spellings", db.ExactIn("name", "ÅSA", "asa"), 2},
			{"exact in, no pattern", db.ExactIn("name", "a_b", "a%b"), 2},
			{"exact not in", db.ExactNotIn("name", "Åsa"), 7},
			{"exact not in, no pattern", db.ExactNotIn("name", "a_b"), 7},
		} {
			if got := countIn(tt.cond); got != tt.want {
				t.Errorf("%s: count = %d; want %d", tt.name, got, tt.want)
			}
		}
		q, args = dialect.GroupCount(nt, "name", true, "")
		rs, err := pool.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rs.Close()
		groups := 0
		for rs.Next() {
			groups++
		}
		if groups != len(names)+1 {
			t.Errorf("exact group count: %d groups; want %d (every spelling, and NULL)", groups, len(names)+1)
		}
	})

	t.Run("paging in key order with a lock", func(t *testing.T) {
		tx, err := pool.BeginTx(ctx, &sql.TxOptions{Isolation: dialect.Isolation})
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		var seen []string
		var after any
		for page := 0; page < 10; page++ {
			spec := db.SelectSpec{Columns: []string{"id"}, OrderBy: "id", Limit: 2, Lock: true}
			if after != nil {
				spec.Where = []db.Cond{db.Greater("id", after)}
			}
			got := readAll(t, tx, dialect, tbl, spec.Columns, []db.Kind{db.KindInt}, spec)
			if len(got) == 0 {
				break
			}
			for _, r := range got {
				seen = append(seen, *r[0])
			}
			after, _ = db.Value(db.KindInt, *got[len(got)-1][0])
		}
		if strings.Join(seen, ",") != "1,2,3,4,5" {
			t.Errorf("pages saw keys %v; want 1..5 in order, each once", seen)
		}
	})

	t.Run("delete by key and by range", func(t *testing.T) {
		q, args := dialect.DeleteWhere(tbl, db.In("id", int64(2), int64(99)))
		r, err := pool.ExecContext(ctx, q, args...)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := r.RowsAffected(); n != 1 {
			t.Errorf("delete by key affected %d rows; want 1", n)
		}
		q, args = dialect.DeleteWhere(tbl, db.Greater("id", int64(3)), db.AtMost("id", int64(4)))
		r, err = pool.ExecContext(ctx, q, args...)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := r.RowsAffected(); n != 1 {
			t.Errorf("delete by range affected %d rows; want 1", n)
		}
		if got := count(); got != 3 {
			t.Errorf("%d rows left; want 3", got)
		}
	})

	t.Run("long IN lists and full insert batches", func(t *testing.T) {
		big := db.Table{Schema: schema, Name: "big"}
		l.Exec(t, conformanceDDL[dialect.Name+"/big"])
		n := dialect.InsertBatch(2)
		var args []any
		for i := 0; i < n; i++ {
			args = append(args, int64(i), fmt.Sprint("v", i))
		}
		if _, err := pool.ExecContext(ctx, dialect.Insert(big, []string{"id", "v"}, n), args...); err != nil {
			t.Fatalf("insert of a full batch (%d rows): %v", n, err)
		}
		keys := make([]any, dialect.MaxInList)
		for i := range keys {
			keys[i] = int64(i)
		}
		q, qargs := dialect.Count(big, db.In("id", keys...))
		var got int64
		if err := pool.QueryRowContext(ctx, q, qargs...).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := int64(min(n, dialect.MaxInList)); got != want {
			t.Errorf("IN list of %d keys counted %d; want %d", len(keys), got, want)
		}
	})

	t.Run("batches by pages", func(t *testing.T) {
		if !dialect.Pages {
			t.Skipf("%s does not choose batches by pages", dialect.Title)
		}
		big := db.Table{Schema: schema, Name: "big"} // filled by the subtest before
		q, args := dialect.PagesQuery(big)
		var (
			version, pages int64
			tuples         sql.NullFloat64
		)
		if err := pool.QueryRowContext(ctx, q, args...).Scan(&version, &pages, &tuples); err != nil {
			t.Fatal(err)
		}
		if pages < 2 {
			t.Fatalf("the table has %d pages; the test needs two or more", pages)
		}
		countPages := func(from, to int64) int {
			q, args := dialect.SelectPages(big, []string{"id"}, from, to)
			rows, err := pool.QueryContext(ctx, q, args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			n := 0
			for rows.Next() {
				n++
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return n
		}
		all, first, rest := countPages(-1, -1), countPages(0, 1), countPages(1, -1)
		if all == 0 || first == 0 || rest == 0 || first+rest != all || countPages(0, pages)+countPages(pages, -1) != all {
			t.Errorf("pages split %d rows into %d + %d, and [0, %d) + the rest differently", all, first, rest, pages)
		}
		tx, err := pool.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		q, args = dialect.DeletePages(big, 0, 1)
		r, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := r.RowsAffected(); n != int64(first) {
			t.Errorf("delete of page 0 took %d rows; a select of it read %d", n, first)
		}
	})

	t.Run("one holder of a lock at a time", func(t *testing.T) {
		name := "reauth:conformance." + schema + strings.Repeat(".long", 20) // past MySQL's 64
		q, args := dialect.TryLock(name)
		if q == "" {
			t.Skipf("%s: no lock", dialect.Title)
		}
		var conns [2]*sql.Conn
		for i := range conns {
			c, err := pool.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			conns[i] = c
		}
		try := func(c *sql.Conn) int {
			t.Helper()
			var got int
			if err := c.QueryRowContext(ctx, q, args...).Scan(&got); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return got
		}
		if a, b := try(conns[0]), try(conns[1]); a != 1 || b != 0 {
			t.Fatalf("TryLock: first session %d, second %d; want 1, 0", a, b)
		}
		uq, uargs := dialect.Unlock(name)
		if _, err := conns[0].ExecContext(ctx, uq, uargs...); err != nil {
			t.Fatalf("%s: %v", uq, err)
		}
		if b := try(conns[1]); b != 1 {
			t.Errorf("TryLock after the release: %d; want 1", b)
		}
		if _, err := conns[1].ExecContext(ctx, uq, uargs...); err != nil {
			t.Fatalf("%s: %v", uq, err)
		}
	})

	t.Run("hostile identifiers are quoted, not executed", func(t *testing.T) {
		name := "we\"ird`t]able; DROP TABLE x"
		hostile := db.Table{Schema: schema, Name: name}
		col := "c\"o`l"
		if _, err := pool.ExecContext(ctx, "CREATE TABLE "+dialect.QualifiedName(hostile)+" ("+dialect.Quote(col)+" varchar(10))"); err != nil {
			t.Fatalf("create: %v", err)
		}
		if _, err := pool.ExecContext(ctx, dialect.Insert(hostile, []string{col}, 1), "x"); err != nil {
			t.Fatalf("insert: %v", err)
		}
		got, err := db.Tables(ctx, pool, dialect, schema, db.NameIs(name))
		if err != nil || len(got) != 1 || got[0].Name != name {
			t.Errorf("Tables(NameIs(%q)) = %v, %v", name, got, err)
		}
		q, args := dialect.Count(hostile, db.In(col, "x"))
		var n int64
		if err := pool.QueryRowContext(ctx, q, args...).Scan(&n); err != nil || n != 1 {
			t.Errorf("count on hostile names = %d, %v; want 1", n, err)
		}
	})
}

func readAll(t *testing.T, q db.Querier, d *db.Dialect, tbl db.Table, cols []string, kinds []db.Kind, spec db.SelectSpec) [][]*string {
	t.Helper()
	spec.Columns = cols
	query, args := d.Select(tbl, spec)
	rows, err := q.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out [][]*string
	for rows.Next() {
		dest := make([]any, len(kinds))
		for i, k := range kinds {
			dest[i] = db.ScanTarget(k)
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		row := make([]*string, len(kinds))
		for i := range dest {
			if s, ok := db.Text(dest[i]); ok {
				row[i] = &s
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func equalRows(a, b [][]*string) bool { return showRows(a) == showRows(b) }

func showRows(rows [][]*string) string {
	var b strings.Builder
	for _, r := range rows {
		for i, v := range r {
			if i > 0 {
				b.WriteString(" | ")
			}
			if v == nil {
				b.WriteString("NULL")
			} else {
				fmt.Fprintf(&b, "%q", *v)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
