package tokens

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

// Counts is what a target's token table holds: every row a scope could take (rows the product
// table says to keep, such as Crowd's application sessions, are not counted), and those in scope.
type Counts struct {
	Total   int64 `json:"tokens"`
	InScope int64 `json:"in_scope"`
}

// Count counts the table's rows, all and in scope. Where the table has rows to keep, the plan
// is told how many and why.
func (c *Conn) Count(ctx context.Context, s Scope) (Counts, error) {
	conds, err := c.conditions(ctx, s)
	if err != nil {
		return Counts{}, err
	}
	var n Counts
	d := c.Target.Dialect
	q, args := d.Count(c.Tokens.Table, c.keep()...)
	if err := c.Pool.QueryRowContext(ctx, q, args...).Scan(&n.Total); err != nil {
		return Counts{}, fmt.Errorf("count %s: %w", c.Tokens.Table, err)
	}
	if c.Tokens.Keep != "" {
		var all int64
		q, args := d.Count(c.Tokens.Table)
		if err := c.Pool.QueryRowContext(ctx, q, args...).Scan(&all); err != nil {
			return Counts{}, fmt.Errorf("count %s: %w", c.Tokens.Table, err)
		}
		if all > n.Total {
			c.note(fmt.Sprintf("%d rows with %s = %d are left alone: %s", all-n.Total, c.Tokens.Keep, c.Tokens.KeepValue, c.Target.Product.Tokens.Keep.Why))
		}
	}
	n.InScope = n.Total
	if len(conds) > len(c.keep()) {
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
	// LockedReads reads and locks each batch before deleting it even where the server can
	// delete and return a batch in one statement (MariaDB's DELETE ... RETURNING).
	LockedReads bool
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

func (c *Conn) manifest(o ClearOptions, action string, conds []db.Cond) backup.Manifest {
	where := make([]db.CondSpec, len(conds))
	for i, cd := range conds {
		where[i] = cd.Spec()
	}
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
		Where:       where,
		Action:      action,
	}
}

// Backup writes the rows in scope to a backup file and deletes nothing. The rows are read in one
// consistent snapshot where the database offers one.
func (c *Conn) Backup(ctx context.Context, o ClearOptions) (ClearResult, error) {
	res := ClearResult{Target: c.Target.Name, Table: c.Tokens.Table.String()}
	conds, err := c.conditions(ctx, o.Scope)
	if err != nil {
		return res, err
	}
	w, err := backup.Create(o.Path, c.manifest(o, "backup", conds))
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
	conn, err := c.Pool.Conn(ctx)
	if err != nil {
		return fmt.Errorf("backup %s: %w", c.Tokens.Table, err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: d.Isolation, ReadOnly: d.Name == "postgres"})
	if err != nil {
		return fmt.Errorf("backup %s: %w", c.Tokens.Table, err)
	}
	defer tx.Rollback()
	q, args := d.Select(c.Tokens.Table, db.SelectSpec{Columns: c.Tokens.ColumnNames(), Where: conds, OrderBy: c.Tokens.Key})
	var werr error // from the writer, not the database
	err = db.ReadText(ctx, conn, tx, d, c.Tokens.Columns, q, args, func(values [][]byte) error {
		if werr = w.RowBytes(values); werr != nil {
			return werr
		}
		if progress != nil && w.Rows()%10000 == 0 {
			progress(w.Rows())
		}
		return nil
	})
	if werr != nil {
		return werr
	}
	if err != nil {
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
// neither backed up nor deleted. Where the server returns the rows a DELETE deletes (MariaDB),
// the batch is deleted first and the transaction commits only once its rows returned are in
// the backup, made durable: see clearReturning.
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
	// The first batch has no delete to overlap with: it starts small, and each batch doubles
	// up to the batch size.
	size := min(batch, firstBatch)
	w, err := backup.Create(o.Path, c.manifest(o, "clear", conds))
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
	//
	// With row locks, the next batch's read must wait for this batch's delete if the delete
	// looks past the batch's rows: InnoDB's range delete locks the first row past its range
	// while it looks at it, and the next batch holds that row. In a snapshot nothing is locked,
	// and the two overlap. So they do where the dialect can delete a batch in key order no
	// further than its own rows (DeleteFirst), when the batches take every row: conditions of
	// a scope could steer that delete to another index, through rows of the next batch.
	d := c.Target.Dialect
	if pi, ok := c.byPages(ctx, conds); ok {
		if err := c.clearPages(ctx, o, pi, batch, w, &res); err != nil {
			return res, err
		}
		return c.finishClear(w, res)
	}
	returning, err := c.deletesReturning(ctx, o)
	if err != nil {
		return res, err
	}
	var hold *purgeHold
	if d.DeferPurge {
		hold = c.holdPurge(ctx)
		defer hold.release()
	}
	if returning {
		if err := c.clearReturning(ctx, o, conds, batch, w, hold, &res); err != nil {
			return res, err
		}
		return c.finishClear(w, res)
	}
	ordered := d.Delete == db.DeleteLocked && d.OrderedDelete && len(conds) == 0
	overlap := d.Delete == db.DeleteInSnapshot || ordered
	p := c.pipeline(w, &res, o.Progress)
	defer p.wait()
	var (
		last   any // the key the next batch starts after
		byKeys bool
	)
	// redo runs a batch that failed and rolled back again, from where it began, by its keys if
	// its range changed.
	redo := func(b *keyBatch, berr error) error {
		last = b.after
		if errors.Is(berr, errRangeChanged) && !b.byKeys {
			byKeys = true
			return p.rewind(b)
		}
		return p.redo(ctx, b, berr)
	}
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		mark := w.Mark()
		var (
			b    *keyBatch
			rerr error
		)
		if overlap || p.inflight == nil {
			b, rerr = c.readBatch(ctx, conds, last, size, byKeys, w)
		}
		if p.inflight != nil {
			prev, again, err := p.land(batchOrNil(b))
			if err != nil {
				return res, err
			}
			if again != nil {
				if err := redo(prev.(*keyBatch), again); err != nil {
					return res, err
				}
				continue
			}
			hold.renew(ctx)
			byKeys = false
			if !overlap {
				b, rerr = c.readBatch(ctx, conds, last, size, byKeys, w)
			}
		}
		if rerr != nil {
			if err := redo(&keyBatch{txBatch: txBatch{mark: mark}, after: last, byKeys: byKeys}, rerr); err != nil {
				return res, err
			}
			continue
		}
		if b.n == 0 {
			b.rollback()
			break
		}
		size = min(2*size, batch)
		b.ordered = ordered && !b.byKeys
		p.send(ctx, b)
		if last, err = db.Value(c.keyKind(), b.lastKey); err != nil {
			return res, fmt.Errorf("clear %s: key %w", c.Tokens.Table, err)
		}
	}
	return c.finishClear(w, res)
}

// finishClear finishes the backup of a clear that went through.
func (c *Conn) finishClear(w *backup.Writer, res ClearResult) (ClearResult, error) {
	sum, err := w.Finish()
	if err != nil {
		return res, err
	}
	res.BackedUp, res.Backup, res.SHA256 = sum.Rows, sum.Path, sum.SHA256
	return res, nil
}

// keyIndex is the position of the key among the table's columns.
func keyIndex(tt *TokenTable) int {
	for i, col := range tt.Columns {
		if col.Name == tt.Key {
			return i
		}
	}
	return 0
}

// purgeHold is a read view held open while a clear runs, so that the database purges the rows
// deleted by its batches after it rather than beside it (see db.Dialect.DeferPurge). It takes no
// lock and reads one key: it never blocks anyone. It is renewed every purgeHoldFor, so that
// the purge of the whole server is never held back longer than that, and released at the end
// (or by the server, if the process dies). It only speeds the clear up: when it cannot be had,
// the clear runs without it.
type purgeHold struct {
	c     *Conn
	conn  *sql.Conn
	tx    *sql.Tx
	since time.Time
}

// purgeHoldFor bounds how long one read view holds the purge back.
const purgeHoldFor = 10 * time.Second

func (c *Conn) holdPurge(ctx context.Context) *purgeHold {
	h := &purgeHold{c: c}
	h.take(ctx)
	return h
}

func (h *purgeHold) take(ctx context.Context) {
	conn, err := h.c.Pool.Conn(ctx)
	if err != nil {
		return
	}
	// A consistent read in REPEATABLE READ opens the read view, which lasts until the
	// transaction ends.
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		conn.Close()
		return
	}
	tt := h.c.Tokens
	q, args := h.c.Target.Dialect.Select(tt.Table, db.SelectSpec{Columns: []string{tt.Key}, OrderBy: tt.Key, Limit: 1})
	var key sql.NullString
	if err := tx.QueryRowContext(ctx, q, args...).Scan(&key); err != nil && !errors.Is(err, sql.ErrNoRows) {
		tx.Rollback()
		conn.Close()
		return
	}
	h.conn, h.tx, h.since = conn, tx, time.Now()
}

