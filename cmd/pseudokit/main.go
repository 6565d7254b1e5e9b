// Command pseudokit pseudonymises research datasets (CSV and Parquet),
// keeps the identifier key in an encrypted, logged vault, and checks
// Norwegian identity numbers. Run 'pseudokit help' for the commands.
package main

import (
	"os"
	"runtime/debug"
	"runtime/pprof"

	"github.com/pseudokit/pseudokit/internal/cli"
)

// memoryLimit is the default soft memory limit (GOMEMLIMIT overrides it):
// the garbage collector works harder near it instead of letting the heap
// double, which keeps a run's resident memory flat and small whatever the
// input size. Live memory is bounded by the batch size and the caches.
const memoryLimit = 176 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
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
	code := cli.Main(os.Args[1:], cli.OSEnv())
	// PSEUDOKIT_MEMPROFILE=FILE writes a heap profile at the end.
	if p := os.Getenv("PSEUDOKIT_MEMPROFILE"); p != "" {
		if f, err := os.Create(p); err == nil {
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	os.Exit(code)
}
