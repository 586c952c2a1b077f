package main

import (
	"bytes"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/reauth/reauth/products/producttest"
)

// TestConfirmAtTerminal runs the real binary on a pseudo-terminal: typing the environment's
// name proceeds; anything else aborts and changes nothing.
func TestConfirmAtTerminal(t *testing.T) {
	bin := reauthBinary(t)
	for _, tc := range []struct {
		typed   string
		proceed bool
	}{
		{"staging", true},
		{"production", false},
		{"", false},
		{"Staging", false},
	} {
		t.Run("typed "+tc.typed, func(t *testing.T) {
			e, _, pool, _ := jiraEnv(t, "postgres", 50)
			before := producttest.Digest(t, pool, "remembermetoken")
			cmd := exec.Command(bin, "--config", e.config, "clear", "--target", "jira")
			tty, err := pty.Start(cmd)
			if err != nil {
				t.Fatalf("pty: %v", err)
			}
			defer tty.Close()
			var out bytes.Buffer
			done := make(chan struct{})
			go func() { io.Copy(&out, tty); close(done) }()
			deadline := time.Now().Add(20 * time.Second)
			for !strings.Contains(out.String(), "Type the environment name (staging)") {
				if time.Now().After(deadline) {
					t.Fatalf("no prompt; the terminal shows:\n%s", out.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			tty.Write([]byte(tc.typed + "\r"))
			err = cmd.Wait()
			<-done
			watch(t, cmd.Args[1:], out.String(), "") // the terminal: stdout and stderr in one
			after := producttest.Digest(t, pool, "remembermetoken")
			if tc.proceed {
				if err != nil || producttest.Count(t, pool, "remembermetoken") != 0 {
					t.Errorf("typed the environment name: %v; want the tokens cleared\n%s", err, out.String())
				}
				return
			}
			if err == nil || after != before || !strings.Contains(out.String(), "aborted") {
				t.Errorf("typed %q: %v; want an abort that changes nothing\n%s", tc.typed, err, out.String())
			}
		})
	}
}

// TestNoControlCharactersWithoutTerminal: with stderr not a terminal, progress is plain lines.
func TestNoControlCharactersWithoutTerminal(t *testing.T) {
	e, _, _, _ := jiraEnv(t, "postgres", 3000)
	r := e.run(t, "clear", "--target", "jira", "--yes", "--batch-size", "100").mustSucceed(t)
	if strings.ContainsAny(r.stderr+r.stdout, "\x1b\r") {
		t.Errorf("control characters in the output:\n%q", r.stderr)
	}
	if !strings.Contains(r.stderr, "clear jira: 3000 of 3000 rows") {
		t.Errorf("no plain progress lines on stderr:\n%s", r.stderr)
	}
}
