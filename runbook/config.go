package runbook

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/reauth/reauth/internal/secrets"
	"github.com/reauth/reauth/products"
	"github.com/reauth/reauth/products/gitlab"
)

// Config is the reauth.yaml file.
type Config struct {
	Environment string         `yaml:"environment"`
	BackupDir   string         `yaml:"backup_dir"`
	AuditLog    string         `yaml:"audit_log"`
	SSH         SSHConfig      `yaml:"ssh"`
	Targets     []TargetConfig `yaml:"targets"`

	// Path is the file the config was read from; relative paths in it are relative to its
	// directory, so a run does not depend on the shell's working directory.
	Path string `yaml:"-"`
	file string // the path as given, for messages
	// parts are the targets' parts (see products.Part): a target of their own for every
	// command, made from their target's config; skipped says, per target, which of its parts
	// skip_parts leaves out.
	parts   []TargetConfig
	skipped map[string][]string
	pwState
}

// SSHConfig is how reauth reaches the nodes.
type SSHConfig struct {
	User         string `yaml:"user"`
	IdentityFile string `yaml:"identity_file"`
	KnownHosts   string `yaml:"known_hosts"`
	Port         int    `yaml:"port"`
	JumpHost     string `yaml:"jump_host"`
	// NodeLockDir is the directory on each node where reauth takes the node's lock (a file
	// reauth-node-<port>.lock, held with flock while the node may be restarted). Default /tmp:
	// every SSH user of the node can reach it, so admins with different logins exclude each
	// other too.
	NodeLockDir string `yaml:"node_lock_dir"`
}

// TargetConfig is one product installation.
type TargetConfig struct {
	Name     string         `yaml:"name"`
	Product  string         `yaml:"product"`
	Database DatabaseConfig `yaml:"database"`
	// Table overrides the product's remember-me table name; required where it is unverified.
	Table string `yaml:"table"`
	// Columns overrides the roles of the token table's columns, for unverified layouts.
	Columns ColumnsConfig `yaml:"columns"`
	Nodes   []NodeConfig  `yaml:"nodes"`
	Restart RestartConfig `yaml:"restart"`
	Redis   RedisConfig   `yaml:"redis"`
	// BaseURL and Admin let `sessions revoke` call the product's per-user session endpoint
	// (Jira 9.11+, Bamboo) so that the users' in-memory sessions end without a restart.
	BaseURL string      `yaml:"base_url"`
	Admin   AdminConfig `yaml:"admin"`
	// SSOVia names the target (Crowd) that signs this target's users in through its SSO
	// cookie: a run must end that target's sessions too, or users are signed in again at once.
	SSOVia string `yaml:"sso_via"`
	// SkipParts leaves parts of the product out (their suffixes): where the release predates
	// the part's table (Crowd before 3.4 has no remember-me table).
	SkipParts []string `yaml:"skip_parts"`

	line int // where the target starts in the file
	// A part of a target: part is the index in its product's Parts plus one, of is the
	// target's name; zero for a configured target.
	part int
	of   string
}

// productFacts returns the product as the target sees it: the product, or its part's view of it.
func (t *TargetConfig) productFacts() (*products.Product, error) {
	p, err := products.Lookup(t.Product)
	if err != nil || t.part == 0 {
		return p, err
	}
	return p.Part(t.part - 1), nil
}

// Owner is the name of the configured target: the target's own, or, for a part, its target's.
func (t *TargetConfig) Owner() string {
	if t.part != 0 {
		return t.of
	}
	return t.Name
}

// DatabaseConfig is how to reach a target's database.
type DatabaseConfig struct {
	URL          string          `yaml:"url"`
	User         string          `yaml:"user"`
	Password     string          `yaml:"password"`
	PasswordEnv  string          `yaml:"password_env"`
	PasswordFile string          `yaml:"password_file"`
	Schema       string          `yaml:"schema"`
	Discover     *DiscoverConfig `yaml:"discover"`
}

// givesPassword reports whether the config itself gives the database password.
func (d DatabaseConfig) givesPassword() bool {
	return d.Password != "" || d.PasswordEnv != "" || d.PasswordFile != ""
}

