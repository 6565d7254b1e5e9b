package table

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/stretchr/testify/require"

	"github.com/pseudokit/pseudokit/internal/csvio"
)

func TestCSVToParquetAndBack(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := "a;b;c\r\n1;\"x\r\ny\";\r\n2;;z\r\n3;q;\"\"\"\"\r\n"
	r, err := NewCSVReader(strings.NewReader(in), CSVOptions{BatchRows: 2, Allocator: mem})
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, byte(';'), r.Dialect().Comma)

	var pq bytes.Buffer
	w, err := NewParquetWriter(&pq, r.Schema(), ParquetOptions{Random: []string{"a"}, Allocator: mem, Metadata: map[string]string{"k": "v"}})
	require.NoError(t, err)
	batches := 0
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		batches++
		if batches == 2 {
			require.Equal(t, 5, r.Line(3), "row 3 starts on line 5 (row 1 spans two lines)")
			require.Equal(t, 0, r.Line(1), "row 1 is not in the last batch")
		}
		require.NoError(t, w.Write(rec))
		rec.Release()
	}
	require.Equal(t, 2, batches)
	require.NoError(t, w.Close())

	pr, err := NewParquetReader(bytes.NewReader(pq.Bytes()), 0, mem)
	require.NoError(t, err)
	require.Equal(t, int64(3), pr.NumRows())
	var out bytes.Buffer
	cw := NewCSVWriter(&out, pr.Schema(), r.Dialect())
	for {
		rec, err := pr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		require.NoError(t, cw.Write(rec))
		rec.Release()
	}
	require.NoError(t, cw.Close())
	require.NoError(t, pr.Close())
	require.Equal(t, in, out.String())
}

func TestCSVWriterTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32},
	}, nil)
	bld := array.NewRecordBuilder(mem, schema)
	defer bld.Release()
	bld.Field(0).(*array.Int64Builder).AppendValues([]int64{-5, 0}, []bool{true, false})
	bld.Field(1).(*array.Float64Builder).AppendValues([]float64{0.1, 1e21}, nil)
	bld.Field(2).(*array.BooleanBuilder).AppendValues([]bool{true, false}, nil)
	bld.Field(3).(*array.Date32Builder).AppendValues([]arrow.Date32{0, 19000}, nil)
	rec := bld.NewRecordBatch()
	defer rec.Release()
	var out bytes.Buffer
	w := NewCSVWriter(&out, schema, csvio.Dialect{})
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	require.Equal(t, "i,f,b,d\n-5,0.1,true,1970-01-01\n,1e+21,false,2022-01-08\n", out.String())
}

func TestOutputAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))

	o, err := CreateOutput(path, nil)
	require.NoError(t, err)
	o.Write([]byte("new"))
	o.Abort()
	got, _ := os.ReadFile(path)
	require.Equal(t, "old", string(got), "abort keeps the old file")
	entries, _ := os.ReadDir(dir)
	require.Len(t, entries, 1, "no temporary file left")

	o, err = CreateOutput(path, nil)
	require.NoError(t, err)
	o.Write([]byte("new"))
	require.NoError(t, o.Commit())
	o.Abort() // no effect after commit
	got, _ = os.ReadFile(path)
	require.Equal(t, "new", string(got))
	fi, _ := os.Stat(path)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	require.Equal(t, "1150" /* sha256("new") prefix */, o.SHA256()[:4])

	_, err = CreateOutput(filepath.Join(dir, "missing", "x.csv"), nil)
	require.Error(t, err)
	_, err = CreateOutput(dir, nil)
	require.ErrorContains(t, err, "is a directory")
}

func TestParquetRejectsGarbage(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("PAR1"), []byte("PAR1garbagePAR1"), bytes.Repeat([]byte{0}, 100)} {
		_, err := NewParquetReader(bytes.NewReader(in), 0, nil)
		require.ErrorIs(t, err, ErrNotParquet)
	}
}

