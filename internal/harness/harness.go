// Package harness holds what the test harnesses that start private servers (dbtest, sshtest,
// gitlabtest) share: child processes tied to the test binary's life, private folders swept
// after killed runs, free loopback ports, the CI rule for missing prerequisites, log tails.
package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a server child process. It is started from a goroutine locked to its OS thread that
// stays alive as long as the child: Linux delivers the parent-death signal when the thread that
// forked the child exits, so this keeps the signal for the death of the test binary alone.
type Process struct {
	Cmd *exec.Cmd
	// Done is closed once the process has exited.
	Done chan struct{}
	err  error // cmd.Wait's result, set before Done is closed
}

// Start starts cmd as a Process.
func Start(cmd *exec.Cmd) (*Process, error) {
	p := &Process{Cmd: cmd, Done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.Done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// WaitErr is cmd.Wait's result; only once Done is closed.
func (p *Process) WaitErr() error { return p.err }

// ExitErr is nil while the process runs, and says how it ended once it has.
func (p *Process) ExitErr() error {
	select {
	case <-p.Done:
		if p.err == nil {
			return errors.New("exited with status 0")
		}
		return p.err
	default:
		return nil
	}
}

// CI reports whether the tests run with CI=true, where a missing prerequisite fails them.
func CI() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv("CI")))
	return v == "true" || v == "1"
}

// SkipOrFail skips the test for a missing prerequisite, or fails it when CI=true.
func SkipOrFail(t testing.TB, msg string) {
	t.Helper()
	if CI() {
		t.Fatal(msg + " (CI=true: a missing prerequisite is a failure)")
	}
	t.Skip(msg)
}

// Find returns the absolute path of binary from PATH, else from the first of dirs that holds
// it as an executable file.
func Find(binary string, dirs ...string) (string, bool) {
	if p, err := exec.LookPath(binary); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs, true
		}
		return p, true
	}
	for _, d := range dirs {
		p := filepath.Join(d, binary)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// OwnedDir creates a private folder in parent named prefix and a random suffix, with mode
// mode, and records this test binary as its owner for Sweep. It sweeps parent first.
func OwnedDir(parent, prefix string, mode os.FileMode) (string, error) {
	Sweep(parent, prefix)
	dir, err := os.MkdirTemp(parent, prefix)
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, mode); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return "", err
	}
	return dir, nil
}

var (
	sweepMu    sync.Mutex
	sweptPaths = map[string]bool{}
)

// Sweep removes the folders made by OwnedDir in parent with prefix whose test binaries were
// killed (their servers died with them): those whose owner process is gone, or that have no
// owner and are over an hour old, unless a file named keep marks them. Once per parent and
// prefix in a test binary.
func Sweep(parent, prefix string) {
	sweepMu.Lock()
	defer sweepMu.Unlock()
	if sweptPaths[parent+"\x00"+prefix] {
		return
	}
	sweptPaths[parent+"\x00"+prefix] = true
	dirs, _ := filepath.Glob(filepath.Join(parent, prefix+"*"))
	for _, d := range dirs {
		fi, err := os.Lstat(d)
		if err != nil || !fi.IsDir() {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Geteuid() {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "keep")); err == nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			if time.Since(fi.ModTime()) > time.Hour {
				_ = os.RemoveAll(d)
			}
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}

// FreePort asks the kernel for a free port on host (a loopback address). Another process can
// take it before the server binds it: starts retry with a new port when the bind fails.
func FreePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RandomHex is n random bytes in hexadecimal, for passwords and names.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go ≥ 1.24)
	return hex.EncodeToString(b)
}

// Tail returns the last lines of a log file, indented, for error messages.
func Tail(path string) string {
	const maxBytes, maxLines = 6000, 40
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	if len(b) > maxBytes {
		b = b[len(b)-maxBytes:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	return "\t" + strings.Join(lines, "\n\t")
}

// Recorder stands in for a test to observe Fatal and Skip, which end its goroutine: for tests
// of the harnesses themselves. See Capture.
type Recorder struct {
	testing.TB
	mu                sync.Mutex
	FatalMsg, SkipMsg string // the messages, if the function failed or skipped
}

func (r *Recorder) Helper() {}

func (r *Recorder) end(msg *string, args ...any) {
	r.mu.Lock()
	*msg = fmt.Sprint(args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *Recorder) Fatal(args ...any) { r.end(&r.FatalMsg, args...) }
func (r *Recorder) Fatalf(format string, args ...any) {
	r.end(&r.FatalMsg, fmt.Sprintf(format, args...))
}
func (r *Recorder) Skip(args ...any)                 { r.end(&r.SkipMsg, args...) }
func (r *Recorder) Skipf(format string, args ...any) { r.end(&r.SkipMsg, fmt.Sprintf(format, args...)) }

// Capture runs fn with a Recorder in place of t and returns it once fn has returned, failed or
// skipped.
func Capture(t testing.TB, fn func(tb testing.TB)) *Recorder {
	r := &Recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r
}

// SilentListener listens on 127.0.0.1 and accepts every connection but never reads or writes:
// a server that hangs right after the dial. It returns the listener's port; the listener and
// its connections close when the test ends.
func SilentListener(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr).Port
}

// RunTool runs a short-lived server tool (initdb, mariadb-install-db) to completion with
// Start's parent-death protection, its output going to logPath, and kills it when ctx ends.
// Its errors quote the end of that output.
func RunTool(ctx context.Context, cmd *exec.Cmd, logPath string) error {
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	p, err := Start(cmd)
	if err != nil {
		return fmt.Errorf("%s: %w", cmd.Path, err)
	}
	select {
	case <-p.Done:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-p.Done
		return fmt.Errorf("%s did not finish: %w; its output (%s):\n%s", filepath.Base(cmd.Path), ctx.Err(), logPath, Tail(logPath))
	}
	if err := p.WaitErr(); err != nil {
		return fmt.Errorf("%s failed: %v; its output (%s):\n%s", filepath.Base(cmd.Path), err, logPath, Tail(logPath))
	}
	return nil
}

// ServerUser is who a database server runs as. PostgreSQL refuses to run as root, so a root
// process runs it as the postgres OS user, else nobody: u is that user and cred its credential,
// with root's supplementary groups dropped (Groups empty, NoSetGroups false). Not root, cred and
// u are nil and uid and gid -1.
func ServerUser() (cred *syscall.Credential, u *user.User, uid, gid int, err error) {
	if os.Geteuid() != 0 {
		return nil, nil, -1, -1, nil
	}
	if u, err = user.Lookup("postgres"); err != nil {
		if u, err = user.Lookup("nobody"); err != nil {
			return nil, nil, -1, -1, errors.New("running as root, and neither the postgres nor the nobody OS user exists to run the server as (it refuses to run as root)")
		}
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, u, uid, gid, nil
}
