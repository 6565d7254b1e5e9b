package withdraw

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/nid"
)

func TestMain(m *testing.M) {
	keyvault.DefaultKDF = keyvault.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}
	os.Exit(m.Run())
}

// project is a vault with three datasets of 20 synthetic persons: a raw
// semicolon CSV (BOM, CRLF) holding identity numbers, and its pseudonymised
// CSV and Parquet versions.
type project struct {
	dir                      string
	v                        *keyvault.Vault
	ids                      []string
	raw, pseudoCSV, pseudoPQ string
	rawLines                 []string // data lines of the raw CSV, with CRLF
}

func newProject(t *testing.T) *project {
	t.Helper()
	p := &project{dir: t.TempDir()}
	var err error
	p.v, err = keyvault.Create(filepath.Join(p.dir, "p.vault"), keyvault.CreateOptions{Project: "t", Passphrase: []byte("pw")})
	require.NoError(t, err)
	t.Cleanup(func() { p.v.Close() })
	for i := 0; len(p.ids) < 20; i++ {
		n, err := nid.Synthetic(time.Date(1960+i, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC), 100+i, nid.FNR, true)
		if err == nil {
			p.ids = append(p.ids, n.String())
		}
	}
	var b strings.Builder
	b.WriteString("\ufefffnr;navn;verdi;notat\r\n")
	for i := 0; i < 60; i++ { // every person three times
		line := fmt.Sprintf("%s;Person %d;%d,5;\"linje\r\nto\"\r\n", p.ids[i%20], i%20, i)
		if i%7 == 0 {
			line = fmt.Sprintf("%s;Person %d; %d ;\r\n", p.ids[i%20][:6]+" "+p.ids[i%20][6:], i%20, i)
		}
		p.rawLines = append(p.rawLines, line)
		b.WriteString(line)
	}
	p.raw = filepath.Join(p.dir, "raw.csv")
	require.NoError(t, os.WriteFile(p.raw, []byte(b.String()), 0o600))
	rules := &pseudo.Rules{Columns: []pseudo.ColumnRule{{Column: "fnr", Action: pseudo.ActionCode, Kind: pseudo.KindNID}, {Column: "navn", Action: pseudo.ActionDrop}}}
	p.pseudoCSV = filepath.Join(p.dir, "pseudo.csv")
	p.pseudoPQ = filepath.Join(p.dir, "pseudo.parquet")
	for _, out := range []string{p.pseudoCSV, p.pseudoPQ} {
		_, err := (&pseudo.FileJob{Vault: p.v, Rules: rules, In: p.raw, Out: out}).Run(context.Background())
		require.NoError(t, err)
	}
	return p
}

func (p *project) code(t *testing.T, id string) string {
	s, err := p.v.DomainSecret("default")
	require.NoError(t, err)
	c, _ := pseudo.NewCoder(s)
	return c.Code(pseudo.KindNID, id)
}

func (p *project) datasets() []string { return []string{p.raw, p.pseudoCSV, p.pseudoPQ} }

func read(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// addParquetMetadata rewrites the Parquet file at path with a key-value
// metadata entry k=v added.
func addParquetMetadata(t *testing.T, path, k, v string) {
	tbl := readPQ(t, path+".orig", read(t, path))
	md := arrow.NewMetadata([]string{k}, []string{v})
	cols := make([]arrow.Column, tbl.NumCols())
	for i := range cols {
		cols[i] = *tbl.Column(i)
	}
	with := array.NewTable(arrow.NewSchema(tbl.Schema().Fields(), &md), cols, tbl.NumRows())
	defer with.Release()
	var out bytes.Buffer
	require.NoError(t, pqarrow.WriteTable(with, &out, 1<<20, nil, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())))
	require.NoError(t, os.WriteFile(path, out.Bytes(), 0o600))
}

