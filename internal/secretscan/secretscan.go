// Package secretscan holds every password and secret a test binary uses, and finds any of them in
// what reauth printed, wrote or sent to a node: the suite's proof that secrets never leave the
// places the config names.
//
// A test support package or a test registers each secret when it makes or writes one (a server's
// random password, a literal password in a config fixture, an admin password for a simulated
// node), under a label that says what it is. The helpers that run reauth hand its stdout and
// stderr to Check, name the files it writes (backup_dir, the audit log) to CheckAtCleanup, and the
// private sshd of restart/sshtest logs every remote command and checks the log when its test ends.
// A finding fails the test with the place, the secret's label and the text around it with the
// secret masked; the secret itself is never printed.
//
// Matching rule. Each secret is looked for as it is and in the forms it takes on its way out:
// percent-encoded (query, path and URL userinfo escaping), escaped in a JSON string (with and
// without HTML escaping), and in standard base64 (Atlassian's "basic encryption"). A secret of 4 or
// more characters matches anywhere, as a substring. A shorter one would turn up inside ordinary
// words and numbers by coincidence, so it matches only as a whole token: where the characters on
// either side of it, if any, are not letters or digits ("abc" is found in `pw=abc;` and "abc", not
// in "abcd" or "xabc").
//
// A literal secret in a test must be one that no output holds by chance: not a word, and when
// short, with a character that hex and base64 never use (outputs carry much of both).
//
// The registry is per test binary: secrets registered by one package's tests are looked for in
// that package's outputs.
package secretscan

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"
)

// ShortLen is the length (in characters) below which a secret matches only as a whole token.
const ShortLen = 4

// Finding is one registered secret found in a text.
type Finding struct {
	Label   string // the secret's registration label
	Form    string // how it appeared: "as is", "percent-encoded", "JSON-escaped", "base64"
	Context string // the text around it, every registered secret masked as <SECRET>
}

func (f Finding) String() string {
	return fmt.Sprintf("secret %q (%s) near %q", f.Label, f.Form, f.Context)
}

type form struct {
	name string
	text []byte
}

type secret struct {
	label string
	short bool
	forms []form
}

var (
	mu      sync.RWMutex
	secrets = map[string]*secret{} // by value
)

// Register records value as a secret under label and returns value, so that a password can be
// registered where it is made: Password: secretscan.Register("dbtest: postgres user", pw). An
// empty value is ignored; registering a value again keeps its first label.
func Register(label, value string) string {
	if value == "" {
		return value
	}
	mu.Lock()
	defer mu.Unlock()
	if _, ok := secrets[value]; !ok {
		secrets[value] = &secret{label: label, short: utf8.RuneCountInString(value) < ShortLen, forms: forms(value)}
	}
	return value
}

// Labels returns the labels of the registered secrets, sorted.
func Labels() []string {
	mu.RLock()
	defer mu.RUnlock()
	var out []string
	for _, s := range secrets {
		out = append(out, s.label)
	}
	sort.Strings(out)
	return out
}

// forms is value as it is and in each encoding that differs from it.
func forms(value string) []form {
	out := []form{{"as is", []byte(value)}}
	add := func(name, text string) {
		for _, f := range out {
			if string(f.text) == text {
				return
			}
		}
		out = append(out, form{name, []byte(text)})
	}
	add("percent-encoded", url.QueryEscape(value))
	add("percent-encoded", url.PathEscape(value))
	if u := url.UserPassword("u", value).String(); strings.HasPrefix(u, "u:") {
		add("percent-encoded", u[len("u:"):])
	}
	for _, html := range []bool{true, false} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		if err := enc.Encode(value); err == nil {
			s := strings.TrimSpace(b.String())
			add("JSON-escaped", s[1:len(s)-1])
		}
	}
	add("base64", base64.RawStdEncoding.EncodeToString([]byte(value)))
	return out
}

