package runbook

import (
	"context"
	"os"

	"github.com/reauth/reauth/products"
)

// Discover reads a product's database connection from its own config file under home: on host
// over SSH when host is given, else on this machine. where says which file on which machine.
func (c *Config) Discover(ctx context.Context, p *products.Product, home, host, installDir string) (d *products.Discovered, where string, err error) {
	read := os.ReadFile
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
