package backup

import (
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Writer writes one backup file. Rows go through a buffer; Checkpoint makes everything written
// so far durable and verifiable before the caller deletes those rows.
type Writer struct {
	path string // final name; the file is at path+PartialSuffix until Finish
	f    *os.File
	pend []byte    // bytes written but not yet handed to the file
	sum  hash.Hash // over every byte handed to the file; the writing goroutine's until drained
	err  error     // a failed write: every write fails until Rewind
	// Blocks of pending bytes go to a goroutine of their own that hashes them and writes them
	// to the file, in order, while the next rows are read: a write can wait some milliseconds
	// on a disk that the database is writing to as well. Before anything else touches the file
	// (fsync, truncate, close) or the hash, drain waits until it has done them all.
	blocks  chan []byte // blocks to write; nil asks for a report on drained
	drained chan error  // the first write error since the last report, or nil
	spare   chan []byte // written blocks, for reuse
	stopped bool        // the goroutine has ended (stop)
	ncols   int
	rows    int64 // rows written
	offset  int64 // bytes written, pending ones included
	cp      Mark  // the last checkpoint
}

// flushAt is how many pending bytes are hashed and handed to the file at once.
const flushAt = 256 << 10

// Mark is a position of the file at a checkpoint (or just after the manifest): a failed batch
// is cut off by rewinding to one, and the file can still be finished cleanly.
type Mark struct {
	rows       int64
	offset     int64
	sum        []byte // marshalled hash state
	checkpoint bool   // the mark is a checkpoint line, not the bare manifest
	cpSum      string // that checkpoint's checksum
}

// EnsureDir creates dir 0700 if needed and refuses one that others can read: backups hold
// live login tokens.
func EnsureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("backup dir: %w", err)
	}
	return CheckDir(dir)
}

// CheckDir reports, without creating anything, whether dir could hold backups: it is either
// missing (EnsureDir will create it) or a folder of the user running reauth, closed to other
// users, and not a symbolic link (which another user could point elsewhere).
func CheckDir(dir string) error {
	st, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("backup dir: %w", err)
	case st.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("backup dir %s is a symbolic link: give the folder's real path", dir)
	case !st.IsDir():
		return fmt.Errorf("backup dir %s is not a folder", dir)
	case st.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("backup dir %s is open to other users (mode %04o): run chmod 700 %s", dir, st.Mode().Perm(), dir)
	}
	if owner, ok := ownerOf(st); ok && owner != os.Geteuid() {
		return fmt.Errorf("backup dir %s belongs to user id %d, not to the user running reauth (%d)", dir, owner, os.Geteuid())
	}
	return nil
}

// ownerOf is the user id owning a file, where the system says.
func ownerOf(st fs.FileInfo) (int, bool) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(sys.Uid), true
	}
	return 0, false
}

// Create starts a backup file at path (written as path+PartialSuffix until Finish) and writes
// its manifest. The directory must exist (see EnsureDir).
func Create(path string, m Manifest) (*Writer, error) {
	m.Format = FormatVersion
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("backup %s: %w", path, err)
	}
	f, err := os.OpenFile(path+PartialSuffix, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Stat(path); err == nil {
		f.Close()
		os.Remove(path + PartialSuffix)
		return nil, fmt.Errorf("backup: %s already exists", path)
	}
	w := &Writer{path: path, f: f, pend: newBlock(), sum: sha256.New(), ncols: len(m.Columns),
		blocks: make(chan []byte, 2), drained: make(chan error), spare: make(chan []byte, 4)}
	go w.writeBehind()
	head, err := json.Marshal(manifestLine{&m})
	if err != nil {
		w.discard()
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := w.writeLine(head); err != nil {
		w.discard()
		return nil, err
	}
	// Make the file's existence durable now, so that a crash leaves a visible .partial.
	if err := w.sync(); err != nil {
		w.discard()
		return nil, err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		w.discard()
		return nil, err
	}
	w.cp = Mark{offset: w.offset, sum: w.hashState()}
	return w, nil
}

// Path is the name the file gets once finished.
func (w *Writer) Path() string { return w.path }

// Rows is the number of rows written so far.
func (w *Writer) Rows() int64 { return w.rows }

func (w *Writer) writeLine(b []byte) error {
	if w.err != nil {
		return w.err
	}
	w.pend = append(append(w.pend, b...), '\n')
	w.offset += int64(len(b)) + 1
	return w.flushSome()
}

// flushSome hands the pending bytes to the file once there are enough of them.
func (w *Writer) flushSome() error {
	if len(w.pend) < flushAt {
		return nil
	}
	return w.flush()
}

func newBlock() []byte { return make([]byte, 0, flushAt+4<<10) }

// flush hands the pending bytes to the writing goroutine.
func (w *Writer) flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.pend) == 0 {
		return nil
	}
	if w.stopped {
		return fmt.Errorf("backup %s: the file is closed", w.path)
	}
	w.blocks <- w.pend
	select {
	case b := <-w.spare:
		w.pend = b
	default:
		w.pend = newBlock()
	}
	return nil
}

