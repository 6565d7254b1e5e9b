package interop

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xitongsys/parquet-go-source/local"
	"github.com/xitongsys/parquet-go/parquet"
	"github.com/xitongsys/parquet-go/reader"
	"github.com/xitongsys/parquet-go/writer"
)

// participant is one row of the synthetic input, as xitongsys/parquet-go
// writes it: required columns of every primitive type pseudokit should carry
// through untouched, and two optional columns with nulls.
type participant struct {
	Fnr     string   `parquet:"name=fnr, type=BYTE_ARRAY, convertedtype=UTF8"`
	First   string   `parquet:"name=first, type=BYTE_ARRAY, convertedtype=UTF8"`
	Last    string   `parquet:"name=last, type=BYTE_ARRAY, convertedtype=UTF8"`
	Visits  int64    `parquet:"name=visits, type=INT64"`
	Weight  float64  `parquet:"name=weight, type=DOUBLE"`
	Note    *string  `parquet:"name=note, type=BYTE_ARRAY, convertedtype=UTF8, repetitiontype=OPTIONAL"`
	Score   *int64   `parquet:"name=score, type=INT64, repetitiontype=OPTIONAL"`
	Consent bool     `parquet:"name=consent, type=BOOLEAN"`
	Birth   int32    `parquet:"name=birth, type=INT32, convertedtype=DATE"`
	Seen    int64    `parquet:"name=seen, type=INT64, convertedtype=TIMESTAMP_MILLIS"`
	Ratio   *float64 `parquet:"name=ratio, type=DOUBLE, repetitiontype=OPTIONAL"`
}

var columns = []string{"fnr", "first", "last", "visits", "weight", "note", "score", "consent", "birth", "seen", "ratio"}

// untouched are the columns pseudokit must copy value for value.
var untouched = []string{"visits", "weight", "note", "score", "consent", "birth", "seen", "ratio"}

var codeRE = regexp.MustCompile(`^K[0-9A-HJKMNP-TV-Z]{17}$`)

const (
	numPersons = 300
	numRows    = 5000
)

// syntheticFNR returns a valid Test-Norge fødselsnummer (month + 80) for a
// person born on the given date in 1900-1999, starting from individual
// number ind (000-499) and moving on while the check digits would be 10.
func syntheticFNR(birth time.Time, ind int) string {
	w1 := []int{3, 7, 6, 1, 8, 9, 4, 5, 2}
	w2 := []int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2}
	y, m, d := birth.Date()
	if y < 1900 || y > 1999 {
		panic("birth year outside 1900-1999")
	}
	for i := 0; i < 500; i++ {
		ii := (ind + i) % 500
		s := fmt.Sprintf("%02d%02d%02d%03d", d, int(m)+80, y%100, ii)
		dig := make([]int, 0, 11)
		for _, c := range s {
			dig = append(dig, int(c-'0'))
		}
		k1 := checkDigit(dig, w1)
		if k1 == 10 {
			continue
		}
		dig = append(dig, k1)
		k2 := checkDigit(dig, w2)
		if k2 == 10 {
			continue
		}
		return fmt.Sprintf("%s%d%d", s, k1, k2)
	}
	panic("no individual number has valid check digits")
}

func checkDigit(dig, w []int) int {
	s := 0
	for i, x := range w {
		s += x * dig[i]
	}
	k := 11 - s%11
	if k == 11 {
		k = 0
	}
	return k
}

func TestSyntheticFNR(t *testing.T) {
	// Check digits worked out by hand for 01.01.1990, individual 123:
	// 0 1 8 1 9 0 1 2 3 -> K1: 0+7+48+1+72+0+4+10+6 = 148, 148 mod 11 = 5, K1 = 6;
	// K2: 0+4+24+2+63+0+5+8+9+12 = 127, 127 mod 11 = 6, K2 = 5.
	assert.Equal(t, "01819012365", syntheticFNR(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), 123))
}

