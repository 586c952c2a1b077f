// Package backup owns reauth's backup files: their format, writing them so that a process
// killed at any instant leaves a verifiable file, and reading and verifying them for restore.
//
// A backup is a text file of JSON lines:
//
//	{"reauth_backup":{...manifest...}}           what, where, when, columns and their types
//	["10100","2026-11-23T10:00:00Z","tok",...]   one line per row, values as text, null for NULL
//	{"checkpoint":{"rows":500,"sha256":"..."}}   after each batch, before that batch is deleted
//	{"end":{"rows":1200,"sha256":"..."}}         once every batch is done
//
// Each checkpoint and the end line carry the SHA-256 of every byte before them. A file is
// written as NAME.partial and renamed to NAME once complete. A complete file must verify to its
// end line; a .partial file, left by a killed run, is good up to its last checkpoint: the rows
// after it belong to a batch whose delete never committed, so they are still in the table.
package backup

import (
	"errors"
	"fmt"
	"time"

	"github.com/reauth/reauth/db"
)

// FormatVersion is the version of the file format this package writes and reads.
const FormatVersion = 1

// PartialSuffix ends the name of a backup that is still being written, or whose writer died.
const PartialSuffix = ".partial"

// Extension ends every complete backup file name.
const Extension = ".backup.jsonl"

// Manifest describes a backup: enough to restore it and to refuse restoring it anywhere else.
type Manifest struct {
	Format      int         `json:"format"`
	Tool        string      `json:"tool"` // reauth version that wrote it
	Created     time.Time   `json:"created"`
	RunID       string      `json:"run_id"`
	Environment string      `json:"environment"`
	Target      string      `json:"target"`
	Product     string      `json:"product"`
	Dialect     string      `json:"dialect"`
	Database    string      `json:"database"` // db.Source.String(): no password
	Table       db.Table    `json:"table"`
	Key         string      `json:"key"`
	Columns     []db.Column `json:"columns"`
	Scope       string      `json:"scope"`
	// Where are the conditions that chose the rows: every row of the file must satisfy them.
	Where  []db.CondSpec `json:"where,omitempty"`
	Action string        `json:"action"` // "backup" or "clear"
}

// Summary is what a finished or verified backup holds.
type Summary struct {
	Path string `json:"path"`
	Rows int64  `json:"rows"`
	// SHA256 is the hex SHA-256 of the whole file as `sha256sum` prints it; for a .partial file,
	// of the file up to its last checkpoint.
	SHA256 string `json:"sha256"`
	// Partial is set for a .partial file: written by a run that did not finish.
	Partial bool `json:"partial,omitempty"`
}

// Errors a reader returns; each comes wrapped in a *FileError naming the file.
var (
	ErrChecksum  = errors.New("checksum mismatch: the file was changed or damaged after it was written")
	ErrTruncated = errors.New("file is truncated: it has no end line")
	ErrFormat    = errors.New("not a reauth backup file")
)

// FileError reports a backup file that cannot be used.
type FileError struct {
	Path string
	Line int // 0 when not about a line
	Err  error
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("backup %s: line %d: %v", e.Path, e.Line, e.Err)
	}
	return fmt.Sprintf("backup %s: %v", e.Path, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

type manifestLine struct {
	Manifest *Manifest `json:"reauth_backup"`
}

type mark struct {
	Rows   int64  `json:"rows"`
	SHA256 string `json:"sha256"`
}

type controlLine struct {
	Checkpoint *mark `json:"checkpoint,omitempty"`
	End        *mark `json:"end,omitempty"`
}

func (m *Manifest) validate() error {
	switch {
	case m.Format != FormatVersion:
		return fmt.Errorf("format version %d; this reauth reads version %d", m.Format, FormatVersion)
	case m.Target == "" || m.Product == "" || m.Table.Name == "":
		return errors.New("manifest lacks target, product or table")
	case m.Key == "":
		return errors.New("manifest lacks the key column")
	case len(m.Columns) == 0:
		return errors.New("manifest lists no columns")
	}
	if _, err := db.Lookup(m.Dialect); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	hasKey := false
	for _, c := range m.Columns {
		if !db.ValidKind(c.Kind) {
			return fmt.Errorf("manifest: column %q has unknown kind %q", c.Name, c.Kind)
		}
		if c.Name == m.Key {
			hasKey = true
		}
	}
	if !hasKey {
		return fmt.Errorf("manifest: key column %q is not among the columns", m.Key)
	}
	return nil
}

// KeyIndex is the position of the key column among Columns.
func (m Manifest) KeyIndex() int {
	for i, c := range m.Columns {
		if c.Name == m.Key {
			return i
		}
	}
	return -1
}
