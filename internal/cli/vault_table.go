package cli

import (
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pseudokit/pseudokit/internal/csvio"
	"github.com/pseudokit/pseudokit/internal/table"
)

// dataset is an open input dataset (CSV or Parquet file).
type dataset struct {
	path   string
	format table.Format
	src    *table.Source
	r      table.Reader
	csv    *table.CSVReader // nil for Parquet
	rows   int64            // Parquet: the rows its footer declares
}

// openDataset opens a CSV or Parquet file for reading as record batches.
func openDataset(path, format string) (*dataset, error) {
	f, err := table.FormatOf(path, format)
	if err != nil {
		return nil, usagef("%v", err)
	}
	src, err := table.OpenSource(path, f, nil, false)
	if err != nil {
		return nil, err
	}
	d := &dataset{path: path, format: f, src: src}
	if f == table.CSV {
		cr, err := table.NewCSVReader(src.Stream, table.CSVOptions{File: path})
		if err != nil {
			src.Close()
			return nil, err
		}
		d.r, d.csv = cr, cr
		return d, nil
	}
	pr, err := table.NewParquetReader(src.Random, 0, nil)
	if err != nil {
		src.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	d.r, d.rows = pr, pr.NumRows()
	return d, nil
}

// Close releases the reader and closes the file.
func (d *dataset) Close() {
	d.r.Close()
	d.src.Close()
}

// done returns the share of the dataset read after rows rows (for
// progress), or -1.
func (d *dataset) done(rows int64) float64 { return d.src.Done(rows, d.rows) }

// dialect is the CSV dialect to write an output of this dataset in.
func (d *dataset) dialect() csvio.Dialect {
	if d.csv != nil {
		return d.csv.Dialect()
	}
	return csvio.Dialect{Comma: ','}
}

// cellText returns the text of a's i-th value and whether it is null.
func cellText(a arrow.Array, i int) (string, bool) {
	if a.IsNull(i) {
		return "", true
	}
	switch a := a.(type) {
	case *array.String:
		return a.Value(i), false
	case *array.LargeString:
		return a.Value(i), false
	case *array.StringView:
		return a.Value(i), false
	case *array.Binary:
		return string(a.Value(i)), false
	case *array.LargeBinary:
		return string(a.Value(i)), false
	case *array.Int64:
		return strconv.FormatInt(a.Value(i), 10), false
	case *array.Int32:
		return strconv.FormatInt(int64(a.Value(i)), 10), false
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', -1, 64), false
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i)), false
	case *array.Dictionary:
		return cellText(a.Dictionary(), a.GetValueIndex(i))
	}
	return a.ValueStr(i), false
}
