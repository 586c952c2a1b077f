package sshtest_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/reauth/reauth/internal/harness"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"

	"github.com/reauth/reauth/internal/secretscan"
	"github.com/reauth/reauth/restart/sshtest"
)

const (
	node1 = "127.0.0.2"
	node2 = "127.0.0.3"
)

func TestServer(t *testing.T) {
	s := sshtest.Start(t, node1, node2)
	key := identity(t, s)

	t.Run("files", func(t *testing.T) {
		for path, want := range map[string]os.FileMode{s.Dir: 0o700, s.IdentityFile: 0o600} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s: mode %o, want %o", path, got, want)
			}
		}
		b, err := os.ReadFile(s.KnownHosts)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range s.Hosts {
			want := fmt.Sprintf("[%s]:%d %s", h, s.Port, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.HostKey))))
			if !strings.Contains(string(b), want+"\n") {
				t.Errorf("known_hosts lacks %q:\n%s", want, b)
			}
		}
	})

	t.Run("exec", func(t *testing.T) {
		for _, h := range s.Hosts {
			c, err := dial(s, h, s.KnownHosts, key)
			if err != nil {
				t.Fatalf("%s: %v", h, err)
			}
			out, err := run(c, "echo hello; id -u; exit 3")
			c.Close()
			if want := fmt.Sprintf("hello\n%d\n", os.Geteuid()); out != want {
				t.Errorf("%s: output %q, want %q", h, out, want)
			}
			var exit *ssh.ExitError
			if !errors.As(err, &exit) || exit.ExitStatus() != 3 {
				t.Errorf("%s: error %v, want exit status 3", h, err)
			}
		}
	})

	t.Run("changed host key", func(t *testing.T) {
		kh := s.KnownHostsWith(t, node2)
		_, err := dial(s, node2, kh, key)
		if !knownhosts.IsHostKeyChanged(err) {
			t.Errorf("%s with a changed key in known_hosts: error %v, want a changed-host-key error", node2, err)
		}
		c, err := dial(s, node1, kh, key) // the other host keeps its real key
		if err != nil {
			t.Fatalf("%s: %v", node1, err)
		}
		c.Close()
	})

	t.Run("unknown host", func(t *testing.T) {
		kh := s.KnownHostsWithout(t, node1)
		_, err := dial(s, node1, kh, key)
		if !knownhosts.IsHostUnknown(err) {
			t.Errorf("%s missing from known_hosts: error %v, want an unknown-host error", node1, err)
		}
		c, err := dial(s, node2, kh, key)
		if err != nil {
			t.Fatalf("%s: %v", node2, err)
		}
		c.Close()
	})

	t.Run("password refused", func(t *testing.T) {
		pw := secretscan.Register("sshtest: password offered to sshd", "Refused-pw-1")
		answer := func(string, string, []string, []bool) ([]string, error) { return []string{pw}, nil }
		_, err := dial(s, node1, s.KnownHosts, ssh.Password(pw), ssh.KeyboardInteractive(answer))
		if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
			t.Fatalf("login with a password: error %v, want unable to authenticate", err)
		}
		// The server offers public keys only: the client never got to try its methods.
		if !strings.Contains(err.Error(), "attempted methods [none]") {
			t.Errorf("login with a password: %v; want no password or keyboard-interactive attempt", err)
		}
	})

	t.Run("openssh client", func(t *testing.T) {
		if _, err := os.Stat("/usr/bin/ssh"); err != nil {
			t.Skip("/usr/bin/ssh not installed")
		}
		ssh := func(knownHosts, host string) (string, error) {
			cmd := exec.Command("/usr/bin/ssh", "-F", "/dev/null", "-o", "BatchMode=yes",
				"-o", "UserKnownHostsFile="+knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
				"-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10",
				"-i", s.IdentityFile, "-p", strconv.Itoa(s.Port), s.User+"@"+host, "echo ok")
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		for _, h := range s.Hosts {
			if out, err := ssh(s.KnownHosts, h); err != nil || out != "ok\n" {
				t.Errorf("ssh %s: %v: %q", h, err, out)
			}
		}
		if out, err := ssh(s.KnownHostsWithout(t, node1), node1); err == nil || !strings.Contains(out, "Host key verification failed") {
			t.Errorf("ssh to a host missing from known_hosts: %v: %q, want Host key verification failed", err, out)
		}
		if out, err := ssh(s.KnownHostsWith(t, node1), node1); err == nil || !strings.Contains(out, "REMOTE HOST IDENTIFICATION HAS CHANGED") {
			t.Errorf("ssh to a host with a changed key: %v: %q, want a changed-identification error", err, out)
		}
	})

	t.Run("kill and restart", func(t *testing.T) {
		c, err := dial(s, node1, s.KnownHosts, key)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := sess.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := sess.Start("echo $$; exec sleep 30"); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		sleepPID, err := strconv.Atoi(strings.TrimSpace(line))
		if err != nil {
			t.Fatalf("pid %q: %v", line, err)
		}
		waited := make(chan error, 1)
		go func() { waited <- sess.Wait() }()

		t0 := time.Now()
		s.Kill(t)
		select {
		case err := <-waited:
			if err == nil {
				t.Errorf("sleep 30 ended without error when sshd was killed")
			}
			t.Logf("session dropped %v after Kill: %v", time.Since(t0).Round(time.Millisecond), err)
		case <-time.After(5 * time.Second):
			t.Fatalf("sleep 30 still running 5s after Kill")
		}
		if alive(sleepPID) {
			t.Errorf("the remote sleep (pid %d) survived Kill", sleepPID)
		}
		if s.Running() {
			t.Errorf("Running after Kill")
		}
		s.Kill(t) // a second Kill does nothing
		for _, h := range s.Hosts {
			if c, err := net.DialTimeout("tcp", s.Addr(h), 2*time.Second); err == nil {
				c.Close()
				t.Errorf("%s accepts connections after Kill", s.Addr(h))
			}
		}

		s.Restart(t)
		if !s.Running() {
			t.Errorf("not Running after Restart")
		}
		for _, h := range s.Hosts {
			c, err := dial(s, h, s.KnownHosts, key) // same port, same host key
			if err != nil {
				t.Fatalf("%s after Restart: %v", h, err)
			}
			out, err := run(c, "echo back")
			c.Close()
			if err != nil || out != "back\n" {
				t.Errorf("%s after Restart: %v: %q", h, err, out)
			}
		}
	})

	t.Run("parallel sessions", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := dial(s, s.Hosts[i%len(s.Hosts)], s.KnownHosts, key)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				if out, err := run(c, "echo "+strconv.Itoa(i)); err != nil || out != strconv.Itoa(i)+"\n" {
					errs <- fmt.Errorf("session %d: %v: %q", i, err, out)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// TestRestartPortTaken: sshd keeps running when it binds some of its addresses but not others;
// Restart must notice and fail rather than leave a node unreachable.
// TestCommandLog: every command a client runs is logged, runs as it would without the log, and
// a secret in one fails the test when the server's cleanup scans the log.
func TestCommandLog(t *testing.T) {
	const label = "sshtest: planted in a remote command"
	pw := secretscan.Register(label, harness.RandomHex(12))
	rec := &secretscan.Recorder{TB: t}
	t.Cleanup(func() { // runs after the server's cleanup, which scans the log
		msg := rec.Errors()
		if !strings.Contains(msg, label) || !strings.Contains(msg, "PGPASSWORD=<SECRET> true") {
			t.Errorf("cleanup reported %q; want the secret's label and the command, masked", msg)
		}
		if strings.Contains(msg, pw) {
			t.Errorf("cleanup's report shows the secret: %q", msg)
		}
	})
	s := sshtest.Start(rec, node1)
	c, err := dial(s, node1, s.KnownHosts, identity(t, s))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cmds := []string{`printf '%s|' "a b" 'c'\''d'` + "\nexit 0", "PGPASSWORD=" + pw + " true; echo done"}
	for i, want := range []string{"a b|c'd|", "done\n"} {
		if out, err := run(c, cmds[i]); err != nil || out != want {
			t.Errorf("run(%q) = %q, %v; want %q", cmds[i], out, err, want)
		}
	}
	if got := s.Commands(); strings.Join(got, "|") != strings.Join(cmds, "|") {
		t.Errorf("Commands() = %q; want %q", got, cmds)
	}
}

func TestRestartPortTaken(t *testing.T) {
	s := sshtest.Start(t, node1, node2)
	s.Kill(t)
	l, err := net.Listen("tcp4", s.Addr(node2))
	if err != nil {
		t.Fatal(err)
	}
	r := harness.Capture(t, func(tb testing.TB) { s.Restart(tb) })
	l.Close()
	t.Logf("Restart with %s taken: %s", s.Addr(node2), strings.SplitN(r.FatalMsg, "\n", 2)[0])
	if !strings.Contains(r.FatalMsg, "taken by another process") || !strings.Contains(r.FatalMsg, "Address already in use") {
		t.Errorf("Restart with %s taken: fatal %q", s.Addr(node2), r.FatalMsg)
	}
	if s.Running() {
		t.Errorf("sshd left running on %s alone", node1)
	}
	s.Restart(t)
	for _, h := range s.Hosts {
		c, err := dial(s, h, s.KnownHosts, identity(t, s))
		if err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		c.Close()
	}
}

func TestStartRejectsNonLoopback(t *testing.T) {
	for _, h := range []string{"10.0.0.1", "0.0.0.0", "::1", "localhost", "128.0.0.1"} {
		r := harness.Capture(t, func(tb testing.TB) { sshtest.Start(tb, h) })
		if !strings.Contains(r.FatalMsg, "not an IPv4 loopback address") {
			t.Errorf("Start(%q): fatal %q, skip %q; want a refusal", h, r.FatalMsg, r.SkipMsg)
		}
	}
	r := harness.Capture(t, func(tb testing.TB) { sshtest.Start(tb, node1, "::ffff:127.0.0.2") })
	if !strings.Contains(r.FatalMsg, "given twice") {
		t.Errorf("Start with a repeated host: fatal %q", r.FatalMsg)
	}
}

func TestRequireMissing(t *testing.T) {
	const bin = "reauth-sshtest-no-such-binary"
	t.Setenv("CI", "")
	r := harness.Capture(t, func(tb testing.TB) { sshtest.Require(tb, bin, "no-such-package") })
	if !strings.Contains(r.SkipMsg, bin) || !strings.Contains(r.SkipMsg, "no-such-package") || r.FatalMsg != "" {
		t.Errorf("without CI: skip %q, fatal %q; want a skip naming the binary and package", r.SkipMsg, r.FatalMsg)
	}
	t.Setenv("CI", "true")
	r = harness.Capture(t, func(tb testing.TB) { sshtest.Require(tb, bin, "no-such-package") })
	if !strings.Contains(r.FatalMsg, bin) || r.SkipMsg != "" {
		t.Errorf("with CI=true: skip %q, fatal %q; want a failure", r.SkipMsg, r.FatalMsg)
	}
}

// ---------------------------------------------------------------------------------------------

func identity(t testing.TB, s *sshtest.Server) ssh.AuthMethod {
	t.Helper()
	b, err := os.ReadFile(s.IdentityFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return ssh.PublicKeys(signer)
}

func dial(s *sshtest.Server, host, knownHostsFile string, auth ...ssh.AuthMethod) (*ssh.Client, error) {
	db, err := knownhosts.NewDB(knownHostsFile)
	if err != nil {
		return nil, err
	}
	addr := s.Addr(host)
	return ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User:              s.User,
		Auth:              auth,
		HostKeyCallback:   db.HostKeyCallback(),
		HostKeyAlgorithms: db.HostKeyAlgorithms(addr),
		Timeout:           10 * time.Second,
	})
}

// run runs cmd in a new session and returns its stdout.
func run(c *ssh.Client, cmd string) (string, error) {
	sess, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	var out, errOut bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errOut
	err = sess.Run(cmd)
	if errOut.Len() > 0 && err == nil {
		err = fmt.Errorf("stderr: %s", errOut.String())
	}
	return out.String(), err
}

// alive reports whether pid is a live process (a zombie awaiting its reaper is dead).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(string(b[i+1:])), "Z")
}
