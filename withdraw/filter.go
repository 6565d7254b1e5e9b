package withdraw

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pseudokit/pseudokit/internal/csvio"
	"github.com/pseudokit/pseudokit/internal/table"
)

// staged is a dataset rewritten to a temporary file, waiting for commit.
type staged struct {
	out     *table.Output // nil for a dry run or when nothing changes
	receipt DatasetReceipt
	removed []int64 // rows removed per person
	// progress, if not nil, is told how far filtering has come.
	progress progressFunc
}

// report passes the rows read so far and the share done to s.progress.
func (s *staged) report(done float64) {
	if s.progress != nil {
		s.progress(s.receipt.Path, s.receipt.RowsBefore, done)
	}
}

func (s *staged) commit() error {
	if s.out == nil {
		return nil
	}
	err := s.out.Commit()
	s.out = nil
	return err
}

func (s *staged) abort() {
	if s.out != nil {
		s.out.Abort()
		s.out = nil
	}
}

// discard is an io.Writer that only counts and hashes (dry runs).
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// progressFunc reports the rows read of a dataset and the share of it read.
type progressFunc func(dataset string, rows int64, done float64)

// progressRows is how many CSV records pass between two progress calls. A
// variable only so that tests can lower it.
var progressRows = 8192

// filterFile stages path without the rows of withdrawn persons.
func filterFile(ctx context.Context, path string, m *matcher, npersons int, dryRun bool, progress progressFunc) (*staged, error) {
	s, err := newStaged(path, npersons)
	if err != nil {
		return nil, err
	}
	s.progress = progress
	var w io.Writer = discard{}
	if !dryRun {
		if s.out, err = table.CreateOutput(path, nil); err != nil {
			return nil, err
		}
		w = s.out
	}
	err = filterTo(ctx, path, w, m, s)
	if err == nil && s.out != nil {
		err = s.out.Sync() // on disk before the vault records anything
	}
	if err != nil {
		s.abort()
		return nil, err
	}
	if dryRun || s.receipt.RowsAfter == s.receipt.RowsBefore {
		// Nothing to change: keep the file as it is (byte for byte).
		s.abort()
		if !dryRun || s.receipt.RowsAfter == s.receipt.RowsBefore {
			s.receipt.SHA256After = s.receipt.SHA256Before
		}
	}
	return s, nil
}

// newStaged starts the receipt of the dataset at path (its format and
// digest before) for npersons persons.
func newStaged(path string, npersons int) (*staged, error) {
	format, err := table.FormatOf(path, "")
	if err != nil {
		return nil, err
	}
	before, err := table.FileSHA256(path)
	if err != nil {
		return nil, err
	}
	return &staged{removed: make([]int64, npersons), receipt: DatasetReceipt{Path: path, Format: string(format), SHA256Before: before}}, nil
}

// filterTo writes the dataset at path to w without the rows m matches,
// counting rows in s and setting s's digest after (of the bytes written).
func filterTo(ctx context.Context, path string, w io.Writer, m *matcher, s *staged) error {
	h := sha256.New()
	hw := io.MultiWriter(w, h)
	var err error
	if s.receipt.Format == string(table.CSV) {
		err = filterCSV(ctx, path, hw, m, s)
	} else {
		err = filterParquet(ctx, path, hw, m, s)
	}
	if err != nil {
		return err
	}
	s.receipt.SHA256After = hex.EncodeToString(h.Sum(nil))
	return nil
}

