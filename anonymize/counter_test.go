package anonymize

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/pseudokit/pseudokit/internal/table"
)

// stringBatch makes a batch of string columns from rows.
func stringBatch(names []string, rows [][]string) arrow.RecordBatch {
	fields := make([]arrow.Field, len(names))
	cols := make([]arrow.Array, len(names))
	for j, n := range names {
		fields[j] = arrow.Field{Name: n, Type: arrow.BinaryTypes.String, Nullable: true}
		b := array.NewStringBuilder(memory.DefaultAllocator)
		for _, r := range rows {
			b.Append(r[j])
		}
		cols[j] = b.NewArray()
		b.Release()
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(len(rows)))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// naiveCount counts the combinations of the first cols columns of rows.
func naiveCount(rows [][]string, cols int) map[string]int64 {
	m := map[string]int64{}
	for _, r := range rows {
		m[strings.Join(r[:cols], "\x00")]++
	}
	return m
}

func tableCount(t *Table) map[string]int64 {
	m := map[string]int64{}
	for e, n := range t.Counts {
		var parts []string
		for c := range t.Columns {
			parts = append(parts, t.Values[c][t.Codes[c][e]])
		}
		m[strings.Join(parts, "\x00")] += n
	}
	return m
}

func TestCounterMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name     string
		cols     int
		distinct []int // per column
	}{
		{"narrow", 3, []int{2, 5, 90}},
		{"growing dictionaries", 2, []int{3, 5000}},
		{"wide keys", 9, []int{900, 900, 900, 900, 900, 900, 900, 900, 900}},
	} {
		// Without row indices, counting is partitioned and narrow keys are
		// tallied in the key tables; sizes reads the tallies directly.
		for _, mode := range []string{"rows", "table", "sizes"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				rowIndices := mode == "rows"
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
				names := make([]string, tc.cols)
				for j := range names {
					names[j] = fmt.Sprintf("c%d", j)
				}
				var all [][]string
				c, err := NewCounter(stringBatch(names, nil).Schema(), names[:tc.cols-1], names[tc.cols-1:])
				require.NoError(t, err)
				var rowIdx []int32
				if rowIndices {
					c.RowClasses = func(_ int, idx []int32) { rowIdx = append(rowIdx, idx...) }
				}
				for b := range 5 {
					var rows [][]string
					for range 200 + 700*b {
						r := make([]string, tc.cols)
						for j := range r {
							// later batches reach further into the domain, so dictionaries grow
							r[j] = fmt.Sprint(rng.IntN(max(1, tc.distinct[j]*(b+1)/5)))
						}
						rows = append(rows, r)
					}
					all = append(all, rows...)
					rec := stringBatch(names, rows)
					require.NoError(t, c.Add(rec))
					rec.Release()
				}
				if mode == "sizes" {
					var want []int64
					for _, n := range naiveCount(all, tc.cols) {
						want = append(want, n)
					}
					require.ElementsMatch(t, want, c.sizes())
					return
				}
				tab := c.Table()
				require.Equal(t, int64(len(all)), tab.Rows)
				require.Equal(t, naiveCount(all, tc.cols), tableCount(tab))
				require.Equal(t, tc.cols-1, tab.QI)
				// Each row's combination index points at its values.
				for r, e := range rowIdx {
					for j := range tc.cols {
						require.Equal(t, all[r][j], tab.Values[j][tab.Codes[j][e]])
					}
				}
				require.Len(t, rowIdx, map[bool]int{true: len(all)}[rowIndices])
			})
		}
	}
}

// TestTallyOverflow: a tallying part whose count would pass math.MaxInt32
// goes on counting by index, losing nothing.
func TestTallyOverflow(t *testing.T) {
	pt := newPart(16)
	pt.tally = true
	pt.add([]uint64{7, 8, 7}, 0, 1, nil)
	require.True(t, pt.tally)
	require.ElementsMatch(t, []int64{2, 1}, pt.appendCounts(nil))
	for i := range pt.keys.slots {
		if s := &pt.keys.slots[i]; s.epoch == pt.keys.epoch && s.key == 7 {
			s.val = math.MaxInt32 - 1
		}
	}
	pt.add([]uint64{7, 9, 7, 8}, 0, 1, nil)
	require.False(t, pt.tally)
	require.Equal(t, 3, pt.len())
	got := map[uint64]int64{}
	for e, k := range pt.ekeys {
		got[k] = pt.counts[e]
	}
	require.Equal(t, map[uint64]int64{7: math.MaxInt32 + 1, 8: 2, 9: 1}, got)
}