// writeBehind hashes and writes the blocks handed to it, in order, until blocks is closed. After
// a failed write it writes nothing more until its error is reported.
func (w *Writer) writeBehind() {
	var err error
	for b := range w.blocks {
		if b == nil {
			w.drained <- err
			err = nil
			continue
		}
		if err == nil {
			w.sum.Write(b)
			_, err = w.f.Write(b)
		}
		select {
		case w.spare <- b[:0]:
		default:
		}
	}
}

// drain waits until every block handed over is written, and returns the error of a write that
// failed, which then stays.
func (w *Writer) drain() error {
	if w.stopped {
		return w.err
	}
	w.blocks <- nil
	if err := <-w.drained; err != nil && w.err == nil {
		w.err = fmt.Errorf("backup %s: %w", w.path, err)
	}
	return w.err
}

// stop drains the writing goroutine and ends it: nothing may be written afterwards.
func (w *Writer) stop() error {
	err := w.drain()
	if !w.stopped {
		close(w.blocks)
		w.stopped = true
	}
	return err
}

// Row appends one row. values[i] is the text form of column i (db.Text), nil for NULL. It is
// RowBytes for values held as strings.
func (w *Writer) Row(values []*string) error {
	b := make([][]byte, len(values))
	for i, v := range values {
		if v != nil {
			b[i] = append([]byte{}, *v...) // not nil, even when empty
		}
	}
	return w.RowBytes(b)
}

// RowBytes appends one row: values[i] is the text form of column i, nil for NULL. It keeps
// none of them.
func (w *Writer) RowBytes(values [][]byte) error {
	if len(values) != w.ncols {
		return fmt.Errorf("backup %s: row has %d values for %d columns", w.path, len(values), w.ncols)
	}
	if w.err != nil {
		return w.err
	}
	start := len(w.pend)
	b, bad := appendRow(w.pend, values)
	if bad >= 0 {
		w.pend = b[:start]
		return w.notUTF8(bad)
	}
	w.pend = b
	w.offset += int64(len(b) - start)
	w.rows++
	return w.flushSome()
}

// appendRow appends one row line, or reports with the index of the column that a value is not
// valid UTF-8 (bad is -1 when all are).
func appendRow(b []byte, values [][]byte) (_ []byte, bad int) {
	b = append(b, '[')
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		if v == nil {
			b = append(b, "null"...)
			continue
		}
		var ok bool
		if b, ok = appendString(b, v); !ok {
			return b, i
		}
	}
	return append(b, ']', '\n'), -1
}

// Rows is a batch of rows in the file's form, held in memory until the batch is known to be
// kept: Writer.Append then writes it at once. For a batch whose rows arrive from the database
// before it is known whether they are deleted (a DELETE that returns them), so that a batch
// that fails leaves nothing in the file.
type Rows struct {
	w *Writer
	b []byte
	n int64
}

// NewRows starts an empty batch for w.
func (w *Writer) NewRows() *Rows { return &Rows{w: w} }

// Add appends one row, as RowBytes does.
func (r *Rows) Add(values [][]byte) error {
	if len(values) != r.w.ncols {
		return fmt.Errorf("backup %s: row has %d values for %d columns", r.w.path, len(values), r.w.ncols)
	}
	start := len(r.b)
	b, bad := appendRow(r.b, values)
	if bad >= 0 {
		r.b = b[:start]
		return r.w.notUTF8(bad)
	}
	r.b = b
	r.n++
	return nil
}

// Len is the number of rows in the batch.
func (r *Rows) Len() int64 { return r.n }

// Reset empties the batch, keeping its memory.
func (r *Rows) Reset() { r.b, r.n = r.b[:0], 0 }

