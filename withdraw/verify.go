package withdraw

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

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
	return (&VerifyJob{Vault: v, Datasets: datasets, Actor: actor}).Run(ctx)
}

// A VerifyJob is Verify with a progress report.
type VerifyJob struct {
	// Vault is the project's unlocked vault.
	Vault *keyvault.Vault
	// Datasets are the files to re-scan (CSV or Parquet).
	Datasets []string
	// Actor is who runs the check, for the log.
	Actor string
	// Progress, if set, is called while a dataset is read with its path,
	// the rows read of it so far and the share of it read (0 to 1).
	Progress func(dataset string, rows int64, done float64)
}

// Run re-scans the datasets as Verify does.
func (j *VerifyJob) Run(ctx context.Context) (*VerifyResult, error) {
	v, datasets, actor := j.Vault, j.Datasets, j.Actor
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
		d, err := verifyFile(ctx, path, isWithdrawn, j.Progress)
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

func verifyFile(ctx context.Context, path string, isWithdrawn func([]byte) (bool, error), progress progressFunc) (*VerifiedDataset, error) {
	format, err := table.FormatOf(path, "")
	if err != nil {
		return nil, err
	}
	d := &VerifiedDataset{Path: path}
	src, err := table.OpenSource(path, format, nil, false)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	report := func(done float64) {
		if progress != nil {
			progress(path, d.Rows, done)
		}
	}
	rowHit := func(fields [][]byte) (bool, error) {
		for _, fl := range fields {
			if w, err := isWithdrawn(fl); err != nil || w {
				return w, err
			}
		}
		return false, nil
	}
	if format == table.CSV {
		br := bufio.NewReaderSize(src.Stream, 1<<20)
		r := csvio.NewReader(br)
		r.File = path
		if b, _ := br.Peek(3); !(len(b) == 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
			r.Encoding = csvio.Latin1
		}
		if _, err := r.ReadHeader(); err != nil {
			return nil, err
		}
		for {
			if d.Rows%int64(progressRows) == 0 && d.Rows > 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				if src.Size > 0 {
					report(float64(src.BytesRead()-int64(br.Buffered())) / float64(src.Size))
				}
			}
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
	pr, err := table.NewParquetReader(src.Random, 0, nil)
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
		if total := pr.NumRows(); total > 0 {
			report(float64(d.Rows) / float64(total))
		}
	}
}
