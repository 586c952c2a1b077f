package tokens

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"sync"

	"github.com/reauth/reauth/backup"
	"github.com/reauth/reauth/db"
)

// deletesReturning reports whether this clear deletes its batches with DeleteReturning.
func (c *Conn) deletesReturning(ctx context.Context, o ClearOptions) (bool, error) {
	d := c.Target.Dialect
	if !d.ReturningDelete || o.LockedReads {
		return false, nil
	}
	ok, err := d.DeletesReturning(ctx, c.Pool)
	if err != nil {
		return false, fmt.Errorf("clear %s: %w", c.Tokens.Table, err)
	}
	return ok, nil
}

// returningStreams is how many key ranges a clear of every row by DeleteReturning splits the
// table into, each cleared by its own batches at the same time: InnoDB deletes on one thread
// per statement, and two keep a second core busy.
const returningStreams = 2

// clearReturning is Clear where the server deletes a batch and returns its rows in one
// statement (MariaDB's DELETE ... RETURNING): each batch's transaction deletes the first rows in
// key order, the rows come back and go to the backup, which is checkpointed, and only then does
// the transaction commit. The backup holds by construction exactly the rows deleted; nothing is
// read before the delete, and no row stays locked longer than one statement and an fsync.
//
// A clear of every row splits the key range in two at the middle of its keys; each half is
// cleared by its own batches at the same time, one commit in flight behind each. The lower
// half's last batch looks at the first row of the upper half to see where its range ends; the
// upper half deleted that row in its first batch, long committed by then (else the lower half
// waits for that commit, and no more: the upper half never looks below its range). A scoped
// clear runs one range: its conditions could lead the deletes through another index, across
// both halves, where they could wait on each other.
func (c *Conn) clearReturning(ctx context.Context, o ClearOptions, conds []db.Cond, batch int, w *backup.Writer, hold *purgeHold, res *ClearResult) error {
	ranges := []keyRange{{}}
	if len(conds) == 0 {
		split, err := c.splitKeys(ctx)
		if err != nil {
			return err
		}
		ranges = split
	}
	var (
		mu     sync.Mutex // w, res, o.Progress, hold
		failed error      // the first stream's error: the others stop after their batch
		wg     sync.WaitGroup
	)
	stopped := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return failed != nil
	}
	for _, r := range ranges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &returningStream{c: c, conds: conds, r: r, batch: batch, w: w, mu: &mu, res: res,
				progress: o.Progress, hold: hold, stopped: stopped}
			err := s.run(ctx)
			mu.Lock()
			res.Retries += s.retried.Retries
			if err != nil && failed == nil {
				failed = err
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return failed
}

// keyRange is a range of keys: above lo and up to hi; nil for no bound.
type keyRange struct {
	lo, hi any
}

// splitKeys splits the table's keys into returningStreams ranges at even distances between
// the smallest key and the largest: a remember-me table's keys come from a sequence, and its
// rows are spread along it. One range if the keys are too few or not integers.
func (c *Conn) splitKeys(ctx context.Context) ([]keyRange, error) {
	tt := c.Tokens
	var lo, hi sql.NullString
	if err := c.Pool.QueryRowContext(ctx, c.Target.Dialect.KeyBounds(tt.Table, tt.Key)).Scan(&lo, &hi); err != nil {
		return nil, fmt.Errorf("clear %s: key range: %w", tt.Table, err)
	}
	whole := []keyRange{{}}
	a, okA := new(big.Int).SetString(lo.String, 10)
	b, okB := new(big.Int).SetString(hi.String, 10)
	if !lo.Valid || !hi.Valid || !okA || !okB {
		return whole, nil
	}
	width := new(big.Int).Sub(b, a)
	if width.Cmp(big.NewInt(2*firstBatch)) < 0 {
		return whole, nil
	}
	var ranges []keyRange
	var prev any
	kind := c.keyKind()
	for i := 1; i < returningStreams; i++ {
		at := new(big.Int).Mul(width, big.NewInt(int64(i)))
		at.Quo(at, big.NewInt(returningStreams)).Add(at, a)
		v, err := db.Value(kind, at.String())
		if err != nil {
			return whole, nil
		}
		ranges = append(ranges, keyRange{lo: prev, hi: v})
		prev = v
	}
	return append(ranges, keyRange{lo: prev}), nil
}

// returningStream clears one key range by DeleteReturning batches, one after the other, each
// committed while the next is deleted.
type returningStream struct {
	c        *Conn
	conds    []db.Cond
	r        keyRange
	batch    int
	w        *backup.Writer
	mu       *sync.Mutex // w, res and progress are shared with the other streams
	res      *ClearResult
	progress func(int64)
	hold     *purgeHold
	stopped  func() bool // another stream failed
	retried  ClearResult // its Retries: the batches this stream ran again
}

