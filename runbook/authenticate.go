package runbook

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/reauth/reauth/backup"
)

// ErrUnlogged marks a backup that the audit log does not show reauth writing.
var ErrUnlogged = errors.New("backup not in the audit log")

// Authenticate checks a backup against the audit log: the run that wrote it must be there, as a
// backup or clear of the target the manifest names, and where that run recorded the file's
// SHA-256, it must be this file's. A file made or changed by hand is refused even when it is
// consistent in itself. A run killed before it could record the checksum leaves only its start
// line, which is enough.
func (c *Config) Authenticate(m backup.Manifest, sum backup.Summary) error {
	f, err := os.Open(c.AuditLog)
	if err != nil {
		return fmt.Errorf("%w: cannot read the audit log %s (%v): restore with --unlogged if you trust the file", ErrUnlogged, c.AuditLog, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	started := false
	var sums []string
	for sc.Scan() {
		var e AuditEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.RunID != m.RunID || e.Target != m.Target || (e.Action != "backup" && e.Action != "clear") {
			continue
		}
		started = true
		if e.SHA256 != "" {
			sums = append(sums, e.SHA256)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("audit log %s: %w", c.AuditLog, err)
	}
	if !started {
		return fmt.Errorf("%w: no backup or clear of target %s by run %s is in %s: reauth did not write this file here (restore with --unlogged if you trust it, for instance after moving to another jump host)", ErrUnlogged, m.Target, m.RunID, c.AuditLog)
	}
	if len(sums) > 0 && !sum.Partial && !slices.Contains(sums, sum.SHA256) {
		return fmt.Errorf("%w: the audit log %s records run %s writing this backup with sha256 %s, and the file's is %s: it was changed", ErrUnlogged, c.AuditLog, m.RunID, sums[len(sums)-1], sum.SHA256)
	}
	return nil
}
