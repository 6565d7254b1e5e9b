package pipeline

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/xitongsys/parquet-go-source/buffer"
	"github.com/xitongsys/parquet-go/reader"

	"github.com/pseudokit/pseudokit/benchmarks/synth"
	"github.com/pseudokit/pseudokit/internal/table"
)

// synthRow is a row of the synthetic dataset as Beam's parquetio (built on
// xitongsys/parquet-go) needs it: a Go struct per schema.
type synthRow struct {
	Fnr          string  `parquet:"name=fnr, type=BYTE_ARRAY, convertedtype=UTF8"`
	First        string  `parquet:"name=first_name, type=BYTE_ARRAY, convertedtype=UTF8"`
	Last         string  `parquet:"name=last_name, type=BYTE_ARRAY, convertedtype=UTF8"`
	Email        string  `parquet:"name=email, type=BYTE_ARRAY, convertedtype=UTF8"`
	BirthYear    int64   `parquet:"name=birth_year, type=INT64"`
	Sex          string  `parquet:"name=sex, type=BYTE_ARRAY, convertedtype=UTF8"`
	Postcode     string  `parquet:"name=postcode, type=BYTE_ARRAY, convertedtype=UTF8"`
	Municipality string  `parquet:"name=municipality, type=BYTE_ARRAY, convertedtype=UTF8"`
	Diagnosis    string  `parquet:"name=diagnosis, type=BYTE_ARRAY, convertedtype=UTF8"`
	Measurement  float64 `parquet:"name=measurement, type=DOUBLE"`
}

// BenchmarkParquetRead measures the choice made for the pipeline's Parquet
// input: arrow-go (the core packages, inside the DoFn) against
// xitongsys/parquet-go as Beam's parquetio uses it, on the same file.
//
//	cd cmd/pseudokit-beam && go test -run XXX -bench ParquetRead -benchtime 5x ./pipeline
func BenchmarkParquetRead(b *testing.B) {
	const rows = 200_000
	g, err := synth.New(synth.Options{Rows: rows, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	var file bytes.Buffer
	if err := g.WriteParquet(&file); err != nil {
		b.Fatal(err)
	}
	data := file.Bytes()
	b.Run("arrow-go", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			pr, err := table.NewParquetReader(bytes.NewReader(data), 0, memory.DefaultAllocator)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for {
				rec, err := pr.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				n += int(rec.NumRows())
				rec.Release()
			}
			pr.Close()
			if n != rows {
				b.Fatalf("read %d rows", n)
			}
		}
		b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("xitongsys", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			pf := buffer.NewBufferFileFromBytes(data)
			pr, err := reader.NewParquetReader(pf, new(synthRow), 2)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for n < rows {
				chunk := make([]synthRow, min(64*1024, rows-n))
				if err := pr.Read(&chunk); err != nil {
					b.Fatal(err)
				}
				n += len(chunk)
			}
			pr.ReadStop()
		}
		b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
