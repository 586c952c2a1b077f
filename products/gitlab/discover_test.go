package gitlab_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/products"
	"github.com/reauth/reauth/products/gitlab"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseDatabaseYML(t *testing.T) {
	tests := []struct {
		file string
		want gitlab.Database
		src  db.Source
	}{
		{"database-omnibus.yml",
			gitlab.Database{Section: "production.main", Adapter: "postgresql", SocketDir: "/var/opt/gitlab/postgresql", Port: 5432,
				Database: "gitlabhq_production", Username: "gitlab"},
			db.Source{Dialect: "postgres", Socket: "/var/opt/gitlab/postgresql", Database: "gitlabhq_production", User: "gitlab"}},
		{"database-external.yml",
			gitlab.Database{Section: "production.main", Adapter: "postgresql", Host: "pg-primary.db.example.com", Port: 6432,
				Database: "gitlab_main", Username: "gitlab_app", Password: "s3cr3t-Pa55", SSLMode: "verify-full"},
			db.Source{Dialect: "postgres", Hosts: []db.Host{{Name: "pg-primary.db.example.com", Port: 6432}}, Database: "gitlab_main",
				User: "gitlab_app", Params: map[string]string{"sslmode": "verify-full"}}},
		{"database-single.yml",
			gitlab.Database{Section: "production", Adapter: "postgresql", Host: "localhost", Port: 5432,
				Database: "gitlabhq_production", Username: "git", Password: "hunter2"},
			db.Source{Dialect: "postgres", Hosts: []db.Host{{Name: "localhost", Port: 5432}}, Database: "gitlabhq_production", User: "git"}},
		{"database-anchors.yml",
			gitlab.Database{Section: "production.main", Adapter: "postgresql", Host: "db.internal", Port: 5433,
				Database: "gitlabhq_production", Username: "gitlab", Password: "anch0r-pw"},
			db.Source{Dialect: "postgres", Hosts: []db.Host{{Name: "db.internal", Port: 5433}}, Database: "gitlabhq_production", User: "gitlab"}},
	}
	for _, tt := range tests {
		got, err := gitlab.ParseDatabaseYML(readTestdata(t, tt.file))
		if err != nil {
			t.Errorf("ParseDatabaseYML(%s): %v", tt.file, err)
			continue
		}
		if *got != tt.want {
			t.Errorf("ParseDatabaseYML(%s) = %+v; want %+v", tt.file, *got, tt.want)
		}
		src, err := got.Source()
		if err != nil || !reflect.DeepEqual(src, tt.src) {
			t.Errorf("ParseDatabaseYML(%s).Source() = %+v, %v; want %+v", tt.file, src, err, tt.src)
		}
		if c := got.Credentials(); c.User != tt.want.Username || c.Password != tt.want.Password {
			t.Errorf("ParseDatabaseYML(%s).Credentials() = %v", tt.file, c.User)
		}
	}
}