var (
	givenNames  = []string{"Ola", "Kari", "Per", "Ingrid", "Nils", "Sigrid", "Jon", "Astrid", "Lars", "Solveig", "Øystein", "Åse"}
	familyNames = []string{"Nordmann", "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Berg", "Haugen", "Bjørnstad", "Ødegård"}
)

type person struct{ fnr, first, last string }

// makeRows returns numRows participants drawn from numPersons persons, so
// that most persons appear in several rows.
func makeRows(t *testing.T) []participant {
	rng := rand.New(rand.NewPCG(2024, 7))
	seen := map[string]bool{}
	persons := make([]person, 0, numPersons)
	for len(persons) < numPersons {
		birth := time.Date(1930+rng.IntN(70), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
		fnr := syntheticFNR(birth, rng.IntN(500))
		if seen[fnr] {
			continue
		}
		seen[fnr] = true
		persons = append(persons, person{fnr, givenNames[rng.IntN(len(givenNames))], familyNames[rng.IntN(len(familyNames))]})
	}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	rows := make([]participant, numRows)
	for i := range rows {
		p := persons[rng.IntN(len(persons))]
		r := participant{
			Fnr: p.fnr, First: p.first, Last: p.last,
			Visits:  rng.Int64N(1_000_000) - 1000,
			Weight:  40 + rng.Float64()*80,
			Consent: rng.IntN(2) == 0,
			Birth:   int32(rng.IntN(30000) - 10000),
			Seen:    base + rng.Int64N(365*24*3600*1000),
		}
		if rng.IntN(3) > 0 {
			s := fmt.Sprintf("note %d, «æøå» \"quoted\"", rng.IntN(1000))
			r.Note = &s
		}
		if rng.IntN(4) > 0 {
			v := rng.Int64N(100)
			r.Score = &v
		}
		if rng.IntN(5) > 0 {
			v := rng.NormFloat64()
			r.Ratio = &v
		}
		rows[i] = r
	}
	// Make sure the first rows share persons, so the test needs no luck.
	rows[1].Fnr, rows[1].First, rows[1].Last = rows[0].Fnr, rows[0].First, rows[0].Last
	require.Equal(t, numRows, len(rows))
	return rows
}

func writeParquet(t *testing.T, path string, rows []participant) {
	fw, err := local.NewLocalFileWriter(path)
	require.NoError(t, err)
	pw, err := writer.NewParquetWriter(fw, new(participant), 2)
	require.NoError(t, err)
	pw.RowGroupSize = 64 * 1024 // several row groups
	pw.PageSize = 8 * 1024
	pw.CompressionType = parquet.CompressionCodec_SNAPPY
	for _, r := range rows {
		require.NoError(t, pw.Write(r))
	}
	require.NoError(t, pw.WriteStop())
	require.NoError(t, fw.Close())
}

func writeCSV(t *testing.T, path string, rows []participant) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	require.NoError(t, w.Write(columns))
	for _, r := range rows {
		require.NoError(t, w.Write(csvRecord(r)))
	}
	w.Flush()
	require.NoError(t, w.Error())
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o600))
}

func csvRecord(r participant) []string {
	opt := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	rec := []string{r.Fnr, r.First, r.Last, strconv.FormatInt(r.Visits, 10), strconv.FormatFloat(r.Weight, 'g', -1, 64),
		opt(r.Note), "", strconv.FormatBool(r.Consent), strconv.Itoa(int(r.Birth)), strconv.FormatInt(r.Seen, 10), ""}
	if r.Score != nil {
		rec[6] = strconv.FormatInt(*r.Score, 10)
	}
	if r.Ratio != nil {
		rec[10] = strconv.FormatFloat(*r.Ratio, 'g', -1, 64)
	}
	return rec
}

// pqColumn is one column as xitongsys/parquet-go reads it.
type pqColumn struct {
	elem   *parquet.SchemaElement
	values []any // nil for a null
	dls    []int32
}

