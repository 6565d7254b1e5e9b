package pseudo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"

	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/keyvault"
)

func TestMain(m *testing.M) {
	// Test hook: a cheap KDF so vaults open in milliseconds.
	keyvault.DefaultKDF = keyvault.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}
	os.Exit(m.Run())
}

func newVault(t *testing.T) *keyvault.Vault {
	t.Helper()
	v, err := keyvault.Create(filepath.Join(t.TempDir(), "test.vault"), keyvault.CreateOptions{Project: "test", Passphrase: []byte("pw")})
	require.NoError(t, err)
	t.Cleanup(func() { v.Close() })
	return v
}

var fileRules = &Rules{Columns: []ColumnRule{
	{Column: "fnr", Action: ActionCode, Kind: KindNID, Subject: true},
	{Column: "fornavn", Action: ActionFakeName, Part: PartGiven},
	{Column: "etternavn", Action: ActionFakeName, Part: PartFamily},
	{Column: "notat", Action: ActionDrop},
}}

// excelCSV is a semicolon CSV with BOM and CRLF, a quoted field with an
// embedded newline and a quote, and a kept column with odd spacing.
func excelCSV(t *testing.T, ids ...string) string {
	var b strings.Builder
	b.WriteString("\ufefffnr;fornavn;etternavn;notat;verdi\r\n")
	for i, id := range ids {
		b.WriteString(id + ";Kari;Nordmann;\"sa \"\"hei\"\"\r\nto linjer\";  12,5 \r\n")
		_ = i
	}
	return b.String()
}

func run(t *testing.T, v *keyvault.Vault, rules *Rules, in, out string, mod func(*FileJob)) (*Result, error) {
	j := &FileJob{Vault: v, Rules: rules, In: in, Out: out, Actor: "tester"}
	if mod != nil {
		mod(j)
	}
	return j.Run(context.Background())
}

func TestFileCSVKeepsDialectAndBytes(t *testing.T) {
	v := newVault(t)
	dir := t.TempDir()
	a, b := synth(t, 1), synth(t, 2)
	in := filepath.Join(dir, "in.csv")
	require.NoError(t, os.WriteFile(in, []byte(excelCSV(t, a, b, a)), 0o600))
	out := filepath.Join(dir, "out.csv")
	res, err := run(t, v, fileRules, in, out, nil)
	require.NoError(t, err)
	require.Equal(t, int64(3), res.Rows)
	require.Equal(t, 2, res.NewLinks)
	require.Equal(t, []string{"verdi"}, res.Unmentioned)

	got, err := os.ReadFile(out)
	require.NoError(t, err)
	c, _ := NewCoder(secretOf(t, v))
	f, _ := NewFaker(secretOf(t, v))
	row := func(id string) string {
		return c.Code(KindNID, id) + ";" + f.Name(KindNID, id, PartGiven) + ";" + f.Name(KindNID, id, PartFamily) + ";  12,5 \r\n"
	}
	want := "\ufefffnr;fornavn;etternavn;verdi\r\n" + row(a) + row(b) + row(a)
	require.Equal(t, want, string(got))

	// Determinism: a second run gives the same bytes and adds no link.
	out2 := filepath.Join(dir, "out2.csv")
	res2, err := run(t, v, fileRules, in, out2, nil)
	require.NoError(t, err)
	require.Equal(t, 0, res2.NewLinks)
	require.Equal(t, 2, res2.ExistingLinks, "two persons known; a repeated row counts once")
	got2, _ := os.ReadFile(out2)
	require.Equal(t, got, got2)
	require.Equal(t, res.OutputSHA256, res2.OutputSHA256)
	require.FileExists(t, out)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 3, "no temporary files left")
}

func secretOf(t *testing.T, v *keyvault.Vault) []byte {
	s, err := v.DomainSecret("default")
	require.NoError(t, err)
	return s
}

