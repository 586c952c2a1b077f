package db

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Column is one column of a table as the catalog describes it.
type Column struct {
	Name     string `json:"name"`      // exact spelling
	DataType string `json:"data_type"` // the catalog's data type name
	Kind     Kind   `json:"kind"`
}

// Tables lists the base tables whose names satisfy match, in schema or (schema empty) in the
// connection's default schemas, sorted by schema and name.
func Tables(ctx context.Context, q Querier, d *Dialect, schema string, match func(name string) bool) ([]Table, error) {
	query, args := d.TablesQuery(schema)
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: list tables: %w", err)
	}
	defer rows.Close()
	var out []Table
	for rows.Next() {
		var t Table
		if err := rows.Scan(&t.Schema, &t.Name); err != nil {
			return nil, fmt.Errorf("catalog: list tables: %w", err)
		}
		if match(t.Name) {
			out = append(out, t)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: list tables: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Schema != out[j].Schema {
			return out[i].Schema < out[j].Schema
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// NameIs matches a table name case-insensitively, as PostgreSQL (lower), Oracle (UPPER) and
// MySQL on Linux (as created) each spell the same product table differently.
func NameIs(name string) func(string) bool {
	return func(s string) bool { return strings.EqualFold(s, name) }
}

// NameContains matches table names holding part, case-insensitively.
func NameContains(part string) func(string) bool {
	part = strings.ToLower(part)
	return func(s string) bool { return strings.Contains(strings.ToLower(s), part) }
}

// Columns returns a table's columns in table order, with their kinds. A column whose type has
// no lossless kind is an error: a backup that could not restore it would not be a backup.
func Columns(ctx context.Context, q Querier, d *Dialect, t Table) ([]Column, error) {
	query, args := d.ColumnsQuery(t)
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: columns of %s: %w", t, err)
	}
	defer rows.Close()
	var out []Column
	for rows.Next() {
		var c Column
		if err := rows.Scan(&c.Name, &c.DataType); err != nil {
			return nil, fmt.Errorf("catalog: columns of %s: %w", t, err)
		}
		k, err := d.Kind(c.DataType)
		if err != nil {
			return nil, fmt.Errorf("catalog: column %s of %s: %w", c.Name, t, err)
		}
		c.Kind = k
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: columns of %s: %w", t, err)
	}
	return out, nil
}

// PrimaryKey returns the columns of a table's primary key, in key order (none if it has none).
func PrimaryKey(ctx context.Context, q Querier, d *Dialect, t Table) ([]string, error) {
	query, args := d.PrimaryKeyQuery(t)
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: primary key of %s: %w", t, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("catalog: primary key of %s: %w", t, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