func (h *purgeHold) release() {
	if h != nil && h.tx != nil {
		h.tx.Rollback()
		h.conn.Close()
		h.conn, h.tx = nil, nil
	}
}

// renew takes a new read view once the one held is purgeHoldFor old. A nil hold does nothing.
func (h *purgeHold) renew(ctx context.Context) {
	if h != nil && h.tx != nil && time.Since(h.since) >= purgeHoldFor {
		h.release()
		h.take(ctx)
	}
}

func (c *Conn) keyKind() db.Kind {
	col, _ := c.Tokens.column(c.Tokens.Key)
	return col.Kind
}

// firstBatch is the size of a clear's first batch, when its batches are larger.
const firstBatch = 5000

// retry decides on a batch that failed and rolled back: it returns err if the batch is not to
// be tried again (the error is not one a concurrent transaction causes, or it came maxAttempts
// times, maxLockWaits for a lock wait that ran out), else counts the retry and waits a little
// longer each time.
func retry(ctx context.Context, err error, attempts *int, res *ClearResult) error {
	*attempts++
	limit := maxAttempts
	if db.LockWaitTimedOut(err) {
		limit = maxLockWaits
	}
	if !db.Retryable(err) || *attempts >= limit {
		return err
	}
	res.Retries++
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(*attempts) * 100 * time.Millisecond):
	}
	return nil
}

