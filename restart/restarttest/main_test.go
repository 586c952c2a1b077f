package restarttest_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/restart/restarttest"
)

func TestMain(m *testing.M) {
	code := dbtest.Main(m)
	restarttest.RemoveBuild()
	os.Exit(code)
}

// wantCode is each product's HTTP status for a state: the quirks reauth's probe must see through.
var wantCode = map[string]map[string]int{
	"jira":       {"STARTING": 200, "RUNNING": 200, "STOPPING": 200, "FIRST_RUN": 200, "MAINTENANCE": 503, "ERROR": 500},
	"confluence": {"STARTING": 200, "RUNNING": 200, "STOPPING": 503, "FIRST_RUN": 200, "MAINTENANCE": 200, "ERROR": 200},
	"bitbucket":  {"STARTING": 503, "RUNNING": 200, "STOPPING": 503, "MAINTENANCE": 200, "ERROR": 500},
	"bamboo":     {"STARTING": 200, "RUNNING": 200, "STOPPING": 503, "PAUSED": 200, "MAINTENANCE": 200, "ERROR": 200},
	"fisheye":    {"STARTING": 503, "RUNNING": 200, "STOPPING": 503, "MAINTENANCE": 503, "ERROR": 503},
	"crowd":      {"STARTING": 200, "RUNNING": 200, "STOPPING": 503, "MAINTENANCE": 200, "ERROR": 200},
}

// observation is one probe reply: the HTTP status and the JSON state ("" for Fisheye's HTML).
type observation struct {
	Code  int
	State string
}

// probe asks the node's readiness probe and reads the state the way reauth must: from the
// JSON, never from the status code alone.
func probe(t testing.TB, product, url string) (observation, error) {
	t.Helper()
	code, body, err := restarttest.Probe(product, url)
	if err != nil {
		return observation{}, err
	}
	o := observation{Code: code}
	if product == "fisheye" {
		return o, nil
	}
	var v struct{ State string }
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%s probe: HTTP %d, body %q is not JSON: %v", product, code, body, err)
	}
	o.State = v.State
	return o, nil
}

func expect(product, state string) observation {
	o := observation{Code: wantCode[product][state], State: state}
	if product == "fisheye" {
		o.State = ""
	}
	return o
}

// watch probes the node every 15ms until stop says so or the deadline passes, and returns the
// distinct consecutive replies, with when each was first seen; connection errors are skipped.
func watch(t testing.TB, product, url string, deadline time.Duration, stop func(observation, error) bool) ([]observation, []time.Time) {
	t.Helper()
	var seen []observation
	var at []time.Time
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		o, err := probe(t, product, url)
		if err == nil && (len(seen) == 0 || seen[len(seen)-1] != o) {
			seen = append(seen, o)
			at = append(at, time.Now())
		}
		if stop(o, err) {
			return seen, at
		}
		time.Sleep(15 * time.Millisecond)
	}
	t.Fatalf("%s at %s: still probing after %v; replies so far %+v", product, url, deadline, seen)
	return nil, nil
}

// nodeConfig is a node of product with short start and stop times, its files under dir.
func nodeConfig(t testing.TB, product, name, ip, dir string) restarttest.Config {
	return restarttest.Config{
		Product:    product,
		Node:       name,
		Listen:     restarttest.FreeAddr(t, ip),
		Pidfile:    filepath.Join(dir, name+".pid"),
		Events:     filepath.Join(dir, "events.jsonl"),
		Starting:   700 * time.Millisecond,
		Stopping:   300 * time.Millisecond,
		InstallDir: filepath.Join(dir, name+"-install"),
	}
}

func fileExists(t testing.TB, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

func statesOf(events []restarttest.Event, node string) string {
	var s []string
	for _, e := range events {
		if e.Node == node {
			s = append(s, e.State)
		}
	}
	return strings.Join(s, " ")
}
