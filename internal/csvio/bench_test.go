package csvio

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
)

// benchData generates rows records of 10 columns like a participant list:
// id, national-id-like number, first and last name, birth date, e-mail,
// phone, municipality, a score and a comment. Every tenth comment is quoted
// (it holds the delimiter, a quote or a line break) if quoted is set.
func benchData(rows int, comma byte, quoted bool) []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	first := []string{"Åse", "Bjørn", "Kari", "Ola", "Øystein", "Ingrid", "Per", "Sigrid", "Lars", "Ærlig"}
	last := []string{"Nordmann", "Ødegård", "Hansen", "Johansen", "Sæther", "Berg", "Haugen", "Dahl"}
	towns := []string{"Oslo", "Bergen", "Tromsø", "Trondheim", "Bærum", "Ålesund", "Bodø"}
	c := string(comma)
	var b bytes.Buffer
	b.WriteString(strings.Join([]string{"id", "pnr", "fornavn", "etternavn", "fodt", "epost", "telefon", "kommune", "poeng", "kommentar"}, c) + "\n")
	for i := 1; i <= rows; i++ {
		fn, ln := first[rng.IntN(len(first))], last[rng.IntN(len(last))]
		comment := "ingen merknad"
		if quoted && i%10 == 0 {
			switch rng.IntN(3) {
			case 0:
				comment = `"sa ""nei"" ` + c + ` ring igjen"`
			case 1:
				comment = "\"linje 1\nlinje 2\""
			default:
				comment = `"flyttet` + c + ` ny adresse"`
			}
		}
		fmt.Fprintf(&b, "%d%s%011d%s%s%s%s%s%02d.%02d.%d%s%s.%s@example.org%s+47 %08d%s%s%s%d.%d%s%s\n",
			i, c, rng.Int64N(1e11), c, fn, c, ln, c, 1+rng.IntN(28), 1+rng.IntN(12), 1940+rng.IntN(70), c,
			strings.ToLower(fn), strings.ToLower(ln), c, rng.IntN(1e8), c, towns[rng.IntN(len(towns))], c,
			rng.IntN(100), rng.IntN(10), c, comment)
	}
	return b.Bytes()
}

const benchRows = 20000

func BenchmarkRead(b *testing.B) {
	for _, quoted := range []bool{false, true} {
		data := benchData(benchRows, ',', quoted)
		name := "Plain"
		if quoted {
			name = "Quoted10pct"
		}
		b.Run(name+"/csvio", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				r := NewReader(bytes.NewReader(data))
				r.Comma = ','
				n := 0
				for {
					rec, err := r.Read()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n += len(rec.Fields)
				}
				if n != (benchRows+1)*10 {
					b.Fatalf("%d fields", n)
				}
			}
		})
		b.Run(name+"/csvio-detect", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				r := NewReader(bytes.NewReader(data))
				for {
					if _, err := r.Read(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		for _, reuse := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/encoding-csv-reuse=%v", name, reuse), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					r := csv.NewReader(bytes.NewReader(data))
					r.ReuseRecord = reuse
					for {
						if _, err := r.Read(); err == io.EOF {
							break
						} else if err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
	// Every field quoted, as some exporters write: all records take the
	// general parser.
	{
		var all bytes.Buffer
		r := csv.NewReader(bytes.NewReader(benchData(benchRows, ',', true)))
		recs, err := r.ReadAll()
		if err != nil {
			b.Fatal(err)
		}
		for _, rec := range recs {
			for i, f := range rec {
				if i > 0 {
					all.WriteByte(',')
				}
				all.WriteString(`"` + strings.ReplaceAll(f, `"`, `""`) + `"`)
			}
			all.WriteByte('\n')
		}
		data := all.Bytes()
		b.Run("AllQuoted/csvio", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				r := NewReader(bytes.NewReader(data))
				for {
					if _, err := r.Read(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run("AllQuoted/encoding-csv-reuse=true", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				r := csv.NewReader(bytes.NewReader(data))
				r.ReuseRecord = true
				for {
					if _, err := r.Read(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
	// Windows-1252: every record has non-ASCII names to decode.
	data, err := charmap.Windows1252.NewEncoder().Bytes(benchData(benchRows, ';', true))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Windows1252/csvio", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			r := NewReader(bytes.NewReader(data))
			r.Encoding = Windows1252
			for {
				if _, err := r.Read(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("Windows1252/encoding-csv+charmap", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			r := csv.NewReader(charmap.Windows1252.NewDecoder().Reader(bytes.NewReader(data)))
			r.Comma = ';'
			r.ReuseRecord = true
			for {
				if _, err := r.Read(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

func BenchmarkWrite(b *testing.B) {
	data := benchData(benchRows, ',', true)
	var recs [][]string
	r := csv.NewReader(bytes.NewReader(data))
	recs, err := r.ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	byteRecs := make([][][]byte, len(recs))
	for i, rec := range recs {
		for _, f := range rec {
			byteRecs[i] = append(byteRecs[i], []byte(f))
		}
	}
	b.Run("csvio", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			w := NewWriter(io.Discard, Dialect{Comma: ','})
			for _, rec := range byteRecs {
				if err := w.Write(rec); err != nil {
					b.Fatal(err)
				}
			}
			w.Flush()
		}
	})
	b.Run("csvio-WriteString", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			w := NewWriter(io.Discard, Dialect{Comma: ','})
			for _, rec := range recs {
				if err := w.WriteString(rec); err != nil {
					b.Fatal(err)
				}
			}
			w.Flush()
		}
	})
	b.Run("csvio-Windows1252", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			w := NewWriter(io.Discard, Dialect{Comma: ',', Encoding: Windows1252})
			for _, rec := range byteRecs {
				if err := w.Write(rec); err != nil {
					b.Fatal(err)
				}
			}
			w.Flush()
		}
	})
	b.Run("encoding-csv", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			w := csv.NewWriter(io.Discard)
			for _, rec := range recs {
				if err := w.Write(rec); err != nil {
					b.Fatal(err)
				}
			}
			w.Flush()
		}
	})
}
