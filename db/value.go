package db

import (
	"database/sql"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
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
