package products

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
)

// unescape reads the \uXXXX escapes JavaLower.java writes: UTF-16 units, surrogate pairs
// included.
func unescape(t *testing.T, s string) string {
	t.Helper()
	var units []uint16
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+5 < len(s) && s[i+1] == 'u' {
			u, err := strconv.ParseUint(s[i+2:i+6], 16, 16)
			if err != nil {
				t.Fatalf("unescape %q: %v", s, err)
			}
			units = append(units, uint16(u))
			i += 5
			continue
		}
		units = append(units, uint16(s[i]))
	}
	return string(utf16.Decode(units))
}

// TestCrowdLowerMatchesJava checks CrowdLower against what Java's String.toLowerCase(Locale.ENGLISH)
// printed for testdata/fold/names.txt (testdata/fold/java-lower.txt, written by JavaLower.java).
// Where a JDK is installed, the file is first checked against a fresh run of Java, so that it
// cannot drift from what Java does.
func TestCrowdLowerMatchesJava(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "fold", "java-lower.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if java, err := exec.LookPath("java"); err == nil {
		names, err := os.Open(filepath.Join("testdata", "fold", "names.txt"))
		if err != nil {
			t.Fatal(err)
		}
		defer names.Close()
		cmd := exec.Command(java, "JavaLower.java")
		cmd.Dir = filepath.Join("testdata", "fold")
		cmd.Stdin = names
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("java JavaLower.java: %v", err)
		}
		// The first line names the Java version.
		_, gotBody, _ := bytes.Cut(out, []byte("\n"))
		_, wantBody, _ := bytes.Cut(golden, []byte("\n"))
		if !bytes.Equal(gotBody, wantBody) {
			t.Fatalf("testdata/fold/java-lower.txt differs from what this machine's Java prints: regenerate it with\n  (cd products/testdata/fold && java JavaLower.java < names.txt > java-lower.txt)")
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(golden))
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		in, want, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		name, javaLower := unescape(t, in), unescape(t, want)
		got, exact := CrowdLower(name)
		n++
		if strings.ContainsRune(name, 'Σ') {
			if exact {
				t.Errorf("CrowdLower(%q) says exact; Java folds Σ by context (Java: %q)", name, javaLower)
			}
			continue
		}
		if !exact || got != javaLower {
			t.Errorf("CrowdLower(%q) = %q, %v; Java: %q", name, got, exact, javaLower)
		}
	}
	if n < 30 {
		t.Fatalf("only %d names checked", n)
	}
}
