package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// adultSlice is the Adult fixture of package anonymize.
var adultSlice = filepath.Join("..", "..", "anonymize", "testdata", "adult")

// adultRulesFile writes a rule file for the Adult slice.
func adultRulesFile(t *testing.T, extra string) string {
	t.Helper()
	abs, err := filepath.Abs(adultSlice)
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString("version: 1\nquasi_identifiers:\n")
	for _, c := range []string{"sex", "age", "race", "marital-status", "education", "native-country", "workclass"} {
		b.WriteString("  " + c + ": {hierarchy: " + filepath.Join(abs, "adult_hierarchy_"+c+".csv") + "}\n")
	}
	b.WriteString(extra)
	path := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return path
}

func TestKcheck(t *testing.T) {
	in := filepath.Join(adultSlice, "adult2000.csv")
	r := pk(t, nil, "", "kcheck", "--qi", "sex,age,race", "--sensitive", "salary-class", in)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "2,000 records, quasi-identifiers sex, age, race")
	require.Contains(t, r.stdout, "k                  1 (smallest class)")
	require.Contains(t, r.stdout, `sensitive "salary-class": distinct l = 1`)
	require.Contains(t, r.stdout, "NOT 5-anonymous")
	require.NotContains(t, r.stdout, "Male") // counts, never values

	r = pk(t, nil, "", "kcheck", "--qi", "sex,race", "--k", "2", "--json", in)
	require.Equal(t, 0, r.code, r.stderr)
	var rep map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	require.EqualValues(t, 2000, rep["records"])
	require.EqualValues(t, 2, rep["threshold"])

	// Standard input, and --strict.
	data, err := os.ReadFile(in)
	require.NoError(t, err)
	r = pk(t, nil, string(data), "kcheck", "--qi", "sex", "--from", "csv", "--strict", "-")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "<stdin>: 2,000 records")
	r = pk(t, nil, "", "kcheck", "--qi", "sex,age", "--strict", in)
	require.Equal(t, ExitRefused, r.code, r.stderr)
	require.Contains(t, r.stderr, "pseudokit: error: target not met: the smallest class has 1 records (k = 5)")

	for _, args := range [][]string{{"kcheck", in}, {"kcheck", "--qi", "sex"}, {"kcheck", "--qi", "sex", "--k", "0", in}, {"kcheck", "--qi", "sex", "--delimiter", "x", in}} {
		r := pk(t, nil, "", args...)
		require.Equal(t, ExitUsage, r.code, "%v: %s", args, r.stderr)
	}
	r = pk(t, nil, "", "kcheck", "--qi", "sex,nope", in)
	require.Equal(t, ExitInvalidInput, r.code, r.stderr)
	require.Contains(t, r.stderr, `column "nope": column not in the input`)
	r = pk(t, nil, "", "kcheck", "--qi", "sex", filepath.Join(t.TempDir(), "none.csv"))
	require.Equal(t, ExitFailure, r.code, r.stderr)
	require.Contains(t, r.stderr, "hint: check the path")
}

