package table

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pseudokit/pseudokit/internal/csvio"
)

// CSVOptions configure a CSV reader.
type CSVOptions struct {
	// Comma is the delimiter; 0 detects it from the header line.
	Comma byte
	// Encoding is the file's character encoding (default UTF-8).
	Encoding csvio.Encoding
	// File names the file in errors.
	File string
	// BatchRows is the number of rows a batch (default DefaultBatchRows).
	BatchRows int
	// Allocator allocates batches (default memory.DefaultAllocator).
	Allocator memory.Allocator
}

// CSVReader reads a CSV file with a header line as batches of string columns.
type CSVReader struct {
	r      *csvio.Reader
	schema *arrow.Schema
	cols   []colBuf // the batch being read, one per column
	rows   int
	mem    memory.Allocator
	lines  []int // first line of each row of the last batch
	first  int64 // row number (1-based) of the last batch's first row
	done   bool
}

// NewCSVReader reads the header of r and returns a reader for its records.
func NewCSVReader(r io.Reader, o CSVOptions) (*CSVReader, error) {
	cr := csvio.NewReader(r)
	cr.Comma = o.Comma
	cr.Encoding = o.Encoding
	cr.File = o.File
	header, err := cr.ReadHeader()
	if err != nil {
		return nil, err
	}
	fields := make([]arrow.Field, len(header))
	for i, h := range header {
		fields[i] = arrow.Field{Name: h, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	mem := o.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	rows := o.BatchRows
	if rows <= 0 {
		rows = DefaultBatchRows
	}
	return &CSVReader{r: cr, schema: arrow.NewSchema(fields, nil), rows: rows, mem: mem}, nil
}

// colBuf collects one column's values for a batch: their bytes end to end
// and Arrow string offsets. It is reused from batch to batch (cheaper than
// appending through an Arrow builder value by value) and copied into
// Allocator-owned buffers when the batch is complete.
type colBuf struct {
	data []byte
	offs []int32
}

// Schema returns the schema: one string column per header field.
func (r *CSVReader) Schema() *arrow.Schema { return r.schema }

// Dialect returns the detected dialect (delimiter, line ending, BOM, encoding).
func (r *CSVReader) Dialect() csvio.Dialect { return r.r.Dialect() }

// Line returns the input line on which data row row (1-based) starts, if
// that row is in the last batch returned, or 0.
func (r *CSVReader) Line(row int64) int {
	i := row - r.first
	if i < 0 || i >= int64(len(r.lines)) {
		return 0
	}
	return r.lines[i]
}

// BatchLines returns, for each row of the last batch, the input line on
// which it starts (a copy, safe to keep).
func (r *CSVReader) BatchLines() []int { return append([]int(nil), r.lines...) }

// Next reads up to BatchRows records.
func (r *CSVReader) Next() (arrow.RecordBatch, error) {
	if r.done {
		return nil, io.EOF
	}
	if r.cols == nil {
		r.cols = make([]colBuf, len(r.schema.Fields()))
	}
	for i := range r.cols {
		r.cols[i].data = r.cols[i].data[:0]
		r.cols[i].offs = append(r.cols[i].offs[:0], 0)
	}
	r.first += int64(len(r.lines))
	r.lines = r.lines[:0]
	n := 0
	for n < r.rows {
		rec, err := r.r.Read()
		if errors.Is(err, io.EOF) {
			r.done = true
			break
		}
		if err != nil {
			return nil, err
		}
		for i, f := range rec.Fields {
			c := &r.cols[i]
			c.data = append(c.data, f...)
			if len(c.data) > math.MaxInt32 {
				return nil, fmt.Errorf("row %d: column %d holds more than 2 GiB in a batch of %d rows (use smaller batches)", rec.Row, i+1, r.rows)
			}
			c.offs = append(c.offs, int32(len(c.data)))
		}
		r.lines = append(r.lines, rec.Line)
		n++
	}
	if r.first == 0 {
		r.first = 1
	}
	if n == 0 {
		return nil, io.EOF
	}
	cols := make([]arrow.Array, len(r.cols))
	for i := range r.cols {
		cols[i] = r.cols[i].array(r.mem, n)
	}
	rec := array.NewRecordBatch(r.schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec, nil
}

// array copies the column's n values into a new Arrow string array
// allocated from mem.
func (c *colBuf) array(mem memory.Allocator, n int) arrow.Array {
	offs := memory.NewResizableBuffer(mem)
	offs.Resize(arrow.Int32Traits.BytesRequired(n + 1))
	copy(arrow.Int32Traits.CastFromBytes(offs.Bytes()), c.offs)
	data := memory.NewResizableBuffer(mem)
	data.Resize(len(c.data))
	copy(data.Bytes(), c.data)
	d := array.NewData(arrow.BinaryTypes.String, n, []*memory.Buffer{nil, offs, data}, nil, 0, 0)
	offs.Release()
	data.Release()
	defer d.Release()
	return array.NewStringData(d)
}

// Close releases the reader's buffers.
func (r *CSVReader) Close() error {
	r.cols = nil
	return nil
}

// CSVWriter writes record batches as CSV with a header line. Nulls become
// empty fields; non-string columns are formatted as text.
type CSVWriter struct {
	w      *csvio.Writer
	schema *arrow.Schema
	fields [][]byte
	bufs   [][]byte
	strs   []strCol
	header bool
}

// strCol is a string column of the batch being written, for direct access.
type strCol struct {
	ok    bool // the column is an *array.String
	nulls bool // it has nulls
	a     *array.String
	offs  []int32
	data  []byte
}

// NewCSVWriter returns a writer of schema's columns to w in dialect d.
func NewCSVWriter(w io.Writer, schema *arrow.Schema, d csvio.Dialect) *CSVWriter {
	if d.Comma == 0 {
		d.Comma = ','
	}
	n := len(schema.Fields())
	return &CSVWriter{w: csvio.NewWriter(w, d), schema: schema, fields: make([][]byte, n), bufs: make([][]byte, n)}
}

func (w *CSVWriter) writeHeader() error {
	w.header = true
	for i, f := range w.schema.Fields() {
		w.fields[i] = []byte(f.Name)
	}
	return w.w.Write(w.fields)
}

// Write writes the batch's rows.
func (w *CSVWriter) Write(rec arrow.RecordBatch) error {
	if !w.header {
		if err := w.writeHeader(); err != nil {
			return err
		}
	}
	if !rec.Schema().Equal(w.schema) {
		return errors.New("table: batch schema differs from the CSV writer's")
	}
	cols := rec.Columns()
	// String columns are read in place (no copy, no type switch per value).
	strs := w.strs[:0]
	for _, c := range cols {
		var s strCol
		if a, ok := c.(*array.String); ok {
			s = strCol{ok: true, offs: a.ValueOffsets(), nulls: a.NullN() > 0, a: a}
			if b := a.Data().Buffers()[2]; b != nil {
				s.data = b.Bytes()
			}
		}
		strs = append(strs, s)
	}
	w.strs = strs
	for row := 0; row < int(rec.NumRows()); row++ {
		for i, c := range cols {
			if s := &strs[i]; s.ok {
				if s.nulls && s.a.IsNull(row) {
					w.fields[i] = nil
				} else {
					w.fields[i] = s.data[s.offs[row]:s.offs[row+1]]
				}
				continue
			}
			w.fields[i] = w.appendValue(w.bufs[i][:0], c, row)
			w.bufs[i] = w.fields[i][:0]
		}
		if err := w.w.Write(w.fields); err != nil {
			return err
		}
	}
	clear(w.strs) // keep no reference to the batch
	clear(w.fields)
	return nil
}

// appendValue appends the text of c's row-th value to dst.
func (w *CSVWriter) appendValue(dst []byte, c arrow.Array, row int) []byte {
	if c.IsNull(row) {
		return dst
	}
	switch a := c.(type) {
	case *array.String:
		return append(dst, a.Value(row)...)
	case *array.LargeString:
		return append(dst, a.Value(row)...)
	case *array.Binary:
		return append(dst, a.Value(row)...)
	case *array.Int64:
		return strconv.AppendInt(dst, a.Value(row), 10)
	case *array.Int32:
		return strconv.AppendInt(dst, int64(a.Value(row)), 10)
	case *array.Float64:
		return strconv.AppendFloat(dst, a.Value(row), 'g', -1, 64)
	case *array.Boolean:
		return strconv.AppendBool(dst, a.Value(row))
	case *array.Dictionary:
		return w.appendValue(dst, a.Dictionary(), a.GetValueIndex(row))
	}
	return append(dst, c.ValueStr(row)...)
}

// Close writes the header if no batch came, and flushes.
func (w *CSVWriter) Close() error {
	if !w.header {
		if err := w.writeHeader(); err != nil {
			return err
		}
	}
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("writing CSV: %w", err)
	}
	return nil
}
