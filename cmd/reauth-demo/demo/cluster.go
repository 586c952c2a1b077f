package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/products"
	"github.com/reauth/reauth/restart"
	"github.com/reauth/reauth/restart/restarttest"
)

// node is one simulated Jira node: a simnode process on its own loopback address, which is
// also the address the SSH server answers for it.
type node struct {
	host    string // 127.0.0.N: the SSH address
	cfg     restarttest.Config
	cfgPath string
	dir     string
}

func (n *node) url() string { return n.cfg.URL() }

// moduleRoot is the folder of the reauth module's go.mod, as the go command finds it from the
// working directory.
func moduleRoot(ctx context.Context, goBin string) (string, error) {
	out, err := exec.CommandContext(ctx, goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the reauth module: run the demo from the repository (go run ./cmd/reauth-demo)")
	}
	root := filepath.Dir(gomod)
	if _, err := os.Stat(filepath.Join(root, "cmd", "reauth", "main.go")); err != nil {
		return "", fmt.Errorf("%s is not the reauth module: run the demo from the repository", root)
	}
	return root, nil
}

// goCommand is the go command: the one on PATH, else the toolchain this program was built by.
func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// buildBinaries builds the packages (the real reauth command, simnode and, when the demo needs
// it, the embedded database, embeddbPackage) into dir, in one go build. It
// keeps the environment's build settings (CGO_ENABLED included): the demo itself was just built
// with them, so every package they share (database drivers, SSH, ...) comes from the build
// cache. The binaries are linked without symbol tables and DWARF (-s -w), as the README's
// install command links reauth: that changes no package's compilation, and links faster.
func buildBinaries(ctx context.Context, goBin, root, dir, tmpDir string, pkgs ...string) error {
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return err
	}
	args := append([]string{"build", "-ldflags=-s -w", "-o", dir + string(filepath.Separator)}, pkgs...)
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = root
	// Cancelled, go build is interrupted as by Ctrl-C. It then leaves its temporary folder
	// behind: that folder is made in tmpDir, inside the demo's working folder, which goes.
	cmd.Env = append(os.Environ(), "GOTMPDIR="+tmpDir)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}

// jiraProbe is how reauth asks a Jira node whether it is ready, from the product table.
var jiraProbe = func() products.Probe {
	p, err := products.Lookup("jira")
	if err != nil {
		panic(err)
	}
	return p.Probe
}()

// freeAddr is ip:port with a port that was free on ip a moment ago.
func freeAddr(ip string) (string, error) {
	ln, err := net.Listen("tcp4", net.JoinHostPort(ip, "0"))
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func yamlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// nodeDirShell is shell text that sets $d to the node's folder, named after the address SSH was
// reached on (the third field of $SSH_CONNECTION), as one start script shared by every host
// would find its host's files.
func nodeDirShell(nodesDir string) string {
	return "d=" + shq(nodesDir) + "/$(echo \"$SSH_CONNECTION\" | cut -d' ' -f3)"
}

// startCommand starts the node's simnode detached, like `systemctl start jira` would.
func startCommand(nodesDir, bin string) string {
	return nodeDirShell(nodesDir) + `; setsid ` + shq(bin) + ` "$d/cfg.json" >>"$d/log" 2>&1 </dev/null &`
}

// stopCommand is like Jira's stop script: SIGTERM, then wait up to 15 s for the process to exit.
// A process that has exited but not yet been reaped (a zombie: the nodes are detached, so their
// parent is init, which may reap them only a second later) still answers kill -0: its state in
// /proc says it is gone.
func stopCommand(nodesDir string) string {
	return nodeDirShell(nodesDir) + `; pid=$(cat "$d/pid" 2>/dev/null) || exit 0; kill -TERM "$pid" 2>/dev/null || exit 0; ` +
		`i=0; while kill -0 "$pid" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null; do ` +
		`i=$((i+1)); [ $i -gt 300 ] && exit 1; sleep 0.05; done`
}

// startLocal starts a node directly (the demo's set-up), not over SSH.
func startLocal(bin string, n *node) error {
	cmd := exec.Command("sh", "-c", "setsid "+shq(bin)+" "+shq(n.cfgPath)+" >>"+shq(filepath.Join(n.dir, "log"))+" 2>&1 </dev/null &")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("start %s: %v %s", n.host, err, out)
	}
	return nil
}

// waitRunning waits until the node's status says RUNNING.
func waitRunning(ctx context.Context, n *node, timeout time.Duration) error {
	client := restart.NewHTTPClient()
	deadline := time.Now().Add(timeout)
	for {
		p := restart.Probe(ctx, client, jiraProbe, n.url())
		if p.Ready() {
			return nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(n.dir, "log"))
			return fmt.Errorf("node %s (%s) is not RUNNING after %v (now %v); its log:\n%s", n.cfg.Node, n.url(), timeout, p.State, log)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func writeNodeConfig(n *node) error {
	data, err := json.MarshalIndent(n.cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(n.cfgPath, data, 0o600)
}

// tbFailure is how a restarttest helper's t.Fatal reaches the demo.
type tbFailure struct{ msg string }

// runtimeTB lets the demo call restarttest helpers outside a test: Fatal and Fatalf panic with
// a tbFailure, which catch turns into an error; the helpers the demo uses call nothing else.
type runtimeTB struct{ testing.TB }

func (runtimeTB) Helper()                      {}
func (runtimeTB) Fatal(args ...any)            { panic(tbFailure{fmt.Sprint(args...)}) }
func (runtimeTB) Fatalf(f string, args ...any) { panic(tbFailure{fmt.Sprintf(f, args...)}) }

// catch runs f and returns a restarttest helper's failure as an error.
func catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			tf, ok := r.(tbFailure)
			if !ok {
				panic(r)
			}
			err = errors.New(tf.msg)
		}
	}()
	f()
	return nil
}
