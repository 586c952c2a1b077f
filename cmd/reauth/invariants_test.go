package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reauth/reauth/backup"
	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/products/producttest"
)

var dialects = []string{"postgres", "mysql"}

// clearWay is a database and the way reauth clears it: on MariaDB, with DELETE ... RETURNING,
// and, with returningEnv=off, by reading and locking each batch first, as on MySQL.
type clearWay struct {
	name, dialect string
	env           []string // for the reauth process; nil runs it in this one
}

var clearWays = []clearWay{
	{"postgres", "postgres", nil},
	{"mysql", "mysql", nil},
	{"mysql-locked", "mysql", []string{returningEnv + "=off"}},
}

// run runs reauth with the config of e, as a process of its own with the way's environment
// where it has one.
func (w clearWay) run(t testing.TB, e *env, args ...string) result {
	t.Helper()
	if w.env == nil {
		return e.run(t, args...)
	}
	cmd := exec.Command(reauthBinary(t), append([]string{"--config", e.config}, args...)...)
	cmd.Env = append(os.Environ(), w.env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	code := 0
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("reauth: %v", err)
		}
		code = exit.ExitCode()
	}
	watch(t, cmd.Args[1:], out.String(), errb.String())
	return result{out.String(), errb.String(), code}
}

// jiraEnv is a Jira database with n seeded tokens and a config for it.
func jiraEnv(t testing.TB, dialect string, n int) (*env, *dbtest.Database, *sql.DB, producttest.Fixture) {
	t.Helper()
	d := server(t, dialect).NewDatabase(t)
	f, _ := producttest.For("jira", dialect)
	f.Setup(t, d.Exec, n)
	return newEnv(t, targetYAML{name: "jira", product: "jira", db: d}), d, d.Open(t), f
}

// backupKeys reads the ids held by every backup file in dir that restore would accept.
func backupKeys(t testing.TB, dir string) map[string]int {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	keys := map[string]int{}
	for _, f := range files {
		r, err := backup.Open(f)
		if err != nil {
			continue
		}
		ki := r.Manifest().KeyIndex()
		if err := r.Each(func(v []*string) error { keys[*v[ki]]++; return nil }); err != nil {
			t.Fatalf("reading %s: %v", f, err)
		}
	}
	return keys
}

func tableKeys(t testing.TB, pool *sql.DB, table string) map[string]bool {
	t.Helper()
	return tableKeysBy(t, pool, table, "id")
}

// tableKeysBy is tableKeys for a table whose key column has another name.
func tableKeysBy(t testing.TB, pool *sql.DB, table, key string) map[string]bool {
	t.Helper()
	rows, err := pool.Query("SELECT " + key + " FROM " + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	keys := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys[k] = true
	}
	return keys
}

