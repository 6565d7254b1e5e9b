// Package synth makes synthetic participant datasets for pseudokit's
// benchmarks: a pool of fictitious persons with valid Test-Norge identity
// numbers (month + 80, so none can belong to a real person), from which rows
// are drawn, so that persons repeat as they do in real registry extracts.
// Everything is deterministic from a seed.
package synth

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pseudokit/pseudokit/pseudo/nid"
)

// Columns are the dataset's columns, in order.
var Columns = []string{"fnr", "first_name", "last_name", "email", "birth_year", "sex", "postcode", "municipality", "diagnosis", "measurement"}

// Person is one fictitious person of the pool.
type Person struct {
	FNR          string
	First, Last  string
	Email        string
	BirthYear    int
	Sex          string // "M" or "K" (kvinne), from the identity number
	Postcode     string
	Municipality string
}

// Pool is a set of distinct fictitious persons.
type Pool struct {
	Persons []Person
}

// NewPool makes n distinct persons born 1930-1999, deterministically from seed.
func NewPool(n int, seed uint64) (*Pool, error) {
	if n <= 0 || n > 5_000_000 {
		return nil, fmt.Errorf("synth: pool size %d out of range 1-5000000", n)
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	seen := make(map[string]struct{}, n)
	p := &Pool{Persons: make([]Person, 0, n)}
	for len(p.Persons) < n {
		birth := time.Date(1930+rng.IntN(70), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
		ind := rng.IntN(500) // 000-499: born 1900-1999
		num, err := nid.Synthetic(birth, ind, nid.FNR, true)
		if errors.Is(err, nid.ErrNoCheckDigits) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
		fnr := num.String()
		if _, dup := seen[fnr]; dup {
			continue
		}
		seen[fnr] = struct{}{}
		sex := "K"
		if ind%2 == 1 {
			sex = "M"
		}
		first := givenF[rng.IntN(len(givenF))]
		if sex == "M" {
			first = givenM[rng.IntN(len(givenM))]
		}
		last := family[rng.IntN(len(family))]
		m := rng.IntN(len(municipalities))
		p.Persons = append(p.Persons, Person{
			FNR: fnr, First: first, Last: last,
			Email:        ascii(strings.ToLower(first)) + "." + ascii(strings.ToLower(last)) + strconv.Itoa(len(p.Persons)%1000) + "@" + domains[rng.IntN(len(domains))],
			BirthYear:    birth.Year(),
			Sex:          sex,
			Postcode:     fmt.Sprintf("%04d", municipalities[m].post+rng.IntN(50)),
			Municipality: municipalities[m].name,
		})
	}
	return p, nil
}

var toASCII = strings.NewReplacer("æ", "ae", "ø", "o", "å", "a", "é", "e")

func ascii(s string) string { return toASCII.Replace(s) }

// Options say what to generate.
type Options struct {
	Rows    int64  // number of data rows
	Persons int    // size of the person pool (default 100,000)
	Seed    uint64 // seed of everything random
	// RowSeed, if not 0, seeds the draws of rows apart from the pool: files
	// made with one Seed and different RowSeeds share their persons, as
	// the partitions of one registry extract do.
	RowSeed uint64
}

// Generator draws rows from a pool.
type Generator struct {
	pool *Pool
	rng  *rand.Rand
	rows int64
}

// New makes a generator.
func New(o Options) (*Generator, error) {
	if o.Persons == 0 {
		o.Persons = 100_000
	}
	if o.Rows < 0 {
		return nil, fmt.Errorf("synth: negative row count")
	}
	pool, err := NewPool(o.Persons, o.Seed)
	if err != nil {
		return nil, err
	}
	rowSeed := o.RowSeed
	if rowSeed == 0 {
		rowSeed = o.Seed
	}
	return &Generator{pool: pool, rng: rand.New(rand.NewPCG(rowSeed, 1)), rows: o.Rows}, nil
}

// row draws the next row's person, diagnosis and measurement (tenths).
func (g *Generator) row() (*Person, string, int) {
	p := &g.pool.Persons[g.rng.IntN(len(g.pool.Persons))]
	return p, diagnoses[g.rng.IntN(len(diagnoses))], 30 + g.rng.IntN(1000)
}

// WriteCSV writes the header and the rows as comma-separated UTF-8 with LF
// line endings. No value needs quoting, so rows are built byte by byte.
func (g *Generator) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString(strings.Join(Columns, ",") + "\n")
	buf := make([]byte, 0, 256)
	for i := int64(0); i < g.rows; i++ {
		p, diag, m := g.row()
		buf = buf[:0]
		buf = append(buf, p.FNR...)
		buf = append(buf, ',')
		buf = append(buf, p.First...)
		buf = append(buf, ',')
		buf = append(buf, p.Last...)
		buf = append(buf, ',')
		buf = append(buf, p.Email...)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(p.BirthYear), 10)
		buf = append(buf, ',')
		buf = append(buf, p.Sex...)
		buf = append(buf, ',')
		buf = append(buf, p.Postcode...)
		buf = append(buf, ',')
		buf = append(buf, p.Municipality...)
		buf = append(buf, ',')
		buf = append(buf, diag...)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(m/10), 10)
		buf = append(buf, '.', byte('0'+m%10), '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Schema is the Parquet file's schema: birth_year is int64, measurement
// float64, the rest strings.
var Schema = arrow.NewSchema([]arrow.Field{
	{Name: "fnr", Type: arrow.BinaryTypes.String},
	{Name: "first_name", Type: arrow.BinaryTypes.String},
	{Name: "last_name", Type: arrow.BinaryTypes.String},
	{Name: "email", Type: arrow.BinaryTypes.String},
	{Name: "birth_year", Type: arrow.PrimitiveTypes.Int64},
	{Name: "sex", Type: arrow.BinaryTypes.String},
	{Name: "postcode", Type: arrow.BinaryTypes.String},
	{Name: "municipality", Type: arrow.BinaryTypes.String},
	{Name: "diagnosis", Type: arrow.BinaryTypes.String},
	{Name: "measurement", Type: arrow.PrimitiveTypes.Float64},
}, nil)

// BatchRows is the number of rows of a Parquet record batch.
const BatchRows = 64 * 1024

// WriteParquet writes the rows as a Snappy-compressed Parquet file, in row
// groups of up to 1Mi rows.
func (g *Generator) WriteParquet(w io.Writer) error {
	mem := memory.DefaultAllocator
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(1<<20),
		parquet.WithCreatedBy("pseudokit-benchmarks-gen"),
	)
	fw, err := pqarrow.NewFileWriter(Schema, struct{ io.Writer }{w}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem)))
	if err != nil {
		return err
	}
	b := array.NewRecordBuilder(mem, Schema)
	defer b.Release()
	str := func(i int) *array.StringBuilder { return b.Field(i).(*array.StringBuilder) }
	by := b.Field(4).(*array.Int64Builder)
	ms := b.Field(9).(*array.Float64Builder)
	for done := int64(0); done < g.rows; {
		n := min(int64(BatchRows), g.rows-done)
		for range n {
			p, diag, m := g.row()
			str(0).Append(p.FNR)
			str(1).Append(p.First)
			str(2).Append(p.Last)
			str(3).Append(p.Email)
			by.Append(int64(p.BirthYear))
			str(5).Append(p.Sex)
			str(6).Append(p.Postcode)
			str(7).Append(p.Municipality)
			str(8).Append(diag)
			ms.Append(float64(m) / 10)
		}
		rec := b.NewRecordBatch()
		err := fw.WriteBuffered(rec)
		rec.Release()
		if err != nil {
			fw.Close()
			return err
		}
		done += n
	}
	return fw.Close()
}

