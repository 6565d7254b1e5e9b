package pipeline

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

	"github.com/pseudokit/pseudokit/anonymize"
)

func init() {
	register.DoFn3x1[context.Context, fileio.FileMetadata, func(string, int64), error](&kcheckFn{})
	register.Function2x1(joinCount)
	register.DoFn3x1[context.Context, int, func(*string) bool, error](&kreportFn{})
	register.Emitter2[string, int64]()
}

// KCheckOptions configure KCheck.
type KCheckOptions struct {
	// Input is a glob of CSV and Parquet files, measured as one dataset.
	Input string
	// QI are the quasi-identifier columns; Sensitive the sensitive ones.
	QI, Sensitive []string
	// K and L are the thresholds the report counts against (as pseudokit
	// kcheck --k and --l).
	K, L int
	// Output is where the report (JSON, as pseudokit kcheck --json) goes.
	Output string
}

// KCheck adds the k-anonymity measurement of o.Input to the pipeline: each
// file's combinations of quasi-identifier (and sensitive) values are
// counted where the file is, the counts are summed per combination across
// files, and one worker computes the report from the merged table, so the
// report is the one pseudokit kcheck gives for all files together.
func KCheck(s beam.Scope, o KCheckOptions) error {
	s = s.Scope("pseudokit.KCheck")
	if o.Input == "" || o.Output == "" || len(o.QI) == 0 {
		return fmt.Errorf("kcheck needs an input glob, quasi-identifiers and an output path")
	}
	if o.K < 1 || o.L < 1 {
		return fmt.Errorf("k and l must be at least 1")
	}
	files, err := datasetFiles(s, o.Input)
	if err != nil {
		return err
	}
	counts := stats.SumPerKey(s, beam.ParDo(s, &kcheckFn{QI: o.QI, Sensitive: o.Sensitive}, files))
	joined := beam.ParDo(s, joinCount, counts)
	grouped := beam.GroupByKey(s, beam.AddFixedKey(s, joined))
	beam.ParDo0(s, &kreportFn{Columns: len(o.QI) + len(o.Sensitive), QI: o.QI, Sensitive: o.Sensitive, K: o.K, L: o.L, Output: o.Output}, grouped)
	return nil
}

type kcheckFn struct {
	QI, Sensitive []string
}

// ProcessElement counts one file's combinations and emits each with its
// count, keyed by the values (length-prefixed, so any text is safe).
func (f *kcheckFn) ProcessElement(ctx context.Context, m fileio.FileMetadata, emit func(string, int64)) error {
	in, clean, err := stageIn(ctx, m.Path)
	if err != nil {
		return err
	}
	defer clean()
	t, err := anonymize.Count(ctx, anonymize.Input{Path: in}, f.QI, f.Sensitive)
	if err != nil {
		return err
	}
	var key []byte
	for i, n := range t.Counts {
		key = key[:0]
		for c := range t.Columns {
			v := t.Values[c][t.Codes[c][i]]
			key = binary.AppendUvarint(key, uint64(len(v)))
			key = append(key, v...)
		}
		emit(string(key), n)
	}
	return nil
}

// joinCount puts a combination's total after its key, so that all can be
// gathered on one worker as plain strings.
func joinCount(key string, n int64) string {
	return string(binary.AppendVarint([]byte(key), n))
}

type kreportFn struct {
	Columns       int
	QI, Sensitive []string
	K, L          int
	Output        string
}

func (f *kreportFn) ProcessElement(ctx context.Context, _ int, combos func(*string) bool) error {
	var all []string
	var c string
	for combos(&c) {
		all = append(all, c)
	}
	// The order of the merged table's rows must not depend on the runner.
	sort.Strings(all)
	t := &anonymize.Table{Columns: append(append([]string(nil), f.QI...), f.Sensitive...), QI: len(f.QI),
		Values: make([][]string, f.Columns), Codes: make([][]uint32, f.Columns)}
	dicts := make([]map[string]uint32, f.Columns)
	for i := range dicts {
		dicts[i] = map[string]uint32{}
	}
	for _, s := range all {
		b := []byte(s)
		for col := 0; col < f.Columns; col++ {
			n, w := binary.Uvarint(b)
			if w <= 0 || uint64(len(b)-w) < n {
				return fmt.Errorf("kcheck: damaged combination key")
			}
			v := string(b[w : w+int(n)])
			b = b[w+int(n):]
			code, ok := dicts[col][v]
			if !ok {
				code = uint32(len(t.Values[col]))
				dicts[col][v] = code
				t.Values[col] = append(t.Values[col], v)
			}
			t.Codes[col] = append(t.Codes[col], code)
		}
		count, w := binary.Varint(b)
		if w <= 0 || w != len(b) {
			return fmt.Errorf("kcheck: damaged count")
		}
		t.Counts = append(t.Counts, count)
		t.Rows += count
	}
	r := t.Report(anonymize.ReportOptions{K: f.K, L: f.L})
	out, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(ctx, f.Output, append(out, '\n'))
}
