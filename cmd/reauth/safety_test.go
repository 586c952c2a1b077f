package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reauth/reauth/products/producttest"
)

// rewriteChecksums recomputes every checkpoint and end line of a backup after its content was
// edited, as a careful forger would, so that only the manifest check can catch the edit.
func rewriteChecksums(t *testing.T, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	h := sha256.New()
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		for _, kind := range []string{`{"checkpoint":`, `{"end":`} {
			if bytes.HasPrefix(line, []byte(kind)) {
				i := bytes.Index(line, []byte(`"sha256":"`)) + len(`"sha256":"`)
				line = append(append(append([]byte{}, line[:i]...), hex.EncodeToString(h.Sum(nil))...), line[i+64:]...)
			}
		}
		h.Write(line)
		out.Write(line)
	}
	return out.Bytes()
}

// TestRestoreRefusesDamagedBackups is invariant 2: a backup with a flipped byte, a truncated
// one, one the audit log does not show reauth writing, and one whose manifest names another
// table are refused, and nothing is inserted.
func TestRestoreRefusesDamagedBackups(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e, _, pool, _ := jiraEnv(t, dialect, 300)
			r := e.run(t, "clear", "--target", "jira", "--yes", "--batch-size", "100", "--output", "json").mustSucceed(t)
			var cl struct{ Backup string }
			r.decode(t, &cl)
			good, err := os.ReadFile(cl.Backup)
			if err != nil {
				t.Fatal(err)
			}
			flipped := append([]byte{}, good...)
			flipped[len(flipped)/2] ^= 0x01
			otherTable := rewriteChecksums(t, bytes.Replace(good, []byte(`"name":"remembermetoken"`), []byte(`"name":"cwd_user"`), 1))
			otherEnv := rewriteChecksums(t, bytes.Replace(good, []byte(`"environment":"staging"`), []byte(`"environment":"production"`), 1))
			cases := []struct {
				name     string
				data     []byte
				want     string
				unlogged bool // past the audit log's check, to reach the manifest's
			}{
				{"flipped byte", flipped, "", false},
				{"truncated", good[:len(good)*2/3], "", false},
				{"truncated at a line end", good[:bytes.LastIndex(good[:len(good)-2], []byte("\n"))+1], "truncated", false},
				{"self-consistent forgery", otherEnv, "audit log", false},
				{"manifest names another table", otherTable, "names table", true},
				{"manifest names another environment", otherEnv, "environment", true},
				{"empty", nil, "empty", false},
			}
			for _, c := range cases {
				path := filepath.Join(e.dir, strings.ReplaceAll(c.name, " ", "-")+".backup.jsonl")
				if err := os.WriteFile(path, c.data, 0o600); err != nil {
					t.Fatal(err)
				}
				args := []string{"restore", "--yes", path}
				if c.unlogged {
					args = append(args, "--unlogged")
				}
				r := e.run(t, args...)
				t.Logf("%s: %s", c.name, strings.TrimSpace(r.stderr))
				if r.code != 2 {
					t.Errorf("%s: exit %d; want 2\n%s", c.name, r.code, r.stderr)
				}
				if !strings.Contains(r.stderr, c.want) || strings.Count(r.stderr, "\n") != 1 {
					t.Errorf("%s: stderr %q; want one line mentioning %q", c.name, r.stderr, c.want)
				}
				if n := producttest.Count(t, pool, "remembermetoken"); n != 0 {
					t.Fatalf("%s: restore inserted %d rows from a refused backup", c.name, n)
				}
			}
			// The forger's edit is only caught by the manifest: the untouched file restores.
			e.run(t, "restore", "--yes", cl.Backup).mustSucceed(t)
			if n := producttest.Count(t, pool, "remembermetoken"); n != 300 {
				t.Errorf("restore of the good backup gave %d rows; want 300", n)
			}
		})
	}
}