// maxAttempts bounds how often a batch that a concurrent transaction aborted is tried: a
// serialization failure or a deadlock costs little, and a table the product writes to busily
// can abort a batch several times in a row. maxLockWaits bounds the tries that each waited for
// a lock until the wait ran out (db.LockTimeout, 50 s).
const (
	maxAttempts  = 10
	maxLockWaits = 3
)

// errRangeChanged: rows were inserted into a locked batch's key range between its read and its
// delete. Not a failure: the batch runs again, deleting by its list of keys.
var errRangeChanged = errors.New("rows were inserted into the batch's key range")

// txBatch is one batch's connection and open transaction, and where the batch stands in the
// backup file. Each clear strategy's batch type embeds it.
type txBatch struct {
	conn *sql.Conn // the connection tx holds, given back once tx ends
	tx   *sql.Tx
	n    int         // rows in the batch
	mark backup.Mark // the backup file before this batch
	end  backup.Mark // the backup file after this batch's checkpoint
}

// rollback ends the batch's transaction, undoing it, and gives its connection back.
func (b *txBatch) rollback() {
	b.tx.Rollback()
	b.conn.Close()
}

// commit ends the batch's transaction and gives its connection back.
func (b *txBatch) commit() error {
	err := b.tx.Commit()
	b.conn.Close()
	return err
}

func (b *txBatch) base() *txBatch { return b }

// keyBatch is a batch of a clear by key: the first rows in scope above a key, in key order.
type keyBatch struct {
	txBatch
	after   any       // the key this batch starts after; nil for the first
	conds   []db.Cond // scope and key > after
	lastKey string
	keys    []any // the batch's keys, when it is deleted by them
	byKeys  bool
	ordered bool // deleted with DeleteFirst
}

// pageBatch is a batch of a clear by pages (clearPages): the rows stored in pages [lo, hi) of
// the table's file, or every row for -1, -1.
type pageBatch struct {
	txBatch
	lo, hi int64
	from   int64 // where the clear goes on from if the batch runs again
}

type batchResult struct {
	committing bool // the error came from COMMIT: its outcome is unknown
	err        error
}

// batch is a batch read, backed up and checkpointed, with its transaction open, that a
// pipeline deletes.
type batch interface {
	base() *txBatch
	// delete deletes the batch's rows, checks that they are the rows backed up, and commits;
	// on any error but a failed COMMIT it rolls back.
	delete(ctx context.Context, c *Conn) batchResult
}

// batchOrNil keeps a nil *keyBatch or *pageBatch from becoming a non-nil batch.
func batchOrNil[B interface {
	*keyBatch | *pageBatch
	batch
}](b B) batch {
	if b == nil {
		return nil
	}
	return b
}

// pipeline runs a clear's deletes, one batch in flight at a time beside the reading of the
// next: while batch k is deleted and committed on its connection, batch k+1 is read and
// written to the backup on another. The backup holds batch k, checkpointed, before its delete
// starts.
type pipeline struct {
	c        *Conn
	w        *backup.Writer
	res      *ClearResult
	progress func(int64)
	attempts int // tries of the batch being redone
	inflight batch
	done     chan batchResult
}