// FuzzParquetReader feeds arbitrary bytes (seeded with real files) to the
// Parquet reader: it must return an error or batches, never panic, whether
// it reads columns as dictionaries or not.
func FuzzParquetReader(f *testing.F) {
	mem := memory.NewGoAllocator()
	r, err := NewCSVReader(strings.NewReader("a,b\n1,x\n2,\n"), CSVOptions{Allocator: mem})
	if err != nil {
		f.Fatal(err)
	}
	var pq bytes.Buffer
	w, _ := NewParquetWriter(&pq, r.Schema(), ParquetOptions{Random: []string{"a"}})
	rec, _ := r.Next()
	w.Write(rec)
	w.Close()
	f.Add(pq.Bytes())
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Add(dictInput(f, 50, 20))
	if duck, err := os.ReadFile(filepath.Join("testdata", "duckdb-small.parquet")); err == nil {
		f.Add(duck) // no page encoding statistics
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Both ways of reading: every column dense, and text columns as
		// dictionaries where the file allows (one reader a row group).
		for _, dict := range []func(string) bool{nil, func(string) bool { return true }} {
			pr, err := OpenParquet(bytes.NewReader(b), ParquetReadOptions{Allocator: mem, Dictionary: dict})
			if err != nil {
				require.ErrorIs(t, err, ErrNotParquet)
				return
			}
			for i := 0; i < 100; i++ {
				rec, err := pr.Next()
				if err != nil {
					break
				}
				rec.Release()
			}
			pr.Close()
		}
	})
}

func TestSource(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.csv")
	data := "a,b\n1,2\n"
	require.NoError(t, os.WriteFile(p, []byte(data), 0o600))
	sum := sha256.Sum256([]byte(data))
	want := hex.EncodeToString(sum[:])

	s, err := OpenSource(p, CSV, nil, true)
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), s.Size)
	buf := make([]byte, 3)
	_, err = io.ReadFull(s.Stream, buf)
	require.NoError(t, err)
	require.Equal(t, int64(3), s.BytesRead())
	require.Equal(t, 3/float64(len(data)), s.Done(1, 0), "by bytes when the rows are not known")
	require.Equal(t, 0.25, s.Done(1, 4), "by rows when they are")
	require.Equal(t, want, s.SHA256(), "the rest is hashed too")
	require.NoError(t, s.Close())

	s, err = OpenSource("-", Parquet, strings.NewReader(data), true)
	require.NoError(t, err)
	require.Equal(t, want, s.SHA256(), "stdin held in memory and hashed")
	require.NotNil(t, s.Random)
	require.Equal(t, int64(len(data)), s.Size, "known once in memory")

	s, err = OpenSource("-", CSV, strings.NewReader(data), false)
	require.NoError(t, err)
	require.Equal(t, -1.0, s.Done(1, 0), "a pipe read as CSV: no size, no total, unknown")

	s, err = OpenSource(p, Parquet, nil, false)
	require.NoError(t, err)
	require.Empty(t, s.SHA256())
	require.NoError(t, s.Close())
}

// TestCSVReaderBatches: every batch size gives the values csvio reads,
// null-free, with the right line numbers, and the allocator gets back all
// it gave; writing the batches back gives the input's bytes when the input
// is in the writer's canonical form.
func TestCSVReaderBatches(t *testing.T) {
	in := "\ufeffa;b;c\r\n1;\"x;y\";\r\n;\"multi\r\nline \"\"q\"\"\";z\r\nÆ;;\r\n4;5;6\r\n"
	want := [][]string{{"1", "x;y", ""}, {"", "multi\r\nline \"q\"", "z"}, {"Æ", "", ""}, {"4", "5", "6"}}
	wantLines := []int{2, 3, 5, 6}
	for _, size := range []int{1, 2, 3, 4, 10} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		r, err := NewCSVReader(strings.NewReader(in), CSVOptions{BatchRows: size, Allocator: mem})
		require.NoError(t, err)
		var out bytes.Buffer
		w := NewCSVWriter(&out, r.Schema(), r.Dialect())
		row := 0
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			lines := r.BatchLines()
			for i := 0; i < int(rec.NumRows()); i++ {
				for c := 0; c < 3; c++ {
					a := rec.Column(c).(*array.String)
					require.False(t, a.IsNull(i))
					require.Equal(t, want[row][c], a.Value(i), "batch size %d, row %d, column %d", size, row, c)
				}
				require.Equal(t, wantLines[row], lines[i])
				row++
			}
			require.NoError(t, w.Write(rec))
			rec.Release()
		}
		require.Equal(t, len(want), row)
		require.NoError(t, w.Close())
		require.Equal(t, "\ufeffa;b;c\r\n1;\"x;y\";\r\n;\"multi\r\nline \"\"q\"\"\";z\r\nÆ;;\r\n4;5;6\r\n", out.String())
		require.NoError(t, r.Close())
		mem.AssertSize(t, 0)
	}
}

