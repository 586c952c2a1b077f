package backup

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/reauth/reauth/db"
)

// maxLine bounds one line of a backup file; remember-me rows are a few hundred bytes.
const maxLine = 16 << 20

// Reader reads a backup file that Open has verified from end to end.
type Reader struct {
	path     string
	manifest Manifest
	summary  Summary
}

// Open verifies the whole file (manifest, every row's shape and values, every checkpoint, the
// end line) before returning, so that a caller that restores from it inserts nothing from a
// damaged file. A complete file must verify to its end line. A file whose name ends in
// PartialSuffix is accepted up to its last verified checkpoint.
func Open(path string) (*Reader, error) {
	r := &Reader{path: path}
	partial := strings.HasSuffix(path, PartialSuffix)
	sum, err := r.scan(partial, -1, nil)
	if err != nil {
		return nil, err
	}
	r.summary = sum
	return r, nil
}

// Manifest is the file's manifest.
func (r *Reader) Manifest() Manifest { return r.manifest }

// Summary is what the file holds: for a .partial file, up to its last checkpoint.
func (r *Reader) Summary() Summary { return r.summary }

// Each calls fn for every row that Open verified, in file order. values[i] is the text of
// column i, nil for NULL; fn must not keep values after it returns. The bytes are checked
// against the checksums again as they are read: a file changed after Open fails at the next
// checkpoint, after fn has seen the rows before it.
func (r *Reader) Each(fn func(values []*string) error) error {
	limit := int64(-1)
	if r.summary.Partial {
		limit = r.summary.Rows
	}
	sum, err := r.scan(r.summary.Partial, limit, fn)
	if err != nil {
		return err
	}
	if sum.SHA256 != r.summary.SHA256 {
		return &FileError{Path: r.path, Err: ErrChecksum}
	}
	return nil
}

func (r *Reader) fail(line int, err error) error {
	return &FileError{Path: r.path, Line: line, Err: err}
}

// scan reads the file. With limit >= 0 it stops after delivering that many rows to fn.
func (r *Reader) scan(partial bool, limit int64, fn func([]*string) error) (Summary, error) {
	f, err := os.Open(r.path)
	if err != nil {
		return Summary{}, &FileError{Path: r.path, Err: errors.Unwrap(err)}
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 256<<10)
	sum := sha256.New()
	var (
		lineNo  int
		rows    int64
		good    = Summary{Path: r.path, Partial: partial} // as of the last verified mark
		pending error                                     // a bad line after the last mark
		ended   bool
		kinds   []db.Kind
		values  []*string
	)
	for {
		line, err := readLine(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			return Summary{}, r.fail(lineNo+1, err)
		}
		lineNo++
		complete := bytes.HasSuffix(line, []byte{'\n'})
		body := bytes.TrimSuffix(line, []byte{'\n'})
		if lineNo == 1 {
			if err := r.readManifest(body, complete); err != nil {
				return Summary{}, r.fail(1, err)
			}
			kinds = make([]db.Kind, len(r.manifest.Columns))
			for i, c := range r.manifest.Columns {
				kinds[i] = c.Kind
			}
			sum.Write(line)
			continue
		}
		if ended {
			return Summary{}, r.fail(lineNo, errors.New("data after the end line"))
		}
		switch {
		case !complete:
			pending = r.fail(lineNo, fmt.Errorf("%w: its last line is cut short", ErrTruncated))
		case len(body) > 0 && body[0] == '[':
			if pending != nil {
				break
			}
			values, err = parseRow(body, kinds, values)
			if err != nil {
				pending = r.fail(lineNo, err)
				break
			}
			rows++
			if fn != nil && (limit < 0 || rows <= limit) {
				if err := fn(values); err != nil {
					return Summary{}, err
				}
			}
		case len(body) > 0 && body[0] == '{':
			var c controlLine
			if err := json.Unmarshal(body, &c); err != nil || (c.Checkpoint == nil) == (c.End == nil) {
				pending = r.fail(lineNo, errors.New("unreadable checkpoint or end line"))
				break
			}
			if pending != nil {
				return Summary{}, pending
			}
			m := c.Checkpoint
			if c.End != nil {
				m = c.End
				ended = true
			}
			if m.Rows != rows || m.SHA256 != hex.EncodeToString(sum.Sum(nil)) {
				return Summary{}, r.fail(lineNo, ErrChecksum)
			}
			good.Rows = rows
			good.SHA256 = m.SHA256
			if limit >= 0 && rows >= limit && fn != nil {
				return good, nil
			}
		default:
			pending = r.fail(lineNo, errors.New("unexpected line"))
		}
		sum.Write(line)
	}
	if lineNo == 0 {
		if partial && limit < 0 {
			// Created, and the process stopped before even the manifest reached the disk.
			return Summary{}, r.fail(0, errNoCheckpoint)
		}
		return Summary{}, r.fail(0, fmt.Errorf("%w (the file is empty)", ErrFormat))
	}
	if ended {
		good.SHA256 = hex.EncodeToString(sum.Sum(nil))
		good.Partial = false
		return good, nil
	}
	if !partial {
		if pending != nil {
			return Summary{}, pending
		}
		return Summary{}, r.fail(0, ErrTruncated)
	}
	if limit < 0 && good.SHA256 == "" {
		return Summary{}, r.fail(0, errNoCheckpoint)
	}
	return good, nil
}

// errNoCheckpoint: a .partial file without a checkpoint holds no row that was deleted.
var errNoCheckpoint = errors.New("the run that wrote this file stopped before its first checkpoint: none of its rows were deleted, so there is nothing to restore")

func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			if len(buf) > maxLine {
				return nil, errors.New("line too long")
			}
			line, err = br.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	if err == io.EOF && len(line) > 0 {
		return line, nil
	}
	return line, err
}

func (r *Reader) readManifest(body []byte, complete bool) error {
	var ml manifestLine
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if !complete || dec.Decode(&ml) != nil || ml.Manifest == nil {
		return ErrFormat
	}
	if err := ml.Manifest.validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	r.manifest = *ml.Manifest
	return nil
}

// parseRow decodes one row line and checks that every value is valid for its column's kind.
func parseRow(body []byte, kinds []db.Kind, values []*string) ([]*string, error) {
	values = values[:0]
	if err := json.Unmarshal(body, &values); err != nil {
		return nil, errors.New("unreadable row")
	}
	if len(values) != len(kinds) {
		return nil, fmt.Errorf("row has %d values for %d columns", len(values), len(kinds))
	}
	for i, v := range values {
		if v == nil {
			continue
		}
		if _, err := db.Value(kinds[i], *v); err != nil {
			return nil, fmt.Errorf("column %d: %v", i+1, err)
		}
	}
	return values, nil
}
