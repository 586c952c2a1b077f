package tokens

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/reauth/reauth/backup"
	"github.com/reauth/reauth/db"
)

// KeysPresent counts the rows of a backup whose key is in the table now.
func (c *Conn) KeysPresent(ctx context.Context, path string) (int64, error) {
	r, err := backup.Open(path)
	if err != nil {
		return 0, err
	}
	m := r.Manifest()
	ki := m.KeyIndex()
	kind := m.Columns[ki].Kind
	d := c.Target.Dialect
	var (
		total int64
		keys  []any
	)
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		q, args := d.Count(c.Tokens.Table, db.In(c.Tokens.Key, keys...))
		var n int64
		if err := c.Pool.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			return fmt.Errorf("verify %s: %w", path, err)
		}
		total += n
		keys = keys[:0]
		return nil
	}
	err = r.Each(func(v []*string) error {
		k, err := db.Value(kind, *v[ki])
		if err != nil {
			return err
		}
		keys = append(keys, k)
		if len(keys) == d.MaxInList {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return total, err
}

// naiveTime reports a creation column that holds a wall-clock time without a time zone.
func naiveTime(c db.Column) bool {
	if c.Kind != db.KindTime {
		return false // epoch milliseconds are absolute
	}
	t := strings.ToLower(c.DataType)
	switch {
	case strings.Contains(t, "with time zone"), t == "datetimeoffset":
		return false
	case t == "timestamp":
		// MySQL's TIMESTAMP is stored in UTC and read in the session's zone, UTC for reauth;
		// PostgreSQL calls its naive type "timestamp without time zone".
		return false
	}
	return true
}

// OldTokens counts the rows in scope created before since; ok is false when the table has no
// creation time. naive is set when the creation column holds a wall-clock time without a time
// zone, which is read as UTC: if the product writes local time there, the count is off by its
// time zone.
func (c *Conn) OldTokens(ctx context.Context, s Scope, since time.Time) (n int64, ok, naive bool, err error) {
	tt := c.Tokens
	if tt.Created == "" {
		return 0, false, false, nil
	}
	conds, err := c.conditions(ctx, s)
	if err != nil {
		return 0, false, false, err
	}
	var cutoff any = since.UTC()
	if tt.CreatedKind != db.KindTime {
		cutoff = since.UnixMilli()
	}
	q, args := c.Target.Dialect.Count(tt.Table, append(conds, db.Less(tt.Created, cutoff))...)
	if err := c.Pool.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, false, false, fmt.Errorf("verify %s: %w", c.Target.Name, err)
	}
	col, _ := tt.column(tt.Created)
	return n, true, naiveTime(col), nil
}
