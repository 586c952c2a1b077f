package gitlab

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/products"
)

// Where an Omnibus node keeps the Rails config that names GitLab's databases.
const (
	OmnibusRailsEtc     = "/var/opt/gitlab/gitlab-rails/etc"
	DatabaseYML         = OmnibusRailsEtc + "/database.yml"
	ResqueYML           = OmnibusRailsEtc + "/resque.yml"
	RedisYML            = OmnibusRailsEtc + "/redis.yml"
	RedisSessionsYML    = OmnibusRailsEtc + "/redis.sessions.yml"
	RedisSharedStateYML = OmnibusRailsEtc + "/redis.shared_state.yml"
)

const postgresPort = 5432

// Database is the PostgreSQL connection GitLab's database.yml gives.
type Database struct {
	Section   string // "production.main" (multi-database format) or "production"
	Adapter   string // "postgresql"
	Host      string // TCP host name; empty when SocketDir is set
	SocketDir string // unix socket directory (a host starting with "/")
	Port      int
	Database  string
	Username  string
	Password  string
	SSLMode   string
}

// Source is the database as package db describes it. A socket directory with a port other
// than 5432 cannot be expressed (the port names the socket file) and is an error.
func (d *Database) Source() (db.Source, error) {
	src := db.Source{Dialect: "postgres", Database: d.Database, User: d.Username}
	if d.SocketDir != "" {
		if d.Port != postgresPort {
			return db.Source{}, &products.DiscoverError{File: DatabaseYML, Field: d.Section + ".port",
				Msg: fmt.Sprintf("port %d with the unix socket directory %s is not supported: give database.url as postgres://localhost:%d/%s", d.Port, d.SocketDir, d.Port, d.Database)}
		}
		src.Socket = d.SocketDir
	} else {
		src.Hosts = []db.Host{{Name: d.Host, Port: d.Port}}
	}
	if d.SSLMode != "" {
		src.Params = map[string]string{"sslmode": d.SSLMode}
	}
	return src, nil
}

// Credentials are the user and password database.yml gives (the password is often empty:
// Omnibus authenticates the git OS user by peer authentication over the socket).
func (d *Database) Credentials() db.Credentials {
	return db.Credentials{User: d.Username, Password: d.Password}
}

// ParseDatabaseYML reads GitLab's config/database.yml (Omnibus:
// /var/opt/gitlab/gitlab-rails/etc/database.yml): the multi-database format's
// production.main section (users, members and namespaces live in the main database), or the
// older single-database format's production section. YAML anchors and merge keys are
// followed. Every error is a *products.DiscoverError that names the field at fault and never
// holds the password.
func ParseDatabaseYML(data []byte) (*Database, error) {
	p := &ymlParser{file: DatabaseYML}
	d, err := p.database(data)
	return d, p.scrub(err)
}

func (p *ymlParser) database(data []byte) (*Database, error) {
	root, err := p.root(data)
	if err != nil {
		return nil, err
	}
	prod := mapGet(root, "production")
	if prod == nil {
		return nil, p.fail("production", "is missing: the file names no production database")
	}
	if prod.Kind != yaml.MappingNode {
		return nil, p.fail("production", "is not a mapping")
	}
	section, cfg := "production", prod
	if main := mapGet(prod, "main"); main != nil {
		if main.Kind != yaml.MappingNode {
			return nil, p.fail("production.main", "is not a mapping")
		}
		section, cfg = "production.main", main
	} else if mapGet(prod, "adapter") == nil && mapGet(prod, "database") == nil {
		return nil, p.fail("production", "has neither main: (multi-database format) nor adapter: and database: (single-database format)")
	}
	d := &Database{Section: section, Port: postgresPort}
	field := func(name string) (string, error) {
		v, err := p.scalar(cfg, section+"."+name)
		if err == nil && strings.Contains(v, "<%") && name != "password" {
			return "", p.fail(section+"."+name, "uses ERB (<%% %%>), which reauth does not evaluate: give database.url, user and password_env")
		}
		return v, err
	}
	var port string
	for _, f := range []struct {
		name string
		dst  *string
	}{{"adapter", &d.Adapter}, {"database", &d.Database}, {"host", &d.Host}, {"port", &port},
		{"username", &d.Username}, {"sslmode", &d.SSLMode}} {
		if *f.dst, err = field(f.name); err != nil {
			return nil, err
		}
	}
	if d.Password, err = p.scalar(cfg, section+".password"); err != nil {
		return nil, err
	}
	p.secret(d.Password)
	if strings.Contains(d.Password, "<%") {
		return nil, p.fail(section+".password", "uses ERB, which reauth does not evaluate: give the password with database.password_env")
	}
	switch strings.ToLower(d.Adapter) {
	case "", "postgresql", "postgis":
		d.Adapter = "postgresql"
	default:
		return nil, p.fail(section+".adapter", fmt.Sprintf("is %q: GitLab's database is PostgreSQL (adapter: postgresql)", d.Adapter))
	}
	if d.Database == "" {
		return nil, p.fail(section+".database", "is missing or empty")
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return nil, p.fail(section+".port", fmt.Sprintf("%q is not a port number", port))
		}
		d.Port = n
	}
	switch {
	case d.Host == "":
		return nil, p.fail(section+".host", "is missing or empty (Rails would use libpq's default socket): give database.url")
	case strings.HasPrefix(d.Host, "/"):
		d.SocketDir, d.Host = d.Host, ""
	case strings.ContainsAny(d.Host, " /,\t\r\n"):
		return nil, p.fail(section+".host", fmt.Sprintf("%q is not a host name", d.Host))
	}
	return d, nil
}