// DiscoverConfig asks reauth to read the connection from the product's own config file.
type DiscoverConfig struct {
	Home string `yaml:"home"`
	// ExpectHost names the database server(s) the discovered connection may point at. It is
	// required when the password comes from the config rather than from the product's file:
	// a node whose file was rewritten must not be able to send the password elsewhere.
	ExpectHost HostList `yaml:"expect_host"`
}

// ColumnsConfig names the token table's key, user and creation-time columns.
type ColumnsConfig struct {
	Key     string `yaml:"key"`
	User    string `yaml:"user"`
	Created string `yaml:"created"`
}

// AdminConfig is a product administrator's login for its REST API.
type AdminConfig struct {
	User         string `yaml:"user"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
}

// NodeConfig is one node of a cluster.
type NodeConfig struct {
	Host string `yaml:"host"`
	URL  string `yaml:"url"`
	// Role is Bamboo Data Center's: "primary" is restarted after the standbys.
	Role string `yaml:"role"`
}

// RestartConfig overrides a product's restart defaults.
type RestartConfig struct {
	Stop         string    `yaml:"stop"`
	Start        string    `yaml:"start"`
	InstallDir   string    `yaml:"install_dir"`
	StopTimeout  Duration  `yaml:"stop_timeout"`
	StartTimeout Duration  `yaml:"start_timeout"`
	Settle       *Duration `yaml:"settle"` // nil: the default; 0s is allowed
}

// RedisConfig is where GitLab keeps its sessions.
type RedisConfig struct {
	URL          string `yaml:"url"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	DB           int    `yaml:"db"`
	// ExpectHost names the Redis server(s) a discovered Redis connection may point at; it is
	// required when the Redis password comes from the config (password_env, password_file).
	ExpectHost HostList `yaml:"expect_host"`
	// CAFile, with a rediss:// URL, is the PEM file of the CA the server's certificate must
	// chain to, instead of the system's roots.
	CAFile string `yaml:"ca_file"`
}

// minNodeTimeout is the least stop_timeout or start_timeout a config may give.
const minNodeTimeout = time.Second

// Duration is a time.Duration written in Go syntax or in days ("720h", "30d", "1d12h").
type Duration time.Duration

// UnmarshalYAML reads a Duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return &lineError{line: n.Line, msg: err.Error()}
	}
	*d = Duration(v)
	return nil
}

var daysRE = regexp.MustCompile(`^(\d+)d`)

// ParseDuration parses Go duration syntax plus a leading whole number of days ("30d", "2d12h").
// Negative durations are refused: every duration reauth takes is an age or a timeout.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var total time.Duration
	rest := s
	if m := daysRE.FindStringSubmatch(s); m != nil {
		days, err := strconv.Atoi(m[1])
		if err != nil || days > 100000 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		total = time.Duration(days) * 24 * time.Hour
		rest = s[len(m[0]):]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q: use Go syntax or days, e.g. 720h, 30d, 90m", s)
		}
		total += d
	}
	if s == "" || total < 0 {
		return 0, fmt.Errorf("bad duration %q: use Go syntax or days, e.g. 720h, 30d, 90m", s)
	}
	return total, nil
}

// ConfigError is a problem with the config file: it names the file, the line when known, the
// field and the value at fault.
type ConfigError struct {
	File  string
	Line  int
	Field string
	Msg   string
	// Err is the cause, when there is one (an unreadable password file, a bad URL), so that
	// errors.Is and errors.As see through the config error.
	Err error
}

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

func (e *ConfigError) Error() string {
	where := e.File
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("config %s: %s: %s", where, e.Field, e.Msg)
	}
	return fmt.Sprintf("config %s: %s", where, e.Msg)
}

type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return e.msg }

var targetNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// LoadConfig reads and checks a config file for commands that act on targets: at least one
// target is required. Unknown keys are errors, so that a misspelt setting is not silently
// ignored during an incident.
func LoadConfig(path string) (*Config, error) {
	return load(path, true)
}

// LoadSettings reads and checks a config file for commands that need only its settings (ssh:,
// environment:), such as discover: a config with no targets yet is accepted.
func LoadSettings(path string) (*Config, error) {
	return load(path, false)
}

