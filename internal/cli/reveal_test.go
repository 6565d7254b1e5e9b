package cli

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pseudokit/pseudokit/keyvault"
)

func rawVaultDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=rw&_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// study pseudonymises a raw dataset of n persons and returns the raw file,
// the pseudonymised file, the identity numbers and their codes.
func study(t *testing.T, dir string, env map[string]string, n int) (raw, pseudo string, ids, codes []string) {
	t.Helper()
	ids = synthIDs(t, n)
	var b strings.Builder
	b.WriteString("fnr;visit;score\n")
	for i, id := range ids {
		b.WriteString(id + ";v1;" + string(rune('A'+i)) + "\n")
		b.WriteString(id + ";v2;" + string(rune('a'+i)) + "\n")
	}
	raw = filepath.Join(dir, "raw.csv")
	require.NoError(t, os.WriteFile(raw, []byte(b.String()), 0o600))
	pseudo = filepath.Join(dir, "pseudo.csv")
	r := pk(t, env, "", "pseudonymize", "--id", "fnr", "--keep", "visit,score", raw, pseudo, "--quiet")
	require.Equal(t, 0, r.code, r.stderr)
	out, err := os.ReadFile(pseudo)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := range ids {
		codes = append(codes, strings.Split(lines[1+2*i], ";")[0])
	}
	return raw, pseudo, ids, codes
}

func TestRevealCLI(t *testing.T) {
	dir, env := setup(t)
	_, _, ids, codes := study(t, dir, env, 3)

	r := pk(t, env, "", "reveal", codes[0])
	require.Equal(t, ExitUsage, r.code, "a purpose is required")
	assert.Contains(t, r.stderr, "--purpose")
	r = pk(t, env, "", "reveal", "--purpose", "x", ids[0])
	require.Equal(t, ExitUsage, r.code, "an identity number is not a code")
	assert.NotContains(t, r.stderr, ids[0])

	r = pk(t, env, "", "reveal", "--purpose", "adverse event AE-1", "--actor", "physician", strings.ToLower(codes[1]), codes[0])
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, codes[1]+"\tdefault\tnid\t"+ids[1]+"\n"+codes[0]+"\tdefault\tnid\t"+ids[0]+"\n", r.stdout)
	r = pk(t, env, "", "reveal", "--purpose", "x", "--json", codes[2])
	require.Equal(t, 0, r.code, r.stderr)
	var obj map[string]string
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &obj))
	assert.Equal(t, ids[2], obj["identifier"])

	// An unknown (but well-formed) code: exit 4.
	unknown := withCheck(t, codes[0][:1]+"0000000000000000")
	r = pk(t, env, "", "reveal", "--purpose", "x", codes[0], unknown)
	require.Equal(t, ExitInvalidInput, r.code, r.stderr)
	assert.Contains(t, r.stderr, unknown+": not in the vault")

	// A withdrawn person's identifier is erased: exit 6.
	v, err := keyvault.Open(env["PSEUDOKIT_VAULT"], []byte(env["PSEUDOKIT_PASSPHRASE"]), "test")
	require.NoError(t, err)
	_, err = v.Withdraw(t.Context(), []keyvault.Person{{Kind: "nid", Canonical: ids[2]}}, keyvault.Entry{Purpose: "request 9"})
	require.NoError(t, err)
	v.Close()
	r = pk(t, env, "", "reveal", "--purpose", "x", codes[2])
	require.Equal(t, ExitRefused, r.code, r.stderr)
	assert.Contains(t, r.stdout, "(withdrawn: identifier erased)")
	assert.NotContains(t, r.stdout, ids[2])

	// The log names the codes and the purpose, never an identifier.
	es := logEntries(t, env, "--action", "reveal")
	require.Len(t, es, 4)
	assert.Equal(t, "adverse event AE-1", es[0]["purpose"])
	assert.Equal(t, "physician", es[0]["actor"])
	assert.Equal(t, []any{codes[1], codes[0]}, es[0]["details"].(map[string]any)["codes"])
	r = pk(t, env, "", "vault", "log", "--json")
	for _, id := range ids {
		assert.NotContains(t, r.stdout, id)
	}
}

