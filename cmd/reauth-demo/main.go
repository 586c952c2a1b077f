// Command reauth-demo builds and runs the reauth demo (./cmd/reauth-demo/demo): reauth plan,
// run and verify against a simulated Jira Data Center cluster on this machine. See the demo's
// package for what it starts.
//
// Usage, from the repository:
//
//	go run ./cmd/reauth-demo [--nodes 3] [--users 20] [--db auto|postgres|embedded] [--keep]
//
// It compiles little (the standard library's process handling) and builds the real reauth
// command, the simulated node and the demo itself in one go build, sharing every package they
// have in common, so that a first run on a fresh machine compiles each package once; then it
// runs the demo with the binaries it built, passing its arguments on.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// packages are what the launcher builds: the demo last, as its binary is the one run.
var packages = []string{"./cmd/reauth", "./restart/restarttest/simnode", "./cmd/reauth-demo/demo"}

func main() { os.Exit(launch(os.Args[1:])) }

func launch(args []string) int {
	// Ctrl-C reaches go build and the demo as well (one process group): they stop what they
	// started; the launcher waits for them and removes its binaries.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	signal.Ignore(syscall.SIGPIPE)
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "reauth-demo: %v\n", err)
		return 1
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go") // the toolchain that built this
	}
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		return fail(fmt.Errorf("go env GOMOD: %w", err))
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return fail(errors.New("not inside the reauth module: run the demo from the repository (go run ./cmd/reauth-demo)"))
	}
	bin, err := os.MkdirTemp("", "reauth-demo-bin-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(bin)

	fmt.Printf("Building:  go build -ldflags='-s -w' %s ...", strings.Join(packages, " "))
	start := time.Now()
	build := exec.Command(goBin, append([]string{"build", "-ldflags=-s -w", "-o", bin + string(filepath.Separator)}, packages...)...)
	build.Dir = filepath.Dir(gomod)
	// An interrupted go build leaves its temporary folder behind: it is made inside bin.
	build.Env = append(os.Environ(), "GOTMPDIR="+bin)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Println()
		if interrupted(sigs) {
			fmt.Fprintln(os.Stderr, "reauth-demo: interrupted")
			return 130
		}
		return fail(fmt.Errorf("go build: %v\n%s", err, out))
	}
	fmt.Printf(" %.1fs\n\n", time.Since(start).Seconds())

	demo := exec.Command(filepath.Join(bin, "demo"), append([]string{"--bin", bin}, args...)...)
	demo.Stdin, demo.Stdout, demo.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = demo.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode() // the demo said why
	case errors.As(err, &ee):
		return 130 // ended by a signal
	}
	return fail(err)
}

// interrupted reports whether a signal came.
func interrupted(sigs chan os.Signal) bool {
	select {
	case <-sigs:
		return true
	default:
		return false
	}
}