func load(path string, needTargets bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &ConfigError{File: path, Msg: "file not found (use --config FILE or REAUTH_CONFIG)"}
		}
		return nil, &ConfigError{File: path, Msg: err.Error()}
	}
	return parse(path, data, needTargets)
}

// ParseConfig checks and decodes config file contents; path is used in messages and to
// resolve relative paths. At least one target is required.
func ParseConfig(path string, data []byte) (*Config, error) {
	return parse(path, data, true)
}

func parse(path string, data []byte, needTargets bool) (*Config, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ConfigError{File: path, Msg: "file is empty"}
		}
		return nil, yamlError(path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &ConfigError{File: path, Line: extra.Line, Msg: "more than one YAML document"}
	}
	if len(doc.Content) == 0 {
		return nil, &ConfigError{File: path, Msg: "file is empty"}
	}
	root := doc.Content[0]
	if err := checkKeys(path, root, reflect.TypeOf(Config{}), "", map[*yaml.Node]bool{}); err != nil {
		return nil, err
	}
	cfg := &Config{Path: path, file: path}
	cfg.secrets = &secrets.Set{}
	if abs, err := filepath.Abs(path); err == nil {
		// Backup paths printed in undo commands must work from any directory.
		cfg.Path = abs
	}
	if err := root.Decode(cfg); err != nil {
		return nil, yamlError(path, err)
	}
	if root.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == "targets" && root.Content[i+1].Kind == yaml.SequenceNode {
				for j, t := range root.Content[i+1].Content {
					if j < len(cfg.Targets) {
						cfg.Targets[j].line = t.Line
					}
				}
			}
		}
	}
	if err := cfg.validate(needTargets); err != nil {
		return nil, err
	}
	cfg.recordSecrets()
	cfg.exposure()
	return cfg, nil
}

func yamlError(path string, err error) error {
	var le *lineError
	if errors.As(err, &le) {
		return &ConfigError{File: path, Line: le.line, Msg: le.msg}
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg := te.Errors[0]
		line := 0
		if strings.HasPrefix(msg, "line ") {
			if i := strings.Index(msg, ": "); i > 0 {
				line, _ = strconv.Atoi(msg[5:i])
				msg = msg[i+2:]
			}
		}
		return &ConfigError{File: path, Line: line, Msg: msg}
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if strings.HasPrefix(msg, "line ") {
		if i := strings.Index(msg, ": "); i > 0 {
			line, _ = strconv.Atoi(msg[5:i])
			msg = msg[i+2:]
		}
	}
	return &ConfigError{File: path, Line: line, Msg: "not valid YAML: " + msg}
}

// checkKeys walks a YAML node against the Go type it will decode into and reports the first
// key the type does not have, with its line and the keys that are allowed there.
//
// Aliases are followed once each: a node reached again through another alias was checked
// already, which keeps a document of nested aliases from costing exponential time.
func checkKeys(path string, n *yaml.Node, t reflect.Type, field string, seen map[*yaml.Node]bool) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		if seen[n.Alias] {
			return nil
		}
		seen[n.Alias] = true
		n = n.Alias
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if t == reflect.TypeOf(Duration(0)) || n.Tag == "!!null" {
				return nil
			}
			return &ConfigError{File: path, Line: n.Line, Field: orRoot(field), Msg: fmt.Sprintf("expected a mapping of keys, found %q", n.Value)}
		}
		known := map[string]reflect.StructField{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			known[tag] = f
			names = append(names, tag)
		}
		sort.Strings(names)
		given := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			sub := k.Value
			if field != "" {
				sub = field + "." + k.Value
			}
			f, ok := known[k.Value]
			if !ok {
				return &ConfigError{File: path, Line: k.Line, Field: sub, Msg: fmt.Sprintf("unknown key %q (allowed here: %s)", k.Value, strings.Join(names, ", "))}
			}
			if given[k.Value] {
				return &ConfigError{File: path, Line: k.Line, Field: sub, Msg: "key given twice"}
			}
			given[k.Value] = true
			if err := checkKeys(path, v, f.Type, sub, seen); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			if n.Tag == "!!null" || (t == reflect.TypeOf(HostList{}) && n.Kind == yaml.ScalarNode) {
				return nil
			}
			return &ConfigError{File: path, Line: n.Line, Field: field, Msg: "expected a list"}
		}
		for i, item := range n.Content {
			if err := checkKeys(path, item, t.Elem(), fmt.Sprintf("%s[%d]", field, i), seen); err != nil {
				return err
			}
		}
	default:
		if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
			return &ConfigError{File: path, Line: n.Line, Field: field, Msg: "expected a single value"}
		}
	}
	return nil
}

