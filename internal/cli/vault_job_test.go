package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/job"
)

// runWorker does what a pipeline worker does with a grant file: open it
// with the worker key and pseudonymise in into out, writing a link file.
func runWorker(t *testing.T, grantFile string, worker age.Identity, in, out, links string) error {
	t.Helper()
	f, err := os.Open(grantFile)
	require.NoError(t, err)
	defer f.Close()
	g, err := job.ReadGrant(f, worker)
	require.NoError(t, err)
	lf, err := os.Create(links)
	require.NoError(t, err)
	defer lf.Close()
	lw, err := job.NewLinkWriter(lf, g)
	require.NoError(t, err)
	rules := &pseudo.Rules{Columns: []pseudo.ColumnRule{{Column: "fnr", Action: pseudo.ActionCode, Kind: pseudo.KindNID, Subject: true}}}
	_, err = (&pseudo.FileJob{Grant: g, Linker: lw, Rules: rules, In: in, Out: out, SkipWithdrawn: true}).Run(context.Background())
	require.NoError(t, lw.Close())
	return err
}

func TestVaultJobAndImport(t *testing.T) {
	dir, env := setup(t)
	worker, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	rec := worker.Recipient().String()
	grant := filepath.Join(dir, "job.grant")

	for _, args := range [][]string{
		{"--recipient", rec, "--out", grant},                              // no purpose
		{"--purpose", "p", "--out", grant},                                // no recipient
		{"--recipient", rec, "--purpose", "p"},                            // no out
		{"--recipient", "age1nonsense", "--purpose", "p", "--out", grant}, // bad recipient
		{"--recipient", rec, "--purpose", "p", "--out", grant, "extra"},
	} {
		r := pk(t, env, "", append([]string{"vault", "job"}, args...)...)
		assert.Equal(t, ExitUsage, r.code, "%v: %s", args, r.stderr)
		assert.NoFileExists(t, grant)
	}
	r := pk(t, env, "", "vault", "job", "--recipient", rec, "--purpose", "registry run 1", "--out", grant, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var info map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &info))
	jobID := info["job"].(string)
	assert.Contains(t, r.stderr, "job "+jobID+" granted in domain default")
	st, err := os.Stat(grant)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	r = pk(t, env, "", "vault", "job", "--recipient", rec, "--purpose", "again", "--out", grant)
	assert.Equal(t, ExitUsage, r.code, "never overwrites a grant")
	es := logEntries(t, env, "--action", "job")
	require.Len(t, es, 1)

	ids := synthIDs(t, 3)
	in := filepath.Join(dir, "part.csv")
	require.NoError(t, os.WriteFile(in, []byte("fnr;x\n"+strings.Join(ids, ";1\n")+";1\n"), 0o600))
	linkDir := filepath.Join(dir, "links")
	require.NoError(t, os.MkdirAll(filepath.Join(linkDir, "year=2026"), 0o700))
	require.NoError(t, runWorker(t, grant, worker, in, filepath.Join(dir, "out.csv"), filepath.Join(linkDir, "year=2026", "part.links")))

	r = pk(t, env, "", "vault", "import", "--purpose", "merge run 1", "--json", linkDir)
	require.Equal(t, 0, r.code, r.stderr)
	var res job.ImportResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	assert.Equal(t, jobID, res.Job)
	assert.Equal(t, 3, res.NewLinks)
	assert.Contains(t, r.stderr, "3 new links")
	for _, id := range ids {
		assert.NotContains(t, r.stdout+r.stderr, id)
	}
	r = pk(t, env, "", "vault", "import", linkDir)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "0 new links, 3 already in the vault")

	// A damaged link file: exit 4, nothing imported.
	bad := filepath.Join(dir, "bad.links")
	data, _ := os.ReadFile(filepath.Join(linkDir, "year=2026", "part.links"))
	data[len(data)-3] ^= 1
	require.NoError(t, os.WriteFile(bad, data, 0o600))
	r = pk(t, env, "", "vault", "import", bad)
	assert.Equal(t, ExitInvalidInput, r.code, r.stderr)
	r = pk(t, env, "", "vault", "import", filepath.Join(dir, "nothing-here"))
	assert.NotEqual(t, 0, r.code)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "empty"), 0o700))
	r = pk(t, env, "", "vault", "import", filepath.Join(dir, "empty"))
	assert.Equal(t, ExitUsage, r.code)

	// A person who withdraws after a second grant: the import is refused
	// (exit 6) and their code is written for the pipeline's withdraw.
	grant2 := filepath.Join(dir, "job2.grant")
	r = pk(t, env, "", "vault", "job", "--recipient", rec, "--purpose", "registry run 2", "--out", grant2)
	require.Equal(t, 0, r.code, r.stderr)
	links2 := filepath.Join(dir, "run2.links")
	require.NoError(t, runWorker(t, grant2, worker, in, filepath.Join(dir, "out2.csv"), links2))
	v, err := keyvault.Open(env["PSEUDOKIT_VAULT"], []byte(env["PSEUDOKIT_PASSPHRASE"]), "tester")
	require.NoError(t, err)
	refs, err := v.Withdraw(t.Context(), []keyvault.Person{{Kind: "nid", Canonical: ids[1]}}, keyvault.Entry{Purpose: "request"})
	require.NoError(t, err)
	require.NoError(t, v.Close())
	codes := filepath.Join(dir, "withdrawn.txt")
	r = pk(t, env, "", "vault", "import", "--withdrawn-out", codes, links2)
	assert.Equal(t, ExitRefused, r.code, r.stderr)
	assert.Contains(t, r.stderr, "1 person(s) in the link files have withdrawn consent")
	got, err := os.ReadFile(codes)
	require.NoError(t, err)
	assert.Equal(t, refs[0].Code+"\n", string(got))

	// The vault side of a withdrawal whose datasets are elsewhere: no
	// DATASET, the persons' codes written for the pipeline.
	r = pk(t, env, "", "withdraw", "--code", refs[0].Code, "--purpose", "request 2")
	assert.Equal(t, ExitUsage, r.code, "no DATASET without --vault-only")
	r = pk(t, env, "", "withdraw", "--vault-only", "--code", refs[0].Code, "--purpose", "request 2", in)
	assert.Equal(t, ExitUsage, r.code)
	c0 := strings.Split(strings.Split(readFile(t, filepath.Join(dir, "out.csv")), "\n")[1], ";")[0]
	codesOut := filepath.Join(dir, "codes-out.txt")
	r = pk(t, env, "", "withdraw", "--vault-only", "--quiet", "--code", c0, "--purpose", "request 3",
		"--codes-out", codesOut, "--receipt", filepath.Join(dir, "receipt"))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, c0+"\n", readFile(t, codesOut))
	assert.FileExists(t, filepath.Join(dir, "receipt.json"))
	r = pk(t, env, "", "vault", "job", "--recipient", rec, "--purpose", "run 3", "--out", filepath.Join(dir, "job3.grant"), "--json")
	require.Equal(t, 0, r.code, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &info))
	assert.Equal(t, float64(2), info["withdrawn_codes"], "the grant carries both withdrawn persons")
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}
