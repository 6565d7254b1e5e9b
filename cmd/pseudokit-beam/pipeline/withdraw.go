package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/withdraw"
)

func init() {
	register.DoFn4x1[context.Context, fileio.FileMetadata, func(*string) bool, func(string), error](&withdrawFn{})
	register.DoFn4x1[context.Context, int, func(*string) bool, func(*string) bool, error](&receiptFn{})
}

// WithdrawOptions configure Withdraw.
type WithdrawOptions struct {
	// Input is a glob of pseudonymised CSV and Parquet files.
	Input string
	// Root is the directory outputs keep paths relative to (default: the
	// glob's directory before its first wildcard).
	Root string
	// Output is the directory the datasets without the withdrawn persons go
	// to, at the same relative paths (the inputs are not changed: swap the
	// directories when the pipeline has succeeded).
	Output string
	// Codes is a text file of the withdrawn persons' codes, one per line
	// (blank lines and lines starting with '#' are skipped). Codes are
	// pseudonyms, not identifiers.
	Codes string
	// Receipt is the path prefix of the receipt (PREFIX.json, PREFIX.txt).
	Receipt string
	// Purpose (required) and Actor go into the receipt.
	Purpose, Actor string
}

// Withdraw adds the removal of withdrawn persons' rows from o.Input to the
// pipeline, with a receipt like pseudokit withdraw's (without the vault
// part: record the withdrawal in the vault with pseudokit withdraw).
func Withdraw(s beam.Scope, o WithdrawOptions) error {
	s = s.Scope("pseudokit.Withdraw")
	if o.Input == "" || o.Output == "" || o.Codes == "" || o.Receipt == "" {
		return fmt.Errorf("withdraw needs an input glob, an output directory, a codes file and a receipt path")
	}
	if o.Purpose == "" {
		return withdraw.ErrNoPurpose
	}
	if o.Root == "" {
		o.Root = GlobRoot(o.Input)
	}
	files, err := datasetFiles(s, o.Input)
	if err != nil {
		return err
	}
	codes := textio.Read(s, o.Codes)
	results := beam.ParDo(s, &withdrawFn{Root: o.Root, Output: o.Output}, files, beam.SideInput{Input: codes})
	grouped := beam.GroupByKey(s, beam.AddFixedKey(s, results))
	beam.ParDo0(s, &receiptFn{Prefix: o.Receipt, Purpose: o.Purpose, Actor: o.Actor}, grouped, beam.SideInput{Input: codes})
	return nil
}

// readCodes reads the codes side input: checked, de-duplicated, sorted.
func readCodes(lines func(*string) bool) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	var l string
	for n := 1; lines(&l); n++ {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		c, err := pseudo.ParseCode(l)
		if err != nil {
			return nil, fmt.Errorf("codes file: a line is not a pseudokit code: %w", err)
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("codes file: no codes")
	}
	sort.Strings(out)
	return out, nil
}

type withdrawFn struct {
	Root, Output string
}

func (f *withdrawFn) ProcessElement(ctx context.Context, m fileio.FileMetadata, lines func(*string) bool, emit func(string)) error {
	codes, err := readCodes(lines)
	if err != nil {
		return err
	}
	t, err := newFileTask(ctx, f.Root, f.Output, m.Path)
	if err != nil {
		return err
	}
	defer t.close()
	o, err := table.CreateOutput(t.out, nil)
	if err != nil {
		return err
	}
	defer o.Abort()
	dr, err := withdraw.FilterFile(ctx, t.in, o, codes)
	if err != nil {
		return fmt.Errorf("%s: %w", t.rel, err)
	}
	if dr.RowsAfter == dr.RowsBefore {
		// Nothing removed: the output is the input, byte for byte (as
		// pseudokit withdraw leaves such a file untouched).
		o.Abort()
		if o, err = table.CreateOutput(t.out, nil); err != nil {
			return err
		}
		src, err := os.Open(t.in)
		if err != nil {
			return err
		}
		_, err = io.Copy(o, src)
		src.Close()
		if err != nil {
			return err
		}
		dr.SHA256After = dr.SHA256Before
	}
	if err := o.Commit(); err != nil {
		return err
	}
	if err := t.commit(); err != nil {
		return err
	}
	dr.Path = m.Path
	b, err := json.Marshal(dr)
	if err != nil {
		return err
	}
	emit(string(b))
	return nil
}

type receiptFn struct {
	Prefix, Purpose, Actor string
}

func (f *receiptFn) ProcessElement(ctx context.Context, _ int, results, lines func(*string) bool) error {
	codes, err := readCodes(lines)
	if err != nil {
		return err
	}
	rc := withdraw.Receipt{Time: time.Now().UTC().Truncate(time.Second), Actor: f.Actor, Purpose: f.Purpose, Tool: "pseudokit-beam"}
	removed := map[string]int64{}
	var r string
	for results(&r) {
		var dr withdraw.DatasetReceipt
		if err := json.Unmarshal([]byte(r), &dr); err != nil {
			return err
		}
		for c, n := range dr.Removed {
			removed[c] += n
		}
		rc.Datasets = append(rc.Datasets, dr)
	}
	sort.Slice(rc.Datasets, func(i, j int) bool { return rc.Datasets[i].Path < rc.Datasets[j].Path })
	for _, c := range codes {
		rc.Persons = append(rc.Persons, withdraw.Person{Code: c, Codes: []string{c}, RowsRemoved: removed[c]})
	}
	j, err := json.MarshalIndent(rc, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFile(ctx, f.Prefix+".json", append(j, '\n')); err != nil {
		return err
	}
	return writeFile(ctx, f.Prefix+".txt", []byte(rc.Text()))
}
