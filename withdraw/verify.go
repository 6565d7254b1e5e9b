package withdraw

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pseudokit/pseudokit/internal/csvio"
	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/nid"
)

// VerifyResult says, per dataset, how many rows still belong to withdrawn persons.
type VerifyResult struct {
	Datasets []VerifiedDataset `json:"datasets"`
	// WithdrawnCodes is the number of withdrawn codes checked against.
	WithdrawnCodes int `json:"withdrawn_codes"`
}

// VerifiedDataset is the result for one dataset.
type VerifiedDataset struct {
	Path      string `json:"path"`
	Rows      int64  `json:"rows"`
	Remaining int64  `json:"remaining"` // rows of withdrawn persons still present
}

// OK reports whether no withdrawn person remains in any dataset.
func (r *VerifyResult) OK() bool {
	for _, d := range r.Datasets {
		if d.Remaining > 0 {
			return false
		}
	}
	return true
}

// Verify re-scans datasets for every person the vault records as
// withdrawn: by their codes in every domain, and by identity number (each
// distinct number found is checked against the vault's tombstones). It
// changes nothing; the check is logged.
func Verify(ctx context.Context, v *keyvault.Vault, datasets []string, actor string) (*VerifyResult, error) {
	codes, err := v.WithdrawnCodes("")
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(codes))
	for _, c := range codes {
		set[c] = true
	}
	checked := map[string]bool{} // canonical id -> withdrawn
	isWithdrawn := func(f []byte) (bool, error) {
		switch {
		case len(f) == pseudo.CodeLen:
			return set[string(f)], nil
		case len(f) >= 11 && len(f) <= 14:
			n, err := nid.ParseBytes(f)
			if err != nil {
				return false, nil
			}
			canon := n.String()
			w, ok := checked[canon]
			if !ok {
				if w, err = v.Withdrawn(string(pseudo.KindNID), canon); err != nil {
					return false, err
				}
				checked[canon] = w
			}
			return w, nil
		}
		return false, nil
	}
	res := &VerifyResult{WithdrawnCodes: len(codes)}
	for _, path := range datasets {
		d, err := verifyFile(ctx, path, isWithdrawn)
		if err != nil {
			return nil, err
		}
		res.Datasets = append(res.Datasets, *d)
	}
	remaining := int64(0)
	for _, d := range res.Datasets {
		remaining += d.Remaining
	}
	err = v.AppendContext(ctx, keyvault.Entry{Action: "withdraw-verify", Actor: actor,
		Details: map[string]any{"datasets": len(datasets), "withdrawn_codes": len(codes), "remaining_rows": remaining}})
	return res, err
}

func verifyFile(ctx context.Context, path string, isWithdrawn func([]byte) (bool, error)) (*VerifiedDataset, error) {
	format, err := table.FormatOf(path, "")
	if err != nil {
		return nil, err
	}
	d := &VerifiedDataset{Path: path}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rowHit := func(fields [][]byte) (bool, error) {
		for _, fl := range fields {
			if w, err := isWithdrawn(fl); err != nil || w {
				return w, err
			}
		}
		return false, nil
	}
	if format == table.CSV {
		br := bufio.NewReaderSize(f, 1<<20)
		r := csvio.NewReader(br)
		r.File = path
		if b, _ := br.Peek(3); !(len(b) == 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
			r.Encoding = csvio.Latin1
		}
		if _, err := r.ReadHeader(); err != nil {
			return nil, err
		}
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				return d, nil
			}
			if err != nil {
				return nil, err
			}
			d.Rows++
			hit, err := rowHit(rec.Fields)
			if err != nil {
				return nil, err
			}
			if hit {
				d.Remaining++
			}
		}
	}
	pr, err := table.NewParquetReader(f, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer pr.Close()
	var fields [][]byte
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := pr.Next()
		if errors.Is(err, io.EOF) {
			return d, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			fields = fields[:0]
			for _, col := range rec.Columns() {
				if b := textAt(col, i); b != nil {
					fields = append(fields, b)
				}
			}
			d.Rows++
			hit, err := rowHit(fields)
			if err != nil {
				rec.Release()
				return nil, err
			}
			if hit {
				d.Remaining++
			}
		}
		rec.Release()
	}
}