func TestCounterTypes(t *testing.T) {
	mem := memory.DefaultAllocator
	ib := array.NewInt64Builder(mem)
	ib.AppendValues([]int64{30, 30, 70000, -1, 0}, []bool{true, true, true, true, false})
	fb := array.NewFloat64Builder(mem)
	fb.AppendValues([]float64{1.5, 1.5, 0, 2, 3}, nil)
	db := array.NewDate32Builder(mem)
	db.AppendValues([]arrow.Date32{19000, 19000, 0, 1, 2}, nil)
	bb := array.NewBooleanBuilder(mem)
	bb.AppendValues([]bool{true, true, false, false, true}, nil)
	dict := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}).(*array.BinaryDictionaryBuilder)
	for _, s := range []string{"x", "x", "y", "", "z"} {
		dict.AppendString(s)
	}
	dict.AppendNull()
	cols := []arrow.Array{ib.NewArray(), fb.NewArray(), db.NewArray(), bb.NewArray()}
	da := dict.NewArray()
	cols = append(cols, array.NewSlice(da, 0, 5))
	fields := []arrow.Field{{Name: "i", Type: cols[0].DataType(), Nullable: true}, {Name: "f", Type: cols[1].DataType()},
		{Name: "d", Type: cols[2].DataType()}, {Name: "b", Type: cols[3].DataType()}, {Name: "s", Type: cols[4].DataType(), Nullable: true}}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, 5)
	c, err := NewCounter(rec.Schema(), []string{"i", "f", "d", "b", "s"}, nil)
	require.NoError(t, err)
	require.NoError(t, c.Add(rec))
	require.NoError(t, c.Add(rec)) // the same dictionary again
	tab := c.Table()
	require.Equal(t, []string{"", "30", "70000", "-1"}, tab.Values[0]) // a null reads as the empty value
	require.Equal(t, []string{"1.5", "0", "2", "3"}, tab.Values[1])
	require.Equal(t, []string{"2022-01-08", "1970-01-01", "1970-01-02", "1970-01-03"}, tab.Values[2])
	require.Equal(t, []string{"true", "false"}, tab.Values[3])
	require.Equal(t, []string{"x", "y", "", "z"}, tab.Values[4])
	require.Equal(t, 4, tab.Len())
	require.Equal(t, int64(4), tab.Counts[0]) // the first two rows, twice

	_, err = NewCounter(rec.Schema(), []string{"nope"}, nil)
	require.ErrorIs(t, err, ErrMissingColumn)
	_, err = NewCounter(rec.Schema(), []string{"i", "i"}, nil)
	require.ErrorContains(t, err, "named twice")
	_, err = NewCounter(rec.Schema(), nil, nil)
	require.Error(t, err)
}

// TestCSVAndParquetAgree counts the Adult slice from CSV and from Parquet
// (with string columns read as dictionaries) and gets the same classes.
func TestCSVAndParquetAgree(t *testing.T) {
	csvPath := filepath.Join("testdata", "adult", "adult2000.csv")
	pq := filepath.Join(t.TempDir(), "adult.parquet")
	toParquet(t, csvPath, pq)
	qi := []string{"sex", "age", "race", "education"}
	a, err := Count(context.Background(), Input{Path: csvPath}, qi, []string{"salary-class"})
	require.NoError(t, err)
	b, err := Count(context.Background(), Input{Path: pq}, qi, []string{"salary-class"})
	require.NoError(t, err)
	require.Equal(t, tableCount(a), tableCount(b))
	require.Equal(t, a.Report(ReportOptions{}), b.Report(ReportOptions{}))

	_, err = Count(context.Background(), Input{Path: pq}, []string{"nope"}, nil)
	require.ErrorIs(t, err, ErrMissingColumn)
	_, err = Count(context.Background(), Input{Path: filepath.Join(t.TempDir(), "missing.csv")}, qi, nil)
	require.ErrorIs(t, err, os.ErrNotExist)
	garbage := filepath.Join(t.TempDir(), "x.parquet")
	writeFile(t, garbage, "not parquet at all")
	_, err = Count(context.Background(), Input{Path: garbage}, qi, nil)
	require.ErrorIs(t, err, table.ErrNotParquet)
}

// TestMeasureProgress: Count and Measure report the rows read after each
// batch and, from the file's size or row count, how much is done.
func TestMeasureProgress(t *testing.T) {
	csvPath := filepath.Join("testdata", "adult", "adult2000.csv")
	pq := filepath.Join(t.TempDir(), "adult.parquet")
	toParquet(t, csvPath, pq)
	for _, path := range []string{csvPath, pq} {
		var rows []int64
		var done []float64
		in := Input{Path: path, Progress: func(r int64, d float64) { rows, done = append(rows, r), append(done, d) }}
		r, err := Measure(context.Background(), in, []string{"sex", "age"}, nil, ReportOptions{})
		require.NoError(t, err)
		require.NotEmpty(t, rows, path)
		require.Equal(t, r.Records, rows[len(rows)-1], path)
		require.Equal(t, 1.0, done[len(done)-1], path)
		for i := 1; i < len(rows); i++ {
			require.Greater(t, rows[i], rows[i-1])
			require.GreaterOrEqual(t, done[i], done[i-1])
		}
	}
}

// toParquet converts a CSV file into a Parquet file with table's writer.
func toParquet(t testing.TB, in, out string) {
	t.Helper()
	f, err := os.Open(in)
	require.NoError(t, err)
	defer f.Close()
	r, err := table.NewCSVReader(f, table.CSVOptions{})
	require.NoError(t, err)
	o, err := os.Create(out)
	require.NoError(t, err)
	defer o.Close()
	w, err := table.NewParquetWriter(o, r.Schema(), table.ParquetOptions{})
	require.NoError(t, err)
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		require.NoError(t, w.Write(rec))
		rec.Release()
	}
	require.NoError(t, w.Close())
}
