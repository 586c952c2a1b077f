package backup

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/db"
)

func manifest() Manifest {
	return Manifest{
		Tool: "test", Created: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), RunID: "r1",
		Environment: "staging", Target: "jira", Product: "jira", Dialect: "postgres",
		Database: "postgres://db:5432/jira", Table: db.Table{Schema: "public", Name: "remembermetoken"},
		Key: "id", Scope: "all users", Action: "clear",
		Columns: []db.Column{
			{Name: "id", DataType: "numeric", Kind: db.KindDecimal},
			{Name: "created", DataType: "timestamp with time zone", Kind: db.KindTime},
			{Name: "token", DataType: "character varying", Kind: db.KindText},
		},
	}
}

func s(v string) *string { return &v }

var rows = [][]*string{
	{s("1"), s("2026-11-23T10:00:00.123456Z"), s("tok\"1\\\n\t\x01\x7f ✓")},
	{s("2"), nil, s("")},
	{s("3"), s("1999-01-01T00:00:00Z"), nil},
}

// write makes a backup of rows in batches of two, finished unless partial.
func write(t testing.TB, dir string, partial bool) string {
	t.Helper()
	path := filepath.Join(dir, Name("jira", time.Now(), "r1"))
	w, err := Create(path, manifest())
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if err := w.Row(r); err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			if err := w.Checkpoint(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if partial {
		// As if the process died here: the third row is written but not checkpointed.
		w.flush()
		w.drain()
		return path + PartialSuffix
	}
	if err := w.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	return path
}

func readAll(t testing.TB, path string) (Summary, [][]*string, error) {
	r, err := Open(path)
	if err != nil {
		return Summary{}, nil, err
	}
	var got [][]*string
	err = r.Each(func(v []*string) error {
		row := make([]*string, len(v))
		for i, x := range v {
			if x != nil {
				c := *x
				row[i] = &c
			}
		}
		got = append(got, row)
		return nil
	})
	return r.Summary(), got, err
}

func show(rows [][]*string) string {
	var b strings.Builder
	for _, r := range rows {
		for _, v := range r {
			if v == nil {
				b.WriteString("NULL,")
			} else {
				b.WriteString(*v + ",")
			}
		}
		b.WriteString(";")
	}
	return b.String()
}

func TestRoundTrip(t *testing.T) {
	path := write(t, t.TempDir(), false)
	sum, got, err := readAll(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if show(got) != show(rows) || sum.Rows != 3 || sum.Partial {
		t.Errorf("read %q (%+v); want %q", show(got), sum, show(rows))
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o; want 0600", st.Mode().Perm())
	}
}

func TestPartialRestoresUpToLastCheckpoint(t *testing.T) {
	path := write(t, t.TempDir(), true)
	sum, got, err := readAll(t, path)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Partial || sum.Rows != 2 || show(got) != show(rows[:2]) {
		t.Errorf("partial gave %q (%+v); want the first two rows", show(got), sum)
	}
	// The same bytes under a complete file's name are a truncated file.
	complete := strings.TrimSuffix(path, PartialSuffix)
	os.Rename(path, complete)
	if _, err := Open(complete); !errors.Is(err, ErrTruncated) {
		t.Errorf("Open(complete name, no end line) = %v; want ErrTruncated", err)
	}
}

func TestRollbackDropsUncheckpointedRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b"+Extension)
	w, err := Create(path, manifest())
	if err != nil {
		t.Fatal(err)
	}
	w.Row(rows[0])
	w.Checkpoint()
	w.Row(rows[1])
	w.Row(rows[2])
	if err := w.Rollback(); err != nil {
		t.Fatal(err)
	}
	w.Row(rows[2])
	w.Checkpoint()
	sum, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := readAll(t, path)
	if err != nil || sum.Rows != 2 || show(got) != show([][]*string{rows[0], rows[2]}) {
		t.Errorf("after rollback: %q, %v (%+v)", show(got), err, sum)
	}
}

func TestDiscardLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	w, _ := Create(filepath.Join(dir, "b"+Extension), manifest())
	w.Row(rows[0])
	if err := w.Discard(); err != nil {
		t.Fatal(err)
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("Discard left %v", files)
	}
	w, _ = Create(filepath.Join(dir, "c"+Extension), manifest())
	w.Row(rows[0])
	w.Checkpoint()
	if err := w.Discard(); err == nil {
		t.Error("Discard of a checkpointed backup was allowed: its rows may be deleted already")
	}
}

func TestEnsureDirRefusesOpenFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "b")
	if err := EnsureDir(dir); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("created with %04o; want 0700", st.Mode().Perm())
	}
	os.Chmod(dir, 0o755)
	if err := EnsureDir(dir); err == nil || !strings.Contains(err.Error(), "chmod 700") {
		t.Errorf("EnsureDir(0755 folder) = %v; want refused with a fix", err)
	}
}

func TestRefusesBadValues(t *testing.T) {
	dir := t.TempDir()
	good, _ := os.ReadFile(write(t, dir, false))
	cases := map[string][]byte{
		"wrong column count": bytes.Replace(good, []byte(`["2",null,""]`), []byte(`["2",null]`), 1),
		"bad time":           bytes.Replace(good, []byte(`1999-01-01T00:00:00Z`), []byte(`1999-13-01T00:00:00Z`), 1),
		"unknown kind":       bytes.Replace(good, []byte(`"kind":"text"`), []byte(`"kind":"blob"`), 1),
		"data after end":     append(append([]byte{}, good...), []byte("[\"4\",null,null]\n")...),
		"not a manifest":     bytes.Replace(good, []byte(`reauth_backup`), []byte(`reauth_backuq`), 1),
	}
	for name, data := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+Extension)
		os.WriteFile(p, data, 0o600)
		if _, err := Open(p); err == nil {
			t.Errorf("%s: Open accepted it", name)
		}
	}
}

func TestCreateRefusesInvalidUTF8(t *testing.T) {
	w, _ := Create(filepath.Join(t.TempDir(), "b"+Extension), manifest())
	defer w.discard()
	if err := w.Row([]*string{s("1"), nil, s("\xff\xfe")}); err == nil {
		t.Error("invalid UTF-8 was written: JSON would have altered it")
	}
}

// FuzzOpen: Open and Each never panic on any file, and a file Open accepts delivers exactly
// the rows its summary counts.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	good, _ := os.ReadFile(write(f, dir, false))
	partial, _ := os.ReadFile(write(f, f.TempDir(), true))
	f.Add(good, false)
	f.Add(partial, true)
	f.Add(good[:len(good)/2], true)
	f.Add([]byte("{}\n"), false)
	scratch := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, isPartial bool) {
		name := filepath.Join(scratch, "f"+Extension)
		if isPartial {
			name += PartialSuffix
		}
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := Open(name)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FileError: %v", err, err)
			}
			return
		}
		n := int64(0)
		if err := r.Each(func([]*string) error { n++; return nil }); err != nil {
			t.Fatalf("Each after a successful Open: %v", err)
		}
		if n != r.Summary().Rows {
			t.Fatalf("Each gave %d rows; summary says %d", n, r.Summary().Rows)
		}
	})
}

func TestRewindDropsAFailedBatchAndItsCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b"+Extension)
	w, err := Create(path, manifest())
	if err != nil {
		t.Fatal(err)
	}
	w.Row(rows[0])
	w.Checkpoint()
	before := w.Mark()
	w.Row(rows[1])
	w.Checkpoint() // the batch's delete then fails and its transaction rolls back
	if err := w.Rewind(before); err != nil {
		t.Fatal(err)
	}
	if d := w.Durable(); d.Rows != 1 || !d.Partial {
		t.Errorf("Durable after rewind = %+v; want 1 row", d)
	}
	w.Row(rows[1]) // the retry
	w.Checkpoint()
	if _, err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	_, got, err := readAll(t, path)
	if err != nil || show(got) != show(rows[:2]) {
		t.Errorf("after rewind and retry: %q, %v; want each row once", show(got), err)
	}
}
