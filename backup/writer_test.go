package backup

import (
	"bytes"
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// oldAppendString is appendString as it was before it checked UTF-8 itself (Row ran
// utf8.ValidString first): the bytes of every backup written so far.
func oldAppendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
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
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func checkAppendString(t *testing.T, s string) {
	t.Helper()
	got, ok := appendString([]byte("x"), s)
	gotB, okB := appendString([]byte("x"), []byte(s))
	if ok != utf8.ValidString(s) || okB != ok {
		t.Fatalf("appendString(%q) ok = %v (bytes: %v); utf8.ValidString = %v", s, ok, okB, utf8.ValidString(s))
	}
	if !ok {
		return
	}
	if want := oldAppendString([]byte("x"), s); !bytes.Equal(got, want) || !bytes.Equal(gotB, want) {
		t.Fatalf("appendString(%q) = %q (bytes: %q); want %q", s, got, gotB, want)
	}
	var back string
	if err := json.Unmarshal(got[1:], &back); err != nil || back != s {
		t.Fatalf("appendString(%q) = %q, which decodes to %q, %v", s, got, back, err)
	}
}

// appendString checks UTF-8 exactly as utf8.ValidString does, and writes what it always wrote.
func TestAppendString(t *testing.T) {
	for _, s := range []string{
		"", "tok-1", "ünïcødé ✓ \"q\" \\ b\nline\ttab\r\x00\x01\x1f\x7f", "𝄞", "\u2028\u2029",
		"\xff", "\xc0\x80", "\xc2", "\xe0\x80\x80", "\xe0\xa0\x80", "\xed\xa0\x80", "\xed\x9f\xbf",
		"\xef\xbf\xbf", "\xf0\x8f\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80", "a\xe2\x9c", "a\xe2\x9c\x93", "\x80", "\xbf",
	} {
		checkAppendString(t, s)
	}
	// Random strings from bytes that make every kind of sequence, valid and not.
	alphabet := []byte{'a', '"', '\\', '\n', 0x00, 0x1f, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
		0xc0, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff}
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 200000; n++ {
		b := make([]byte, rng.Intn(8))
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		checkAppendString(t, string(b))
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("ünïcødé ✓ \"q\"")
	f.Add("\xed\xa0\x80")
	f.Fuzz(func(t *testing.T, s string) { checkAppendString(t, s) })
}

// RowBytes writes the very bytes Row writes, and refuses what Row refuses.
// Row, RowBytes and Rows with Append write the same bytes.
func TestRowBytesMatchesRow(t *testing.T) {
	dir := t.TempDir()
	files := [3]string{filepath.Join(dir, "a"+Extension), filepath.Join(dir, "b"+Extension), filepath.Join(dir, "c"+Extension)}
	var ws [3]*Writer
	for i, p := range files {
		w, err := Create(p, manifest())
		if err != nil {
			t.Fatal(err)
		}
		ws[i] = w
	}
	for i, r := range rows {
		bs := make([][]byte, len(r))
		for j, v := range r {
			if v != nil {
				bs[j] = []byte(*v)
			}
		}
		if err := ws[0].Row(r); err != nil {
			t.Fatal(err)
		}
		if err := ws[1].RowBytes(bs); err != nil {
			t.Fatal(err)
		}
		batch := ws[2].NewRows()
		if err := batch.Add(bs); err != nil {
			t.Fatal(err)
		}
		if err := ws[2].Append(batch); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			for _, w := range ws {
				if err := w.Checkpoint(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	bad := [][]byte{[]byte("1"), nil, []byte("\xff")}
	if err := ws[1].RowBytes(bad); err == nil {
		t.Error("RowBytes wrote invalid UTF-8")
	}
	if err := ws[1].RowBytes(bad[:2]); err == nil {
		t.Error("RowBytes wrote a row with a missing column")
	}
	batch := ws[2].NewRows()
	if err := batch.Add(bad); err == nil || batch.Len() != 0 {
		t.Errorf("Rows.Add took invalid UTF-8: %v, %d rows", err, batch.Len())
	}
	if err := batch.Add(bad[:2]); err == nil || batch.Len() != 0 {
		t.Errorf("Rows.Add took a row with a missing column: %v, %d rows", err, batch.Len())
	}
	if err := ws[2].Append(batch); err != nil {
		t.Errorf("Append of no rows: %v", err)
	}
	if err := ws[1].Append(batch); err == nil {
		t.Error("Append took the rows of another file")
	}
	var data [3][]byte
	for i, w := range ws {
		if _, err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		data[i], _ = os.ReadFile(files[i])
	}
	if !bytes.Equal(data[0], data[1]) {
		t.Errorf("Row wrote:\n%s\nRowBytes wrote:\n%s", data[0], data[1])
	}
	if !bytes.Equal(data[0], data[2]) {
		t.Errorf("Row wrote:\n%s\nAppend wrote:\n%s", data[0], data[2])
	}
	if _, err := Open(files[1]); err != nil {
		t.Errorf("the RowBytes file does not verify: %v", err)
	}
}

// Rows that go past the writer's buffer, a failed batch rewound in the middle of it, and the
// file still verifies with every row once; whether the batches are written row by row or
// appended whole.
func TestLargeBatchesAndRewind(t *testing.T) {
	for _, appended := range []bool{false, true} {
		largeBatches(t, appended)
	}
}

func largeBatches(t *testing.T, appended bool) {
	path := filepath.Join(t.TempDir(), "b"+Extension)
	w, err := Create(path, manifest())
	if err != nil {
		t.Fatal(err)
	}
	long := bytes.Repeat([]byte("x"), 3000)
	row := func(i int) [][]byte {
		return [][]byte{[]byte(string(rune('0' + i%10))), []byte("2026-11-23T10:00:00Z"), long}
	}
	want := 0
	for batch := 0; batch < 5; batch++ {
		mark := w.Mark()
		rows := w.NewRows()
		for i := 0; i < 300; i++ { // about 900 kB: several flushes
			add := w.RowBytes
			if appended {
				add = rows.Add
			}
			if err := add(row(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Append(rows); err != nil {
			t.Fatal(err)
		}
		if err := w.Checkpoint(); err != nil {
			t.Fatal(err)
		}
		if batch == 2 {
			// The batch's delete failed: it leaves the file, and runs again.
			if err := w.Rewind(mark); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want += 300
	}
	sum, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Summary(); got.Rows != int64(want) || sum.Rows != int64(want) || got.SHA256 != sum.SHA256 {
		t.Errorf("appended %v: file holds %+v, Finish said %+v; want %d rows", appended, got, sum, want)
	}
}

func BenchmarkRowBytes(b *testing.B) {
	w, err := Create(filepath.Join(b.TempDir(), "b"+Extension), manifest())
	if err != nil {
		b.Fatal(err)
	}
	defer w.discard()
	row := [][]byte{[]byte("1012345"), []byte("2026-11-23T10:00:00.123456Z"), []byte("tok-1012345-xxxxx")}
	b.SetBytes(int64(len(row[0]) + len(row[1]) + len(row[2])))
	for i := 0; i < b.N; i++ {
		if err := w.RowBytes(row); err != nil {
			b.Fatal(err)
		}
		if i%10000 == 9999 {
			w.Rewind(w.Mark())
		}
	}
}
