package gitlabtest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/reauth/reauth/internal/harness"
)

// GitLab's Ruby-Marshalled values are written by real Ruby and ActiveSupport, never by a Go
// imitation of them: rails_session.rb (beside this file) runs once per test binary and writes
// and reads values on request.

// RackFormat is how a Rails session value (session:gitlab:<id>) is stored.
type RackFormat string

const (
	// RackEntry61 is current GitLab's format: Marshal of an ActiveSupport::Cache::Entry
	// (Gitlab::Sessions::CacheStoreCoder, the Rails 6.1 cache coder), written by the installed
	// ActiveSupport.
	RackEntry61 RackFormat = "entry61"
	// RackEntry61Compressed is an Entry above the compression threshold, compressed by
	// ActiveSupport's own compress path: @compressed true, @value the deflated Marshal.
	RackEntry61Compressed RackFormat = "entry61-compressed"
	// RackEntry7 is the Rails 7.x Entry ivar layout (see rails_session.rb for how it is made).
	RackEntry7 RackFormat = "entry7"
	// RackEntry7Compressed is a compressed Entry in the Rails 7.x layout.
	RackEntry7Compressed RackFormat = "entry7-compressed"
	// RackHash is the bare session hash, as older GitLab (redis-store) stored it.
	RackHash RackFormat = "hash"
)

// RackFormats lists every format, current first.
var RackFormats = []RackFormat{RackEntry61, RackEntry61Compressed, RackEntry7, RackEntry7Compressed, RackHash}

var rb struct {
	once  sync.Once
	err   error // set when Ruby or ActiveSupport cannot run
	mu    sync.Mutex
	in    io.WriteCloser
	out   *bufio.Reader
	proc  *exec.Cmd
	debug bytes.Buffer // the process's stderr
	dead  error
}

// RequireRuby skips the test when Ruby with ActiveSupport is missing (fails it with CI=true),
// and starts the test binary's Ruby process on first use.
func RequireRuby(t testing.TB) {
	t.Helper()
	rb.once.Do(startRuby)
	if rb.err != nil {
		harness.SkipOrFail(t, "gitlabtest: GitLab's session values are written by real Ruby: "+rb.err.Error()+
			" (Debian: apt-get install ruby ruby-activesupport)")
	}
}

func startRuby() {
	bin, ok := harness.Find("ruby")
	if !ok {
		rb.err = errors.New("ruby is not installed")
		return
	}
	if out, err := exec.Command(bin, "-e", `require "active_support"; require "active_support/cache"`).CombinedOutput(); err != nil {
		rb.err = fmt.Errorf("ruby cannot load ActiveSupport: %v: %s", err, bytes.TrimSpace(out))
		return
	}
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		rb.err = errors.New("cannot locate rails_session.rb")
		return
	}
	cmd := exec.Command(bin, filepath.Join(filepath.Dir(self), "rails_session.rb"))
	cmd.Stderr = &rb.debug
	in, err := cmd.StdinPipe()
	if err != nil {
		rb.err = err
		return
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		rb.err = err
		return
	}
	if err := cmd.Start(); err != nil {
		rb.err = fmt.Errorf("starting rails_session.rb: %w", err)
		return
	}
	// The process ends when the test binary does: its stdin closes.
	rb.proc, rb.in, rb.out = cmd, in, bufio.NewReaderSize(out, 1<<16)
}

// rubyDo sends the requests to rails_session.rb and returns its answers, in order.
func rubyDo(reqs []map[string]any) ([]string, error) {
	rb.once.Do(startRuby)
	if rb.err != nil {
		return nil, rb.err
	}
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if rb.dead != nil {
		return nil, rb.dead
	}
	werr := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(rb.in)
		enc := json.NewEncoder(w)
		for _, r := range reqs {
			if err := enc.Encode(r); err != nil {
				werr <- err
				return
			}
		}
		werr <- w.Flush()
	}()
	answers := make([]string, 0, len(reqs))
	var failed error
	for range reqs {
		line, err := rb.out.ReadString('\n')
		if err != nil {
			rb.dead = fmt.Errorf("rails_session.rb stopped answering: %v; stderr: %s", err, strings.TrimSpace(rb.debug.String()))
			return nil, rb.dead
		}
		line = strings.TrimRight(line, "\n")
		ok, found := strings.CutPrefix(line, "OK ")
		if !found && failed == nil {
			failed = fmt.Errorf("rails_session.rb: %s", line)
		}
		answers = append(answers, ok)
	}
	if err := <-werr; err != nil {
		return nil, err
	}
	return answers, failed
}

