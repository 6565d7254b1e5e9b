package anonymize

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// countRows counts rows (qi columns then sensitive columns) into a Table.
func countRows(t testing.TB, names []string, qi int, rows [][]string) *Table {
	t.Helper()
	rec := stringBatch(names, rows)
	defer rec.Release()
	c, err := NewCounter(rec.Schema(), names[:qi], names[qi:])
	require.NoError(t, err)
	require.NoError(t, c.Add(rec))
	return c.Table()
}

func TestReport(t *testing.T) {
	rows := [][]string{
		{"x", "1", "p"}, {"x", "1", "p"}, {"x", "1", "q"},
		{"x", "2", "p"},
		{"y", "1", "p"}, {"y", "1", "q"}, {"y", "1", "r"}, {"y", "1", "r"}, {"y", "1", "r"},
	}
	r := countRows(t, []string{"a", "b", "s"}, 2, rows).Report(ReportOptions{})
	require.Equal(t, int64(9), r.Records)
	require.Equal(t, int64(3), r.Classes)
	require.Equal(t, int64(1), r.K)
	require.Equal(t, 5, r.Threshold)
	require.Equal(t, int64(2), r.ClassesBelow)
	require.Equal(t, int64(4), r.RecordsBelow)
	require.Equal(t, int64(1), r.SampleUniques)
	require.InDelta(t, 1.0/9, r.SampleUniqueShare, 1e-12)
	require.InDelta(t, 3.0, r.AverageClassSize, 1e-12)
	require.Equal(t, Risk{ProsecutorHighest: 1, ProsecutorAverage: 3.0 / 9, Marketer: 3.0 / 9, RecordsAtRisk: 4.0 / 9}, r.Risk)
	require.Equal(t, SizeBucket{Min: 1, Max: 1, Classes: 1, Records: 1}, r.Distribution[0])
	require.Equal(t, SizeBucket{Min: 3, Max: 3, Classes: 1, Records: 3}, r.Distribution[2])
	require.Equal(t, SizeBucket{Min: 5, Max: 5, Classes: 1, Records: 5}, r.Distribution[4])
	require.Equal(t, []string{"a", "b"}, r.QuasiIdentifiers)
	require.Len(t, r.Diversity, 1)
	d := r.Diversity[0]
	require.Equal(t, "s", d.Column)
	require.Equal(t, int64(1), d.DistinctL)
	require.InDelta(t, 1.0, d.EntropyL, 1e-12)
	require.True(t, math.IsInf(float64(d.RecursiveC), 1))
	require.Equal(t, int64(1), d.ClassesBelowL)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	require.Contains(t, string(b), `"recursive_c":null`)

	// Without the unique record: recursive (c,2) needs c > 2 (class x,1: 2/1; class y,1: 3/2).
	r = countRows(t, []string{"a", "b", "s"}, 2, append(rows[:3:3], rows[4:]...)).Report(ReportOptions{K: 3, L: 2})
	require.Equal(t, int64(3), r.K)
	require.Equal(t, int64(0), r.ClassesBelow)
	d = r.Diversity[0]
	require.Equal(t, int64(2), d.DistinctL)
	require.InDelta(t, math.Exp(-(2.0/3)*math.Log(2.0/3)-(1.0/3)*math.Log(1.0/3)), d.EntropyL, 1e-12)
	require.InDelta(t, 2.0, float64(d.RecursiveC), 1e-12)
	require.Equal(t, int64(0), d.ClassesBelowL)
	b, err = json.Marshal(r)
	require.NoError(t, err)
	require.Contains(t, string(b), `"recursive_c":2`)
}

func TestDiversityCriteria(t *testing.T) {
	for _, tc := range []struct {
		d  DiversityCriterion
		fs []int64
		ok bool
	}{
		{DiversityCriterion{Kind: DistinctDiversity, L: 2}, []int64{5, 1}, true},
		{DiversityCriterion{Kind: DistinctDiversity, L: 3}, []int64{5, 1}, false},
		{DiversityCriterion{L: 1}, []int64{5}, true},
		{DiversityCriterion{Kind: EntropyDiversity, L: 2}, []int64{1, 1}, true},   // entropy exactly log2(2)
		{DiversityCriterion{Kind: EntropyDiversity, L: 2}, []int64{10, 1}, false}, // skewed
		{DiversityCriterion{Kind: EntropyDiversity, L: 3}, []int64{1, 1, 1, 1}, true},
		{DiversityCriterion{Kind: RecursiveDiversity, L: 2, C: 3}, []int64{5, 2}, true},     // 5 < 3*2
		{DiversityCriterion{Kind: RecursiveDiversity, L: 2, C: 2}, []int64{5, 2}, false},    // 5 >= 2*2
		{DiversityCriterion{Kind: RecursiveDiversity, L: 3, C: 4}, []int64{2, 9, 1}, false}, // 9 >= 4*1
		{DiversityCriterion{Kind: RecursiveDiversity, L: 3, C: 10}, []int64{2, 9, 1}, true},
		{DiversityCriterion{Kind: RecursiveDiversity, L: 3, C: 10}, []int64{9, 1}, false}, // fewer than l values
	} {
		require.Equal(t, tc.ok, tc.d.ok(tc.fs), "%+v %v", tc.d, tc.fs)
	}
	require.Error(t, DiversityCriterion{Column: "s", Kind: RecursiveDiversity, L: 2}.check())
	require.Error(t, DiversityCriterion{Column: "s", Kind: "fancy", L: 2}.check())
	require.Error(t, DiversityCriterion{Column: "s", L: 0.5}.check())
}