// TestClearKeepsConcurrentInserts is invariant 1 under concurrency: while clear runs, another
// connection keeps inserting tokens with keys between the ones being cleared. Afterwards every
// row, old or new, is in the table or in the backup, never both and never neither, and the
// backup holds exactly the deleted rows.
func TestClearKeepsConcurrentInserts(t *testing.T) {
	for _, way := range clearWays {
		dialect := way.dialect
		t.Run(way.name, func(t *testing.T) {
			t.Parallel()
			d := server(t, dialect).NewDatabase(t)
			f, _ := producttest.For("jira", dialect)
			f.Setup(t, d.Exec, 0)
			// Seed even ids only; the inserter fills odd ids inside the batches' key ranges.
			const seeded = 6000
			var vals []string
			for i := 1; i <= seeded; i++ {
				vals = append(vals, fmt.Sprintf("(%d, '2026-01-01 00:00:00', 'tok-%d', 'JIRAUSER10100')", 2*i, i))
			}
			d.Exec(t, "INSERT INTO remembermetoken VALUES "+strings.Join(vals, ", "))
			e := newEnv(t, targetYAML{name: "jira", product: "jira", db: d})
			pool := d.Open(t)

			if way.env != nil {
				reauthBinary(t) // built before the inserter starts, not while it runs
			}
			ctx, cancel := context.WithCancel(context.Background())
			var (
				wg       sync.WaitGroup
				inserted []string
			)
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Each odd id once, in random order: a re-used id could be cleared and inserted again.
				// Then negative ids, below every batch, so that the inserter is still at work when
				// the clear ends (and some of its rows come after the clear's last batch), however
				// quick the clear is.
				for _, n := range rand.New(rand.NewSource(1)).Perm(10 * seeded) {
					if ctx.Err() != nil {
						return
					}
					id := 2*n + 1
					if n >= seeded {
						id = -n
					}
					_, err := pool.Exec(fmt.Sprintf("INSERT INTO remembermetoken VALUES (%d, '2026-01-02 00:00:00', 'new-%d', 'bob')", id, id))
					if err == nil {
						inserted = append(inserted, fmt.Sprint(id))
					}
				}
			}()
			time.Sleep(20 * time.Millisecond)
			r := way.run(t, e, "clear", "--target", "jira", "--yes", "--batch-size", "50")
			cancel()
			wg.Wait()
			r.mustSucceed(t)
			if len(inserted) < 20 {
				t.Fatalf("only %d concurrent inserts happened; the test proves nothing", len(inserted))
			}
			inTable := tableKeys(t, pool, "remembermetoken")
			inBackup := backupKeys(t, filepath.Join(e.dir, "backups"))
			var all []string
			for i := 1; i <= seeded; i++ {
				all = append(all, fmt.Sprint(2*i))
			}
			all = append(all, inserted...)
			lost, both := 0, 0
			for _, k := range all {
				switch {
				case inTable[k] && inBackup[k] > 0:
					both++
				case !inTable[k] && inBackup[k] == 0:
					lost++
				}
			}
			newInTable := 0
			for _, k := range inserted {
				if inTable[k] {
					newInTable++
				}
			}
			t.Logf("%s: %d seeded, %d inserted concurrently (%d of them still in the table, %d cleared with a later batch)",
				way.name, seeded, len(inserted), newInTable, len(inserted)-newInTable)
			if lost > 0 || both > 0 {
				t.Errorf("%d rows lost (neither in table nor backup), %d rows both deleted-and-kept", lost, both)
			}
			if newInTable == 0 {
				t.Errorf("no concurrently inserted row survived: inserts between a batch's read and its delete must not be deleted")
			}
			for k, n := range inBackup {
				if n != 1 {
					t.Errorf("key %s is %d times in the backup", k, n)
				}
			}
		})
	}
}

// buildReauth builds the real binary once per test binary.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "reauth-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "reauth")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

