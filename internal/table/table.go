package table

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Format is a dataset file format.
type Format string

// The formats.
const (
	CSV     Format = "csv"
	Parquet Format = "parquet"
)

// FormatOf returns the format named by override, or else the one the file
// name's extension implies (.csv, .tsv, .txt: CSV; .parquet, .pq: Parquet).
func FormatOf(path, override string) (Format, error) {
	switch strings.ToLower(override) {
	case "csv", "tsv":
		return CSV, nil
	case "parquet", "pq":
		return Parquet, nil
	case "":
	default:
		return "", fmt.Errorf("unknown format %q (want csv or parquet)", override)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv", ".tsv", ".txt":
		return CSV, nil
	case ".parquet", ".pq":
		return Parquet, nil
	}
	if path == "-" {
		return "", fmt.Errorf("cannot tell the format of standard input: give --from/--to csv or parquet")
	}
	return "", fmt.Errorf("%s: cannot tell the format from the file name: give --from/--to csv or parquet", path)
}

// A Reader streams a dataset as record batches.
type Reader interface {
	// Schema is the dataset's schema.
	Schema() *arrow.Schema
	// Next returns the next batch, or io.EOF after the last. The caller
	// releases the batch.
	Next() (arrow.RecordBatch, error)
	// Close releases the reader's resources (not the underlying file).
	Close() error
}

// A Writer writes record batches to a dataset.
type Writer interface {
	// Write appends a batch; its schema must be the writer's.
	Write(arrow.RecordBatch) error
	// Close finishes the dataset (footer, buffers); it does not close the underlying file.
	Close() error
}

// DefaultBatchRows is the number of rows in a batch: large enough to
// amortise per-batch work, small enough that memory stays flat.
const DefaultBatchRows = 16 * 1024
