package runbook

import (
	"errors"
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
