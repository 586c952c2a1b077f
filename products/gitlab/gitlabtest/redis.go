// Package gitlabtest is the test bench for the GitLab adapter: a private redis-server, GitLab's
// real table layouts in a private PostgreSQL database (through package dbtest), writers of
// sessions in GitLab's exact Redis formats, and a simulated GitLab web endpoint that signs
// browsers in and authenticates them as GitLab does.
//
// It deliberately does not import package gitlab: key names, id hashing and record formats
// are written out here from GitLab's source, so that a mistake in the adapter cannot be
// mirrored by the bench it is tested against.
//
// A package that uses it runs its tests through Main, which also runs dbtest's servers:
//
//	func TestMain(m *testing.M) { os.Exit(gitlabtest.Main(m)) }
//
// The Redis server runs from the machine's redis-server binary, in its own temporary
// directory, on a free port of 127.0.0.1 (never the system instance on 6379), with a random
// password, no persistence, and a unix socket. It is started once per test binary, on first
// use; each test gets its own logical database from NewDB. When redis-server is missing the
// test is skipped, or fails with CI=true.
package gitlabtest

import (
	"context"
	"errors"
	"fmt"
	"github.com/reauth/reauth/internal/harness"
	"github.com/reauth/reauth/internal/secretscan"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/reauth/reauth/db/dbtest"
)

const (
	loopback      = "127.0.0.1"
	dirPrefix     = "reauth-redistest-"
	startDeadline = 20 * time.Second
	stopGrace     = 10 * time.Second
	// Databases is how many logical databases the server has; NewDB hands out 1..Databases-1.
	Databases = 64
)

// RedisServer is the test binary's private redis-server.
type RedisServer struct {
	Addr     string // 127.0.0.1:<port>
	Port     int
	URL      string // redis://127.0.0.1:<port> (no password)
	Password string // requirepass; random per start
	Socket   string // the unix socket's path
	Version  string // e.g. "7.0.15"
	Binary   string // the redis-server that runs

	base    string
	logPath string
	proc    *harness.Process

	mu      sync.Mutex
	free    []int // logical databases not handed out
	stopped bool
}

var (
	inMain   atomic.Bool
	once     sync.Once
	server   *RedisServer
	startErr error
)

// Main runs the package's tests through dbtest.Main (which stops dbtest's servers), then stops
// the Redis server, and returns the exit code:
//
//	func TestMain(m *testing.M) { os.Exit(gitlabtest.Main(m)) }
func Main(m *testing.M) int {
	inMain.Store(true)
	code := dbtest.Main(m)
	if server != nil {
		if err := server.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "gitlabtest: %v\n", err)
		}
	}
	inMain.Store(false)
	return code
}

// Redis returns the test binary's private Redis server, starting it on first use.
func Redis(t testing.TB) *RedisServer {
	t.Helper()
	if !inMain.Load() {
		t.Fatal("gitlabtest: Redis needs the package's TestMain to run the tests through gitlabtest.Main:\n" +
			"\tfunc TestMain(m *testing.M) { os.Exit(gitlabtest.Main(m)) }")
	}
	bin := dbtest.Require(t, "redis-server", "redis-server")
	first := false
	once.Do(func() {
		first = true
		server, startErr = startRedis(bin)
	})
	if startErr != nil {
		t.Fatalf("gitlabtest: redis-server did not start: %v", startErr)
	}
	if err := server.proc.ExitErr(); err != nil {
		t.Fatalf("gitlabtest: redis-server on %s has exited (%v); log %s:\n%s", server.Addr, err, server.logPath, harness.Tail(server.logPath))
	}
	if first {
		t.Logf("gitlabtest: started redis-server %s on %s (%s)", server.Version, server.Addr, server.base)
	}
	return server
}