// RedisFiles are the Rails config files in /var/opt/gitlab/gitlab-rails/etc that can name
// the Redis holding GitLab's sessions; nil means the file does not exist.
type RedisFiles struct {
	RedisYML    []byte // redis.yml: production: {"sessions": {...}, "shared_state": {...}, ...}
	Sessions    []byte // redis.sessions.yml
	SharedState []byte // redis.shared_state.yml
	Resque      []byte // resque.yml (the main Redis)
}

// RedisSource is the Redis GitLab's sessions live in, and where that was read.
type RedisSource struct {
	URL      string
	Password string // apart from the URL; a password inside the URL stays there
	DB       int
	File     string // the file used (its Omnibus path)
	Instance string // the instance whose entry was used: "sessions", "shared_state" or "main"
}

// Entry is the YAML entry used: "production.sessions" in redis.yml, else "production".
func (r RedisSource) Entry() string {
	if r.File == RedisYML {
		return "production." + r.Instance
	}
	return "production"
}

// ParseRedisYML picks the Redis that holds GitLab's sessions in GitLab's own order.
// Gitlab::Redis::Sessions' config_fallback is SharedState, and Gitlab::Redis::Wrapper (GitLab's
// lib/gitlab/redis/wrapper.rb, fetch_config and config_file_name) takes the first of:
//
//  1. redis.yml's production.sessions entry (Omnibus renders redis.yml from
//     redis_yml_override);
//  2. the instance's own file, production entry: redis.sessions.yml if the file exists, else
//     the fallback's file, redis.shared_state.yml (config_file_name takes the first file that
//     exists, so redis.shared_state.yml is not read when redis.sessions.yml exists);
//  3. redis.yml's production.shared_state entry (the fallback instance's);
//  4. resque.yml's production entry.
//
// Each entry is a URL string, or a mapping with url (or path, a socket), password and db.
// Sentinel and Cluster setups are refused: their URL names no single server. A redis.yml
// without production (or empty) is skipped, as GitLab reads it as {}; the other files must
// have a production entry, or reauth says so rather than guess. Errors are
// *products.DiscoverError values naming the file and never holding a password; one wrapping
// products.ErrEncryptedPassword (the password is in Omnibus' encrypted secret_file) comes with
// the source filled but for the password.
func ParseRedisYML(files RedisFiles) (RedisSource, error) {
	var redisYML *yaml.Node
	if len(bytes.TrimSpace(files.RedisYML)) > 0 {
		p := &ymlParser{file: RedisYML}
		root, err := p.root(files.RedisYML)
		if err != nil {
			return RedisSource{File: RedisYML}, p.scrub(err)
		}
		if prod := mapGet(root, "production"); prod != nil && prod.Tag != "!!null" {
			if prod.Kind != yaml.MappingNode {
				return RedisSource{File: RedisYML}, p.fail("production", "is not a mapping of instances (sessions:, shared_state:, ...)")
			}
			redisYML = prod
		}
	}
	fromRedisYML := func(instance string) (RedisSource, bool, error) {
		if redisYML == nil {
			return RedisSource{}, false, nil
		}
		entry := mapGet(redisYML, instance)
		if entry == nil || entry.Tag == "!!null" {
			return RedisSource{}, false, nil
		}
		p := &ymlParser{file: RedisYML}
		src, err := p.redisEntry(entry, "production."+instance)
		src.File, src.Instance = RedisYML, instance
		return src, true, p.scrub(err)
	}
	fromFile := func(name string, data []byte, instance string) (RedisSource, error) {
		p := &ymlParser{file: name}
		src, err := p.redis(data)
		src.File, src.Instance = name, instance
		return src, p.scrub(err)
	}

	if src, found, err := fromRedisYML("sessions"); found {
		return src, err
	}
	switch {
	case files.Sessions != nil:
		return fromFile(RedisSessionsYML, files.Sessions, "sessions")
	case files.SharedState != nil:
		return fromFile(RedisSharedStateYML, files.SharedState, "shared_state")
	}
	if src, found, err := fromRedisYML("shared_state"); found {
		return src, err
	}
	if files.Resque != nil {
		return fromFile(ResqueYML, files.Resque, "main")
	}
	return RedisSource{}, &products.DiscoverError{File: ResqueYML,
		Msg: "names no Redis, and neither do redis.yml (sessions, shared_state), redis.sessions.yml or redis.shared_state.yml: give redis.url"}
}

