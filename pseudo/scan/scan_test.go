package scan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/nid"
)

// testNID returns a valid Test-Norge identity number.
func testNID(t testing.TB, year, month, day, individual int) string {
	t.Helper()
	for ind := individual; ; ind++ {
		n, err := nid.Synthetic(time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC), ind, nid.FNR, true)
		if err == nil {
			return n.String()
		}
	}
}

func TestValueKinds(t *testing.T) {
	g := newGen(1)
	id := testNID(t, 1985, 4, 23, 123)
	bad := id[:10] + string('0'+(id[10]-'0'+1)%10)
	tests := []struct {
		v    string
		want Kind // bestKind of the value, "" for none
	}{
		{id, NID},
		{id[:6] + " " + id[6:], NID},
		{id[:6] + "-" + id[6:], NID},
		{bad, ""},
		{g.swedish(), SwedishPNR},
		{g.finnish(), FinnishHETU},
		{g.org(), OrgNumber},
		{"kari.hansen@example.no", Email},
		{"KARI@EXAMPLE.NO", Email},
		{"kari@localhost", ""},
		{"kari@@example.no", ""},
		{"91234567", Phone},
		{"912 34 567", Phone},
		{"+47 912 34 567", Phone},
		{"0047 22334455", Phone},
		{"+46 70 123 45 67", ""}, // Swedish phone: not Norwegian
		{"81234567", ""},         // 8xx: service numbers
		{"12345678", ""},
		{"23041985", ""}, // reads as a date
		{"23.04.1985", ""},
		{"1234", ""},
		{"141/90", ""},
		{"", ""},
		{"hello", ""},
		{"12345678901234567890", ""},
	}
	for _, tt := range tests {
		got := Kind("")
		if set := valueKinds(tt.v); set != 0 {
			got = bestKind(set)
		}
		require.Equal(t, tt.want, got, "%q", Shape(tt.v))
	}
	// Every generated number of each kind is recognised.
	for i := 0; i < 500; i++ {
		for _, c := range []struct {
			v string
			k kindIndex
		}{{g.swedish(), kSE}, {g.danish(), kDK}, {g.finnish(), kFI}, {g.org(), kOrg}, {g.account(), kAccount}, {g.phone(), kPhone}, {g.nid(), kNID}} {
			require.NotZero(t, valueKinds(c.v)&(1<<c.k), "%s %q", kindOfIndex[c.k], Shape(c.v))
		}
	}
}

func TestChecks(t *testing.T) {
	// Lost leading zero: a ten-digit value that is an identity number with a 0 in front.
	id := testNID(t, 1985, 4, 3, 200)
	require.Equal(t, byte('0'), id[0])
	require.NotZero(t, valueKinds(id[1:])&(1<<kNID))

	// Finnish: the check character and the century sign matter.
	g := newGen(2)
	fi := g.finnish()
	require.True(t, finnish(fi))
	wrong := []byte(fi)
	wrong[10] = hetuCheck[(strings.IndexByte(hetuCheck, fi[10])+1)%31]
	require.False(t, finnish(string(wrong)))
	wrong = []byte(fi)
	wrong[6] = 'Q'
	require.False(t, finnish(string(wrong)))

	// Danish: 29 February only in leap years (the century from the seventh digit).
	require.True(t, danish(digitsOf("2902004000")))  // 2000
	require.False(t, danish(digitsOf("2902000000"))) // 1900
	require.False(t, danish(digitsOf("3102851234")))

	// Swedish: samordningsnummer (day + 60).
	require.True(t, luhn(digitsOf("8112189876")))
	require.False(t, luhn(digitsOf("8112189875")))

	// Organisation numbers: a check digit of 10 makes the number invalid.
	require.True(t, mod11(digitsOf("974760673"), orgWeights[:]))
	require.False(t, mod11(digitsOf("974760674"), orgWeights[:]))
}

func digitsOf(s string) []byte {
	b := []byte(s)
	for i := range b {
		b[i] -= '0'
	}
	return b
}

