package anonymize

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseRules(t *testing.T) {
	rs, err := ParseRules(strings.NewReader(`
version: 1
k: 5
suppression: 5%
metric: precision
suppressed_rows: mask
search: heuristic
budget: 100
quasi_identifiers:
  age:     {intervals: [5, 10], top: 90, max_level: 2}
  sex:     {hierarchy: h/sex.csv}
  postnr:  {postcode: true}
  kommune: {mask: [1, 2]}
  born:    {dates: [month, year], layout: "2006-01-02"}
  icd:     {groups: icd.csv, min_level: 1}
sensitive:
  diag: {l: 3, kind: entropy}
  pay:  {}
  risk: {l: 2, kind: recursive, c: 3}
drop: [fnr, name]
keep: [weight]
not_identifiers: [weight]
`))
	require.NoError(t, err)
	require.Equal(t, 5, rs.K)
	require.InDelta(t, 0.05, rs.Suppression, 1e-12)
	require.Equal(t, Precision, rs.Metric)
	require.True(t, rs.Mask)
	require.True(t, rs.Heuristic)
	qi, sens := rs.Columns()
	require.Equal(t, []string{"age", "sex", "postnr", "kommune", "born", "icd"}, qi)
	require.Equal(t, []string{"diag", "pay", "risk"}, sens)
	require.Equal(t, "intervals 5,10 top 90", rs.QuasiIdentifiers[0].Source())
	require.Equal(t, 2, rs.QuasiIdentifiers[0].MaxLevel)
	require.Equal(t, "hierarchy sex.csv", rs.QuasiIdentifiers[1].Source())
	require.Equal(t, "postcode 3,2,1", rs.QuasiIdentifiers[2].Source())
	require.Equal(t, "mask 1,2", rs.QuasiIdentifiers[3].Source())
	require.Equal(t, "dates month,year", rs.QuasiIdentifiers[4].Source())
	require.Equal(t, "groups icd.csv", rs.QuasiIdentifiers[5].Source())
	require.Equal(t, 1, rs.QuasiIdentifiers[5].MinLevel)
	require.Equal(t, &DiversityCriterion{Column: "diag", Kind: EntropyDiversity, L: 3}, rs.Sensitive[0].Diversity)
	require.Nil(t, rs.Sensitive[1].Diversity)
	cfg := rs.Config()
	require.Len(t, cfg.Diversity, 2)
	require.Equal(t, []int{-1, -1, -1, -1, -1, 1}, cfg.MinLevels)
	require.Equal(t, []int{2, -1, -1, -1, -1, -1}, cfg.MaxLevels)
	require.Equal(t, "keep", rs.roleOf("weight"))
	require.Equal(t, "drop", rs.roleOf("fnr"))
	require.Equal(t, "", rs.roleOf("other"))

	// A plain list of sensitive attributes.
	rs, err = ParseRules(strings.NewReader("version: 1\nk: 2\nquasi_identifiers: {a: {mask: true}}\nsensitive: [x, y]\n"))
	require.NoError(t, err)
	require.Len(t, rs.Sensitive, 2)
	require.Equal(t, Loss, rs.Metric)
	require.Zero(t, rs.Suppression)
}

func TestParseRulesErrors(t *testing.T) {
	base := "version: 1\nk: 5\n"
	qi := "quasi_identifiers: {a: {mask: true}}\n"
	for _, tc := range []struct{ in, err string }{
		{"", "empty rule file"},
		{"version: 2\nk: 5\n" + qi, "version must be 1"},
		{base + qi + "colour: red\n", "field colour not found"},
		{base + "quasi_identifiers: {a: {mask: true, hierarchy: x.csv}}\n", `line 3: quasi-identifier "a": give exactly one of`},
		{base + "quasi_identifiers: {a: {}}\n", `quasi-identifier "a": give exactly one of`},
		{base + "quasi_identifiers:\n  a: {mask: true, colour: 1}\n", `line 4: quasi-identifier "a": field colour not found`},
		{base + "quasi_identifiers: {a: {postcode: maybe}}\n", "postcode: want true or a list"},
		{base + "quasi_identifiers: [a]\n", "quasi_identifiers: want a mapping"},
		{base + qi + "suppression: lots\n", "suppression: want a share"},
		{base + qi + "suppression: 150%\n", "suppression: want a share"},
		{base + qi + "metric: best\n", `unknown metric "best"`},
		{base + qi + "suppressed_rows: hide\n", "suppressed_rows"},
		{base + qi + "search: random\n", "search:"},
		{base, "no quasi_identifiers"},
		{"version: 1\n" + qi, "k must be at least 1"},
		{base + qi + "drop: [a]\n", `column "a" is both a quasi-identifier and dropped`},
		{base + qi + "sensitive: {s: {l: 2, kind: recursive}}\n", "c must be positive"},
		{base + qi + "sensitive: {s: {kind: fancy}}\n", `unknown kind "fancy"`},
		{base + qi + "sensitive: {s: {l: 2, c: 1, q: 1}}\n", "field q not found"},
		{base + qi + "not_identifiers: [b]\n", `not_identifiers: column "b" is not kept`},
		{"[", "not valid rules"},
	} {
		_, err := ParseRules(strings.NewReader(tc.in))
		require.Error(t, err, tc.in)
		require.Contains(t, err.Error(), tc.err, tc.in)
		var re *RuleError
		require.ErrorAs(t, err, &re, tc.in)
	}
	// LoadRules names the file.
	dir := t.TempDir()
	path := filepath.Join(dir, "r.yaml")
	writeFile(t, path, "version: 1\nk: 0\n"+qi)
	_, err := LoadRules(path)
	require.ErrorContains(t, err, path+": k must be at least 1")
	_, err = LoadRules(filepath.Join(dir, "none.yaml"))
	require.Error(t, err)
}

func TestParseShare(t *testing.T) {
	for in, want := range map[string]float64{"0.05": 0.05, "5%": 0.05, " 5 % ": 0.05, "0": 0, "100%": 1, "1": 1} {
		got, err := ParseShare(in)
		require.NoError(t, err, in)
		require.InDelta(t, want, got, 1e-12, in)
	}
	for _, in := range []string{"", "x", "-1%", "1.5", "NaN"} {
		_, err := ParseShare(in)
		require.Error(t, err, in)
	}
}
