// Command pseudokit pseudonymises research datasets (CSV and Parquet),
// keeps the identifier key in an encrypted, logged vault, and checks
// Norwegian identity numbers. Run 'pseudokit help' for the commands.
package main

import (
	"os"

	"github.com/pseudokit/pseudokit/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.OSEnv()))
}
