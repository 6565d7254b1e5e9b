package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/pseudokit/pseudokit/internal/csvio"
	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/nid"
)

// subjectMatcher recognises a person's values: any of their codes (in
// pseudonymised datasets) or their identifier (in raw datasets).
type subjectMatcher struct {
	kind  pseudo.Kind
	canon string
	codes map[string]bool
}

func (m *subjectMatcher) match(v string) bool {
	t := strings.TrimSpace(v)
	if t == "" {
		return false
	}
	if m.codes[t] || (len(t) == pseudo.CodeLen && m.codes[strings.ToUpper(t)]) {
		return true
	}
	if m.kind == pseudo.KindNID {
		digits := 0
		for i := 0; i < len(t); i++ {
			if t[i] >= '0' && t[i] <= '9' {
				digits++
			}
		}
		if digits != 11 || len(t) > 16 {
			return false
		}
		n, err := nid.Parse(t)
		return err == nil && n.String() == m.canon
	}
	c, ok := m.kind.Canonical(t)
	return ok && c == m.canon
}

// subjectRows are the rows of one dataset that belong to the person.
type subjectRows struct {
	File    string   `json:"file"`
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`        // values as text; null for a null
	RowNums []int64  `json:"row_numbers"` // 1-based data row numbers in the file
	total   int64
}

// scanSubject reads a dataset and keeps the rows in which any cell matches.
func scanSubject(ctx context.Context, path string, m *subjectMatcher) (*subjectRows, error) {
	d, err := openDataset(path, "")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	out := &subjectRows{File: path, Rows: [][]any{}, RowNums: []int64{}}
	for _, f := range d.r.Schema().Fields() {
		out.Columns = append(out.Columns, f.Name)
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rec, err := d.r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		cols := rec.Columns()
		for i := 0; i < int(rec.NumRows()); i++ {
			hit := false
			for _, c := range cols {
				if s, null := cellText(c, i); !null && m.match(s) {
					hit = true
					break
				}
			}
			if hit {
				row := make([]any, len(cols))
				for j, c := range cols {
					if s, null := cellText(c, i); !null {
						row[j] = s
					}
				}
				out.Rows = append(out.Rows, row)
				out.RowNums = append(out.RowNums, out.total+int64(i)+1)
			}
		}
		out.total += rec.NumRows()
		rec.Release()
	}
}

func runExportSubject(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "export-subject", "ID --purpose TEXT --out FILE [--kind nid] [--format csv|json] DATASET... [flags] (ID - reads it from standard input)")
	var vf vaultFlags
	vf.add(fs)
	kindName := fs.String("kind", "nid", "kind of the identifier: nid, name, email, phone or text")
	purpose := fs.String("purpose", "", "why, e.g. the reference of the access or portability request (required; logged)")
	outPath := fs.String("out", "", "write the person's rows to `FILE` (.csv or .json; - for standard output)")
	format := fs.String("format", "", "output format: csv or json (default: from --out's extension, else csv)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*purpose) == "" {
		return withHint(usagef("export-subject needs --purpose (it is logged)"), "for example --purpose \"portability request 2025-08\"")
	}
	if fs.NArg() < 2 {
		return usagef("export-subject needs the person's ID and at least one DATASET")
	}
	if *outPath == "" {
		return usagef("export-subject needs --out FILE")
	}
	f := strings.ToLower(*format)
	if f == "" {
		f = "csv"
		if strings.EqualFold(filepath.Ext(*outPath), ".json") {
			f = "json"
		}
	}
	if f != "csv" && f != "json" {
		return usagef("--format: want csv or json")
	}
	kind, err := pseudo.ParseKind(*kindName)
	if err != nil {
		return usagef("--kind: %v", err)
	}
	raw := fs.Arg(0)
	if raw == "-" {
		line, err := bufio.NewReader(e.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading standard input: %w", err)
		}
		raw = strings.TrimSpace(line)
	}
	canon, err := canonicalID(kind, raw, 1, 1)
	if err != nil {
		return err
	}
	datasets := fs.Args()[1:]
	v, err := vf.open(ctx, e)
	if err != nil {
		return err
	}
	defer v.Close()
	refs, withdrawn, err := v.FindPerson(string(kind), canon)
	if err != nil {
		return vaultErr(err)
	}
	m := &subjectMatcher{kind: kind, canon: canon, codes: map[string]bool{}}
	codes := []string{}
	for _, r := range refs {
		if !m.codes[r.Code] {
			m.codes[r.Code] = true
			codes = append(codes, r.Code)
		}
	}
	var found []*subjectRows
	for _, p := range datasets {
		sr, err := scanSubject(ctx, p, m)
		if err != nil {
			var pe *csvio.ParseError
			if errors.As(err, &pe) || errors.Is(err, table.ErrNotParquet) {
				return err
			}
			return fmt.Errorf("%s: %w", p, err)
		}
		found = append(found, sr)
	}

	out, err := table.CreateOutput(*outPath, e.Stdout)
	if err != nil {
		return err
	}
	defer out.Abort()
	if err := writeSubject(out, f, found, codes, *purpose); err != nil {
		return fmt.Errorf("%s: %w", *outPath, err)
	}
	var dsLog []map[string]any
	rows := 0
	for _, sr := range found {
		dsLog = append(dsLog, map[string]any{"file": sr.File, "rows": sr.total, "rows_exported": len(sr.Rows)})
		rows += len(sr.Rows)
	}
	// Logged before the output appears; no entry, no output.
	if err := v.AppendContext(ctx, keyvault.Entry{Action: "export-subject", Actor: vf.actor, Purpose: *purpose, Details: map[string]any{
		"command": "export-subject", "kind": string(kind), "codes": codes, "withdrawn": withdrawn, "datasets": dsLog,
		"rows_exported": rows, "output": *outPath, "format": f, "output_sha256": out.SHA256(),
	}}); err != nil {
		return vaultErr(err)
	}
	if err := out.Commit(); err != nil {
		return err
	}
	if len(codes) == 0 {
		fmt.Fprintln(e.Stderr, "pseudokit: note: the person has no link in the vault; rows were matched by the identifier only")
	}
	fmt.Fprintf(e.Stderr, "pseudokit: exported %d rows of the person from %d datasets to %s (%s)\n", rows, len(found), *outPath, f)
	return nil
}

// writeSubject writes the person's rows as JSON (per dataset: columns and
// rows) or as one CSV (source_file, source_row, then the union of the
// datasets' columns).
func writeSubject(w io.Writer, format string, found []*subjectRows, codes []string, purpose string) error {
	if format == "json" {
		doc := map[string]any{
			"exported": time.Now().UTC().Format(time.RFC3339),
			"tool":     "pseudokit " + Version,
			"purpose":  purpose,
			"codes":    codes,
			"datasets": found,
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	var cols []string
	index := map[string]int{}
	for _, sr := range found {
		for _, c := range sr.Columns {
			if _, ok := index[c]; !ok {
				index[c] = len(cols)
				cols = append(cols, c)
			}
		}
	}
	cw := csvio.NewWriter(w, csvio.Dialect{Comma: ','})
	rec := make([][]byte, len(cols)+2)
	rec[0], rec[1] = []byte("source_file"), []byte("source_row")
	for i, c := range cols {
		rec[i+2] = []byte(c)
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	for _, sr := range found {
		for r, row := range sr.Rows {
			for i := range rec {
				rec[i] = nil
			}
			rec[0] = []byte(sr.File)
			rec[1] = []byte(fmt.Sprint(sr.RowNums[r]))
			for j, val := range row {
				if s, ok := val.(string); ok {
					rec[index[sr.Columns[j]]+2] = []byte(s)
				}
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	return cw.Flush()
}
