package runbook

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/reauth/reauth/products"
	"github.com/reauth/reauth/restart"
)

// Discover reads a product's database connection from its own config file under home: on host
// over SSH when host is given, else on this machine. where says which file on which machine.
func (c *Config) Discover(ctx context.Context, p *products.Product, home, host, installDir string) (d *products.Discovered, where string, err error) {
	read := readLocal
	where = "this machine"
	if host != "" {
		dialer, err := c.Dialer()
		if err != nil {
			return nil, "", err
		}
		client, err := dialer.Dial(ctx, host)
		if err != nil {
			return nil, "", err
		}
		defer client.Close()
		read = func(path string) ([]byte, error) { return client.ReadFile(ctx, path) }
		where = host + " over SSH"
	}
	d, err = p.Discover(home, read, installDir)
	if d != nil {
		where = d.File + " on " + where
	}
	return d, where, err
}

// readLocal reads a product file on this machine, at most restart.MaxReadFile bytes of it, as
// a read over SSH does.
func readLocal(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, restart.MaxReadFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > restart.MaxReadFile {
		return nil, fmt.Errorf("read %s: larger than %d MiB, which no product config file is", path, restart.MaxReadFile>>20)
	}
	return b, nil
}
