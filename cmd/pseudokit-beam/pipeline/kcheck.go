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

	"github.com/pseudokit/pseudokit/anonymize"
)

func init() {
	register.DoFn3x1[context.Context, fileio.FileMetadata, func(string), error](&kcheckFn{})
	register.DoFn3x1[context.Context, int, func(*string) bool, error](&kreportFn{})
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
// counted where the file is, and one worker sums the counts per
// combination across files and computes the report from the merged table,
// so the report is the one pseudokit kcheck gives for all files together.
// Counts travel as chunks of up to chunkCombos combinations: a runner moves
// a few large elements much faster than one element per combination
// (measured on Prism: see docs/beam.md).
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
	chunks := beam.ParDo(s, &kcheckFn{QI: o.QI, Sensitive: o.Sensitive}, files)
	grouped := beam.GroupByKey(s, beam.AddFixedKey(s, chunks))
	beam.ParDo0(s, &kreportFn{Columns: len(o.QI) + len(o.Sensitive), QI: o.QI, Sensitive: o.Sensitive, K: o.K, L: o.L, Output: o.Output}, grouped)
	return nil
}

type kcheckFn struct {
	QI, Sensitive []string
}

// chunkCombos bounds the combinations in one element (a few MB).
var chunkCombos = 1 << 16

// ProcessElement counts one file's combinations and emits them in chunks:
// each combination as its values (length-prefixed, so any text is safe)
// and its count.
func (f *kcheckFn) ProcessElement(ctx context.Context, m fileio.FileMetadata, emit func(string)) error {
	in, clean, err := stageIn(ctx, m.Path)
	if err != nil {
		return err
	}
	defer clean()
	t, err := anonymize.Count(ctx, anonymize.Input{Path: in}, f.QI, f.Sensitive)
	if err != nil {
		return err
	}
	var chunk []byte
	for i, n := range t.Counts {
		for c := range t.Columns {
			v := t.Values[c][t.Codes[c][i]]
			chunk = binary.AppendUvarint(chunk, uint64(len(v)))
			chunk = append(chunk, v...)
		}
		chunk = binary.AppendVarint(chunk, n)
		if (i+1)%chunkCombos == 0 {
			emit(string(chunk))
			chunk = chunk[:0]
		}
	}
	if len(chunk) > 0 {
		emit(string(chunk))
	}
	return nil
}

type kreportFn struct {
	Columns       int
	QI, Sensitive []string
	K, L          int
	Output        string
}

func (f *kreportFn) ProcessElement(ctx context.Context, _ int, chunks func(*string) bool) error {
	merged := map[string]int64{}
	var c string
	for chunks(&c) {
		b := []byte(c)
		for len(b) > 0 {
			start := b
			for col := 0; col < f.Columns; col++ {
				n, w := binary.Uvarint(b)
				if w <= 0 || uint64(len(b)-w) < n {
					return fmt.Errorf("kcheck: damaged combination")
				}
				b = b[w+int(n):]
			}
			key := start[:len(start)-len(b)]
			count, w := binary.Varint(b)
			if w <= 0 {
				return fmt.Errorf("kcheck: damaged count")
			}
			b = b[w:]
			merged[string(key)] += count
		}
	}
	// The order of the merged table's rows must not depend on the runner.
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t := &anonymize.Table{Columns: append(append([]string(nil), f.QI...), f.Sensitive...), QI: len(f.QI),
		Values: make([][]string, f.Columns), Codes: make([][]uint32, f.Columns)}
	dicts := make([]map[string]uint32, f.Columns)
	for i := range dicts {
		dicts[i] = map[string]uint32{}
	}
	for _, k := range keys {
		b := []byte(k)
		for col := 0; col < f.Columns; col++ {
			n, w := binary.Uvarint(b)
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
		t.Counts = append(t.Counts, merged[k])
		t.Rows += merged[k]
	}
	r := t.Report(anonymize.ReportOptions{K: f.K, L: f.L})
	out, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(ctx, f.Output, append(out, '\n'))
}