func TestParseDatabaseYMLErrors(t *testing.T) {
	tests := []struct{ name, yml, field, msg string }{
		{"empty", "", "", "is empty"},
		{"not a mapping", "- a\n- b\n", "", "not a YAML mapping"},
		{"no production", "development:\n  adapter: postgresql\n", "production", "is missing"},
		{"neither format", "production:\n  pool: 5\n", "production", "neither main"},
		{"mysql", "production:\n  main:\n    adapter: mysql2\n    database: g\n    host: h\n    password: TopSecret1\n", "production.main.adapter", "PostgreSQL"},
		{"no database", "production:\n  main:\n    adapter: postgresql\n    host: h\n", "production.main.database", "missing"},
		{"no host", "production:\n  main:\n    adapter: postgresql\n    database: g\n    password: TopSecret1\n", "production.main.host", "missing or empty"},
		{"bad port", "production:\n  main:\n    database: g\n    host: h\n    port: TopSecret1\n    password: TopSecret1\n", "production.main.port", "not a port"},
		{"ERB", "production:\n  main:\n    database: <%= ENV['DB'] %>\n    host: h\n", "production.main.database", "ERB"},
		{"ERB password", "production:\n  main:\n    database: g\n    host: h\n    password: \"<%= ENV['TopSecret1'] %>\"\n", "production.main.password", "ERB"},
		{"host list", "production:\n  main:\n    database: g\n    host: a,b\n", "production.main.host", "not a host name"},
		{"main not a map", "production:\n  main: yes\n", "production.main", "not a mapping"},
		{"bad yaml", "production:\n  main: [\n", "", "not valid YAML"},
		{"alias loop", "a: &a\n  <<: *a\nproduction: *a\n", "production", "neither"},
	}
	for _, tt := range tests {
		_, err := gitlab.ParseDatabaseYML([]byte(tt.yml))
		var de *products.DiscoverError
		if !errors.As(err, &de) {
			t.Errorf("%s: error %v; want a DiscoverError", tt.name, err)
			continue
		}
		if de.Field != tt.field || !strings.Contains(de.Msg, tt.msg) || strings.Contains(err.Error(), "TopSecret1") ||
			!strings.Contains(err.Error(), "database.yml") {
			t.Errorf("%s: error %q (field %q); want field %q and %q, naming the file, without the password", tt.name, err, de.Field, tt.field, tt.msg)
		}
	}
	// A socket with another port cannot be reached through package db: Source says so.
	d, err := gitlab.ParseDatabaseYML([]byte("production:\n  main:\n    database: g\n    host: /run/pg\n    port: 5433\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Source(); err == nil || !strings.Contains(err.Error(), "5433") {
		t.Errorf("Source() with a socket and port 5433: %v; want an error", err)
	}
}

func TestParseRedisYML(t *testing.T) {
	resque := readTestdata(t, "resque-omnibus.yml")
	sessions := readTestdata(t, "redis.sessions-omnibus.yml")
	shared := readTestdata(t, "redis.shared_state-omnibus.yml")
	redisYML := readTestdata(t, "redis-omnibus.yml")               // production: {"sessions": ..., "shared_state": ..., "cache": ...}
	stateOnly := readTestdata(t, "redis-omnibus-shared_state.yml") // production: {"shared_state": ..., "cache": ...}
	otherOnly := []byte("production: {\"cache\": {\"url\": \"redis://cache.internal:6379\"}}\n")
	const (
		sessURL  = "redis://redis-sessions.example.com:6379"
		stateURL = "redis://redis-state.example.com:6379"
	)
	tests := []struct {
		name          string
		files         gitlab.RedisFiles
		url, password string
		db            int
		file, inst    string
	}{
		{"omnibus default: the main Redis", gitlab.RedisFiles{Resque: resque}, "unix:/var/opt/gitlab/redis/redis.socket", "", 0, gitlab.ResqueYML, "main"},
		{"redis.yml sessions before every file", gitlab.RedisFiles{RedisYML: redisYML, Sessions: sessions, SharedState: shared, Resque: resque}, sessURL, "sess-yml-pa55", 4, gitlab.RedisYML, "sessions"},
		{"sessions file next", gitlab.RedisFiles{RedisYML: stateOnly, Sessions: sessions, SharedState: shared, Resque: resque}, "redis://:sess-pa55@redis-sessions.internal:6380/2", "", 0, gitlab.RedisSessionsYML, "sessions"},
		{"shared state file before redis.yml's shared_state", gitlab.RedisFiles{RedisYML: stateOnly, SharedState: shared, Resque: resque}, "redis://redis-state.internal:6379", "state-pa55", 3, gitlab.RedisSharedStateYML, "shared_state"},
		{"redis.yml shared_state before resque", gitlab.RedisFiles{RedisYML: stateOnly, Resque: resque}, stateURL, "", 5, gitlab.RedisYML, "shared_state"},
		{"redis.yml for other instances only", gitlab.RedisFiles{RedisYML: otherOnly, Resque: resque}, "unix:/var/opt/gitlab/redis/redis.socket", "", 0, gitlab.ResqueYML, "main"},
		{"empty redis.yml", gitlab.RedisFiles{RedisYML: []byte{}, Resque: resque}, "unix:/var/opt/gitlab/redis/redis.socket", "", 0, gitlab.ResqueYML, "main"},
		{"old string format", gitlab.RedisFiles{Resque: []byte("production: redis://redis.example.com:6379\n")}, "redis://redis.example.com:6379", "", 0, gitlab.ResqueYML, "main"},
		{"path", gitlab.RedisFiles{Resque: []byte("production:\n  path: /run/redis/redis.sock\n  db: 1\n")}, "unix:///run/redis/redis.sock", "", 1, gitlab.ResqueYML, "main"},
		{"password in url", gitlab.RedisFiles{Resque: []byte("production:\n  url: redis://:p%40ss@10.0.0.5:6379\n  secret_file: /x.enc\n")}, "redis://:p%40ss@10.0.0.5:6379", "", 0, gitlab.ResqueYML, "main"},
	}
	for _, tt := range tests {
		got, err := gitlab.ParseRedisYML(tt.files)
		if err != nil || got.URL != tt.url || got.Password != tt.password || got.DB != tt.db || got.File != tt.file || got.Instance != tt.inst {
			t.Errorf("%s: ParseRedisYML = %q, password %v, db %d, %s %s, %v; want %q, password %v, db %d, %s %s", tt.name,
				got.URL, got.Password != "", got.DB, got.File, got.Instance, err, tt.url, tt.password != "", tt.db, tt.file, tt.inst)
		}
	}
	// The sessions file is GitLab's instance file when it exists: redis.shared_state.yml is
	// then not read, even when the sessions file is broken.
	if got, err := gitlab.ParseRedisYML(gitlab.RedisFiles{Sessions: []byte("nope: 1\n"), SharedState: shared, Resque: resque}); err == nil ||
		got.File != gitlab.RedisSessionsYML || !strings.Contains(err.Error(), "redis.sessions.yml") {
		t.Errorf("a broken redis.sessions.yml: %+v, %v; want an error naming it", got, err)
	}
}

func TestParseRedisYMLErrors(t *testing.T) {
	tests := []struct {
		name, yml, field, msg string
		wrapped               error
	}{
		{"sentinels", "production:\n  url: redis://mymaster\n  password: TopSecret1\n  sentinels:\n    - host: s1\n      port: 26379\n", "production.sentinels", "Sentinel", nil},
		{"no url", "production:\n  password: TopSecret1\n", "production.url", "missing", nil},
		{"bad scheme", "production:\n  url: http://TopSecret1@redis:6379\n", "production.url", "not supported", nil},
		{"bad db", "production:\n  url: redis://r\n  db: many\n", "production.db", "not a database number", nil},
		{"no production", "development:\n  url: redis://r\n", "production", "missing", nil},
		{"encrypted password", "production:\n  url: redis://redis.internal:6379\n  secret_file: /var/opt/gitlab/gitlab-rails/shared/encrypted_settings/redis.yaml.enc\n",
			"production.secret_file", "password_env", products.ErrEncryptedPassword},
		{"password in a bad url", "production:\n  url: \"redis://u:TopSecret1@[::1\"\n", "production.url", "cannot be parsed", nil},
	}
	for _, tt := range tests {
		got, err := gitlab.ParseRedisYML(gitlab.RedisFiles{Resque: []byte(tt.yml)})
		url, which := got.URL, got.File
		var de *products.DiscoverError
		if !errors.As(err, &de) {
			t.Errorf("%s: error %v; want a DiscoverError", tt.name, err)
			continue
		}
		if de.Field != tt.field || !strings.Contains(de.Msg, tt.msg) || strings.Contains(err.Error(), "TopSecret1") ||
			which != gitlab.ResqueYML || (tt.wrapped != nil) != errors.Is(err, tt.wrapped) {
			t.Errorf("%s: error %q (field %q, file %q); want field %q and %q, without the password", tt.name, err, de.Field, which, tt.field, tt.msg)
		}
		if tt.wrapped != nil && url == "" {
			t.Errorf("%s: no URL with the error", tt.name)
		}
	}
	if _, err := gitlab.ParseRedisYML(gitlab.RedisFiles{}); err == nil {
		t.Error("ParseRedisYML(nothing): no error")
	}
	// A broken sessions file is an error, not a silent fall back to the main Redis.
	if got, err := gitlab.ParseRedisYML(gitlab.RedisFiles{Resque: []byte("production:\n  url: redis://r\n"), Sessions: []byte("nope: 1\n")}); err == nil ||
		got.File != gitlab.RedisSessionsYML {
		t.Errorf("a broken redis.sessions.yml: %q, %v; want an error naming it", got.File, err)
	}
	// redis.yml's errors name redis.yml and the instance's entry, without the password.
	for _, tt := range []struct{ yml, field string }{
		{"production: {\"sessions\": {\"url\": \"http://x\", \"password\": \"TopSecret1\"}}\n", "production.sessions.url"},
		{"production: {\"sessions\": {\"url\": \"redis://m\", \"password\": \"TopSecret1\", \"sentinels\": [{\"host\": \"s\"}]}}\n", "production.sessions.sentinels"},
		{"production: [1]\n", "production"},
		{"production: {\"sessions\": [\"redis://TopSecret1@x\"]}\n", "production.sessions"},
	} {
		_, err := gitlab.ParseRedisYML(gitlab.RedisFiles{RedisYML: []byte(tt.yml), Resque: []byte("production: redis://r\n")})
		var de *products.DiscoverError
		if !errors.As(err, &de) || de.File != gitlab.RedisYML || de.Field != tt.field || strings.Contains(err.Error(), "TopSecret1") {
			t.Errorf("redis.yml %q: error %v; want a DiscoverError for redis.yml, field %s, without the password", tt.yml, err, tt.field)
		}
	}
}

// secretsIn returns the values of every "password" key of a YAML document, and the password
// of every redis URL in it: what no error may hold.
func secretsIn(data []byte) []string {
	var v any
	if yaml.Unmarshal(data, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any, int)
	walk = func(v any, depth int) {
		if depth > 20 {
			return
		}
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "password" || strings.Contains(s, "@")) {
					if k == "password" {
						out = append(out, s)
					} else if o, err := gitlab.RedisOptions(s, "", 0); err == nil && o.Password != "" {
						out = append(out, o.Password)
					}
				}
				walk(x, depth+1)
			}
		case []any:
			for _, x := range v {
				walk(x, depth+1)
			}
		}
	}
	walk(v, 0)
	var long []string
	for _, s := range out {
		if len(s) >= 6 { // short ones occur in any message by chance
			long = append(long, s)
		}
	}
	return long
}

