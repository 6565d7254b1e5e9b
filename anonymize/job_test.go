package anonymize

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/stretchr/testify/require"

	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/pseudo/nid"
)

// adultRules writes a rule file for the Adult slice with ARX's hierarchies
// and returns its path.
func adultRules(t *testing.T, extra string) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("testdata", "adult"))
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString("version: 1\nquasi_identifiers:\n")
	for _, c := range adultColumns {
		if c == "occupation" || c == "salary-class" {
			continue
		}
		fmt.Fprintf(&b, "  %s: {hierarchy: %s}\n", c, filepath.Join(abs, "adult_hierarchy_"+c+".csv"))
	}
	b.WriteString(extra)
	path := filepath.Join(t.TempDir(), "rules.yaml")
	writeFile(t, path, b.String())
	return path
}

func readLines(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func TestJobCSV(t *testing.T) {
	in := filepath.Join("testdata", "adult", "adult2000.csv")
	rs, err := LoadRules(adultRules(t, "k: 5\nsuppression: 2%\nsensitive: {occupation: {l: 2}}\ndrop: [salary-class]\n"))
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "out.csv")
	sum, err := (&Job{Rules: rs, In: Input{Path: in}, Out: out, Tool: "test"}).Run(context.Background())
	require.NoError(t, err)
	require.True(t, sum.Verified)
	require.True(t, sum.Search.Optimal)
	require.Equal(t, int64(2000), sum.RowsIn)
	require.Equal(t, sum.RowsIn-sum.Suppressed, sum.RowsOut)
	require.LessOrEqual(t, sum.Suppressed, int64(40))
	require.Equal(t, []string{"salary-class"}, sum.Dropped)
	require.Equal(t, int64(1), sum.Before.K)
	require.GreaterOrEqual(t, sum.After.K, int64(5))
	require.GreaterOrEqual(t, sum.After.Diversity[0].DistinctL, int64(2))

	// The output: input dialect (';', CRLF), no dropped column, generalised values.
	lines := readLines(t, out)
	require.Equal(t, "sex;age;race;marital-status;education;native-country;workclass;occupation", lines[0])
	require.Len(t, lines, int(sum.RowsOut)+1)
	// Its own measurement agrees.
	qi := adultColumns[:7]
	rep, err := Measure(context.Background(), Input{Path: out}, qi, []string{"occupation"}, ReportOptions{K: 5})
	require.NoError(t, err)
	require.Equal(t, sum.After, rep)
	require.GreaterOrEqual(t, rep.K, int64(5))

	// Every output row is an input row generalised to the chosen levels
	// (the same multiset), and the order is not the input's.
	hs := map[string]*Hierarchy{}
	for _, c := range qi {
		hs[c], err = LoadHierarchy(filepath.Join("testdata", "adult", "adult_hierarchy_"+c+".csv"))
		require.NoError(t, err)
	}
	inLines := readLines(t, in)
	var want []string
	for _, l := range inLines[1:] {
		f := strings.Split(l, ";")
		for i, c := range qi {
			f[i], _ = hs[c].Generalize(f[i], sum.Search.Levels[i])
		}
		want = append(want, strings.Join(f[:8], ";"))
	}
	got := slices.Clone(lines[1:])
	sameOrder := true
	for i := range got {
		if got[i] != want[i] {
			sameOrder = false
			break
		}
	}
	require.False(t, sameOrder, "rows were not shuffled")
	slices.Sort(got)
	slices.Sort(want)
	// want has the suppressed rows too: got must be a sub-multiset of size RowsOut.
	i := 0
	for _, g := range got {
		for i < len(want) && want[i] < g {
			i++
		}
		require.True(t, i < len(want) && want[i] == g, "output row not from the input")
		i++
	}

	// The sidecar.
	var side Summary
	b, err := os.ReadFile(out + ".anonymization.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &side))
	require.True(t, side.Verified)
	require.Equal(t, sum.OutputSHA256, side.OutputSHA256)
	require.Equal(t, "test", side.Tool)
	require.Equal(t, "adult2000.csv", side.Input)
	require.Equal(t, sum.Search.Levels, side.Search.Levels)
	require.NotContains(t, string(b), "Never-married") // counts, never values

	// A second run shuffles differently (the seed is not kept).
	out2 := filepath.Join(t.TempDir(), "out2.csv")
	_, err = (&Job{Rules: rs, In: Input{Path: in}, Out: out2}).Run(context.Background())
	require.NoError(t, err)
	require.NotEqual(t, lines, readLines(t, out2))
}

func TestJobParquetAndMask(t *testing.T) {
	in := filepath.Join(t.TempDir(), "adult.parquet")
	toParquet(t, filepath.Join("testdata", "adult", "adult2000.csv"), in)
	rs, err := LoadRules(adultRules(t, "k: 10\nsuppression: 3%\nsuppressed_rows: mask\nmetric: discernibility\nkeep: [occupation, salary-class]\n"))
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "out.parquet")
	sum, err := (&Job{Rules: rs, In: Input{Path: in}, Out: out}).Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, sum.RowsIn, sum.RowsOut)
	require.Equal(t, "masked", sum.SuppressedRows)
	require.Positive(t, sum.Suppressed)
	// The summary is in the file's metadata.
	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	require.NoError(t, err)
	defer pf.Close()
	meta := pf.MetaData().KeyValueMetadata().FindValue(MetadataKey)
	require.NotNil(t, meta)
	var s Summary
	require.NoError(t, json.Unmarshal([]byte(*meta), &s))
	require.True(t, s.Verified)
	require.Equal(t, sum.Suppressed, s.Suppressed)
	require.NotNil(t, s.After)
	// Masked records have "*" in every quasi-identifier.
	tab, err := Count(context.Background(), Input{Path: out}, adultColumns[:7], nil)
	require.NoError(t, err)
	var stars int64
	for e, n := range tab.Counts {
		all := true
		for i := range 7 {
			all = all && tab.Values[i][tab.Codes[i][e]] == "*"
		}
		if all {
			stars += n
		}
	}
	require.GreaterOrEqual(t, stars, sum.Suppressed)
}

