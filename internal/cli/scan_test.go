package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pseudokit/pseudokit/pseudo"
)

// scanCSV writes a small dataset with synthetic identity numbers, names,
// phone numbers in a note, and quasi-identifiers.
func scanCSV(t *testing.T, dir string, ids []string) string {
	var b strings.Builder
	b.WriteString("fnr;fornavn;alder;kjonn;notat\n")
	for i, id := range ids {
		note := "Ingen merknader i dag"
		if i%3 == 0 {
			note = "Ring pasienten på 912 34 567"
		}
		b.WriteString(id + ";" + []string{"Kari", "Ola", "Ingrid"}[i%3] + ";" + []string{"41", "52", "33"}[i%3] + ";" + []string{"K", "M"}[i%2] + ";" + note + "\n")
	}
	p := filepath.Join(dir, "deltakere.csv")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o600))
	return p
}

func TestScanCLI(t *testing.T) {
	dir := t.TempDir()
	ids := synthIDs(t, 12)
	in := scanCSV(t, dir, ids)

	r := pk(t, nil, "", "scan", in)
	require.Equal(t, 0, r.code, r.stderr)
	for _, want := range []string{"fnr", "direct", "nid", "code nid (subject)", "fake-name given", "free-text", "redact", "12 × DDDDDDDDDDD", "age", "sex", "3 direct identifier(s)"} {
		require.Contains(t, r.stdout, want)
	}
	for _, id := range ids {
		require.NotContains(t, r.stdout+r.stderr, id)
	}
	require.NotContains(t, r.stdout, "912")

	// JSON.
	r = pk(t, nil, "", "scan", "--json", in)
	require.Equal(t, 0, r.code, r.stderr)
	var doc struct {
		Files []struct {
			Rows    int64 `json:"rows"`
			Columns []struct {
				Column string `json:"column"`
				Kind   string `json:"kind"`
				Role   string `json:"role"`
			} `json:"columns"`
		} `json:"files"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc))
	require.EqualValues(t, 12, doc.Files[0].Rows)
	require.Equal(t, "nid", doc.Files[0].Columns[0].Kind)
	require.Equal(t, "free-text", doc.Files[0].Columns[4].Kind)

	// Starter rules: written 0600, accepted by pseudonymize's rule parser.
	rules := filepath.Join(dir, "rules.yaml")
	r = pk(t, nil, "", "scan", "--suggest-rules", rules, in)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "wrote starter rules")
	fi, err := os.Stat(rules)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	rs, err := pseudo.LoadRules(rules)
	require.NoError(t, err)
	require.Len(t, rs.Columns, 5)
	require.True(t, rs.Columns[0].Subject)

	// Standard input, and --fail-on-direct.
	csv, _ := os.ReadFile(in)
	r = pk(t, nil, string(csv), "scan", "--from", "csv", "--fail-on-direct", "-")
	require.Equal(t, ExitInvalidInput, r.code, r.stderr)
	require.Contains(t, r.stdout, "<stdin>")
	require.Contains(t, r.stderr, "3 column(s) hold direct identifiers")
}

func TestScanCLIErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"scan"},
		{"scan", "--sample", "0", "x.csv"},
		{"scan", "--delimiter", "x", "x.csv"},
		{"scan", "--bogus"},
	} {
		r := pk(t, nil, "", args...)
		require.Equal(t, ExitUsage, r.code, "%v: %s", args, r.stderr)
		require.Contains(t, r.stderr, "pseudokit: error:")
	}
	r := pk(t, nil, "", "scan", filepath.Join(dir, "missing.csv"))
	require.Equal(t, ExitFailure, r.code)
	require.Contains(t, r.stderr, "hint: check the path")

	bad := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("a,b\n1,2,3\n"), 0o600))
	r = pk(t, nil, "", "scan", bad)
	require.Equal(t, ExitInvalidInput, r.code, r.stderr)

	pq := filepath.Join(dir, "bad.parquet")
	require.NoError(t, os.WriteFile(pq, []byte("not parquet"), 0o600))
	r = pk(t, nil, "", "scan", pq)
	require.Equal(t, ExitInvalidInput, r.code, r.stderr)
}
