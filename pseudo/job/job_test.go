package job

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pseudokit/pseudokit/benchmarks/synth"
	"github.com/pseudokit/pseudokit/internal/vaulttest"
	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
)

func TestMain(m *testing.M) {
	// Test hook: a cheap KDF so vaults open in milliseconds.
	keyvault.DefaultKDF = keyvault.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}
	os.Exit(m.Run())
}

var pass = []byte("test passphrase")

var rules = &pseudo.Rules{Columns: []pseudo.ColumnRule{
	{Column: "fnr", Action: pseudo.ActionCode, Kind: pseudo.KindNID, Subject: true},
	{Column: "email", Action: pseudo.ActionCode, Kind: pseudo.KindEmail},
	{Column: "first_name", Action: pseudo.ActionFakeName, Part: pseudo.PartGiven},
	{Column: "last_name", Action: pseudo.ActionFakeName, Part: pseudo.PartFamily},
}}

// twinVaults makes a vault and an exact copy of it (same secrets), closed.
func twinVaults(t *testing.T) (a, b string) {
	t.Helper()
	dir := t.TempDir()
	a, b = filepath.Join(dir, "a.vault"), filepath.Join(dir, "b.vault")
	v, err := keyvault.Create(a, keyvault.CreateOptions{Project: "twin", Passphrase: pass, Actor: "tester"})
	require.NoError(t, err)
	require.NoError(t, v.Close())
	data, err := os.ReadFile(a)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(b, data, 0o600))
	return a, b
}

func open(t *testing.T, path string) *keyvault.Vault {
	t.Helper()
	v, err := keyvault.Open(path, pass, "tester")
	require.NoError(t, err)
	t.Cleanup(func() { v.Close() })
	return v
}

// dataset writes n synthetic CSV files of rows rows each, drawn from one
// pool of persons, so persons recur across files.
func dataset(t *testing.T, n int, rows int64) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i := range n {
		g, err := synth.New(synth.Options{Rows: rows, Persons: 300, Seed: 1, RowSeed: uint64(i + 1)})
		require.NoError(t, err)
		var b bytes.Buffer
		require.NoError(t, g.WriteCSV(&b))
		p := filepath.Join(dir, "part-"+string(rune('a'+i))+".csv")
		require.NoError(t, os.WriteFile(p, b.Bytes(), 0o600))
		paths = append(paths, p)
	}
	return paths
}

// grantFor grants a job in v and round-trips it through a grant file
// encrypted to a fresh worker key, as a pipeline's workers receive it.
func grantFor(t *testing.T, v *keyvault.Vault) *keyvault.Grant {
	t.Helper()
	g, err := v.GrantJob(t.Context(), keyvault.DefaultDomain, keyvault.Entry{Purpose: "test job"})
	require.NoError(t, err)
	worker, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	var file bytes.Buffer
	require.NoError(t, WriteGrant(&file, g, worker.Recipient()))
	assert.False(t, bytes.Contains(file.Bytes(), g.DomainSecret), "the grant file is encrypted")
	got, err := ReadGrant(bytes.NewReader(file.Bytes()), worker)
	require.NoError(t, err)
	require.Equal(t, g, got)
	return got
}

// work pseudonymises each input as a worker would, writing outputs and
// one link file per input into dir.
func work(t *testing.T, g *keyvault.Grant, inputs []string, dir string, skip bool) (outs, linkFiles []string, err error) {
	t.Helper()
	for _, in := range inputs {
		base := strings.TrimSuffix(filepath.Base(in), ".csv")
		lf, err := os.Create(filepath.Join(dir, base+".links"))
		require.NoError(t, err)
		lw, err := NewLinkWriter(lf, g)
		require.NoError(t, err)
		out := filepath.Join(dir, base+".out.csv")
		_, err = (&pseudo.FileJob{Grant: g, Linker: lw, Rules: rules, In: in, Out: out, SkipWithdrawn: skip, Workers: 2}).Run(context.Background())
		require.NoError(t, lw.Close())
		require.NoError(t, lf.Close())
		if err != nil {
			return nil, nil, err
		}
		outs = append(outs, out)
		linkFiles = append(linkFiles, lf.Name())
	}
	return outs, linkFiles, nil
}