// personData writes a synthetic dataset with an identity-number column.
func personData(t *testing.T, n int) string {
	var b strings.Builder
	b.WriteString("fnr,age,postnr,diagnosis,notes\n")
	for i := range n {
		var num nid.Number
		var err error
		for ind := (i * 37) % 500; ; ind++ { // not every individual number has valid check digits
			num, err = nid.Synthetic(time.Date(1950+i%40, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC), ind, nid.FNR, true)
			if err == nil {
				break
			}
		}
		fmt.Fprintf(&b, "%s,%d,%04d,D%d,note %d\n", num, 20+i%50, 1000+(i%7)*10+i%3, i%4, i)
	}
	path := filepath.Join(t.TempDir(), "persons.csv")
	writeFile(t, path, b.String())
	return path
}

func TestJobColumnsAndIdentifiers(t *testing.T) {
	in := personData(t, 300)
	rules := func(s string) *Rules {
		rs, err := ParseRules(strings.NewReader("version: 1\nk: 3\nsuppression: 1%\nquasi_identifiers:\n  age: {intervals: [5, 10, 20]}\n  postnr: {postcode: [3, 2]}\n" + s))
		require.NoError(t, err)
		return rs
	}
	out := filepath.Join(t.TempDir(), "out.csv")
	run := func(rs *Rules) (*Summary, error) {
		return (&Job{Rules: rs, In: Input{Path: in}, Out: out}).Run(context.Background())
	}
	// Unnamed columns are refused.
	_, err := run(rules("sensitive: [diagnosis]\n"))
	require.ErrorIs(t, err, ErrUnclassified)
	require.ErrorContains(t, err, `"fnr", "notes"`)
	// A kept identity-number column is refused, by row, without the value.
	_, err = run(rules("sensitive: [diagnosis]\nkeep: [fnr, notes]\n"))
	require.ErrorIs(t, err, ErrIdentifierFound)
	require.ErrorContains(t, err, `row 1 (line 2), column "fnr"`)
	require.NotContains(t, err.Error(), strings.Split(readLines(t, in)[1], ",")[0])
	require.NoFileExists(t, out)
	// Missing column.
	_, err = run(rules("sensitive: [diagnosis]\ndrop: [fnr, notes, nope]\n"))
	require.ErrorIs(t, err, ErrMissingColumn)
	// Dropped: fine; no trace of the identity numbers.
	sum, err := run(rules("sensitive: {diagnosis: {l: 2}}\ndrop: [fnr]\nkeep: [notes]\n"))
	require.NoError(t, err)
	require.True(t, sum.Verified)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "age,postnr,diagnosis,notes\n"))
	for _, l := range readLines(t, in)[1:4] {
		require.NotContains(t, string(b), strings.Split(l, ",")[0])
	}
	// Unreachable target: refused, nothing written.
	os.Remove(out)
	rs := rules("sensitive: [diagnosis]\ndrop: [fnr, notes]\n")
	rs.K = 400
	sum, err = run(rs)
	require.ErrorIs(t, err, ErrUnreachable)
	require.ErrorContains(t, err, "k=400")
	require.NotNil(t, sum)
	require.NoFileExists(t, out)
	// A builder that cannot read the values.
	_, err = ParseRules(strings.NewReader("version: 1\nk: 2\nquasi_identifiers: {diagnosis: {intervals: [5]}}\n"))
	require.NoError(t, err)
	rs = rules("")
	rs.QuasiIdentifiers = append(rs.QuasiIdentifiers, QIRule{Column: "diagnosis", Builder: Intervals{Widths: []float64{5}}, MinLevel: -1, MaxLevel: -1})
	rs.Drop = []string{"fnr", "notes"}
	_, err = run(rs)
	var he *HierarchyError
	require.ErrorAs(t, err, &he)
	require.ErrorContains(t, err, `(column "diagnosis")`)
	// Dry run: no output.
	rs = rules("sensitive: [diagnosis]\ndrop: [fnr, notes]\n")
	sum, err = (&Job{Rules: rs, In: Input{Path: in}, DryRun: true}).Run(context.Background())
	require.NoError(t, err)
	require.True(t, sum.Search.Found)
	require.NoFileExists(t, out)
}

