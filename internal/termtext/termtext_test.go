package termtext

import (
	"bytes"
	"testing"
)

func TestClean(t *testing.T) {
	tests := []struct{ in, clean, line string }{
		{"RUNNING", "RUNNING", "RUNNING"},
		{"Åsa ✓ 日本", "Åsa ✓ 日本", "Åsa ✓ 日本"},
		{"\x1b]0;owned\x07", "\uFFFD]0;owned\uFFFD", "\uFFFD]0;owned\uFFFD"},
		{"a\nb\tc", "a\nb\tc", "a\uFFFDb\uFFFDc"},
		{"\x1b[2J\x1b[H", "\uFFFD[2J\uFFFD[H", "\uFFFD[2J\uFFFD[H"},
		{"x\r\nreauth: forged", "x\uFFFD\nreauth: forged", "x\uFFFD\uFFFDreauth: forged"},
		{"\u009b31m", "\uFFFD31m", "\uFFFD31m"}, // C1 CSI
		{"abc\u202Edef", "abc\uFFFDdef", "abc\uFFFDdef"},
		{"bad \xff byte", "bad \uFFFD byte", "bad \uFFFD byte"},
		{"\x7f", "\uFFFD", "\uFFFD"},
	}
	for _, tt := range tests {
		if got := Clean(tt.in); got != tt.clean {
			t.Errorf("Clean(%q) = %q; want %q", tt.in, got, tt.clean)
		}
		if got := Line(tt.in); got != tt.line {
			t.Errorf("Line(%q) = %q; want %q", tt.in, got, tt.line)
		}
		var b bytes.Buffer
		if n, err := Writer(&b).Write([]byte(tt.in)); err != nil || n != len(tt.in) || b.String() != tt.clean {
			t.Errorf("Writer.Write(%q) = %d, %v, wrote %q; want %q", tt.in, n, err, b.String(), tt.clean)
		}
	}
}

func FuzzClean(f *testing.F) {
	f.Add("\x1b]0;t\x07\r\n\xff")
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{Clean(s), Line(s)} {
			for _, r := range out {
				if unsafeRune(r, true) {
					t.Fatalf("Clean(%q) left %U", s, r)
				}
			}
		}
		for _, r := range Line(s) {
			if r == '\n' || r == '\t' {
				t.Fatalf("Line(%q) left a newline or tab", s)
			}
		}
	})
}