// TestJobEqualsVaultRun is the promise of the package: workers with a
// grant plus an import give the same outputs, byte for byte, and the same
// vault as pseudonymising with the vault directly.
func TestJobEqualsVaultRun(t *testing.T) {
	inputs := dataset(t, 3, 400)
	pa, pb := twinVaults(t)

	va := open(t, pa)
	dirA := t.TempDir()
	var want []string
	for _, in := range inputs {
		out := filepath.Join(dirA, filepath.Base(in))
		_, err := (&pseudo.FileJob{Vault: va, Rules: rules, In: in, Out: out}).Run(t.Context())
		require.NoError(t, err)
		want = append(want, out)
	}

	vb := open(t, pb)
	g := grantFor(t, vb)
	dirB := t.TempDir()
	outs, linkFiles, err := work(t, g, inputs, dirB, false)
	require.NoError(t, err)
	for i := range outs {
		a, _ := os.ReadFile(want[i])
		b, _ := os.ReadFile(outs[i])
		require.Equal(t, a, b, "output %d", i)
	}
	for i, lf := range linkFiles {
		data, _ := os.ReadFile(lf)
		assert.False(t, bytes.Contains(data, []byte(firstFNR(t, inputs[i]))), "identifiers are sealed")
	}
	require.NotEqual(t, vaulttest.Links(t, pa), vaulttest.Links(t, pb), "nothing linked before the import")

	res, err := Import(t.Context(), vb, linkFiles, ImportOptions{Actor: "tester", Purpose: "merge"})
	require.NoError(t, err)
	assert.Equal(t, g.Job, res.Job)
	assert.Len(t, res.Files, 3)
	assert.Positive(t, res.NewLinks)
	assert.Zero(t, res.ExistingLinks)
	assert.Equal(t, vaulttest.Links(t, pa), vaulttest.Links(t, pb))

	es, err := vb.Entries()
	require.NoError(t, err)
	last := es[len(es)-1]
	assert.Equal(t, "import", last.Action)
	assert.Equal(t, res.LogSeq, last.Seq)
	assert.Equal(t, g.Job, last.Details["job"])

	// Idempotent: the same files again add nothing.
	res2, err := Import(t.Context(), vb, linkFiles, ImportOptions{})
	require.NoError(t, err)
	assert.Zero(t, res2.NewLinks)
	assert.Equal(t, res.NewLinks, res2.ExistingLinks)
	assert.Equal(t, vaulttest.Links(t, pa), vaulttest.Links(t, pb))
	rep, err := vb.Verify(t.Context(), keyvault.VerifyOptions{})
	require.NoError(t, err)
	assert.Equal(t, res.NewLinks, rep.Links[keyvault.LinkActive])
}

func TestJobWithdrawn(t *testing.T) {
	inputs := dataset(t, 1, 200)
	_, pb := twinVaults(t)
	v := open(t, pb)
	// Pseudonymise once so the persons have codes, then withdraw the
	// person of the first data row.
	first := firstFNR(t, inputs[0])
	_, err := (&pseudo.FileJob{Vault: v, Rules: rules, In: inputs[0], Out: filepath.Join(t.TempDir(), "o.csv")}).Run(t.Context())
	require.NoError(t, err)
	_, err = v.Withdraw(t.Context(), []keyvault.Person{{Kind: "nid", Canonical: first}}, keyvault.Entry{Purpose: "request 1"})
	require.NoError(t, err)

	g := grantFor(t, v)
	require.Len(t, g.Withdrawn, 1)
	_, _, err = work(t, g, inputs, t.TempDir(), false)
	require.ErrorIs(t, err, pseudo.ErrWithdrawn, "rows of a withdrawn person fail the run")
	assert.NotContains(t, err.Error(), first)
	outs, lfs, err := work(t, g, inputs, t.TempDir(), true)
	require.NoError(t, err, "or are left out")
	data, _ := os.ReadFile(outs[0])
	assert.NotContains(t, string(data), g.Withdrawn[0])
	_, err = Import(t.Context(), v, lfs, ImportOptions{})
	require.NoError(t, err)

	// A person who withdraws after the grant: the import refuses, naming
	// the code, and leaves the vault as it was.
	second := secondFNR(t, inputs[0], first)
	g2 := grantFor(t, v)
	_, lfs2, err := work(t, g2, inputs, t.TempDir(), true)
	require.NoError(t, err)
	_, err = v.Withdraw(t.Context(), []keyvault.Person{{Kind: "nid", Canonical: second}}, keyvault.Entry{Purpose: "request 2"})
	require.NoError(t, err)
	before := vaulttest.Links(t, pb)
	_, err = Import(t.Context(), v, lfs2, ImportOptions{})
	var we *WithdrawnError
	require.ErrorAs(t, err, &we)
	require.ErrorIs(t, err, pseudo.ErrWithdrawn)
	c, _ := pseudo.NewCoder(g2.DomainSecret)
	assert.Equal(t, []string{c.Code(pseudo.KindNID, second)}, we.Codes)
	assert.Equal(t, before, vaulttest.Links(t, pb))
}

