package pseudo

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/stretchr/testify/require"

	"github.com/pseudokit/pseudokit/internal/table"
)

// TestFileParquetDictionaries: Parquet to Parquet, columns that pass through
// are read as dictionaries and given-name and surname columns are made as
// dictionaries over the name lists (see table.ParquetReadOptions.Dictionary
// and Options.nameDicts). The output must be what the plain string path
// gives (Parquet to CSV, with neither), store every such column as a string,
// and keep them dictionary-encoded in every row group.
func TestFileParquetDictionaries(t *testing.T) {
	names := []string{"fnr", "fornavn", "etternavn", "navn", "kommune", "notat"}
	kommuner := []string{"Oslo", "Bergen", "", "<null>", "Tromsø"}
	var rows [][]string
	for i := 0; i < 100; i++ {
		id := synth(t, i%30)
		switch i % 17 {
		case 5:
			id = "12345678901" // invalid: its names are faked from themselves
		case 9:
			id = "<null>"
		}
		given := []string{"Kari", "Ola", " ", "<null>", "Åse"}[i%5]
		rows = append(rows, []string{id, given, "Nordmann", given + " Nordmann", kommuner[(i+i/40)%len(kommuner)], fmt.Sprint("notat ", i)})
	}
	mem := memory.NewGoAllocator()
	rec := batch(mem, names, rows...)
	defer rec.Release()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.parquet")
	f, err := os.Create(in)
	require.NoError(t, err)
	w, err := table.NewParquetWriter(f, rec.Schema(), table.ParquetOptions{RowGroupRows: 40, Metadata: map[string]string{"origin": "test"}})
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())

	for _, tc := range []struct {
		name  string
		rules *Rules
	}{
		{"with subject", &Rules{Invalid: InvalidFlag, Columns: []ColumnRule{
			{Column: "fnr", Action: ActionCode, Kind: KindNID, Subject: true},
			{Column: "fornavn", Action: ActionFakeName, Part: PartGiven},
			{Column: "etternavn", Action: ActionFakeName, Part: PartFamily},
			{Column: "navn", Action: ActionFakeName, Part: PartFull},
			{Column: "notat", Action: ActionDrop},
		}}},
		{"names alone", &Rules{Invalid: InvalidFlag, Columns: []ColumnRule{
			{Column: "fornavn", Action: ActionFakeName, Part: PartGiven},
			{Column: "etternavn", Action: ActionFakeName, Part: PartFamily},
			{Column: "navn", Action: ActionFakeName, Part: PartFull},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVault(t)
			outPQ, outCSV := filepath.Join(dir, "out.parquet"), filepath.Join(dir, "out.csv")
			small := func(j *FileJob) { j.BatchRows = 16 }
			_, err := run(t, v, tc.rules, in, outPQ, small)
			require.NoError(t, err)
			_, err = run(t, v, tc.rules, in, outCSV, small)
			require.NoError(t, err)

			got := readParquet(t, outPQ)
			defer got.Release()
			fc, err := os.Open(outCSV)
			require.NoError(t, err)
			defer fc.Close()
			want, err := csv.NewReader(fc).ReadAll()
			require.NoError(t, err)
			require.Equal(t, want[0], fieldNames(got.Schema()))
			for i, fld := range got.Schema().Fields() {
				require.Equal(t, arrow.BinaryTypes.String, fld.Type, "column %s stored as a string", fld.Name)
				var vals []string
				for _, c := range got.Column(i).Data().Chunks() {
					s := c.(*array.String)
					for r := 0; r < s.Len(); r++ {
						vals = append(vals, s.Value(r)) // null reads as "", as in CSV
					}
				}
				var csvVals []string
				for _, row := range want[1:] {
					csvVals = append(csvVals, row[i])
				}
				require.Equal(t, csvVals, vals, "column %s", fld.Name)
			}

			// The pass-through and the given-name and surname columns are
			// dictionary-encoded throughout (no fallback to plain pages).
			fo, err := os.Open(outPQ)
			require.NoError(t, err)
			defer fo.Close()
			pf, err := file.NewParquetReader(fo)
			require.NoError(t, err)
			require.Nil(t, pf.MetaData().KeyValueMetadata().FindValue("origin"), "the input's key-value metadata is not copied")
			require.Equal(t, 3, pf.NumRowGroups(), "the input's row groups (of 40 rows, with dictionaries in another order each) carry over")
			for g := 0; g < pf.NumRowGroups(); g++ {
				for _, col := range []string{"fornavn", "etternavn", "kommune"} {
					cc, err := pf.MetaData().RowGroup(g).ColumnChunk(got.Schema().FieldIndices(col)[0])
					require.NoError(t, err)
					require.NotEmpty(t, cc.EncodingStats())
					for _, s := range cc.EncodingStats() {
						if s.Encoding != parquet.Encodings.Plain {
							require.Equal(t, parquet.Encodings.RLEDict, s.Encoding, "row group %d column %s", g, col)
						}
					}
					require.Equal(t, len(cc.EncodingStats()), 2, "row group %d column %s: a dictionary page and dictionary data pages, %v", g, col, cc.EncodingStats())
					// Min/max statistics for the kept column, none for
					// fictitious names (they span the name list).
					set, err := cc.StatsSet()
					require.NoError(t, err)
					require.Equal(t, col == "kommune", set, "row group %d column %s: statistics", g, col)
				}
			}
		})
	}
}

// TestNameDictionaryTypes: with nameDicts, Bind gives given-name and
// surname columns as dictionaries over the name lists (index 1+i is name
// i), full names stay strings.
func TestNameDictionaryTypes(t *testing.T) {
	rules := &Rules{Columns: []ColumnRule{
		{Column: "fornavn", Action: ActionFakeName, Part: PartGiven},
		{Column: "etternavn", Action: ActionFakeName, Part: PartFamily},
		{Column: "navn", Action: ActionFakeName, Part: PartFull},
	}}
	in := arrow.NewSchema([]arrow.Field{
		{Name: "fornavn", Type: arrow.BinaryTypes.String},
		{Name: "etternavn", Type: arrow.BinaryTypes.String},
		{Name: "navn", Type: arrow.BinaryTypes.String},
	}, nil)
	for _, dicts := range []bool{false, true} {
		p, err := New(rules, Options{DomainSecret: make([]byte, 32), nameDicts: dicts})
		require.NoError(t, err)
		out, err := p.Bind(in)
		require.NoError(t, err)
		for i, list := range [][]string{GivenNames, FamilyNames, nil} {
			if !dicts || list == nil {
				require.Equal(t, arrow.BinaryTypes.String, out.Field(i).Type)
				continue
			}
			require.Equal(t, nameDictType, out.Field(i).Type)
			d := p.specs[i].dict.(*array.String)
			require.Equal(t, len(list)+1, d.Len())
			require.Equal(t, "", d.Value(0))
			for j, name := range list {
				require.Equal(t, name, d.Value(1+j))
			}
		}
	}
}