// filterCSV copies the records that stay as their raw bytes. The file is
// read as ISO-8859-1, which decodes every byte: codes and identity numbers
// are ASCII, so matching works whatever the file's real encoding, and the
// raw bytes are what is copied.
func filterCSV(ctx context.Context, path string, w io.Writer, m *matcher, s *staged) error {
	src, err := table.OpenSource(path, table.CSV, nil, false)
	if err != nil {
		return err
	}
	defer src.Close()
	br := bufio.NewReaderSize(src.Stream, 1<<20)
	r := csvio.NewReader(br)
	r.File = path
	if b, _ := br.Peek(3); len(b) == 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		r.Encoding = csvio.UTF8
	} else {
		r.Encoding = csvio.Latin1
	}
	hdr, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return &csvio.ParseError{File: path, Err: csvio.ErrEmpty}
		}
		return err
	}
	if _, err := r.CheckHeader(hdr); err != nil {
		return err
	}
	cw := csvio.NewWriter(w, r.Dialect())
	if err := cw.WriteRaw(hdr.Raw); err != nil {
		return err
	}
	for n := 0; ; n++ {
		if n%progressRows == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if n > 0 && src.Size > 0 {
				s.report(float64(src.BytesRead()-int64(br.Buffered())) / float64(src.Size))
			}
		}
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		s.receipt.RowsBefore++
		if p := matchRecord(m, rec.Fields); p >= 0 {
			s.removed[p]++
			continue
		}
		s.receipt.RowsAfter++
		if err := cw.WriteRaw(rec.Raw); err != nil {
			return err
		}
	}
	if t := r.Trailer(); len(t) > 0 {
		if err := cw.WriteRaw(t); err != nil {
			return err
		}
	}
	return cw.Flush()
}

func matchRecord(m *matcher, fields [][]byte) int {
	for _, f := range fields {
		if p := m.match(f); p >= 0 {
			return p
		}
	}
	return -1
}

// filterParquet rewrites a Parquet file without the matching rows, keeping
// schema, types, nulls, order and metadata.
func filterParquet(ctx context.Context, path string, w io.Writer, m *matcher, s *staged) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	mem := memory.DefaultAllocator
	// Text columns come as dictionaries where the file allows it cheaply, so
	// that the kept rows are written without their values being copied or
	// hashed again; the output stores those columns' types as the input had
	// them.
	pr, err := table.OpenParquet(f, table.ParquetReadOptions{Allocator: mem, Dictionary: func(string) bool { return true }})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer pr.Close()
	var asRead []string
	for i, fl := range pr.Schema().Fields() {
		if fl.Type.ID() == arrow.DICTIONARY && pr.FileSchema().Field(i).Type.ID() != arrow.DICTIONARY {
			asRead = append(asRead, fl.Name)
		}
	}
	pw, err := table.NewParquetWriter(w, pr.Schema(), table.ParquetOptions{Allocator: mem, StoreValueType: asRead})
	if err != nil {
		return err
	}
	var buf []byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := pr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		n := int(rec.NumRows())
		keep := array.NewBooleanBuilder(mem)
		kept := 0
		for i := 0; i < n; i++ {
			p := -1
			for _, col := range rec.Columns() {
				if buf, p = matchValue(m, col, i, buf[:0]); p >= 0 {
					break
				}
			}
			if p >= 0 {
				s.removed[p]++
			} else {
				kept++
			}
			keep.Append(p < 0)
		}
		s.receipt.RowsBefore += int64(n)
		s.receipt.RowsAfter += int64(kept)
		mask := keep.NewBooleanArray()
		keep.Release()
		out := rec
		if kept < n {
			out, err = compute.FilterRecordBatch(ctx, rec, mask, compute.DefaultFilterOptions())
			rec.Release()
			if err != nil {
				mask.Release()
				return err
			}
		}
		mask.Release()
		err = pw.Write(out)
		out.Release()
		if err != nil {
			return err
		}
		if total := pr.NumRows(); total > 0 {
			s.report(float64(s.receipt.RowsBefore) / float64(total))
		}
	}
	return pw.Close()
}

// matchValue matches the i-th value of a text or integer column.
func matchValue(m *matcher, col arrow.Array, i int, buf []byte) ([]byte, int) {
	b := textAt(col, i)
	if b == nil {
		return buf, -1
	}
	return buf, m.match(b)
}

// textAt returns the i-th value of a text or integer column as bytes (an
// integer as 11 digits: an identity number that lost its leading zero), or
// nil for nulls and other types.
func textAt(col arrow.Array, i int) []byte {
	if col.IsNull(i) {
		return nil
	}
	switch a := col.(type) {
	case *array.String:
		return []byte(a.Value(i))
	case *array.LargeString:
		return []byte(a.Value(i))
	case *array.Binary:
		return a.Value(i)
	case *array.Int64:
		return fmt.Appendf(nil, "%011d", a.Value(i))
	case *array.Dictionary:
		return textAt(a.Dictionary(), a.GetValueIndex(i))
	}
	return nil
}