func firstFNR(t *testing.T, path string) string {
	return fnrs(t, path)[0]
}

func secondFNR(t *testing.T, path, not string) string {
	for _, f := range fnrs(t, path) {
		if f != not {
			return f
		}
	}
	t.Fatal("one person only")
	return ""
}

func fnrs(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	col := -1
	for i, h := range strings.Split(lines[0], ",") {
		if h == "fnr" {
			col = i
		}
	}
	require.GreaterOrEqual(t, col, 0)
	var out []string
	for _, l := range lines[1:] {
		out = append(out, strings.Split(l, ",")[col])
	}
	return out
}

func TestImportRefuses(t *testing.T) {
	inputs := dataset(t, 1, 50)
	_, pb := twinVaults(t)
	v := open(t, pb)
	g := grantFor(t, v)
	dir := t.TempDir()
	_, lfs, err := work(t, g, inputs, dir, false)
	require.NoError(t, err)
	good, err := os.ReadFile(lfs[0])
	require.NoError(t, err)
	before := vaulttest.Links(t, pb)

	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}
	// sealed writes a link file for grant gg with the given records.
	sealed := func(gg *keyvault.Grant, recs ...[3]string) []byte {
		var b bytes.Buffer
		lw, err := NewLinkWriter(&b, gg)
		require.NoError(t, err)
		for _, r := range recs {
			require.NoError(t, lw.Link(r[0], r[1], r[2]))
		}
		require.NoError(t, lw.Close())
		return b.Bytes()
	}
	c, _ := pseudo.NewCoder(g.DomainSecret)
	id := "12345678901"
	other := *g
	other.DomainSecret = bytes.Repeat([]byte{1}, 32)
	oc, _ := pseudo.NewCoder(other.DomainSecret)
	fake := *g
	fake.Job = "J" + strings.Repeat("0", 26)
	fakeID, err := v.JobIdentity(fake.Job)
	require.NoError(t, err)
	fake.LinkRecipient = fakeID.Recipient().String()
	foreign := *g
	foreign.VaultID = strings.Repeat("ab", 16)
	g2 := grantFor(t, v)

	flipped := bytes.Clone(good)
	flipped[len(flipped)-20] ^= 1
	for _, tt := range []struct {
		name  string
		files []string
		want  error
		msg   string
	}{
		{"flipped byte", []string{write("flipped", flipped)}, ErrBadLinkFile, ""},
		{"truncated", []string{write("trunc", good[:len(good)-30])}, ErrBadLinkFile, ""},
		{"no header", []string{write("nohdr", good[bytes.IndexByte(good, '\n')+1:])}, ErrBadLinkFile, ""},
		{"empty", []string{write("empty", nil)}, ErrBadLinkFile, ""},
		{"code from another key", []string{write("otherkey", sealed(&other, [3]string{"nid", id, oc.Code(pseudo.KindNID, id)}))}, ErrBadLinkFile, "not the one the domain key gives"},
		{"code for another identifier", []string{write("swapped", sealed(g, [3]string{"nid", id, c.Code(pseudo.KindNID, "12345678902")}))}, ErrBadLinkFile, ""},
		{"unknown kind", []string{write("kind", sealed(g, [3]string{"shoe-size", id, "K1"}))}, ErrBadLinkFile, "kind"},
		{"job never granted", []string{write("fake", sealed(&fake, [3]string{"nid", id, c.Code(pseudo.KindNID, id)}))}, ErrNotGranted, ""},
		{"another vault", []string{write("foreign", sealed(&foreign))}, nil, "another vault"},
		{"two jobs", []string{lfs[0], write("g2", sealed(g2))}, nil, "one job at a time"},
		{"one good, one bad", []string{lfs[0], write("flipped2", flipped)}, ErrBadLinkFile, ""},
		{"a repeat that changes the identifier", []string{
			write("first", sealed(g, [3]string{"nid", id, c.Code(pseudo.KindNID, id)})),
			write("forged", sealed(g, [3]string{"nid", "12345678902", c.Code(pseudo.KindNID, id)})),
		}, ErrBadLinkFile, "forged: record 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Import(t.Context(), v, tt.files, ImportOptions{})
			require.Error(t, err)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
			}
			assert.Contains(t, err.Error(), tt.msg)
			assert.NotContains(t, err.Error(), id)
			assert.Equal(t, before, vaulttest.Links(t, pb), "the vault is unchanged")
		})
	}
	_, err = Import(t.Context(), v, nil, ImportOptions{})
	require.Error(t, err)
}

