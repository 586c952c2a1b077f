package runbook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/reauth/reauth/backup"
	"github.com/reauth/reauth/db"
)

// Counts is what a target's token table holds.
type Counts struct {
	Total   int64 `json:"tokens"`
	InScope int64 `json:"in_scope"`
}

// Count counts the table's rows, all and in scope.
func (c *Conn) Count(ctx context.Context, s Scope) (Counts, error) {
	conds, err := c.conditions(ctx, s)
	if err != nil {
		return Counts{}, err
	}
	var n Counts
	d := c.Target.Dialect
	q, args := d.Count(c.Tokens.Table)
	if err := c.Pool.QueryRowContext(ctx, q, args...).Scan(&n.Total); err != nil {
		return Counts{}, fmt.Errorf("count %s: %w", c.Tokens.Table, err)
	}
	n.InScope = n.Total
	if len(conds) > 0 {
		q, args = d.Count(c.Tokens.Table, conds...)
		if err := c.Pool.QueryRowContext(ctx, q, args...).Scan(&n.InScope); err != nil {
			return Counts{}, fmt.Errorf("count %s: %w", c.Tokens.Table, err)
		}
	}
	return n, nil
}

// ClearOptions controls Backup and Clear.
type ClearOptions struct {
	Scope       Scope
	BatchSize   int    // rows per transaction; the dialect's DefaultBatch when 0
	Path        string // the backup file to write (see backup.Name)
	RunID       string
	Environment string
	Tool        string // reauth version, for the manifest
	// Progress, when set, is called after each batch with the rows done so far.
	Progress func(done int64)
}

// ClearResult is what Backup or Clear did. On error it still tells what was done: rows that
// were deleted are in the backup, which is then finished and verifiable.
type ClearResult struct {
	Target   string `json:"target"`
	Table    string `json:"table"`
	BackedUp int64  `json:"backed_up"`
	Deleted  int64  `json:"deleted"`
	Backup   string `json:"backup"` // path; empty when nothing was written
	SHA256   string `json:"sha256,omitempty"`
	Batches  int    `json:"batches"`
	// Retries counts batches run again after a concurrent transaction (the product's own
	// writes) aborted them.
	Retries int `json:"retries"`
}

func (c *Conn) manifest(o ClearOptions, action string) backup.Manifest {
	return backup.Manifest{
		Tool:        o.Tool,
		Created:     time.Now().UTC(),
		RunID:       o.RunID,
		Environment: o.Environment,
		Target:      c.Target.Name,
		Product:     c.Target.Product.Name,
		Dialect:     c.Target.Dialect.Name,
		Database:    c.Target.Source.String(),
		Table:       c.Tokens.Table,
		Key:         c.Tokens.Key,
		Columns:     c.Tokens.Columns,
		Scope:       o.Scope.String(),
		Action:      action,
	}
}

// rowReader scans rows of the token table into their text forms.
type rowReader struct {
	targets []any
	texts   []string
	values  []*string
	key     int
}

func newRowReader(tt *TokenTable) *rowReader {
	r := &rowReader{
		targets: make([]any, len(tt.Columns)),
		texts:   make([]string, len(tt.Columns)),
		values:  make([]*string, len(tt.Columns)),
	}
	for i, col := range tt.Columns {
		r.targets[i] = db.ScanTarget(col.Kind)
		if col.Name == tt.Key {
			r.key = i
		}
	}
	return r
}

func (r *rowReader) scan(rows *sql.Rows) error {
	if err := rows.Scan(r.targets...); err != nil {
		return err
	}
	for i, t := range r.targets {
		s, ok := db.Text(t)
		if !ok {
			r.values[i] = nil
			continue
		}
		r.texts[i] = s
		r.values[i] = &r.texts[i]
	}
	return nil
}

// Backup writes the rows in scope to a backup file and deletes nothing. The rows are read in one
// consistent snapshot where the database offers one.
func (c *Conn) Backup(ctx context.Context, o ClearOptions) (ClearResult, error) {
	res := ClearResult{Target: c.Target.Name, Table: c.Tokens.Table.String()}
	conds, err := c.conditions(ctx, o.Scope)
	if err != nil {
		return res, err
	}
	w, err := backup.Create(o.Path, c.manifest(o, "backup"))
	if err != nil {
		return res, err
	}
	err = c.readAll(ctx, conds, w, o.Progress)
	if err != nil {
		w.Discard()
		return res, err
	}
	sum, err := w.Finish()
	if err != nil {
		return res, err
	}
	res.BackedUp, res.Backup, res.SHA256, res.Batches = sum.Rows, sum.Path, sum.SHA256, 1
	return res, nil
}

