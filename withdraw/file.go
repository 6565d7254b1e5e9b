package withdraw

import (
	"context"
	"fmt"
	"io"

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
	s, err := newStaged(path, len(codes))
	if err != nil {
		return nil, err
	}
	if err := filterTo(ctx, path, w, m, s); err != nil {
		return nil, err
	}
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
