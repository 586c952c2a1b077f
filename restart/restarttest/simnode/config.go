package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"
)

// config is the JSON file named on the command line. restarttest.Config mirrors it; unknown
// fields are refused so that the two cannot drift apart silently.
type config struct {
	Product    string    `json:"product"`
	Node       string    `json:"node"`
	Listen     string    `json:"listen"`
	Pidfile    string    `json:"pidfile"`
	Events     string    `json:"events"`
	Starting   string    `json:"starting"`
	Stopping   string    `json:"stopping"`
	NeverReady bool      `json:"never_ready"`
	DB         *dbConfig `json:"db"`
	InstallDir string    `json:"install_dir"`
	// PersistWithoutManager makes a Tomcat node persist sessions when its conf/server.xml or
	// conf/context.xml exists but has no <Manager> element at all, as a real Tomcat does
	// (StandardManager's default pathname is SESSIONS.ser).
	PersistWithoutManager bool `json:"persist_without_manager"`
	// AdminPasswordFile holds the password of the "admin" account that the per-user session
	// endpoints (Jira 9.11+, Bamboo) accept with HTTP basic auth; empty: they answer 404, as
	// older versions do.
	AdminPasswordFile string `json:"admin_password_file"`
	// Peers are the base URLs (context path included) of the other nodes of a Crowd cluster:
	// an SSO token is valid while one of them, or this node, holds it in memory.
	Peers []string `json:"peers"`
	// SSOVia are the base URLs of Crowd nodes that this node asks, in turn until one answers,
	// to validate a crowd.token_key cookie, as an application signed in through Crowd SSO
	// does. Empty: the cookie means nothing here.
	SSOVia []string `json:"sso_via"`

	starting, stopping time.Duration
	product            *product
}

type dbConfig struct {
	Driver  string `json:"driver"` // pgx or mysql
	DSNFile string `json:"dsn_file"`
}

func loadConfig(path string) (*config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &c, nil
}

func (c *config) validate() error {
	var err error
	if c.product, err = lookupProduct(c.Product); err != nil {
		return err
	}
	if c.Node == "" {
		return errors.New("node: missing")
	}
	if c.Pidfile == "" {
		return errors.New("pidfile: missing")
	}
	host, _, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return fmt.Errorf("listen %q: %w", c.Listen, err)
	}
	// A test node must never be reachable from outside the machine.
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return fmt.Errorf("listen %q: must be an IPv4 loopback address (127.0.0.0/8)", c.Listen)
	}
	for _, d := range []struct {
		name string
		text string
		dst  *time.Duration
	}{{"starting", c.Starting, &c.starting}, {"stopping", c.Stopping, &c.stopping}} {
		if d.text == "" {
			continue
		}
		if *d.dst, err = time.ParseDuration(d.text); err != nil || *d.dst < 0 {
			return fmt.Errorf("%s %q: not a duration like 1500ms", d.name, d.text)
		}
	}
	if len(c.Peers) > 0 && c.Product != "crowd" {
		return errors.New("peers: only a Crowd node has peers")
	}
	if len(c.SSOVia) > 0 && c.Product == "crowd" {
		return errors.New("sso_via: Crowd does not sign in through Crowd")
	}
	for _, list := range []struct {
		name string
		urls []string
	}{{"peers", c.Peers}, {"sso_via", c.SSOVia}} {
		for _, u := range list.urls {
			if err := loopbackURL(u); err != nil {
				return fmt.Errorf("%s %q: %w", list.name, u, err)
			}
		}
	}
	if c.DB != nil {
		if c.DB.Driver != "pgx" && c.DB.Driver != "mysql" {
			return fmt.Errorf("db.driver %q: want pgx or mysql", c.DB.Driver)
		}
		if c.DB.DSNFile == "" {
			return errors.New("db.dsn_file: missing")
		}
	}
	return nil
}

// loopbackURL refuses a URL that could take a node's requests off the machine.
func loopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" {
		return errors.New("want http://")
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return errors.New("must be on an IPv4 loopback address (127.0.0.0/8)")
	}
	return nil
}
