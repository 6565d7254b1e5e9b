package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pseudokit/pseudokit/internal/csvio"
	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/pseudo"
)

// A RecordReader streams a dataset as Arrow record batches. The CSV and
// Parquet readers of pseudokit satisfy it.
type RecordReader interface {
	// Schema is the dataset's schema.
	Schema() *arrow.Schema
	// Next returns the next batch, or io.EOF after the last. The caller
	// releases the batch.
	Next() (arrow.RecordBatch, error)
}

// Report classifies the columns of one dataset. It holds counts, masked
// forms and digests, never a value.
type Report struct {
	// File is the dataset's path (empty for a stream).
	File string `json:"file,omitempty"`
	// Format is "csv" or "parquet" for files.
	Format string `json:"format,omitempty"`
	// SHA256 is the hex SHA-256 of the file's bytes; Bytes its size.
	SHA256 string `json:"sha256,omitempty"`
	Bytes  int64  `json:"bytes,omitempty"`
	// Rows is the number of data rows.
	Rows int64 `json:"rows"`
	// Columns are the columns in the dataset's order.
	Columns []ColumnReport `json:"columns"`
}

// Column returns the report of the named column, or nil.
func (r *Report) Column(name string) *ColumnReport {
	for i := range r.Columns {
		if r.Columns[i].Column == name {
			return &r.Columns[i]
		}
	}
	return nil
}

// Dataset classifies every column of the batches r yields, in bounded
// memory (see ColumnScanner). It does not close r.
func Dataset(ctx context.Context, r RecordReader, o Options) (*Report, error) {
	schema := r.Schema()
	scanners := make([]*ColumnScanner, schema.NumFields())
	for i, f := range schema.Fields() {
		scanners[i] = NewColumnScanner(f.Name, o)
	}
	rep := &Report{}
	var buf []byte
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		for i, col := range rec.Columns() {
			if i < len(scanners) {
				buf = addArray(scanners[i], col, buf)
			}
		}
		rep.Rows += rec.NumRows()
		rec.Release()
	}
	for _, s := range scanners {
		rep.Columns = append(rep.Columns, s.Result())
	}
	markSubject(rep.Columns)
	return rep, nil
}

// addArray adds the values of a to s; buf is scratch space for formatting
// numbers, returned for reuse.
func addArray(s *ColumnScanner, a arrow.Array, buf []byte) []byte {
	n := a.Len()
	str := func(b []byte) string {
		if len(b) == 0 {
			return ""
		}
		return unsafe.String(&b[0], len(b)) // s.Add keeps no reference
	}
	for i := 0; i < n; i++ {
		if a.IsNull(i) {
			s.AddNull()
			continue
		}
		switch a := a.(type) {
		case *array.String:
			s.Add(a.Value(i))
		case *array.LargeString:
			s.Add(a.Value(i))
		case *array.StringView:
			s.Add(a.Value(i))
		case *array.Binary:
			s.Add(a.ValueString(i))
		case *array.Int64:
			buf = strconv.AppendInt(buf[:0], a.Value(i), 10)
			s.Add(str(buf))
		case *array.Int32:
			buf = strconv.AppendInt(buf[:0], int64(a.Value(i)), 10)
			s.Add(str(buf))
		case *array.Int16:
			buf = strconv.AppendInt(buf[:0], int64(a.Value(i)), 10)
			s.Add(str(buf))
		case *array.Int8:
			buf = strconv.AppendInt(buf[:0], int64(a.Value(i)), 10)
			s.Add(str(buf))
		case *array.Uint64:
			buf = strconv.AppendUint(buf[:0], a.Value(i), 10)
			s.Add(str(buf))
		case *array.Uint32:
			buf = strconv.AppendUint(buf[:0], uint64(a.Value(i)), 10)
			s.Add(str(buf))
		case *array.Float64:
			buf = strconv.AppendFloat(buf[:0], a.Value(i), 'g', -1, 64)
			s.Add(str(buf))
		case *array.Float32:
			buf = strconv.AppendFloat(buf[:0], float64(a.Value(i)), 'g', -1, 32)
			s.Add(str(buf))
		case *array.Boolean:
			s.Add(strconv.FormatBool(a.Value(i)))
		case *array.Dictionary:
			s.Add(a.Dictionary().ValueStr(a.GetValueIndex(i)))
		default:
			s.Add(a.ValueStr(i))
		}
	}
	return buf
}

// FileOptions configure File.
type FileOptions struct {
	Options
	// Format is "csv" or "parquet"; empty means from the file name.
	Format string
	// Comma is the CSV delimiter; 0 detects it.
	Comma byte
	// Encoding is the CSV encoding: "utf-8" (default), "latin1" or
	// "windows-1252".
	Encoding string
	// Stdin is read for the path "-" (default os.Stdin).
	Stdin io.Reader
	// Progress, if set, is called after each batch with the rows read so
	// far and the share of the input read (0 to 1, or -1 when unknown).
	Progress func(rows int64, done float64)
}

// File classifies the columns of a CSV or Parquet file and records its
// SHA-256 digest and size.
func File(ctx context.Context, path string, o FileOptions) (*Report, error) {
	f, err := table.FormatOf(path, o.Format)
	if err != nil {
		return nil, err
	}
	enc, err := pseudo.ParseEncoding(o.Encoding)
	if err != nil {
		return nil, err
	}
	name := path
	if path == "-" {
		name = "<stdin>"
	}
	src, err := table.OpenSource(path, f, o.Stdin, true)
	if err != nil {
		if path == "-" {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return nil, err
	}
	defer src.Close()
	var rd RecordReader
	var total int64 // Parquet: the rows its footer declares
	switch f {
	case table.CSV:
		r, err := table.NewCSVReader(src.Stream, table.CSVOptions{Comma: o.Comma, Encoding: csvEncoding(enc), File: name})
		if err != nil {
			return nil, err
		}
		defer r.Close()
		rd = r
	default:
		r, err := table.NewParquetReader(src.Random, 0, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		defer r.Close()
		rd, total = r, r.NumRows()
	}
	if o.Progress != nil {
		rd = &progressReader{RecordReader: rd, report: func(rows int64) { o.Progress(rows, src.Done(rows, total)) }}
	}
	rep, err := Dataset(ctx, rd, o.Options)
	if err != nil {
		var pe *csvio.ParseError
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rep.File, rep.Format = path, string(f)
	rep.SHA256 = src.SHA256() // for CSV it also reads anything after the last record
	rep.Bytes = src.Size
	if rep.Bytes == 0 {
		rep.Bytes = src.BytesRead()
	}
	return rep, nil
}

// progressReader reports the rows read after each batch.
type progressReader struct {
	RecordReader
	rows   int64
	report func(rows int64)
}

func (p *progressReader) Next() (arrow.RecordBatch, error) {
	rec, err := p.RecordReader.Next()
	if err == nil {
		p.rows += rec.NumRows()
		p.report(p.rows)
	}
	return rec, err
}

func csvEncoding(e pseudo.Encoding) csvio.Encoding {
	switch e {
	case pseudo.Latin1:
		return csvio.Latin1
	case pseudo.Windows1252:
		return csvio.Windows1252
	}
	return csvio.UTF8
}