func reauthBinary(t testing.TB) string {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestClearSurvivesSIGKILL is invariant 1 against the worst case: the reauth process killed
// with SIGKILL at random instants of a large clear. Every time, each original row must be in
// the table or in a backup that restore accepts: restoring every such backup gives back the
// original table, row for row.
func TestClearSurvivesSIGKILL(t *testing.T) {
	bin := reauthBinary(t)
	for _, way := range clearWays {
		t.Run(way.name, func(t *testing.T) {
			t.Parallel()
			const rows = 20000
			e, _, pool, _ := jiraEnv(t, way.dialect, rows)
			mustExec(t, pool, "CREATE TABLE pristine AS SELECT * FROM remembermetoken")
			original := producttest.Digest(t, pool, "remembermetoken")
			backups := filepath.Join(e.dir, "backups")

			// How long does an uninterrupted clear take? Kills are spread over that span.
			clear := func() *exec.Cmd {
				cmd := exec.Command(bin, "--config", e.config, "clear", "--target", "jira", "--yes", "--batch-size", "500")
				cmd.Env = append(append(os.Environ(), "REAUTH_OUTPUT=json"), way.env...)
				return cmd
			}
			t0 := time.Now()
			first := clear()
			out, err := first.CombinedOutput()
			watch(t, first.Args[1:], string(out), "")
			if err != nil {
				t.Fatalf("uninterrupted clear: %v\n%s", err, out)
			}
			full := time.Since(t0)
			reset := func() {
				mustExec(t, pool, "DELETE FROM remembermetoken")
				mustExec(t, pool, "INSERT INTO remembermetoken SELECT * FROM pristine")
				os.RemoveAll(backups)
			}
			seed := time.Now().UnixNano()
			rng := rand.New(rand.NewSource(seed))
			iterations := 24
			outcomes := map[string]int{}
			for i := 0; i < iterations; i++ {
				reset()
				delay := time.Duration(rng.Int63n(int64(full) * 11 / 10))
				cmd := clear()
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(delay)
				cmd.Process.Signal(syscall.SIGKILL)
				cmd.Wait()
				left := producttest.Count(t, pool, "remembermetoken")
				files, _ := filepath.Glob(filepath.Join(backups, "*"+backup.Extension+"*"))
				sort.Strings(files)
				kind := "no file"
				for _, f := range files {
					r := reauth(t, "", "--config", e.config, "restore", "--yes", f)
					switch {
					case r.code == 0:
						kind = filepath.Ext(f)
					case strings.Contains(r.stderr, "before its first checkpoint"):
						kind = "unusable .partial (no batch deleted)"
					default:
						t.Fatalf("iteration %d (seed %d, kill after %v): restore %s refused: %s", i, seed, delay, f, r.stderr)
					}
				}
				outcomes[kind]++
				if got := producttest.Digest(t, pool, "remembermetoken"); got != original {
					t.Fatalf("iteration %d (seed %d, kill after %v, %d rows were left, backups %v): original rows lost", i, seed, delay, left, files)
				}
			}
			t.Logf("%s: %d kills over %v (uninterrupted clear of %d rows: %v); files left: %v", way.name, iterations, full*11/10, rows, full, outcomes)
		})
	}
}

func mustExec(t testing.TB, pool *sql.DB, q string) {
	t.Helper()
	if _, err := pool.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestClearRetriesConcurrentUpdates: the product updates tokens while clear runs (Bitbucket
// claims them). A batch that a concurrent update aborts is retried and leaves the backup when it
// rolls back, so every row ends up in the table or in the backup, exactly once.
func TestClearRetriesConcurrentUpdates(t *testing.T) {
	for _, way := range clearWays {
		t.Run(way.name, func(t *testing.T) {
			t.Parallel()
			const rows = 4000
			e, _, pool, _ := jiraEnv(t, way.dialect, rows)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			updates := 0
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewSource(2))
				for ctx.Err() == nil {
					id := 10001 + rng.Intn(rows)
					if r, err := pool.Exec(fmt.Sprintf("UPDATE remembermetoken SET token = 'claimed-%d' WHERE id = %d", id, id)); err == nil {
						if n, _ := r.RowsAffected(); n == 1 {
							updates++
						}
					}
				}
			}()
			time.Sleep(10 * time.Millisecond)
			r := way.run(t, e, "clear", "--target", "jira", "--yes", "--batch-size", "20", "--output", "json")
			cancel()
			wg.Wait()
			var res struct{ Retries int }
			r.mustSucceed(t).decode(t, &res)
			inTable := tableKeys(t, pool, "remembermetoken")
			inBackup := backupKeys(t, filepath.Join(e.dir, "backups"))
			for i := 1; i <= rows; i++ {
				k := fmt.Sprint(10000 + i)
				if inTable[k] == (inBackup[k] > 0) || inBackup[k] > 1 {
					t.Fatalf("row %s: in table %v, %d times in the backup; want exactly one place", k, inTable[k], inBackup[k])
				}
			}
			t.Logf("%s: %d concurrent updates while clearing %d rows; %d batches retried; %d rows left in the table", way.name, updates, rows, res.Retries, len(inTable))
		})
	}
}
