package table

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ParquetReader reads a Parquet file batch by batch, row group by row group,
// so memory does not grow with the file.
type ParquetReader struct {
	pf     *file.Reader
	fr     *pqarrow.FileReader
	rr     pqarrow.RecordReader
	schema *arrow.Schema // of the batches
	stored *arrow.Schema // of the file, as a reader without dictionary reads sees it
	// perGroup: one record reader a row group (when columns are read as
	// dictionaries), so that no batch holds rows of two row groups; next is
	// the next row group to open.
	perGroup bool
	next     int
}

// ErrNotParquet reports a file that is not a readable Parquet file.
var ErrNotParquet = errors.New("not a valid Parquet file")

// ParquetReadOptions configure a Parquet reader.
type ParquetReadOptions struct {
	// BatchRows is the most rows in a batch (default DefaultBatchRows).
	BatchRows int
	// Allocator allocates the batches' buffers.
	Allocator memory.Allocator
	// Dictionary, if set, names the columns the caller would take as
	// dictionary arrays (indices into the values of a row group). A column
	// named is read so when that is cheaper and changes nothing: a text or
	// binary column (not a large one) of a flat schema whose every column
	// chunk is dictionary-encoded throughout, as its metadata shows. Its values are then never
	// copied out of the dictionary: for a column that passes through a
	// command unchanged, reading and writing costs a few bytes a row
	// instead of a hashed string. Batches then never span two row groups,
	// and each batch's dictionary is its row group's. FileSchema tells the
	// column's type in the file.
	Dictionary func(column string) bool
}

// NewParquetReader opens the Parquet data in r (size bytes long).
func NewParquetReader(r parquet.ReaderAtSeeker, batchRows int, mem memory.Allocator) (*ParquetReader, error) {
	return OpenParquet(r, ParquetReadOptions{BatchRows: batchRows, Allocator: mem})
}

// OpenParquet opens the Parquet data in r with options o.
func OpenParquet(r parquet.ReaderAtSeeker, o ParquetReadOptions) (rd *ParquetReader, err error) {
	mem := o.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	batchRows := o.BatchRows
	if batchRows <= 0 {
		batchRows = DefaultBatchRows
	}
	// The Parquet decoder may panic on hostile input; turn that into an
	// error. The file is closed after a panic or an error.
	var pf *file.Reader
	defer func() {
		if p := recover(); p != nil {
			rd, err = nil, fmt.Errorf("%w (%v)", ErrNotParquet, p)
		}
		if err != nil && pf != nil {
			pf.Close()
		}
	}()
	// Buffered streams read a column chunk page by page instead of whole,
	// so memory does not depend on the input's row-group size.
	props := parquet.NewReaderProperties(mem)
	props.BufferedStreamEnabled = true
	pf, err = file.NewParquetReader(r, file.WithReadProps(props))
	if err != nil {
		pf = nil
		return nil, fmt.Errorf("%w: %v", ErrNotParquet, err)
	}
	kv := pf.MetaData().KeyValueMetadata()
	if v := kv.FindValue(arrowSchemaKey); v != nil {
		if err := checkArrowSchema(*v); err != nil {
			return nil, fmt.Errorf("%w: its stored Arrow schema (%s) is malformed: %v", ErrNotParquet, arrowSchemaKey, err)
		}
	}
	ap := pqarrow.ArrowReadProperties{BatchSize: int64(batchRows)}
	stored, err := pqarrow.FromParquet(pf.MetaData().Schema, &ap, kv)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotParquet, err)
	}
	perGroup := false
	if o.Dictionary != nil {
		for _, c := range dictionaryColumns(pf, stored, o.Dictionary) {
			ap.SetReadDict(c, true)
			perGroup = true
		}
	}
	fr, err := pqarrow.NewFileReader(pf, ap, mem)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotParquet, err)
	}
	rd = &ParquetReader{pf: pf, fr: fr, perGroup: perGroup}
	var groups []int // all
	if perGroup {
		groups, rd.next = []int{0}, 1
	}
	if rd.rr, err = fr.GetRecordReader(context.Background(), nil, groups); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotParquet, err)
	}
	// The record reader's schema has the fields but not the file's
	// key-value metadata; FromParquet's has only what the stored Arrow
	// schema holds, when there is one. Both get every entry of the file
	// but the stored Arrow schema.
	var keys, vals []string
	allVals := kv.Values()
	for i, k := range kv.Keys() {
		if k != arrowSchemaKey {
			keys, vals = append(keys, k), append(vals, allVals[i])
		}
	}
	md := arrow.NewMetadata(keys, vals)
	rd.schema = arrow.NewSchema(rd.rr.Schema().Fields(), &md)
	rd.stored = arrow.NewSchema(stored.Fields(), &md)
	return rd, nil
}

