package table

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"
)

// dictInput is a Parquet file of rows rows in row groups of rgRows, with
// the kinds of column that ParquetReadOptions.Dictionary must tell apart:
//
//	city   string, few values, some null: dictionary-encoded, read as one
//	note   large_string (kept by the stored schema), few values,
//	       dictionary-encoded: never (arrow-go reads large types densely)
//	n      int64: never
//	code   string, all distinct, written without dictionary: never
//	spill  string whose dictionary outgrows its page limit, so that later
//	       pages are plain: never
func dictInput(t testing.TB, rows, rgRows int) []byte {
	mem := memory.NewGoAllocator()
	md := arrow.NewMetadata([]string{"origin"}, []string{"test"})
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "city", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "note", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		{Name: "n", Type: arrow.PrimitiveTypes.Int64},
		{Name: "code", Type: arrow.BinaryTypes.String},
		{Name: "spill", Type: arrow.BinaryTypes.String},
	}, &md)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	cities := []string{"Oslo", "Bergen", "Tromsø", "Bodø", ""}
	for i := 0; i < rows; i++ {
		if i%7 == 3 {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.StringBuilder).Append(cities[i%len(cities)])
		}
		b.Field(1).(*array.LargeStringBuilder).Append(fmt.Sprintf("note %d", i%3))
		b.Field(2).(*array.Int64Builder).Append(int64(i))
		b.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("code-%08d", i))
		b.Field(4).(*array.StringBuilder).Append(fmt.Sprintf("spill-%d-%s", i, bytes.Repeat([]byte("x"), 40)))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(
		parquet.WithMaxRowGroupLength(int64(rgRows)),
		parquet.WithDictionaryFor("code", false),
		parquet.WithDictionaryPageSizeLimit(4<<10),
		parquet.WithDataPageSize(1<<10))
	w, err := pqarrow.NewFileWriter(schema, &buf, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// readAll reads every batch of r and returns them as a table, with the
// row count of each batch.
func readAll(t testing.TB, r *ParquetReader) (arrow.Table, []int64) {
	var recs []arrow.RecordBatch
	var sizes []int64
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		recs = append(recs, rec)
		sizes = append(sizes, rec.NumRows())
	}
	tbl := array.NewTableFromRecords(r.Schema(), recs)
	for _, rec := range recs {
		rec.Release()
	}
	return tbl, sizes
}

// plainTable reads a whole Parquet file the way any Arrow reader does.
func plainTable(t testing.TB, b []byte) (arrow.Table, *file.Reader) {
	pf, err := file.NewParquetReader(bytes.NewReader(b))
	require.NoError(t, err)
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.NewGoAllocator())
	require.NoError(t, err)
	tbl, err := fr.ReadTable(context.Background())
	require.NoError(t, err)
	return tbl, pf
}

// requireSameTable asserts that got has want's schema (metadata included)
// and the same values, nulls and types in every column.
func requireSameTable(t testing.TB, want, got arrow.Table) {
	t.Helper()
	require.True(t, want.Schema().Equal(got.Schema()), "schema\nwant %s\ngot  %s", want.Schema(), got.Schema())
	require.Equal(t, want.NumRows(), got.NumRows())
	for i := 0; i < int(want.NumCols()); i++ {
		require.True(t, array.ChunkedEqual(want.Column(i).Data(), got.Column(i).Data()), "column %s", want.Schema().Field(i).Name)
	}
}

