// Package db owns reauth's database connections and the SQL it runs. It is responsible for:
//
//   - parsing the JDBC URLs found in product config files, and native DSNs, into a Source;
//   - opening connections for the four supported drivers (PostgreSQL through pgx, MySQL and
//     MariaDB through go-sql-driver/mysql, SQL Server through go-mssqldb, Oracle through go-ora);
//   - the SQL dialects: each Dialect only renders SQL text, with its own identifier quoting and
//     placeholder style, and the same code runs that text on any of them;
//   - catalog discovery: finding a table case-insensitively within a schema, then its exact name,
//     columns, column types and primary key;
//   - turning column values into lossless text and back, for backups.
//
// Values are always bound parameters; only identifiers are written into SQL text, and those are
// quoted by Dialect.Quote.
package db

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Querier is what the SQL in this package runs on. *sql.DB, *sql.Tx and *sql.Conn all satisfy
// it, so the same code runs inside or outside a transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ErrUnknownDialect is returned by Lookup for a name that is not in Dialects.
var ErrUnknownDialect = errors.New("unknown database dialect")

// DeleteStrategy says how a batch that was just backed up is kept from changing until it is
// deleted. Either way the batch is deleted by repeating the scope and its key range, in one
// statement, and the delete must match exactly as many rows as were backed up.
type DeleteStrategy int

const (
	// DeleteLocked reads the batch with row locks (FOR UPDATE and the like): nobody can change
	// or delete a backed-up row before the delete. A row inserted into the key range since is
	// the only thing that can make the counts differ; the batch then rolls back and runs again
	// deleting by the list of its keys.
	DeleteLocked DeleteStrategy = iota
	// DeleteInSnapshot reads and deletes inside one REPEATABLE READ snapshot (PostgreSQL): the
	// snapshot hides rows inserted since, and a row another transaction changed since makes the
	// DELETE fail rather than act on it. No row locks are taken.
	DeleteInSnapshot
)

// Dialect renders SQL for one kind of database. The set of dialects is closed: see Dialects.
type Dialect struct {
	Name  string // key in Dialects
	Title string // for people: "PostgreSQL"

	quoteOpen, quoteClose byte
	placeholder           func(n int) string

	// MaxParams bounds the bind parameters of one statement (SQL Server allows 2100).
	MaxParams int
	// MaxInList bounds the values of one IN list (Oracle allows 1000).
	MaxInList int
	// Delete is how a backed-up batch is deleted.
	Delete DeleteStrategy
	// OrderedDelete is set where a single-table DELETE takes ORDER BY and LIMIT (MySQL,
	// MariaDB): a locked batch can then be deleted with DeleteFirst, which never reads past the
	// batch's last row, so that the next batch can be read and locked while it runs.
	OrderedDelete bool
	// ReturningDelete is set where the server may delete rows and return them in one statement
	// (DeleteReturning): MariaDB 10.0.5 and later, not MySQL, which share this dialect; see
	// DeletesReturning for the server at hand. A clear then needs no read before its delete, no
	// lock between the two and no comparison after: the rows it backs up are by construction
	// the rows it deleted.
	ReturningDelete bool
	// DeferPurge is set where the database purges deleted rows in the background as soon as
	// no transaction can still see them (InnoDB). A clear commits every batch, and the purge of
	// each batch would run beside the next ones and slow them down; one big DELETE leaves it
	// all for after its commit. A clear therefore holds a read view open while it runs (see
	// runbook), which keeps the purge for after it, as mysqldump --single-transaction does
	// for the length of a dump.
	DeferPurge bool
	// Pages is set where a batch can be chosen by the pages of the table's file that hold its
	// rows (PostgreSQL 14 and later, whose TID range scan reads just those pages): a clear of
	// every row then reads and deletes each batch in one sequential pass over its pages rather
	// than through the key's index. See PagesQuery, SelectPages and DeletePages.
	Pages bool
	// Isolation is the isolation level of a backup-and-delete transaction.
	Isolation sql.IsolationLevel
	// DefaultBatch is how many rows one backup-and-delete transaction takes by default.
	DefaultBatch int

	limit      limitStyle
	catalog    catalogSQL
	kindOf     func(dataType string) (Kind, bool)
	insertRows insertStyle
	// exactText wraps a quoted text column so that it compares by code point; nil where the
	// default comparison already does (PostgreSQL's deterministic collations, Oracle's
	// NLS_COMP=BINARY).
	exactText func(quoted string) string
}

