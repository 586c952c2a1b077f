package restarttest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// SimnodePackage is simnode's import path.
const SimnodePackage = "github.com/reauth/reauth/restart/restarttest/simnode"

const buildPrefix = "reauth-simnode-"

var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// BuildSimnode builds simnode once per test binary (go build, CGO_ENABLED=0: a static binary
// that any user on this machine can run, e.g. through sshd) and returns its path. The binary
// is in a directory of its own under os.TempDir(); RemoveBuild deletes it, and builds older
// than a day left by killed test binaries are removed by the next build.
func BuildSimnode(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		sweepBuilds()
		build.dir, build.err = os.MkdirTemp("", buildPrefix)
		if build.err != nil {
			return
		}
		// Readable by others: an SSH test server may run commands as another user.
		if build.err = os.Chmod(build.dir, 0o755); build.err != nil {
			return
		}
		build.path = filepath.Join(build.dir, "simnode")
		// go test puts its own go first on the PATH of test binaries.
		cmd := exec.Command("go", "build", "-o", build.path, SimnodePackage)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build %s: %v\n%s", SimnodePackage, err, out)
		}
	})
	if build.err != nil {
		t.Fatalf("restarttest: %v", build.err)
	}
	return build.path
}

// RemoveBuild deletes the binary BuildSimnode made, if any. Call it from TestMain after the
// tests have run.
func RemoveBuild() {
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
}

func sweepBuilds() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), buildPrefix+"*"))
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() && time.Since(fi.ModTime()) > 24*time.Hour &&
			strings.HasPrefix(filepath.Base(d), buildPrefix) {
			_ = os.RemoveAll(d)
		}
	}
}