func (c *Conn) readAll(ctx context.Context, conds []db.Cond, w *backup.Writer, progress func(int64)) error {
	d := c.Target.Dialect
	tx, err := c.Pool.BeginTx(ctx, &sql.TxOptions{Isolation: d.Isolation, ReadOnly: d.Name == "postgres"})
	if err != nil {
		return fmt.Errorf("backup %s: %w", c.Tokens.Table, err)
	}
	defer tx.Rollback()
	q, args := d.Select(c.Tokens.Table, db.SelectSpec{Columns: c.Tokens.ColumnNames(), Where: conds, OrderBy: c.Tokens.Key})
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("backup %s: %w", c.Tokens.Table, err)
	}
	defer rows.Close()
	rr := newRowReader(c.Tokens)
	for rows.Next() {
		if err := rr.scan(rows); err != nil {
			return fmt.Errorf("backup %s: %w", c.Tokens.Table, err)
		}
		if err := w.Row(rr.values); err != nil {
			return err
		}
		if progress != nil && w.Rows()%10000 == 0 {
			progress(w.Rows())
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("backup %s: %w", c.Tokens.Table, err)
	}
	if progress != nil {
		progress(w.Rows())
	}
	return nil
}

// Clear backs up and deletes the rows in scope, one batch per transaction: each batch is read
// (and locked, where the delete needs it), written to the backup and made durable with a
// checkpoint, and only then deleted, in the same transaction. If the rows deleted are not
// exactly the rows backed up, the transaction rolls back. Rows inserted by others meanwhile are
// neither backed up nor deleted.
//
// On error after some batches were deleted, the backup is finished up to the last checkpoint
// and the result says how far the work got; nothing is then lost.
func (c *Conn) Clear(ctx context.Context, o ClearOptions) (res ClearResult, err error) {
	res = ClearResult{Target: c.Target.Name, Table: c.Tokens.Table.String()}
	if c.Tokens.Unconfirmed {
		return res, fmt.Errorf("%w: %s", ErrUnconfirmed, strings.Join(c.Tokens.Relied, "; "))
	}
	conds, err := c.conditions(ctx, o.Scope)
	if err != nil {
		return res, err
	}
	batch := o.BatchSize
	if batch <= 0 {
		batch = c.Target.Dialect.DefaultBatch
	}
	w, err := backup.Create(o.Path, c.manifest(o, "clear"))
	if err != nil {
		return res, err
	}
	defer func() {
		if err == nil {
			return
		}
		if !w.Checkpointed() {
			w.Discard()
			return
		}
		// Rows up to the last checkpoint may be deleted: keep them in a finished file, or, if
		// it cannot be finished (a full disk), say which .partial file holds them.
		res.Backup, res.BackedUp, res.SHA256 = w.Durable().Path, w.Durable().Rows, w.Durable().SHA256
		if rerr := w.Rollback(); rerr != nil {
			err = errors.Join(err, rerr)
			return
		}
		sum, ferr := w.Finish()
		if ferr != nil {
			err = errors.Join(err, ferr)
			return
		}
		res.BackedUp, res.Backup, res.SHA256 = sum.Rows, sum.Path, sum.SHA256
	}()
	var last any
	keyKind := c.keyKind()
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		var (
			n       int
			lastKey string
		)
		for attempt := 1; ; attempt++ {
			before := w.Mark()
			var committing bool
			n, lastKey, committing, err = c.clearBatch(ctx, conds, last, batch, w)
			if err == nil {
				break
			}
			if committing {
				// The commit's outcome is unknown: the batch stays in the backup.
				return res, err
			}
			// The batch's transaction rolled back: its rows are all in the table, so they
			// leave the backup too, and a retry writes them once.
			if rerr := w.Rewind(before); rerr != nil {
				return res, errors.Join(err, rerr)
			}
			if !db.Retryable(err) || attempt == maxAttempts {
				return res, err
			}
			res.Retries++
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
			}
		}
		if n == 0 {
			break
		}
		res.Deleted += int64(n)
		res.Batches++
		if o.Progress != nil {
			o.Progress(res.Deleted)
		}
		if last, err = db.Value(keyKind, lastKey); err != nil {
			return res, fmt.Errorf("clear %s: key %w", c.Tokens.Table, err)
		}
		if n < batch {
			break
		}
	}
	sum, err := w.Finish()
	if err != nil {
		return res, err
	}
	res.BackedUp, res.Backup, res.SHA256 = sum.Rows, sum.Path, sum.SHA256
	return res, nil
}