func orRoot(field string) string {
	if field == "" {
		return "(top level)"
	}
	return field
}

func (c *Config) fail(t *TargetConfig, field, format string, a ...any) error {
	line := 0
	if t != nil {
		line = t.line
	}
	err := fmt.Errorf(format, a...)
	return &ConfigError{File: c.file, Line: line, Field: field, Msg: err.Error(), Err: errors.Unwrap(err)}
}

func (c *Config) validate(needTargets bool) error {
	if strings.TrimSpace(c.Environment) == "" {
		return c.fail(nil, "environment", "is required (e.g. environment: staging): live runs ask the operator to type it")
	}
	if strings.ContainsAny(c.Environment, " \t\r\n") {
		return c.fail(nil, "environment", "%q must be one word, as the operator types it to confirm", c.Environment)
	}
	if needTargets && len(c.Targets) == 0 {
		return c.fail(nil, "targets", "at least one target is required")
	}
	if c.BackupDir == "" {
		c.BackupDir = "reauth-backups"
	}
	if c.AuditLog == "" {
		c.AuditLog = "reauth-audit.jsonl"
	}
	c.BackupDir = c.resolvePath(c.BackupDir)
	if c.SSH.IdentityFile != "" {
		c.SSH.IdentityFile = c.resolvePath(c.SSH.IdentityFile)
	}
	if c.SSH.KnownHosts == "" {
		c.SSH.KnownHosts = "~/.ssh/known_hosts"
	}
	c.SSH.KnownHosts = c.resolvePath(c.SSH.KnownHosts)
	c.AuditLog = c.resolvePath(c.AuditLog)
	if c.SSH.Port < 0 || c.SSH.Port > 65535 {
		return c.fail(nil, "ssh.port", "%d is not a TCP port (1 to 65535; 0 or absent: 22)", c.SSH.Port)
	}
	if c.SSH.NodeLockDir == "" {
		c.SSH.NodeLockDir = "/tmp"
	}
	if !filepath.IsAbs(c.SSH.NodeLockDir) {
		return c.fail(nil, "ssh.node_lock_dir", "%q must be an absolute path on the nodes", c.SSH.NodeLockDir)
	}
	names := map[string]bool{}
	// Every node belongs to one target: two targets sharing a node could each take it down
	// while the other's nodes are down too.
	nodeHosts := map[string]string{}
	nodeURLs := map[string]string{}
	for i := range c.Targets {
		t := &c.Targets[i]
		f := func(s string) string { return fmt.Sprintf("targets[%d].%s", i, s) }
		if !targetNameRE.MatchString(t.Name) {
			return c.fail(t, f("name"), "%q must be letters, digits, '.', '_' or '-' (it names backup files)", t.Name)
		}
		if names[t.Name] {
			return c.fail(t, f("name"), "%q is used by two targets", t.Name)
		}
		names[t.Name] = true
		if !t.gitlab() {
			if _, err := products.Lookup(t.Product); err != nil {
				return c.fail(t, f("product"), "unknown product %q (supported: %s, gitlab)", t.Product, strings.Join(products.Names(), ", "))
			}
		}
		d := t.Database
		if d.Discover == nil && d.URL == "" {
			return c.fail(t, f("database.url"), "is required (or database.discover.home)")
		}
		if d.Discover != nil && d.URL != "" {
			return c.fail(t, f("database"), "give either url or discover, not both")
		}
		set := 0
		for _, s := range []string{d.Password, d.PasswordEnv, d.PasswordFile} {
			if s != "" {
				set++
			}
		}
		if set > 1 {
			return c.fail(t, f("database"), "give only one of password, password_env and password_file")
		}
		if d.PasswordFile != "" {
			t.Database.PasswordFile = c.resolvePath(d.PasswordFile)
		}
		if t.Admin.PasswordFile != "" {
			t.Admin.PasswordFile = c.resolvePath(t.Admin.PasswordFile)
		}
		if t.Redis.PasswordFile != "" {
			t.Redis.PasswordFile = c.resolvePath(t.Redis.PasswordFile)
		}
		if t.BaseURL != "" {
			if u, err := url.Parse(t.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return c.fail(t, f("base_url"), "%q must be the product's http(s) address", t.BaseURL)
			}
		}
		hosts := map[string]bool{}
		urls := map[string]bool{}
		for j, n := range t.Nodes {
			nf := func(s string) string { return f(fmt.Sprintf("nodes[%d].%s", j, s)) }
			if strings.TrimSpace(n.Host) == "" {
				return c.fail(t, nf("host"), "is required (the node's SSH address)")
			}
			hk := c.nodeHostKey(n.Host)
			if hosts[hk] {
				return c.fail(t, nf("host"), "%q is listed twice", n.Host)
			}
			hosts[hk] = true
			if other, ok := nodeHosts[hk]; ok && other != t.Name {
				return c.fail(t, nf("host"), "%q is also a node of target %s: a node belongs to one target, or two restarts could take two nodes of one cluster down", n.Host, other)
			}
			nodeHosts[hk] = t.Name
			u, err := url.Parse(n.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return c.fail(t, nf("url"), "%q must be the node's own http(s) address, e.g. http://jira1.example.com:8080", n.URL)
			}
			uk := nodeURLKey(u)
			if urls[uk] {
				return c.fail(t, nf("url"), "%q is listed for two nodes: each node is probed at its own address, never the load balancer's", n.URL)
			}
			urls[uk] = true
			if other, ok := nodeURLs[uk]; ok && other != t.Name {
				return c.fail(t, nf("url"), "%q is also a node of target %s: a node belongs to one target", n.URL, other)
			}
			nodeURLs[uk] = t.Name
			if n.Role != "" && n.Role != "primary" && n.Role != "standby" {
				return c.fail(t, nf("role"), "%q: use primary or standby", n.Role)
			}
		}
		// A timeout shorter than any product takes would halt a run with a node left down.
		for _, to := range []struct {
			field string
			d     Duration
		}{{"restart.stop_timeout", t.Restart.StopTimeout}, {"restart.start_timeout", t.Restart.StartTimeout}} {
			if to.d != 0 && time.Duration(to.d) < minNodeTimeout {
				return c.fail(t, f(to.field), "%s is too short: at least %s (absent: the default)", time.Duration(to.d), minNodeTimeout)
			}
		}
		if t.Redis.URL != "" {
			// A URL reauth cannot use is the config's fault: say so before anything connects.
			if _, err := gitlab.RedisOptions(t.Redis.URL, "", 0); err != nil {
				return c.fail(t, f("redis.url"), "%w", err)
			}
		}
		if t.Redis.CAFile != "" {
			if u := strings.ToLower(strings.TrimSpace(t.Redis.URL)); u != "" && !strings.HasPrefix(u, "rediss://") {
				return c.fail(t, f("redis.ca_file"), "is for a TLS Redis, and redis.url is not rediss://")
			}
			t.Redis.CAFile = c.resolvePath(t.Redis.CAFile)
		}
		if t.Redis.DB < 0 {
			return c.fail(t, f("redis.db"), "%d is not a Redis database number", t.Redis.DB)
		}
		if t.Table != "" && strings.TrimSpace(t.Table) != t.Table {
			return c.fail(t, f("table"), "%q has leading or trailing spaces", t.Table)
		}
	}
	for i := range c.Targets {
		t := &c.Targets[i]
		if t.SSOVia == "" {
			continue
		}
		field := fmt.Sprintf("targets[%d].sso_via", i)
		via, err := c.Target(t.SSOVia)
		switch {
		case err != nil:
			return c.fail(t, field, "%q is not a target of this config: name the Crowd target that signs %s's users in", t.SSOVia, t.Name)
		case via == t:
			return c.fail(t, field, "%q is the target itself", t.SSOVia)
		case !products.SignsInOthers(via.Product):
			return c.fail(t, field, "target %s is %s, which signs no other product's users in (sso_via names a Crowd target)", via.Name, via.Product)
		}
	}
	return c.makeParts(names)
}

