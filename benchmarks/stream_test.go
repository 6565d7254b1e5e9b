//go:build linux

package benchmarks

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pseudokit/pseudokit/benchmarks/synth"
)

// buildPseudokit builds cmd/pseudokit of this module into dir.
func buildPseudokit(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "pseudokit")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "./cmd/pseudokit")
	cmd.Dir = ".." // the module root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/pseudokit: %v\n%s", err, out)
	}
	return bin
}

// memRun is one measured pseudokit run.
type memRun struct {
	rows   int64
	wall   time.Duration
	cpu    time.Duration // user + system
	maxRSS int64         // bytes
}

// TestMemoryFlat shows that pseudokit streams: the peak memory of a run over
// 8M rows is no more than 1.25 times that of a run over 2M rows (the same
// pool of 100,000 persons, so the vault ends up the same size), and below
// 256 MB.
func TestMemoryFlat(t *testing.T) {
	if os.Getenv("PSEUDOKIT_BIG") != "1" {
		t.Skip("generates 2M- and 8M-row CSV files (about 1 GB of temp disk) and pseudonymises each, " +
			"a minute or more: set PSEUDOKIT_BIG=1 to run it")
	}
	dir := t.TempDir()
	bin := buildPseudokit(t, dir)
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("memory test passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var runs []memRun
	for _, rows := range []int64{2_000_000, 8_000_000} {
		in := filepath.Join(dir, fmt.Sprintf("in-%d.csv", rows))
		out := filepath.Join(dir, fmt.Sprintf("out-%d.csv", rows))
		start := time.Now()
		size := generate(t, in, rows)
		t.Logf("generated %d rows (%d MB) in %s", rows, size>>20, time.Since(start).Round(time.Millisecond))

		// A fresh vault per run, so both runs do the same vault work (each
		// inserts the links of the ~200,000 identifiers of the pool).
		vault := filepath.Join(dir, fmt.Sprintf("v-%d.vault", rows))
		run(t, bin, "vault", "init", "--vault", vault, "--project", "memtest", "--passphrase-file", pass, "--kdf-time", "2", "--kdf-memory", "19")
		start = time.Now()
		ps := run(t, bin, "pseudonymize", "--quiet", "--vault", vault, "--passphrase-file", pass,
			"--id", "fnr", "--code", "email:email", "--name", "first_name,last_name", in, out)
		r := memRun{rows: rows, wall: time.Since(start), maxRSS: ps.SysUsage().(*syscall.Rusage).Maxrss * 1024}
		r.cpu = ps.UserTime() + ps.SystemTime()
		if got := countLines(t, out) - 1; got != rows {
			t.Fatalf("output has %d data rows, want %d", got, rows)
		}
		t.Logf("%d rows: %s wall, %.0f rows/s (%.0f rows per CPU second), peak RSS %.1f MB",
			rows, r.wall.Round(time.Millisecond), float64(rows)/r.wall.Seconds(), float64(rows)/r.cpu.Seconds(), float64(r.maxRSS)/1e6)
		runs = append(runs, r)
		os.Remove(in)
		os.Remove(out)
	}
	small, big := runs[0], runs[1]
	ratio := float64(big.maxRSS) / float64(small.maxRSS)
	t.Logf("peak RSS ratio 8M/2M rows: %.2f", ratio)
	if ratio > 1.25 {
		t.Errorf("peak RSS grows with the rows: %.1f MB at %d rows, %.1f MB at %d rows (ratio %.2f > 1.25)",
			float64(small.maxRSS)/1e6, small.rows, float64(big.maxRSS)/1e6, big.rows, ratio)
	}
	if big.maxRSS >= 256e6 {
		t.Errorf("peak RSS at %d rows is %.1f MB, want below 256 MB", big.rows, float64(big.maxRSS)/1e6)
	}
}

// generate writes rows synthetic rows drawn from 100,000 persons to path.
func generate(t *testing.T, path string, rows int64) int64 {
	t.Helper()
	g, err := synth.New(synth.Options{Rows: rows, Persons: 100_000, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := g.WriteCSV(f); err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// run runs bin with args and returns its process state.
func run(t *testing.T, bin string, args ...string) *os.ProcessState {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 45*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "PSEUDOKIT_PASSPHRASE=", "PSEUDOKIT_VAULT=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pseudokit %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return cmd.ProcessState
}

func countLines(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n int64
	r := bufio.NewReaderSize(f, 1<<20)
	buf := make([]byte, 1<<20)
	for {
		k, err := r.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