func TestFileLatin1(t *testing.T) {
	v := newVault(t)
	dir := t.TempDir()
	a := synth(t, 4)
	utf := "fnr,fornavn,etternavn,notat,by\n" + a + ",Åse,Ødegård,x,Tromsø\n"
	latin, err := charmap.ISO8859_1.NewEncoder().String(utf)
	require.NoError(t, err)
	in := filepath.Join(dir, "in.csv")
	require.NoError(t, os.WriteFile(in, []byte(latin), 0o600))
	out := filepath.Join(dir, "out.csv")

	// Read as UTF-8 it is an encoding error naming the line, with a hint.
	_, err = run(t, v, fileRules, in, out, nil)
	require.ErrorContains(t, err, "line 2")
	require.NoFileExists(t, out)

	_, err = run(t, v, fileRules, in, out, func(j *FileJob) { j.Encoding = Latin1 })
	require.NoError(t, err)
	got, _ := os.ReadFile(out)
	dec, err := charmap.ISO8859_1.NewDecoder().Bytes(got)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(string(dec), ",Tromsø\n"), "kept column decoded and re-encoded: %q", dec)
	require.False(t, bytes.Contains(got, []byte("\xc3")), "output stays Latin-1")

	// The same person coded from a UTF-8 file gets the same code.
	in8 := filepath.Join(dir, "in8.csv")
	require.NoError(t, os.WriteFile(in8, []byte(utf), 0o600))
	out8 := filepath.Join(dir, "out8.csv")
	_, err = run(t, v, fileRules, in8, out8, nil)
	require.NoError(t, err)
	got8, _ := os.ReadFile(out8)
	require.Equal(t, strings.Split(string(got8), ",")[4], strings.Split(string(dec), ",")[4])
}

// writeParquet writes a Parquet file with typed columns and nulls.
func writeParquet(t *testing.T, path string, ids []string) {
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "fnr", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "alder", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "vekt", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "dato", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "aktiv", Type: arrow.FixedWidthTypes.Boolean, Nullable: false},
		{Name: "notat", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i, id := range ids {
		b.Field(0).(*array.StringBuilder).Append(id)
		if i%2 == 1 {
			b.Field(1).AppendNull()
			b.Field(2).AppendNull()
			b.Field(3).AppendNull()
		} else {
			b.Field(1).(*array.Int32Builder).Append(int32(20 + i))
			b.Field(2).(*array.Float64Builder).Append(60.5 + float64(i))
			b.Field(3).(*array.Date32Builder).Append(arrow.Date32FromTime(time.Date(2020, 1, 1+i, 0, 0, 0, 0, time.UTC)))
		}
		b.Field(4).(*array.BooleanBuilder).Append(i%3 == 0)
		b.Field(5).(*array.StringBuilder).Append("om " + id)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	require.NoError(t, err)
	w, err := pqarrow.NewFileWriter(schema, f, nil, pqarrow.DefaultWriterProps())
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
}

func readParquet(t *testing.T, path string) arrow.Table {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	require.NoError(t, err)
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.NewGoAllocator())
	require.NoError(t, err)
	tbl, err := fr.ReadTable(context.Background())
	require.NoError(t, err)
	return tbl
}

