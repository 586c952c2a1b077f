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
	// Two batches are in flight at most: while batch k is deleted and committed on one
	// connection, batch k+1 is read and written to the backup on another. Their key ranges are
	// disjoint, and the backup holds batch k (fsynced) before its delete starts.
	var (
		last     any // the key the next batch starts after
		attempts int
		byKeys   bool
		inflight *batchTx
		done     = make(chan batchResult, 1)
	)
	defer func() {
		if inflight != nil {
			<-done // never leave a delete running behind a returned error
		}
	}()
	// redo handles a batch that failed and rolled back: the file loses it (and anything
	// after it), and the loop starts again where it began, by its keys if its range changed.
	redo := func(b *batchTx, berr error) error {
		if rerr := w.Rewind(b.mark); rerr != nil {
			return errors.Join(berr, rerr)
		}
		last = b.after
		if errors.Is(berr, errRangeChanged) && !b.byKeys {
			byKeys = true
			return nil
		}
		attempts++
		if !db.Retryable(berr) || attempts >= maxAttempts {
			return berr
		}
		res.Retries++
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempts) * 100 * time.Millisecond):
		}
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		mark := w.Mark()
		var (
			b    *batchTx
			rerr error
		)
		// With row locks, the next batch's read must wait for this batch's delete: InnoDB's
		// range delete locks the first row past its range while it looks at it, and the next
		// batch holds that row. In a snapshot nothing is locked, and the two overlap.
		overlap := c.Target.Dialect.Delete == db.DeleteInSnapshot
		if overlap || inflight == nil {
			b, rerr = c.readBatch(ctx, conds, last, batch, byKeys, w)
		}
		if inflight != nil {
			r := <-done
			prev := inflight
			inflight = nil
			if r.err != nil {
				if b != nil {
					b.tx.Rollback()
				}
				if r.committing {
					// Its commit's outcome is unknown: it stays in the backup; the batch read
					// meanwhile was rolled back and leaves it.
					if rerr := w.Rewind(prev.end); rerr != nil {
						return res, errors.Join(r.err, rerr)
					}
					return res, r.err
				}
				if err := redo(prev, r.err); err != nil {
					return res, err
				}
				continue
			}
			res.Deleted += int64(prev.n)
			res.Batches++
			attempts, byKeys = 0, false
			if o.Progress != nil {
				o.Progress(res.Deleted)
			}
			if !overlap {
				b, rerr = c.readBatch(ctx, conds, last, batch, byKeys, w)
			}
		}
		if rerr != nil {
			if err := redo(&batchTx{mark: mark, after: last, byKeys: byKeys}, rerr); err != nil {
				return res, err
			}
			continue
		}
		if b.n == 0 {
			b.tx.Rollback()
			break
		}
		inflight = b
		go func() { done <- c.deleteBatch(ctx, b) }()
		if last, err = db.Value(c.keyKind(), b.lastKey); err != nil {
			return res, fmt.Errorf("clear %s: key %w", c.Tokens.Table, err)
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

// errRangeChanged: rows were inserted into a locked batch's key range between its read and its
// delete. Not a failure: the batch runs again, deleting by its list of keys.
var errRangeChanged = errors.New("rows were inserted into the batch's key range")

// batchTx is one batch read and backed up, with its transaction still open.
type batchTx struct {
	tx      *sql.Tx
	n       int
	after   any       // the key this batch starts after; nil for the first
	conds   []db.Cond // scope and key > after
	lastKey string
	keys    []any // the batch's keys, when it is deleted by them
	byKeys  bool
	mark    backup.Mark // the backup file before this batch
	end     backup.Mark // the backup file after this batch's checkpoint
}

type batchResult struct {
	committing bool // the error came from COMMIT: its outcome is unknown
	err        error
}

// readBatch opens a transaction, reads the first `limit` rows in scope with keys above after,
// in key order (locking them, where the dialect deletes locked rows), writes them to the
// backup and checkpoints it. On error the transaction is rolled back; the caller rewinds the
// backup. A batch of 0 rows comes back with its transaction open, for the caller to end.
func (c *Conn) readBatch(ctx context.Context, scope []db.Cond, after any, limit int, byKeys bool, w *backup.Writer) (b *batchTx, err error) {
	d := c.Target.Dialect
	tt := c.Tokens
	b = &batchTx{after: after, byKeys: byKeys, mark: w.Mark(), conds: append([]db.Cond(nil), scope...)}
	if after != nil {
		b.conds = append(b.conds, db.Greater(tt.Key, after))
	}
	if b.tx, err = c.Pool.BeginTx(ctx, &sql.TxOptions{Isolation: d.Isolation}); err != nil {
		return nil, fmt.Errorf("clear %s: %w", tt.Table, err)
	}
	defer func() {
		if err != nil {
			b.tx.Rollback()
		}
	}()
	q, args := d.Select(tt.Table, db.SelectSpec{
		Columns: tt.ColumnNames(), Where: b.conds, OrderBy: tt.Key, Limit: limit,
		Lock: d.Delete == db.DeleteLocked,
	})
	rows, err := b.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("clear %s: read batch: %w", tt.Table, err)
	}
	defer rows.Close()
	rr := newRowReader(tt)
	kk := c.keyKind()
	for rows.Next() {
		if err := rr.scan(rows); err != nil {
			return nil, fmt.Errorf("clear %s: read batch: %w", tt.Table, err)
		}
		if err := w.Row(rr.values); err != nil {
			return nil, err
		}
		if rr.values[rr.key] == nil {
			return nil, fmt.Errorf("clear %s: a row has a NULL key column %s", tt.Table, tt.Key)
		}
		b.lastKey = *rr.values[rr.key]
		if byKeys {
			k, err := db.Value(kk, b.lastKey)
			if err != nil {
				return nil, err
			}
			b.keys = append(b.keys, k)
		}
		b.n++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clear %s: read batch: %w", tt.Table, err)
	}
	rows.Close()
	if b.n == 0 {
		return b, nil
	}
	// The batch is on disk and verifiable before anything is deleted.
	if err := w.Checkpoint(); err != nil {
		return nil, err
	}
	b.end = w.Mark()
	return b, nil
}

