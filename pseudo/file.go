package pseudo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pseudokit/pseudokit/internal/csvio"
	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/keyvault"
)

// Encoding names a CSV file's character encoding.
type Encoding string

// The CSV encodings.
const (
	UTF8        Encoding = "utf-8"
	Latin1      Encoding = "latin1"
	Windows1252 Encoding = "windows-1252"
)

// ParseEncoding returns the Encoding named s ("" means UTF-8). It accepts
// common aliases (utf8, iso-8859-1, cp1252).
func ParseEncoding(s string) (Encoding, error) {
	switch s {
	case "", "utf-8", "utf8", "UTF-8":
		return UTF8, nil
	case "latin1", "latin-1", "iso-8859-1", "ISO-8859-1":
		return Latin1, nil
	case "windows-1252", "cp1252", "Windows-1252":
		return Windows1252, nil
	}
	return "", fmt.Errorf("unknown encoding %q (want utf-8, latin1 or windows-1252)", s)
}

func (e Encoding) csv() csvio.Encoding {
	switch e {
	case Latin1:
		return csvio.Latin1
	case Windows1252:
		return csvio.Windows1252
	}
	return csvio.UTF8
}

// FileJob pseudonymises one dataset file into another, recording the links
// and an access-log entry in the vault, all or nothing: on any error the
// vault is unchanged and no output is left behind.
type FileJob struct {
	// Vault is the unlocked vault; Rules.Domain must exist in it.
	Vault *keyvault.Vault
	// Grant and Linker run the job without a vault (Vault nil), as a
	// worker of a distributed pipeline does: Grant (for Rules.Domain, from
	// keyvault's Vault.GrantJob) gives the domain secret, and Linker
	// records the links (package pseudo/job's LinkWriter, which also
	// refuses the persons who have withdrawn). Nothing is logged: the grant
	// was.
	Grant  *keyvault.Grant
	Linker Linker
	// Rules say what to do with each column.
	Rules *Rules
	// In and Out are the input and output paths; "-" is standard input/output.
	In, Out string
	// From and To override the formats implied by the file names ("csv", "parquet").
	From, To string
	// Comma is the input CSV delimiter; 0 detects it.
	Comma byte
	// Encoding is the input CSV encoding (default UTF-8).
	Encoding Encoding
	// Actor is who runs the job, for the access log (the OS user is recorded too).
	Actor string
	// Command is the command line recorded in the access log (without secrets).
	Command string
	// BatchRows is the number of rows per batch (default table.DefaultBatchRows).
	BatchRows int
	// Workers is the number of goroutines transforming batches (default:
	// the number of CPUs). The output is the same for any number.
	Workers int
	// SkipWithdrawn leaves out the rows of persons who have withdrawn
	// consent and goes on; without it such rows make the run fail (after
	// counting them all) with an error matching ErrWithdrawn.
	SkipWithdrawn bool
	// Progress, if set, is called after each batch with the rows done so far
	// and the share of the input done (0-1; -1 when unknown, as on a pipe).
	Progress func(rows int64, done float64)
	// Stdin is read for In == "-" (default os.Stdin).
	Stdin io.Reader
	// Stdout is written for Out == "-" (default os.Stdout).
	Stdout io.Writer
	// Allocator allocates batches. By default a CSV -> CSV Run has a pool
	// that reuses the buffers of batches already written (internal/table's
	// PoolAllocator), and other runs memory.DefaultAllocator. Measured on
	// 5M rows (100,000 persons), CSV: 9-13 % less CPU than on the Go
	// allocator (the garbage collector ran 12 times instead of 29), peak
	// RSS 199-205 instead of 216 MB. Parquet -> Parquet re-runs took 20 %
	// more CPU on the pool (why was not worked out: arrow-go's Parquet
	// reader and writer allocate much outside the allocator), so Parquet
	// stays off it.
	Allocator memory.Allocator
	// Finder finds identifiers inside free text, for redact rules
	// (scan.Finder from package pseudo/scan).
	Finder TextFinder
}

// Result reports what a FileJob did, in counts and digests only.
type Result struct {
	Summary
	// Domain is the pseudonymisation domain.
	Domain string `json:"domain"`
	// InputSHA256 and OutputSHA256 are hex SHA-256 digests of the files' bytes.
	InputSHA256  string `json:"input_sha256"`
	OutputSHA256 string `json:"output_sha256"`
	// NewLinks and ExistingLinks count the identifiers new to the vault and
	// those it already held.
	NewLinks      int `json:"new_links"`
	ExistingLinks int `json:"existing_links"`
	// Duration is the run's wall time.
	Duration time.Duration `json:"-"`
}

