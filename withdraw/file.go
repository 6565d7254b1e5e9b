package withdraw

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/pseudo"
)

// FilterFile writes the dataset at path to w without the rows of the
// persons whose codes are given (one code per person: the receipt counts
// removed rows by code), exactly as a withdrawal rewrites it: CSV rows that
// stay are copied byte for byte, Parquet keeps schema, types and order. It
// touches no vault: it is for datasets outside the vault's machine (the
// Beam pipeline's workers), whose withdrawal the vault records separately.
// The receipt's SHA256After is the digest of the bytes written to w.
func FilterFile(ctx context.Context, path string, w io.Writer, codes []string) (*DatasetReceipt, error) {
	m := &matcher{codes: make(map[string]int, len(codes))}
	parsed := make([]string, len(codes))
	for i, c := range codes {
		code, err := pseudo.ParseCode(c)
		if err != nil {
			return nil, fmt.Errorf("code %d of %d: %w", i+1, len(codes), err)
		}
		m.codes[code] = i
		parsed[i] = code
	}
	format, err := table.FormatOf(path, "")
	if err != nil {
		return nil, err
	}
	before, err := table.FileSHA256(path)
	if err != nil {
		return nil, err
	}
	s := &staged{removed: make([]int64, len(codes)), receipt: DatasetReceipt{Path: path, Format: string(format), SHA256Before: before}}
	h := sha256.New()
	hw := io.MultiWriter(w, h)
	if format == table.CSV {
		err = filterCSV(ctx, path, hw, m, s)
	} else {
		err = filterParquet(ctx, path, hw, m, s)
	}
	if err != nil {
		return nil, err
	}
	s.receipt.SHA256After = hex.EncodeToString(h.Sum(nil))
	for i, n := range s.removed {
		if n > 0 {
			if s.receipt.Removed == nil {
				s.receipt.Removed = map[string]int64{}
			}
			s.receipt.Removed[parsed[i]] += n
		}
	}
	return &s.receipt, nil
}