func rubyValues(reqs []map[string]any) ([][]byte, error) {
	answers, err := rubyDo(reqs)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(answers))
	for i, a := range answers {
		if out[i], err = base64.StdEncoding.DecodeString(a); err != nil {
			return nil, fmt.Errorf("rails_session.rb: %w", err)
		}
	}
	return out, nil
}

func rackRequest(f RackFormat, userID, impersonatorID int64) map[string]any {
	if f == "" {
		f = RackEntry61
	}
	return map[string]any{"op": "rack", "format": string(f), "user_id": userID, "impersonator_id": impersonatorID}
}

func rackValue(f RackFormat, userID, impersonatorID int64) ([]byte, error) {
	v, err := rubyValues([]map[string]any{rackRequest(f, userID, impersonatorID)})
	if err != nil {
		return nil, err
	}
	return v[0], nil
}

// RackSession is a Rails session value in format f (RackEntry61 when empty), written by Ruby,
// for a signed-in user: Devise's "warden.user.user.key" => [[id], salt], warden's last request
// time, the CSRF token and, for an impersonated session, the impersonator's id. userID 0
// gives an anonymous session.
func RackSession(t testing.TB, f RackFormat, userID, impersonatorID int64) []byte {
	t.Helper()
	RequireRuby(t)
	v, err := rackValue(f, userID, impersonatorID)
	if err != nil {
		t.Fatalf("gitlabtest: %v", err)
	}
	return v
}

// RackSessions is RackSession for many users at once (one value each), for large data sets.
func RackSessions(t testing.TB, f RackFormat, userIDs []int64) [][]byte {
	t.Helper()
	RequireRuby(t)
	reqs := make([]map[string]any, len(userIDs))
	for i, id := range userIDs {
		reqs[i] = rackRequest(f, id, 0)
	}
	v, err := rubyValues(reqs)
	if err != nil {
		t.Fatalf("gitlabtest: %v", err)
	}
	return v
}

func legacyRequest(s Session, id string) map[string]any {
	fillSession(&s)
	var device any
	if s.DeviceName != "" {
		device = s.DeviceName
	}
	epoch := func(tm interface{ UnixMicro() int64 }) float64 { return float64(tm.UnixMicro()) / 1e6 }
	return map[string]any{"op": "legacy", "ip_address": s.IP, "browser": s.Browser, "os": s.OS,
		"device_name": device, "device_type": s.DeviceType, "created_at": epoch(s.SignedInAt),
		"updated_at": epoch(s.UpdatedAt), "session_id": id, "is_impersonated": s.Impersonated}
}

// LegacyRecords are session records in the legacy format, written by Ruby: Marshal.dump of
// the ActiveSession object, its times ActiveSupport::TimeWithZone objects. ids[i] is the
// session id of ss[i].
func LegacyRecords(t testing.TB, ss []Session, ids []string) [][]byte {
	t.Helper()
	RequireRuby(t)
	reqs := make([]map[string]any, len(ss))
	for i := range ss {
		reqs[i] = legacyRequest(ss[i], ids[i])
	}
	v, err := rubyValues(reqs)
	if err != nil {
		t.Fatalf("gitlabtest: %v", err)
	}
	return v
}

// rackSessionUser loads a Rails session value as GitLab does (in Ruby) and returns its
// signed-in user's id, 0 for none.
func rackSessionUser(v []byte) (int64, error) {
	answers, err := rubyDo([]map[string]any{{"op": "user", "value": base64.StdEncoding.EncodeToString(v)}})
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(answers[0], 10, 64)
}
