package db

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Kind is how reauth carries a column's values between the database and a backup file: each
// kind has one Go type to scan into, one lossless text form, and one Go type to bind on restore.
type Kind string

// The kinds. Decimal covers exact numerics wider than int64 (Jira's numeric(18,0) ids, Oracle's
// NUMBER) and floating point, all kept as the database's own digits.
const (
	KindInt     Kind = "int"
	KindDecimal Kind = "decimal"
	KindText    Kind = "text"
	KindBool    Kind = "bool"
	KindTime    Kind = "time"
	KindBytes   Kind = "bytes"
)

func postgresKind(t string) (Kind, bool) {
	switch t {
	case "smallint", "integer", "bigint":
		return KindInt, true
	case "numeric", "decimal", "real", "double precision", "money":
		return KindDecimal, true
	case "character varying", "varchar", "character", "char", "text", "uuid", "citext":
		return KindText, true
	case "boolean":
		return KindBool, true
	case "timestamp with time zone", "timestamp without time zone", "date":
		return KindTime, true
	case "bytea":
		return KindBytes, true
	}
	return "", false
}

func mysqlKind(t string) (Kind, bool) {
	switch t {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year":
		return KindInt, true
	case "decimal", "numeric", "float", "double", "real":
		return KindDecimal, true
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set":
		return KindText, true
	case "datetime", "timestamp", "date":
		return KindTime, true
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit":
		return KindBytes, true
	}
	return "", false
}

func sqlserverKind(t string) (Kind, bool) {
	switch t {
	case "tinyint", "smallint", "int", "bigint":
		return KindInt, true
	case "decimal", "numeric", "float", "real", "money", "smallmoney":
		return KindDecimal, true
	case "char", "varchar", "nchar", "nvarchar", "text", "ntext":
		return KindText, true
	case "bit":
		return KindBool, true
	case "datetime", "datetime2", "smalldatetime", "date", "datetimeoffset":
		return KindTime, true
	case "binary", "varbinary", "image", "uniqueidentifier": // the driver reads a GUID as its 16 bytes
		return KindBytes, true
	}
	return "", false
}

func oracleKind(t string) (Kind, bool) {
	switch {
	case t == "number" || t == "float" || t == "binary_float" || t == "binary_double":
		return KindDecimal, true
	case t == "varchar2" || t == "nvarchar2" || t == "char" || t == "nchar" || t == "clob" || t == "nclob":
		return KindText, true
	case t == "date" || strings.HasPrefix(t, "timestamp"):
		return KindTime, true
	case t == "raw" || t == "blob":
		return KindBytes, true
	}
	return "", false
}

// ScanTarget returns a fresh destination for rows.Scan for a value of kind k.
func ScanTarget(k Kind) any {
	switch k {
	case KindInt:
		return new(sql.NullInt64)
	case KindBool:
		return new(sql.NullBool)
	case KindTime:
		return new(sql.NullTime)
	case KindBytes:
		return new([]byte)
	default:
		return new(sql.NullString)
	}
}

// Text renders a scanned destination (from ScanTarget) as its lossless text form; ok is false
// for NULL. Times are UTC RFC 3339 with all their digits, bytes are standard Base64.
func Text(dest any) (s string, ok bool) {
	switch v := dest.(type) {
	case *sql.NullInt64:
		return strconv.FormatInt(v.Int64, 10), v.Valid
	case *sql.NullBool:
		return strconv.FormatBool(v.Bool), v.Valid
	case *sql.NullTime:
		return v.Time.UTC().Format(time.RFC3339Nano), v.Valid
	case *[]byte:
		return base64.StdEncoding.EncodeToString(*v), *v != nil
	case *sql.NullString:
		return v.String, v.Valid
	}
	panic(fmt.Sprintf("db.Text: unexpected scan target %T", dest))
}