// makeParts adds a target for each part of each target's product (Crowd's remember-me
// tokens): same database, no nodes, none of the overrides of the target's own table.
func (c *Config) makeParts(names map[string]bool) error {
	c.parts, c.skipped = nil, map[string][]string{}
	for i := range c.Targets {
		t := &c.Targets[i]
		p, err := products.Lookup(t.Product)
		var suffixes []string
		if err == nil {
			for _, part := range p.Parts {
				suffixes = append(suffixes, part.Suffix)
			}
		}
		for _, s := range t.SkipParts {
			if !slices.Contains(suffixes, s) {
				known := "it has none"
				if len(suffixes) > 0 {
					known = "its parts: " + strings.Join(suffixes, ", ")
				}
				return c.fail(t, fmt.Sprintf("targets[%d].skip_parts", i), "%q is not a part of %s (%s)", s, t.Product, known)
			}
		}
		for j, part := range suffixes {
			name := t.Name + "." + part
			table := p.Parts[j].Tokens.Table
			if slices.Contains(t.SkipParts, part) {
				c.skipped[t.Name] = append(c.skipped[t.Name], fmt.Sprintf("part %s (%s) is left out by skip_parts: its rows are not cleared (right only where %s is older than %s, which lacks the table)",
					name, table, p.Title, p.Parts[j].Since))
				continue
			}
			if names[name] {
				return c.fail(t, fmt.Sprintf("targets[%d].name", i), "%q is taken: it names %s's part %s (%s), which reauth makes for every %s target", name, t.Name, part, table, p.Title)
			}
			c.parts = append(c.parts, TargetConfig{Name: name, Product: t.Product, Database: t.Database, line: t.line, part: j + 1, of: t.Name})
		}
	}
	return nil
}

