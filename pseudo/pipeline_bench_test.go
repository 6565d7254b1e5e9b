package pseudo

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	synthdata "github.com/pseudokit/pseudokit/benchmarks/synth"
	"github.com/pseudokit/pseudokit/internal/cputime"
	"github.com/pseudokit/pseudokit/internal/table"
)

// pipelineRows is the size of the pipeline benchmarks' input.
const pipelineRows = 200_000

// pipelineRules are benchmarks/run.sh's rules: fnr coded (the subject),
// email coded, both names fictitious, the rest kept.
var pipelineRules = &Rules{Version: 1, Columns: []ColumnRule{
	{Column: "fnr", Action: ActionCode, Kind: KindNID, Subject: true},
	{Column: "first_name", Action: ActionFakeName, Part: PartGiven},
	{Column: "last_name", Action: ActionFakeName, Part: PartFamily},
	{Column: "email", Action: ActionCode, Kind: KindEmail},
}}

// runPipeline runs FileJob's pipeline (reader, workers, ordered writer)
// without a vault (nil Linker) and returns the output's SHA-256.
func runPipeline(tb testing.TB, rules *Rules, in, format string, workers int) string {
	tb.Helper()
	h := sha256.New()
	pipelineTo(tb, hashWriter{h}, rules, in, UTF8, table.Format(format), workers, 0)
	return hex.EncodeToString(h.Sum(nil))
}

type hashWriter struct{ h hash.Hash }

func (w hashWriter) Write(p []byte) (int, error) { return w.h.Write(p) }

func pipelineInput(tb testing.TB, format string) string {
	tb.Helper()
	g, err := synthdata.New(synthdata.Options{Rows: pipelineRows, Persons: 100_000, Seed: 42})
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "in."+format)
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
	return path
}

func BenchmarkPipelineCSV(b *testing.B)     { benchmarkPipeline(b, "csv") }
func BenchmarkPipelineParquet(b *testing.B) { benchmarkPipeline(b, "parquet") }

// benchmarkPipeline measures the per-row CPU of the pipeline, without the
// vault, for 1 and 2 workers.
//
// PSEUDOKIT_PIPELINE_CSV or PSEUDOKIT_PIPELINE_PARQUET name an input to use
// instead (benchmarks/gen makes them; rows/s and cpu-ns/row then assume
// pipelineRows rows, so scale them).
func benchmarkPipeline(b *testing.B, format string) {
	in := os.Getenv("PSEUDOKIT_PIPELINE_" + strings.ToUpper(format))
	if in == "" {
		in = pipelineInput(b, format)
	}
	for _, workers := range []int{1, 2} {
		b.Run("workers="+strconv.Itoa(workers), func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := cputime.Process()
			for range b.N {
				runPipeline(b, pipelineRules, in, format, workers)
			}
			cpu := cputime.Process() - cpu0
			b.ReportMetric(float64(pipelineRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(pipelineRows*b.N), "cpu-ns/row")
		})
	}
}
