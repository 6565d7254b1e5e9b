package benchmarks

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pseudokit/pseudokit/benchmarks/synth"
	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
)

// benchRows is the size of the benchmarks' input.
const benchRows = 100_000

// benchRules code fnr (the subject) and email, and replace both names with
// fictitious ones; the other six columns are kept.
func benchRules() *pseudo.Rules {
	return &pseudo.Rules{Version: 1, Columns: []pseudo.ColumnRule{
		{Column: "fnr", Action: pseudo.ActionCode, Kind: pseudo.KindNID, Subject: true},
		{Column: "first_name", Action: pseudo.ActionFakeName, Part: pseudo.PartGiven},
		{Column: "last_name", Action: pseudo.ActionFakeName, Part: pseudo.PartFamily},
		{Column: "email", Action: pseudo.ActionCode, Kind: pseudo.KindEmail},
		{Column: "birth_year", Action: pseudo.ActionKeep},
		{Column: "sex", Action: pseudo.ActionKeep},
		{Column: "postcode", Action: pseudo.ActionKeep},
		{Column: "municipality", Action: pseudo.ActionKeep},
		{Column: "diagnosis", Action: pseudo.ActionKeep},
		{Column: "measurement", Action: pseudo.ActionKeep},
	}}
}

// fastKDF makes vault creation cheap; it is keyvault's documented test hook.
func fastKDF(tb testing.TB) {
	old := keyvault.DefaultKDF
	keyvault.DefaultKDF = keyvault.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}
	tb.Cleanup(func() { keyvault.DefaultKDF = old })
}

func newVault(tb testing.TB, path string) *keyvault.Vault {
	tb.Helper()
	v, err := keyvault.Create(path, keyvault.CreateOptions{Project: "bench", Passphrase: []byte("bench passphrase"), Actor: "bench"})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// writeInput writes benchRows synthetic rows (drawn from 100,000 persons) in format.
func writeInput(tb testing.TB, path, format string) int64 {
	tb.Helper()
	g, err := synth.New(synth.Options{Rows: benchRows, Persons: 100_000, Seed: 42})
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if format == "parquet" {
		err = g.WriteParquet(f)
	} else {
		err = g.WriteCSV(f)
	}
	if err != nil {
		tb.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Size()
}

func BenchmarkPseudonymizeCSV(b *testing.B)     { benchmarkFile(b, "csv") }
func BenchmarkPseudonymizeParquet(b *testing.B) { benchmarkFile(b, "parquet") }

// benchmarkFile runs a pseudo.FileJob over benchRows rows of format, to the
// same format. "new" gives every run a fresh vault, so every identifier is a
// new link (a dataset's first pseudonymisation); "rerun" uses a vault that
// already holds all the links (the same or an overlapping dataset again).
func benchmarkFile(b *testing.B, format string) {
	fastKDF(b)
	dir := b.TempDir()
	in := filepath.Join(dir, "in."+format)
	size := writeInput(b, in, format)
	out := filepath.Join(dir, "out."+format)
	run := func(b *testing.B, v *keyvault.Vault) {
		job := &pseudo.FileJob{Vault: v, Rules: benchRules(), In: in, Out: out, Actor: "bench", Command: "benchmark"}
		res, err := job.Run(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if res.Rows != benchRows {
			b.Fatalf("%d rows pseudonymised, want %d", res.Rows, benchRows)
		}
	}
	vaults := 0
	b.Run("new", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		var busy time.Duration
		for range b.N {
			b.StopTimer()
			vaults++
			v := newVault(b, filepath.Join(dir, "new-"+strconv.Itoa(vaults)+".vault"))
			b.StartTimer()
			start := time.Now()
			run(b, v)
			busy += time.Since(start)
			b.StopTimer()
			v.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(benchRows)*float64(b.N)/busy.Seconds(), "rows/s")
	})
	var rerun *keyvault.Vault // made once: b.Run calls the function for each b.N it tries
	defer func() {
		if rerun != nil {
			rerun.Close()
		}
	}()
	b.Run("rerun", func(b *testing.B) {
		if rerun == nil {
			rerun = newVault(b, filepath.Join(dir, "rerun.vault"))
			run(b, rerun) // the links go in here
		}
		v := rerun
		b.SetBytes(size)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			run(b, v)
		}
		b.ReportMetric(float64(benchRows)*float64(b.N)/time.Since(start).Seconds(), "rows/s")
	})
}