func TestFileParquet(t *testing.T) {
	v := newVault(t)
	dir := t.TempDir()
	ids := []string{synth(t, 1), synth(t, 2), synth(t, 1), synth(t, 3)}
	in := filepath.Join(dir, "in.parquet")
	writeParquet(t, in, ids)
	out := filepath.Join(dir, "out.parquet")
	rules := &Rules{Columns: []ColumnRule{{Column: "fnr", Action: ActionCode, Kind: KindNID}, {Column: "notat", Action: ActionDrop}}}
	res, err := run(t, v, rules, in, out, nil)
	require.NoError(t, err)
	require.Equal(t, int64(4), res.Rows)

	src, got := readParquet(t, in), readParquet(t, out)
	defer src.Release()
	defer got.Release()
	require.Equal(t, int64(4), got.NumRows())
	require.Equal(t, []string{"fnr", "alder", "vekt", "dato", "aktiv"}, fieldNames(got.Schema()))
	for i := 1; i < 5; i++ { // kept columns: same type, nulls and values
		require.True(t, arrow.TypeEqual(src.Column(i).DataType(), got.Column(i).DataType()), src.Column(i).Name())
		require.Equal(t, src.Column(i).Field().Nullable, got.Column(i).Field().Nullable)
		require.True(t, array.ChunkedEqual(src.Column(i).Data(), got.Column(i).Data()), src.Column(i).Name())
	}
	codes := got.Column(0).Data().Chunk(0).(*array.String)
	c, _ := NewCoder(secretOf(t, v))
	for i, id := range ids {
		require.Equal(t, c.Code(KindNID, id), codes.Value(i))
	}
	raw, _ := os.ReadFile(out)
	for _, id := range ids {
		require.False(t, bytes.Contains(raw, []byte(id)), "identifier in output bytes")
	}

	// Parquet -> CSV -> Parquet: the codes agree whatever the route.
	csvOut := filepath.Join(dir, "out.csv")
	_, err = run(t, v, rules, in, csvOut, nil)
	require.NoError(t, err)
	csvb, _ := os.ReadFile(csvOut)
	lines := strings.Split(string(csvb), "\n")
	require.Equal(t, "fnr,alder,vekt,dato,aktiv", lines[0])
	require.Equal(t, c.Code(KindNID, ids[0])+",20,60.5,2020-01-01,true", lines[1])
	require.Equal(t, c.Code(KindNID, ids[1])+",,,,false", lines[2])
}

func fieldNames(s *arrow.Schema) []string {
	var n []string
	for _, f := range s.Fields() {
		n = append(n, f.Name)
	}
	return n
}

// TestFileFailuresLeaveNothing: every failure names file/row/column, never
// the value, leaves no output (not even a temporary file) and the vault
// byte for byte as it was.
func TestFileFailuresLeaveNothing(t *testing.T) {
	a := synth(t, 7)
	bad := a[:10] + string('0'+(a[10]-'0'+1)%10)
	tests := []struct {
		name, csv string
		rules     *Rules
		err       string
	}{
		{"invalid number", "fnr;fornavn;etternavn;notat\n" + a + ";A;B;C\n" + bad + ";A;B;C\n", fileRules,
			`in.csv: row 2 (line 3), column "fnr": nid: second check digit is wrong`},
		{"missing column", "fnr;fornavn;notat\n" + a + ";A;C\n", fileRules, `in.csv: rule for column "etternavn": column not in the input`},
		{"ragged row", "fnr;fornavn;etternavn;notat\n" + a + ";A;B;C\n" + a + ";A;B\n", fileRules, "line 3"},
		{"bare quote", "fnr;fornavn;etternavn;notat\n" + a + ";A\"x;B;C\n", fileRules, "line 2"},
		{"empty file", "", fileRules, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVault(t)
			dir := t.TempDir()
			in := filepath.Join(dir, "in.csv")
			require.NoError(t, os.WriteFile(in, []byte(tt.csv), 0o600))
			before, err := os.ReadFile(v.Path())
			require.NoError(t, err)
			out := filepath.Join(dir, "out.csv")
			_, err = run(t, v, tt.rules, in, out, nil)
			require.ErrorContains(t, err, tt.err)
			require.NotContains(t, err.Error(), a[:6])
			require.NotContains(t, err.Error(), bad[:6])
			entries, _ := os.ReadDir(dir)
			require.Len(t, entries, 1, "only the input remains")
			after, _ := os.ReadFile(v.Path())
			require.Equal(t, before, after, "vault unchanged")
			in2, _ := os.ReadFile(in)
			require.Equal(t, tt.csv, string(in2))
		})
	}
}