func TestParquetDictionaryRead(t *testing.T) {
	const rows, rgRows = 5000, 1200 // row groups 1200 x 4 + 200
	in := dictInput(t, rows, rgRows)
	want, _ := plainTable(t, in)
	defer want.Release()

	for _, tc := range []struct {
		name  string
		want  func(string) bool
		dicts []string
	}{
		{"none asked", nil, nil},
		{"all asked", func(string) bool { return true }, []string{"city"}},
		{"city asked", func(c string) bool { return c == "city" }, []string{"city"}},
		{"others asked", func(c string) bool { return c != "city" }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r, err := OpenParquet(bytes.NewReader(in), ParquetReadOptions{BatchRows: 500, Allocator: mem, Dictionary: tc.want})
			require.NoError(t, err)
			require.True(t, want.Schema().Equal(r.FileSchema()), "FileSchema is the file's own")
			var dicts []string
			for i, f := range r.Schema().Fields() {
				if f.Type.ID() == arrow.DICTIONARY {
					dicts = append(dicts, f.Name)
					require.True(t, arrow.TypeEqual(want.Schema().Field(i).Type, f.Type.(*arrow.DictionaryType).ValueType))
				} else {
					require.True(t, arrow.TypeEqual(want.Schema().Field(i).Type, f.Type))
				}
			}
			require.Equal(t, tc.dicts, dicts)
			old, err := NewParquetReader(bytes.NewReader(in), 500, nil)
			require.NoError(t, err)
			require.Equal(t, old.Schema().Metadata(), r.Schema().Metadata(), "metadata as without dictionary reads")
			require.Equal(t, []string{"origin"}, r.Schema().Metadata().Keys(), "the file's key-value metadata but ARROW:schema")
			require.NoError(t, old.Close())

			got, sizes := readAll(t, r)
			require.NoError(t, r.Close())
			if tc.dicts != nil {
				// No batch spans two row groups: 500+500+200 in each of the
				// four full groups, then 200.
				require.Equal(t, []int64{500, 500, 200, 500, 500, 200, 500, 500, 200, 500, 500, 200, 200}, sizes)
			}
			// The same values as a plain read, once the dictionaries are
			// turned back into values.
			requireSameDense(t, want, got)
			got.Release()
		})
	}
}

// requireSameDense asserts that got, once its dictionary columns are turned
// into their values, has want's fields and values.
func requireSameDense(t testing.TB, want, got arrow.Table) {
	t.Helper()
	require.Equal(t, want.NumRows(), got.NumRows())
	require.Equal(t, want.NumCols(), got.NumCols())
	for i := 0; i < int(got.NumCols()); i++ {
		f := got.Schema().Field(i)
		ch := got.Column(i).Data()
		if dt, ok := f.Type.(*arrow.DictionaryType); ok {
			var chunks []arrow.Array
			for _, c := range ch.Chunks() {
				d := c.(*array.Dictionary)
				b := array.NewBuilder(memory.NewGoAllocator(), dt.ValueType)
				for j := 0; j < d.Len(); j++ {
					if d.IsNull(j) {
						b.AppendNull()
					} else {
						require.NoError(t, b.AppendValueFromString(d.Dictionary().ValueStr(d.GetValueIndex(j))))
					}
				}
				chunks = append(chunks, b.NewArray())
				b.Release()
			}
			f.Type = dt.ValueType
			ch = arrow.NewChunked(dt.ValueType, chunks)
		}
		require.True(t, want.Schema().Field(i).Equal(f), "field %d: want %s, got %s", i, want.Schema().Field(i), f)
		require.True(t, array.ChunkedEqual(want.Column(i).Data(), ch), "column %s", f.Name)
	}
}

// TestParquetDictionaryRoundTrip: columns read as dictionaries and written
// with StoreValueType come out as the input had them, values and types, and
// stay dictionary-encoded in every row group: the writer starts a row group
// where the input's dictionary changes rather than let arrow-go fall back to
// plain encoding.
func TestParquetDictionaryRoundTrip(t *testing.T) {
	const rows, rgRows = 5000, 1200
	in := dictInput(t, rows, rgRows)
	want, _ := plainTable(t, in)
	defer want.Release()

	for _, outRows := range []int64{1000, 1200, 4000} {
		t.Run(fmt.Sprint(outRows), func(t *testing.T) {
			out, asRead := roundTrip(t, in, outRows, "code")
			require.Equal(t, []string{"city"}, asRead)
			got, pf := plainTable(t, out)
			defer got.Release()
			requireSameTable(t, want, got)
			require.Equal(t, "test", *pf.MetaData().KeyValueMetadata().FindValue("origin"), "key-value metadata kept")

			// Row groups end at the input's (every 1200 rows) and at outRows.
			var ends []int64
			end := int64(0)
			for g := 0; g < pf.NumRowGroups(); g++ {
				md := pf.MetaData().RowGroup(g)
				end += md.NumRows()
				ends = append(ends, end)
				for c := 0; c < 2; c++ { // city, note (dense, but written with dictionary)
					cc, err := md.ColumnChunk(c)
					require.NoError(t, err)
					require.True(t, dictionaryEncoded(cc), "row group %d column %d: %v", g, c, cc.EncodingStats())
				}
			}
			var wantEnds []int64
			for e, next := int64(0), int64(rgRows); e < rows; {
				e = min(e+outRows, next, rows)
				wantEnds = append(wantEnds, e)
				if e == next {
					next += rgRows
				}
			}
			require.Equal(t, wantEnds, ends)
		})
	}
}