type limitStyle int

const (
	limitClause limitStyle = iota // ... ORDER BY k LIMIT n [FOR UPDATE]
	limitTop                      // SELECT TOP (n) ... WITH (UPDLOCK, ROWLOCK)
	limitRownum                   // Oracle: ROWNUM over an ordered subquery, FOR UPDATE outside
)

type insertStyle int

const (
	insertValues insertStyle = iota // INSERT INTO t (..) VALUES (..), (..)
	insertAll                       // Oracle: INSERT ALL INTO t (..) VALUES (..) ... SELECT 1 FROM DUAL
)

// catalogSQL holds a dialect's catalog queries. Each takes the schema as its first parameter;
// the *Default forms are used when no schema is configured and look in the connection's own.
type catalogSQL struct {
	tables, tablesDefault string // -> (schema, table)
	columns               string // (schema, table) -> (column, data type), in table order
	primaryKey            string // (schema, table) -> column, in key order
}

// Dialects is the closed set of SQL dialects reauth speaks, by name.
var Dialects = map[string]*Dialect{
	"postgres": {
		Name: "postgres", Title: "PostgreSQL",
		quoteOpen: '"', quoteClose: '"',
		placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
		// Each batch costs a transaction, its statements and an fsync of the backup: 50000
		// rows (a few MB of backup, some 50 ms of snapshot) clear a large table about 10%
		// faster than 10000 (BenchmarkClearVsManual).
		DefaultBatch: 50000,
		MaxParams:    65535, MaxInList: 1000,
		Delete: DeleteInSnapshot, Isolation: sql.LevelRepeatableRead,
		Pages: true,
		limit: limitClause,
		catalog: catalogSQL{
			tables: `SELECT table_schema, table_name FROM information_schema.tables` +
				` WHERE LOWER(table_schema) = LOWER($1) AND table_type = 'BASE TABLE'`,
			tablesDefault: `SELECT table_schema, table_name FROM information_schema.tables` +
				` WHERE table_schema NOT IN ('pg_catalog', 'information_schema')` +
				` AND table_schema NOT LIKE 'pg\_%' AND table_type = 'BASE TABLE'`,
			columns: `SELECT column_name, data_type FROM information_schema.columns` +
				` WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
			primaryKey: `SELECT k.column_name FROM information_schema.table_constraints c` +
				` JOIN information_schema.key_column_usage k ON k.constraint_schema = c.constraint_schema` +
				` AND k.constraint_name = c.constraint_name AND k.table_name = c.table_name` +
				` WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = $1 AND c.table_name = $2` +
				` ORDER BY k.ordinal_position`,
		},
		kindOf: postgresKind,
	},
	"mysql": {
		Name: "mysql", Title: "MySQL/MariaDB",
		quoteOpen: '`', quoteClose: '`',
		placeholder: func(int) string { return "?" },
		// As for PostgreSQL; a batch's rows stay locked for some 0.1 s (read, backed up,
		// deleted, committed): a product login that touches one of them waits that long.
		DefaultBatch: 50000,
		MaxParams:    65535, MaxInList: 1000,
		// InnoDB's locking reads see the newest committed rows, not a snapshot, so the keys
		// are listed; READ COMMITTED keeps FOR UPDATE from gap-locking inserts by the product.
		Delete: DeleteLocked, Isolation: sql.LevelReadCommitted,
		OrderedDelete:   true,
		ReturningDelete: true,
		DeferPurge:      true,
		limit:           limitClause,
		catalog: catalogSQL{
			tables: "SELECT table_schema, table_name FROM information_schema.tables" +
				" WHERE LOWER(table_schema) = LOWER(?) AND table_type = 'BASE TABLE'",
			tablesDefault: "SELECT table_schema, table_name FROM information_schema.tables" +
				" WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'",
			columns: "SELECT column_name, data_type FROM information_schema.columns" +
				" WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
			primaryKey: "SELECT column_name FROM information_schema.key_column_usage" +
				" WHERE constraint_name = 'PRIMARY' AND table_schema = ? AND table_name = ?" +
				" ORDER BY ordinal_position",
		},
		kindOf: mysqlKind,
		// Converting first makes the binary collation valid whatever the column's character set.
		exactText: func(q string) string { return "CONVERT(" + q + " USING utf8mb4) COLLATE utf8mb4_bin" },
	},
	"sqlserver": {
		Name: "sqlserver", Title: "SQL Server",
		quoteOpen: '[', quoteClose: ']',
		placeholder: func(n int) string { return "@p" + strconv.Itoa(n) },
		MaxParams:   2000, MaxInList: 1000,
		Delete: DeleteLocked, Isolation: sql.LevelReadCommitted,
		// SQL Server escalates a statement's row locks to a table lock at about 5000: stay
		// below, or product logins would wait on the whole table during each batch.
		DefaultBatch: 4000,
		limit:        limitTop,
		catalog: catalogSQL{
			tables: "SELECT TABLE_SCHEMA, TABLE_NAME FROM INFORMATION_SCHEMA.TABLES" +
				" WHERE LOWER(TABLE_SCHEMA) = LOWER(@p1) AND TABLE_TYPE = 'BASE TABLE'",
			tablesDefault: "SELECT TABLE_SCHEMA, TABLE_NAME FROM INFORMATION_SCHEMA.TABLES" +
				" WHERE TABLE_SCHEMA NOT IN ('sys', 'INFORMATION_SCHEMA') AND TABLE_TYPE = 'BASE TABLE'",
			columns: "SELECT COLUMN_NAME, DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS" +
				" WHERE TABLE_SCHEMA = @p1 AND TABLE_NAME = @p2 ORDER BY ORDINAL_POSITION",
			primaryKey: "SELECT k.COLUMN_NAME FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS c" +
				" JOIN INFORMATION_SCHEMA.KEY_COLUMN_USAGE k ON k.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA" +
				" AND k.CONSTRAINT_NAME = c.CONSTRAINT_NAME AND k.TABLE_NAME = c.TABLE_NAME" +
				" WHERE c.CONSTRAINT_TYPE = 'PRIMARY KEY' AND c.TABLE_SCHEMA = @p1 AND c.TABLE_NAME = @p2" +
				" ORDER BY k.ORDINAL_POSITION",
		},
		kindOf:    sqlserverKind,
		exactText: func(q string) string { return q + " COLLATE Latin1_General_BIN2" },
	},
	"oracle": {
		Name: "oracle", Title: "Oracle",
		quoteOpen: '"', quoteClose: '"',
		placeholder:  func(n int) string { return ":" + strconv.Itoa(n) },
		DefaultBatch: 10000,
		MaxParams:    65535, MaxInList: 1000,
		// go-ora refuses any isolation level but the default, which is READ COMMITTED.
		Delete: DeleteLocked, Isolation: sql.LevelDefault,
		limit:      limitRownum,
		insertRows: insertAll,
		catalog: catalogSQL{
			tables:        "SELECT owner, table_name FROM all_tables WHERE UPPER(owner) = UPPER(:1)",
			tablesDefault: "SELECT owner, table_name FROM all_tables WHERE owner = SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')",
			columns: "SELECT column_name, data_type FROM all_tab_columns" +
				" WHERE owner = :1 AND table_name = :2 ORDER BY column_id",
			primaryKey: "SELECT cc.column_name FROM all_constraints c" +
				" JOIN all_cons_columns cc ON cc.owner = c.owner AND cc.constraint_name = c.constraint_name" +
				" WHERE c.constraint_type = 'P' AND c.owner = :1 AND c.table_name = :2 ORDER BY cc.position",
		},
		kindOf: oracleKind,
	},
}

// DialectNames lists the dialects in a stable order.
func DialectNames() []string {
	names := make([]string, 0, len(Dialects))
	for n := range Dialects {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the named dialect or an error wrapping ErrUnknownDialect.
func Lookup(name string) (*Dialect, error) {
	if d, ok := Dialects[name]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownDialect, name, strings.Join(DialectNames(), ", "))
}

// Table names a table exactly as the catalog spells it.
type Table struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
}

func (t Table) String() string {
	if t.Schema == "" {
		return t.Name
	}
	return t.Schema + "." + t.Name
}

// Quote quotes an identifier: NUL bytes are dropped and the closing quote character is doubled,
// so no name can end the quoted identifier early.
func (d *Dialect) Quote(ident string) string {
	ident = strings.ReplaceAll(ident, "\x00", "")
	closing := string(d.quoteClose)
	return string(d.quoteOpen) + strings.ReplaceAll(ident, closing, closing+closing) + closing
}

// QualifiedName is the quoted schema-qualified table name.
func (d *Dialect) QualifiedName(t Table) string {
	if t.Schema == "" {
		return d.Quote(t.Name)
	}
	return d.Quote(t.Schema) + "." + d.Quote(t.Name)
}

// Placeholder is the n-th (1-based) bind parameter marker.
func (d *Dialect) Placeholder(n int) string { return d.placeholder(n) }

// Kind maps a catalog data type to how reauth carries its values.
func (d *Dialect) Kind(dataType string) (Kind, error) {
	if k, ok := d.kindOf(strings.ToLower(strings.TrimSpace(dataType))); ok {
		return k, nil
	}
	return "", fmt.Errorf("%s column type %q is not one reauth can back up losslessly", d.Title, dataType)
}

// Cond is one condition of a WHERE clause; a statement's conditions are joined with AND.
type Cond struct {
	op     condOp
	Column string
	Values []any
}

type condOp int

const (
	opIn condOp = iota
	opNotIn
	opLess
	opGreater
	opAtMost
	opExactIn
	opExactNotIn
)

// In matches rows whose column is one of values. An empty list matches nothing.
func In(column string, values ...any) Cond { return Cond{opIn, column, values} }

// NotIn matches rows whose column is none of values, NULL included.
func NotIn(column string, values ...any) Cond { return Cond{opNotIn, column, values} }

// ExactIn matches rows whose text column is one of values, code point for code point, whatever
// the column's collation. Names are matched this way: reauth decides which stored names belong
// to a user as the product does, and a database's collation (case- and accent-insensitive by
// default on MySQL and SQL Server) must not widen that.
func ExactIn(column string, values ...any) Cond { return Cond{opExactIn, column, values} }

// ExactNotIn is the negation of ExactIn, NULL included.
func ExactNotIn(column string, values ...any) Cond { return Cond{opExactNotIn, column, values} }

// Less matches column < value.
func Less(column string, value any) Cond { return Cond{opLess, column, []any{value}} }

// Greater matches column > value.
func Greater(column string, value any) Cond { return Cond{opGreater, column, []any{value}} }

// AtMost matches column <= value.
func AtMost(column string, value any) Cond { return Cond{opAtMost, column, []any{value}} }

// args collects bind parameters while SQL text is rendered.
type args struct {
	d    *Dialect
	vals []any
}

func (a *args) add(v any) string {
	a.vals = append(a.vals, v)
	return a.d.placeholder(len(a.vals))
}

func (a *args) list(vs []any) string {
	ps := make([]string, len(vs))
	for i, v := range vs {
		ps[i] = a.add(v)
	}
	return strings.Join(ps, ", ")
}

func (d *Dialect) where(conds []Cond, a *args) string {
	if len(conds) == 0 {
		return ""
	}
	parts := make([]string, 0, len(conds))
	for _, c := range conds {
		col := d.Quote(c.Column)
		switch c.op {
		case opIn, opExactIn:
			if len(c.Values) == 0 {
				parts = append(parts, "1 = 0")
				continue
			}
			expr := col
			if c.op == opExactIn {
				expr = d.exact(col)
			}
			parts = append(parts, d.inList(expr, " IN ", " OR ", c.Values, a))
		case opNotIn, opExactNotIn:
			if len(c.Values) == 0 {
				continue
			}
			expr := col
			if c.op == opExactNotIn {
				expr = d.exact(col)
			}
			parts = append(parts, "("+col+" IS NULL OR "+d.inList(expr, " NOT IN ", " AND ", c.Values, a)+")")
		case opLess:
			parts = append(parts, col+" < "+a.add(c.Values[0]))
		case opGreater:
			parts = append(parts, col+" > "+a.add(c.Values[0]))
		case opAtMost:
			parts = append(parts, col+" <= "+a.add(c.Values[0]))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(parts, " AND ")
}

// inList renders expr IN (...) for any number of values: lists longer than MaxInList (Oracle
// takes 1000) are split and joined with join (OR for IN, AND for NOT IN).
func (d *Dialect) inList(expr, op, join string, values []any, a *args) string {
	if len(values) <= d.MaxInList {
		return expr + op + "(" + a.list(values) + ")"
	}
	var lists []string
	for i := 0; i < len(values); i += d.MaxInList {
		lists = append(lists, expr+op+"("+a.list(values[i:min(i+d.MaxInList, len(values))])+")")
	}
	return "(" + strings.Join(lists, join) + ")"
}

// GroupCount renders a count of the rows matching conds per value of column, with the oldest
// and newest value of created when it is not empty. With exact, a text column is grouped code
// point for code point, as ExactIn compares it, not by its collation.
func (d *Dialect) GroupCount(t Table, column string, exact bool, created string, conds ...Cond) (string, []any) {
	a := &args{d: d}
	col := d.Quote(column)
	if exact {
		col = d.exact(col)
	}
	sel := col + ", COUNT(*)"
	if created != "" {
		sel += ", MIN(" + d.Quote(created) + "), MAX(" + d.Quote(created) + ")"
	}
	return "SELECT " + sel + " FROM " + d.QualifiedName(t) + d.where(conds, a) + " GROUP BY " + col, a.vals
}

// exact is a text column's value in a form that compares and groups code point for code point.
func (d *Dialect) exact(quoted string) string {
	if d.exactText == nil {
		return quoted
	}
	return d.exactText(quoted)
}

// Count renders SELECT COUNT(*) over the rows matching conds.
func (d *Dialect) Count(t Table, conds ...Cond) (string, []any) {
	a := &args{d: d}
	return "SELECT COUNT(*) FROM " + d.QualifiedName(t) + d.where(conds, a), a.vals
}

// SelectSpec describes a SELECT of a table's rows.
type SelectSpec struct {
	Columns []string
	Where   []Cond
	OrderBy string // a key column; required when Limit > 0
	Limit   int    // 0: all rows
	// Lock takes row locks that last until the transaction ends, so that nobody changes a row
	// between its backup and its delete.
	Lock bool
}

// Select renders a SELECT.
func (d *Dialect) Select(t Table, s SelectSpec) (string, []any) {
	a := &args{d: d}
	cols := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		cols[i] = d.Quote(c)
	}
	list := strings.Join(cols, ", ")
	name := d.QualifiedName(t)
	where := d.where(s.Where, a)
	order := ""
	if s.OrderBy != "" {
		order = " ORDER BY " + d.Quote(s.OrderBy)
	}
	var q string
	switch d.limit {
	case limitTop:
		top := ""
		if s.Limit > 0 {
			top = "TOP (" + strconv.Itoa(s.Limit) + ") "
		}
		hint := ""
		if s.Lock {
			hint = " WITH (UPDLOCK, ROWLOCK)"
		}
		q = "SELECT " + top + list + " FROM " + name + hint + where + order
	case limitRownum:
		// Oracle refuses FOR UPDATE next to ROWNUM or FETCH FIRST over an ordered query, so the
		// batch's rows are chosen by ROWID in a subquery and locked outside it.
		if s.Limit > 0 {
			q = "SELECT " + list + " FROM " + name + " WHERE ROWID IN (SELECT rid FROM (SELECT ROWID AS rid FROM " +
				name + where + order + ") WHERE ROWNUM <= " + strconv.Itoa(s.Limit) + ")" + order
		} else {
			q = "SELECT " + list + " FROM " + name + where + order
		}
		if s.Lock {
			q += " FOR UPDATE"
		}
	default:
		q = "SELECT " + list + " FROM " + name + where + order
		if s.Limit > 0 {
			q += " LIMIT " + strconv.Itoa(s.Limit)
		}
		if s.Lock {
			q += " FOR UPDATE"
		}
	}
	return q, a.vals
}

// DeleteWhere renders DELETE FROM t WHERE conds. Callers always pass conditions.
func (d *Dialect) DeleteWhere(t Table, conds ...Cond) (string, []any) {
	a := &args{d: d}
	return "DELETE FROM " + d.QualifiedName(t) + d.where(conds, a), a.vals
}

// DeleteFirst renders a DELETE of the first n rows matching conds in key order: DELETE FROM t
// WHERE conds ORDER BY key LIMIT n. Only for dialects with OrderedDelete.
//
// InnoDB locks each row a range delete looks at, the first row past the range included, which
// the next batch holds while it is read; in key order, a delete that stops after the batch's n
// rows never looks at it. Rows inserted into the batch's range since it was read come before
// its last row: if the delete took any of them, that last row is left, which the caller checks.
func (d *Dialect) DeleteFirst(t Table, key string, n int, conds ...Cond) (string, []any) {
	a := &args{d: d}
	return "DELETE FROM " + d.QualifiedName(t) + d.where(conds, a) + " ORDER BY " + d.Quote(key) +
		" LIMIT " + strconv.Itoa(n), a.vals
}

// DeleteReturning renders a DELETE of the first n rows matching conds in key order that returns
// their columns cols, in that order: DELETE FROM t WHERE conds ORDER BY key LIMIT n RETURNING
// cols. Only for dialects with ReturningDelete, on a server where DeletesReturning.
func (d *Dialect) DeleteReturning(t Table, key string, cols []string, n int, conds ...Cond) (string, []any) {
	q, a := d.DeleteFirst(t, key, n, conds...)
	list := make([]string, len(cols))
	for i, c := range cols {
		list[i] = d.Quote(c)
	}
	return q + " RETURNING " + strings.Join(list, ", "), a
}

// KeyBounds renders SELECT MIN(key), MAX(key) FROM t: where a clear of every row splits the
// keys.
func (d *Dialect) KeyBounds(t Table, key string) string {
	k := d.Quote(key)
	return "SELECT MIN(" + k + "), MAX(" + k + ") FROM " + d.QualifiedName(t)
}

// TryLock renders a statement that tries, without waiting, to take the exclusive lock called
// name for the connection's session, and returns one row of one integer: 1 when it got the lock,
// 0 when another session holds it. Unlock renders its release. Such a lock ends with the
// session, so a process that dies leaves none behind. PostgreSQL's advisory locks are numbers
// (name is hashed to one) and belong to one database; MySQL's GET_LOCK names are the server's
// (at most 64 characters: longer ones are hashed); SQL Server's application locks belong to
// one database. Oracle's DBMS_LOCK needs a grant a product's database user rarely has: it
// renders nothing, and the caller goes without.
func (d *Dialect) TryLock(name string) (string, []any) {
	switch d.Name {
	case "postgres":
		return "SELECT CASE WHEN pg_try_advisory_lock($1) THEN 1 ELSE 0 END", []any{lockKey(name)}
	case "mysql":
		return "SELECT COALESCE(GET_LOCK(?, 0), 0)", []any{lockName(name)}
	case "sqlserver":
		return "DECLARE @r int; EXEC @r = sp_getapplock @Resource = @p1, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;" +
			" SELECT CASE WHEN @r >= 0 THEN 1 ELSE 0 END", []any{lockName(name)}
	}
	return "", nil
}

// Unlock renders the release of the lock TryLock took.
func (d *Dialect) Unlock(name string) (string, []any) {
	switch d.Name {
	case "postgres":
		return "SELECT pg_advisory_unlock($1)", []any{lockKey(name)}
	case "mysql":
		return "SELECT RELEASE_LOCK(?)", []any{lockName(name)}
	case "sqlserver":
		return "EXEC sp_releaseapplock @Resource = @p1, @LockOwner = 'Session'", []any{lockName(name)}
	}
	return "", nil
}

// lockKey is name as a PostgreSQL advisory lock number: the first 8 bytes of its SHA-256.
func lockKey(name string) int64 {
	sum := sha256.Sum256([]byte(name))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// lockName is name as a lock name of at most 64 characters.
func lockName(name string) string {
	if len(name) <= 64 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return "reauth:" + hex.EncodeToString(sum[:])[:57]
}

// DeletesReturning reports whether the server behind q runs DeleteReturning: the dialect has
// ReturningDelete and the server's VERSION() names MariaDB 10.0.5 or later. An error is one of
// the query's; a server that cannot tell is taken not to.
func (d *Dialect) DeletesReturning(ctx context.Context, q Querier) (bool, error) {
	if !d.ReturningDelete {
		return false, nil
	}
	var v string
	if err := q.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v); err != nil {
		return false, fmt.Errorf("server version: %w", err)
	}
	return mariaDBReturning(v), nil
}

// mariaDBReturning reports whether a VERSION() string is MariaDB's, 10.0.5 or later
// ("10.11.19-MariaDB-0+deb12u1", "11.4.2-MariaDB-log").
func mariaDBReturning(version string) bool {
	if !strings.Contains(strings.ToLower(version), "mariadb") {
		return false
	}
	num, _, _ := strings.Cut(version, "-")
	var v [3]int
	for i, part := range strings.SplitN(num, ".", 3) {
		n, err := strconv.Atoi(part)
		if err != nil {
			return false
		}
		v[i] = n
	}
	return v[0] > 10 || v[0] == 10 && (v[1] > 0 || v[2] >= 5)
}

// PagesQuery renders a query of what a clear by pages needs to know of t: the server's version
// number (PostgreSQL's server_version_num), the number of pages the table's file has now, and
// the planner's estimate of its rows (-1 or 0 when unknown). Only for dialects with Pages.
func (d *Dialect) PagesQuery(t Table) (string, []any) {
	return "SELECT current_setting('server_version_num')::int," +
		" pg_relation_size(CAST($1 AS regclass)) / current_setting('block_size')::bigint," +
		" (SELECT reltuples::float8 FROM pg_class WHERE oid = CAST($1 AS regclass))", []any{d.QualifiedName(t)}
}

// pagesWhere renders the condition on the rows stored in pages [from, to) of the table's file:
// to < 0 leaves the range open at the end, and from < 0 takes every row.
func (d *Dialect) pagesWhere(from, to int64, a *args) string {
	if from < 0 {
		return ""
	}
	tid := func(page int64) string { return "CAST(" + a.add("("+strconv.FormatInt(page, 10)+",0)") + " AS tid)" }
	w := " WHERE ctid >= " + tid(from)
	if to >= 0 {
		w += " AND ctid < " + tid(to)
	}
	return w
}

// SelectPages renders a SELECT of cols of the rows stored in pages [from, to) of t (see
// pagesWhere for negative bounds). Only for dialects with Pages.
func (d *Dialect) SelectPages(t Table, cols []string, from, to int64) (string, []any) {
	a := &args{d: d}
	qc := make([]string, len(cols))
	for i, c := range cols {
		qc[i] = d.Quote(c)
	}
	return "SELECT " + strings.Join(qc, ", ") + " FROM " + d.QualifiedName(t) + d.pagesWhere(from, to, a), a.vals
}

// DeletePages renders a DELETE of the rows stored in pages [from, to) of t (see pagesWhere for
// negative bounds). Only for dialects with Pages.
func (d *Dialect) DeletePages(t Table, from, to int64) (string, []any) {
	a := &args{d: d}
	return "DELETE FROM " + d.QualifiedName(t) + d.pagesWhere(from, to, a), a.vals
}

// Insert renders an INSERT of rows rows of the given columns; the caller binds the values row
// after row, column after column.
func (d *Dialect) Insert(t Table, columns []string, rows int) string {
	cols := make([]string, len(columns))
	for i, c := range columns {
		cols[i] = d.Quote(c)
	}
	head := d.QualifiedName(t) + " (" + strings.Join(cols, ", ") + ")"
	n := 0
	tuple := func() string {
		ps := make([]string, len(columns))
		for i := range ps {
			n++
			ps[i] = d.placeholder(n)
		}
		return "(" + strings.Join(ps, ", ") + ")"
	}
	var b strings.Builder
	if d.insertRows == insertAll {
		b.WriteString("INSERT ALL")
		for r := 0; r < rows; r++ {
			b.WriteString(" INTO " + head + " VALUES " + tuple())
		}
		b.WriteString(" SELECT 1 FROM DUAL")
		return b.String()
	}
	b.WriteString("INSERT INTO " + head + " VALUES ")
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tuple())
	}
	return b.String()
}

// InsertBatch is how many rows of ncols columns one Insert may carry.
func (d *Dialect) InsertBatch(ncols int) int {
	n := d.MaxParams / max(ncols, 1)
	if d.insertRows == insertAll {
		// Oracle allows 999 target columns over all the INTO clauses of one INSERT ALL.
		n = 999 / max(ncols, 1)
	}
	return max(min(n, 1000), 1)
}

// TablesQuery renders the catalog query listing base tables: in schema (compared
// case-insensitively, as Oracle stores owners upper-case), or, when schema is empty, in the
// schemas the connection uses by default.
func (d *Dialect) TablesQuery(schema string) (string, []any) {
	if schema == "" {
		return d.catalog.tablesDefault, nil
	}
	return d.catalog.tables, []any{schema}
}

// ColumnsQuery renders the catalog query listing a table's columns and data types.
func (d *Dialect) ColumnsQuery(t Table) (string, []any) {
	return d.catalog.columns, []any{t.Schema, t.Name}
}

// PrimaryKeyQuery renders the catalog query listing a table's primary key columns.
func (d *Dialect) PrimaryKeyQuery(t Table) (string, []any) {
	return d.catalog.primaryKey, []any{t.Schema, t.Name}
}
