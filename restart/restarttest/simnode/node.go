package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// node is the running simulator.
type node struct {
	cfg      *config
	log      *log.Logger
	sessions *sessions
	sso      *ssoTokens // Crowd: the SSO tokens this process issued

	mu      sync.Mutex
	state   string
	events  *os.File
	store   *store // set once the database is ready
	empty   int    // next status replies that are an empty 200
	garbage int    // next status replies that are HTML with 200
	delayN  int    // next status replies that are delayed
	delay   time.Duration
}

// event is one line of the events file.
type event struct {
	Time  string `json:"time"`
	Node  string `json:"node"`
	State string `json:"state"`
	PID   int    `json:"pid"`
}

func run(configPath string) int {
	cfg, err := loadConfig(configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "simnode:", err)
		return 2
	}
	signal.Ignore(syscall.SIGHUP) // detached from any terminal: a hang-up is not a stop
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)

	n := &node{cfg: cfg, sessions: newSessions(), sso: newSSOTokens(),
		log: log.New(os.Stderr, "simnode "+cfg.Node+": ", log.LstdFlags|log.Lmicroseconds)}
	if err := n.writePidfile(configPath); err != nil {
		n.log.Print(err)
		return 1
	}
	defer n.removePidfile()
	if cfg.Events != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.Events), 0o755); err != nil {
			n.log.Print(err)
			return 1
		}
		if n.events, err = os.OpenFile(cfg.Events, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
			n.log.Print(err)
			return 1
		}
		defer n.events.Close()
	}
	ln, err := net.Listen("tcp4", cfg.Listen)
	if err != nil {
		n.log.Print(err)
		return 1
	}
	n.setState("STARTING")

	sessionsPath, why := persistence(cfg)
	n.log.Print(why)
	if sessionsPath != "" {
		// Tomcat restores and deletes the file while its context starts.
		loaded, err := n.sessions.load(sessionsPath)
		if err != nil {
			n.log.Printf("loading sessions: %v", err)
		}
		n.log.Printf("restored %d sessions from %s", loaded, sessionsPath)
	}

	srv := &http.Server{Handler: n.routes(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: n.log}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.start(ctx, time.Now())

	select {
	case sig := <-stop:
		n.log.Printf("%v: stopping", sig)
	case err := <-served:
		n.log.Printf("serve: %v", err)
		return 1
	}
	cancel()
	n.setState("STOPPING")
	time.Sleep(cfg.stopping)
	shutCtx, shutCancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := srv.Shutdown(shutCtx); err != nil {
		n.log.Printf("shutdown: %v", err)
	}
	shutCancel()
	if sessionsPath != "" {
		saved, err := n.sessions.save(sessionsPath, cfg.Node)
		if err != nil {
			n.log.Printf("saving sessions: %v", err)
		} else {
			n.log.Printf("saved %d sessions to %s", saved, sessionsPath)
		}
	}
	n.mu.Lock()
	if n.store != nil {
		n.store.close()
	}
	n.mu.Unlock()
	n.removePidfile()
	n.setState("STOPPED")
	return 0
}

// start plays the product's start-up: the database is connected and the tables found while
// STARTING, which lasts at least cfg.starting.
func (n *node) start(ctx context.Context, began time.Time) {
	if n.cfg.DB != nil {
		st, err := n.connect(ctx)
		if err != nil {
			if ctx.Err() == nil {
				n.log.Print(err)
				n.setStateFrom("STARTING", "ERROR")
			}
			return
		}
		n.mu.Lock()
		n.store = st
		n.mu.Unlock()
	}
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Until(began.Add(n.cfg.starting))):
	}
	if n.cfg.NeverReady {
		n.log.Print("never_ready: staying STARTING")
		return
	}
	n.setStateFrom("STARTING", "RUNNING")
}

// connect retries for a while: a database that is still starting is not yet an error.
func (n *node) connect(ctx context.Context) (*store, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		st, err := openStore(attemptCtx, n.cfg.DB, n.cfg.product)
		cancel()
		if err == nil || !errors.Is(err, errUnreachable) || time.Now().After(deadline) || ctx.Err() != nil {
			return st, err
		}
		n.log.Printf("%v (retrying)", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// setState records the transition in the events file before anyone can observe the new
// state, so that a test can measure how soon a prober noticed it.
func (n *node) setState(state string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.setStateLocked(state)
}

// setStateFrom changes the state only if it is still from (a stop may have begun meanwhile).
func (n *node) setStateFrom(from, to string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state == from {
		n.setStateLocked(to)
	}
}

func (n *node) setStateLocked(state string) {
	if n.events != nil {
		line, _ := json.Marshal(event{Time: time.Now().UTC().Format(time.RFC3339Nano), Node: n.cfg.Node, State: state, PID: os.Getpid()})
		// One write per line: O_APPEND keeps the lines of several nodes whole.
		if _, err := n.events.Write(append(line, '\n')); err != nil {
			n.log.Printf("events: %v", err)
		}
	}
	n.log.Printf("state %s", state)
	n.state = state
}

func (n *node) current() (state string, st *store) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.state, n.store
}

// writePidfile refuses to start over a live simnode that uses the same config, like the
// products' start scripts; a stale pidfile is overwritten.
func (n *node) writePidfile(configPath string) error {
	path := n.cfg.Pidfile
	if data, err := os.ReadFile(path); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid != os.Getpid() && runsConfig(pid, configPath) {
			return fmt.Errorf("pidfile %s: simnode %d is already running with %s", path, pid, configPath)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// runsConfig reports whether process pid is a simnode started with configPath, so that a pid
// reused by another program is never taken for ours.
func runsConfig(pid int, configPath string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	return len(args) == 2 && args[1] == configPath
}

func (n *node) removePidfile() {
	data, err := os.ReadFile(n.cfg.Pidfile)
	if err != nil {
		return
	}
	if strings.TrimSpace(string(data)) == strconv.Itoa(os.Getpid()) {
		if err := os.Remove(n.cfg.Pidfile); err != nil {
			n.log.Print(err)
		}
	}
}
