package restarttest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reauth/reauth/restart/restarttest"
)

// TestShellStartStop starts and stops a node with the shell commands an SSH session would
// run: the start command returns at once and leaves the node running on its own; the stop
// command waits for it to exit.
func TestShellStartStop(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("setsid (util-linux) is not installed")
	}
	bin := restarttest.BuildSimnode(t)
	dir := t.TempDir()
	cfg := nodeConfig(t, "confluence", "node1", "127.0.0.9", dir)
	cfg.Stopping = 500 * time.Millisecond
	cfgPath := restarttest.WriteConfig(t, dir, cfg)
	t.Cleanup(func() {
		if err := restarttest.KillFromPidfile(cfg.Pidfile, cfgPath); err != nil {
			t.Error(err)
		}
	})
	logPath := filepath.Join(dir, "node1.log")

	start := time.Now()
	sh(t, restarttest.StartCommand(bin, cfgPath, logPath), 0)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the start command took %v; want it to return at once", took)
	}
	pid := restarttest.WaitPidfile(t, cfg.Pidfile, 10*time.Second)
	restarttest.WaitState(t, cfg.URL(), "RUNNING", 15*time.Second)
	if sid, err := getsid(pid); err != nil || sid != pid {
		t.Errorf("node %d runs in session %d (%v); want its own", pid, sid, err)
	}

	// A second start over a running node is refused and leaves it alone.
	out, err := exec.Command(bin, cfgPath).CombinedOutput()
	if exitCode(err) != 1 || !strings.Contains(string(out), "already running") {
		t.Errorf("second start: exit %d, %q; want 1, already running", exitCode(err), out)
	}
	if got := restarttest.ReadPidfile(cfg.Pidfile); got != pid {
		t.Errorf("pidfile holds %d after the refused start; want %d", got, pid)
	}

	start = time.Now()
	sh(t, restarttest.StopCommand(cfg.Pidfile, 10*time.Second), 0)
	if took := time.Since(start); took < cfg.Stopping {
		t.Errorf("the stop command returned after %v, before the node's %v of STOPPING", took, cfg.Stopping)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("node %d still runs after the stop command", pid)
	}
	if fileExists(t, cfg.Pidfile) {
		t.Error("pidfile left behind")
	}
	// Stopping a stopped node succeeds, like systemctl stop.
	sh(t, restarttest.StopCommand(cfg.Pidfile, time.Second), 0)
	log, _ := os.ReadFile(logPath)
	if !strings.Contains(string(log), "state STOPPING") {
		t.Errorf("node log:\n%s", log)
	}
}

// TestStopCommandTimesOut: a stop command whose node does not exit in time fails.
func TestStopCommandTimesOut(t *testing.T) {
	t.Parallel()
	bin := restarttest.BuildSimnode(t)
	dir := t.TempDir()
	cfg := nodeConfig(t, "jira", "node1", "127.0.0.10", dir)
	cfg.Starting = 50 * time.Millisecond
	cfg.Stopping = 3 * time.Second
	node := restarttest.StartNode(t, bin, dir, cfg)
	restarttest.WaitState(t, node.URL(), "RUNNING", 15*time.Second)
	sh(t, restarttest.StopCommand(cfg.Pidfile, 500*time.Millisecond), 1)
	if err, ok := node.Wait(10 * time.Second); !ok || err != nil {
		t.Errorf("after the stop command's SIGTERM: exited %v, %v; want status 0", ok, err)
	}
}

func sh(t *testing.T, command string, wantExit int) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", command)
	out, err := cmd.CombinedOutput()
	if code := exitCode(err); code != wantExit {
		t.Fatalf("sh -c %q: exit %d (%v); want %d\n%s", command, code, err, wantExit, out)
	}
}

func getsid(pid int) (int, error) {
	sid, _, errno := syscall.RawSyscall(syscall.SYS_GETSID, uintptr(pid), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(sid), nil
}
