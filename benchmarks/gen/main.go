// Command gen writes a synthetic participant dataset for pseudokit's
// benchmarks: N rows of 10 columns (fnr with valid Test-Norge synthetic
// identity numbers, first and last name, email, birth year, sex, postcode,
// municipality, diagnosis code, measurement), drawn from a pool of fictitious
// persons so that persons repeat. The output is deterministic from -seed.
//
//	go run ./benchmarks/gen -rows 1000000 -o participants.csv
//	go run ./benchmarks/gen -rows 1000000 -format parquet -o participants.parquet
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pseudokit/pseudokit/benchmarks/synth"
)

func main() {
	rows := flag.Int64("rows", 1_000_000, "number of data rows")
	persons := flag.Int("persons", 100_000, "number of distinct persons rows are drawn from")
	seed := flag.Uint64("seed", 1, "seed of the random choices (same seed, same file)")
	rowSeed := flag.Uint64("row-seed", 0, "seed of the rows' draws alone (default: -seed); files with one -seed and different -row-seed share their persons")
	format := flag.String("format", "", "csv or parquet (default: from the -o file name, else csv)")
	out := flag.String("o", "-", "output `FILE` (- is standard output)")
	quiet := flag.Bool("q", false, "do not report the rate on standard error")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "gen: unexpected arguments; usage: gen [-rows N] [-format csv|parquet] [-seed S] [-o FILE]")
		os.Exit(2)
	}
	if *format == "" {
		*format = "csv"
		if ext := strings.ToLower(filepath.Ext(*out)); ext == ".parquet" || ext == ".pq" {
			*format = "parquet"
		}
	}
	if err := run(*rows, *persons, *seed, *rowSeed, *format, *out, *quiet); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(rows int64, persons int, seed, rowSeed uint64, format, out string, quiet bool) error {
	start := time.Now()
	g, err := synth.New(synth.Options{Rows: rows, Persons: persons, Seed: seed, RowSeed: rowSeed})
	if err != nil {
		return err
	}
	var w io.Writer = os.Stdout
	var f *os.File
	if out != "-" {
		if f, err = os.Create(out); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	switch format {
	case "csv":
		err = g.WriteCSV(w)
	case "parquet":
		err = g.WriteParquet(w)
	default:
		return fmt.Errorf("unknown format %q (want csv or parquet)", format)
	}
	if err != nil {
		return err
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return err
		}
	}
	if !quiet {
		d := time.Since(start)
		fmt.Fprintf(os.Stderr, "gen: %d rows (%s) in %s: %.0f rows/s\n", rows, format, d.Round(time.Millisecond), float64(rows)/d.Seconds())
	}
	return nil
}