// dictionaryColumns returns the leaf columns of pf that want says to read
// as dictionaries and that can be read so without cost: byte-array columns
// of (not large) text or binary type in a flat schema (field i is leaf i),
// dictionary-encoded in every data page of every row group, as the column
// chunks' metadata show (dictionaryEncoded). A chunk that fell back to
// plain encoding would grow its dictionary batch by batch, and a writer
// given a changed dictionary starts a new row group.
func dictionaryColumns(pf *file.Reader, stored *arrow.Schema, want func(string) bool) []int {
	md := pf.MetaData()
	sc := md.Schema
	for _, f := range stored.Fields() {
		if _, nested := f.Type.(arrow.NestedType); nested {
			return nil // leaves and fields do not pair up, and see ParquetOptions.StoreValueType
		}
	}
	if sc.NumColumns() != stored.NumFields() {
		return nil
	}
	var cols []int
	for i, f := range stored.Fields() {
		switch f.Type.ID() {
		case arrow.STRING, arrow.BINARY: // arrow-go reads large ones densely
		default:
			continue
		}
		c := sc.Column(i)
		if c.PhysicalType() != parquet.Types.ByteArray || c.MaxRepetitionLevel() != 0 || c.Name() != f.Name || !want(f.Name) {
			continue
		}
		ok := md.NumRowGroups() > 0
		for g := 0; ok && g < md.NumRowGroups(); g++ {
			cc, err := md.RowGroup(g).ColumnChunk(i)
			ok = err == nil && dictionaryEncoded(cc)
		}
		if ok {
			cols = append(cols, i)
		}
	}
	return cols
}

// Parquet's page types, as page encoding statistics record them.
const (
	pageData   = 0 // DATA_PAGE
	pageDataV2 = 3 // DATA_PAGE_V2
)

// dictionaryEncoded reports whether every data page of the chunk is
// dictionary-encoded: by its page encoding statistics, or, for writers
// that record none (DuckDB), by its list of encodings when that names no
// other encoding of values than the dictionary ones (a chunk whose
// dictionary overflowed lists PLAIN for the pages that follow; so do
// writers that encode the dictionary page itself as PLAIN, but those
// record statistics).
func dictionaryEncoded(cc *metadata.ColumnChunkMetaData) bool {
	if !cc.HasDictionaryPage() {
		return false
	}
	isDict := func(e parquet.Encoding) bool {
		return e == parquet.Encodings.RLEDict || e == parquet.Encodings.PlainDict
	}
	stats := cc.EncodingStats()
	if len(stats) == 0 {
		dict := false
		for _, e := range cc.Encodings() {
			switch {
			case isDict(e):
				dict = true
			case e == parquet.Encodings.RLE || e == parquet.Encodings.BitPacked: // levels
			default:
				return false
			}
		}
		return dict
	}
	data := false
	for _, s := range stats {
		if t := int32(s.PageType); t != pageData && t != pageDataV2 {
			continue
		}
		data = true
		if !isDict(s.Encoding) {
			return false
		}
	}
	return data
}

// Schema returns the schema of the batches, with the file's key-value
// metadata (but for the stored Arrow schema; the batches' own schemas have
// none). Columns read as dictionaries (ParquetReadOptions.Dictionary) have
// dictionary types here.
func (r *ParquetReader) Schema() *arrow.Schema { return r.schema }

// FileSchema returns the file's Arrow schema as a reader that reads no
// column as a dictionary sees it: for each column, the type the file gives.
func (r *ParquetReader) FileSchema() *arrow.Schema { return r.stored }

// NumRows returns the number of rows the file's footer declares.
func (r *ParquetReader) NumRows() int64 { return r.pf.NumRows() }