func TestAnonymizeCLI(t *testing.T) {
	in := filepath.Join(adultSlice, "adult2000.csv")
	dir := t.TempDir()
	rules := adultRulesFile(t, "k: 5\nsuppression: 3%\nsensitive: [occupation]\ndrop: [salary-class]\n")
	out := filepath.Join(dir, "out.parquet")
	sum := filepath.Join(dir, "summary.json")
	r := pk(t, nil, "", "anonymize", "--rules", rules, "--summary", sum, in, out)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "2,000 rows read")
	require.Contains(t, r.stderr, "rows shuffled")
	require.Contains(t, r.stderr, "metric loss = ")
	require.Contains(t, r.stderr, "(optimal; ")
	require.Contains(t, r.stderr, "dropped: salary-class")
	require.Contains(t, r.stderr, "verified")
	require.FileExists(t, out)
	var s map[string]any
	b, err := os.ReadFile(sum)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &s))
	require.Equal(t, true, s["verified"])
	require.Equal(t, "pseudokit "+Version, s["tool"])

	// The output measures k >= 5.
	r = pk(t, nil, "", "kcheck", "--qi", "sex,age,race,marital-status,education,native-country,workclass", "--strict", out)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)

	// Overrides, dry run, JSON on stdout.
	r = pk(t, nil, "", "anonymize", "--rules", rules, "--k", "10", "--suppression", "0", "--metric", "aecs", "--dry-run", "--json", "--quiet", in)
	require.Equal(t, 0, r.code, r.stderr)
	require.Empty(t, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &s))
	require.EqualValues(t, 10, s["target"].(map[string]any)["k"])
	require.Equal(t, "aecs", s["target"].(map[string]any)["metric"])

	// CSV to standard output.
	r = pk(t, nil, "", "anonymize", "--rules", rules, "--quiet", in, "-", "--to", "csv")
	require.Equal(t, 0, r.code, r.stderr)
	require.True(t, strings.HasPrefix(r.stdout, "sex;age;race;marital-status;education;native-country;workclass;occupation\r\n"))

	// Unreachable: refused with a hint, nothing written.
	out2 := filepath.Join(dir, "never.csv")
	r = pk(t, nil, "", "anonymize", "--rules", rules, "--k", "5000", in, out2)
	require.Equal(t, ExitRefused, r.code, r.stderr)
	require.Contains(t, r.stderr, "no transformation meets the target")
	require.Contains(t, r.stderr, "hint: allow more suppression")
	require.NoFileExists(t, out2)

	// Unnamed columns: invalid input, with a hint.
	bare := adultRulesFile(t, "k: 5\n")
	r = pk(t, nil, "", "anonymize", "--rules", bare, in, out2)
	require.Equal(t, ExitInvalidInput, r.code, r.stderr)
	require.Contains(t, r.stderr, `"occupation", "salary-class"`)
	require.Contains(t, r.stderr, "hint: list direct identifiers")

	// Rule and hierarchy errors are usage errors naming file and line.
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("version: 1\nk: 5\nquasi_identifiers:\n  age: {mask: true, colour: red}\n"), 0o600))
	r = pk(t, nil, "", "anonymize", "--rules", bad, in, out2)
	require.Equal(t, ExitUsage, r.code, r.stderr)
	require.Contains(t, r.stderr, bad+":4: quasi-identifier \"age\"")
	hier := filepath.Join(dir, "sex.csv")
	require.NoError(t, os.WriteFile(hier, []byte("Male;*\nFemale;*;*\n"), 0o600))
	hr := filepath.Join(dir, "h.yaml")
	require.NoError(t, os.WriteFile(hr, []byte("version: 1\nk: 5\nquasi_identifiers:\n  sex: {hierarchy: sex.csv}\nkeep: [age, race, marital-status, education, native-country, workclass, occupation, salary-class]\n"), 0o600))
	r = pk(t, nil, "", "anonymize", "--rules", hr, in, out2)
	require.Equal(t, ExitUsage, r.code, r.stderr)
	require.Contains(t, r.stderr, "hierarchy "+hier+": line 2: 3 levels")
	// A value the hierarchy lacks: invalid input.
	require.NoError(t, os.WriteFile(hier, []byte("Male;*\n"), 0o600))
	r = pk(t, nil, "", "anonymize", "--rules", hr, in, out2)
	require.Equal(t, ExitInvalidInput, r.code, r.stderr)
	require.Contains(t, r.stderr, `column "sex": value "Female" not in hierarchy`)
	require.Contains(t, r.stderr, "hint: add the value to the hierarchy file")

	for _, args := range [][]string{
		{"anonymize", in, out2},
		{"anonymize", "--rules", rules, in},
		{"anonymize", "--rules", rules, "--dry-run", in, out2},
		{"anonymize", "--rules", rules, "--suppression", "lots", in, out2},
		{"anonymize", "--rules", rules, "--metric", "best", in, out2},
		{"anonymize", "--rules", rules, "--k", "-1", in, out2},
		{"anonymize", "--rules", rules, "--json", in, "-"},
	} {
		r := pk(t, nil, "", args...)
		require.Equal(t, ExitUsage, r.code, "%v: %s", args, r.stderr)
		require.Contains(t, r.stderr, "pseudokit: error:")
	}
}

func TestAnonymizeReport(t *testing.T) {
	in := filepath.Join(adultSlice, "adult2000.csv")
	dir := t.TempDir()
	rules := adultRulesFile(t, "k: 5\nsuppression: 3%\nsensitive: [occupation]\ndrop: [salary-class]\n")
	out := filepath.Join(dir, "out.csv")
	rep := filepath.Join(dir, "anon.json")
	r := pk(t, nil, "", "anonymize", "--rules", rules, "--report", rep, "--report", filepath.Join(dir, "anon.md"), in, out)
	require.Equal(t, 0, r.code, r.stderr)
	md, err := os.ReadFile(filepath.Join(dir, "anon.md"))
	require.NoError(t, err)
	require.Contains(t, string(md), "k-anonymity")
	r = pk(t, nil, "", "report", "--verify", rep, "--no-vault")
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
}