// TestVaultHoldsNoIdentifier: the vault file's bytes and its log hold no
// identifier after a run.
func TestVaultHoldsNoIdentifier(t *testing.T) {
	v := newVault(t)
	dir := t.TempDir()
	ids := []string{synth(t, 11), synth(t, 12)}
	in := filepath.Join(dir, "in.csv")
	require.NoError(t, os.WriteFile(in, []byte("fnr,fornavn,etternavn,notat\n"+ids[0]+",Solveig,Brekke,x\n"+ids[1]+",Ragnhild,Tveit,y\n"), 0o600))
	_, err := run(t, v, fileRules, in, filepath.Join(dir, "out.csv"), nil)
	require.NoError(t, err)
	entries, err := v.Entries()
	require.NoError(t, err)
	require.Equal(t, "pseudonymize", entries[len(entries)-1].Action)
	require.Equal(t, "tester", entries[len(entries)-1].Actor)
	path := v.Path()
	require.NoError(t, v.Close())
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, s := range append(ids, "Solveig", "Brekke", "solveig") {
		require.False(t, bytes.Contains(raw, []byte(s)), "%q in the vault file", s)
	}
}

func TestFormatOf(t *testing.T) {
	f, err := table.FormatOf("x.PARQUET", "")
	require.NoError(t, err)
	require.Equal(t, table.Parquet, f)
	_, err = table.FormatOf("-", "")
	require.ErrorContains(t, err, "--from/--to")
	_, err = table.FormatOf("data.xlsx", "")
	require.ErrorContains(t, err, "cannot tell the format")
}

// writeRows writes a CSV file with columns fnr,fornavn,etternavn,notat,n
// and the n rows that row makes, and returns its text.
func writeRows(t *testing.T, path string, n int, row func(i int) string) string {
	var b strings.Builder
	b.WriteString("fnr,fornavn,etternavn,notat,n\n")
	for i := 0; i < n; i++ {
		b.WriteString(row(i))
		b.WriteByte('\n')
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return b.String()
}

// TestWorkersSameOutput: the output and the errors are the same whatever
// the number of workers and the batch size.
func TestWorkersSameOutput(t *testing.T) {
	v := newVault(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	data := writeRows(t, in, 1000, func(i int) string {
		return fmt.Sprintf("%s,Kari,Nordmann,\"a\nb\",%d", synth(t, i%97), i)
	})
	var outs [][]byte
	for _, cfg := range []struct{ workers, batch int }{{1, 0}, {1, 7}, {3, 7}, {4, 64}} {
		out := filepath.Join(dir, fmt.Sprintf("out-%d-%d.csv", cfg.workers, cfg.batch))
		res, err := run(t, v, fileRules, in, out, func(j *FileJob) { j.Workers, j.BatchRows = cfg.workers, cfg.batch })
		require.NoError(t, err)
		require.Equal(t, int64(1000), res.Rows)
		require.Equal(t, int64(1000), res.Columns[0].Values)
		got, _ := os.ReadFile(out)
		outs = append(outs, got)
	}
	for _, o := range outs[1:] {
		require.Equal(t, outs[0], o)
	}
	// An invalid number at row 600 (line 1200: every row spans two lines).
	lines := strings.Split(data, "\n")
	lines[1199] = "x" + lines[1199][1:]
	bad := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte(strings.Join(lines, "\n")), 0o600))
	for _, workers := range []int{1, 4} {
		_, err := run(t, v, fileRules, bad, filepath.Join(dir, "x.csv"), func(j *FileJob) { j.Workers, j.BatchRows = workers, 7 })
		require.ErrorContains(t, err, `row 600 (line 1200), column "fnr"`)
	}
}

