package pseudo

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"

	"github.com/pseudokit/pseudokit/internal/table"
)

// pipelineBytes runs FileJob's pipeline (reader, workers, ordered writer)
// over the file in without a vault (nil Linker, a fixed secret) and returns
// the output, in format out.
func pipelineBytes(tb testing.TB, rules *Rules, in string, enc Encoding, out table.Format, workers, batchRows int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	pipelineTo(tb, &buf, rules, in, enc, out, workers, batchRows)
	return buf.Bytes()
}

// pipelineTo runs FileJob's pipeline (reader, workers, ordered writer)
// over the file in without a vault (nil Linker, a fixed secret), writing
// the output, in format out, to dst.
func pipelineTo(tb testing.TB, dst io.Writer, rules *Rules, in string, enc Encoding, out table.Format, workers, batchRows int) {
	tb.Helper()
	j := &FileJob{Rules: rules, In: in, Out: "-", Workers: workers, BatchRows: batchRows, Encoding: enc}
	f, err := table.FormatOf(in, "")
	if err != nil {
		tb.Fatal(err)
	}
	inp, err := openInput(j, f)
	if err != nil {
		tb.Fatal(err)
	}
	defer inp.close()
	p, err := New(rules, Options{DomainSecret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		tb.Fatal(err)
	}
	outSchema, err := p.Bind(inp.r.Schema())
	if err != nil {
		tb.Fatal(err)
	}
	w, err := newWriter(dst, outSchema, out, inp, &p.rules, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := pump(context.Background(), inp, p, w, j); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}

// trickyCSV returns CSV inputs that exercise the reader and writer: BOM,
// CRLF, semicolons, quoted fields with delimiters, doubled quotes and
// embedded line breaks, empty and blank fields, a field starting with
// U+FEFF, non-ASCII and Unicode-space names, invalid and short identity
// numbers, repeated persons, no final line ending, and Latin-1.
func trickyCSV(t *testing.T) map[string]string {
	a, b, c := synth(t, 1), synth(t, 2), synth(t, 3)
	short := strings.TrimPrefix(synth(t, 4), "0")
	bad := a[:10] + strconv.Itoa((int(a[10]-'0')+1)%10)
	var excel strings.Builder
	excel.WriteString("\ufefffnr;fornavn;etternavn;epost;notat;verdi\r\n")
	rows := [][]string{
		{a, "Kari", "Nordmann", "Kari@Example.NO", "\"sa \"\"hei\"\"\r\nto linjer\"", "  12,5 "},
		{b, "Øystein", "Bærum", "oy@example.no", "", "\"a;b\""},
		{bad, "Ola", "Hansen", "", "x", ""},
		{"", "", " ", " ", "\"\"", "1"},
		{a, " Kari ", "NORDMANN", "kari@example.no", "y", "2"},
		{"12345", "\u00a0", "\u2003", "a@b.c", "", ""},
		{c, "Åse", "Ødegård", "ÅSE@EXAMPLE.NO", "\ufeffstarts with BOM", "3"},
		{short, "Per", "Berg", "per@example.no", "z", "4"},
		{b, "Øystein", "Bærum", "oy@example.no", "\"line\nbreak\"", "5"},
	}
	for _, r := range rows {
		excel.WriteString(strings.Join(r, ";") + "\r\n")
	}
	var plain strings.Builder
	plain.WriteString("fnr,fornavn,etternavn,epost,notat,verdi\n")
	for i, r := range rows {
		for k := range r {
			r[k] = strings.ReplaceAll(r[k], ";", ",")
			if strings.Contains(r[k], ",") && !strings.HasPrefix(r[k], "\"") {
				r[k] = "\"" + r[k] + "\""
			}
		}
		plain.WriteString(strings.Join(r, ","))
		if i < len(rows)-1 {
			plain.WriteString("\n")
		}
	}
	// Latin-1 has no U+FEFF (no BOM either) and no U+2003.
	latin := strings.NewReplacer("\ufeff", "", "\u2003", "\t").Replace(excel.String())
	latin1, err := charmap.ISO8859_1.NewEncoder().String(latin)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"excel": excel.String(), "plain": plain.String(), "latin1": latin1}
}

// TestPipelineGolden pins the bytes FileJob's pipeline writes for tricky
// CSV inputs, with invalid identity numbers flagged and nulled, for any
// number of workers and batch size. The golden files were written by the
// code before the CSV reader, value cache and fake-name changes
// (commit 0de2da2), so they also show the output did not change.
func TestPipelineGolden(t *testing.T) {
	dir := t.TempDir()
	for name, data := range trickyCSV(t) {
		in := filepath.Join(dir, name+".csv")
		if err := os.WriteFile(in, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		enc := UTF8
		if name == "latin1" {
			enc = Latin1
		}
		for _, pol := range []InvalidPolicy{InvalidFlag, InvalidNull} {
			rules := &Rules{Invalid: pol, Columns: []ColumnRule{
				{Column: "fnr", Action: ActionCode, Kind: KindNID, Subject: true, RestoreLeadingZero: true},
				{Column: "fornavn", Action: ActionFakeName, Part: PartGiven},
				{Column: "etternavn", Action: ActionFakeName, Part: PartFamily},
				{Column: "epost", Action: ActionCode, Kind: KindEmail},
				{Column: "notat", Action: ActionKeep},
			}}
			golden := filepath.Join("testdata", "pipeline", name+"-"+string(pol)+".golden")
			want := pipelineBytes(t, rules, in, enc, table.CSV, 1, 0)
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, want, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			g, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(g, want) {
				t.Errorf("%s: output differs from %s:\n%q\nwant\n%q", name, golden, want, g)
			}
			for _, workers := range []int{1, 2, 3} {
				for _, batch := range []int{1, 2, 4, 100} {
					if got := pipelineBytes(t, rules, in, enc, table.CSV, workers, batch); !bytes.Equal(got, g) {
						t.Errorf("%s, %s, %d workers, batches of %d: output differs from %s", name, pol, workers, batch, golden)
					}
				}
			}
		}
	}
}
