//go:build unix

package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reauth/reauth/backup"
	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/products/producttest"
)

// BenchmarkClearVsManual backs up and clears a Jira remember-me table of REAUTH_BENCH_ROWS rows
// (default 1,000,000) on the private PostgreSQL and MariaDB servers, two ways, from equally fresh
// tables in the same run:
//
//   - manual: what an administrator would type. PostgreSQL: `pg_dump -t remembermetoken -f FILE DB`
//     then `psql -c 'DELETE FROM remembermetoken'`; MariaDB: `mariadb-dump DB remembermetoken > FILE`
//     then `mariadb -e 'DELETE FROM remembermetoken' DB`. Wall time of both together.
//   - reauth: the real binary, built once, run as a subprocess:
//     `reauth --config CFG clear --target jira --yes --output json`. Wall time and peak RSS.
//
// It reports manual-s, reauth-s, ratio (reauth/manual), reauth-peak-rss-MB and rows (plus
// reauth-cpu-s and manual-peak-rss-MB, the largest of the client tools). Peak RSS is the
// child's VmHWM, polled: ru_maxrss would count this test binary's memory (see watchRSS).
// Run it once per size:
//
//	REAUTH_BENCH_ROWS=100000 go test ./cmd/reauth -run XXX -bench ClearVsManual -benchtime 1x -count 1 -timeout 60m
//
// Other knobs: REAUTH_BENCH_BATCH_SIZE=N passes --batch-size N; REAUTH_BENCH_VERBOSE=1 passes
// --verbose and writes reauth's progress lines with their arrival times to
// $TMPDIR/reauth-bench-progress-DIALECT-ROWS.txt (logging a summary); REAUTH_BENCH_SEED=fixture
// seeds with producttest's multi-row INSERTs instead of server-side generation (100,000 rows:
// 0.8 s on PostgreSQL and 6 s on MariaDB, against 0.2 s; the generated rows are checked against
// the fixture's, value for value, before the benchmark starts).
// scripts/bench.sh runs it over several row counts and batch sizes.
//
// Each database runs twice: as the harness starts it, without flushes to disk (see
// dbtest.Server.Durable), and then with a production server's durability (-durable), where each
// commit is flushed.
//
// Before each way, the tables are dropped and created again, seeded the same way, vacuumed and
// analysed, and flushed: a forced checkpoint on PostgreSQL; on MariaDB, a wait until InnoDB's
// purge and page flushing are idle. An unmeasured seed-and-delete comes first, so that every
// measured seed follows a cleared table. With b.N > 1, the ways alternate which goes first.
func BenchmarkClearVsManual(b *testing.B) {
	rows := benchEnvInt(b, "REAUTH_BENCH_ROWS", 1000000)
	batch := benchEnvInt(b, "REAUTH_BENCH_BATCH_SIZE", 0)
	bin := buildReauth(b)
	b.Run("postgres", func(b *testing.B) {
		runClearVsManual(b, newClearBench(b, dbtest.Postgres(b), rows, batch, bin))
	})
	b.Run("mariadb", func(b *testing.B) {
		runClearVsManual(b, newClearBench(b, dbtest.MariaDB(b), rows, batch, bin))
	})
	b.Run("postgres-durable", func(b *testing.B) {
		srv := dbtest.Postgres(b)
		srv.Durable(b)
		runClearVsManual(b, newClearBench(b, srv, rows, batch, bin))
	})
	b.Run("mariadb-durable", func(b *testing.B) {
		srv := dbtest.MariaDB(b)
		srv.Durable(b)
		runClearVsManual(b, newClearBench(b, srv, rows, batch, bin))
	})
}

func benchEnvInt(b *testing.B, name string, def int) int {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}

func benchEnvBool(name string) bool {
	v := strings.TrimSpace(os.Getenv(name))
	return v != "" && v != "0" && !strings.EqualFold(v, "false")
}