// TestParquetPageSize: a column of random-looking codes is split into data
// pages of about parquetPageBytes, not one page of arrow-go's 1 MiB default,
// and the file reads back the same.
func TestParquetPageSize(t *testing.T) {
	const rows = 40000 // ~1.1 MB of 27-byte codes: 14 pages with 64 KiB pages, 1 with 1 MiB
	var sb strings.Builder
	sb.WriteString("code,n\n")
	for i := 0; i < rows; i++ {
		sum := sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
		sb.WriteString(hex.EncodeToString(sum[:])[:27])
		sb.WriteString(",1\n")
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r, err := NewCSVReader(strings.NewReader(sb.String()), CSVOptions{Allocator: mem, BatchRows: rows})
	require.NoError(t, err)
	var pq bytes.Buffer
	w, err := NewParquetWriter(&pq, r.Schema(), ParquetOptions{Random: []string{"code"}, Allocator: mem})
	require.NoError(t, err)
	rec, err := r.Next()
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	rec.Release()
	require.NoError(t, w.Close())

	pf, err := file.NewParquetReader(bytes.NewReader(pq.Bytes()))
	require.NoError(t, err)
	defer pf.Close()
	// A random column's min and max span nearly its whole range in any row
	// group, so no reader could skip a group by them: none are written.
	for col, want := range []bool{false, true} {
		cc, err := pf.MetaData().RowGroup(0).ColumnChunk(col)
		require.NoError(t, err)
		set, err := cc.StatsSet()
		require.NoError(t, err)
		require.Equal(t, want, set, "statistics of column %d", col)
	}
	pr, err := pf.RowGroup(0).GetColumnPageReader(0)
	require.NoError(t, err)
	pages, values := 0, 0
	for pr.Next() {
		p := pr.Page()
		if dp, ok := p.(file.DataPage); ok {
			pages++
			values += int(dp.NumValues())
			require.LessOrEqual(t, int(dp.UncompressedSize()), 2*parquetPageBytes, "page %d (arrow-go checks the size after each batch of 1,024 values)", pages)
		}
	}
	require.NoError(t, pr.Err())
	require.Equal(t, rows, values)
	require.GreaterOrEqual(t, pages, rows*28/(2*parquetPageBytes), "pages of about %d bytes", parquetPageBytes)

	back, err := NewParquetReader(bytes.NewReader(pq.Bytes()), rows, mem)
	require.NoError(t, err)
	got, err := back.Next()
	require.NoError(t, err)
	require.Equal(t, int64(rows), got.NumRows())
	require.Equal(t, strings.Split(sb.String(), "\n")[1][:27], got.Column(0).ValueStr(0))
	got.Release()
	require.NoError(t, back.Close())
}

// TestOutputWriteback: an Output that writes through the page cache starts
// the writeback of each writebackBytes it has written, in order and
// without gaps, and the file holds what was written.
func TestOutputWriteback(t *testing.T) {
	oldBytes, oldStart, oldDirect := writebackBytes, startWriteback, useDirect
	t.Cleanup(func() { writebackBytes, startWriteback, useDirect = oldBytes, oldStart, oldDirect })
	writebackBytes = 1000
	useDirect = false
	type span struct{ off, n int64 }
	var spans []span
	startWriteback = func(f *os.File, off, n int64) {
		spans = append(spans, span{off, n})
		oldStart(f, off, n) // the real call too: it must not fail the write
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	o, err := CreateOutput(path, nil)
	require.NoError(t, err)
	data := bytes.Repeat([]byte("0123456789abcdef\n"), 1<<17) // 2.2 MB
	for b := data; len(b) > 0; b = b[min(4096, len(b)):] {
		_, err = o.Write(b[:min(4096, len(b))]) // the buffer reaches the file 1 MiB at a time
		require.NoError(t, err)
	}
	require.NoError(t, o.Commit())
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, data, got)
	require.Len(t, spans, 3, "one per flush of the 1 MiB buffer (the last at Commit)")
	var next int64
	for _, s := range spans {
		require.Equal(t, next, s.off, "no gap")
		require.GreaterOrEqual(t, s.n, writebackBytes)
		next = s.off + s.n
	}
	require.Equal(t, int64(len(data)), next, "everything")
}