// Next returns the next batch, or io.EOF.
func (r *ParquetReader) Next() (rec arrow.RecordBatch, err error) {
	defer func() {
		if p := recover(); p != nil {
			rec, err = nil, fmt.Errorf("%w (%v)", ErrNotParquet, p)
		}
	}()
	for {
		if r.rr == nil {
			if r.next >= r.pf.NumRowGroups() {
				return nil, io.EOF
			}
			if r.rr, err = r.fr.GetRecordReader(context.Background(), nil, []int{r.next}); err != nil {
				r.rr = nil
				return nil, fmt.Errorf("reading Parquet: %w", err)
			}
			r.next++
		}
		rec, err = r.rr.Read()
		if err != nil && !errors.Is(err, io.EOF) {
			if rec != nil {
				rec.Release()
			}
			return nil, fmt.Errorf("reading Parquet: %w", err)
		}
		if rec != nil {
			rec.Retain() // the record reader releases its current batch on the next Read
			return rec, nil
		}
		if !r.perGroup {
			return nil, io.EOF
		}
		r.rr.Release()
		r.rr = nil
	}
}

// Close releases the reader.
func (r *ParquetReader) Close() error {
	if r.rr != nil {
		r.rr.Release()
		r.rr = nil
	}
	return r.pf.Close()
}

// parquetPageBytes is the target size of a data page. arrow-go's default is
// 1 MiB; with 64 KiB pages each page's buffers stay small enough to be reused
// instead of growing the heap. Measured on 1M rows (run.sh rules): 3-5 % less
// CPU for Parquet -> Parquet, 7 % at 4M rows, 30 -> 25 GCs, file size +0.2 %,
// peak RSS unchanged. 16 and 32 KiB were no better; 256 KiB kept half the gain.
const parquetPageBytes = 64 << 10

// ParquetOptions configure a Parquet writer.
type ParquetOptions struct {
	// Random names columns whose values are random-looking (codes): they are
	// written without dictionary and without compression, which would only
	// cost time on data that does not compress, and without min/max
	// statistics, which span nearly the whole range in every row group and
	// so would let no reader skip one.
	Random []string
	// NoStatistics names columns written without min/max statistics, for
	// the same reason as Random ones but with dictionary encoding and
	// compression: values drawn evenly from a short list (fictitious
	// names) span the whole list in nearly every row group. For a
	// dictionary column this also saves arrow-go's hashing of every batch's
	// indices to find the values it uses.
	NoStatistics []string
	// StoreValueType names dictionary columns that are dictionaries only in
	// memory (read so, see ParquetReadOptions.Dictionary, or made so for
	// speed): the Arrow schema stored in the file gives them their
	// dictionary's value type, so that Arrow readers see the type the data
	// had. It needs a flat schema (no nested fields).
	StoreValueType []string
	// Metadata is added to the file's key-value metadata.
	Metadata map[string]string
	// RowGroupRows is the number of rows in a row group (default 256Ki: the
	// whole group is held, encoded and compressed, in memory until written).
	RowGroupRows int64
	// Allocator allocates write buffers.
	Allocator memory.Allocator
}

// ParquetWriter writes record batches to a Parquet file: Snappy compression,
// dictionary encoding where it pays, the Arrow schema stored so that types
// round-trip.
//
// A dictionary column is written as it is: its dictionary once a row group
// and its indices, with no value hashed. arrow-go writes the rest of a
// column chunk without dictionary encoding once a batch brings another
// dictionary than the chunk's first, so the writer starts a new row group
// there instead (a reader's row groups then carry over to the output, split
// at RowGroupRows).
type ParquetWriter struct {
	fw    *pqarrow.FileWriter
	dicts []int         // the dictionary columns
	cur   []arrow.Array // their dictionaries in the current row group
}