func TestFind(t *testing.T) {
	id := testNID(t, 1985, 4, 23, 123)
	g := newGen(3)
	acc, org, se, fi := g.account(), g.org(), g.swedish(), g.finnish()
	tests := []struct {
		text string
		want []string // "kind:text"
	}{
		{"Pasient " + id + " ringte.", []string{"nid:" + id}},
		{"fnr:" + id[:6] + " " + id[6:] + ".", []string{"nid:" + id[:6] + " " + id[6:]}},
		{"ref" + id, nil},     // glued to a word
		{id + "0", nil},       // twelve digits
		{"x" + id + "y", nil}, // inside a word
		{"tlf 912 34 567, eller +47 22334455.", []string{"phone:912 34 567", "phone:+47 22334455"}},
		{"Mail: Kari.Hansen@example.no.", []string{"email:Kari.Hansen@example.no"}},
		{"<kari@example.no>", []string{"email:kari@example.no"}},
		{"Møte med Per Hansen og Kari Nordmann mandag.", []string{"name:Per Hansen", "name:Kari Nordmann"}},
		{"Finn ut om Dag kommer.", nil},
		{"Hilsen Kari", []string{"name:Kari"}},
		{"dr. Berg sa at Karis mor bor i Bergen.", []string{"name:Berg", "name:Karis"}},
		{"Berg er fint.", nil},
		{"Hansen ringte.", []string{"name:Hansen"}},
		{"KARI HANSEN", []string{"name:KARI HANSEN"}},
		{"Anne-Lise kom.", []string{"name:Anne-Lise"}},
		{"Dato 23.04.1985 kl 10.30, kr 12 345 678, ref 2024-0042.", nil},
		{"konto " + acc[:4] + "." + acc[4:6] + "." + acc[6:], []string{"bank-account:" + acc[:4] + "." + acc[4:6] + "." + acc[6:]}},
		{"org.nr. " + org, []string{"org-number:" + org}},
		{"personnummer " + se + ".", []string{"se-personnummer:" + se}},
		{"HETU " + fi, []string{"fi-hetu:" + fi}},
		{"", nil},
		{"ÆØÅ æøå 😀 ✓", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, m := range Find(tt.text) {
			got = append(got, string(m.Kind)+":"+tt.text[m.Start:m.End])
		}
		require.Equal(t, tt.want, got, "%q", tt.text)
	}
}

func TestAppendFindAllocations(t *testing.T) {
	id := testNID(t, 1985, 4, 23, 123)
	text := strings.Repeat("Pasienten Kari Hansen ("+id+") ringte fra 912 34 567, e-post kari@example.no, om timen 23.04.2025. ", 20)
	dst := AppendFind(nil, text)
	require.Len(t, dst, 80)
	allocs := testing.AllocsPerRun(50, func() { dst = AppendFind(dst[:0], text) })
	require.Zero(t, allocs)
}

func BenchmarkFind(b *testing.B) {
	id := testNID(b, 1985, 4, 23, 123)
	text := strings.Repeat("Pasienten ringte fra 912 34 567 om prøvesvar; fnr "+id+", fastlege Kari Hansen. Kontroll om 6 uker, blodtrykk 141/90. ", 10)
	var dst []Match
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		dst = AppendFind(dst[:0], text)
	}
}

func TestColumnClassification(t *testing.T) {
	g := newGen(4)
	many := func(n int, f func(i int) string) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, f(i))
		}
		return out
	}
	tests := []struct {
		name   string
		values []string
		kind   Kind
	}{
		{"fnr", many(50, func(int) string { return g.nid() }), NID},
		{"x", many(50, func(int) string { return g.nid() }), NID},
		{"epost", many(50, func(i int) string { return g.email(g.given1(), g.family1()) }), Email},
		{"mobil", many(50, func(int) string { return g.phone() }), Phone},
		{"cpr", many(50, func(int) string { return g.danish() }), DanishCPR},
		{"fornavn", many(50, func(int) string { return g.pick(pseudo.GivenNames) }), Name},
		{"who", many(50, func(int) string { return g.pick(pseudo.GivenNames) + " " + g.pick(pseudo.FamilyNames) }), Name},
		{"fodt", many(50, func(int) string { return g.date(1940, 2000).Format("2006-01-02") }), BirthDate},
		{"innlagt", many(50, func(int) string { return g.date(2020, 2024).Format("02.01.2006") }), Date},
		{"kjonn", many(50, func(i int) string { return []string{"M", "K"}[i%2] }), Sex},
		{"gender", many(50, func(i int) string { return []string{"1", "2"}[i%2] }), Sex},
		{"postnr", many(50, func(int) string { return g.digits(4) }), Postcode},
		{"kommune", many(50, func(int) string { return g.pick(municipalities) }), Municipality},
		{"kommunenr", many(50, func(i int) string { return []string{"0301", "4601", "5001"}[i%3] }), Municipality},
		{"alder", many(50, func(int) string { return g.digits(2) }), Age},
		{"fodselsaar", many(50, func(int) string { return "19" + g.digits(2) }), BirthYear},
		{"aar", many(50, func(int) string { return "20" + g.digits(2) }), Year},
		{"yrke", many(50, func(int) string { return g.pick(jobs) }), Occupation},
		{"kode", many(50, func(int) string {
			c, _ := pseudo.NewCoder(bytes.Repeat([]byte{1}, 32))
			return c.Code(pseudo.KindNID, g.nid())
		}), PseudonymCode},
		{"notat", many(50, func(i int) string {
			if i == 7 {
				return "Ring " + g.phone() + " i morgen."
			}
			return "Ingen merknader i dag."
		}), FreeText},
		{"svar", many(50, func(int) string { return g.pick(answers) }), Text},
		{"verdi", many(50, func(int) string { return g.digits(3) }), Other},
		{"lab", many(50, func(int) string { return g.digits(11) }), Other},
		{"tom", many(50, func(int) string { return "" }), Empty},
	}
	for _, tt := range tests {
		r := Column(tt.name, slices.Values(tt.values), Options{})
		require.Equal(t, tt.kind, r.Kind, "%s: %s", tt.name, r.Reason)
		require.Equal(t, tt.kind.Role(), r.Role)
		require.NotEmpty(t, r.Reason)
		for _, v := range tt.values {
			if len(v) > 3 {
				require.NotContains(t, r.Reason, v)
				for _, s := range r.Shapes {
					require.NotContains(t, s.Shape, v)
				}
			}
		}
	}
}

