package scan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
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
	var src io.Reader
	var file *os.File
	if path == "-" {
		src = o.Stdin
		if src == nil {
			src = os.Stdin
		}
	} else {
		file, err = os.Open(path)
		if err != nil {
			return nil, err
		}
		defer file.Close()
		src = file
	}
	h := sha256.New()
	cr := &countingReader{r: src, h: h}
	var rd interface {
		RecordReader
		Close() error
	}
	name := path
	if path == "-" {
		name = "<stdin>"
	}
	switch f {
	case table.CSV:
		r, err := table.NewCSVReader(cr, table.CSVOptions{Comma: o.Comma, Encoding: csvEncoding(enc), File: name})
		if err != nil {
			return nil, err
		}
		rd = r
	default:
		ra, err := readerAt(file, cr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		r, err := table.NewParquetReader(ra, 0, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		rd = r
	}
	defer rd.Close()
	rep, err := Dataset(ctx, rd, o.Options)
	if err != nil {
		var pe *csvio.ParseError
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if _, err := io.Copy(io.Discard, cr); err != nil { // anything after the last record
		return nil, err
	}
	rep.File, rep.Format = path, string(f)
	rep.SHA256, rep.Bytes = hex.EncodeToString(h.Sum(nil)), cr.n
	return rep, nil
}

// readerAt returns random access to a Parquet file, having hashed all of
// it through cr; standard input is read into memory.
func readerAt(file *os.File, cr *countingReader) (interface {
	io.ReaderAt
	io.Seeker
}, error) {
	if file == nil {
		b, err := io.ReadAll(cr)
		if err != nil {
			return nil, err
		}
		return bytes.NewReader(b), nil
	}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, err
	}
	return file, nil
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

// countingReader hashes and counts what is read through it.
type countingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

// Read reads from the underlying reader, hashing and counting.
func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}