// roundTrip reads the Parquet file in with every column that qualifies as
// a dictionary (batches of 500 rows) and writes it back with row groups of
// outRows, storing those columns' value types, the random ones without
// dictionary; it returns the file and the columns read as dictionaries.
func roundTrip(t *testing.T, in []byte, outRows int64, random ...string) ([]byte, []string) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r, err := OpenParquet(bytes.NewReader(in), ParquetReadOptions{BatchRows: 500, Allocator: mem, Dictionary: func(string) bool { return true }})
	require.NoError(t, err)
	defer r.Close()
	var asRead []string
	for i, f := range r.Schema().Fields() {
		if f.Type.ID() == arrow.DICTIONARY && r.FileSchema().Field(i).Type.ID() != arrow.DICTIONARY {
			asRead = append(asRead, f.Name)
		}
	}
	var out bytes.Buffer
	w, err := NewParquetWriter(&out, r.Schema(), ParquetOptions{StoreValueType: asRead, RowGroupRows: outRows, Allocator: mem, Random: random})
	require.NoError(t, err)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.NoError(t, w.Write(rec))
		rec.Release()
	}
	require.NoError(t, w.Close())
	return out.Bytes(), asRead
}

// TestParquetDictionaryReadDuckDB: DuckDB records no page encoding
// statistics; its dictionary-encoded columns list only PLAIN_DICTIONARY
// and are read as dictionaries, its plain ones (fnr, email) are not, and
// the file goes through unchanged. testdata/duckdb-small.parquet: 3,000
// rows of benchmarks/gen (synthetic people) written by DuckDB 1.5.6 with
// row groups of 1,000 rows asked (2,048 given), 193 municipalities null.
func TestParquetDictionaryReadDuckDB(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "duckdb-small.parquet"))
	require.NoError(t, err)
	want, pf := plainTable(t, in)
	defer want.Release()
	cc, err := pf.MetaData().RowGroup(0).ColumnChunk(1)
	require.NoError(t, err)
	require.Empty(t, cc.EncodingStats(), "the fixture has no page encoding statistics")
	out, asRead := roundTrip(t, in, 1<<20, "fnr", "email")
	require.Equal(t, []string{"first_name", "municipality", "diagnosis"}, asRead)
	got, pf := plainTable(t, out)
	defer got.Release()
	requireSameTable(t, want, got)
	require.Equal(t, pf.NumRowGroups(), 2, "the input's row groups carry over")
	for g := 0; g < pf.NumRowGroups(); g++ {
		for _, c := range []int{1, 2, 3} {
			cc, err := pf.MetaData().RowGroup(g).ColumnChunk(c)
			require.NoError(t, err)
			require.True(t, dictionaryEncoded(cc), "row group %d column %d: %v", g, c, cc.EncodingStats())
		}
	}
}

