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

// ParseRedisYML picks the Redis that holds GitLab's sessions from the Rails config files an
// Omnibus node has in /var/opt/gitlab/gitlab-rails/etc (nil: the file does not exist). The
// rule is GitLab's own fallback chain (Gitlab::Redis::Sessions.config_fallback is SharedState,
// whose fallback is the main Redis of resque.yml): redis.sessions.yml when present (Omnibus
// writes it only when redis_sessions_instance is configured), else redis.shared_state.yml
// (written when redis_shared_state_instance is), else resque.yml. which names the file used.
//
// Each file's production entry is read: a URL string, or a mapping with url (or path, a
// socket), password and db. password is returned apart from the URL; a password inside the
// URL stays there (OpenRedis reads it). Sentinel setups are refused: their URL names a master,
// not a server. Errors are *products.DiscoverError values and never hold a password; one
// wrapping products.ErrEncryptedPassword (the password is in Omnibus' encrypted secret_file)
// comes with url and dbIndex filled.
func ParseRedisYML(resque, sessions, sharedState []byte) (url, password string, dbIndex int, which string, err error) {
	files := []struct {
		name string
		data []byte
	}{{RedisSessionsYML, sessions}, {RedisSharedStateYML, sharedState}, {ResqueYML, resque}}
	for _, f := range files {
		if f.data == nil {
			continue
		}
		p := &ymlParser{file: f.name}
		url, password, dbIndex, err = p.redis(f.data)
		if errors.Is(err, products.ErrEncryptedPassword) {
			return url, "", dbIndex, f.name, p.scrub(err)
		}
		if err != nil {
			return "", "", 0, f.name, p.scrub(err)
		}
		return url, password, dbIndex, f.name, nil
	}
	return "", "", 0, "", &products.DiscoverError{File: ResqueYML,
		Msg: "none of resque.yml, redis.sessions.yml, redis.shared_state.yml was given: give redis.url"}
}

func (p *ymlParser) redis(data []byte) (url, password string, dbIndex int, err error) {
	root, err := p.root(data)
	if err != nil {
		return "", "", 0, err
	}
	prod := mapGet(root, "production")
	if prod == nil {
		return "", "", 0, p.fail("production", "is missing: the file names no production Redis")
	}
	if prod.Kind == yaml.ScalarNode {
		// The old format: production: redis://host:6379
		url, err = p.scalar(root, "production")
		p.secretsOfURL(url)
		switch {
		case err != nil:
			return "", "", 0, err
		case url == "":
			return "", "", 0, p.fail("production", "is empty")
		}
		if err := p.checkURL("production", url, ""); err != nil {
			return "", "", 0, err
		}
		return url, "", 0, nil
	}
	if prod.Kind != yaml.MappingNode {
		return "", "", 0, p.fail("production", "is neither a URL nor a mapping")
	}
	if mapGet(prod, "sentinels") != nil {
		return "", "", 0, p.fail("production.sentinels", "Redis Sentinel is configured: give redis.url of the current master (redis://host:port), which reauth does not look up")
	}
	if mapGet(prod, "cluster") != nil {
		return "", "", 0, p.fail("production.cluster", "Redis Cluster is not supported for GitLab's sessions by reauth: give redis.url of a single server")
	}
	if password, err = p.scalar(prod, "production.password"); err != nil {
		return "", "", 0, err
	}
	p.secret(password)
	if url, err = p.scalar(prod, "production.url"); err != nil {
		return "", "", 0, err
	}
	p.secretsOfURL(url)
	if url == "" {
		path, err := p.scalar(prod, "production.path")
		if err != nil {
			return "", "", 0, err
		}
		if path == "" {
			return "", "", 0, p.fail("production.url", "is missing or empty")
		}
		url = "unix://" + path
	}
	if strings.Contains(url, "<%") || strings.Contains(password, "<%") {
		return "", "", 0, p.fail("production.url", "uses ERB, which reauth does not evaluate: give redis.url and redis.password_env")
	}
	dbText, err := p.scalar(prod, "production.db")
	if err != nil {
		return "", "", 0, err
	}
	if dbText != "" {
		n, err := strconv.Atoi(dbText)
		if err != nil || n < 0 {
			return "", "", 0, p.fail("production.db", fmt.Sprintf("%q is not a database number", dbText))
		}
		dbIndex = n
	}
	if err := p.checkURL("production.url", url, password); err != nil {
		return "", "", 0, err
	}
	if password == "" && !isUnixURL(url) {
		if sf, _ := p.scalar(prod, "production.secret_file"); sf != "" && !urlHasPassword(url) {
			return url, "", dbIndex, p.failWrap("production.secret_file", products.ErrEncryptedPassword,
				fmt.Sprintf("the Redis password is kept in the encrypted file %s: give it with redis.password_env", sf))
		}
	}
	return url, password, dbIndex, nil
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