// TestDryRunChangesNothing is invariant 6: --dry-run changes nothing anywhere (the table's
// digest, no backup folder, no audit log), and a destructive command with no terminal and no
// --yes refuses and changes nothing.
func TestDryRunChangesNothing(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			e, _, pool, _ := jiraEnv(t, dialect, 200)
			before := producttest.Digest(t, pool, "remembermetoken")
			unchanged := func(what string) {
				t.Helper()
				if producttest.Digest(t, pool, "remembermetoken") != before {
					t.Fatalf("%s changed the table", what)
				}
				for _, f := range []string{"backups", "audit.jsonl"} {
					if _, err := os.Stat(filepath.Join(e.dir, f)); err == nil {
						t.Fatalf("%s created %s", what, f)
					}
				}
			}
			r := e.run(t, "clear", "--target", "jira", "--dry-run").mustSucceed(t)
			if !strings.Contains(r.stdout, "200 rows of") || !strings.Contains(r.stdout, "nothing was changed") {
				t.Errorf("dry run does not say what it would do:\n%s", r.stdout)
			}
			unchanged("clear --dry-run")
			e.run(t, "clear", "--target", "jira", "--dry-run", "--yes", "--output", "json").mustSucceed(t)
			unchanged("clear --dry-run --yes")
			r = e.run(t, "clear", "--target", "jira")
			if r.code != 2 || !strings.Contains(r.stderr, "--yes") {
				t.Errorf("clear without a terminal and without --yes: exit %d, %q; want 2 and a hint about --yes", r.code, r.stderr)
			}
			unchanged("clear without confirmation")

			// A backup to try restore on: taken, then the table changed so restore would act.
			e.run(t, "backup", "--target", "jira").mustSucceed(t)
			files, _ := filepath.Glob(filepath.Join(e.dir, "backups", "*.backup.jsonl"))
			mustExec(t, pool, "DELETE FROM remembermetoken WHERE id <= 10100")
			before = producttest.Digest(t, pool, "remembermetoken")
			audit, _ := os.ReadFile(filepath.Join(e.dir, "audit.jsonl"))
			r = e.run(t, "restore", "--dry-run", files[0]).mustSucceed(t)
			if !strings.Contains(r.stdout, "nothing was changed") {
				t.Errorf("restore --dry-run output:\n%s", r.stdout)
			}
			r = e.run(t, "restore", files[0])
			if r.code != 2 {
				t.Errorf("restore without confirmation: exit %d; want 2", r.code)
			}
			if producttest.Digest(t, pool, "remembermetoken") != before {
				t.Fatal("restore --dry-run or unconfirmed restore changed the table")
			}
			if after, _ := os.ReadFile(filepath.Join(e.dir, "audit.jsonl")); !bytes.Equal(after, audit) {
				t.Error("restore --dry-run wrote to the audit log")
			}
		})
	}
}

// TestRestoreRefusesForgedRows: a backup taken for --user alice, edited so that one row is
// bob's and its checksums recomputed, is refused: by the audit log (the checksum it recorded),
// and, past that with --unlogged, because the row is outside the scope the manifest records.
func TestRestoreRefusesForgedRows(t *testing.T) {
	e, _, pool, f := jiraEnv(t, "postgres", 50)
	var cl struct{ Backup string }
	e.run(t, "clear", "--target", "jira", "--user", "alice", "--yes", "--output", "json").mustSucceed(t).decode(t, &cl)
	before := producttest.Count(t, pool, f.Table)
	data, err := os.ReadFile(cl.Backup)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	// Line 0 is the manifest, which names alice's key in its scope; line 1 is her first row.
	lines[1] = bytes.Replace(lines[1], []byte(`"JIRAUSER10100"`), []byte(`"bob"`), 1)
	forged := rewriteChecksums(t, bytes.Join(lines, nil))
	if bytes.Equal(forged, data) {
		t.Fatal("the forgery changed nothing")
	}
	path := filepath.Join(filepath.Dir(cl.Backup), "forged.backup.jsonl")
	if err := os.WriteFile(path, forged, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"restore", "--yes", path}, "it was changed"},
		{[]string{"restore", "--yes", "--unlogged", path}, "outside the scope the backup records"},
	} {
		r := e.run(t, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
		if n := producttest.Count(t, pool, f.Table); n != before {
			t.Fatalf("%v inserted %d rows", tc.args, n-before)
		}
	}
	e.run(t, "restore", "--yes", cl.Backup).mustSucceed(t)
}

// TestPrivateFiles: the backup folder and the audit log are the running user's alone: a
// backup folder that is a symbolic link or another user's is refused, an audit log that is a
// symbolic link is refused, and one that others can read is made private.
func TestPrivateFiles(t *testing.T) {
	e, _, pool, f := jiraEnv(t, "postgres", 10)
	backups := filepath.Join(e.dir, "backups")
	real := filepath.Join(e.dir, "elsewhere")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, backups); err != nil {
		t.Fatal(err)
	}
	r := e.run(t, "clear", "--target", "jira", "--yes")
	if r.code == 0 || !strings.Contains(r.stderr, "is a symbolic link") {
		t.Errorf("backup_dir that is a symlink: exit %d, %q", r.code, r.stderr)
	}
	os.Remove(backups)
	if os.Geteuid() == 0 {
		if err := os.Mkdir(backups, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(backups, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		r = e.run(t, "clear", "--target", "jira", "--yes")
		if r.code == 0 || !strings.Contains(r.stderr, "belongs to user id 65534") {
			t.Errorf("backup_dir of another user: exit %d, %q", r.code, r.stderr)
		}
		os.Remove(backups)
	} else {
		t.Log("not root: another user's backup folder cannot be made here")
	}
	audit := filepath.Join(e.dir, "audit.jsonl")
	target := filepath.Join(e.dir, "audit-elsewhere.jsonl")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, audit); err != nil {
		t.Fatal(err)
	}
	r = e.run(t, "clear", "--target", "jira", "--yes")
	if r.code == 0 || !strings.Contains(r.stderr, "is a symbolic link") {
		t.Errorf("audit log that is a symlink: exit %d, %q", r.code, r.stderr)
	}
	if n := producttest.Count(t, pool, f.Table); n != 10 {
		t.Fatalf("%d rows left after refused clears; want 10", n)
	}
	os.Remove(audit)
	if err := os.WriteFile(audit, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e.run(t, "clear", "--target", "jira", "--yes").mustSucceed(t)
	if st, err := os.Stat(audit); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("audit log mode after a clear: %v, %v; want 0600", st.Mode().Perm(), err)
	}
}