// Value turns a text form made by Text back into the Go value to bind for kind k.
func Value(k Kind, s string) (any, error) {
	switch k {
	case KindInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad int value %q", s)
		}
		return n, nil
	case KindBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("bad bool value %q", s)
		}
		return b, nil
	case KindTime:
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("bad time value %q", s)
		}
		return t.UTC(), nil
	case KindBytes:
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("bad bytes value %q", s)
		}
		return b, nil
	case KindText, KindDecimal:
		return s, nil
	}
	return nil, fmt.Errorf("unknown kind %q", k)
}

// ValidKind reports whether k is one of the kinds.
func ValidKind(k Kind) bool {
	switch k {
	case KindInt, KindDecimal, KindText, KindBool, KindTime, KindBytes:
		return true
	}
	return false
}

// ReadText runs q, a SELECT of cols (in that order), in tx, which was begun on conn, and calls
// fn with each row's values in their text forms: values[i] holds exactly the bytes that Text
// gives for column i's value scanned into ScanTarget, and is nil for NULL. The values are valid
// only until fn returns.
//
// It is Text without the detours, for the millions of values of a large backup: PostgreSQL rows
// are read through pgx itself, each column in the wire format that turns into the text form
// most directly (the server's own text for numbers and strings, binary for times, floats,
// booleans and bytes), and rendered from the wire bytes; MySQL rows are scanned as
// sql.RawBytes. Other dialects go through ScanTarget and Text.
func ReadText(ctx context.Context, conn *sql.Conn, tx *sql.Tx, d *Dialect, cols []Column, q string, args []any, fn func(values [][]byte) error) error {
	if d.Name == "postgres" {
		viaPgx := false
		err := conn.Raw(func(dc any) error {
			pc, ok := dc.(interface{ Conn() *pgx.Conn })
			if !ok {
				return nil // another driver: the generic path below
			}
			viaPgx = true
			return readPostgresText(ctx, pc.Conn(), cols, q, args, fn)
		})
		if viaPgx || err != nil {
			return err
		}
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if d.Name == "mysql" {
		err = readRawText(rows, cols, fn)
	} else {
		err = readScannedText(rows, cols, fn)
	}
	if err != nil {
		return err
	}
	return rows.Close()
}

// emptyText is a value that is present but empty: never nil, which means NULL.
var emptyText = []byte{}

// rowText assembles one row's text values. Some point into the driver's buffers; the others are
// rendered into buf, and only pointed at once the whole row is rendered, as buf may move while
// it grows.
type rowText struct {
	values [][]byte
	buf    []byte
	spans  [][2]int // where in buf a rendered value is; {-1, -1} for the others
}

func newRowText(n int) *rowText {
	return &rowText{values: make([][]byte, n), buf: make([]byte, 0, 512), spans: make([][2]int, n)}
}

func (r *rowText) start() { r.buf = r.buf[:0] }

// set makes value i v as it is (nil for NULL).
func (r *rowText) set(i int, v []byte) {
	if v != nil && len(v) == 0 {
		v = emptyText
	}
	r.values[i] = v
	r.spans[i] = [2]int{-1, -1}
}

// rendered marks what was appended to buf since offset from as value i.
func (r *rowText) rendered(i, from int) { r.spans[i] = [2]int{from, len(r.buf)} }

// done points the rendered values into buf and returns the row.
func (r *rowText) done() [][]byte {
	for i, sp := range r.spans {
		if sp[0] >= 0 {
			r.values[i] = r.buf[sp[0]:sp[1]:sp[1]]
		}
	}
	return r.values
}

// pgColumn is how one PostgreSQL column is read: the type a binary column must have and how its
// bytes become the text form; nil render for a column read as the server's text.
type pgColumn struct {
	oid    uint32
	render func(dst, src []byte) ([]byte, error)
}

// pgColumns picks each column's wire format from its catalog type. Text columns need no
// rendering: for numbers and strings, the server's text output is what the database/sql path
// yields too (pgx asks for those in text and hands them over as they are). Binary columns are
// rendered as Text renders the Go value that pgx makes of them.
func pgColumns(cols []Column) ([]pgColumn, pgx.QueryResultFormats) {
	pcs := make([]pgColumn, len(cols))
	formats := make(pgx.QueryResultFormats, len(cols))
	for i, c := range cols {
		switch strings.ToLower(c.DataType) {
		case "boolean":
			pcs[i] = pgColumn{16, renderPgBool}
		case "numeric":
			// The server spends more on a numeric's text than on all the rest of a row.
			pcs[i] = pgColumn{1700, renderPgNumeric}
		case "bytea":
			pcs[i] = pgColumn{17, renderPgBytes}
		case "real":
			pcs[i] = pgColumn{700, renderPgFloat4}
		case "double precision":
			pcs[i] = pgColumn{701, renderPgFloat8}
		case "date":
			pcs[i] = pgColumn{1082, renderPgDate}
		case "timestamp without time zone":
			pcs[i] = pgColumn{1114, renderPgTimestamp}
		case "timestamp with time zone":
			pcs[i] = pgColumn{1184, renderPgTimestamp}
		default:
			continue // text
		}
		formats[i] = pgx.BinaryFormatCode
	}
	return pcs, formats
}

func readPostgresText(ctx context.Context, conn *pgx.Conn, cols []Column, q string, args []any, fn func([][]byte) error) error {
	pcs, formats := pgColumns(cols)
	rows, err := conn.Query(ctx, q, append([]any{formats}, args...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	fds := rows.FieldDescriptions()
	if len(fds) != len(cols) {
		return fmt.Errorf("the query returned %d columns, not %d", len(fds), len(cols))
	}
	for i, fd := range fds {
		if fd.Format != formats[i] || (formats[i] == pgx.BinaryFormatCode && fd.DataTypeOID != pcs[i].oid) {
			return fmt.Errorf("column %s came back as type %d in format %d, not as asked", cols[i].Name, fd.DataTypeOID, fd.Format)
		}
	}
	r := newRowText(len(cols))
	for rows.Next() {
		r.start()
		for i, v := range rows.RawValues() {
			if v == nil || pcs[i].render == nil {
				r.set(i, v)
				continue
			}
			from := len(r.buf)
			if r.buf, err = pcs[i].render(r.buf, v); err != nil {
				return fmt.Errorf("column %s: %w", cols[i].Name, err)
			}
			r.rendered(i, from)
		}
		if err := fn(r.done()); err != nil {
			return err
		}
	}
	return rows.Err()
}

func renderPgBool(dst, src []byte) ([]byte, error) {
	if len(src) != 1 {
		return dst, fmt.Errorf("bad boolean of %d bytes", len(src))
	}
	return strconv.AppendBool(dst, src[0] != 0), nil
}

// renderPgNumeric renders a binary numeric exactly as the server's numeric_out writes it: the
// integer part without leading zeros ("0" if none), then, for a display scale above zero, a
// point and that many fractional digits; NaN and the infinities by name.
//
// The binary form is the value's base-10000 digits (the first has the given weight: a power of
// 10000), its sign and its display scale.
func renderPgNumeric(dst, src []byte) ([]byte, error) {
	if len(src) < 8 {
		return dst, fmt.Errorf("bad numeric of %d bytes", len(src))
	}
	ndigits := int(int16(binary.BigEndian.Uint16(src)))
	weight := int(int16(binary.BigEndian.Uint16(src[2:])))
	sign := binary.BigEndian.Uint16(src[4:])
	dscale := int(int16(binary.BigEndian.Uint16(src[6:])))
	if ndigits < 0 || dscale < 0 || len(src) != 8+2*ndigits {
		return dst, fmt.Errorf("bad numeric of %d bytes for %d digits", len(src), ndigits)
	}
	switch sign {
	case 0x0000:
	case 0x4000:
		dst = append(dst, '-')
	case 0xC000:
		return append(dst, "NaN"...), nil
	case 0xD000:
		return append(dst, "Infinity"...), nil
	case 0xF000:
		return append(dst, "-Infinity"...), nil
	default:
		return dst, fmt.Errorf("bad numeric sign %#x", sign)
	}
	for i := 0; i < ndigits; i++ {
		if binary.BigEndian.Uint16(src[8+2*i:]) > 9999 {
			return dst, errors.New("bad numeric digit")
		}
	}
	digit := func(i int) int {
		if i < 0 || i >= ndigits {
			return 0
		}
		return int(binary.BigEndian.Uint16(src[8+2*i:]))
	}
	four := func(dst []byte, v int) []byte {
		return append(dst, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
	}
	d := 0
	if weight < 0 {
		dst = append(dst, '0')
		d = weight + 1
	} else {
		for ; d <= weight; d++ {
			if d == 0 {
				dst = strconv.AppendInt(dst, int64(digit(0)), 10)
			} else {
				dst = four(dst, digit(d))
			}
		}
	}
	if dscale > 0 {
		dst = append(dst, '.')
		end := len(dst) + dscale
		for n := 0; n < dscale; n, d = n+4, d+1 {
			dst = four(dst, digit(d))
		}
		dst = dst[:end]
	}
	return dst, nil
}

func renderPgBytes(dst, src []byte) ([]byte, error) {
	return base64.StdEncoding.AppendEncode(dst, src), nil
}

func renderPgFloat4(dst, src []byte) ([]byte, error) {
	if len(src) != 4 {
		return dst, fmt.Errorf("bad real of %d bytes", len(src))
	}
	// pgx hands database/sql a real as a float64, which it formats as one.
	return strconv.AppendFloat(dst, float64(math.Float32frombits(binary.BigEndian.Uint32(src))), 'g', -1, 64), nil
}

func renderPgFloat8(dst, src []byte) ([]byte, error) {
	if len(src) != 8 {
		return dst, fmt.Errorf("bad double precision of %d bytes", len(src))
	}
	return strconv.AppendFloat(dst, math.Float64frombits(binary.BigEndian.Uint64(src)), 'g', -1, 64), nil
}

// PostgreSQL's binary times count from 2000-01-01 00:00 UTC (946,684,800 s after the Unix
// epoch); the extreme values mean ±infinity, which pgx hands database/sql as a string that no
// time scans from: Text's path refuses them, and so does this one.
const pgUnixToY2K = 946_684_800

var (
	// pgx's range.
	pgMinTime = time.Date(-4713, 11, 24, 0, 0, 0, 0, time.UTC)
	pgEndDate = time.Date(5874898, 1, 1, 0, 0, 0, 0, time.UTC)
	pgEndTime = time.Date(294277, 1, 1, 0, 0, 0, 0, time.UTC)
)

// renderPgTimestamp renders a binary timestamp or timestamptz (microseconds since 2000-01-01
// UTC) as Text renders the time.Time that pgx makes of it.
func renderPgTimestamp(dst, src []byte) ([]byte, error) {
	if len(src) != 8 {
		return dst, fmt.Errorf("bad timestamp of %d bytes", len(src))
	}
	us := int64(binary.BigEndian.Uint64(src))
	if us == math.MaxInt64 || us == math.MinInt64 {
		return dst, errors.New("an infinite timestamp has no time value")
	}
	if b, ok := appendY2KMicros(dst, us); ok {
		return b, nil
	}
	t := time.Unix(pgUnixToY2K+us/1_000_000, us%1_000_000*1_000).UTC()
	if t.Before(pgMinTime) || !t.Before(pgEndTime) {
		return dst, fmt.Errorf("timestamp %d microseconds from 2000-01-01 is out of range", us)
	}
	return appendTime(dst, t), nil
}

// appendY2KMicros appends the text form of the time us microseconds after 2000-01-01 00:00 UTC,
// exactly as time.Time.AppendFormat(time.RFC3339Nano) writes it in UTC, for the years 0000 to
// 9999 (ok false for others). A backup of a large table renders a million of them: this is
// several times quicker than going through a time.Time.
func appendY2KMicros(dst []byte, us int64) ([]byte, bool) {
	const usPerDay = 86_400_000_000
	day, rem := us/usPerDay, us%usPerDay
	if rem < 0 {
		day, rem = day-1, rem+usPerDay
	}
	// Civil date from days since 1970-01-01 (Howard Hinnant's days_from_civil, inverted).
	z := day + 10957 + 719468 // 2000-01-01 is day 10957 after 1970-01-01
	era := z / 146097
	if z < 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	if y < 0 || y > 9999 {
		return dst, false
	}
	secs, frac := rem/1_000_000, rem%1_000_000
	hh, mm, ss := secs/3600, secs/60%60, secs%60
	dst = append(dst,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+hh/10), byte('0'+hh%10), ':', byte('0'+mm/10), byte('0'+mm%10), ':',
		byte('0'+ss/10), byte('0'+ss%10))
	if frac != 0 {
		// Nine digits, as RFC3339Nano has, without their trailing zeros.
		digits := [9]byte{}
		n := frac * 1000
		for i := 8; i >= 0; i-- {
			digits[i] = byte('0' + n%10)
			n /= 10
		}
		end := 9
		for digits[end-1] == '0' {
			end--
		}
		dst = append(append(dst, '.'), digits[:end]...)
	}
	return append(dst, 'Z'), true
}

// renderPgDate renders a binary date (days since 2000-01-01) as Text renders pgx's time.Time.
func renderPgDate(dst, src []byte) ([]byte, error) {
	if len(src) != 4 {
		return dst, fmt.Errorf("bad date of %d bytes", len(src))
	}
	days := int32(binary.BigEndian.Uint32(src))
	if days == math.MaxInt32 || days == math.MinInt32 {
		return dst, errors.New("an infinite date has no time value")
	}
	t := time.Date(2000, 1, int(1+days), 0, 0, 0, 0, time.UTC)
	if t.Before(pgMinTime) || !t.Before(pgEndDate) {
		return dst, fmt.Errorf("date %d days from 2000-01-01 is out of range", days)
	}
	return appendTime(dst, t), nil
}

// appendTime appends t's text form, as Text makes it.
func appendTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, time.RFC3339Nano)
}

// readRawText reads MySQL rows as sql.RawBytes: database/sql hands over the driver's bytes for
// numbers and strings, and formats integers, floats and times as Text does (the driver's times
// are UTC: see openMySQL). What is left is Base64 for bytes and Text's refusals.
func readRawText(rows *sql.Rows, cols []Column, fn func([][]byte) error) error {
	raws := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range raws {
		dest[i] = &raws[i]
	}
	r := newRowText(len(cols))
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		r.start()
		for i, v := range raws {
			if v == nil {
				r.set(i, nil)
				continue
			}
			switch cols[i].Kind {
			case KindBytes:
				from := len(r.buf)
				r.buf = base64.StdEncoding.AppendEncode(r.buf, v)
				r.rendered(i, from)
				continue
			case KindInt:
				// Text's path scans into an int64: refuse what does not fit, as it does.
				if _, err := strconv.ParseInt(string(v), 10, 64); err != nil {
					return fmt.Errorf("column %s: %q is not a 64-bit integer", cols[i].Name, v)
				}
			case KindTime:
				if v[len(v)-1] != 'Z' {
					t, err := time.Parse(time.RFC3339Nano, string(v))
					if err != nil {
						return fmt.Errorf("column %s: bad time %q", cols[i].Name, v)
					}
					from := len(r.buf)
					r.buf = appendTime(r.buf, t)
					r.rendered(i, from)
					continue
				}
			case KindBool:
				return fmt.Errorf("column %s: MySQL has no bool kind", cols[i].Name)
			}
			r.set(i, v)
		}
		if err := fn(r.done()); err != nil {
			return err
		}
	}
	return rows.Err()
}

// readScannedText reads rows through ScanTarget and Text.
func readScannedText(rows *sql.Rows, cols []Column, fn func([][]byte) error) error {
	dest := make([]any, len(cols))
	for i, c := range cols {
		dest[i] = ScanTarget(c.Kind)
	}
	r := newRowText(len(cols))
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		r.start()
		for i := range dest {
			s, ok := Text(dest[i])
			if !ok {
				r.set(i, nil)
				continue
			}
			from := len(r.buf)
			r.buf = append(r.buf, s...)
			r.rendered(i, from)
		}
		if err := fn(r.done()); err != nil {
			return err
		}
	}
	return rows.Err()
}
