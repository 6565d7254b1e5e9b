package pipeline

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pseudokit/pseudokit/benchmarks/synth"
	"github.com/pseudokit/pseudokit/internal/cli"
	"github.com/pseudokit/pseudokit/internal/vaulttest"
	"github.com/pseudokit/pseudokit/withdraw"
)

func TestMain(m *testing.M) {
	// Every pipeline here runs on Beam's Prism runner, in this process.
	ptest.MainWithDefault(m, "prism")
}

const rules = `version: 1
columns:
  fnr: {action: code, kind: nid, subject: true}
  email: {action: code, kind: email}
  first_name: {action: fake-name, part: given}
  last_name: {action: fake-name, part: family}
`

// pk runs the single-machine pseudokit CLI in this process.
func pk(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	e := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	code := cli.Main(args, e)
	require.Equal(t, 0, code, "pseudokit %s: %s", strings.Join(args, " "), errb.String())
	return out.String()
}

// part is one file of the generated dataset.
type part struct {
	rel    string
	seed   uint64
	format string
}

var parts = []part{
	{"year=2024/part-0.csv", 1, "csv"},
	{"year=2024/part-1.parquet", 2, "parquet"},
	{"year=2025/part-0.csv", 3, "csv"},
	{"year=2025/part-1.parquet", 4, "parquet"},
}

