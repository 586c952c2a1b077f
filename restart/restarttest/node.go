package restarttest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reauth/reauth/products"
)

// client talks to nodes: a fresh connection per request, since nodes go away and come back.
var client = &http.Client{
	Timeout:       10 * time.Second,
	Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Node is a simnode running as a child process of the test.
type Node struct {
	Config     Config
	ConfigPath string
	LogPath    string // its stdout and stderr

	cmd  *exec.Cmd
	done chan struct{}
	err  error // cmd.Wait's result, set before done is closed
}

// StartNode writes cfg to dir and starts bin (from BuildSimnode) on it. The node is killed
// when the test ends if it still runs, and dies with the test binary.
func StartNode(t testing.TB, bin, dir string, cfg Config) *Node {
	t.Helper()
	n := &Node{Config: cfg, ConfigPath: WriteConfig(t, dir, cfg), LogPath: filepath.Join(dir, cfg.Node+".log"),
		done: make(chan struct{})}
	logf, err := os.OpenFile(n.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("restarttest: %v", err)
	}
	defer logf.Close()
	n.cmd = exec.Command(bin, n.ConfigPath)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	started := make(chan error, 1)
	go func() {
		// Linux sends the parent-death signal when the forking thread exits: keep it alive
		// as long as the child.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := n.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		n.err = n.cmd.Wait()
		close(n.done)
	}()
	if err := <-started; err != nil {
		t.Fatalf("restarttest: start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		if !n.Exited() {
			_ = n.cmd.Process.Kill()
			<-n.done
		}
	})
	return n
}

// URL is the node's base URL.
func (n *Node) URL() string { return n.Config.URL() }

// PID is the child's process id.
func (n *Node) PID() int { return n.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (n *Node) Exited() bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// Wait waits up to timeout for the process to end and returns how it ended; ok is false if
// it still runs.
func (n *Node) Wait(timeout time.Duration) (exitErr error, ok bool) {
	select {
	case <-n.done:
		return n.err, true
	case <-time.After(timeout):
		return nil, false
	}
}

// Signal sends sig to the node.
func (n *Node) Signal(sig os.Signal) error { return n.cmd.Process.Signal(sig) }

// Stop sends SIGTERM and fails the test unless the node exits with status 0 within its
// stopping time plus 15s.
func (n *Node) Stop(t testing.TB) {
	t.Helper()
	if err := n.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("restarttest: SIGTERM %s: %v", n.Config.Node, err)
	}
	err, ok := n.Wait(n.Config.Stopping + 15*time.Second)
	if !ok {
		t.Fatalf("restarttest: %s did not exit after SIGTERM; log:\n%s", n.Config.Node, n.Log())
	}
	if err != nil {
		t.Fatalf("restarttest: %s exited with %v; log:\n%s", n.Config.Node, err, n.Log())
	}
}

// Log returns what the node wrote to stdout and stderr.
func (n *Node) Log() string {
	data, _ := os.ReadFile(n.LogPath)
	return string(data)
}

// StartCommand is the shell command that starts simnode detached, as a start script over SSH
// would: its own session, output to logPath, stdin from /dev/null, so the SSH channel can
// close at once. Wait for the pidfile (WaitPidfile) or the state afterwards.
func StartCommand(bin, configPath, logPath string) string {
	return fmt.Sprintf("setsid %s %s >>%s 2>&1 </dev/null &", shellQuote(bin), shellQuote(configPath), shellQuote(logPath))
}

