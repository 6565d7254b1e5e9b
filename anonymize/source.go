package anonymize

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pseudokit/pseudokit/internal/csvio"
	"github.com/pseudokit/pseudokit/internal/table"
)

// Input names a dataset to read: a CSV or Parquet file, or "-" for
// standard input.
type Input struct {
	// Path is the file, or "-" for Stdin.
	Path string
	// Format is "csv" or "parquet"; empty means from the file name.
	Format string
	// Comma is the CSV delimiter (0: detected).
	Comma byte
	// Encoding is the CSV character encoding (default UTF-8).
	Encoding csvio.Encoding
	// Stdin is read for Path "-" (default os.Stdin).
	Stdin io.Reader
	// Progress, if set, is called by Count and Measure after each batch
	// with the rows read so far and the share of the input read (0 to 1,
	// or -1 when unknown, e.g. on standard input). A Job reports through
	// its own Progress instead.
	Progress func(rows int64, done float64)
}

func (in Input) name() string {
	if in.Path == "-" {
		return "<stdin>"
	}
	return in.Path
}

// dataset is an open input.
type dataset struct {
	src    *table.Source
	r      table.Reader
	csv    *table.CSVReader
	format table.Format
	rows   int64 // Parquet: rows the footer declares
}

func (d *dataset) close() {
	if d.r != nil {
		d.r.Close()
	}
	d.src.Close()
}

// sha256 returns the SHA-256 of the whole input file ("" if not hashed).
func (d *dataset) sha256() string { return d.src.SHA256() }

// open opens the dataset. For Parquet, only the columns named in cols are
// read when cols is not nil, and columns in dict are read as dictionary
// arrays (their values are decoded once per row group instead of per row).
func open(in Input, cols []string, dict map[string]bool, hashed bool) (*dataset, error) {
	f, err := table.FormatOf(in.Path, in.Format)
	if err != nil {
		return nil, err
	}
	src, err := table.OpenSource(in.Path, f, in.Stdin, hashed)
	if err != nil {
		return nil, err
	}
	d := &dataset{format: f, src: src}
	if f == table.CSV {
		r, err := table.NewCSVReader(src.Stream, table.CSVOptions{Comma: in.Comma, Encoding: in.Encoding, File: in.name()})
		if err != nil {
			d.close()
			return nil, err
		}
		d.r, d.csv = r, r
		return d, nil
	}
	ra := src.Random
	r, rows, err := newParquetReader(ra, cols, dict)
	if err != nil {
		d.close()
		return nil, fmt.Errorf("%s: %w", in.name(), err)
	}
	d.r, d.rows = r, rows
	return d, nil
}

// parquetReader reads selected columns of a Parquet file as batches.
type parquetReader struct {
	pf     *file.Reader
	rr     pqarrow.RecordReader
	schema *arrow.Schema
}

func newParquetReader(ra interface {
	io.ReaderAt
	io.Seeker
}, cols []string, dict map[string]bool) (pr *parquetReader, rows int64, err error) {
	defer func() {
		if p := recover(); p != nil {
			pr, err = nil, fmt.Errorf("%w (%v)", table.ErrNotParquet, p)
		}
	}()
	pf, err := file.NewParquetReader(ra)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", table.ErrNotParquet, err)
	}
	props := pqarrow.ArrowReadProperties{BatchSize: table.DefaultBatchRows, Parallel: runtime.GOMAXPROCS(0) > 1}
	sc := pf.MetaData().Schema
	var idx []int
	if cols != nil {
		flat := sc.NumColumns() == pf.MetaData().Schema.Root().NumFields()
		for _, c := range cols {
			i := sc.ColumnIndexByName(c)
			if i < 0 || !flat {
				idx = nil // nested or unknown: read everything, report later
				break
			}
			idx = append(idx, i)
		}
	}
	for c := range dict {
		if i := sc.ColumnIndexByName(c); i >= 0 && sc.Column(i).PhysicalType() == parquet.Types.ByteArray {
			props.SetReadDict(i, true)
		}
	}
	fr, err := pqarrow.NewFileReader(pf, props, memory.DefaultAllocator)
	if err != nil {
		pf.Close()
		return nil, 0, fmt.Errorf("%w: %v", table.ErrNotParquet, err)
	}
	rr, err := fr.GetRecordReader(context.Background(), idx, nil)
	if err != nil {
		pf.Close()
		return nil, 0, fmt.Errorf("%w: %v", table.ErrNotParquet, err)
	}
	return &parquetReader{pf: pf, rr: rr, schema: rr.Schema()}, pf.NumRows(), nil
}

