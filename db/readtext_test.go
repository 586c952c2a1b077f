package db_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/db/dbtest"
)

// textCase is a table of every column type a dialect maps to a kind, with rows of awkward
// values, for proving that ReadText gives, byte for byte, what ScanTarget and Text give: the
// text forms in every backup written so far.
type textCase struct {
	ddl  string
	rows []string // INSERT statements
}

var textCases = map[string]textCase{
	"postgres": {
		ddl: `CREATE TABLE "Text_T" (id bigint PRIMARY KEY, tz timestamptz, naive timestamp, d date,
			s varchar(255), c char(5), t text, b boolean, n numeric, n18 numeric(18,0), n2 numeric(10,2),
			f8 double precision, f4 real, i2 smallint, i4 integer, bin bytea, u uuid, m money)`,
		rows: []string{
			`INSERT INTO "Text_T" (id) VALUES (1)`,
			`INSERT INTO "Text_T" VALUES (2, '2026-11-23 10:00:00.123456+00', '2026-01-01 00:00:00', '2026-01-01',
				'tok-1', 'ab', E'ünïcødé ✓ "q" \\ b\nline\ttab\r\x01\x7f', true, 123456789012345678.000,
				123456789012345678, 1.50, 0.1, 0.1, -5, 2147483647, '\x00ff78', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 1.50)`,
			`INSERT INTO "Text_T" VALUES (3, '1999-12-31 23:59:59.999999+05:30', '2000-02-29 12:00:00.5', '0001-01-01',
				'', '', '', false, 'NaN', -5, 0, 1e300, 3.4e38, -32768, -2147483648, '', '00000000-0000-0000-0000-000000000000', -0.01)`,
			`INSERT INTO "Text_T" VALUES (4, '0001-01-01 00:00:00+00', '9999-12-31 23:59:59.999999', '9999-12-31',
				'x', 'abcde', '𝄞 four bytes', true, 0.00000000000000000001, 0, -123.45, 'Infinity', '-Infinity', 0, 0,
				'\xffffffff', NULL, 0)`,
			`INSERT INTO "Text_T" VALUES (5, '2026-06-01 12:00:00.1-07', '2026-06-01 12:00:00.000001', '2000-01-01',
				NULL, NULL, NULL, NULL, 100000000000000000000, NULL, NULL, 'NaN', 'NaN', NULL, NULL, NULL, NULL, NULL)`,
			`INSERT INTO "Text_T" VALUES (6, '0044-03-15 12:00:00+00 BC', '4713-11-24 00:00:00 BC', '2000-01-01 BC',
				NULL, NULL, NULL, NULL, '-0.000', NULL, NULL, 1234567, 1234567, NULL, NULL, NULL, NULL, NULL)`,
			`INSERT INTO "Text_T" VALUES (7, '12345-06-07 08:09:10+00', '1970-01-01 00:00:00', '1970-01-01',
				NULL, NULL, NULL, NULL, 'Infinity', NULL, NULL, '-0', 1e-45, NULL, NULL, NULL, NULL, NULL)`,
			`INSERT INTO "Text_T" VALUES (8, '1969-12-31 23:59:59.999999+00', '1999-12-31 23:59:59.999999', '1999-12-31',
				NULL, NULL, NULL, NULL, '-Infinity', NULL, NULL, 5e-324, 16777217, NULL, NULL, NULL, NULL, NULL)`,
			`INSERT INTO "Text_T" VALUES (9, '2000-01-01 00:00:00+00', '2000-01-01 00:00:00.100000', '2000-01-02',
				NULL, NULL, NULL, NULL, 1.10, NULL, NULL, 1.7976931348623157e308, 123456.789, NULL, NULL, NULL, NULL, NULL)`,
			// Numerics around the base-10000 digits of the binary form.
			`INSERT INTO "Text_T" (id, n, n18, n2) VALUES (10, 10000, 10000, 9999.99)`,
			`INSERT INTO "Text_T" (id, n, n18, n2) VALUES (11, 0.0001, 100000000, 0.01)`,
			`INSERT INTO "Text_T" (id, n, n18, n2) VALUES (12, -0.00001, 999999999999999999, -0.10)`,
			`INSERT INTO "Text_T" (id, n, n18, n2) VALUES (13, 12345678.87654321, -999999999999999999, 100)`,
			`INSERT INTO "Text_T" (id, n, n18, n2) VALUES (14, 1e-1000, 10001, 1.23)`,
			`INSERT INTO "Text_T" (id, n, n18, n2) VALUES (15, 5e+1000, 1, 99999999.99)`,
			`INSERT INTO "Text_T" (id, n) VALUES (16, 100000000.000000000000000000001)`,
			`INSERT INTO "Text_T" (id, n) VALUES (17, -1.000000000)`,
		},
	},
	"mysql": {
		ddl: "CREATE TABLE `Text_T` (id bigint PRIMARY KEY, dt datetime(6), dt0 datetime, ts timestamp(6) NULL, d date," +
			" s varchar(255), t text, ti tinyint(1), i int, bi bigint, bu bigint unsigned, dec18 decimal(18,0)," +
			" dec2 decimal(10,2), f float, db double, bin varbinary(64), bl blob, e enum('a','b'), y year, bt bit(8))",
		rows: []string{
			"INSERT INTO `Text_T` (id) VALUES (1)",
			"INSERT INTO `Text_T` VALUES (2, '2026-11-23 10:00:00.123456', '2026-01-01 00:00:00', '2026-01-01 00:00:00.5', '2026-01-01'," +
				" 'tok-1', 'ünïcødé ✓ \"q\" \\\\ b\\nline\\ttab\\r\\0\x01\x7f', 1, 2147483647, 9223372036854775807, 9223372036854775807," +
				" 123456789012345678, 1.50, 0.1, 0.1, X'00ff78', X'', 'a', 2026, b'10100101')",
			"INSERT INTO `Text_T` VALUES (3, '1999-12-31 23:59:59.999999', '1000-01-01 00:00:00', '1970-01-01 00:00:01', '1000-01-01'," +
				" '', '', 0, -2147483648, -9223372036854775808, 0, -5, -123.45, 3.4e38, 1e300, X'', X'ff', 'b', 1901, b'0')",
			"INSERT INTO `Text_T` VALUES (4, '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59', '2038-01-19 03:14:07.999999', '9999-12-31'," +
				" '𝄞 four bytes', NULL, -1, 0, 0, 1, 0, 0, -1.5, 1234567, NULL, NULL, NULL, 2155, NULL)",
			"INSERT INTO `Text_T` VALUES (5, '2026-06-01 12:00:00.100000', NULL, NULL, NULL," +
				" NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1e-45, 5e-324, NULL, NULL, NULL, NULL, NULL)",
			"INSERT INTO `Text_T` VALUES (6, '2026-06-01 12:00:00.000001', NULL, NULL, NULL," +
				" NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 16777217, -0.0, NULL, NULL, NULL, NULL, NULL)",
		},
	},
}