func FuzzParseDatabaseYML(f *testing.F) {
	for _, name := range []string{"database-omnibus.yml", "database-external.yml", "database-single.yml", "database-anchors.yml"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte("production:\n  main:\n    database: <%= x %>\n    host: h\n    password: pw123456\n"))
	f.Add([]byte("a: &a\n  <<: *a\nproduction: *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := gitlab.ParseDatabaseYML(data)
		if err != nil {
			var de *products.DiscoverError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v; want a DiscoverError", err, err)
			}
			for _, s := range secretsIn(data) {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error %q holds the password", err)
				}
			}
			return
		}
		if d.Database == "" || d.Port < 1 || d.Port > 65535 || (d.Host == "") == (d.SocketDir == "") {
			t.Fatalf("inconsistent result %+v", d)
		}
		if src, err := d.Source(); err == nil && src.String() == "" {
			t.Fatal("empty source")
		}
	})
}

func FuzzParseRedisYML(f *testing.F) {
	redisYML := readTestdata(f, "redis-omnibus.yml")
	stateOnly := readTestdata(f, "redis-omnibus-shared_state.yml")
	resque := readTestdata(f, "resque-omnibus.yml")
	sessions := readTestdata(f, "redis.sessions-omnibus.yml")
	shared := readTestdata(f, "redis.shared_state-omnibus.yml")
	f.Add(redisYML, resque, sessions, shared, uint8(15))
	f.Add(stateOnly, resque, sessions, shared, uint8(9))
	f.Add(stateOnly, resque, sessions, shared, uint8(3))
	f.Add([]byte{}, resque, sessions, shared, uint8(11))
	f.Add([]byte("production:\n  sessions: redis://:pw@h:1/2\n"), []byte("production: redis://:pw@h:1/2\n"), []byte{}, []byte{}, uint8(3))
	f.Add([]byte{}, []byte("production:\n  url: rediss://u:secretpw@h\n  secret_file: /x\n"), []byte{}, []byte{}, uint8(2))
	f.Fuzz(func(t *testing.T, r, a, b, c []byte, present uint8) {
		pick := func(data []byte, bit uint8) []byte {
			if present&bit == 0 {
				return nil
			}
			if data == nil {
				return []byte{}
			}
			return data
		}
		files := gitlab.RedisFiles{RedisYML: pick(r, 1), Resque: pick(a, 2), Sessions: pick(b, 4), SharedState: pick(c, 8)}
		got, err := gitlab.ParseRedisYML(files)
		if err != nil {
			var de *products.DiscoverError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v; want a DiscoverError", err, err)
			}
			for _, data := range [][]byte{files.RedisYML, files.Resque, files.Sessions, files.SharedState} {
				for _, s := range secretsIn(data) {
					if strings.Contains(err.Error(), s) {
						t.Fatalf("error %q holds a password", err)
					}
				}
			}
			return
		}
		if got.File == "" || got.Instance == "" || got.URL == "" || got.DB < 0 {
			t.Fatalf("inconsistent result %+v", got)
		}
		if _, err := gitlab.RedisOptions(got.URL, got.Password, got.DB); err != nil {
			t.Fatalf("the URL found does not open: %v", err)
		}
	})
}