// withCheck completes a 17-character code body with its check character.
func withCheck(t *testing.T, body string) string {
	t.Helper()
	for _, c := range "0123456789ABCDEFGHJKMNPQRSTVWXYZ" {
		if _, err := parseCodes([]string{body + string(c)}); err == nil {
			return body + string(c)
		}
	}
	t.Fatal("no check character")
	return ""
}

func TestLookupCLI(t *testing.T) {
	dir, env := setup(t)
	_, _, ids, codes := study(t, dir, env, 2)
	r := pk(t, env, "", "lookup", ids[0])
	require.Equal(t, ExitUsage, r.code)
	r = pk(t, env, "", "lookup", "--purpose", "SAR 2025-3", ids[1], ids[0])
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "1\tdefault\t"+codes[1]+"\tactive\n2\tdefault\t"+codes[0]+"\tactive\n", r.stdout)
	assert.NotContains(t, r.stdout, ids[0], "output refers to inputs by position")

	// From standard input; a person not in the vault; an invalid number.
	others := synthIDs(t, 5)
	r = pk(t, env, ids[0]+"\n"+others[4]+"\n", "lookup", "--purpose", "SAR", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], codes[0])
	assert.Contains(t, lines[1], `"links":[]`)
	r = pk(t, env, "", "lookup", "--purpose", "SAR", "12345678901")
	require.Equal(t, ExitInvalidInput, r.code, r.stderr)
	assert.NotContains(t, r.stderr, "12345678901")
	r = pk(t, env, "", "lookup", "--purpose", "SAR", "--kind", "email", "Kari@Example.org")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "no link in the vault")

	es := logEntries(t, env, "--action", "lookup")
	require.Len(t, es, 3)
	d := es[0]["details"].(map[string]any)
	assert.Equal(t, []any{codes[1], codes[0]}, d["codes"])
	assert.EqualValues(t, 2, d["found"])
	for _, e := range es {
		b, _ := json.Marshal(e)
		for _, id := range ids {
			assert.NotContains(t, string(b), id)
		}
	}
}

func TestExportSubjectCLI(t *testing.T) {
	dir, env := setup(t)
	raw, pseudoCSV, ids, codes := study(t, dir, env, 3)
	pq := filepath.Join(dir, "pseudo.parquet")
	r := pk(t, env, "", "pseudonymize", "--id", "fnr", "--keep", "visit,score", raw, pq, "--quiet")
	require.Equal(t, 0, r.code, r.stderr)

	out := filepath.Join(dir, "subject.json")
	r = pk(t, env, "", "export-subject", ids[1], "--out", out, raw, pseudoCSV, pq)
	require.Equal(t, ExitUsage, r.code, "purpose required")
	r = pk(t, env, "", "export-subject", ids[1], "--purpose", "portability 7", "--out", out, raw, pseudoCSV, pq)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "exported 6 rows of the person from 3 datasets")
	var doc struct {
		Codes    []string `json:"codes"`
		Datasets []struct {
			File    string   `json:"file"`
			Columns []string `json:"columns"`
			Rows    [][]any  `json:"rows"`
			RowNums []int64  `json:"row_numbers"`
		} `json:"datasets"`
	}
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &doc))
	assert.Equal(t, []string{codes[1]}, doc.Codes)
	require.Len(t, doc.Datasets, 3)
	assert.Equal(t, [][]any{{ids[1], "v1", "B"}, {ids[1], "v2", "b"}}, doc.Datasets[0].Rows)
	assert.Equal(t, []int64{3, 4}, doc.Datasets[0].RowNums)
	assert.Equal(t, [][]any{{codes[1], "v1", "B"}, {codes[1], "v2", "b"}}, doc.Datasets[1].Rows)
	assert.Len(t, doc.Datasets[2].Rows, 2)
	st, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	outCSV := filepath.Join(dir, "subject.csv")
	r = pk(t, env, ids[0]+"\n", "export-subject", "-", "--purpose", "access 8", "--out", outCSV, pseudoCSV)
	require.Equal(t, 0, r.code, r.stderr)
	b, err = os.ReadFile(outCSV)
	require.NoError(t, err)
	assert.Equal(t, "source_file,source_row,fnr,visit,score\n"+pseudoCSV+",1,"+codes[0]+",v1,A\n"+pseudoCSV+",2,"+codes[0]+",v2,a\n", string(b))

	es := logEntries(t, env, "--action", "export-subject")
	require.Len(t, es, 2)
	d := es[0]["details"].(map[string]any)
	assert.Equal(t, []any{codes[1]}, d["codes"])
	assert.EqualValues(t, 6, d["rows_exported"])
	js, _ := json.Marshal(es)
	for _, id := range ids {
		assert.NotContains(t, string(js), id)
	}
}