func TestReadTextPostgres(t *testing.T) { testReadText(t, dbtest.Postgres(t).NewDatabase(t)) }

func TestReadTextMariaDB(t *testing.T) { testReadText(t, dbtest.MariaDB(t).NewDatabase(t)) }

func testReadText(t *testing.T, d *dbtest.Database) {
	ctx := context.Background()
	dialect := db.Dialects[d.Server.Dialect]
	tc := textCases[dialect.Name]
	pool := d.OpenReauth(t)
	if dialect.Name == "mysql" {
		// Let the zero date in, as an old MySQL table may hold one.
		pool.SetMaxOpenConns(1)
		if _, err := pool.ExecContext(ctx, "SET SESSION sql_mode = ''"); err != nil {
			t.Fatal(err)
		}
		tc.rows = append(tc.rows, "INSERT INTO `Text_T` (id, dt, dt0, d) VALUES (7, '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00')")
	}
	for _, q := range append([]string{tc.ddl}, tc.rows...) {
		if _, err := pool.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	pool.SetMaxOpenConns(0)
	schema := "public"
	if dialect.Name == "mysql" {
		schema = d.Name
	}
	tbl := db.Table{Schema: schema, Name: "Text_T"}
	cols, err := db.Columns(ctx, pool, dialect, tbl)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	// With and without bind parameters: MySQL answers the one in its binary protocol, the
	// other in its text protocol.
	specs := map[string]db.SelectSpec{
		"no parameters":   {Columns: names, OrderBy: "id"},
		"with parameters": {Columns: names, OrderBy: "id", Where: []db.Cond{db.Greater("id", int64(0))}, Limit: 100},
	}
	for name, spec := range specs {
		t.Run(name, func(t *testing.T) {
			q, args := dialect.Select(tbl, spec)
			want := readScanned(t, pool, q, args, cols)
			if len(want) != len(tc.rows) {
				t.Fatalf("read %d rows; want %d", len(want), len(tc.rows))
			}
			got := readText(t, pool, dialect, q, args, cols)
			if testing.Verbose() {
				t.Logf("%s", showText(cols, got))
			}
			if g, w := showText(cols, got), showText(cols, want); g != w {
				t.Errorf("ReadText gave:\n%s\nScanTarget and Text give:\n%s", g, w)
			}
		})
	}
}

// readScanned reads rows the way every backup was written before ReadText.
func readScanned(t *testing.T, pool *sql.DB, q string, args []any, cols []db.Column) [][]*string {
	t.Helper()
	rows, err := pool.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out [][]*string
	for rows.Next() {
		dest := make([]any, len(cols))
		for i, c := range cols {
			dest[i] = db.ScanTarget(c.Kind)
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		row := make([]*string, len(cols))
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

func readText(t *testing.T, pool *sql.DB, d *db.Dialect, q string, args []any, cols []db.Column) [][]*string {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: d.Isolation})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var out [][]*string
	err = db.ReadText(ctx, conn, tx, d, cols, q, args, func(values [][]byte) error {
		row := make([]*string, len(values))
		for i, v := range values {
			if v != nil {
				s := string(v)
				row[i] = &s
			}
		}
		out = append(out, row)
		return nil
	})
	if err != nil {
		t.Fatalf("ReadText: %v", err)
	}
	// The transaction is still usable afterwards.
	if err := tx.QueryRowContext(ctx, "SELECT 1").Scan(new(int)); err != nil {
		t.Fatalf("the transaction after ReadText: %v", err)
	}
	return out
}

func showText(cols []db.Column, rows [][]*string) string {
	var b strings.Builder
	for _, r := range rows {
		for i, v := range r {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(cols[i].Name + "=")
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

// An infinite timestamp has no text form: both paths refuse it rather than write something a
// restore would turn into another value.
func TestReadTextRefusesInfinity(t *testing.T) {
	d := dbtest.Postgres(t).NewDatabase(t)
	ctx := context.Background()
	dialect := db.Dialects["postgres"]
	pool := d.OpenReauth(t)
	for _, typ := range []string{"timestamptz", "timestamp", "date"} {
		tbl := db.Table{Schema: "public", Name: "inf_" + typ}
		if _, err := pool.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE %s (id bigint PRIMARY KEY, v %s);
			INSERT INTO %[1]s VALUES (1, 'infinity')`, tbl.Name, typ)); err != nil {
			t.Fatal(err)
		}
		cols, err := db.Columns(ctx, pool, dialect, tbl)
		if err != nil {
			t.Fatal(err)
		}
		q, args := dialect.Select(tbl, db.SelectSpec{Columns: []string{"id", "v"}})
		rows, err := pool.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatal(err)
		}
		rows.Next()
		oldErr := rows.Scan(db.ScanTarget(cols[0].Kind), db.ScanTarget(cols[1].Kind))
		rows.Close()
		conn, _ := pool.Conn(ctx)
		tx, _ := conn.BeginTx(ctx, nil)
		newErr := db.ReadText(ctx, conn, tx, dialect, cols, q, args, func([][]byte) error { return nil })
		tx.Rollback()
		conn.Close()
		if oldErr == nil || newErr == nil {
			t.Errorf("%s infinity: Scan+Text error %v, ReadText error %v; want both to refuse it", typ, oldErr, newErr)
		}
	}
}