func TestStrayIdentifierWarning(t *testing.T) {
	values := []string{}
	for i := 0; i < 99; i++ {
		values = append(values, "12")
	}
	values = append(values, testNID(t, 1970, 1, 1, 100))
	values = append(values, "fnr:"+testNID(t, 1971, 2, 3, 100))
	r := Column("antall", slices.Values(values), Options{})
	require.Equal(t, Other, r.Kind)
	require.EqualValues(t, 2, r.Identifiers[NID])
	require.Len(t, r.Warnings, 1)
	require.Contains(t, r.Warnings[0], "Norwegian identity number")
}

func TestSampleBounded(t *testing.T) {
	c := NewColumnScanner("notat", Options{SampleSize: 10})
	for i := 0; i < 10000; i++ {
		c.Add(strings.Repeat("x", 1000))
	}
	require.Len(t, c.sample, 10)
	for _, s := range c.sample {
		require.LessOrEqual(t, len(s), maxSampleValue)
	}
	require.LessOrEqual(t, len(c.shapes), maxShapes)
}

// writeParquet writes the CSV file in as Parquet (string columns) to out.
func writeParquet(t *testing.T, in, out string) {
	f, err := os.Open(in)
	require.NoError(t, err)
	defer f.Close()
	r, err := table.NewCSVReader(f, table.CSVOptions{})
	require.NoError(t, err)
	defer r.Close()
	o, err := os.Create(out)
	require.NoError(t, err)
	defer o.Close()
	w, err := table.NewParquetWriter(o, r.Schema(), table.ParquetOptions{})
	require.NoError(t, err)
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		require.NoError(t, w.Write(rec))
		rec.Release()
	}
	require.NoError(t, w.Close())
}

func TestFileCSVAndParquetAgree(t *testing.T) {
	ctx := context.Background()
	in := filepath.Join(corpusDir, "visits.csv")
	a, err := File(ctx, in, FileOptions{})
	require.NoError(t, err)
	require.EqualValues(t, 120, a.Rows)
	require.Len(t, a.SHA256, 64)
	pq := filepath.Join(t.TempDir(), "visits.parquet")
	writeParquet(t, in, pq)
	b, err := File(ctx, pq, FileOptions{Options: Options{SampleSize: 50}})
	require.NoError(t, err)
	require.Equal(t, "parquet", b.Format)
	for i := range a.Columns {
		require.Equal(t, a.Columns[i].Kind, b.Columns[i].Kind, a.Columns[i].Column)
	}
	// Deterministic.
	c, err := File(ctx, in, FileOptions{})
	require.NoError(t, err)
	require.Equal(t, a, c)
}