func TestWithdraw(t *testing.T) {
	p := newProject(t)
	addParquetMetadata(t, p.pseudoPQ, "origin", "test") // withdrawal keeps it
	before := map[string][]byte{}
	for _, d := range p.datasets() {
		before[d] = read(t, d)
	}
	// Person 3 by identity number (with a space), person 5 by their code.
	job := &Job{Vault: p.v, IDs: []string{p.ids[3][:6] + " " + p.ids[3][6:]}, Codes: []string{strings.ToLower(p.code(t, p.ids[5]))},
		Datasets: p.datasets(), Purpose: "request 2026-17", Actor: "pm"}
	rc, err := job.Run(context.Background())
	require.NoError(t, err)

	// Independent count: each person is in 3 rows of each dataset.
	require.Len(t, rc.Persons, 2)
	require.Equal(t, p.code(t, p.ids[3]), rc.Persons[0].Code)
	require.Equal(t, p.code(t, p.ids[5]), rc.Persons[1].Code)
	for _, per := range rc.Persons {
		require.Equal(t, int64(9), per.RowsRemoved)
	}
	for _, d := range rc.Datasets {
		require.Equal(t, int64(60), d.RowsBefore, d.Path)
		require.Equal(t, int64(54), d.RowsAfter, d.Path)
		require.Equal(t, map[string]int64{rc.Persons[0].Code: 3, rc.Persons[1].Code: 3}, d.Removed)
		require.Equal(t, sha(before[d.Path]), d.SHA256Before)
		require.Equal(t, sha(read(t, d.Path)), d.SHA256After)
	}

	// Raw CSV: every other row byte for byte, in order.
	var want bytes.Buffer
	want.WriteString("\ufefffnr;navn;verdi;notat\r\n")
	for i, l := range p.rawLines {
		if i%20 != 3 && i%20 != 5 {
			want.WriteString(l)
		}
	}
	require.Equal(t, want.String(), string(read(t, p.raw)))

	// Parquet: same schema, the remaining rows in order.
	pqBefore, pqAfter := readPQ(t, filepath.Join(p.dir, "before.parquet"), before[p.pseudoPQ]), readPQ(t, filepath.Join(p.dir, "after.parquet"), read(t, p.pseudoPQ))
	require.True(t, pqBefore.Schema().Equal(pqAfter.Schema()), "before %s\nafter %s", pqBefore.Schema(), pqAfter.Schema())
	{
		f, err := os.Open(p.pseudoPQ)
		require.NoError(t, err)
		pf, err := file.NewParquetReader(f)
		require.NoError(t, err)
		require.Equal(t, "test", *pf.MetaData().KeyValueMetadata().FindValue("origin"), "the file's key-value metadata is kept")
		f.Close()
	}
	require.Equal(t, 3, int(pqAfter.NumCols()))
	for c := 0; c < int(pqAfter.NumCols()); c++ { // every column, text read as dictionaries or not
		var keptVals, gotVals []string
		col := pqBefore.Column(c).Data().Chunk(0).(*array.String)
		for i := 0; i < col.Len(); i++ {
			if i%20 != 3 && i%20 != 5 {
				keptVals = append(keptVals, col.ValueStr(i))
			}
		}
		for _, ch := range pqAfter.Column(c).Data().Chunks() {
			for i := 0; i < ch.Len(); i++ {
				gotVals = append(gotVals, ch.(*array.String).ValueStr(i))
			}
		}
		require.Equal(t, keptVals, gotVals, "column %s", pqAfter.Schema().Field(c).Name)
	}

	// The vault: tombstones, a log entry matching the receipt.
	for _, i := range []int{3, 5} {
		w, err := p.v.Withdrawn("nid", p.ids[i])
		require.NoError(t, err)
		require.True(t, w)
	}
	w, _ := p.v.Withdrawn("nid", p.ids[4])
	require.False(t, w)
	entries, err := p.v.Entries()
	require.NoError(t, err)
	last := entries[len(entries)-1]
	require.Equal(t, "withdraw", last.Action)
	require.Equal(t, rc.LogSeq, last.Seq)
	require.Equal(t, "request 2026-17", last.Purpose)

	// No identifier in the receipt or the log.
	js, _ := json.Marshal(rc)
	lj, _ := json.Marshal(entries)
	for _, id := range p.ids {
		require.NotContains(t, string(js)+rc.Text()+string(lj), id)
	}

	// Verify: clean now; the old raw file still holds them.
	res, err := Verify(context.Background(), p.v, p.datasets(), "dpo")
	require.NoError(t, err)
	require.True(t, res.OK())
	old := filepath.Join(p.dir, "old.csv")
	require.NoError(t, os.WriteFile(old, before[p.raw], 0o600))
	res, err = Verify(context.Background(), p.v, []string{old}, "dpo")
	require.NoError(t, err)
	require.False(t, res.OK())
	require.Equal(t, int64(6), res.Datasets[0].Remaining)

	// A later run meeting a withdrawn person refuses, or skips them.
	rules := &pseudo.Rules{Columns: []pseudo.ColumnRule{{Column: "fnr", Action: pseudo.ActionCode, Kind: pseudo.KindNID}}}
	out := filepath.Join(p.dir, "again.csv")
	_, err = (&pseudo.FileJob{Vault: p.v, Rules: rules, In: old, Out: out}).Run(context.Background())
	require.ErrorIs(t, err, pseudo.ErrWithdrawn)
	require.ErrorContains(t, err, "6 row(s)")
	require.NoFileExists(t, out)
	r2, err := (&pseudo.FileJob{Vault: p.v, Rules: rules, In: old, Out: out, SkipWithdrawn: true}).Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(6), r2.WithdrawnRows)

	// Idempotent: again, nothing changes.
	after := map[string][]byte{}
	for _, d := range p.datasets() {
		after[d] = read(t, d)
	}
	rc2, err := job.Run(context.Background())
	require.NoError(t, err)
	for _, d := range rc2.Datasets {
		require.Equal(t, d.RowsBefore, d.RowsAfter)
		require.Equal(t, after[d.Path], read(t, d.Path))
	}
	// After withdrawal, a code of a withdrawn person cannot be revealed.
	refs, err := p.v.FindCode(p.code(t, p.ids[5]))
	require.NoError(t, err)
	for _, r := range refs {
		require.Empty(t, r.Identifier)
		require.Equal(t, "withdrawn", r.State)
	}
}

