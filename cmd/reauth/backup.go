package main

import "github.com/urfave/cli/v2"

func (a *app) backupCommand() *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "write a backup of the remember-me tokens in scope; deletes nothing",
		ArgsUsage: " ",
		Description: "Writes the rows in scope to a private (0600) backup file in backup_dir, with a manifest\n" +
			"and a SHA-256 checksum, from one consistent read.\n\n" +
			"Example: reauth backup --target jira",
		Flags:  append([]cli.Flag{targetFlag()}, scopeFlags()...),
		Action: func(c *cli.Context) error { return a.backupOrClear(c, "backup") },
	}
}
