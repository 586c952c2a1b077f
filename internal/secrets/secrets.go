// Package secrets keeps the passwords one reauth invocation has learnt (from the config, the
// environment, password files, URLs and the products' own files) and removes them from text
// at the edges where text leaves reauth: the terminal, the audit log, reports.
//
// A password is recorded once, where it is resolved, with the forms it may take in other
// text (URL-escaped, JSON-escaped). Scrubbing replaces every occurrence with Mask. Values of
// MinSubstring or more bytes are replaced wherever they occur; shorter ones only where they
// stand as a whole token (not inside a longer run of letters and digits), because a one- to
// three-character password occurs by chance inside ordinary words, and masking it there would
// leave output unreadable without hiding anything.
package secrets

import (
	"encoding/json"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Mask replaces a secret in scrubbed text.
const Mask = "xxxxx"

// MinSubstring is the least length (in bytes) of a value masked wherever it occurs.
const MinSubstring = 4

// Set is the secrets of one invocation. The zero value is empty and ready; a nil *Set holds
// nothing. It is safe for concurrent use.
type Set struct {
	mu   sync.RWMutex
	seen map[string]bool
	vals []string // longest first, so that a secret containing another is masked whole
}

// Add records a password and the forms it takes when written into a URL or a JSON string.
// A trailing line end is not part of it (files end with one); the form without surrounding
// spaces is recorded too.
func (s *Set) Add(v string) {
	if s == nil {
		return
	}
	forms := []string{strings.TrimRight(v, "\r\n"), strings.TrimSpace(v)}
	t := strings.TrimSpace(v)
	forms = append(forms, url.QueryEscape(t), url.PathEscape(t), (&url.URL{User: url.UserPassword("u", t)}).User.String()[2:])
	if b, err := json.Marshal(t); err == nil && len(b) >= 2 {
		forms = append(forms, string(b[1:len(b)-1]))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	added := false
	for _, f := range forms {
		if f == "" || s.seen[f] {
			continue
		}
		s.seen[f] = true
		s.vals = append(s.vals, f)
		added = true
	}
	if added {
		sort.SliceStable(s.vals, func(i, j int) bool { return len(s.vals[i]) > len(s.vals[j]) })
	}
}

// Values returns every recorded form, longest first.
func (s *Set) Values() []string {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]string(nil), s.vals...)
}

// Scrub returns text with every recorded secret replaced by Mask.
func (s *Set) Scrub(text string) string {
	return s.scrub(text, len(text))
}

// scrub returns text[:end] with its secrets masked; text[end:] is only looked at to tell
// whether a short secret ending at end stands alone.
func (s *Set) scrub(text string, end int) string {
	vals := s.Values()
	if len(vals) == 0 || end == 0 {
		return text[:end]
	}
	head := text[:end]
	for _, v := range vals {
		if len(v) >= MinSubstring {
			if strings.Contains(head, v) {
				head = strings.ReplaceAll(head, v, Mask)
			}
			continue
		}
		head = maskTokens(head, text[end:], v)
	}
	return head
}

// maskTokens replaces v in head where it is a whole token; rest is the text that follows head.
func maskTokens(head, rest string, v string) string {
	if !strings.Contains(head, v) {
		return head
	}
	var b strings.Builder
	i := 0
	for {
		j := strings.Index(head[i:], v)
		if j < 0 {
			break
		}
		j += i
		k := j + len(v)
		before := j == 0 || !wordRune(lastRune(head[:j]))
		var after bool
		switch {
		case k < len(head):
			after = !wordRune(firstRune(head[k:]))
		case rest != "":
			after = !wordRune(firstRune(rest))
		default:
			after = true // the end of the text
		}
		if before && after {
			b.WriteString(head[i:j])
			b.WriteString(Mask)
		} else {
			b.WriteString(head[i:k])
		}
		i = k
	}
	b.WriteString(head[i:])
	return b.String()
}

func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func lastRune(s string) rune  { r, _ := utf8.DecodeLastRuneInString(s); return r }
func firstRune(s string) rune { r, _ := utf8.DecodeRuneInString(s); return r }

// holdback is how many bytes at the end of text might be the start of a secret that the next
// write completes (or a short secret whose following character is not known yet).
func (s *Set) holdback(text string) int {
	keep := 0
	for _, v := range s.Values() {
		max := len(v) - 1
		if len(v) < MinSubstring {
			max = len(v)
		}
		if max > len(text) {
			max = len(text)
		}
		for k := max; k > keep; k-- {
			if strings.HasSuffix(text, v[:k]) {
				keep = k
				break
			}
		}
	}
	return keep
}

// Writer scrubs what is written through it before passing it on. A write that ends with
// what may be the first part of a secret keeps that part back until the next write (or
// Flush) shows whether it is one, so that a secret split across two writes is masked too.
type Writer struct {
	w       io.Writer
	set     func() *Set
	mu      sync.Mutex
	pending string
}

// NewWriter returns a Writer onto w; set is asked for the current secrets at every write,
// since they grow as the invocation resolves passwords.
func NewWriter(w io.Writer, set func() *Set) *Writer {
	return &Writer{w: w, set: set}
}

// Write scrubs and writes p, keeping back a possible partial secret at its end. It reports
// len(p) written unless the underlying writer fails.
func (sw *Writer) Write(p []byte) (int, error) {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	set := sw.set()
	text := sw.pending + string(p)
	keep := set.holdback(text)
	end := len(text) - keep
	out := set.scrub(text, end)
	sw.pending = text[end:]
	if out == "" {
		return len(p), nil
	}
	if _, err := io.WriteString(sw.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what was kept back.
func (sw *Writer) Flush() error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.pending == "" {
		return nil
	}
	out := sw.set().Scrub(sw.pending)
	sw.pending = ""
	_, err := io.WriteString(sw.w, out)
	return err
}
