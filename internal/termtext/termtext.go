// Package termtext makes text that came from elsewhere (a node's status reply, a remote
// command's output, a product's file, a database's error) safe to print on an operator's
// terminal: no control character reaches it, so such text can neither send escape sequences
// (retitle the window, move the cursor, recolour the screen) nor forge lines of reauth's own
// output.
package termtext

import (
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clean replaces every control character of s but newline and tab, every character that
// reorders text on screen (bidirectional overrides and isolates), and every byte that is not
// UTF-8 with U+FFFD.
func Clean(s string) string {
	if safe(s, true) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				b.WriteRune(utf8.RuneError)
				continue
			}
		}
		if unsafeRune(r, true) {
			b.WriteRune(utf8.RuneError)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Line is Clean for text shown on one line: newlines and tabs are replaced too.
func Line(s string) string {
	if safe(s, false) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unsafeRune(r, false) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

func safe(s string, lines bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unsafeRune(r, lines) {
			return false
		}
	}
	return true
}

func unsafeRune(r rune, lines bool) bool {
	switch {
	case r == '\n' || r == '\t':
		return !lines
	case unicode.IsControl(r): // C0, DEL and C1, ESC and BEL among them
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	}
	return false
}

// Writer cleans everything written through it (Clean), for an output stream whose text may
// quote remote sources. Each Write is cleaned as a whole; a UTF-8 sequence split between two
// writes is replaced, never passed on broken.
func Writer(w io.Writer) io.Writer { return writer{w} }

type writer struct{ w io.Writer }

func (c writer) Write(p []byte) (int, error) {
	s := string(p)
	if safe(s, true) {
		return c.w.Write(p)
	}
	if _, err := io.WriteString(c.w, Clean(s)); err != nil {
		return 0, err
	}
	return len(p), nil
}