// Parts lists the names of a target's parts.
func (c *Config) Parts(name string) []string {
	var out []string
	for _, p := range c.parts {
		if p.of == name {
			out = append(out, p.Name)
		}
	}
	return out
}

// OwnerOf names the configured target a target belongs to: a part's target, else the name
// itself.
func (c *Config) OwnerOf(name string) string {
	if tc, err := c.Target(name); err == nil {
		return tc.Owner()
	}
	return name
}

// WithParts lists the targets named, each followed by its parts: what plan and run act on.
func (c *Config) WithParts(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, n)
		out = append(out, c.Parts(n)...)
	}
	return out
}

// nodeHostKey is a node's SSH address as compared for duplicates: lower case, with its port.
func (c *Config) nodeHostKey(host string) string {
	h, port, err := net.SplitHostPort(host)
	if err != nil {
		h, port = host, ""
	}
	if port == "" {
		port = "22"
		if c.SSH.Port != 0 {
			port = strconv.Itoa(c.SSH.Port)
		}
	}
	return net.JoinHostPort(strings.ToLower(strings.Trim(h, "[]")), port)
}

// nodeURLKey is a node's URL as compared for duplicates: scheme, lower-case host, port (the
// scheme's default when absent) and path without its trailing slash.
func nodeURLKey(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return u.Scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port) + strings.TrimRight(u.Path, "/")
}

// resolvePath expands ~ and makes a relative path relative to the config file's directory.
func (c *Config) resolvePath(p string) string {
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[2:])
		}
	}
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(c.Path), p)
}

// Target returns the named target's config.
func (c *Config) Target(name string) (*TargetConfig, error) {
	var names []string
	for i := range c.Targets {
		if c.Targets[i].Name == name {
			return &c.Targets[i], nil
		}
		names = append(names, c.Targets[i].Name)
	}
	for i := range c.parts {
		if c.parts[i].Name == name {
			return &c.parts[i], nil
		}
	}
	return nil, &ConfigError{File: c.file, Field: "--target", Msg: fmt.Sprintf("no target named %q (targets: %s)", name, strings.Join(names, ", "))}
}
