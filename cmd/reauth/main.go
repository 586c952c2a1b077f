// Command reauth forces users of on-prem Atlassian products to log in again: it backs up and
// clears the products' remember-me tokens, safely, with a plan, a confirmation, an audit log and
// an undo.
package main

import "os"

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