var givenF = []string{"Anne", "Inger", "Kari", "Marit", "Ingrid", "Liv", "Eva", "Berit", "Astrid", "Bjørg", "Hilde", "Anna", "Solveig", "Marianne", "Randi", "Ida", "Nina", "Maria", "Elisabeth", "Kristin", "Ragnhild", "Åse", "Sigrid", "Tone", "Nora", "Emma", "Sofie", "Thea", "Sara", "Silje"}

var givenM = []string{"Jan", "Per", "Bjørn", "Ole", "Lars", "Kjell", "Knut", "Arne", "Svein", "Thomas", "Hans", "Geir", "Tor", "Morten", "Terje", "Odd", "Erik", "Martin", "Andreas", "John", "Anders", "Rune", "Trond", "Tore", "Jon", "Øystein", "Håkon", "Magnus", "Jonas", "Sindre"}

var family = []string{"Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen", "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen", "Johannessen", "Andreassen", "Jacobsen", "Dahl", "Jørgensen", "Henriksen", "Lund", "Halvorsen", "Sørensen", "Jakobsen", "Moen", "Gundersen", "Iversen", "Strand", "Solberg", "Svendsen", "Eide", "Knutsen", "Martinsen", "Paulsen", "Bakken", "Kristoffersen", "Mathisen", "Lie", "Amundsen", "Nguyen", "Rasmussen", "Ali", "Lunde", "Solheim", "Berge", "Moe", "Nygård", "Bakke"}

var domains = []string{"example.no", "example.com", "example.org", "test.invalid"}

var municipalities = []struct {
	name string
	post int
}{
	{"Oslo", 150}, {"Bergen", 5003}, {"Trondheim", 7010}, {"Stavanger", 4005}, {"Bærum", 1300},
	{"Kristiansand", 4608}, {"Drammen", 3011}, {"Asker", 1383}, {"Lillestrøm", 2000}, {"Fredrikstad", 1601},
	{"Sandnes", 4306}, {"Tromsø", 9008}, {"Sarpsborg", 1702}, {"Skien", 3705}, {"Ålesund", 6002},
	{"Bodø", 8006}, {"Larvik", 3256}, {"Tønsberg", 3110}, {"Arendal", 4836}, {"Hamar", 2317},
	{"Gjøvik", 2815}, {"Molde", 6413}, {"Harstad", 9405}, {"Lillehammer", 2609}, {"Alta", 9510},
}

var diagnoses = []string{"E11.9", "E10.9", "I10", "I25.1", "I48.9", "I50.9", "J44.9", "J45.9", "F32.9", "F41.1",
	"F33.1", "M54.5", "M17.9", "M81.9", "K21.9", "K58.9", "N18.3", "G43.9", "G20", "C50.9",
	"C61", "C18.9", "E66.9", "E78.5", "Z00.0", "R51", "L40.9", "H40.1", "D50.9", "E03.9"}