func (p *ymlParser) redis(data []byte) (RedisSource, error) {
	root, err := p.root(data)
	if err != nil {
		return RedisSource{}, err
	}
	prod := mapGet(root, "production")
	if prod == nil {
		return RedisSource{}, p.fail("production", "is missing: the file names no production Redis")
	}
	return p.redisEntry(prod, "production")
}

// redisEntry reads one instance's entry: a URL, or a mapping with url or path, password, db.
func (p *ymlParser) redisEntry(entry *yaml.Node, field string) (src RedisSource, err error) {
	if entry.Kind == yaml.ScalarNode {
		// The old format: production: redis://host:6379
		src.URL = strings.TrimSpace(entry.Value)
		if entry.Tag == "!!null" {
			src.URL = ""
		}
		p.secretsOfURL(src.URL)
		if src.URL == "" {
			return RedisSource{}, p.fail(field, "is empty")
		}
		if err := p.checkURL(field, src.URL, ""); err != nil {
			return RedisSource{}, err
		}
		return src, nil
	}
	if entry.Kind != yaml.MappingNode {
		return RedisSource{}, p.fail(field, "is neither a URL nor a mapping")
	}
	if mapGet(entry, "sentinels") != nil {
		return RedisSource{}, p.fail(field+".sentinels", "Redis Sentinel is configured: give redis.url of the current master (redis://host:port), which reauth does not look up")
	}
	if mapGet(entry, "cluster") != nil {
		return RedisSource{}, p.fail(field+".cluster", "Redis Cluster is not supported for GitLab's sessions by reauth: give redis.url of a single server")
	}
	if src.Password, err = p.scalar(entry, field+".password"); err != nil {
		return RedisSource{}, err
	}
	p.secret(src.Password)
	if src.URL, err = p.scalar(entry, field+".url"); err != nil {
		return RedisSource{}, err
	}
	p.secretsOfURL(src.URL)
	if src.URL == "" {
		path, err := p.scalar(entry, field+".path")
		if err != nil {
			return RedisSource{}, err
		}
		if path == "" {
			return RedisSource{}, p.fail(field+".url", "is missing or empty")
		}
		src.URL = "unix://" + path
	}
	if strings.Contains(src.URL, "<%") || strings.Contains(src.Password, "<%") {
		return RedisSource{}, p.fail(field+".url", "uses ERB, which reauth does not evaluate: give redis.url and redis.password_env")
	}
	dbText, err := p.scalar(entry, field+".db")
	if err != nil {
		return RedisSource{}, err
	}
	if dbText != "" {
		n, err := strconv.Atoi(dbText)
		if err != nil || n < 0 {
			return RedisSource{}, p.fail(field+".db", fmt.Sprintf("%q is not a database number", dbText))
		}
		src.DB = n
	}
	if err := p.checkURL(field+".url", src.URL, src.Password); err != nil {
		return RedisSource{}, err
	}
	if src.Password == "" && !isUnixURL(src.URL) {
		if sf, _ := p.scalar(entry, field+".secret_file"); sf != "" && !urlHasPassword(src.URL) {
			return src, p.failWrap(field+".secret_file", products.ErrEncryptedPassword,
				fmt.Sprintf("the Redis password is kept in the encrypted file %s: give it with redis.password_env", sf))
		}
	}
	return src, nil
}

// checkURL makes sure OpenRedis will accept the URL.
func (p *ymlParser) checkURL(field, url, password string) error {
	if _, err := RedisOptions(url, password, 0); err != nil {
		var ue *RedisURLError
		if errors.As(err, &ue) {
			return p.fail(field, ue.Reason)
		}
		return p.fail(field, err.Error())
	}
	return nil
}