// returningBatch is one batch deleted, its rows in memory, its transaction open.
type returningBatch struct {
	txBatch // its connection and transaction
	rows    *backup.Rows
	lastKey []byte
}

func (s *returningStream) run(ctx context.Context) (err error) {
	var (
		last     = s.r.lo
		size     = min(s.batch, firstBatch)
		attempts int
		pending  chan error // the batch before, written to the backup and committed meanwhile
	)
	defer func() {
		if pending != nil {
			if cerr := <-pending; cerr != nil && err == nil {
				err = cerr
			}
		}
	}()
	// Two batches' rows: one is written to the backup while the next batch's come in.
	rows := [2]*backup.Rows{s.w.NewRows(), s.w.NewRows()}
	for k := 0; ; {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.stopped() {
			return nil
		}
		b, derr := s.deleteBatch(ctx, last, size, rows[k%2])
		if pending != nil {
			cerr := <-pending
			pending = nil
			if cerr != nil {
				if b != nil {
					b.rollback()
				}
				return cerr
			}
		}
		if derr != nil {
			// Nothing of the batch reached the backup, and its transaction rolled back.
			if err := retry(ctx, derr, &attempts, &s.retried); err != nil {
				return err
			}
			continue
		}
		attempts = 0
		if b.rows.Len() == 0 || s.stopped() {
			b.rollback()
			return nil
		}
		if last, err = db.Value(s.c.keyKind(), string(b.lastKey)); err != nil {
			b.rollback()
			return fmt.Errorf("clear %s: key %w", s.c.Tokens.Table, err)
		}
		size = min(2*size, s.batch)
		k++
		pending = make(chan error, 1)
		go func() { pending <- s.keep(ctx, b) }()
	}
}

// keep writes a deleted batch's rows to the backup, checkpoints it and commits the batch; or, if
// the backup fails, rolls it back. One stream's rows and checkpoint at a time: a checkpoint
// covers only rows whose batches are then committed.
func (s *returningStream) keep(ctx context.Context, b *returningBatch) error {
	n := b.rows.Len()
	s.mu.Lock()
	err := s.w.Append(b.rows)
	if err == nil {
		err = s.w.Checkpoint()
	}
	s.mu.Unlock()
	if err != nil {
		// Clear cuts the file back to its last checkpoint; this batch is not deleted.
		b.rollback()
		return err
	}
	if err := b.commit(); err != nil {
		// Its rows are in the backup, checkpointed, whatever became of it.
		return fmt.Errorf("clear %s: commit batch (it may or may not have been applied): %w", s.c.Tokens.Table, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.res.Deleted += n
	s.res.Batches++
	if s.progress != nil {
		s.progress(s.res.Deleted)
	}
	s.hold.renew(ctx)
	return nil
}

// deleteBatch deletes the first `limit` rows of the stream's range with keys above after, in a
// transaction of its own, and keeps the rows returned in rows (emptied first). On error the
// transaction is rolled back.
func (s *returningStream) deleteBatch(ctx context.Context, after any, limit int, rows *backup.Rows) (b *returningBatch, err error) {
	c := s.c
	d := c.Target.Dialect
	tt := c.Tokens
	conds := append([]db.Cond(nil), s.conds...)
	if after != nil {
		conds = append(conds, db.Greater(tt.Key, after))
	}
	if s.r.hi != nil {
		conds = append(conds, db.AtMost(tt.Key, s.r.hi))
	}
	nb := &returningBatch{rows: rows}
	if err := c.begin(ctx, &nb.txBatch); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			nb.rollback()
		}
	}()
	b = nb
	rows.Reset()
	q, args := d.DeleteReturning(tt.Table, tt.Key, tt.ColumnNames(), limit, conds...)
	key := keyIndex(tt)
	var ferr error // from the encoding or a key, not the database
	err = db.ReadText(ctx, b.conn, b.tx, d, tt.Columns, q, args, func(values [][]byte) error {
		if ferr = rows.Add(values); ferr != nil {
			return ferr
		}
		k := values[key]
		if k == nil {
			ferr = fmt.Errorf("clear %s: a row has a NULL key column %s", tt.Table, tt.Key)
			return ferr
		}
		nb.lastKey = append(nb.lastKey[:0], k...)
		return nil
	})
	if ferr != nil {
		return nil, ferr
	}
	if err != nil {
		return nil, fmt.Errorf("clear %s: delete batch: %w", tt.Table, err)
	}
	return b, nil
}