// TestPoolAllocatorSameOutput: a run on the pool allocator (FileJob's
// default for CSV -> CSV), with every freed buffer poisoned, writes the
// same bytes as a run on the Go allocator, in every format pair, over many
// small batches on several workers: no buffer is read after it went back
// to the pool.
func TestPoolAllocatorSameOutput(t *testing.T) {
	v := newVault(t)
	dir := t.TempDir()
	inCSV := filepath.Join(dir, "in.csv")
	writeRows(t, inCSV, 600, func(i int) string {
		id := synth(t, i%53)
		switch i % 11 {
		case 3:
			id = "123" // invalid: flagged
		case 5:
			id = ""
		}
		// Names already in canonical form: their canonical forms alias the batch.
		return fmt.Sprintf("%s,kari%d,nordmann,\"a\nb %d\",%d", id, i%5, i, i)
	})
	ids := make([]string, 300)
	for i := range ids {
		ids[i] = synth(t, i%41)
	}
	inPQ := filepath.Join(dir, "in.parquet")
	writeParquet(t, inPQ, ids)
	rules := &Rules{Invalid: InvalidFlag, Columns: []ColumnRule{
		{Column: "fnr", Action: ActionCode, Kind: KindNID, Subject: true},
		{Column: "fornavn", Action: ActionFakeName, Part: PartGiven},
		{Column: "etternavn", Action: ActionFakeName, Part: PartFamily},
	}}
	pqRules := &Rules{Columns: []ColumnRule{{Column: "fnr", Action: ActionCode, Kind: KindNID}}}
	for _, tc := range []struct {
		in, ext string
		rules   *Rules
	}{{inCSV, "csv", rules}, {inCSV, "parquet", rules}, {inPQ, "parquet", pqRules}, {inPQ, "csv", pqRules}} {
		var outs [][]byte
		for i, mem := range []memory.Allocator{memory.NewGoAllocator(), &table.PoolAllocator{Poison: true}} {
			out := filepath.Join(dir, fmt.Sprintf("out-%d.%s", i, tc.ext))
			_, err := run(t, v, tc.rules, tc.in, out, func(j *FileJob) { j.Workers, j.BatchRows, j.Allocator = 3, 7, mem })
			require.NoError(t, err)
			got, err := os.ReadFile(out)
			require.NoError(t, err)
			outs = append(outs, got)
		}
		require.Equal(t, outs[0], outs[1], "%s -> %s", filepath.Base(tc.in), tc.ext)
	}
}

// progressLinker is a memLinker (made safe for the job's workers) that
// records the shares Progress is told.
type progressLinker struct {
	mu     sync.Mutex
	mem    *memLinker
	shares []float64
}

func (p *progressLinker) Link(kind, canonical, code string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mem.Link(kind, canonical, code)
}

func (p *progressLinker) Assign(kind, canonical, candidate string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mem.Assign(kind, canonical, candidate)
}

func (p *progressLinker) Progress(share float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shares = append(p.shares, share)
}

// A FileJob tells a ProgressLinker, after each batch it reads, what share
// of the input it has read: rising, and all of it at the end.
func TestFileJobTellsProgress(t *testing.T) {
	dir := t.TempDir()
	ids := make([]string, 200)
	for i := range ids {
		ids[i] = synth(t, i)
	}
	in := filepath.Join(dir, "in.csv")
	require.NoError(t, os.WriteFile(in, []byte(excelCSV(t, ids...)), 0o600))
	ln := &progressLinker{mem: newMemLinker()}
	grant := &keyvault.Grant{Domain: "default", DomainSecret: bytes.Repeat([]byte{7}, 32)}
	res, err := (&FileJob{Rules: fileRules, In: in, Out: filepath.Join(dir, "out.csv"), Grant: grant, Linker: ln, BatchRows: 16, Workers: 2}).Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(200), res.Rows)
	require.Len(t, ln.mem.links, 200)
	require.Len(t, ln.shares, 13, "one a batch of 16 rows")
	for i, s := range ln.shares {
		require.Greater(t, s, 0.0)
		require.LessOrEqual(t, s, 1.0)
		if i > 0 {
			require.GreaterOrEqual(t, s, ln.shares[i-1])
		}
	}
	require.Equal(t, 1.0, ln.shares[len(ln.shares)-1])
}
