package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
)

// recoder turns codes of one domain into codes of another, in the target
// domain's transaction.
type recoder struct {
	tx       *keyvault.Tx
	from     string
	coder    *pseudo.Coder // nil for a random target domain
	cache    map[string]string
	unknown  int64 // cells whose code is not in the source domain
	withdrwn int64 // cells of withdrawn persons
}

var errRecodeWithdrawn = errors.New("withdrawn")

// recode returns the target code for a source code.
func (r *recoder) recode(code string) (string, error) {
	if c, ok := r.cache[code]; ok {
		return c, nil
	}
	ref, err := r.tx.Resolve(r.from, code)
	if err != nil {
		return "", err
	}
	if ref.State != keyvault.LinkActive {
		return "", errRecodeWithdrawn
	}
	var out string
	if r.coder != nil {
		out = r.coder.Code(pseudo.Kind(ref.Kind), ref.Identifier)
		if err := r.tx.Link(ref.Kind, ref.Identifier, out); err != nil {
			return "", err
		}
	} else {
		for {
			cand, err := pseudo.RandomCode()
			if err != nil {
				return "", err
			}
			out, err = r.tx.Assign(ref.Kind, ref.Identifier, cand)
			if errors.Is(err, keyvault.ErrCodeTaken) {
				continue
			}
			if err != nil {
				return "", err
			}
			break
		}
	}
	if len(r.cache) < 1<<20 {
		r.cache[code] = out
	}
	return out, nil
}

// detectCodeColumns returns the columns whose non-empty values in rec are
// all codes (and that have at least one).
func detectCodeColumns(rec arrow.RecordBatch) []string {
	var out []string
	for c, f := range rec.Schema().Fields() {
		col := rec.Column(c)
		seen, ok := 0, true
		for i := 0; i < int(rec.NumRows()) && ok; i++ {
			s, null := cellText(col, i)
			if null || s == "" {
				continue
			}
			if _, err := pseudo.ParseCode(s); err != nil {
				ok = false
			}
			seen++
		}
		if ok && seen > 0 {
			out = append(out, f.Name)
		}
	}
	return out
}

