package runbook

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reauth/reauth/db"
)

func TestPinned(t *testing.T) {
	pg := func(hosts ...db.Host) db.Source { return db.Source{Dialect: "postgres", Hosts: hosts} }
	for _, c := range []struct {
		name   string
		src    db.Source
		expect []string
		ok     bool
	}{
		{"same name", pg(db.Host{Name: "db1.example.com", Port: 5432}), []string{"db1.example.com"}, true},
		{"case and trailing dot", pg(db.Host{Name: "DB1.Example.com.", Port: 5432}), []string{"db1.example.com"}, true},
		{"port given and equal", pg(db.Host{Name: "db1", Port: 5432}), []string{"db1:5432"}, true},
		{"port given and different", pg(db.Host{Name: "db1", Port: 5433}), []string{"db1:5432"}, false},
		{"another host", pg(db.Host{Name: "evil.example.com", Port: 5432}), []string{"db1.example.com"}, false},
		{"suffix is not a match", pg(db.Host{Name: "xdb1", Port: 5432}), []string{"db1"}, false},
		{"IPv6 spellings", pg(db.Host{Name: "::1", Port: 5432}), []string{"[0:0::1]:5432"}, true},
		{"name against address", pg(db.Host{Name: "127.0.0.1", Port: 5432}), []string{"localhost"}, false},
		{"every failover host", pg(db.Host{Name: "a", Port: 1}, db.Host{Name: "b", Port: 1}), []string{"a"}, false},
		{"both failover hosts", pg(db.Host{Name: "a", Port: 1}, db.Host{Name: "b", Port: 1}), []string{"b", "a"}, true},
		{"nothing expected", pg(db.Host{Name: "a", Port: 1}), nil, false},
		{"socket", db.Source{Socket: "/var/opt/gitlab/postgresql/"}, []string{"/var/opt/gitlab/postgresql"}, true},
		{"socket against host", db.Source{Socket: "/tmp"}, []string{"localhost"}, false},
		{"oracle descriptor", db.Source{Descriptor: "(DESCRIPTION=(ADDRESS_LIST=(ADDRESS=(PROTOCOL=TCP)(HOST=ora1)(PORT=1521))(ADDRESS=(PROTOCOL=TCP)(HOST=ora2)(PORT=1521)))(CONNECT_DATA=(SERVICE_NAME=j)))"}, []string{"ora1", "ora2:1521"}, true},
		{"oracle descriptor, one unnamed", db.Source{Descriptor: "(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=ora1)(PORT=1521))(ADDRESS=(PROTOCOL=TCP)(HOST=evil)(PORT=1521)))"}, []string{"ora1"}, false},
		{"oracle descriptor without hosts", db.Source{Descriptor: "(DESCRIPTION=(CONNECT_DATA=(SERVICE_NAME=j)))"}, []string{"ora1"}, false},
	} {
		err := pinned(sourceEndpoints(c.src), c.expect)
		if (err == nil) != c.ok {
			t.Errorf("%s: pinned = %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrUnpinned) {
			t.Errorf("%s: %v does not wrap ErrUnpinned", c.name, err)
		}
	}
	if eps, err := redisEndpoint("unix:///var/opt/gitlab/redis/redis.socket?db=0"); err != nil || pinned(eps, []string{"/var/opt/gitlab/redis/redis.socket"}) != nil {
		t.Errorf("redis socket: %v %v", eps, err)
	}
	if eps, err := redisEndpoint("rediss://:pw@Redis.Example.com/2"); err != nil || pinned(eps, []string{"redis.example.com:6379"}) != nil {
		t.Errorf("redis tcp: %v %v", eps, err)
	}
}

func TestRedisTransport(t *testing.T) {
	for url, want := range map[string]string{
		"redis://h:6379/0":                   "unencrypted",
		"rediss://h:6380/0":                  "encrypted and verified",
		"unix:///var/run/redis.sock":         "local socket",
		"/var/opt/gitlab/redis/redis.socket": "local socket",
	} {
		tr := redisTransport(url, "")
		if !strings.HasPrefix(tr.Note, want) || tr.Verified != (want == "encrypted and verified") {
			t.Errorf("%s: %+v, want %s", url, tr, want)
		}
	}
}

func TestRedisTransportCAFile(t *testing.T) {
	if tr := redisTransport("rediss://h:6380/0", "/etc/reauth/redis-ca.pem"); !tr.Verified || !strings.Contains(tr.Note, "/etc/reauth/redis-ca.pem (redis.ca_file)") {
		t.Errorf("%+v", tr)
	}
}

// A Redis URL that cannot be used is a config error (exit 2), found when the config is read,
// never printed with its password.
func TestRedisURLIsConfigError(t *testing.T) {
	for _, u := range []string{"redis://h:notaport/0", "redis://:s3cret-pw@h:99999/0", "ftp://h/0"} {
		_, err := ParseConfig("c.yaml", []byte("environment: p\ntargets:\n  - {name: g, product: gitlab, database: {url: \"jdbc:postgresql://h/db\", user: u}, redis: {url: \""+u+"\"}}\n"))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != "targets[0].redis.url" || strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("%s: %v", u, err)
		}
	}
}

// Product files on this machine are read with the same bound as over SSH.
func TestReadLocalBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dbconfig.xml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(20 << 20) // sparse: 20 MiB
	f.Close()
	if _, err := readLocal(path); err == nil || !strings.Contains(err.Error(), "larger than 8 MiB") {
		t.Errorf("20 MiB file: %v", err)
	}
	os.WriteFile(path, []byte("<x/>"), 0o600)
	if b, err := readLocal(path); err != nil || string(b) != "<x/>" {
		t.Errorf("small file: %q %v", b, err)
	}
	if _, err := readLocal(path + ".missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