func (c *Conn) pipeline(w *backup.Writer, res *ClearResult, progress func(int64)) *pipeline {
	return &pipeline{c: c, w: w, res: res, progress: progress, done: make(chan batchResult, 1)}
}

// send starts deleting b.
func (p *pipeline) send(ctx context.Context, b batch) {
	p.inflight = b
	go func() { p.done <- b.delete(ctx, p.c) }()
}

// wait lands the batch in flight, if any, when the clear returns early (interrupted): a clear
// never leaves a delete running behind it. A batch that committed is counted; one that rolled
// back (as an interrupt makes it) is cut from the backup, which holds only rows deleted. If
// that cut fails, its rows stay in the backup: a restore skips rows that are in the table.
func (p *pipeline) wait() {
	if p.inflight == nil {
		return
	}
	prev, again, _ := p.land(nil)
	if again != nil {
		p.rewind(prev)
	}
}

// land waits for the batch in flight. Deleted and committed, it is counted. Otherwise next, the
// batch read meanwhile (or nil), is rolled back, and either the batch rolled back too and comes
// back with again, to be run again, or its COMMIT failed and err ends the clear: its outcome is
// unknown, so its rows stay in the backup.
func (p *pipeline) land(next batch) (prev batch, again, err error) {
	r := <-p.done
	prev, p.inflight = p.inflight, nil
	if r.err == nil {
		p.res.Deleted += int64(prev.base().n)
		p.res.Batches++
		p.attempts = 0
		if p.progress != nil {
			p.progress(p.res.Deleted)
		}
		return prev, nil, nil
	}
	if next != nil {
		next.base().rollback()
	}
	if r.committing {
		if rerr := p.w.Rewind(prev.base().end); rerr != nil {
			return prev, nil, errors.Join(r.err, rerr)
		}
		return prev, nil, r.err
	}
	return prev, r.err, nil
}

// rewind cuts the backup back to before b: b, and anything read after it, rolled back.
func (p *pipeline) rewind(b batch) error {
	return p.w.Rewind(b.base().mark)
}

// redo decides on a batch that failed and rolled back: the backup loses it, and it is run again
// unless its error is not one a concurrent transaction causes, or came too often (see retry).
func (p *pipeline) redo(ctx context.Context, b batch, berr error) error {
	if rerr := p.rewind(b); rerr != nil {
		return errors.Join(berr, rerr)
	}
	return retry(ctx, berr, &p.attempts, p.res)
}

// readBatch opens a transaction, reads the first `limit` rows in scope with keys above after,
// in key order (locking them, where the dialect deletes locked rows), writes them to the
// backup and checkpoints it. On error the transaction is rolled back; the caller rewinds the
// backup. A batch of 0 rows comes back with its transaction open, for the caller to end.
func (c *Conn) readBatch(ctx context.Context, scope []db.Cond, after any, limit int, byKeys bool, w *backup.Writer) (b *keyBatch, err error) {
	d := c.Target.Dialect
	tt := c.Tokens
	b = &keyBatch{txBatch: txBatch{mark: w.Mark()}, after: after, byKeys: byKeys, conds: append([]db.Cond(nil), scope...)}
	if after != nil {
		b.conds = append(b.conds, db.Greater(tt.Key, after))
	}
	if err := c.begin(ctx, &b.txBatch); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			b.rollback()
		}
	}()
	q, args := d.Select(tt.Table, db.SelectSpec{
		Columns: tt.ColumnNames(), Where: b.conds, OrderBy: tt.Key, Limit: limit,
		Lock: d.Delete == db.DeleteLocked,
	})
	key := keyIndex(tt)
	kk := c.keyKind()
	var (
		lastKey []byte
		ferr    error // from the writer or a key, not the database
	)
	err = db.ReadText(ctx, b.conn, b.tx, d, tt.Columns, q, args, func(values [][]byte) error {
		if ferr = w.RowBytes(values); ferr != nil {
			return ferr
		}
		k := values[key]
		if k == nil {
			ferr = fmt.Errorf("clear %s: a row has a NULL key column %s", tt.Table, tt.Key)
			return ferr
		}
		lastKey = append(lastKey[:0], k...)
		if byKeys {
			var v any
			if v, ferr = db.Value(kk, string(k)); ferr != nil {
				return ferr
			}
			b.keys = append(b.keys, v)
		}
		b.n++
		return nil
	})
	if ferr != nil {
		return nil, ferr
	}
	if err != nil {
		return nil, fmt.Errorf("clear %s: read batch: %w", tt.Table, err)
	}
	b.lastKey = string(lastKey)
	if err := b.checkpoint(w); err != nil {
		return nil, err
	}
	return b, nil
}