func runRecode(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "recode", "--from DOMAIN --to DOMAIN [--column COL...] IN OUT [flags]")
	var vf vaultFlags
	vf.add(fs)
	from := fs.String("from", "", "the domain the dataset's codes belong to (required)")
	to := fs.String("to", "", "the domain to recode into (required)")
	columns := fs.StringSlice("column", nil, "`COLUMNS` holding codes (default: every column whose values are all codes)")
	purpose := fs.String("purpose", "", "why, e.g. the data-sharing agreement (for the access log)")
	quiet := fs.Bool("quiet", false, "no progress display and no summary on stderr")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("recode needs IN and OUT")
	}
	if *from == "" || *to == "" {
		return usagef("recode needs --from DOMAIN and --to DOMAIN")
	}
	if *from == *to {
		return usagef("--from and --to name the same domain")
	}
	in, outPath := fs.Arg(0), fs.Arg(1)
	outFmt, err := table.FormatOf(outPath, "")
	if err != nil {
		return usagef("%v", err)
	}
	v, err := vf.open(ctx, e)
	if err != nil {
		return err
	}
	defer v.Close()
	if _, err := v.Domain(*from); err != nil {
		return vaultErr(err)
	}
	target, err := v.Domain(*to)
	if err != nil {
		return vaultErr(err)
	}
	d, err := openDataset(in, "")
	if err != nil {
		return err
	}
	defer d.Close()

	rc := &recoder{from: *from, cache: map[string]string{}}
	if target.Scheme == keyvault.SchemeKeyed {
		secret, err := v.DomainSecret(*to)
		if err != nil {
			return vaultErr(err)
		}
		rc.coder, err = pseudo.NewCoder(secret)
		clear(secret)
		if err != nil {
			return err
		}
	}
	tx, err := v.Begin(ctx, *to)
	if err != nil {
		return vaultErr(err)
	}
	defer tx.Rollback()
	rc.tx = tx

	first, err := d.r.Next()
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	cols := *columns
	if len(cols) == 0 && first != nil {
		cols = detectCodeColumns(first)
	}
	if len(cols) == 0 {
		if first != nil {
			first.Release()
		}
		return usagef("%s: no column of codes found: name it with --column", in)
	}
	schema := d.r.Schema()
	outFields := slices.Clone(schema.Fields())
	recodeCol := make([]bool, len(outFields))
	for _, c := range cols {
		i := slices.IndexFunc(outFields, func(f arrow.Field) bool { return f.Name == c })
		if i < 0 {
			if first != nil {
				first.Release()
			}
			return exitErr(ExitInvalidInput, fmt.Errorf("%s: no column %q", in, c), "")
		}
		recodeCol[i] = true
		outFields[i] = arrow.Field{Name: c, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	md := schema.Metadata()
	outSchema := arrow.NewSchema(outFields, &md)

	out, err := table.CreateOutput(outPath, e.Stdout)
	if err != nil {
		if first != nil {
			first.Release()
		}
		return err
	}
	defer out.Abort()
	var w table.Writer
	if outFmt == table.CSV {
		w = table.NewCSVWriter(out, outSchema, d.dialect())
	} else if w, err = table.NewParquetWriter(out, outSchema, table.ParquetOptions{Random: cols}); err != nil {
		return err
	}
	var rows int64
	prog := newProgress(e, *quiet, 0)
	defer prog.done()
	rec := first
	for rec != nil {
		if err := ctx.Err(); err != nil {
			rec.Release()
			return err
		}
		outCols := make([]arrow.Array, len(outFields))
		for c := range outFields {
			if !recodeCol[c] {
				outCols[c] = rec.Column(c)
				outCols[c].Retain()
				continue
			}
			b := array.NewStringBuilder(memory.DefaultAllocator)
			col := rec.Column(c)
			for i := 0; i < int(rec.NumRows()); i++ {
				s, null := cellText(col, i)
				if null {
					b.AppendNull()
					continue
				}
				if strings.TrimSpace(s) == "" {
					b.Append(s)
					continue
				}
				row := rows + int64(i) + 1
				code, err := pseudo.ParseCode(s)
				if err != nil {
					b.Release()
					rec.Release()
					return exitErr(ExitInvalidInput, fmt.Errorf("%s: row %d, column %q: not a code: %w", in, row, outFields[c].Name, err), "")
				}
				nc, err := rc.recode(code)
				switch {
				case errors.Is(err, errRecodeWithdrawn):
					rc.withdrwn++
					b.AppendNull()
				case errors.Is(err, keyvault.ErrNotFound):
					rc.unknown++
					if rc.unknown == 1 {
						prog.done()
						fmt.Fprintf(e.Stderr, "pseudokit: %s: row %d, column %q: code %s is not in domain %q\n", in, row, outFields[c].Name, code, *from)
					}
					b.AppendNull()
				case err != nil:
					b.Release()
					rec.Release()
					return vaultErr(err)
				default:
					b.Append(nc)
				}
			}
			outCols[c] = b.NewArray()
			b.Release()
		}
		batch := array.NewRecordBatch(outSchema, outCols, rec.NumRows())
		for _, a := range outCols {
			a.Release()
		}
		rows += rec.NumRows()
		rec.Release()
		err := w.Write(batch)
		batch.Release()
		if err != nil {
			return fmt.Errorf("%s: %w", outPath, err)
		}
		prog.updateShare(rows, d.done(rows))
		rec, err = d.r.Next()
		if errors.Is(err, io.EOF) {
			rec = nil
		} else if err != nil {
			return err
		}
	}
	prog.done()
	if err := w.Close(); err != nil {
		return fmt.Errorf("%s: %w", outPath, err)
	}
	if rc.unknown > 0 {
		return exitErr(ExitInvalidInput, fmt.Errorf("%s: %d codes are not in domain %q; nothing was written", in, rc.unknown, *from), "check --from")
	}
	if rc.withdrwn > 0 {
		return exitErr(ExitRefused, fmt.Errorf("%s: %d values belong to persons who have withdrawn; nothing was written", in, rc.withdrwn),
			"remove their rows first ('pseudokit withdraw')")
	}
	newLinks, existing := tx.Counts()
	if err := tx.Commit(keyvault.Entry{Action: "recode", Actor: vf.actor, Purpose: *purpose, Details: map[string]any{
		"command": "recode", "from": *from, "to": *to, "columns": cols, "rows": rows,
		"codes": len(rc.cache), "output": outPath, "output_sha256": out.SHA256(),
	}}); err != nil {
		return vaultErr(err)
	}
	if err := out.Commit(); err != nil {
		return err
	}
	if !*quiet {
		fmt.Fprintf(e.Stderr, "pseudokit: recoded %s rows (columns %s) from domain %q to %q: %d new links, %d already known\n",
			group(rows), strings.Join(cols, ", "), *from, *to, newLinks, existing)
		if outPath != "-" {
			fmt.Fprintf(e.Stderr, "pseudokit: wrote %s (sha256 %s)\n", outPath, out.SHA256())
		}
	}
	return nil
}