// deleteBatch deletes a batch that readBatch backed up and commits. The delete must match
// exactly the rows backed up; otherwise, and on any error but a failed COMMIT, the transaction
// is rolled back.
func (c *Conn) deleteBatch(ctx context.Context, b *batchTx) batchResult {
	d := c.Target.Dialect
	tt := c.Tokens
	fail := func(err error) batchResult {
		b.tx.Rollback()
		return batchResult{err: err}
	}
	var deleted int64
	if !b.byKeys {
		lk, err := db.Value(c.keyKind(), b.lastKey)
		if err != nil {
			return fail(err)
		}
		q, args := d.DeleteWhere(tt.Table, append(b.conds, db.AtMost(tt.Key, lk))...)
		r, err := b.tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fail(fmt.Errorf("clear %s: delete batch: %w", tt.Table, err))
		}
		deleted, _ = r.RowsAffected()
		if deleted != int64(b.n) && d.Delete == db.DeleteLocked {
			// Rows were inserted into the batch's key range since it was read: the rollback
			// undoes this delete, and the batch runs again by its keys.
			return fail(errRangeChanged)
		}
	} else {
		for i := 0; i < len(b.keys); i += d.MaxInList {
			chunk := b.keys[i:min(i+d.MaxInList, len(b.keys))]
			q, args := d.DeleteWhere(tt.Table, db.In(tt.Key, chunk...))
			r, err := b.tx.ExecContext(ctx, q, args...)
			if err != nil {
				return fail(fmt.Errorf("clear %s: delete batch: %w", tt.Table, err))
			}
			a, _ := r.RowsAffected()
			deleted += a
		}
	}
	if deleted != int64(b.n) {
		return fail(fmt.Errorf("clear %s: the delete matched %d rows but %d were backed up: rolled back, nothing of this batch was deleted", tt.Table, deleted, b.n))
	}
	if err := b.tx.Commit(); err != nil {
		return batchResult{committing: true, err: fmt.Errorf("clear %s: commit batch (it may or may not have been applied): %w", tt.Table, err)}
	}
	return batchResult{}
}
