package synth

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/pseudokit/pseudokit/pseudo/nid"
)

func TestPoolNumbersAreTestNorge(t *testing.T) {
	p, err := NewPool(2000, 3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, q := range p.Persons {
		n, err := nid.Parse(q.FNR)
		if err != nil {
			t.Fatalf("%s: %v", q.FNR, err)
		}
		if n.Kind() != nid.FNR || n.Synthetic() != nid.TestNorge {
			t.Fatalf("%s: kind %v, synthetic %v; want a Test-Norge fødselsnummer", q.FNR, n.Kind(), n.Synthetic())
		}
		if b, _ := n.BirthDate(); b.Year() != q.BirthYear {
			t.Fatalf("%s: birth year %d, person says %d", q.FNR, b.Year(), q.BirthYear)
		}
		if seen[q.FNR] {
			t.Fatalf("%s twice in the pool", q.FNR)
		}
		seen[q.FNR] = true
	}
}

func TestCSVDeterministic(t *testing.T) {
	gen := func(seed uint64) []byte {
		g, err := New(Options{Rows: 500, Persons: 100, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := g.WriteCSV(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a, b, c := gen(1), gen(1), gen(2)
	if !bytes.Equal(a, b) {
		t.Fatal("the same seed made different files")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds made the same file")
	}
	recs, err := csv.NewReader(bytes.NewReader(a)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 501 || len(recs[0]) != len(Columns) {
		t.Fatalf("%d records of %d fields, want 501 of %d", len(recs), len(recs[0]), len(Columns))
	}
	persons := map[string]bool{}
	for _, r := range recs[1:] {
		persons[r[0]] = true
	}
	if len(persons) > 100 || len(persons) < 50 {
		t.Fatalf("%d distinct persons in 500 rows from a pool of 100", len(persons))
	}
}

func TestParquet(t *testing.T) {
	g, err := New(Options{Rows: 70_000, Persons: 100, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := g.WriteParquet(&b); err != nil {
		t.Fatal(err)
	}
	pf, err := file.NewParquetReader(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if pf.NumRows() != 70_000 || pf.MetaData().Schema.NumColumns() != len(Columns) {
		t.Fatalf("%d rows of %d columns, want 70000 of %d", pf.NumRows(), pf.MetaData().Schema.NumColumns(), len(Columns))
	}
}