// buildReauth builds the real command (CGO_ENABLED=0, as it ships) into a temp dir.
func buildReauth(b *testing.B) string {
	b.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(b.TempDir(), "reauth")
	cmd := exec.Command(goTool, "build", "-o", bin, "./")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// clearBench is one database's side of the benchmark.
type clearBench struct {
	srv     *dbtest.Server
	d       *dbtest.Database
	pool    *sql.DB
	fix     producttest.Fixture
	rows    int
	batch   int
	bin     string
	dir     string // private: config, password file, backups, audit log, dumps
	config  string
	verbose bool
	fixture bool // seed with producttest's INSERTs
}

func newClearBench(b *testing.B, srv *dbtest.Server, rows, batch int, bin string) *clearBench {
	b.Helper()
	f, ok := producttest.For("jira", srv.Dialect)
	if !ok {
		b.Fatalf("no jira fixture for %s", srv.Dialect)
	}
	c := &clearBench{srv: srv, fix: f, rows: rows, batch: batch, bin: bin, dir: b.TempDir(),
		verbose: benchEnvBool("REAUTH_BENCH_VERBOSE"),
		fixture: strings.EqualFold(os.Getenv("REAUTH_BENCH_SEED"), "fixture")}
	if !c.fixture {
		c.checkGenerated(b)
	}
	c.d = srv.NewDatabase(b)
	c.pool = c.d.Open(b)
	pw := filepath.Join(c.dir, "jira.pw")
	if err := os.WriteFile(pw, []byte(srv.Password+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg := fmt.Sprintf("environment: bench\nbackup_dir: %s\naudit_log: %s\ntargets:\n"+
		"  - name: jira\n    product: jira\n    database:\n      url: %s\n      user: %s\n      password_file: %s\n",
		filepath.Join(c.dir, "backups"), filepath.Join(c.dir, "audit.jsonl"), c.d.JDBC, srv.User, pw)
	c.config = filepath.Join(c.dir, "reauth.yaml")
	if err := os.WriteFile(c.config, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	return c
}

// jiraUserKeys are the Jira user keys of producttest.Users, in order: the username column of
// row i is jiraUserKeys[i%5], as in the fixture.
var jiraUserKeys = []string{"JIRAUSER10100", "bob", "JIRAUSER10102", "JIRAUSER10104", "admin"}

// generate inserts rows from..to server-side, in the fixture's layout: id 10000+i, created
// producttest.Base minus i hours, token "tok-<id>-" plus id%7 x's, username the owner's user key.
func (c *clearBench) generate(b *testing.B, d *dbtest.Database, from, to int) {
	b.Helper()
	const chunk = 200000
	base := producttest.Base.UTC().Format("2006-01-02 15:04:05")
	keys := "'" + strings.Join(jiraUserKeys, "', '") + "'"
	for lo := from; lo <= to; lo += chunk {
		hi := min(lo+chunk-1, to)
		var q string
		if c.srv.Dialect == "postgres" {
			q = fmt.Sprintf("INSERT INTO remembermetoken (id, created, token, username) "+
				"SELECT 10000 + i, timestamptz '%s+00' - make_interval(hours => i), "+
				"'tok-' || (10000 + i) || '-' || repeat('x', (10000 + i) %% 7), (ARRAY[%s])[i %% 5 + 1] "+
				"FROM generate_series(%d, %d) AS i", base, keys, lo, hi)
		} else {
			// MariaDB's SEQUENCE engine: seq_LO_to_HI is a virtual table of those numbers.
			q = fmt.Sprintf("INSERT INTO remembermetoken (ID, CREATED, TOKEN, USERNAME) "+
				"SELECT 10000 + seq, TIMESTAMP'%s' - INTERVAL seq HOUR, "+
				"CONCAT('tok-', 10000 + seq, '-', REPEAT('x', (10000 + seq) %% 7)), ELT(seq %% 5 + 1, %s) "+
				"FROM seq_%d_to_%d", base, keys, lo, hi)
		}
		d.Exec(b, q)
	}
}

// checkGenerated proves that generate makes the very rows the fixture's Setup inserts.
func (c *clearBench) checkGenerated(b *testing.B) {
	b.Helper()
	const n = 101
	want, got := c.srv.NewDatabase(b), c.srv.NewDatabase(b)
	c.fix.Setup(b, want.Exec, n)
	c.fix.Setup(b, got.Exec, 0)
	c.generate(b, got, 1, n)
	w := producttest.Digest(b, want.Open(b), c.fix.Table)
	g := producttest.Digest(b, got.Open(b), c.fix.Table)
	if w != g || strings.Count(w, "\n") != n-1 {
		b.Fatalf("server-side generation does not match the fixture's rows:\nfixture:\n%.600s\ngenerated:\n%.600s", w, g)
	}
}

// seed drops and recreates the fixture's tables, fills the token table and lets the server
// settle, so that every way starts from the same state.
func (c *clearBench) seed(b *testing.B) string {
	b.Helper()
	t0 := time.Now()
	c.d.Exec(b, "DROP TABLE IF EXISTS "+strings.Join(c.fix.Tables(), ", "))
	if c.fixture {
		c.fix.Setup(b, c.d.Exec, c.rows)
	} else {
		c.fix.Setup(b, c.d.Exec, 0)
		c.generate(b, c.d, 1, c.rows)
	}
	loaded := time.Since(t0)
	if n := producttest.Count(b, c.pool, c.fix.Table); n != c.rows {
		b.Fatalf("seeded %d rows; want %d", n, c.rows)
	}
	settle := c.settle(b)
	return fmt.Sprintf("seeded in %v, settled in %v: %s", loaded.Round(time.Millisecond),
		time.Since(t0.Add(loaded)).Round(time.Millisecond), settle)
}

// settle vacuums and analyses the tables and flushes dirty pages: PostgreSQL forces a checkpoint
// (CREATE DATABASE ... STRATEGY FILE_COPY checkpoints before and after its copy; the test login
// may not run CHECKPOINT itself); MariaDB waits until InnoDB's purge and page cleaner are idle
// and its checkpoint has caught up (the test login has no RELOAD privilege for FLUSH TABLES ...
// FOR EXPORT, nor SUPER for innodb_max_dirty_pages_pct).
func (c *clearBench) settle(b *testing.B) string {
	b.Helper()
	if c.srv.Dialect == "postgres" {
		c.d.Exec(b, "VACUUM (ANALYZE) remembermetoken")
		c.d.Exec(b, "VACUUM (ANALYZE) app_user")
		before := c.pgCheckpoints(b)
		name := c.d.Name + "_ckpt"
		c.d.Exec(b, `CREATE DATABASE "`+name+`" TEMPLATE template0 STRATEGY FILE_COPY`)
		c.d.Exec(b, `DROP DATABASE "`+name+`"`)
		return fmt.Sprintf("vacuum analyze, %d checkpoints", c.pgCheckpoints(b)-before)
	}
	c.d.Exec(b, "ANALYZE TABLE remembermetoken, app_user")
	// Wait for InnoDB to purge and to flush what the load left dirty, until its checkpoint is
	// about as recent as the redo log (the DELETE of a large table fills the redo log, and a
	// run that started with an old checkpoint would be throttled sooner), or until nothing
	// moves any more.
	deadline := time.Now().Add(5 * time.Minute)
	var st, prev innodbState
	still := 0
	for {
		st = c.innodbStatus(b)
		if st.history <= 16 && st.checkpointAge <= st.checkpointMaxAge/10 {
			break
		}
		if st == prev {
			still++
		} else {
			still = 0
		}
		if still >= 10 || time.Now().After(deadline) {
			break
		}
		prev = st
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Sprintf("analyze, innodb dirty pages %d, history list %d, checkpoint age %.1f MB of %.1f MB",
		st.dirty, st.history, float64(st.checkpointAge)/(1<<20), float64(st.checkpointMaxAge)/(1<<20))
}

func (c *clearBench) pgCheckpoints(b *testing.B) int64 {
	var n int64
	if err := c.pool.QueryRow("SELECT checkpoints_req + checkpoints_timed FROM pg_stat_bgwriter").Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// innodbState is what SHOW GLOBAL STATUS says of InnoDB's background work (no privilege needed).
type innodbState struct {
	dirty, history, checkpointAge, checkpointMaxAge int64
}

func (c *clearBench) innodbStatus(b *testing.B) innodbState {
	b.Helper()
	rows, err := c.pool.Query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_buffer_pool_pages_dirty'," +
		" 'Innodb_history_list_length', 'Innodb_checkpoint_age', 'Innodb_checkpoint_max_age')")
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var st innodbState
	for rows.Next() {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			b.Fatal(err)
		}
		switch strings.ToLower(name) {
		case "innodb_buffer_pool_pages_dirty":
			st.dirty = v
		case "innodb_history_list_length":
			st.history = v
		case "innodb_checkpoint_age":
			st.checkpointAge = v
		case "innodb_checkpoint_max_age":
			st.checkpointMaxAge = v
		}
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return st
}

// clientEnv is the environment of a child process: ours without anything that would point it
// at another server or config, plus extra.
func clientEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PG") || strings.HasPrefix(k, "MYSQL") || strings.HasPrefix(k, "MARIADB") ||
			strings.HasPrefix(k, "REAUTH_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// measured is one way's run.
type measured struct {
	wall      time.Duration
	cpu       time.Duration // user + system of the child processes
	rssKiB    int64         // peak RSS of the largest child process, from its own VmHWM
	rusageKiB int64         // the largest ru_maxrss that wait4 reported (see watchRSS)
	progress  string        // reauth --verbose: a summary of its progress lines
}

func (m *measured) add(ps *os.ProcessState, w *rssWatch) {
	var peak, ru int64
	if w != nil {
		peak = w.stop()
	}
	if ps != nil {
		m.cpu += ps.UserTime() + ps.SystemTime()
		if r, ok := ps.SysUsage().(*syscall.Rusage); ok {
			ru = int64(r.Maxrss)
			if runtime.GOOS == "darwin" {
				ru /= 1024 // bytes there
			}
		}
	}
	if peak == 0 {
		peak = ru // no /proc: an upper bound is better than nothing
	}
	m.rssKiB = max(m.rssKiB, peak)
	m.rusageKiB = max(m.rusageKiB, ru)
}

func (m measured) rssMB() float64 { return float64(m.rssKiB) / 1024 }

// rssWatch follows a child's peak RSS. The ru_maxrss that wait4 reports is no use here: Go
// starts children with vfork (CLONE_VM), and at exec Linux folds the high-water RSS of the
// memory the child shared with its parent, this test binary's, into the child's ru_maxrss
// (a /bin/true started from a process that touched 200 MB reports 200 MB). /proc/PID/status's
// VmHWM is the high-water RSS of the child's own memory since exec; it is polled until the
// child exits (a peak in its last few milliseconds could be missed).
type rssWatch struct {
	done    chan struct{}
	stopped chan struct{}
	kib     int64
}

func watchRSS(pid int) *rssWatch {
	w := &rssWatch{done: make(chan struct{}), stopped: make(chan struct{})}
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	go func() {
		defer close(w.stopped)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			if b, err := os.ReadFile(path); err == nil {
				if _, rest, ok := bytes.Cut(b, []byte("VmHWM:")); ok {
					f := bytes.Fields(rest)
					if len(f) > 0 {
						if n, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil { // kB
							w.kib = max(w.kib, n)
						}
					}
				}
			}
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// stop ends the watch (call it once the child has exited) and returns the peak in KiB.
func (w *rssWatch) stop() int64 {
	close(w.done)
	<-w.stopped
	return w.kib
}

// tool runs one client tool to completion; stdout goes to out when given.
func (c *clearBench) tool(b *testing.B, m *measured, out *os.File, name string, args ...string) {
	b.Helper()
	cmd := exec.Command(filepath.Join(c.srv.BinDir, name), args...)
	cmd.Env = clientEnv(c.d.Env()...)
	cmd.Dir = c.dir
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if out != nil {
		cmd.Stdout = out
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	w := watchRSS(cmd.Process.Pid)
	err := cmd.Wait()
	m.add(cmd.ProcessState, w)
	if err != nil {
		b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errb.String())
	}
}

// manual backs up and clears the table as an administrator would by hand.
func (c *clearBench) manual(b *testing.B, dump string) measured {
	b.Helper()
	var m measured
	args := c.d.ClientArgs()
	t0 := time.Now()
	if c.srv.Dialect == "postgres" {
		c.tool(b, &m, nil, "pg_dump", slices.Concat(args, []string{"-t", "remembermetoken", "-f", dump, c.d.Name})...)
		c.tool(b, &m, nil, "psql", slices.Concat(args, []string{"-X", "-c", "DELETE FROM remembermetoken", c.d.Name})...)
	} else {
		f, err := os.OpenFile(dump, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		c.tool(b, &m, f, "mariadb-dump", slices.Concat(args, []string{c.d.Name, "remembermetoken"})...)
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		c.tool(b, &m, nil, "mariadb", slices.Concat(args, []string{"-e", "DELETE FROM remembermetoken", c.d.Name})...)
	}
	m.wall = time.Since(t0)
	return m
}

// clearResult is the part of reauth's JSON that the benchmark checks.
type clearResult struct {
	Target   string `json:"target"`
	Table    string `json:"table"`
	BackedUp int64  `json:"backed_up"`
	Deleted  int64  `json:"deleted"`
	Backup   string `json:"backup"`
	Batches  int    `json:"batches"`
}

// progressLine is a line reauth --verbose wrote on stderr, and when it arrived.
type progressLine struct {
	at   time.Duration
	text string
}

// saveProgress writes reauth's --verbose lines with their arrival times to a file that outlives
// the benchmark (benchmark logs are cut at 10 lines), and sums them up in one line.
func (c *clearBench) saveProgress(b *testing.B, lines []progressLine) string {
	b.Helper()
	if len(lines) == 0 {
		return "no progress lines"
	}
	var sb strings.Builder
	var slowest, prev time.Duration
	for i, l := range lines {
		fmt.Fprintf(&sb, "%9.3fs %s\n", l.at.Seconds(), l.text)
		if i > 0 {
			slowest = max(slowest, l.at-prev)
		}
		prev = l.at
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("reauth-bench-progress-%s-%d.txt", c.srv.Dialect, c.rows))
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	mid := lines[len(lines)/2]
	return fmt.Sprintf("first progress line at %.3fs, %q at %.3fs, last at %.3fs, slowest gap %.3fs; all in %s",
		lines[0].at.Seconds(), mid.text, mid.at.Seconds(), lines[len(lines)-1].at.Seconds(), slowest.Seconds(), path)
}

// reauth runs `reauth clear` as a subprocess.
func (c *clearBench) reauth(b *testing.B) (measured, clearResult) {
	b.Helper()
	args := []string{"--config", c.config, "clear", "--target", "jira", "--yes", "--output", "json"}
	if c.batch > 0 {
		args = append(args, "--batch-size", strconv.Itoa(c.batch))
	}
	if c.verbose {
		args = append(args, "--verbose")
	}
	cmd := exec.Command(c.bin, args...)
	cmd.Env = clientEnv()
	cmd.Dir = c.dir
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	var progress []progressLine
	var done chan struct{}
	t0 := time.Now()
	if c.verbose {
		pr, pw, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		cmd.Stderr = pw
		done = make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(pr)
			for sc.Scan() {
				progress = append(progress, progressLine{time.Since(t0), sc.Text()})
				errb.WriteString(sc.Text() + "\n")
			}
			pr.Close()
		}()
		defer pw.Close()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		pw.Close()
	} else {
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
	}
	w := watchRSS(cmd.Process.Pid)
	err := cmd.Wait()
	var m measured
	m.wall = time.Since(t0)
	m.add(cmd.ProcessState, w)
	if done != nil {
		<-done
		m.progress = c.saveProgress(b, progress)
	}
	if err != nil {
		b.Fatalf("reauth %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	var res clearResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		b.Fatalf("reauth's stdout is not its JSON document: %v\n%s", err, out.String())
	}
	return m, res
}

// checkEmpty fails unless the token table is empty.
func (c *clearBench) checkEmpty(b *testing.B, way string) {
	b.Helper()
	if n := producttest.Count(b, c.pool, c.fix.Table); n != 0 {
		b.Fatalf("%s left %d rows in %s", way, n, c.fix.Table)
	}
}

// dumpRows counts the rows in a dump: PostgreSQL's COPY data lines, or MariaDB's
// extended-INSERT tuples (the seeded values hold no "),(").
func (c *clearBench) dumpRows(b *testing.B, path string) int {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatalf("dump: %v", err)
	}
	defer f.Close()
	if c.srv.Dialect == "mysql" {
		// Each INSERT's first tuple, then one separator before each further tuple (MariaDB 10.11
		// puts each tuple on a line of its own).
		n := countStream(b, f, "INSERT INTO `remembermetoken` VALUES", "),(", "),\n(")
		return n[0] + n[1] + n[2]
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	n, inCopy := 0, false
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case !inCopy && bytes.HasPrefix(line, []byte("COPY ")) && bytes.Contains(line, []byte("remembermetoken")):
			inCopy = true
		case inCopy && string(line) == `\.`:
			inCopy = false
		case inCopy:
			n++
		}
	}
	if err := sc.Err(); err != nil {
		b.Fatalf("dump: %v", err)
	}
	return n
}

// countStream counts each pattern's occurrences in r, whatever the line lengths.
func countStream(b *testing.B, r *os.File, patterns ...string) []int {
	b.Helper()
	counts := make([]int, len(patterns))
	keep := 0
	for _, p := range patterns {
		keep = max(keep, len(p)-1)
	}
	buf := make([]byte, 0, 1<<20+keep)
	chunk := make([]byte, 1<<20)
	for {
		carried := len(buf)
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for i, p := range patterns {
			// The carried tail's own matches were counted with the previous chunk.
			counts[i] += bytes.Count(buf, []byte(p)) - bytes.Count(buf[:carried], []byte(p))
		}
		if len(buf) > keep {
			buf = append(buf[:0], buf[len(buf)-keep:]...)
		}
		if err != nil {
			break
		}
	}
	return counts
}

// median is the middle value of xs (the mean of the two middle ones for an even count).
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func runClearVsManual(b *testing.B, c *clearBench) {
	var manualT, reauthT, reauthCPU time.Duration
	var manualRuns, reauthRuns []float64 // seconds, for the medians
	var reauthRSS, manualRSS float64
	var batches int
	tools := "pg_dump + psql DELETE"
	if c.srv.Dialect == "mysql" {
		tools = "mariadb-dump + mariadb DELETE"
	}
	// Benchmark output is cut after 10 lines: details of the first iterations only.
	logf := func(i int, format string, args ...any) {
		b.Helper()
		if i < 3 {
			b.Logf(format, args...)
		}
	}
	// Warm-up, not measured: a full table cleared once, so that every measured seed follows a
	// dropped, cleared table (the server's state after a fresh database differs) and the tools'
	// binaries are in the page cache.
	c.seed(b)
	c.d.Exec(b, "DELETE FROM remembermetoken")
	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		ways := []string{"manual", "reauth"}
		if i%2 == 1 {
			ways[0], ways[1] = ways[1], ways[0]
		}
		for _, way := range ways {
			seeded := c.seed(b)
			switch way {
			case "manual":
				dump := filepath.Join(c.dir, fmt.Sprintf("manual-%d.sql", i))
				b.StartTimer()
				m := c.manual(b, dump)
				b.StopTimer()
				c.checkEmpty(b, "the manual way")
				fi, err := os.Stat(dump)
				if err != nil {
					b.Fatalf("the manual way left no dump: %v", err)
				}
				if n := c.dumpRows(b, dump); n != c.rows {
					head, _ := os.ReadFile(dump)
					b.Fatalf("the dump %s holds %d rows; want %d; it begins:\n%.3000s", dump, n, c.rows, head)
				}
				os.Remove(dump)
				logf(i, "#%d manual (%s): %.2fs, dump %.1f MB, tools' peak RSS %.1f MB, cpu %.2fs [%s]",
					i, tools, m.wall.Seconds(), float64(fi.Size())/(1<<20), m.rssMB(), m.cpu.Seconds(), seeded)
				manualT += m.wall
				manualRuns = append(manualRuns, m.wall.Seconds())
				manualRSS = max(manualRSS, m.rssMB())
			case "reauth":
				b.StartTimer()
				m, res := c.reauth(b)
				b.StopTimer()
				c.checkEmpty(b, "reauth clear")
				if res.Deleted != int64(c.rows) || res.BackedUp != int64(c.rows) {
					b.Fatalf("reauth clear = %+v; want %d rows backed up and deleted", res, c.rows)
				}
				r, err := backup.Open(res.Backup)
				if err != nil {
					b.Fatalf("reauth's backup: %v", err)
				}
				if s := r.Summary(); s.Rows != int64(c.rows) || s.Partial {
					b.Fatalf("reauth's backup %s holds %+v; want %d rows, complete", res.Backup, s, c.rows)
				}
				fi, _ := os.Stat(res.Backup)
				os.Remove(res.Backup)
				extra := ""
				if m.progress != "" {
					extra = "; progress: " + m.progress
				}
				logf(i, "#%d reauth clear: %.2fs in %d batches, backup %.1f MB, peak RSS %.1f MB (ru_maxrss, which counts this test binary's: %.1f MB), cpu %.2fs [%s]%s",
					i, m.wall.Seconds(), res.Batches, float64(fi.Size())/(1<<20), m.rssMB(), float64(m.rusageKiB)/1024, m.cpu.Seconds(), seeded, extra)
				reauthT += m.wall
				reauthRuns = append(reauthRuns, m.wall.Seconds())
				reauthCPU += m.cpu
				reauthRSS = max(reauthRSS, m.rssMB())
				batches = res.Batches
			}
		}
	}
	n := float64(b.N)
	ratio := reauthT.Seconds() / manualT.Seconds()
	b.ReportMetric(manualT.Seconds()/n, "manual-s")
	b.ReportMetric(reauthT.Seconds()/n, "reauth-s")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(reauthRSS, "reauth-peak-rss-MB")
	b.ReportMetric(float64(c.rows), "rows")
	b.ReportMetric(reauthCPU.Seconds()/n, "reauth-cpu-s")
	b.ReportMetric(manualRSS, "manual-peak-rss-MB")
	// On a shared machine one run of either way can take half as long again as the next: over
	// several runs (-benchtime Nx), the medians say more than the means.
	medManual, medReauth := median(manualRuns), median(reauthRuns)
	if b.N > 1 {
		b.ReportMetric(medManual, "median-manual-s")
		b.ReportMetric(medReauth, "median-reauth-s")
		b.ReportMetric(medReauth/medManual, "median-ratio")
		b.Logf("runs (s): manual %.2f, reauth %.2f; medians %.2fs and %.2fs, ratio of medians %.2f",
			manualRuns, reauthRuns, medManual, medReauth, medReauth/medManual)
	}
	batch := c.batch
	if batch == 0 {
		batch = db.Dialects[c.srv.Dialect].DefaultBatch
	}
	b.Logf("%s %s, %d rows, %d runs each: manual (%s) %.2fs, reauth clear (batch %d, %d batches) %.2fs, ratio %.2f (target <= 1.0), reauth peak RSS %.1f MB (target <= 100)",
		c.srv.Dialect, c.srv.Version, c.rows, b.N, tools, manualT.Seconds()/n, batch, batches, reauthT.Seconds()/n, ratio, reauthRSS)
}