func TestGrantFile(t *testing.T) {
	_, pb := twinVaults(t)
	v := open(t, pb)
	g, err := v.GrantJob(t.Context(), keyvault.DefaultDomain, keyvault.Entry{Purpose: "x"})
	require.NoError(t, err)
	w1, _ := age.GenerateX25519Identity()
	w2, _ := age.GenerateX25519Identity()
	var file bytes.Buffer
	require.Error(t, WriteGrant(&file, g), "no recipient")
	require.NoError(t, WriteGrant(&file, g, w1.Recipient()))
	_, err = ReadGrant(bytes.NewReader(file.Bytes()), w2)
	var nomatch *age.NoIdentityMatchError
	require.ErrorAs(t, err, &nomatch)
	b := file.Bytes()
	b[len(b)-5] ^= 1
	_, err = ReadGrant(bytes.NewReader(b), w1)
	require.ErrorIs(t, err, ErrBadGrant)
	_, err = ReadGrant(strings.NewReader("not age"), w1)
	require.ErrorIs(t, err, ErrBadGrant)

	// A well-encrypted file that is not a grant.
	for _, plain := range []string{`{}`, `{"pseudokit_job":2}`, `[`, `{"pseudokit_job":1,"job":"J","domain":"d","domain_secret":"AAAA"}`} {
		var f bytes.Buffer
		ew, _ := age.Encrypt(&f, w1.Recipient())
		ew.Write([]byte(plain))
		ew.Close()
		_, err := ReadGrant(&f, w1)
		assert.ErrorIs(t, err, ErrBadGrant, plain)
	}
}

func TestLinkWriter(t *testing.T) {
	_, pb := twinVaults(t)
	v := open(t, pb)
	g := grantFor(t, v)
	g.Withdrawn = []string{"KWITHDRAWN"}
	var b bytes.Buffer
	lw, err := NewLinkWriter(&b, g)
	require.NoError(t, err)
	require.NoError(t, lw.Link("nid", "12345678901", "KA"))
	require.NoError(t, lw.Link("nid", "12345678901", "KA"), "repeats are written once")
	require.NoError(t, lw.Link("email", "a@b.no", "KB"))
	err = lw.Link("nid", "10987654321", "KWITHDRAWN")
	require.ErrorIs(t, err, pseudo.ErrWithdrawn)
	assert.NotContains(t, err.Error(), "10987654321")
	_, err = lw.Assign("nid", "1", "R1")
	require.ErrorIs(t, err, keyvault.ErrWrongScheme)
	assert.Equal(t, int64(2), lw.Records())
	require.NoError(t, lw.Close())
	require.Error(t, lw.Link("nid", "1", "KC"))

	br := bufio.NewReader(bytes.NewReader(b.Bytes()))
	h, err := ReadLinkHeader(br)
	require.NoError(t, err)
	assert.Equal(t, LinkHeader{g.VaultID, g.Job, g.Domain}, h)
	id, err := v.JobIdentity(g.Job)
	require.NoError(t, err)
	var got []string
	n, err := ReadLinks(br, id, func(kind, canonical, code string) error {
		got = append(got, kind+" "+canonical+" "+code)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, int64(2), n)
	sort.Strings(got)
	assert.Equal(t, []string{"email a@b.no KB", "nid 12345678901 KA"}, got)
	stop := errors.New("stop")
	_, err = ReadLinks(bufio.NewReader(bytes.NewReader(b.Bytes()[bytes.IndexByte(b.Bytes(), '\n')+1:])), id, func(string, string, string) error { return stop })
	require.ErrorIs(t, err, stop)
}