// Run performs the job.
func (j *FileJob) Run(ctx context.Context) (res *Result, err error) {
	start := time.Now()
	inFmt, err := table.FormatOf(j.In, j.From)
	if err != nil {
		return nil, err
	}
	outFmt, err := table.FormatOf(j.Out, j.To)
	if err != nil {
		return nil, err
	}
	if j.Allocator == nil && inFmt == table.CSV && outFmt == table.CSV {
		jj := *j // the caller's FileJob stays as it was
		jj.Allocator = table.NewPoolAllocator()
		j = &jj
	}
	if j.In != "-" && j.Out != "-" && sameFile(j.In, j.Out) {
		return nil, fmt.Errorf("%s: input and output are the same file", j.Out)
	}
	rules := *j.Rules
	if err := rules.Check(); err != nil {
		return nil, err
	}
	in, err := openInput(j, inFmt)
	if err != nil {
		return nil, err
	}
	defer in.close()

	sess, err := j.begin(ctx, rules.Domain)
	if err != nil {
		return nil, err
	}
	defer sess.rollback()
	defer clear(sess.secret)

	p, err := New(&rules, Options{DomainSecret: sess.secret, Random: sess.random, Linker: sess.linker, Allocator: j.Allocator, Finder: j.Finder,
		nameDicts: outFmt == table.Parquet})
	if err != nil {
		return nil, err
	}
	// The input's key-value metadata (a Parquet file's) is not carried
	// over: it may describe columns the rules code or drop (pandas and
	// Spark store column types there) or hold anything else.
	outSchema, err := p.Bind(arrow.NewSchema(in.r.Schema().Fields(), nil))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name(j.In), err)
	}
	out, err := table.CreateOutput(j.Out, j.Stdout)
	if err != nil {
		return nil, err
	}
	defer out.Abort()
	w, err := newWriter(out, outSchema, outFmt, in, &rules, j.Allocator)
	if err != nil {
		return nil, err
	}
	if err := pump(ctx, in, p, w, j); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("%s: %w", name(j.Out), err)
	}
	sum := p.Summary()
	if sum.WithdrawnRows > 0 && !j.SkipWithdrawn {
		return nil, &WithdrawnError{File: name(j.In), Rows: sum.WithdrawnRows}
	}
	res = &Result{Summary: sum, Domain: rules.Domain, InputSHA256: in.digest(), OutputSHA256: out.SHA256()}
	if sess.tx != nil {
		res.NewLinks, res.ExistingLinks = sess.tx.Counts()
	}
	entry := keyvault.Entry{
		Action: "pseudonymize",
		Actor:  j.Actor,
		Details: map[string]any{
			"command":        j.Command,
			"domain":         rules.Domain,
			"input_sha256":   res.InputSHA256,
			"output_sha256":  res.OutputSHA256,
			"rows":           sum.Rows,
			"new_links":      res.NewLinks,
			"existing_links": res.ExistingLinks,
			"withdrawn_rows": sum.WithdrawnRows,
		},
	}
	// The output must be on disk before the vault records the run.
	if err := out.Sync(); err != nil {
		return nil, err
	}
	if err := sess.commit(entry); err != nil {
		return nil, err
	}
	if err := out.Commit(); err != nil {
		return nil, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

// session is the vault side of a run: a vault transaction, or a grant and
// a Linker for a run outside the vault.
type session struct {
	secret []byte
	random bool
	linker Linker
	tx     *keyvault.Tx // nil outside the vault
	done   bool
}

// begin opens the vault side of a run in domain: the vault's write
// transaction, or (no vault) the job's grant and Linker.
func (j *FileJob) begin(ctx context.Context, domain string) (*session, error) {
	if j.Vault == nil {
		switch {
		case j.Grant == nil || j.Linker == nil:
			return nil, errors.New("pseudo: FileJob needs a Vault, or a Grant and a Linker")
		case j.Grant.Domain != domain:
			return nil, fmt.Errorf("the rules' domain %s is not the job's domain %s", domain, j.Grant.Domain)
		}
		return &session{secret: bytes.Clone(j.Grant.DomainSecret), linker: j.Linker}, nil
	}
	dom, err := j.Vault.Domain(domain)
	if err != nil {
		return nil, err
	}
	secret, err := j.Vault.DomainSecret(domain)
	if err != nil {
		return nil, err
	}
	tx, err := j.Vault.Begin(ctx, domain)
	if err != nil {
		clear(secret)
		return nil, err
	}
	return &session{secret: secret, random: dom.Scheme == keyvault.SchemeRandom, linker: tx, tx: tx}, nil
}

// commit records the run in the vault (nothing outside a vault).
func (s *session) commit(e keyvault.Entry) error {
	s.done = true
	if s.tx == nil {
		return nil
	}
	return s.tx.Commit(e)
}

func (s *session) rollback() {
	if !s.done && s.tx != nil {
		s.tx.Rollback()
	}
}

// WithdrawnError reports that a dataset holds rows of persons who have
// withdrawn consent. It names how many rows, never whom.
type WithdrawnError struct {
	File string
	Rows int64
}

func (e *WithdrawnError) Error() string {
	return fmt.Sprintf("%s: %d row(s) belong to persons who have withdrawn consent; nothing was written", e.File, e.Rows)
}

// Is makes errors.Is(err, ErrWithdrawn) true.
func (e *WithdrawnError) Is(target error) bool { return target == ErrWithdrawn }

// pump moves batches from the input through the Pseudonymizer to the
// writer: one reader, Workers transforming in parallel, and this goroutine
// writing the results in input order, so the output is the same whatever
// the number of workers. At most 2*workers batches are in flight.
func pump(ctx context.Context, in *input, p *Pseudonymizer, w table.Writer, j *FileJob) error {
	workers := j.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	type job struct {
		seq   int
		rec   arrow.RecordBatch
		first int64
		lines []int
	}
	type result struct {
		seq int
		out arrow.RecordBatch
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job, workers)
	results := make(chan result, workers)
	tokens := make(chan struct{}, 2*workers)
	cr, _ := in.r.(*table.CSVReader)
	hint, _ := p.opts.Linker.(ProgressLinker)

	go func() { // the reader
		defer close(jobs)
		first := int64(1)
		for seq := 0; ; seq++ {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			rec, err := in.r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				select {
				case results <- result{seq: seq, err: inputError(j.In, err)}:
				case <-ctx.Done():
				}
				return
			}
			var lines []int
			if cr != nil {
				lines = cr.BatchLines()
			}
			select {
			case jobs <- job{seq, rec, first, lines}:
			case <-ctx.Done():
				rec.Release()
				return
			}
			first += rec.NumRows()
			if hint != nil {
				if share := in.done(first - 1); share > 0 {
					hint.Progress(share)
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(wk *Worker) {
			defer wg.Done()
			for jb := range jobs {
				var r result
				if ctx.Err() == nil {
					r.out, r.err = wk.Transform(jb.rec, jb.first)
				}
				jb.rec.Release()
				if r.err != nil {
					var re *RowError
					if errors.As(r.err, &re) {
						re.File = name(j.In)
						if k := int(re.Row - jb.first); k >= 0 && k < len(jb.lines) {
							re.Line = jb.lines[k]
						}
					}
				}
				r.seq = jb.seq
				results <- r
			}
		}(p.NewWorker())
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	var firstErr error
	pending := map[int]result{}
	next := 0
	for r := range results {
		pending[r.seq] = r
		for {
			x, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			<-tokens
			if firstErr == nil && x.err != nil {
				firstErr = x.err
				cancel()
			}
			if x.out == nil {
				continue
			}
			if firstErr == nil {
				if err := w.Write(x.out); err != nil {
					firstErr = fmt.Errorf("%s: %w", name(j.Out), err)
					cancel()
				}
			}
			x.out.Release()
			if firstErr == nil && j.Progress != nil {
				rows := p.Summary().Rows
				j.Progress(rows, in.done(rows))
			}
		}
	}
	for _, x := range pending { // only after an error
		if x.out != nil {
			x.out.Release()
		}
	}
	if firstErr == nil {
		firstErr = ctx.Err() // the caller's context ended (ours ends only after an error)
	}
	return firstErr
}

// inputError names the input file in a reading error that does not already.
func inputError(file string, err error) error {
	var pe *csvio.ParseError
	if errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("%s: %w", name(file), err)
}

func name(path string) string {
	if path == "-" {
		return "<stdin>"
	}
	return path
}

// input is an open dataset being read and hashed.
type input struct {
	src  *table.Source
	r    table.Reader
	rows int64 // the Parquet file's rows, 0 if unknown
}

// done estimates the share of the input done, or -1.
func (in *input) done(rows int64) float64 { return in.src.Done(rows, in.rows) }

// digest returns the input's SHA-256 (call it after reading).
func (in *input) digest() string { return in.src.SHA256() }

func (in *input) close() {
	if in.r != nil {
		in.r.Close()
	}
	in.src.Close()
}

func openInput(j *FileJob, f table.Format) (*input, error) {
	src, err := table.OpenSource(j.In, f, j.Stdin, true)
	if err != nil {
		return nil, err
	}
	in := &input{src: src}
	if f == table.CSV {
		r, err := table.NewCSVReader(src.Stream, table.CSVOptions{Comma: j.Comma, Encoding: j.Encoding.csv(), File: name(j.In), Allocator: j.Allocator, BatchRows: j.BatchRows})
		if err != nil {
			in.close()
			return nil, err
		}
		in.r = r
		return in, nil
	}
	r, err := table.OpenParquet(src.Random, table.ParquetReadOptions{BatchRows: j.BatchRows, Allocator: j.Allocator, Dictionary: passThrough(j.Rules)})
	if err != nil {
		in.close()
		return nil, fmt.Errorf("%s: %w", name(j.In), err)
	}
	in.r, in.rows = r, r.NumRows()
	return in, nil
}

// newWriter makes the output writer. CSV output keeps the input's CSV
// dialect (delimiter, line ending, BOM, encoding), so a file from Excel goes
// back to Excel; code columns are written to Parquet without compression,
// and neither they nor fictitious names with min/max statistics.
func newWriter(out io.Writer, schema *arrow.Schema, f table.Format, in *input, rules *Rules, mem memory.Allocator) (table.Writer, error) {
	if f == table.CSV {
		d := csvio.Dialect{Comma: ','}
		if cr, ok := in.r.(*table.CSVReader); ok {
			d = cr.Dialect()
		}
		return table.NewCSVWriter(out, schema, d), nil
	}
	var random, names []string
	for _, c := range rules.Columns {
		switch c.Action {
		case ActionCode:
			random = append(random, c.Column)
		case ActionFakeName:
			names = append(names, c.Column)
		}
	}
	return table.NewParquetWriter(out, schema, table.ParquetOptions{Random: random, NoStatistics: names,
		StoreValueType: memoryDictionaries(in, schema, rules), Allocator: mem})
}

// passThrough says which columns the rules leave as they are (no rule, keep
// or drop): a Parquet input gives them as dictionaries where that is cheaper
// (see table.ParquetReadOptions.Dictionary), so that their values are never
// copied nor hashed again on output.
func passThrough(rules *Rules) func(string) bool {
	acts := map[string]Action{}
	for _, c := range rules.Columns {
		acts[c.Column] = c.Action
	}
	return func(col string) bool {
		a, ok := acts[col]
		return !ok || a == ActionKeep || a == ActionDrop
	}
}

// memoryDictionaries names the output columns that are dictionaries only
// in memory: fake-name columns (Options.nameDicts) and columns the input was
// read as dictionaries. The output file stores them as the strings Bind
// promises and as the type the input file has.
func memoryDictionaries(in *input, out *arrow.Schema, rules *Rules) []string {
	var names []string
	for _, c := range rules.Columns {
		if idx := out.FieldIndices(c.Column); c.Action == ActionFakeName && len(idx) == 1 && out.Field(idx[0]).Type.ID() == arrow.DICTIONARY {
			names = append(names, c.Column)
		}
	}
	pr, ok := in.r.(*table.ParquetReader)
	if !ok {
		return names
	}
	for i, f := range pr.Schema().Fields() {
		if f.Type.ID() != arrow.DICTIONARY || pr.FileSchema().Field(i).Type.ID() == arrow.DICTIONARY {
			continue
		}
		if idx := out.FieldIndices(f.Name); len(idx) == 1 && out.Field(idx[0]).Type.ID() == arrow.DICTIONARY && !slices.Contains(names, f.Name) {
			names = append(names, f.Name)
		}
	}
	return names
}

// sameFile reports whether a and b name the same existing file.
func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