func startRedis(bin string) (*RedisServer, error) {
	parent := os.TempDir()
	if len(parent) > 60 { // unix socket paths are limited to 108 bytes
		parent = "/tmp"
	}
	base, err := harness.OwnedDir(parent, dirPrefix, 0o700)
	if err != nil {
		return nil, err
	}
	s := &RedisServer{Password: secretscan.Register("gitlabtest: redis requirepass", harness.RandomHex(16)), Binary: bin, base: base,
		logPath: filepath.Join(base, "redis.log"), Socket: filepath.Join(base, "redis.sock")}
	for i := 1; i < Databases; i++ {
		s.free = append(s.free, i)
	}
	// The password goes into a private config file rather than the command line, where any
	// local user could read it from the process list.
	conf := filepath.Join(base, "redis.conf")
	if err := os.WriteFile(conf, []byte("requirepass "+s.Password+"\n"), 0o600); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		if s.Port, err = harness.FreePort(loopback); err != nil {
			return nil, err
		}
		s.Addr = net.JoinHostPort(loopback, strconv.Itoa(s.Port))
		s.URL = "redis://" + s.Addr
		cmd := exec.Command(bin, conf,
			"--port", strconv.Itoa(s.Port), "--bind", loopback, "--save", "", "--appendonly", "no",
			"--dir", base, "--unixsocket", s.Socket, "--unixsocketperm", "700",
			"--databases", strconv.Itoa(Databases), "--daemonize", "no", "--logfile", s.logPath,
			"--protected-mode", "yes")
		cmd.Dir = base
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
		if s.proc, err = harness.Start(cmd); err != nil {
			return nil, err
		}
		err = s.waitReady()
		if err == nil {
			return s, nil
		}
		_ = s.proc.Cmd.Process.Kill()
		<-s.proc.Done
		if attempt < 5 && strings.Contains(harness.Tail(s.logPath), "Address already in use") {
			continue
		}
		os.RemoveAll(base)
		return nil, err
	}
}

func (s *RedisServer) waitReady() error {
	c := s.client(0)
	defer c.Close()
	deadline := time.Now().Add(startDeadline)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := c.Info(ctx, "server").Result()
		cancel()
		if err == nil {
			for _, line := range strings.Split(info, "\n") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
					s.Version = v
				}
			}
			return nil
		}
		if perr := s.proc.ExitErr(); perr != nil {
			return fmt.Errorf("redis-server exited (%v); log %s:\n%s", perr, s.logPath, harness.Tail(s.logPath))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s not ready within %v: %v; log:\n%s", s.Addr, startDeadline, err, harness.Tail(s.logPath))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *RedisServer) client(dbIndex int) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.Addr, Password: s.Password, DB: dbIndex,
		Protocol: 2, DisableIdentity: true, PoolSize: 16,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
}

// DB is one logical database of the server, private to one test: empty when handed out,
// flushed and handed back when the test ends.
type DB struct {
	Server *RedisServer
	Index  int
	Client *redis.Client // logged in, SELECTed
}

// NewDB hands out an empty logical database for the test.
func (s *RedisServer) NewDB(t testing.TB) *DB {
	t.Helper()
	s.mu.Lock()
	if len(s.free) == 0 {
		s.mu.Unlock()
		t.Fatalf("gitlabtest: all %d Redis databases are in use", Databases-1)
	}
	idx := s.free[0]
	s.free = s.free[1:]
	s.mu.Unlock()
	d := &DB{Server: s, Index: idx, Client: s.client(idx)}
	ctx := context.Background()
	if err := d.Client.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("gitlabtest: FLUSHDB on db %d: %v", idx, err)
	}
	t.Cleanup(func() {
		_ = d.Client.FlushDB(context.Background()).Err()
		d.Client.Close()
		s.mu.Lock()
		s.free = append(s.free, idx)
		s.mu.Unlock()
	})
	return d
}

// URL is the database's URL with its number (redis://127.0.0.1:<port>/<db>), without the
// password.
func (d *DB) URL() string { return d.Server.URL + "/" + strconv.Itoa(d.Index) }

// Keys returns every key of the database matching pattern, sorted.
func (d *DB) Keys(t testing.TB, pattern string) []string {
	t.Helper()
	var out []string
	iter := d.Client.Scan(context.Background(), 0, pattern, 1000).Iterator()
	for iter.Next(context.Background()) {
		out = append(out, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("gitlabtest: SCAN %s: %v", pattern, err)
	}
	sortStrings(out)
	return out
}

func (s *RedisServer) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	s.stopped = true
	var errs []error
	if s.proc.ExitErr() == nil {
		_ = s.proc.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.proc.Done:
		case <-time.After(stopGrace):
			errs = append(errs, fmt.Errorf("redis-server on %s did not stop within %v; killed it", s.Addr, stopGrace))
			_ = s.proc.Cmd.Process.Kill()
			<-s.proc.Done
		}
	}
	if err := os.RemoveAll(s.base); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