func isUnixURL(u string) bool {
	u = strings.TrimSpace(u)
	return strings.HasPrefix(u, "/") || strings.HasPrefix(strings.ToLower(u), "unix:")
}

func urlHasPassword(raw string) bool {
	o, err := RedisOptions(raw, "", 0)
	return err == nil && o.Password != ""
}

// ymlParser reads one of GitLab's Rails YAML files, collecting the secrets it reads so that
// no error can carry them.
type ymlParser struct {
	file    string
	secrets []string
}

func (p *ymlParser) fail(field, msg string) error {
	return &products.DiscoverError{File: p.file, Field: field, Msg: msg}
}

func (p *ymlParser) failWrap(field string, wrapped error, msg string) error {
	return &products.DiscoverError{File: p.file, Field: field, Msg: msg, Err: wrapped}
}

func (p *ymlParser) secret(s string) {
	if s != "" {
		p.secrets = append(p.secrets, s)
	}
}

func (p *ymlParser) secretsOfURL(raw string) {
	if o, err := RedisOptions(raw, "", 0); err == nil {
		p.secret(o.Password)
	}
	// Whatever sits between "://" and the last "@" may be a password, parsable or not.
	if i, j := strings.Index(raw, "://"), strings.LastIndex(raw, "@"); i >= 0 && j > i+3 {
		userinfo := raw[i+3 : j]
		if _, pw, ok := strings.Cut(userinfo, ":"); ok {
			p.secret(pw)
		}
	}
}

// scrub replaces any secret that reached an error's text (a last guard: messages are built
// without quoting passwords).
func (p *ymlParser) scrub(err error) error {
	if err == nil {
		return nil
	}
	var de *products.DiscoverError
	if !errors.As(err, &de) {
		de = &products.DiscoverError{File: p.file, Msg: err.Error()}
	}
	for _, s := range p.secrets {
		if len(s) >= 1 {
			de.Msg = strings.ReplaceAll(de.Msg, s, "xxxxx")
			de.Field = strings.ReplaceAll(de.Field, s, "xxxxx")
		}
	}
	return de
}

func (p *ymlParser) root(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if err.Error() == "EOF" {
			return nil, p.fail("", "is empty")
		}
		// yaml's messages quote at most a token's worth of the input; scrub removes any
		// password that made it in.
		return nil, p.fail("", "is not valid YAML: "+strings.TrimPrefix(err.Error(), "yaml: "))
	}
	root := resolve(&doc)
	if root != nil && root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, p.fail("", "is empty")
		}
		root = resolve(root.Content[0])
	}
	if root == nil || root.Kind != yaml.MappingNode {
		return nil, p.fail("", "is not a YAML mapping (production: ...)")
	}
	return root, nil
}

// scalar returns the text of a mapping's scalar entry: "" when absent or null. A mapping or
// list where a value belongs is an error.
func (p *ymlParser) scalar(m *yaml.Node, path string) (string, error) {
	name := path[strings.LastIndex(path, ".")+1:]
	n := mapGet(m, name)
	if n == nil {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", p.fail(path, "is not a single value")
	}
	if n.Tag == "!!null" {
		return "", nil
	}
	return strings.TrimSpace(n.Value), nil
}

// resolve follows aliases (bounded, so that a cycle cannot loop).
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 32; i++ {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.AliasNode {
		return nil
	}
	return n
}

// mapGet returns a mapping's value for key: the mapping's own entry, else one from a merge
// key (<<: *anchor, or a list of anchors, earlier ones first), as Psych resolves them.
func mapGet(m *yaml.Node, key string) *yaml.Node {
	return mapGetDepth(m, key, 0)
}

func mapGetDepth(m *yaml.Node, key string, depth int) *yaml.Node {
	m = resolve(m)
	if m == nil || m.Kind != yaml.MappingNode || depth > 16 {
		return nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := resolve(m.Content[i])
		if k == nil || k.Kind != yaml.ScalarNode {
			continue
		}
		if k.Value == key && k.Tag != "!!merge" {
			return resolve(m.Content[i+1])
		}
		if k.Tag == "!!merge" || (k.Value == "<<" && k.Style == 0) {
			merges = append(merges, m.Content[i+1])
		}
	}
	for _, mv := range merges {
		mv = resolve(mv)
		if mv == nil {
			continue
		}
		candidates := []*yaml.Node{mv}
		if mv.Kind == yaml.SequenceNode {
			candidates = mv.Content
		}
		for _, c := range candidates {
			if v := mapGetDepth(c, key, depth+1); v != nil {
				return v
			}
		}
	}
	return nil
}
