package secrets

import (
	"bytes"
	"strings"
	"testing"
)

func TestScrub(t *testing.T) {
	var s Set
	s.Add("hunter2-long\n")
	s.Add("p@ss w/rd")
	s.Add("q7")
	s.Add("")
	for _, c := range []struct{ in, want string }{
		{"password=hunter2-long;", "password=xxxxx;"},
		{"hunter2-long\nnext", "xxxxx\nnext"},
		{"postgres://u:p%40ss%20w%2Frd@h/db", "postgres://u:xxxxx@h/db"},
		{`{"password":"p@ss w/rd"}`, `{"password":"xxxxx"}`},
		{"p%40ss+w%2Frd", "xxxxx"},
		// A short secret is masked where it stands alone, not inside other words.
		{"password q7 refused", "password xxxxx refused"},
		{"q7", "xxxxx"},
		{"(q7)", "(xxxxx)"},
		{"aq7 q7b q77 ÅQ7 Åq7", "aq7 q7b q77 ÅQ7 Åq7"},
		{"nothing here", "nothing here"},
	} {
		if got := s.Scrub(c.in); got != c.want {
			t.Errorf("Scrub(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	var empty *Set
	if got := empty.Scrub("hunter2-long"); got != "hunter2-long" {
		t.Errorf("nil set changed text: %q", got)
	}
	empty.Add("x") // must not panic
}

// A secret split across writes, at every point, is masked; nothing else is held back for good.
func TestWriterSplitSecrets(t *testing.T) {
	var s Set
	s.Add("correct-horse")
	s.Add("ab")
	text := "user ab: login with correct-horse failed; abc correct-hors ab"
	want := "user xxxxx: login with xxxxx failed; abc correct-hors xxxxx"
	for i := 0; i <= len(text); i++ {
		for j := i; j <= len(text); j++ {
			var out bytes.Buffer
			w := NewWriter(&out, func() *Set { return &s })
			for _, part := range []string{text[:i], text[i:j], text[j:]} {
				if n, err := w.Write([]byte(part)); n != len(part) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if out.String() != want {
				t.Fatalf("split at %d,%d: %q", i, j, out.String())
			}
		}
	}
}

// Secrets learnt after the writer was made are masked from then on.
func TestWriterLearns(t *testing.T) {
	var s *Set
	var out bytes.Buffer
	w := NewWriter(&out, func() *Set { return s })
	w.Write([]byte("before sekret-1\n"))
	s = &Set{}
	s.Add("sekret-1")
	w.Write([]byte("after sekret-1\n"))
	w.Flush()
	if got := out.String(); got != "before sekret-1\nafter xxxxx\n" {
		t.Errorf("got %q", got)
	}
	if strings.Contains(strings.Join(s.Values(), ","), "\n") {
		t.Error("a form keeps the line end")
	}
}