// begin gives b a connection of its own (for db.ReadText, which reads through the driver's
// connection) and opens its transaction.
func (c *Conn) begin(ctx context.Context, b *txBatch) (err error) {
	if b.conn, err = c.Pool.Conn(ctx); err != nil {
		return fmt.Errorf("clear %s: %w", c.Tokens.Table, err)
	}
	if b.tx, err = b.conn.BeginTx(ctx, &sql.TxOptions{Isolation: c.Target.Dialect.Isolation}); err != nil {
		b.conn.Close()
		return fmt.Errorf("clear %s: %w", c.Tokens.Table, err)
	}
	return nil
}

// checkpoint makes the batch's rows, written to w, durable and verifiable before anything is
// deleted. A batch of no rows has nothing to checkpoint.
func (b *txBatch) checkpoint(w *backup.Writer) error {
	if b.n == 0 {
		return nil
	}
	if err := w.Checkpoint(); err != nil {
		return err
	}
	b.end = w.Mark()
	return nil
}

// delete deletes a batch that readBatch backed up, by its key range or by its keys.
func (b *keyBatch) delete(ctx context.Context, c *Conn) batchResult {
	d := c.Target.Dialect
	tt := c.Tokens
	var deleted int64
	if !b.byKeys {
		lk, err := db.Value(c.keyKind(), b.lastKey)
		if err != nil {
			return b.fail(err)
		}
		conds := append(b.conds, db.AtMost(tt.Key, lk))
		q, args := d.DeleteWhere(tt.Table, conds...)
		if b.ordered {
			q, args = d.DeleteFirst(tt.Table, tt.Key, b.n, conds...)
		}
		r, err := b.tx.ExecContext(ctx, q, args...)
		if err != nil {
			return b.fail(fmt.Errorf("clear %s: delete batch: %w", tt.Table, err))
		}
		deleted, _ = r.RowsAffected()
		if b.ordered && deleted == int64(b.n) {
			// The delete took the range's first n rows in key order; the batch's own n rows
			// are locked and still in the range. If it took any other (inserted into the range
			// since the batch was read), it stopped before the batch's last row, the range's
			// last: that row is deleted if and only if the rows deleted are the batch's.
			q, args := d.Select(tt.Table, db.SelectSpec{Columns: []string{tt.Key}, Where: []db.Cond{db.In(tt.Key, lk)}})
			var left sql.NullString
			switch err := b.tx.QueryRowContext(ctx, q, args...).Scan(&left); {
			case err == nil:
				deleted = -1 // not the batch's rows
			case !errors.Is(err, sql.ErrNoRows):
				return b.fail(fmt.Errorf("clear %s: delete batch: %w", tt.Table, err))
			}
		}
		if deleted != int64(b.n) && d.Delete == db.DeleteLocked {
			// Rows were inserted into the batch's key range since it was read: the rollback
			// undoes this delete, and the batch runs again by its keys.
			return b.fail(errRangeChanged)
		}
	} else {
		for i := 0; i < len(b.keys); i += d.MaxInList {
			chunk := b.keys[i:min(i+d.MaxInList, len(b.keys))]
			q, args := d.DeleteWhere(tt.Table, db.In(tt.Key, chunk...))
			r, err := b.tx.ExecContext(ctx, q, args...)
			if err != nil {
				return b.fail(fmt.Errorf("clear %s: delete batch: %w", tt.Table, err))
			}
			a, _ := r.RowsAffected()
			deleted += a
		}
	}
	return b.finish(tt, deleted)
}

// fail rolls the batch back and reports err.
func (b *txBatch) fail(err error) batchResult {
	b.rollback()
	return batchResult{err: err}
}

// finish commits a batch whose delete took `deleted` rows if they are exactly the rows backed
// up; otherwise it rolls the batch back.
func (b *txBatch) finish(tt *TokenTable, deleted int64) batchResult {
	if deleted != int64(b.n) {
		return b.fail(fmt.Errorf("clear %s: the delete matched %d rows but %d were backed up: rolled back, nothing of this batch was deleted", tt.Table, deleted, b.n))
	}
	if err := b.commit(); err != nil {
		return batchResult{committing: true, err: fmt.Errorf("clear %s: commit batch (it may or may not have been applied): %w", tt.Table, err)}
	}
	return batchResult{}
}