// TestFileDigestAndProgress: File records the SHA-256 and size of every
// byte of the input, from a file or from standard input, and reports its
// progress after each batch, ending at the whole input.
func TestFileDigestAndProgress(t *testing.T) {
	ctx := context.Background()
	csvPath := filepath.Join(corpusDir, "visits.csv")
	pq := filepath.Join(t.TempDir(), "visits.parquet")
	writeParquet(t, csvPath, pq)
	for _, path := range []string{csvPath, pq} {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		sum := sha256.Sum256(data)
		for _, stdin := range []bool{false, true} {
			var rows []int64
			var done []float64
			o := FileOptions{Progress: func(r int64, d float64) { rows, done = append(rows, r), append(done, d) }}
			arg := path
			if stdin {
				arg, o.Stdin = "-", bytes.NewReader(data)
				o.Format = strings.TrimPrefix(filepath.Ext(path), ".")
			}
			rep, err := File(ctx, arg, o)
			require.NoError(t, err)
			require.Equal(t, hex.EncodeToString(sum[:]), rep.SHA256, arg)
			require.Equal(t, int64(len(data)), rep.Bytes, arg)
			require.NotEmpty(t, rows)
			require.Equal(t, rep.Rows, rows[len(rows)-1])
			if !stdin || o.Format == "parquet" {
				require.Equal(t, 1.0, done[len(done)-1], "%s: the whole input read", arg)
			}
		}
	}
}

func TestTypedColumns(t *testing.T) {
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{{Name: "fnr", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "alder", Type: arrow.PrimitiveTypes.Int32}}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := 0; i < 40; i++ {
		id := testNID(t, 1970+i, 1+i%12, 10+i%18, 100+i)
		var x int64
		for _, c := range id {
			x = x*10 + int64(c-'0')
		}
		b.Field(0).(*array.Int64Builder).Append(x)
		b.Field(1).(*array.Int32Builder).Append(int32(20 + i))
	}
	b.Field(0).(*array.Int64Builder).AppendNull()
	b.Field(1).(*array.Int32Builder).Append(1)
	rec := b.NewRecordBatch()
	defer rec.Release()
	rr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	require.NoError(t, err)
	rep, err := Dataset(context.Background(), recordReader{rr}, Options{})
	require.NoError(t, err)
	require.Equal(t, NID, rep.Columns[0].Kind)
	require.True(t, rep.Columns[0].Rule.Subject)
	require.EqualValues(t, 40, rep.Columns[0].Values)
	require.Equal(t, Age, rep.Columns[1].Kind)
}

// recordReader adapts an array.RecordReader.
type recordReader struct{ r array.RecordReader }

func (r recordReader) Schema() *arrow.Schema { return r.r.Schema() }
func (r recordReader) Next() (arrow.RecordBatch, error) {
	if !r.r.Next() {
		return nil, errEOF
	}
	rec := r.r.RecordBatch()
	rec.Retain()
	return rec, nil
}

var errEOF = io.EOF

func TestWriteRules(t *testing.T) {
	ctx := context.Background()
	a, err := File(ctx, filepath.Join(corpusDir, "participants.csv"), FileOptions{})
	require.NoError(t, err)
	b, err := File(ctx, filepath.Join(corpusDir, "nordic.csv"), FileOptions{})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, WriteRules(&buf, a, b))
	text := buf.String()
	rules, err := pseudo.ParseRules(&buf)
	require.NoError(t, err, buf.String())
	byCol := map[string]pseudo.ColumnRule{}
	for _, c := range rules.Columns {
		byCol[c.Column] = c
	}
	require.Equal(t, pseudo.ColumnRule{Column: "fnr", Action: pseudo.ActionCode, Kind: pseudo.KindNID, Subject: true}, byCol["fnr"])
	require.Equal(t, pseudo.ActionFakeName, byCol["fornavn"].Action)
	require.Equal(t, pseudo.PartGiven, byCol["fornavn"].Part)
	require.Equal(t, pseudo.PartFamily, byCol["etternavn"].Part)
	require.Equal(t, pseudo.ActionRedact, byCol["merknad"].Action)
	require.Equal(t, pseudo.KindEmail, byCol["epost"].Kind)
	require.Equal(t, pseudo.KindPhone, byCol["mobil"].Kind)
	require.Equal(t, pseudo.ActionKeep, byCol["postnummer"].Action)
	require.Equal(t, pseudo.ActionDrop, byCol["kontonummer"].Action)
	require.Len(t, rules.Columns, len(a.Columns)+len(b.Columns))
	require.Contains(t, text, "redact")

	// Awkward column names survive the round trip.
	var out bytes.Buffer
	r := &Report{Columns: []ColumnReport{{Column: "yes"}, {Column: "a: b # c"}, {Column: "æ-ø"}, {Column: "\"q\""}}}
	for i := range r.Columns {
		r.Columns[i].Rule = Suggestion{Action: pseudo.ActionKeep}
	}
	require.NoError(t, WriteRules(&out, r))
	rules, err = pseudo.ParseRules(&out)
	require.NoError(t, err, out.String())
	var names []string
	for _, c := range rules.Columns {
		names = append(names, c.Column)
	}
	require.Equal(t, []string{"yes", "a: b # c", "æ-ø", "\"q\""}, names)
}