func TestRecodeCLI(t *testing.T) {
	dir, env := setup(t)
	raw, pseudoCSV, _, codes := study(t, dir, env, 3)
	for _, args := range [][]string{{"vault", "domain", "add", "partner"}, {"vault", "domain", "add", "survey", "--random"}} {
		r := pk(t, env, "", args...)
		require.Equal(t, 0, r.code, r.stderr)
	}
	// Keyed target: the same codes as pseudonymising the raw data there.
	direct := filepath.Join(dir, "direct.csv")
	r := pk(t, env, "", "pseudonymize", "--id", "fnr", "--keep", "visit,score", "--domain", "partner", raw, direct, "--quiet")
	require.Equal(t, 0, r.code, r.stderr)
	recoded := filepath.Join(dir, "recoded.csv")
	r = pk(t, env, "", "recode", "--from", "default", "--to", "partner", pseudoCSV, recoded, "--purpose", "DSA 4")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "(columns fnr)")
	a, _ := os.ReadFile(direct)
	b, _ := os.ReadFile(recoded)
	assert.Equal(t, string(a), string(b))
	for _, c := range codes {
		assert.NotContains(t, string(b), c)
	}

	// Random target, to Parquet: stable on a second run.
	r1, r2 := filepath.Join(dir, "s1.csv"), filepath.Join(dir, "s2.csv")
	for _, o := range []string{r1, r2} {
		r = pk(t, env, "", "recode", "--from", "default", "--to", "survey", "--column", "fnr", pseudoCSV, o, "--quiet")
		require.Equal(t, 0, r.code, r.stderr)
	}
	a, _ = os.ReadFile(r1)
	b, _ = os.ReadFile(r2)
	assert.Equal(t, string(a), string(b))
	assert.True(t, strings.Contains(string(a), "\nR"), string(a))
	r = pk(t, env, "", "recode", "--from", "default", "--to", "survey", pseudoCSV, filepath.Join(dir, "s.parquet"), "--quiet")
	require.Equal(t, 0, r.code, r.stderr)

	// Codes not in the source domain: exit 4, nothing written.
	bad := filepath.Join(dir, "bad.csv")
	r = pk(t, env, "", "recode", "--from", "partner", "--to", "survey", pseudoCSV, bad)
	require.Equal(t, ExitInvalidInput, r.code, r.stderr)
	assert.NoFileExists(t, bad)
	r = pk(t, env, "", "recode", "--from", "default", "--to", "survey", raw, bad)
	require.Equal(t, ExitUsage, r.code, "no code column in a raw dataset")
	r = pk(t, env, "", "recode", "--from", "default", "--to", "nope", pseudoCSV, bad)
	require.Equal(t, ExitUsage, r.code, r.stderr)

	es := logEntries(t, env, "--action", "recode")
	require.Len(t, es, 4)
	d := es[0]["details"].(map[string]any)
	assert.Equal(t, "partner", d["to"])
	assert.EqualValues(t, 3, d["links_existing"], "the direct run into partner linked them already")
}
