package restarttest_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/reauth/reauth/restart/restarttest"
)

func TestReadEventsAndMaxDown(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	at := func(s int) string { return t0.Add(time.Duration(s) * time.Second).Format(time.RFC3339Nano) }
	// A rolling restart of three nodes, lines of two nodes interleaved out of order.
	lines := `{"time":"` + at(0) + `","node":"n1","state":"STARTING","pid":1}
{"time":"` + at(0) + `","node":"n2","state":"STARTING","pid":2}
{"time":"` + at(1) + `","node":"n3","state":"STARTING","pid":3}
{"time":"` + at(3) + `","node":"n2","state":"RUNNING","pid":2}
{"time":"` + at(2) + `","node":"n1","state":"RUNNING","pid":1}
{"time":"` + at(4) + `","node":"n3","state":"RUNNING","pid":3}
{"time":"` + at(10) + `","node":"n1","state":"STOPPING","pid":1}
{"time":"` + at(11) + `","node":"n1","state":"STOPPED","pid":1}
{"time":"` + at(12) + `","node":"n1","state":"STARTING","pid":4}
{"time":"` + at(15) + `","node":"n1","state":"RUNNING","pid":4}
{"time":"` + at(20) + `","node":"n2","state":"STOPPING","pid":2}
{"time":"` + at(21) + `","node":"other","state":"STOPPING","pid":9}
`
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	events := restarttest.ReadEvents(t, path)
	if len(events) != 12 || events[4].Node != "n2" || events[4].State != "RUNNING" || events[3].PID != 1 {
		t.Fatalf("ReadEvents = %+v; want 12 events in time order", events)
	}
	nodes := []string{"n1", "n2", "n3"}
	tests := []struct {
		since   time.Time
		wantMax int
		wantAt  time.Time
	}{
		{t0.Add(5 * time.Second), 1, t0.Add(10 * time.Second)},  // the rolling restart: one down at a time
		{t0.Add(-time.Second), 3, t0.Add(-time.Second)},         // from before the first start
		{t0.Add(12 * time.Second), 1, t0.Add(12 * time.Second)}, // n1 down at since
	}
	for _, tt := range tests {
		max, when := restarttest.MaxDown(events, nodes, tt.since)
		if max != tt.wantMax || !when.Equal(tt.wantAt) {
			t.Errorf("MaxDown(since %v) = %d at %v; want %d at %v", tt.since.Sub(t0), max, when.Sub(t0), tt.wantMax, tt.wantAt.Sub(t0))
		}
	}
	if got := restarttest.ReadEvents(t, filepath.Join(t.TempDir(), "none")); got != nil {
		t.Errorf("ReadEvents(missing file) = %v; want none", got)
	}
}

func TestConfigJSON(t *testing.T) {
	cfg := restarttest.Config{Product: "jira", Node: "node1", Listen: "127.0.0.2:18080", Pidfile: "/tmp/x/node1.pid",
		Events: "/tmp/x/events.jsonl", Starting: 1500 * time.Millisecond, Stopping: 300 * time.Millisecond,
		DB: &restarttest.DBConfig{Driver: "pgx", DSNFile: "/tmp/x/dsn"}, InstallDir: "/tmp/x/node1-install"}
	path := restarttest.WriteConfig(t, t.TempDir(), cfg)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "product": "jira",
  "node": "node1",
  "listen": "127.0.0.2:18080",
  "pidfile": "/tmp/x/node1.pid",
  "events": "/tmp/x/events.jsonl",
  "starting": "1.5s",
  "stopping": "300ms",
  "db": {
    "driver": "pgx",
    "dsn_file": "/tmp/x/dsn"
  },
  "install_dir": "/tmp/x/node1-install"
}`
	if string(data) != want {
		t.Errorf("config file:\n%s\nwant:\n%s", data, want)
	}
	var back restarttest.Config
	if err := back.UnmarshalJSON(data); err != nil || !reflect.DeepEqual(back, cfg) {
		t.Errorf("read back %+v, %v; want %+v", back, err, cfg)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config file mode %v, %v; want 0600", fi.Mode(), err)
	}
}
