package tokens

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/reauth/reauth/backup"
	"github.com/reauth/reauth/db"
)

// ErrManifest marks a backup whose manifest does not match the target it would be restored
// into: another environment, product, database kind, table or column layout.
var ErrManifest = errors.New("backup does not match the target")

// RestoreResult is what Restore did.
type RestoreResult struct {
	Backup   string `json:"backup"`
	SHA256   string `json:"sha256"`
	Target   string `json:"target"`
	Table    string `json:"table"`
	Restored int64  `json:"restored"`
	Skipped  int64  `json:"skipped"`
	Partial  bool   `json:"partial,omitempty"`
}

// CheckManifest refuses a backup that was not taken from this target's table as it is now.
func (c *Conn) CheckManifest(m backup.Manifest, environment string) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrManifest, fmt.Sprintf(format, a...))
	}
	t := c.Target
	switch {
	case m.Environment != environment:
		return bad("it was taken in environment %q, this config is %q", m.Environment, environment)
	case m.Product != t.Product.Name:
		return bad("it holds %s tokens, target %s is %s", m.Product, t.Name, t.Product.Name)
	case m.Dialect != t.Dialect.Name:
		return bad("it was taken from %s, target %s is on %s", m.Dialect, t.Name, t.Dialect.Name)
	case m.Table != c.Tokens.Table:
		return bad("it names table %s, target %s's table is %s", m.Table, t.Name, c.Tokens.Table)
	case m.Key != c.Tokens.Key:
		return bad("its key column is %q, the table's is %q", m.Key, c.Tokens.Key)
	}
	if len(m.Columns) != len(c.Tokens.Columns) {
		return bad("it has %d columns, table %s has %d", len(m.Columns), c.Tokens.Table, len(c.Tokens.Columns))
	}
	for _, mc := range m.Columns {
		tc, ok := c.Tokens.column(mc.Name)
		if !ok {
			return bad("column %q is not in table %s", mc.Name, c.Tokens.Table)
		}
		if !strings.EqualFold(tc.DataType, mc.DataType) || tc.Kind != mc.Kind {
			return bad("column %q was %s, is now %s", mc.Name, mc.DataType, tc.DataType)
		}
	}
	return nil
}

// CheckRows reads the whole backup and refuses it if any row lies outside the scope its
// manifest records (a user not in scope, a creation time after the cutoff): such a row was not
// taken by reauth, whatever the file's checksums say.
func (c *Conn) CheckRows(r *backup.Reader) error {
	m := r.Manifest()
	if len(m.Where) == 0 {
		return nil
	}
	idx := make([]int, len(m.Where))
	for i, w := range m.Where {
		idx[i] = -1
		for j, col := range m.Columns {
			if col.Name == w.Column {
				idx[i] = j
			}
		}
		if idx[i] < 0 {
			return fmt.Errorf("%w: its scope names column %q, which it does not hold", ErrManifest, w.Column)
		}
	}
	keyIdx := m.KeyIndex()
	return r.Each(func(values []*string) error {
		for i, w := range m.Where {
			ok, err := w.Holds(m.Columns[idx[i]].Kind, values[idx[i]])
			if err != nil {
				return fmt.Errorf("%w: %v", ErrManifest, err)
			}
			if !ok {
				key := "NULL"
				if values[keyIdx] != nil {
					key = *values[keyIdx]
				}
				return fmt.Errorf("%w: the row with key %s is outside the scope the backup records (%s %s %v): the file was not written by reauth as it is", ErrManifest, key, w.Column, w.Op, w.Values)
			}
		}
		return nil
	})
}

// Restore puts a verified backup's rows back. A row whose key is already in the table is left
// alone and counted as skipped, so restoring twice is harmless. Rows go in batches, each in its
// own transaction.
func (c *Conn) Restore(ctx context.Context, r *backup.Reader, progress func(done int64)) (RestoreResult, error) {
	m := r.Manifest()
	sum := r.Summary()
	res := RestoreResult{Backup: sum.Path, SHA256: sum.SHA256, Target: c.Target.Name, Table: c.Tokens.Table.String(), Partial: sum.Partial}
	d := c.Target.Dialect
	ncols := len(m.Columns)
	batchRows := d.InsertBatch(ncols)
	keyIdx := m.KeyIndex()
	kinds := make([]db.Kind, ncols)
	cols := make([]string, ncols)
	for i, col := range m.Columns {
		kinds[i], cols[i] = col.Kind, col.Name
	}
	var (
		pending [][]any // the batch's rows as bind values
		keys    []string
	)
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		ins, skip, err := c.insertMissing(ctx, cols, keyIdx, kinds[keyIdx], pending, keys)
		res.Restored += ins
		res.Skipped += skip
		pending, keys = pending[:0], keys[:0]
		if progress != nil {
			progress(res.Restored + res.Skipped)
		}
		return err
	}
	err := r.Each(func(values []*string) error {
		row := make([]any, ncols)
		for i, v := range values {
			if v == nil {
				continue
			}
			val, err := db.Value(kinds[i], *v)
			if err != nil {
				return err
			}
			row[i] = val
		}
		if values[keyIdx] == nil {
			return fmt.Errorf("restore: a row has a NULL key")
		}
		pending = append(pending, row)
		keys = append(keys, *values[keyIdx])
		if len(pending) >= batchRows {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return res, err
}

// insertMissing inserts the rows whose keys are not in the table yet, in one transaction.
func (c *Conn) insertMissing(ctx context.Context, cols []string, keyIdx int, keyKind db.Kind, rows [][]any, keys []string) (inserted, skipped int64, err error) {
	d := c.Target.Dialect
	tt := c.Tokens
	tx, err := c.Pool.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("restore %s: %w", tt.Table, err)
	}
	defer tx.Rollback()
	present := map[string]bool{}
	for i := 0; i < len(rows); i += d.MaxInList {
		chunk := make([]any, 0, d.MaxInList)
		for _, r := range rows[i:min(i+d.MaxInList, len(rows))] {
			chunk = append(chunk, r[keyIdx])
		}
		q, args := d.Select(tt.Table, db.SelectSpec{Columns: []string{tt.Key}, Where: []db.Cond{db.In(tt.Key, chunk...)}})
		res, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return 0, 0, fmt.Errorf("restore %s: %w", tt.Table, err)
		}
		dest := db.ScanTarget(keyKind)
		for res.Next() {
			if err := res.Scan(dest); err != nil {
				res.Close()
				return 0, 0, fmt.Errorf("restore %s: %w", tt.Table, err)
			}
			s, _ := db.Text(dest)
			present[s] = true
		}
		res.Close()
		if err := res.Err(); err != nil {
			return 0, 0, fmt.Errorf("restore %s: %w", tt.Table, err)
		}
	}
	var args []any
	n := 0
	for i, r := range rows {
		if present[keys[i]] {
			skipped++
			continue
		}
		// A key twice in one file (a batch retried after a checkpoint) goes in once.
		present[keys[i]] = true
		args = append(args, r...)
		n++
	}
	if n > 0 {
		if _, err := tx.ExecContext(ctx, d.Insert(tt.Table, cols, n), args...); err != nil {
			return 0, 0, fmt.Errorf("restore %s: insert: %w", tt.Table, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("restore %s: commit: %w", tt.Table, err)
	}
	return int64(n), skipped, nil
}