// generate writes the dataset: four partition files whose persons overlap
// (one pool), and the same rows as one CSV for the single-machine kcheck.
func generate(t *testing.T, dir string) (all string) {
	t.Helper()
	var concat bytes.Buffer
	for i, p := range parts {
		g, err := synth.New(synth.Options{Rows: 1500, Persons: 800, Seed: 1, RowSeed: p.seed})
		require.NoError(t, err)
		var b bytes.Buffer
		if p.format == "csv" {
			require.NoError(t, g.WriteCSV(&b))
		} else {
			require.NoError(t, g.WriteParquet(&b))
		}
		path := filepath.Join(dir, filepath.FromSlash(p.rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
		require.NoError(t, os.WriteFile(path, b.Bytes(), 0o600))
		g, _ = synth.New(synth.Options{Rows: 1500, Persons: 800, Seed: 1, RowSeed: p.seed})
		var c bytes.Buffer
		require.NoError(t, g.WriteCSV(&c))
		data := c.Bytes()
		if i > 0 {
			data = data[bytes.IndexByte(data, '\n')+1:]
		}
		concat.Write(data)
	}
	// A file the pipeline must skip, as Hadoop-style tools do.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "year=2024", "_SUCCESS"), nil, 0o600))
	all = filepath.Join(t.TempDir(), "all.csv")
	require.NoError(t, os.WriteFile(all, concat.Bytes(), 0o600))
	return all
}

func run(t *testing.T, build func(s beam.Scope) error) {
	t.Helper()
	p, s := beam.NewPipelineWithRoot()
	require.NoError(t, build(s))
	require.NoError(t, ptest.Run(p))
}

// rowSet reads a CSV output as a sorted multiset of lines.
func rowSet(t *testing.T, path string) []string {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	sort.Strings(lines)
	return lines
}

// TestPipelinesMatchCLI runs the three pipelines on Prism over a generated
// partitioned dataset and compares each with the single-machine CLI on the
// same data: pseudonymised files and the vault after 'vault import',
// withdrawal outputs and receipt counts, and the k-anonymity report.
func TestPipelinesMatchCLI(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	all := generate(t, data)
	pass := filepath.Join(dir, "pass")
	require.NoError(t, os.WriteFile(pass, []byte("twin vault words\n"), 0o600))
	rulesFile := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rulesFile, []byte(rules), 0o600))
	vaultA, vaultB := filepath.Join(dir, "a.vault"), filepath.Join(dir, "b.vault")
	pk(t, "vault", "init", "--vault", vaultA, "--project", "twin", "--passphrase-file", pass, "--kdf-time", "2", "--kdf-memory", "19")
	b, err := os.ReadFile(vaultA)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(vaultB, b, 0o600))
	unlockA := []string{"--vault", vaultA, "--passphrase-file", pass}
	unlockB := []string{"--vault", vaultB, "--passphrase-file", pass}

	// Single machine: the CLI over each file, vault A.
	outA := filepath.Join(dir, "outA")
	for _, p := range parts {
		out := filepath.Join(outA, filepath.FromSlash(p.rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(out), 0o700))
		pk(t, append(append([]string{"pseudonymize", "--quiet", "--rules", rulesFile}, unlockA...), filepath.Join(data, filepath.FromSlash(p.rel)), out)...)
	}

	// Beam: a grant for the workers' key, the pipeline, then the import.
	worker, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	idFile := filepath.Join(dir, "worker.key")
	require.NoError(t, os.WriteFile(idFile, []byte(worker.String()+"\n"), 0o600))
	grant := filepath.Join(dir, "job.grant")
	pk(t, append([]string{"vault", "job", "--recipient", worker.Recipient().String(), "--purpose", "beam test", "--out", grant}, unlockB...)...)
	outB, linksB := filepath.Join(dir, "outB"), filepath.Join(dir, "linksB")
	run(t, func(s beam.Scope) error {
		return Pseudonymize(s, PseudonymizeOptions{Input: filepath.Join(data, "*", "*"), Output: outB, Links: linksB,
			Rules: rules, Grant: grant, Identity: idFile, Workers: 2})
	})
	for _, p := range parts {
		a, err := os.ReadFile(filepath.Join(outA, filepath.FromSlash(p.rel)))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(outB, filepath.FromSlash(p.rel)))
		require.NoError(t, err, "the pipeline writes every partition file at the same relative path")
		assert.Equal(t, a, b, "%s: the same bytes as the CLI (so the same multiset of rows)", p.rel)
	}
	assert.NoFileExists(t, filepath.Join(outB, "year=2024", "_SUCCESS"))
	var sum RunSummary
	sb, err := os.ReadFile(filepath.Join(outB, "_pseudokit-run.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(sb, &sum))
	assert.Len(t, sum.Files, len(parts))
	assert.Equal(t, int64(1500*len(parts)), sum.Rows)
	assert.Equal(t, "year=2024/part-0.csv", sum.Files[0].Input)

	assert.NotEqual(t, vaulttest.Links(t, vaultA), vaulttest.Links(t, vaultB))
	pk(t, append([]string{"vault", "import", "--purpose", "merge", linksB}, unlockB...)...)
	assert.Equal(t, vaulttest.Links(t, vaultA), vaulttest.Links(t, vaultB), "after the import the vault equals the single-machine one")
	assert.Greater(t, sum.LinkRecords, int64(len(vaulttest.Links(t, vaultB))), "persons recur across partitions")
	pk(t, append([]string{"vault", "verify"}, unlockB...)...)

	// Withdrawal of three persons by code, from the pseudonymised files.
	firstRows := rowSet(t, filepath.Join(outA, "year=2024", "part-0.csv"))
	var codes []string
	for _, l := range firstRows[:3] {
		codes = append(codes, strings.Split(l, ",")[0])
	}
	for _, c := range codes {
		require.Len(t, c, 18, "the fnr column holds codes")
	}
	codesFile := filepath.Join(dir, "codes.txt")
	require.NoError(t, os.WriteFile(codesFile, []byte("# withdrawn\n"+strings.Join(codes, "\n")+"\n"), 0o600))
	wB := filepath.Join(dir, "wB")
	run(t, func(s beam.Scope) error {
		return Withdraw(s, WithdrawOptions{Input: outB /* a directory: every dataset below it */, Output: wB, Codes: codesFile,
			Receipt: filepath.Join(dir, "beam-receipt"), Purpose: "request 2026-1"})
	})
	args := []string{"withdraw", "--quiet", "--purpose", "request 2026-1", "--receipt", filepath.Join(dir, "cli-receipt")}
	for _, c := range codes {
		args = append(args, "--code", c)
	}
	for _, p := range parts {
		args = append(args, filepath.Join(outA, filepath.FromSlash(p.rel)))
	}
	pk(t, append(args, unlockA...)...)
	for _, p := range parts {
		a, err := os.ReadFile(filepath.Join(outA, filepath.FromSlash(p.rel)))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(wB, filepath.FromSlash(p.rel)))
		require.NoError(t, err)
		assert.Equal(t, a, b, "%s after the withdrawal", p.rel)
	}
	var beamRc, cliRc withdraw.Receipt
	rb, err := os.ReadFile(filepath.Join(dir, "beam-receipt.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(rb, &beamRc))
	rb, err = os.ReadFile(filepath.Join(dir, "cli-receipt.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(rb, &cliRc))
	require.Len(t, beamRc.Datasets, len(parts))
	var removed int64
	for i := range parts {
		bd, cd := beamRc.Datasets[i], cliRc.Datasets[i]
		assert.Equal(t, cd.SHA256Before, bd.SHA256Before)
		assert.Equal(t, cd.SHA256After, bd.SHA256After)
		assert.Equal(t, cd.RowsBefore, bd.RowsBefore)
		assert.Equal(t, cd.RowsAfter, bd.RowsAfter)
		removed += bd.RowsBefore - bd.RowsAfter
	}
	var personRows int64
	for _, p := range beamRc.Persons {
		personRows += p.RowsRemoved
	}
	assert.Positive(t, removed)
	assert.Equal(t, removed, personRows)
	txt, err := os.ReadFile(filepath.Join(dir, "beam-receipt.txt"))
	require.NoError(t, err)
	assert.Contains(t, string(txt), "Withdrawal receipt")

	// k-anonymity over all partitions = the CLI over their concatenation.
	report := filepath.Join(dir, "k.json")
	defer func(n int) { chunkCombos = n }(chunkCombos)
	chunkCombos = 7 // many chunks, most files end in a partial one
	run(t, func(s beam.Scope) error {
		return KCheck(s, KCheckOptions{Input: data, QI: []string{"birth_year", "sex", "postcode"},
			Sensitive: []string{"diagnosis"}, K: 5, L: 2, Output: report})
	})
	got, err := os.ReadFile(report)
	require.NoError(t, err)
	want := pk(t, "kcheck", "--json", "--qi", "birth_year,sex,postcode", "--sensitive", "diagnosis", all)
	assert.JSONEq(t, want, string(got))

	// A grant made after the withdrawal carries the withdrawn codes: the
	// workers refuse their rows, or leave them out with SkipWithdrawn.
	grant2 := filepath.Join(dir, "job2.grant")
	pk(t, append([]string{"vault", "job", "--recipient", worker.Recipient().String(), "--purpose", "after withdrawal", "--out", grant2}, unlockA...)...)
	opts := PseudonymizeOptions{Input: filepath.Join(data, "*", "*"), Output: filepath.Join(dir, "outC"), Links: filepath.Join(dir, "linksC"),
		Rules: rules, Grant: grant2, Identity: idFile}
	p, s := beam.NewPipelineWithRoot()
	require.NoError(t, Pseudonymize(s, opts))
	err = ptest.Run(p)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "withdrawn consent")
	opts.SkipWithdrawn = true
	run(t, func(s beam.Scope) error { return Pseudonymize(s, opts) })
	sb, err = os.ReadFile(filepath.Join(dir, "outC", "_pseudokit-run.json"))
	require.NoError(t, err)
	var sumC RunSummary
	require.NoError(t, json.Unmarshal(sb, &sumC))
	assert.Equal(t, removed, sumC.WithdrawnRows, "exactly the withdrawn persons' rows are left out")
}

func TestPipelineRefuses(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	generate(t, data)
	pass := filepath.Join(dir, "pass")
	require.NoError(t, os.WriteFile(pass, []byte("words\n"), 0o600))
	vault := filepath.Join(dir, "v.vault")
	pk(t, "vault", "init", "--vault", vault, "--project", "p", "--passphrase-file", pass, "--kdf-time", "2", "--kdf-memory", "19")
	worker, _ := age.GenerateX25519Identity()
	stranger, _ := age.GenerateX25519Identity()
	idFile := filepath.Join(dir, "stranger.key")
	require.NoError(t, os.WriteFile(idFile, []byte(stranger.String()+"\n"), 0o600))
	grant := filepath.Join(dir, "job.grant")
	pk(t, "vault", "job", "--vault", vault, "--passphrase-file", pass, "--recipient", worker.Recipient().String(), "--purpose", "x", "--out", grant)
	base := PseudonymizeOptions{Input: filepath.Join(data, "*", "*"), Output: filepath.Join(dir, "out"), Links: filepath.Join(dir, "links"),
		Rules: rules, Grant: grant, Identity: idFile}

	// Options that cannot work are refused while the pipeline is built.
	for name, mod := range map[string]func(o *PseudonymizeOptions){
		"no grant":    func(o *PseudonymizeOptions) { o.Grant = "" },
		"no links":    func(o *PseudonymizeOptions) { o.Links = "" },
		"bad rules":   func(o *PseudonymizeOptions) { o.Rules = "version: 1\ncolumns:\n  fnr: {action: shred}\n" },
		"no identity": func(o *PseudonymizeOptions) { o.Identity = "" },
	} {
		o := base
		mod(&o)
		_, s := beam.NewPipelineWithRoot()
		assert.Error(t, Pseudonymize(s, o), name)
	}
	// A worker key the grant is not encrypted to: the workers fail at
	// setup and nothing is written.
	p, s := beam.NewPipelineWithRoot()
	require.NoError(t, Pseudonymize(s, base))
	err := ptest.Run(p)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "grant")
	assert.NoDirExists(t, filepath.Join(dir, "out"))

	for name, o := range map[string]WithdrawOptions{
		"no purpose": {Input: base.Input, Output: filepath.Join(dir, "w"), Codes: "c", Receipt: "r"},
		"no codes":   {Input: base.Input, Output: filepath.Join(dir, "w"), Receipt: "r", Purpose: "p"},
	} {
		_, s := beam.NewPipelineWithRoot()
		assert.Error(t, Withdraw(s, o), name)
	}
	// A codes file with something that is not a code fails the pipeline.
	bad := filepath.Join(dir, "codes.txt")
	require.NoError(t, os.WriteFile(bad, []byte("12345678901\n"), 0o600))
	p, s = beam.NewPipelineWithRoot()
	require.NoError(t, Withdraw(s, WithdrawOptions{Input: base.Input, Output: filepath.Join(dir, "w"), Codes: bad, Receipt: filepath.Join(dir, "r"), Purpose: "p"}))
	err = ptest.Run(p)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "12345678901")
	for name, o := range map[string]KCheckOptions{
		"no qi": {Input: base.Input, Output: "k.json", K: 5, L: 2},
		"k 0":   {Input: base.Input, QI: []string{"sex"}, Output: "k.json", K: 0, L: 2},
	} {
		_, s := beam.NewPipelineWithRoot()
		assert.Error(t, KCheck(s, o), name)
	}
}

func TestPaths(t *testing.T) {
	for _, tt := range []struct{ glob, root string }{
		{"/data/*/*.csv", "/data"},
		{"/data/year=2024/part-0.csv", "/data/year=2024"},
		{"gs://bucket/study/**.parquet", "gs://bucket/study/"},
		{"data/x?/*", "data"},
	} {
		assert.Equal(t, tt.root, GlobRoot(tt.glob), tt.glob)
	}
	rel, err := relPath("/data", "/data/year=2024/a.csv")
	require.NoError(t, err)
	assert.Equal(t, "year=2024/a.csv", rel)
	_, err = relPath("/data", "/elsewhere/a.csv")
	assert.Error(t, err)
	_, err = relPath("/data", "/data/../etc/passwd")
	assert.Error(t, err)
	rel, err = relPath("gs://b/study/", "gs://b/study/y=1/a.parquet")
	require.NoError(t, err)
	assert.Equal(t, "y=1/a.parquet", rel)
	_, err = relPath("gs://b/study", "gs://b/other/a.parquet")
	assert.Error(t, err)
	assert.Equal(t, "gs://b/out/y=1/a.parquet", join("gs://b/out/", "y=1/a.parquet"))
}
