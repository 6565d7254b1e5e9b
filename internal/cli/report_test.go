package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReportCLI(t *testing.T) {
	dir, env := setup(t)
	ids := synthIDs(t, 12)
	in := scanCSV(t, dir, ids)
	out := filepath.Join(dir, "ut.csv")
	sum := filepath.Join(dir, "run.json")
	r := pk(t, env, "", "pseudonymize", "--id", "fnr", "--name", "fornavn", "--drop", "notat", "--keep", "alder,kjonn", "--summary", sum, "--quiet", in, out)
	require.Equal(t, 0, r.code, r.stderr)

	html, md, js := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.md"), filepath.Join(dir, "r.json")
	r = pk(t, env, "", "report", "--input", in, "--output", out, "--summary", sum, "--qi", "alder,kjonn", "--k", "2", "--out", html, "--out", md, "--out", js)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "report written")
	for _, f := range []string{html, md, js} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		fi, _ := os.Stat(f)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		for _, id := range ids {
			require.NotContains(t, string(b), id)
			require.NotContains(t, string(b), id[:6]+" "+id[6:])
		}
	}
	b, _ := os.ReadFile(js)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	require.NotNil(t, doc["vault"], "the vault (PSEUDOKIT_VAULT) is reported")
	b, _ = os.ReadFile(md)
	require.Contains(t, string(b), "All checks passed")
	require.Contains(t, string(b), "## Identifier-key vault")

	// Verify: all figures match, with and without the vault.
	r = pk(t, env, "", "report", "--verify", js)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "every figure matches")
	require.Contains(t, r.stdout, "still contains the reported head")
	r = pk(t, nil, "", "report", "--verify", js)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "not checked: the vault section")

	// A changed output: exit 4 and the list of mismatches.
	require.NoError(t, os.WriteFile(out, append(mustRead(t, out), []byte(strings.Repeat(";", 4)+"\n")...), 0o600))
	r = pk(t, nil, "", "report", "--verify", js)
	require.Equal(t, ExitInvalidInput, r.code, r.stdout+r.stderr)
	require.Contains(t, r.stdout, "MISMATCH: outputs[0].sha256")
	require.Contains(t, r.stderr, "figure(s) do not match")

	// Markdown to standard output, no vault.
	r = pk(t, env, "", "report", "--no-vault", "--input", in, "--out", "-", "--format", "md")
	require.Equal(t, 0, r.code, r.stderr)
	require.True(t, strings.HasPrefix(r.stdout, "# De-identification report"))
	require.NotContains(t, r.stdout, "## Identifier-key vault")
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

func TestReportCLIErrors(t *testing.T) {
	dir := t.TempDir()
	in := scanCSV(t, dir, synthIDs(t, 3))
	for _, args := range [][]string{
		{"report"},
		{"report", "--input", in},
		{"report", "--input", in, "--out", "r.pdf"},
		{"report", "--input", in, "--out", "-"},
		{"report", "--input", in, "--out", "r.md", "--k", "0"},
		{"report", "--verify", "r.json", "--input", in},
		{"report", "stray", "--out", "r.md"},
	} {
		r := pk(t, nil, "", args...)
		require.Equal(t, ExitUsage, r.code, "%v: %s", args, r.stderr)
	}
	junk := filepath.Join(dir, "junk.json")
	require.NoError(t, os.WriteFile(junk, []byte("{}"), 0o600))
	r := pk(t, nil, "", "report", "--input", in, "--summary", junk, "--out", filepath.Join(dir, "r.md"))
	require.Equal(t, ExitInvalidInput, r.code, r.stderr)
	require.Contains(t, r.stderr, "not a pseudokit run summary")
	r = pk(t, nil, "", "report", "--verify", junk)
	require.Equal(t, ExitInvalidInput, r.code, r.stderr)
	require.Contains(t, r.stderr, "format 0")
	r = pk(t, nil, "", "report", "--verify", filepath.Join(dir, "none.json"))
	require.Equal(t, ExitFailure, r.code, r.stderr)
}
