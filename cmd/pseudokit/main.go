// Command pseudokit pseudonymises research datasets (CSV and Parquet),
// keeps the identifier key in an encrypted, logged vault, and checks
// Norwegian identity numbers. Run 'pseudokit help' for the commands.
package main

import (
	"os"
	"runtime/pprof"

	"github.com/pseudokit/pseudokit/internal/cli"
)

func main() {
	// For performance work: PSEUDOKIT_CPUPROFILE=FILE writes a CPU profile.
	if p := os.Getenv("PSEUDOKIT_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				code := cli.Main(os.Args[1:], cli.OSEnv())
				pprof.StopCPUProfile()
				f.Close()
				os.Exit(code)
			}
		}
	}
	os.Exit(cli.Main(os.Args[1:], cli.OSEnv()))
}