// NewParquetWriter returns a writer of schema to w.
func NewParquetWriter(w io.Writer, schema *arrow.Schema, o ParquetOptions) (*ParquetWriter, error) {
	mem := o.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	rg := o.RowGroupRows
	if rg <= 0 {
		rg = 256 << 10
	}
	props := []parquet.WriterProperty{
		parquet.WithAllocator(mem),
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(rg),
		parquet.WithDataPageSize(parquetPageBytes),
		parquet.WithCreatedBy("pseudokit"),
	}
	for _, c := range o.Random {
		props = append(props,
			parquet.WithDictionaryFor(c, false),
			parquet.WithCompressionFor(c, compress.Codecs.Uncompressed),
			parquet.WithStatsFor(c, false))
	}
	for _, c := range o.NoStatistics {
		props = append(props, parquet.WithStatsFor(c, false))
	}
	aprops := []pqarrow.WriterOption{pqarrow.WithAllocator(mem)}
	var stored string
	if len(o.StoreValueType) == 0 {
		aprops = append(aprops, pqarrow.WithStoreSchema())
	} else {
		var err error
		if stored, err = storedSchema(schema, o.StoreValueType, mem); err != nil {
			return nil, err
		}
	}
	// pqarrow closes a writer that is an io.Closer; hide Close so the caller
	// can sync and rename the file first.
	fw, err := pqarrow.NewFileWriter(schema, struct{ io.Writer }{w}, parquet.NewWriterProperties(props...),
		pqarrow.NewArrowWriterProperties(aprops...))
	if err != nil {
		return nil, err
	}
	if stored != "" {
		if err := fw.AppendKeyValueMetadata(arrowSchemaKey, stored); err != nil {
			return nil, err
		}
	}
	for k, v := range o.Metadata {
		if err := fw.AppendKeyValueMetadata(k, v); err != nil {
			return nil, err
		}
	}
	pw := &ParquetWriter{fw: fw}
	for i, f := range schema.Fields() {
		if f.Type.ID() == arrow.DICTIONARY {
			pw.dicts = append(pw.dicts, i)
		}
	}
	pw.cur = make([]arrow.Array, len(pw.dicts))
	return pw, nil
}

// storedSchema returns the ARROW:schema entry for schema with the
// dictionary columns named in plain given their value types, as pqarrow
// would store it (base64 of the IPC schema message).
func storedSchema(schema *arrow.Schema, plain []string, mem memory.Allocator) (string, error) {
	fields := slices.Clone(schema.Fields())
	for _, name := range plain {
		idx := schema.FieldIndices(name)
		if len(idx) != 1 {
			return "", fmt.Errorf("column %q to store as its value type: %d columns have that name", name, len(idx))
		}
		dt, ok := fields[idx[0]].Type.(*arrow.DictionaryType)
		if !ok {
			return "", fmt.Errorf("column %q to store as its value type is not a dictionary", name)
		}
		fields[idx[0]].Type = dt.ValueType
	}
	for _, f := range fields {
		if _, nested := f.Type.(arrow.NestedType); nested {
			return "", fmt.Errorf("column %q: storing value types needs a flat schema", f.Name)
		}
	}
	md := schema.Metadata()
	return base64.StdEncoding.EncodeToString(flight.SerializeSchema(arrow.NewSchema(fields, &md), mem)), nil
}

// Write adds the batch to the current row group, starting a new one when it
// is full (so row groups do not follow the batch size) or when a dictionary
// column's dictionary changes.
func (w *ParquetWriter) Write(rec arrow.RecordBatch) error {
	if len(w.dicts) > 0 && rec.NumRows() > 0 {
		changed := false
		for k, i := range w.dicts {
			d := rec.Column(i).(*array.Dictionary).Dictionary()
			if c := w.cur[k]; c != nil && c != d && !array.Equal(c, d) {
				changed = true
			}
		}
		if changed {
			if n, err := w.fw.RowGroupNumRows(); err == nil && n > 0 {
				if err := w.fw.NewBufferedRowGroupChecked(); err != nil {
					return err
				}
			}
		}
		for k, i := range w.dicts {
			d := rec.Column(i).(*array.Dictionary).Dictionary()
			if w.cur[k] != d {
				d.Retain()
				if w.cur[k] != nil {
					w.cur[k].Release()
				}
				w.cur[k] = d
			}
		}
	}
	return w.fw.WriteBuffered(rec)
}

// Close writes the footer. It does not close the underlying writer.
func (w *ParquetWriter) Close() error {
	for k, d := range w.cur {
		if d != nil {
			d.Release()
			w.cur[k] = nil
		}
	}
	return w.fw.Close()
}