func (c *Conn) keyKind() db.Kind {
	col, _ := c.Tokens.column(c.Tokens.Key)
	return col.Kind
}

// maxAttempts bounds how often a batch that a concurrent transaction aborted is tried.
const maxAttempts = 5

// clearBatch backs up and deletes one batch: the first `limit` rows in scope with keys above
// after, in key order. It returns how many rows it deleted and the last key's text. committing
// is set when the error came from COMMIT, whose outcome is then unknown; on any other error the
// transaction has rolled back.
func (c *Conn) clearBatch(ctx context.Context, scope []db.Cond, after any, limit int, w *backup.Writer) (n int, lastKey string, committing bool, err error) {
	d := c.Target.Dialect
	tt := c.Tokens
	conds := append([]db.Cond(nil), scope...)
	if after != nil {
		conds = append(conds, db.Greater(tt.Key, after))
	}
	tx, err := c.Pool.BeginTx(ctx, &sql.TxOptions{Isolation: d.Isolation})
	if err != nil {
		return 0, "", false, fmt.Errorf("clear %s: %w", tt.Table, err)
	}
	committed := false
	defer func() {
		if !committed {
			tx.Rollback()
		}
	}()
	q, args := d.Select(tt.Table, db.SelectSpec{
		Columns: tt.ColumnNames(), Where: conds, OrderBy: tt.Key, Limit: limit,
		Lock: d.Delete == db.DeleteByKeys,
	})
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, "", false, fmt.Errorf("clear %s: read batch: %w", tt.Table, err)
	}
	rr := newRowReader(tt)
	var keys []any
	kk := c.keyKind()
	for rows.Next() {
		if err := rr.scan(rows); err != nil {
			rows.Close()
			return 0, "", false, fmt.Errorf("clear %s: read batch: %w", tt.Table, err)
		}
		if err := w.Row(rr.values); err != nil {
			rows.Close()
			return 0, "", false, err
		}
		if rr.values[rr.key] == nil {
			rows.Close()
			return 0, "", false, fmt.Errorf("clear %s: a row has a NULL key column %s", tt.Table, tt.Key)
		}
		lastKey = *rr.values[rr.key]
		if d.Delete == db.DeleteByKeys {
			k, err := db.Value(kk, lastKey)
			if err != nil {
				rows.Close()
				return 0, "", false, err
			}
			keys = append(keys, k)
		}
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, "", false, fmt.Errorf("clear %s: read batch: %w", tt.Table, err)
	}
	if n == 0 {
		return 0, "", false, nil
	}
	// The batch is on disk and verifiable before anything is deleted.
	if err := w.Checkpoint(); err != nil {
		return 0, "", false, err
	}
	var deleted int64
	switch d.Delete {
	case db.DeleteBySnapshot:
		lk, err := db.Value(kk, lastKey)
		if err != nil {
			return 0, "", false, err
		}
		q, args := d.DeleteWhere(tt.Table, append(conds, db.AtMost(tt.Key, lk))...)
		r, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return 0, "", false, fmt.Errorf("clear %s: delete batch: %w", tt.Table, err)
		}
		deleted, _ = r.RowsAffected()
	default:
		for i := 0; i < len(keys); i += d.MaxInList {
			chunk := keys[i:min(i+d.MaxInList, len(keys))]
			q, args := d.DeleteWhere(tt.Table, db.In(tt.Key, chunk...))
			r, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return 0, "", false, fmt.Errorf("clear %s: delete batch: %w", tt.Table, err)
			}
			a, _ := r.RowsAffected()
			deleted += a
		}
	}
	if deleted != int64(n) {
		return 0, "", false, fmt.Errorf("clear %s: the delete matched %d rows but %d were backed up: rolled back, nothing of this batch was deleted", tt.Table, deleted, n)
	}
	committed = true // a failed COMMIT is not followed by a ROLLBACK: the outcome is the server's
	if err := tx.Commit(); err != nil {
		return 0, "", true, fmt.Errorf("clear %s: commit batch (it may or may not have been applied): %w", tt.Table, err)
	}
	return n, lastKey, false, nil
}