// StopCommand is the shell command that stops the node of pidfile like a product's stop script:
// SIGTERM, then wait up to timeout for the process to exit (exit status 1 if it does not). A
// missing pidfile, or a pid that is not a simnode, counts as already stopped.
func StopCommand(pidfile string, timeout time.Duration) string {
	tries := int(timeout / (100 * time.Millisecond))
	return fmt.Sprintf(`pid=$(cat %s 2>/dev/null) || exit 0
tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | grep -q simnode || exit 0
kill -TERM "$pid" 2>/dev/null || exit 0
i=0
while kill -0 "$pid" 2>/dev/null; do
  i=$((i+1)); if [ "$i" -gt %d ]; then echo "simnode $pid did not stop within %v" >&2; exit 1; fi
  sleep 0.1
done`, shellQuote(pidfile), tries, timeout)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// ReadPidfile returns the pid in pidfile, or 0 when there is none.
func ReadPidfile(pidfile string) int {
	data, err := os.ReadFile(pidfile)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

// WaitPidfile waits up to timeout for pidfile to name a live process and returns its pid.
func WaitPidfile(t testing.TB, pidfile string, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if pid := ReadPidfile(pidfile); pid > 0 && syscall.Kill(pid, 0) == nil {
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarttest: no live process in %s after %v", pidfile, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// KillFromPidfile SIGKILLs the simnode that pidfile names, if it runs with configPath (a pid
// reused by another program is left alone), and waits for it to be gone. For cleaning up
// nodes started through StartCommand, which are not the test's children.
func KillFromPidfile(pidfile, configPath string) error {
	pid := ReadPidfile(pidfile)
	if pid <= 0 {
		return nil
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil // gone
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(args) != 2 || args[1] != configPath || !strings.HasSuffix(args[0], "simnode") {
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill simnode %d: %w", pid, err)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			return nil
		}
		// A killed child of ours stays a zombie until reaped; it no longer runs.
		if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && strings.Contains(string(stat), ") Z ") {
			return nil
		}
	}
	return fmt.Errorf("simnode %d still runs after SIGKILL", pid)
}

// Probe asks a node's readiness probe, the path package products gives for the product, and
// returns the HTTP status and the body.
func Probe(product, baseURL string) (code int, body string, err error) {
	p, err := products.Lookup(product)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Get(strings.TrimRight(baseURL, "/") + p.Probe.Path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), err
}

// SimInfo is the simulator's own view of a node (GET /_sim/state), whatever its probe says.
type SimInfo struct {
	Node     string `json:"node"`
	Product  string `json:"product"`
	State    string `json:"state"`
	Sessions int    `json:"sessions"` // held in memory
	PID      int    `json:"pid"`
	DB       bool   `json:"db"` // connected and its tables found
	Empty    int    `json:"empty"`
	Garbage  int    `json:"garbage"`
	// SSOTokens are the Crowd SSO tokens this process issued and holds in memory.
	SSOTokens int `json:"sso_tokens"`
}

// State returns the simulator's own view of the node at baseURL.
func State(baseURL string) (SimInfo, error) {
	var info SimInfo
	resp, err := client.Get(strings.TrimRight(baseURL, "/") + "/_sim/state")
	if err != nil {
		return info, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return info, fmt.Errorf("GET /_sim/state: %s", resp.Status)
	}
	return info, json.NewDecoder(resp.Body).Decode(&info)
}

// WaitState waits up to timeout for the node at baseURL to be in state.
func WaitState(t testing.TB, baseURL, state string, timeout time.Duration) SimInfo {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		info, err := State(baseURL)
		if err == nil && info.State == state {
			return info
		}
		if err != nil {
			last = err.Error()
		} else {
			last = info.State
		}
		if time.Now().After(deadline) {
			t.Fatalf("restarttest: %s not %s after %v (last: %s)", baseURL, state, timeout, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Fault is what POST /_sim/fault injects. Zero fields change nothing.
type Fault struct {
	State   string        // force this state (recorded in the events file like any transition)
	Empty   int           // the next Empty probe replies are 200 with an empty body
	Garbage int           // the next Garbage probe replies are 200 with "<html>oops</html>"
	Delay   time.Duration // hold the next Delayed (default 1) probe replies this long
	Delayed int
}

// InjectFault sends f to the node at baseURL.
func InjectFault(t testing.TB, baseURL string, f Fault) {
	t.Helper()
	v := url.Values{}
	if f.State != "" {
		v.Set("state", f.State)
	}
	if f.Empty > 0 {
		v.Set("empty", strconv.Itoa(f.Empty))
	}
	if f.Garbage > 0 {
		v.Set("garbage", strconv.Itoa(f.Garbage))
	}
	if f.Delay > 0 {
		v.Set("delay", f.Delay.String())
		if f.Delayed > 0 {
			v.Set("delayed", strconv.Itoa(f.Delayed))
		}
	}
	resp, err := client.PostForm(strings.TrimRight(baseURL, "/")+"/_sim/fault", v)
	if err != nil {
		t.Fatalf("restarttest: fault %v: %v", v, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("restarttest: fault %v: %s %s", v, resp.Status, body)
	}
}
