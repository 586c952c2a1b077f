package tokens

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/reauth/reauth/backup"
	"github.com/reauth/reauth/db"
)

// pageInfo is what a clear by pages knows of the table when it starts.
type pageInfo struct {
	pages   int64   // pages in the table's file
	density float64 // rows per page, estimated
}

// minPagesVersion is the first PostgreSQL version with a TID range scan (14): before it, a
// condition on ctid ranges reads the whole table.
const minPagesVersion = 140000

// byPages reports whether a clear of conds goes by pages of the table's file (db.Dialect.Pages),
// and what it needs to: only a clear of every row does, as a scope is found through the
// indexes and may take few rows of many pages.
func (c *Conn) byPages(ctx context.Context, conds []db.Cond) (pageInfo, bool) {
	d := c.Target.Dialect
	if !d.Pages || len(conds) > 0 {
		return pageInfo{}, false
	}
	q, args := d.PagesQuery(c.Tokens.Table)
	var (
		version int64
		pi      pageInfo
		tuples  sql.NullFloat64
	)
	if err := c.Pool.QueryRowContext(ctx, q, args...).Scan(&version, &pi.pages, &tuples); err != nil || version < minPagesVersion {
		return pageInfo{}, false // the clear goes by key, which works everywhere
	}
	pi.density = 50 // a guess, for a table never analysed; the first batch corrects it
	if tuples.Valid && tuples.Float64 > 0 && pi.pages > 0 {
		pi.density = max(tuples.Float64/float64(pi.pages), 1)
	}
	return pi, true
}

// clearPages is Clear for every row of a table, by ranges of pages of its file, each read and
// deleted in one snapshot: the same invariant as by key (the batch is on disk before its delete,
// which must take exactly the rows backed up), with sequential reads.
//
// A row that another transaction inserts or moves (an UPDATE writes a new version elsewhere)
// into pages already cleared is not in those batches; so the last batch, taken once the pages
// the table had at the start are done, is every row left in the table, wherever it is. Rows
// committed after its snapshot are left, as rows inserted during any batch are.
func (c *Conn) clearPages(ctx context.Context, o ClearOptions, pi pageInfo, batch int, w *backup.Writer, res *ClearResult) error {
	var (
		from    int64                    // the next batch's first page
		size    = min(batch, firstBatch) // the rows wanted in the next batch; doubles up to batch
		density = pi.density
	)
	p := c.pipeline(w, res, o.Progress)
	defer p.wait()
	redo := func(b *pageBatch, berr error) error {
		from = b.from
		return p.redo(ctx, b, berr)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		mark := w.Mark()
		// Two batches are in flight at most, as by key: batch k+1's pages are read while batch
		// k is deleted. The last batch reads every row left, batch k's among them until it
		// commits: it waits for it.
		last := from >= pi.pages
		lo, hi := from, min(from+max(int64(float64(size)/density), 1), pi.pages)
		if last {
			lo, hi = -1, -1
		}
		var (
			b    *pageBatch
			rerr error
		)
		if !last || p.inflight == nil {
			b, rerr = c.readPages(ctx, lo, hi, w)
		}
		if p.inflight != nil {
			prev, again, err := p.land(batchOrNil(b))
			if err != nil {
				return err
			}
			if again != nil {
				if err := redo(prev.(*pageBatch), again); err != nil {
					return err
				}
				continue
			}
			if prev.(*pageBatch).lo < 0 {
				return nil // the last batch is done
			}
			if last {
				b, rerr = c.readPages(ctx, lo, hi, w)
			}
		}
		if rerr != nil {
			if err := redo(&pageBatch{txBatch: txBatch{mark: mark}, from: from}, rerr); err != nil {
				return err
			}
			continue
		}
		b.from = from
		if b.n == 0 {
			b.rollback()
			if last {
				return nil
			}
			density = max(density/2, 0.01) // empty pages: look further next time
			from = hi
			continue
		}
		if !last {
			density = float64(b.n) / float64(hi-lo)
			size = min(2*size, batch)
			from = hi
		}
		p.send(ctx, b)
	}
}

// readPages opens a snapshot, reads the rows stored in pages [from, to) (every row, for -1, -1),
// writes them to the backup and checkpoints it, like readBatch.
func (c *Conn) readPages(ctx context.Context, from, to int64, w *backup.Writer) (b *pageBatch, err error) {
	d := c.Target.Dialect
	tt := c.Tokens
	b = &pageBatch{txBatch: txBatch{mark: w.Mark()}, lo: from, hi: to}
	if err := c.begin(ctx, &b.txBatch); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			b.rollback()
		}
	}()
	q, args := d.SelectPages(tt.Table, tt.ColumnNames(), from, to)
	var werr error // from the writer, not the database
	err = db.ReadText(ctx, b.conn, b.tx, d, tt.Columns, q, args, func(values [][]byte) error {
		if werr = w.RowBytes(values); werr != nil {
			return werr
		}
		b.n++
		return nil
	})
	if werr != nil {
		return nil, werr
	}
	if err != nil {
		return nil, fmt.Errorf("clear %s: read batch: %w", tt.Table, err)
	}
	if err := b.checkpoint(w); err != nil {
		return nil, err
	}
	return b, nil
}

// delete deletes the batch's pages.
func (b *pageBatch) delete(ctx context.Context, c *Conn) batchResult {
	tt := c.Tokens
	q, args := c.Target.Dialect.DeletePages(tt.Table, b.lo, b.hi)
	r, err := b.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return b.fail(fmt.Errorf("clear %s: delete batch: %w", tt.Table, err))
	}
	deleted, _ := r.RowsAffected()
	return b.finish(tt, deleted)
}