// Append writes the rows of r, which must have come from w.NewRows, to the file. r may be
// reused (Reset) once it returns. After an error, as after any failed write, the file takes
// nothing more until Rewind (or Rollback) cuts it back to a checkpoint.
func (w *Writer) Append(r *Rows) error {
	if r.w != w {
		return fmt.Errorf("backup %s: rows of another file", w.path)
	}
	if w.err != nil {
		return w.err
	}
	for rest := r.b; len(rest) > 0; {
		k := min(len(rest), max(flushAt-len(w.pend), 0)+1)
		w.pend = append(w.pend, rest[:k]...)
		rest = rest[k:]
		if err := w.flushSome(); err != nil {
			return err
		}
	}
	w.offset += int64(len(r.b))
	w.rows += r.n
	return nil
}

func (w *Writer) notUTF8(col int) error {
	// JSON cannot carry it unchanged, and a backup that alters a value is not one.
	return fmt.Errorf("backup %s: a value of column %d is not valid UTF-8 text", w.path, col+1)
}

func (w *Writer) endRow(b []byte, start int) error {
	b = append(b, ']', '\n')
	w.pend = b
	w.offset += int64(len(b) - start)
	w.rows++
	return w.flushSome()
}

// appendString appends s as a JSON string, or reports that s is not valid UTF-8 (which JSON
// cannot carry unchanged). Written by hand because the backup of a large table calls it
// millions of times: one pass both checks and escapes, eight plain bytes at a time.
func appendString[T string | []byte](b []byte, s T) ([]byte, bool) {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	if plain(s) {
		return append(append(b, s...), '"'), true
	}
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && plain8(load8(s, i)) {
			i += 8
			continue
		}
		c := s[i]
		if c >= 0x80 {
			n := runeLen(s, i)
			if n == 0 {
				return b, false
			}
			i += n
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"'), true
}

// plain reports whether every byte of s goes into a JSON string as it is: what most values are.
func plain[T string | []byte](s T) bool {
	n := len(s)
	if n < 8 {
		for i := 0; i < n; i++ {
			if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
				return false
			}
		}
		return true
	}
	for i := 0; i+8 < n; i += 8 {
		if !plain8(load8(s, i)) {
			return false
		}
	}
	return plain8(load8(s, n-8)) // the last eight, overlapping the words before
}

// load8 reads s[i:i+8] as a little-endian word.
func load8[T string | []byte](s T, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// plain8 reports whether all eight bytes of x go into a JSON string as they are: none is a
// control character, '"', '\\', DEL or part of a multi-byte character.
func plain8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	hasZero := func(y uint64) uint64 { return (y - ones) &^ y & highs }
	return (x&highs | (x-0x20*ones)&^x&highs | hasZero(x^'"'*ones) | hasZero(x^'\\'*ones) | hasZero(x^0x7f*ones)) == 0
}

// runeLen is the length of the valid UTF-8 encoding of one character that starts at s[i]
// (s[i] >= 0x80), or 0 if there is none: the rules of utf8.Valid.
func runeLen[T string | []byte](s T, i int) int {
	c, n := s[i], len(s)-i
	lo, hi := byte(0x80), byte(0xbf) // the second byte's range
	switch {
	case c >= 0xc2 && c <= 0xdf:
		if n >= 2 && s[i+1]&0xc0 == 0x80 {
			return 2
		}
	case c >= 0xe0 && c <= 0xef:
		if c == 0xe0 {
			lo = 0xa0
		} else if c == 0xed {
			hi = 0x9f // no surrogates
		}
		if n >= 3 && s[i+1] >= lo && s[i+1] <= hi && s[i+2]&0xc0 == 0x80 {
			return 3
		}
	case c >= 0xf0 && c <= 0xf4:
		if c == 0xf0 {
			lo = 0x90
		} else if c == 0xf4 {
			hi = 0x8f // up to U+10FFFF
		}
		if n >= 4 && s[i+1] >= lo && s[i+1] <= hi && s[i+2]&0xc0 == 0x80 && s[i+3]&0xc0 == 0x80 {
			return 4
		}
	}
	return 0
}

// mark waits until everything written is hashed and returns the row count and checksum of everything written.
func (w *Writer) mark() (mark, error) {
	if err := w.flush(); err != nil {
		return mark{}, err
	}
	if err := w.drain(); err != nil {
		return mark{}, err
	}
	return mark{Rows: w.rows, SHA256: hex.EncodeToString(w.sum.Sum(nil))}, nil
}