// readParquet reads every column of the file at path with xitongsys/parquet-go.
func readParquet(t *testing.T, path string) (cols map[string]*pqColumn, order []string, rows int64) {
	t.Helper()
	fr, err := local.NewLocalFileReader(path)
	require.NoError(t, err)
	defer fr.Close()
	pr, err := reader.NewParquetColumnReader(fr, 2)
	require.NoError(t, err, "xitongsys cannot open %s", path)
	defer pr.ReadStop()
	rows = pr.GetNumRows()
	schema := pr.Footer.GetSchema()
	require.Equal(t, len(schema)-1, len(pr.SchemaHandler.ValueColumns), "flat schema expected")
	cols = map[string]*pqColumn{}
	for i, el := range schema[1:] {
		name := pr.SchemaHandler.GetExName(i + 1) // the footer now holds Go-style names
		require.Zero(t, el.GetNumChildren(), "column %s is nested", name)
		vals, rls, dls, err := pr.ReadColumnByIndex(int64(i), rows)
		require.NoError(t, err, "column %s", name)
		require.Len(t, vals, int(rows), "column %s", name)
		for _, rl := range rls {
			require.Zero(t, rl)
		}
		cols[name] = &pqColumn{elem: el, values: vals, dls: dls}
		order = append(order, name)
	}
	return cols, order, rows
}

// build builds the pseudokit binary from the parent module into dir.
func build(t *testing.T, dir string) string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	require.Contains(t, string(gomod), "module github.com/pseudokit/pseudokit\n", "the interop test must run inside interop/ of the pseudokit repository")
	bin := filepath.Join(dir, "pseudokit")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/pseudokit")
	cmd.Dir = root
	// Build the parent module as it is: never let -mod=mod (fine in this
	// module) touch its go.mod, and ignore any go.work.
	var flags []string
	for _, f := range strings.Fields(os.Getenv("GOFLAGS")) {
		if !strings.HasPrefix(f, "-mod=") {
			flags = append(flags, f)
		}
	}
	cmd.Env = append(os.Environ(), "GOFLAGS="+strings.Join(append(flags, "-mod=readonly"), " "), "GOWORK=off")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/pseudokit:\n%s", out)
	return bin
}

type kit struct {
	t               *testing.T
	bin, vault, pwf string
}