// Schema implements table.Reader.
func (r *parquetReader) Schema() *arrow.Schema { return r.schema }

// Next implements table.Reader.
func (r *parquetReader) Next() (rec arrow.RecordBatch, err error) {
	defer func() {
		if p := recover(); p != nil {
			rec, err = nil, fmt.Errorf("%w (%v)", table.ErrNotParquet, p)
		}
	}()
	rec, err = r.rr.Read()
	if err != nil && !errors.Is(err, io.EOF) {
		if rec != nil {
			rec.Release()
		}
		return nil, fmt.Errorf("reading Parquet: %w", err)
	}
	if rec == nil {
		return nil, io.EOF
	}
	rec.Retain()
	return rec, nil
}

// Close implements table.Reader.
func (r *parquetReader) Close() error {
	r.rr.Release()
	return r.pf.Close()
}

// Count reads the dataset and counts the distinct combinations of its
// quasi-identifiers qi and sensitive attributes sensitive. Parquet input is
// read column-selectively. Memory grows with the number of combinations,
// not with the number of rows.
func Count(ctx context.Context, in Input, qi, sensitive []string) (*Table, error) {
	c, err := count(ctx, in, qi, sensitive)
	if err != nil {
		return nil, err
	}
	return c.Table(), nil
}

// count reads the dataset into a Counter of qi and sensitive.
func count(ctx context.Context, in Input, qi, sensitive []string) (*Counter, error) {
	cols := append(append([]string(nil), qi...), sensitive...)
	dict := map[string]bool{}
	for _, c := range cols {
		dict[c] = true
	}
	d, err := open(in, cols, dict, false)
	if err != nil {
		return nil, err
	}
	defer d.close()
	c, err := NewCounter(d.r.Schema(), qi, sensitive)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.name(), err)
	}
	add := c.Add
	if in.Progress != nil {
		add = func(rec arrow.RecordBatch) error {
			if err := c.Add(rec); err != nil {
				return err
			}
			in.Progress(c.t.Rows, d.src.Done(c.t.Rows, d.rows))
			return nil
		}
	}
	if err := pump(ctx, d.r, add); err != nil {
		return nil, inputError(in.name(), err)
	}
	return c, nil
}

// pump passes every batch of r to add, reading the next batch while add
// works on the current one.
func pump(ctx context.Context, r table.Reader, add func(arrow.RecordBatch) error) error {
	type item struct {
		rec arrow.RecordBatch
		err error
	}
	ch := make(chan item, 2)
	done := make(chan struct{})
	var once sync.Once
	stop := func() { once.Do(func() { close(done) }) }
	defer stop()
	go func() {
		defer close(ch)
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			select {
			case ch <- item{rec, err}:
			case <-done:
				if rec != nil {
					rec.Release()
				}
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var first error
	for it := range ch {
		if first == nil && it.err == nil {
			if err := ctx.Err(); err != nil {
				first = err
			} else {
				first = add(it.rec)
			}
		} else if first == nil {
			first = it.err
		}
		if it.rec != nil {
			it.rec.Release()
		}
		if first != nil {
			break
		}
	}
	if first != nil {
		// Stop the reader goroutine and wait for it to end before the
		// reader is closed.
		stop()
		for it := range ch {
			if it.rec != nil {
				it.rec.Release()
			}
		}
	}
	return first
}

// inputError names the input in an error that does not already.
func inputError(name string, err error) error {
	var pe *csvio.ParseError
	if errors.As(err, &pe) || errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

// Measure reads the dataset and measures its quasi-identifiers and
// sensitive attributes (see [Table.Report]).
func Measure(ctx context.Context, in Input, qi, sensitive []string, o ReportOptions) (*Report, error) {
	c, err := count(ctx, in, qi, sensitive)
	if err != nil {
		return nil, err
	}
	if len(sensitive) == 0 {
		// The combinations are the classes, and only their sizes count.
		return sizesReport(qi, c.sizes(), c.t.Rows, o), nil
	}
	return c.Table().Report(o), nil
}