// Scan returns the registered secrets found in text, one finding per secret (its first
// occurrence in the first form that matches).
func Scan(text []byte) []Finding {
	mu.RLock()
	defer mu.RUnlock()
	var out []Finding
	for _, s := range secrets {
		for _, f := range s.forms {
			if i := index(text, f.text, s.short); i >= 0 {
				out = append(out, Finding{Label: s.label, Form: f.name, Context: maskedContext(text, i, len(f.text))})
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}

// index is the offset of the first match of pat in text under the matching rule, or -1.
func index(text, pat []byte, token bool) int {
	for off := 0; ; {
		i := bytes.Index(text[off:], pat)
		if i < 0 {
			return -1
		}
		i += off
		if !token || bounded(text, i, i+len(pat)) {
			return i
		}
		off = i + 1
	}
}

// bounded reports whether text[start:end] has no letter or digit right before or after it.
func bounded(text []byte, start, end int) bool {
	if start > 0 {
		r, _ := utf8.DecodeLastRune(text[:start])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	if end < len(text) {
		r, _ := utf8.DecodeRune(text[end:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// maskedContext is up to 60 bytes either side of text[i:i+n], on one line, with every registered
// secret in it (in any form) replaced by <SECRET>. mu is held.
func maskedContext(text []byte, i, n int) string {
	const side = 60
	start, end := max(0, i-side), min(len(text), i+n+side)
	// Widen to whole secrets, so that masking cannot leave part of one at either edge.
	for _, s := range secrets {
		for _, f := range s.forms {
			for _, j := range []int{start, end} {
				lo := max(0, j-len(f.text)+1)
				hi := min(len(text), j+len(f.text)-1)
				if k := bytes.Index(text[lo:hi], f.text); k >= 0 {
					start, end = min(start, lo+k), max(end, lo+k+len(f.text))
				}
			}
		}
	}
	ctx := []byte(string(text[start:end]))
	for _, s := range secrets {
		for _, f := range s.forms {
			ctx = mask(ctx, f.text, s.short)
		}
	}
	return strings.ToValidUTF8(string(ctx), "?")
}

func mask(text, pat []byte, token bool) []byte {
	var b bytes.Buffer
	for {
		i := index(text, pat, token)
		if i < 0 {
			b.Write(text)
			return b.Bytes()
		}
		b.Write(text[:i])
		b.WriteString("<SECRET>")
		text = text[i+len(pat):]
	}
}

// ScanFile returns the registered secrets found in the file at path.
func ScanFile(path string) ([]Finding, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Scan(b), nil
}

// ScanPath scans path: a file, or every regular file under a directory. The findings are keyed
// by file. A path that does not exist has none.
func ScanPath(path string) (map[string][]Finding, error) {
	out := map[string][]Finding{}
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == path && os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fs, err := ScanFile(p)
		if err != nil {
			return err
		}
		if len(fs) > 0 {
			out[p] = fs
		}
		return nil
	})
	return out, err
}

// Check fails t for every registered secret found in text, naming where the text came from.
func Check(t testing.TB, where, text string) {
	t.Helper()
	for _, f := range Scan([]byte(text)) {
		t.Errorf("secretscan: %s holds the %s", where, f)
	}
}

// CheckPath fails t for every registered secret found in path (a file, or the files under a
// directory; a missing path holds none), naming the file.
func CheckPath(t testing.TB, where, path string) {
	t.Helper()
	found, err := ScanPath(path)
	if err != nil {
		t.Errorf("secretscan: scanning %s (%s): %v", where, path, err)
	}
	files := make([]string, 0, len(found))
	for p := range found {
		files = append(files, p)
	}
	sort.Strings(files)
	for _, p := range files {
		for _, f := range found[p] {
			t.Errorf("secretscan: %s %s holds the %s", where, p, f)
		}
	}
}

var (
	watchMu sync.Mutex
	watched = map[testing.TB]map[string]bool{}
)

// CheckAtCleanup checks path with CheckPath when t ends (once per test and path, however often
// it is named). Cleanups run last-registered first, so a path under t.TempDir is scanned before
// the folder is removed as long as the folder was made before this call.
func CheckAtCleanup(t testing.TB, where, path string) {
	t.Helper()
	path = filepath.Clean(path)
	watchMu.Lock()
	defer watchMu.Unlock()
	if watched[t] == nil {
		watched[t] = map[string]bool{}
		t.Cleanup(func() {
			watchMu.Lock()
			delete(watched, t)
			watchMu.Unlock()
		})
	}
	if watched[t][path] {
		return
	}
	watched[t][path] = true
	t.Cleanup(func() { CheckPath(t, where, path) })
}

// Recorder stands in for a test to collect what a check reports, for tests that plant a secret
// on purpose: Errorf is recorded, everything else goes to the test.
type Recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *Recorder) Helper() {}

func (r *Recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// Errors returns what Errorf recorded, one message a line.
func (r *Recorder) Errors() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errors, "\n")
}