func (k *kit) run(args ...string) string {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(k.t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.bin, args...)
	cmd.Env = append(os.Environ(), "PSEUDOKIT_PASSPHRASE=", "PSEUDOKIT_VAULT=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(k.t, err, "pseudokit %s:\n%s", strings.Join(args, " "), stderr.String())
	return string(out) + stderr.String()
}

func (k *kit) pseudonymize(in, out string, args ...string) string {
	k.t.Helper()
	a := append([]string{"pseudonymize", "--vault", k.vault, "--passphrase-file", k.pwf}, args...)
	return k.run(append(a, in, out)...)
}

func TestInterop(t *testing.T) {
	dir := t.TempDir()
	k := &kit{t: t, bin: build(t, dir), vault: filepath.Join(dir, "project.vault"), pwf: filepath.Join(dir, "pass")}
	require.NoError(t, os.WriteFile(k.pwf, []byte("correct horse battery staple\n"), 0o600))
	k.run("vault", "init", "--vault", k.vault, "--project", "interop", "--passphrase-file", k.pwf, "--kdf-time", "2", "--kdf-memory", "19")

	rows := makeRows(t)
	inPQ := filepath.Join(dir, "participants.parquet")
	writeParquet(t, inPQ, rows)
	inCols, _, n := readParquet(t, inPQ)
	require.EqualValues(t, numRows, n)

	// 1. xitongsys Parquet -> pseudokit -> Parquet, read back with xitongsys.
	outPQ := filepath.Join(dir, "out.parquet")
	k.pseudonymize(inPQ, outPQ, "--id", "fnr", "--name", "first,last")
	cols, order, n := readParquet(t, outPQ)
	require.EqualValues(t, numRows, n, "row count")
	require.Equal(t, columns, order, "columns and their order")
	for _, name := range untouched {
		in, out := inCols[name], cols[name]
		assert.Equal(t, in.elem.GetType(), out.elem.GetType(), "%s: physical type", name)
		assert.Equal(t, in.elem.GetRepetitionType(), out.elem.GetRepetitionType(), "%s: repetition", name)
		assert.Equal(t, convertedType(in.elem), convertedType(out.elem), "%s: converted type", name)
		if in.elem.LogicalType != nil {
			assert.Equal(t, in.elem.LogicalType, out.elem.LogicalType, "%s: logical type", name)
		}
		assert.Equal(t, in.values, out.values, "%s: values (nulls included), in row order", name)
		assert.Equal(t, in.dls, out.dls, "%s: definition levels", name)
	}
	// The values xitongsys read back are the ones the test wrote.
	for i, r := range rows {
		require.Equal(t, r.Visits, cols["visits"].values[i])
		require.Equal(t, r.Weight, cols["weight"].values[i])
		require.Equal(t, r.Consent, cols["consent"].values[i])
		require.Equal(t, r.Birth, cols["birth"].values[i])
		require.Equal(t, r.Seen, cols["seen"].values[i])
		if r.Note == nil {
			require.Nil(t, cols["note"].values[i], "row %d: note should be null", i)
		} else {
			require.Equal(t, *r.Note, cols["note"].values[i])
		}
		if r.Score == nil {
			require.Nil(t, cols["score"].values[i], "row %d: score should be null", i)
		} else {
			require.Equal(t, *r.Score, cols["score"].values[i])
		}
		if r.Ratio == nil {
			require.Nil(t, cols["ratio"].values[i], "row %d: ratio should be null", i)
		} else {
			require.Equal(t, *r.Ratio, cols["ratio"].values[i])
		}
	}
	assert.Equal(t, parquet.Type_BYTE_ARRAY, cols["fnr"].elem.GetType())
	codeOf := map[string]string{} // fnr -> code
	fnrOf := map[string]string{}  // code -> fnr
	nameOf := map[string]string{} // code -> fake first and last name
	sameName := 0
	for i, r := range rows {
		code, ok := cols["fnr"].values[i].(string)
		require.True(t, ok, "row %d: code is %T", i, cols["fnr"].values[i])
		require.Regexp(t, codeRE, code, "row %d", i)
		if c, seen := codeOf[r.Fnr]; seen {
			require.Equal(t, c, code, "row %d: the same person got two codes", i)
		}
		if f, seen := fnrOf[code]; seen {
			require.Equal(t, f, r.Fnr, "row %d: two persons got the same code", i)
		}
		codeOf[r.Fnr], fnrOf[code] = code, r.Fnr
		first, _ := cols["first"].values[i].(string)
		last, _ := cols["last"].values[i].(string)
		require.NotEmpty(t, first, "row %d", i)
		require.NotEmpty(t, last, "row %d", i)
		if first == r.First && last == r.Last {
			sameName++
		}
		fake := first + " " + last
		if prev, seen := nameOf[code]; seen {
			require.Equal(t, prev, fake, "row %d: a person got two fictitious names", i)
		}
		nameOf[code] = fake
	}
	require.Equal(t, cols["fnr"].values[0], cols["fnr"].values[1], "rows 0 and 1 are the same person")
	require.Less(t, len(codeOf), numRows/2, "persons repeat")
	assert.Less(t, sameName, numRows/20, "fictitious names should rarely equal the real ones")
	outBytes, err := os.ReadFile(outPQ)
	require.NoError(t, err)
	assertNoFNR(t, outBytes, codeOf, "Parquet output")

	// 2. The same input to CSV: same codes, kept values as text.
	outCSV := filepath.Join(dir, "out.csv")
	k.pseudonymize(inPQ, outCSV, "--id", "fnr", "--name", "first,last")
	csvBytes, err := os.ReadFile(outCSV)
	require.NoError(t, err)
	assertNoFNR(t, csvBytes, codeOf, "CSV output")
	recs, err := csv.NewReader(bytes.NewReader(csvBytes)).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, numRows+1)
	require.Equal(t, columns, recs[0])
	for i, rec := range recs[1:] {
		r := rows[i]
		want := csvRecord(r)
		require.Equal(t, cols["fnr"].values[i], rec[0], "row %d: CSV and Parquet codes differ", i)
		require.Equal(t, cols["first"].values[i], rec[1], "row %d", i)
		require.Equal(t, cols["last"].values[i], rec[2], "row %d", i)
		for _, j := range []int{3, 4, 5, 6, 7, 10} { // plain values print as the test prints them
			require.Equal(t, want[j], rec[j], "row %d column %s", i, columns[j])
		}
		require.Equal(t, time.Unix(int64(r.Birth)*86400, 0).UTC().Format("2006-01-02"), rec[8], "row %d birth (DATE)", i)
		require.Contains(t, rec[9], time.UnixMilli(r.Seen).UTC().Format("2006-01-02"), "row %d seen (TIMESTAMP)", i)
	}

	// 3. A CSV of the same participants -> pseudokit -> Parquet, read with
	// xitongsys: every column is text, the codes are the same as from Parquet.
	inCSV := filepath.Join(dir, "participants.csv")
	writeCSV(t, inCSV, rows)
	out2 := filepath.Join(dir, "from-csv.parquet")
	rulesFile := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rulesFile, []byte(`version: 1
columns:
  fnr:   {action: code, kind: nid, subject: true}
  first: {action: fake-name, part: given}
  last:  {action: fake-name, part: family}
  visits: keep
  weight: keep
  note: keep
  score: keep
  consent: keep
  birth: keep
  seen: keep
  ratio: keep
`), 0o600))
	k.pseudonymize(inCSV, out2, "--rules", rulesFile)
	cols2, order2, n2 := readParquet(t, out2)
	require.EqualValues(t, numRows, n2)
	require.Equal(t, columns, order2)
	for _, name := range columns {
		c := cols2[name]
		assert.Equal(t, parquet.Type_BYTE_ARRAY, c.elem.GetType(), name)
		assert.True(t, c.elem.ConvertedType != nil && *c.elem.ConvertedType == parquet.ConvertedType_UTF8 ||
			c.elem.LogicalType != nil && c.elem.LogicalType.IsSetSTRING(), "%s: want a UTF-8 string column", name)
	}
	for i, r := range rows {
		want := csvRecord(r)
		for j, name := range columns {
			got := cols2[name].values[i]
			switch j {
			case 0, 1, 2:
				require.Equal(t, cols[name].values[i], got, "row %d %s: CSV and Parquet input give different output", i, name)
			default:
				require.Equal(t, want[j], got, "row %d %s", i, name)
			}
		}
	}
	b2, err := os.ReadFile(out2)
	require.NoError(t, err)
	assertNoFNR(t, b2, codeOf, "Parquet output from CSV")

	// 4. pseudokit's own CSV output converted to Parquet by pseudokit (all
	// columns kept), read with xitongsys: the text comes through unchanged.
	out3 := filepath.Join(dir, "converted.parquet")
	k.pseudonymize(outCSV, out3, "--keep", strings.Join(columns, ","))
	cols3, order3, n3 := readParquet(t, out3)
	require.EqualValues(t, numRows, n3)
	require.Equal(t, columns, order3)
	for i, rec := range recs[1:] {
		for j, name := range columns {
			require.Equal(t, rec[j], cols3[name].values[i], "row %d %s", i, name)
		}
	}
}

// convertedType returns el's converted type, "" for none: a plain INT64 and
// one marked INT_64 (as arrow-go writes it) mean the same.
func convertedType(el *parquet.SchemaElement) string {
	if el.ConvertedType == nil {
		return ""
	}
	c := *el.ConvertedType
	if c == parquet.ConvertedType_INT_64 && el.GetType() == parquet.Type_INT64 ||
		c == parquet.ConvertedType_INT_32 && el.GetType() == parquet.Type_INT32 {
		return ""
	}
	return c.String()
}

// assertNoFNR checks that no original identity number occurs in b.
func assertNoFNR(t *testing.T, b []byte, fnrs map[string]string, what string) {
	t.Helper()
	for fnr := range fnrs {
		require.False(t, bytes.Contains(b, []byte(fnr)), "%s contains an original identity number", what)
	}
}