// Checkpoint writes a checkpoint line and makes the file durable. Only after it returns may the
// rows written so far be deleted.
func (w *Writer) Checkpoint() error {
	m, err := w.mark()
	if err != nil {
		return err
	}
	line, _ := json.Marshal(controlLine{Checkpoint: &m})
	if err := w.writeLine(line); err != nil {
		return err
	}
	if err := w.sync(); err != nil {
		return err
	}
	w.cp = Mark{rows: w.rows, offset: w.offset, sum: w.hashState(), checkpoint: true, cpSum: m.SHA256}
	return nil
}

// Mark returns the position of the last checkpoint, to Rewind to if the next batch fails.
func (w *Writer) Mark() Mark { return w.cp }

// Rollback drops the rows written since the last checkpoint: their batch was not deleted.
func (w *Writer) Rollback() error { return w.Rewind(w.cp) }

// Rewind cuts the file back to m, dropping every row and checkpoint written after it. Only for
// batches whose transaction certainly rolled back: their rows are all still in the table.
func (w *Writer) Rewind(m Mark) error {
	// Whatever is pending is dropped unwritten; a write error goes with it.
	w.pend = w.pend[:0]
	w.drain()
	w.err = nil
	if err := w.f.Truncate(m.offset); err != nil {
		return fmt.Errorf("backup %s: %w", w.path, err)
	}
	if _, err := w.f.Seek(m.offset, 0); err != nil {
		return fmt.Errorf("backup %s: %w", w.path, err)
	}
	if err := w.sum.(encoding.BinaryUnmarshaler).UnmarshalBinary(m.sum); err != nil {
		return fmt.Errorf("backup %s: %w", w.path, err)
	}
	w.rows, w.offset, w.cp = m.rows, m.offset, m
	return w.f.Sync()
}

// Checkpointed reports whether any checkpoint was written, i.e. whether rows of this file may
// have been deleted from the table.
func (w *Writer) Checkpointed() bool { return w.cp.checkpoint }

// Durable is what the file holds for certain if it cannot be finished: its .partial name and
// the row count and checksum of its last checkpoint (what restore will verify).
func (w *Writer) Durable() Summary {
	return Summary{Path: w.path + PartialSuffix, Rows: w.cp.rows, SHA256: w.cp.cpSum, Partial: true}
}

// Finish writes the end line, makes the file durable and gives it its final name.
func (w *Writer) Finish() (Summary, error) {
	m, err := w.mark()
	if err != nil {
		return Summary{}, err
	}
	line, _ := json.Marshal(controlLine{End: &m})
	if err := w.writeLine(line); err != nil {
		return Summary{}, err
	}
	if err := w.sync(); err != nil {
		return Summary{}, err
	}
	w.stop()
	if err := w.f.Close(); err != nil {
		return Summary{}, fmt.Errorf("backup %s: %w", w.path, err)
	}
	if err := os.Rename(w.path+PartialSuffix, w.path); err != nil {
		return Summary{}, fmt.Errorf("backup %s: %w", w.path, err)
	}
	if err := syncDir(filepath.Dir(w.path)); err != nil {
		return Summary{}, err
	}
	return Summary{Path: w.path, Rows: w.rows, SHA256: hex.EncodeToString(w.sum.Sum(nil))}, nil
}

// Discard closes and removes the file. Only for a file none of whose rows were deleted.
func (w *Writer) Discard() error {
	if w.cp.checkpoint {
		return errors.New("backup: refusing to discard a checkpointed backup")
	}
	w.discard()
	return nil
}

func (w *Writer) discard() {
	w.stop()
	w.f.Close()
	os.Remove(w.path + PartialSuffix)
}

func (w *Writer) sync() error {
	if err := w.flush(); err != nil {
		return err
	}
	if err := w.drain(); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("backup %s: fsync: %w", w.path, err)
	}
	return nil
}

func (w *Writer) hashState() []byte {
	st, err := w.sum.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic("sha256 state: " + err.Error()) // crypto/sha256 always marshals
	}
	return st
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("backup dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("backup dir %s: fsync: %w", dir, err)
	}
	return nil
}

// Name builds a backup file name: target, UTC time and run id, so that names sort by time and
// never collide between runs.
func Name(target string, at time.Time, runID string) string {
	return target + "-" + at.UTC().Format("20060102T150405Z") + "-" + runID + Extension
}