// FuzzParseRedisYMLOverride: redis.yml alone, as Omnibus renders it from redis_yml_override
// (JSON inside YAML), beside a valid resque.yml.
func FuzzParseRedisYMLOverride(f *testing.F) {
	f.Add(readTestdata(f, "redis-omnibus.yml"))
	f.Add(readTestdata(f, "redis-omnibus-shared_state.yml"))
	f.Add([]byte("production: {\"sessions\": \"redis://:secretpw@h:1/2\"}\n"))
	f.Add([]byte("production: {\"sessions\": {\"url\": \"redis://m\", \"password\": \"secretpw\", \"sentinels\": [{\"host\": \"s\"}]}}\n"))
	f.Add([]byte("a: &a\n  <<: *a\nproduction: *a\n"))
	resque := []byte("production: redis://main.internal:6379\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := gitlab.ParseRedisYML(gitlab.RedisFiles{RedisYML: data, Resque: resque})
		if err != nil {
			var de *products.DiscoverError
			if !errors.As(err, &de) || de.File != gitlab.RedisYML {
				t.Fatalf("error %T %v; want a DiscoverError naming redis.yml", err, err)
			}
			for _, s := range secretsIn(data) {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error %q holds a password", err)
				}
			}
			return
		}
		if got.URL == "" || (got.File == gitlab.ResqueYML) != (got.Instance == "main") {
			t.Fatalf("inconsistent result %+v", got)
		}
		if _, err := gitlab.RedisOptions(got.URL, got.Password, got.DB); err != nil {
			t.Fatalf("the URL found does not open: %v", err)
		}
	})
}