func TestLooksLikeIdentifier(t *testing.T) {
	var num nid.Number
	var err error
	for ind := 100; err != nil || ind == 100; ind++ {
		num, err = nid.Synthetic(time.Date(1980, 5, 17, 0, 0, 0, 0, time.UTC), ind, nid.FNR, true)
	}
	require.NotEmpty(t, looksLikeIdentifier(num.String()))
	require.Empty(t, looksLikeIdentifier("12345678901"[:10]))
	require.Empty(t, looksLikeIdentifier("hello world"))
	require.Empty(t, looksLikeIdentifier("K0000000000000000X"))
}

// TestJobTypedParquet anonymises a Parquet file whose quasi-identifiers are
// typed (Int64, Date32): they come out as generalised text, the other
// columns keep their types and values.
func TestJobTypedParquet(t *testing.T) {
	mem := memory.DefaultAllocator
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "birth_year", Type: arrow.PrimitiveTypes.Int64},
		{Name: "visit", Type: arrow.FixedWidthTypes.Date32},
		{Name: "value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	for i := range 500 {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("P%04d", i))
		b.Field(1).(*array.Int64Builder).Append(int64(1940 + i%60))
		b.Field(2).(*array.Date32Builder).Append(arrow.Date32(19000 + i%400))
		if i%7 == 0 {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.Float64Builder).Append(float64(i) / 8)
		}
	}
	rec := b.NewRecordBatch()
	in := filepath.Join(t.TempDir(), "typed.parquet")
	f, err := os.Create(in)
	require.NoError(t, err)
	w, err := table.NewParquetWriter(f, schema, table.ParquetOptions{})
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
	rec.Release()

	rs, err := ParseRules(strings.NewReader(`version: 1
k: 10
quasi_identifiers:
  birth_year: {intervals: [5, 10, 20]}
  visit: {dates: [month, quarter, year]}
drop: [id]
keep: [value]
`))
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "out.parquet")
	sum, err := (&Job{Rules: rs, In: Input{Path: in}, Out: out}).Run(context.Background())
	require.NoError(t, err)
	require.True(t, sum.Verified)
	require.Equal(t, int64(500), sum.RowsOut)

	of, err := os.Open(out)
	require.NoError(t, err)
	defer of.Close()
	pr, _, err := newParquetReader(of, nil, nil)
	require.NoError(t, err)
	defer pr.Close()
	got := pr.Schema()
	require.Equal(t, []string{"birth_year", "visit", "value"}, []string{got.Field(0).Name, got.Field(1).Name, got.Field(2).Name})
	require.Equal(t, arrow.STRING, got.Field(0).Type.ID())
	require.Equal(t, arrow.STRING, got.Field(1).Type.ID())
	require.Equal(t, arrow.FLOAT64, got.Field(2).Type.ID())
	var nulls int
	var sumv float64
	for {
		r, err := pr.Next()
		if err != nil {
			break
		}
		v := r.Column(2).(*array.Float64)
		nulls += v.NullN()
		for i := range v.Len() {
			if v.IsValid(i) {
				sumv += v.Value(i)
			}
		}
		y := r.Column(0).(*array.String).Value(0)
		require.Regexp(t, `^(\d{4}-\d{4}|\*)$`, y)
		r.Release()
	}
	require.Equal(t, 72, nulls) // the kept column's nulls survive the shuffle
	want := 0.0
	for i := range 500 {
		if i%7 != 0 {
			want += float64(i) / 8
		}
	}
	require.InDelta(t, want, sumv, 1e-9)
}