func sha(b []byte) string { return fmt.Sprintf("%x", sha256sum(b)) }

func TestDryRunChangesNothing(t *testing.T) {
	p := newProject(t)
	before := map[string][]byte{}
	for _, d := range p.datasets() {
		before[d] = read(t, d)
	}
	rc, err := (&Job{Vault: p.v, IDs: []string{p.ids[1]}, Datasets: p.datasets(), Purpose: "x", DryRun: true}).Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(9), rc.Persons[0].RowsRemoved)
	for _, d := range p.datasets() {
		require.Equal(t, before[d], read(t, d))
	}
	w, _ := p.v.Withdrawn("nid", p.ids[1])
	require.False(t, w)
	require.Contains(t, rc.Text(), "DRY RUN")
}

// TestProgress: every dataset reports its rows as they are read and how
// much of it is done.
func TestProgress(t *testing.T) {
	p := newProject(t)
	defer func(n int) { progressRows = n }(progressRows)
	progressRows = 10
	type call struct {
		rows int64
		done float64
	}
	got := map[string][]call{}
	var order []string
	job := &Job{Vault: p.v, IDs: []string{p.ids[1]}, Datasets: p.datasets(), Purpose: "x", DryRun: true,
		Progress: func(dataset string, rows int64, done float64) {
			if len(order) == 0 || order[len(order)-1] != dataset {
				order = append(order, dataset)
			}
			got[dataset] = append(got[dataset], call{rows, done})
		}}
	_, err := job.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, p.datasets(), order, "one dataset after the other")
	for _, d := range p.datasets() {
		calls := got[d]
		require.NotEmpty(t, calls, d)
		for i, c := range calls {
			require.True(t, c.done > 0 && c.done <= 1, "%s: done %v", d, c.done)
			if i > 0 {
				require.Greater(t, c.rows, calls[i-1].rows, d)
				require.GreaterOrEqual(t, c.done, calls[i-1].done, d)
			}
		}
	}
	// CSV reports every progressRows records; Parquet after each batch,
	// the last of which ends the file.
	var rows []int64
	for _, c := range got[p.raw] {
		rows = append(rows, c.rows)
	}
	require.Equal(t, []int64{10, 20, 30, 40, 50, 60}, rows)
	last := got[p.pseudoPQ][len(got[p.pseudoPQ])-1]
	require.Equal(t, call{60, 1}, last)

	// Verify reports the same way.
	got, order = map[string][]call{}, nil
	vj := &VerifyJob{Vault: p.v, Datasets: p.datasets(), Progress: job.Progress}
	_, err = vj.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, p.datasets(), order)
	rows = rows[:0]
	for _, c := range got[p.raw] {
		rows = append(rows, c.rows)
	}
	require.Equal(t, []int64{10, 20, 30, 40, 50, 60}, rows)
	require.Equal(t, call{60, 1}, got[p.pseudoPQ][len(got[p.pseudoPQ])-1])
}

func TestFailureLeavesEverything(t *testing.T) {
	p := newProject(t)
	bad := filepath.Join(p.dir, "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("fnr;x\n"+p.ids[1]+";\"unterminated\n"), 0o600))
	sets := append(p.datasets(), bad)
	before := map[string][]byte{}
	for _, d := range sets {
		before[d] = read(t, d)
	}
	vaultBefore := read(t, p.v.Path())
	_, err := (&Job{Vault: p.v, IDs: []string{p.ids[1]}, Datasets: sets, Purpose: "x"}).Run(context.Background())
	require.Error(t, err)
	require.Contains(t, err.Error(), "bad.csv")
	require.NotContains(t, err.Error(), p.ids[1])
	for _, d := range sets {
		require.Equal(t, before[d], read(t, d), d)
	}
	require.Equal(t, vaultBefore, read(t, p.v.Path()))
	entries, _ := os.ReadDir(p.dir)
	for _, e := range entries {
		require.False(t, strings.HasSuffix(e.Name(), ".tmp"), "temporary file left: %s", e.Name())
	}

	_, err = (&Job{Vault: p.v, IDs: []string{p.ids[1]}, Datasets: p.datasets()}).Run(context.Background())
	require.True(t, errors.Is(err, ErrNoPurpose))
	_, err = (&Job{Vault: p.v, IDs: []string{"12345678901"}, Datasets: p.datasets(), Purpose: "x"}).Run(context.Background())
	require.ErrorContains(t, err, "identity number 1 of 1")
	require.NotContains(t, err.Error(), "12345678901")
}

func sha256sum(b []byte) [32]byte { return sha256.Sum256(b) }

func readPQ(t *testing.T, path string, data []byte) arrow.Table {
	require.NoError(t, os.WriteFile(path, data, 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	require.NoError(t, err)
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.NewGoAllocator())
	require.NoError(t, err)
	tbl, err := fr.ReadTable(context.Background())
	require.NoError(t, err)
	t.Cleanup(tbl.Release)
	return tbl
}