// TestParquetWriterDictionaries: batches that share one dictionary object
// share a row group; a batch with an equal dictionary in another array too;
// a batch with another dictionary starts a new row group, and the values
// come out right.
func TestParquetWriterDictionaries(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	schema := arrow.NewSchema([]arrow.Field{{Name: "d", Type: dt, Nullable: true}}, nil)
	strs := func(v ...string) arrow.Array {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.AppendValues(v, nil)
		return b.NewArray()
	}
	d1, d1again, d2 := strs("a", "b"), strs("a", "b"), strs("b", "c", "a")
	defer d1.Release()
	defer d1again.Release()
	defer d2.Release()
	batch := func(dict arrow.Array, ix ...int32) arrow.RecordBatch {
		b := array.NewInt32Builder(mem)
		defer b.Release()
		for _, i := range ix {
			if i < 0 {
				b.AppendNull()
			} else {
				b.Append(i)
			}
		}
		idx := b.NewArray()
		defer idx.Release()
		col := array.NewDictionaryArray(dt, idx, dict)
		defer col.Release()
		return array.NewRecordBatch(schema, []arrow.Array{col}, int64(len(ix)))
	}
	var out bytes.Buffer
	w, err := NewParquetWriter(&out, schema, ParquetOptions{StoreValueType: []string{"d"}, Allocator: mem})
	require.NoError(t, err)
	for _, rec := range []arrow.RecordBatch{
		batch(d1, 0, 1, -1), batch(d1, 1), batch(d1again, 0), // one row group
		batch(d2, 2, 0, 1), batch(d2, 1), // another
	} {
		require.NoError(t, w.Write(rec))
		rec.Release()
	}
	require.NoError(t, w.Close())

	got, pf := plainTable(t, out.Bytes())
	defer got.Release()
	require.Equal(t, arrow.BinaryTypes.String, got.Schema().Field(0).Type, "stored as its value type")
	require.Equal(t, 2, pf.NumRowGroups())
	var vals []string
	for _, c := range got.Column(0).Data().Chunks() {
		s := c.(*array.String)
		for i := 0; i < s.Len(); i++ {
			if s.IsNull(i) {
				vals = append(vals, "<null>")
			} else {
				vals = append(vals, s.Value(i))
			}
		}
	}
	require.Equal(t, []string{"a", "b", "<null>", "b", "a", "a", "b", "c", "c"}, vals)
	for g := 0; g < 2; g++ {
		cc, err := pf.MetaData().RowGroup(g).ColumnChunk(0)
		require.NoError(t, err)
		require.True(t, dictionaryEncoded(cc), "row group %d: %v", g, cc.EncodingStats())
	}
}

func TestParquetStoreValueTypeErrors(t *testing.T) {
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	for _, tc := range []struct {
		fields []arrow.Field
		store  string
		err    string
	}{
		{[]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}}, "s", "is not a dictionary"},
		{[]arrow.Field{{Name: "d", Type: dt}}, "x", "0 columns have that name"},
		{[]arrow.Field{{Name: "d", Type: dt}, {Name: "l", Type: arrow.ListOf(arrow.BinaryTypes.String)}}, "d", "needs a flat schema"},
	} {
		_, err := NewParquetWriter(io.Discard, arrow.NewSchema(tc.fields, nil), ParquetOptions{StoreValueType: []string{tc.store}})
		require.ErrorContains(t, err, tc.err)
	}
}

// TestParquetDictionaryReadNested: a schema with a nested field reads no
// column as a dictionary (StoreValueType needs a flat schema), even a text
// column beside it.
func TestParquetDictionaryReadNested(t *testing.T) {
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.StructOf(arrow.Field{Name: "x", Type: arrow.BinaryTypes.String})},
		{Name: "city", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := 0; i < 10; i++ {
		sb := b.Field(0).(*array.StructBuilder)
		sb.Append(true)
		sb.FieldBuilder(0).(*array.StringBuilder).Append("x")
		b.Field(1).(*array.StringBuilder).Append([]string{"Oslo", "Bergen"}[i%2])
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w, err := NewParquetWriter(&buf, schema, ParquetOptions{})
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	r, err := OpenParquet(bytes.NewReader(buf.Bytes()), ParquetReadOptions{Dictionary: func(string) bool { return true }})
	require.NoError(t, err)
	defer r.Close()
	for i, f := range r.Schema().Fields() {
		require.True(t, arrow.TypeEqual(schema.Field(i).Type, f.Type), "no dictionary reads: %s", r.Schema())
	}
}
