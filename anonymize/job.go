package anonymize

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pseudokit/pseudokit/internal/csvio"
	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/nid"
)

// Errors of a Job; match them with errors.Is.
var (
	// ErrUnclassified means input columns the rules do not name.
	ErrUnclassified = errors.New("columns not named in the rules")
	// ErrIdentifierFound means a kept column holds a Norwegian identity
	// number or a pseudonym code: a direct link to a person or the vault.
	ErrIdentifierFound = errors.New("direct identifier in a kept column")
	// ErrUnreachable means no transformation meets the privacy target.
	ErrUnreachable = errors.New("no transformation meets the target")
	// ErrVerification means the output did not pass the final check; it
	// was not written.
	ErrVerification = errors.New("output failed verification")
)

// MetadataKey is the Parquet key-value metadata key under which the run
// summary (JSON) is stored. A CSV output gets it in OUT.anonymization.json.
const MetadataKey = "pseudokit.anonymization"

// A Job anonymises a dataset file according to rules: it drops the columns
// to drop, generalises the quasi-identifiers to the transformation the
// search chose, suppresses the records the transformation leaves in classes
// that violate the criteria, shuffles the rows with a random seed that is
// not kept, checks that the result meets the target, and only then writes
// it (atomically). The whole generalised dataset is held in memory for the
// shuffle.
type Job struct {
	// Rules say what to do.
	Rules *Rules
	// In is the input dataset.
	In Input
	// Out is the output file ("-": Stdout); To its format ("" from the name).
	Out, To string
	// Stdout receives the output for Out "-".
	Stdout io.Writer
	// Tool names the program in the summary, e.g. "pseudokit 0.1.0".
	Tool string
	// DryRun searches and reports without writing anything.
	DryRun bool
	// Progress, if set, is called with the rows read so far.
	Progress func(rows int64)
}

// Summary records what a Job did. It is stored with the output (Parquet
// metadata or a sidecar file) and feeds the de-identification report. It
// holds counts, names and levels, never values.
type Summary struct {
	// Tool is the program that ran, e.g. "pseudokit 0.1.0".
	Tool string `json:"tool,omitempty"`
	// Created is when the run started (UTC, whole seconds).
	Created time.Time `json:"created"`
	// Input is the input file's name and InputSHA256 its SHA-256.
	Input       string `json:"input"`
	InputSHA256 string `json:"input_sha256"`
	// Output, OutputFormat and OutputSHA256 describe the output (the hash
	// is not in the Parquet metadata, which is part of the hashed file).
	Output       string `json:"output,omitempty"`
	OutputFormat string `json:"output_format,omitempty"`
	OutputSHA256 string `json:"output_sha256,omitempty"`
	// RowsIn and RowsOut count the records read and written; Suppressed
	// those suppressed, which SuppressedRows says were "removed" or
	// "masked" (kept with every quasi-identifier "*").
	RowsIn         int64  `json:"rows_in"`
	RowsOut        int64  `json:"rows_out"`
	Suppressed     int64  `json:"suppressed"`
	SuppressedRows string `json:"suppressed_rows"`
	// Shuffled is always true: the row order was randomised with a seed
	// that was not kept.
	Shuffled bool `json:"shuffled"`
	// Dropped and Kept name the columns dropped and kept unchanged.
	Dropped []string `json:"dropped"`
	Kept    []string `json:"kept"`
	// QuasiIdentifiers says how each quasi-identifier was generalised.
	QuasiIdentifiers []QISummary `json:"quasi_identifiers"`
	// Sensitive names the sensitive attributes.
	Sensitive []string `json:"sensitive"`
	// Target is the privacy target.
	Target Target `json:"target"`
	// Search is the outcome of the search.
	Search *Solution `json:"search"`
	// Before measures the input's quasi-identifiers and sensitive
	// attributes; After the output's, counted from the rows written.
	Before *Report `json:"before"`
	After  *Report `json:"after,omitempty"`
	// Verified reports that the output passed the final check.
	Verified bool `json:"verified"`
	// Rules is the rule file's name.
	Rules string `json:"rules,omitempty"`
	// Duration is the run time.
	Duration   time.Duration `json:"-"`
	DurationMS float64       `json:"duration_ms"`
}

// QISummary describes how one quasi-identifier was generalised.
type QISummary struct {
	// Column is the quasi-identifier; Hierarchy where its hierarchy came from.
	Column    string `json:"column"`
	Hierarchy string `json:"hierarchy"`
	// Level is the level chosen, Height the hierarchy's highest.
	Level  int `json:"level"`
	Height int `json:"height"`
	// Values and Groups count its distinct values before and after.
	Values int `json:"values_before"`
	Groups int `json:"values_after"`
}

// Target is the privacy target of a run.
type Target struct {
	// K is the k of k-anonymity.
	K int `json:"k"`
	// Diversity are the l-diversity criteria.
	Diversity []DiversityCriterion `json:"diversity,omitempty"`
	// SuppressionLimit is the largest share of records suppressed.
	SuppressionLimit float64 `json:"suppression_limit"`
	// Metric is the information-loss metric minimised.
	Metric Metric `json:"metric"`
}

// Run runs the job.
func (j *Job) Run(ctx context.Context) (*Summary, error) {
	start := time.Now()
	rs := j.Rules
	qi, sens := rs.Columns()
	outFmt := table.Format("")
	if !j.DryRun {
		var err error
		if outFmt, err = table.FormatOf(j.Out, j.To); err != nil {
			return nil, err
		}
	}
	dict := map[string]bool{}
	for _, c := range qi {
		dict[c] = true
	}
	d, err := open(j.In, nil, dict, true)
	if err != nil {
		return nil, err
	}
	defer d.close()
	schema := d.r.Schema()
	if err := j.checkColumns(schema); err != nil {
		return nil, err
	}
	sum := &Summary{Tool: j.Tool, Created: time.Now().UTC().Truncate(time.Second), Input: filepath.Base(j.In.name()),
		Sensitive: append([]string{}, sens...), Dropped: append([]string{}, rs.Drop...), Kept: append([]string{}, rs.Keep...), Shuffled: true,
		Target: Target{K: rs.K, SuppressionLimit: rs.Suppression, Metric: rs.Metric}, SuppressedRows: "removed"}
	if rs.File != "" {
		sum.Rules = filepath.Base(rs.File)
	}
	if rs.Mask {
		sum.SuppressedRows = "masked"
	}
	sum.Target.Diversity = rs.Config().Diversity

	// Read: count the combinations, remember each row's combination, hold
	// the columns kept as they are.
	counter, err := NewCounter(schema, qi, sens)
	if err != nil {
		return nil, err
	}
	var rowEntry []int32
	counter.RowClasses = func(_ int, idx []int32) { rowEntry = append(rowEntry, idx...) }
	var outCols []int // schema indices of the output columns, input order
	var passCols []int
	for i, f := range schema.Fields() {
		switch rs.roleOf(f.Name) {
		case "quasi-identifier":
			outCols = append(outCols, i)
		case "sensitive", "keep":
			outCols = append(outCols, i)
			passCols = append(passCols, i)
		}
	}
	held := make([][]arrow.Array, len(passCols))
	defer func() {
		for _, cs := range held {
			for _, a := range cs {
				a.Release()
			}
		}
	}()
	var rows int64
	err = pump(ctx, d.r, func(rec arrow.RecordBatch) error {
		if err := counter.Add(rec); err != nil {
			return err
		}
		for k, c := range passCols {
			col := rec.Column(c)
			name := schema.Field(c).Name
			if !slices.Contains(rs.NotIdentifiers, name) {
				if err := scanIdentifiers(name, col, rows, d.csv); err != nil {
					return err
				}
			}
			col.Retain()
			held[k] = append(held[k], col)
		}
		rows += rec.NumRows()
		if j.Progress != nil {
			j.Progress(rows)
		}
		return nil
	})
	if err != nil {
		return nil, inputError(j.In.name(), err)
	}
	sum.InputSHA256 = d.sha256()
	t := counter.Table()
	for i, c := range qi {
		if slices.Contains(rs.NotIdentifiers, c) {
			continue
		}
		for _, v := range t.Values[i] {
			if looksLikeIdentifier(v) != "" {
				return nil, fmt.Errorf("%s: column %q: a value %s: %w", j.In.name(), c, looksLikeIdentifier(v), ErrIdentifierFound)
			}
		}
	}

	// Hierarchies and search.
	hs := make([]*Hierarchy, len(qi))
	for i, q := range rs.QuasiIdentifiers {
		if hs[i], err = rs.hierarchy(q, t.Values[i]); err != nil {
			return nil, err
		}
	}
	maxL := 2
	for _, dc := range sum.Target.Diversity {
		maxL = max(maxL, int(dc.L))
	}
	sum.Before = t.Report(ReportOptions{K: rs.K, L: maxL})
	p, err := NewProblem(t, hs, rs.Config())
	if err != nil {
		var he *HierarchyError
		if errors.Is(err, ErrNotCovered) && !errors.As(err, &he) {
			return nil, fmt.Errorf("%s: %w", j.In.name(), err)
		}
		return nil, err
	}
	sol, err := p.Search(ctx)
	if err != nil {
		return nil, err
	}
	sum.Search = sol
	sum.RowsIn = rows
	for i, q := range rs.QuasiIdentifiers {
		qs := QISummary{Column: q.Column, Hierarchy: q.Source(), Height: hs[i].Levels() - 1, Values: len(t.Values[i])}
		if sol.Found {
			qs.Level = sol.Levels[i]
			qs.Groups = p.nlab[i][sol.Levels[i]]
		}
		sum.QuasiIdentifiers = append(sum.QuasiIdentifiers, qs)
	}
	if !sol.Found {
		return sum, fmt.Errorf("%w: no generalisation of %s meets %s with at most %d of %d records (%s) suppressed",
			ErrUnreachable, strings.Join(quote(qi), ", "), targetText(sum.Target), p.maxOut, rows, pct(rs.Suppression))
	}
	sum.Suppressed = sol.Suppressed
	if j.DryRun {
		sum.RowsOut = rows - sol.Suppressed
		if rs.Mask {
			sum.RowsOut = rows
		}
		sum.Duration = time.Since(start)
		sum.DurationMS = float64(sum.Duration.Microseconds()) / 1000
		return sum, nil
	}

	// Which rows go out, in which order.
	supp := p.suppressedEntries(sol.Levels)
	order := make([]int64, 0, rows)
	for r, e := range rowEntry {
		if !supp[e] || rs.Mask {
			order = append(order, int64(r))
		}
	}
	var seed [32]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewChaCha8(seed))
	clear(seed[:]) // the seed is not kept
	rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
	rng = nil

	// Generalised labels of each quasi-identifier value.
	labels := make([][]string, len(qi))
	for i := range qi {
		labels[i] = make([]string, len(t.Values[i]))
		for c, v := range t.Values[i] {
			labels[i][c] = hs[i].Row(v)[sol.Levels[i]]
		}
	}
	// Output schema: the input's columns minus the dropped ones, the
	// quasi-identifiers as text; no input metadata is carried over.
	var fields []arrow.Field
	for _, c := range outCols {
		f := schema.Field(c)
		if idx := slices.Index(qi, f.Name); idx >= 0 {
			f = arrow.Field{Name: f.Name, Type: arrow.BinaryTypes.String, Nullable: true}
		}
		f.Metadata = arrow.Metadata{}
		fields = append(fields, f)
	}
	outSchema := arrow.NewSchema(fields, nil)
	// Concatenate the held columns so rows can be taken in any order.
	whole := make([]arrow.Array, len(passCols))
	for k := range passCols {
		if len(held[k]) == 0 {
			whole[k] = array.MakeArrayOfNull(memory.DefaultAllocator, schema.Field(passCols[k]).Type, 0)
		} else if whole[k], err = array.Concatenate(held[k], memory.DefaultAllocator); err != nil {
			return nil, err
		}
		for _, a := range held[k] {
			a.Release()
		}
		held[k] = nil
	}
	defer func() {
		for _, a := range whole {
			if a != nil {
				a.Release()
			}
		}
	}()

	out, err := table.CreateOutput(j.Out, j.Stdout)
	if err != nil {
		return nil, err
	}
	defer out.Abort()
	var w table.Writer
	var pw *parquetWriter
	if outFmt == table.CSV {
		dl := csvio.Dialect{Comma: ','}
		if d.csv != nil {
			dl = d.csv.Dialect()
		}
		w = table.NewCSVWriter(out, outSchema, dl)
	} else {
		if pw, err = newParquetWriter(out, outSchema); err != nil {
			return nil, err
		}
		w = pw
	}
	// Verification counts the output as written, independently of the search.
	verify, err := NewCounter(outSchema, qi, sens)
	if err != nil {
		return nil, err
	}
	star := make([]bool, 0)
	masked := int64(0)
	for lo := 0; lo < len(order); lo += table.DefaultBatchRows {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		idx := order[lo:min(lo+table.DefaultBatchRows, len(order))]
		rec, err := buildBatch(ctx, outSchema, outCols, schema, qi, passCols, whole, labels, t, rowEntry, supp, idx, &star)
		if err != nil {
			return nil, err
		}
		for _, s := range star {
			if s {
				masked++
			}
		}
		err = verify.Add(rec)
		if err == nil {
			err = w.Write(rec)
		}
		rec.Release()
		if err != nil {
			return nil, err
		}
	}
	sum.RowsOut = int64(len(order))
	sum.Output = filepath.Base(j.Out)
	if j.Out == "-" {
		sum.Output = "<stdout>"
	}
	sum.OutputFormat = string(outFmt)
	vt := verify.Table()
	sum.After = vt.Report(ReportOptions{K: rs.K, L: maxL})
	if err := checkOutput(vt, rs, sum, p.maxOut, masked); err != nil {
		return sum, err
	}
	sum.Verified = true
	sum.Duration = time.Since(start)
	sum.DurationMS = float64(sum.Duration.Microseconds()) / 1000
	if pw != nil {
		meta, err := json.Marshal(sum)
		if err != nil {
			return nil, err
		}
		pw.meta = map[string]string{MetadataKey: string(meta)}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := out.Commit(); err != nil {
		return nil, err
	}
	sum.OutputSHA256 = out.SHA256()
	if outFmt == table.CSV && j.Out != "-" {
		side, err := table.CreateOutput(j.Out+".anonymization.json", nil)
		if err != nil {
			return sum, err
		}
		b, _ := json.MarshalIndent(sum, "", "  ")
		side.Write(append(b, '\n'))
		if err := side.Commit(); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// checkColumns checks that the rules and the input agree on the columns.
func (j *Job) checkColumns(schema *arrow.Schema) error {
	rs := j.Rules
	qi, sens := rs.Columns()
	where := j.In.name()
	for _, c := range slices.Concat(qi, sens, rs.Drop, rs.Keep) {
		switch n := len(schema.FieldIndices(c)); {
		case n == 0:
			return fmt.Errorf("%s: rules name column %q: %w", where, c, ErrMissingColumn)
		case n > 1:
			return fmt.Errorf("%s: column %q appears %d times", where, c, n)
		}
	}
	var missing []string
	for _, f := range schema.Fields() {
		if rs.roleOf(f.Name) == "" {
			missing = append(missing, strconv.Quote(f.Name))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: %w: %s (name each under quasi_identifiers, sensitive, drop or keep)", where, ErrUnclassified, strings.Join(missing, ", "))
	}
	return nil
}

// buildBatch makes the output batch of the rows idx (in order).
func buildBatch(ctx context.Context, outSchema *arrow.Schema, outCols []int, in *arrow.Schema, qi []string, passCols []int,
	whole []arrow.Array, labels [][]string, t *Table, rowEntry []int32, supp []bool, idx []int64, star *[]bool) (arrow.RecordBatch, error) {
	mem := memory.DefaultAllocator
	cols := make([]arrow.Array, 0, len(outCols))
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	*star = (*star)[:0]
	for _, r := range idx {
		*star = append(*star, supp[rowEntry[r]])
	}
	var takeIdx arrow.Array
	defer func() {
		if takeIdx != nil {
			takeIdx.Release()
		}
	}()
	for _, c := range outCols {
		name := in.Field(c).Name
		if i := slices.Index(qi, name); i >= 0 {
			b := array.NewStringBuilder(mem)
			b.Reserve(len(idx))
			codes, lab := t.Codes[i], labels[i]
			for k, r := range idx {
				if (*star)[k] {
					b.Append("*")
				} else {
					b.Append(lab[codes[rowEntry[r]]])
				}
			}
			cols = append(cols, b.NewArray())
			b.Release()
			continue
		}
		if takeIdx == nil {
			ib := array.NewInt64Builder(mem)
			ib.AppendValues(idx, nil)
			takeIdx = ib.NewArray()
			ib.Release()
		}
		k := slices.Index(passCols, c)
		a, err := compute.TakeArray(ctx, whole[k], takeIdx)
		if err != nil {
			return nil, err
		}
		cols = append(cols, a)
	}
	return array.NewRecordBatch(outSchema, cols, int64(len(idx))), nil
}

// checkOutput verifies the written rows against the target: every class at
// least k records (in mask mode, the class of fully masked records counts
// as suppressed), every l-diversity criterion, and the suppression limit.
func checkOutput(vt *Table, rs *Rules, sum *Summary, maxOut, masked int64) error {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s; nothing was written", ErrVerification, fmt.Sprintf(format, a...))
	}
	if sum.Suppressed > maxOut {
		return fail("%d records suppressed, limit %d", sum.Suppressed, maxOut)
	}
	want := sum.RowsIn - sum.Suppressed
	if rs.Mask {
		want = sum.RowsIn
		if masked != sum.Suppressed {
			return fail("%d records masked, %d expected", masked, sum.Suppressed)
		}
	}
	if sum.RowsOut != want || vt.Rows != want {
		return fail("%d rows out, %d expected", vt.Rows, want)
	}
	widths := make([]uint, vt.QI)
	cols := make([]int, vt.QI)
	for i := range cols {
		cols[i] = i
		widths[i] = widthFor(len(vt.Values[i]))
	}
	classOf, sizes := groupKeys(vt, cols, func(c, e int) uint32 { return vt.Codes[c][e] }, widths)
	// The class of fully masked records, if any.
	maskedClass := int32(-1)
	if rs.Mask && masked > 0 {
		for e := range vt.Counts {
			all := true
			for i := range vt.QI {
				all = all && vt.Values[i][vt.Codes[i][e]] == "*"
			}
			if all {
				maskedClass = classOf[e]
				break
			}
		}
	}
	for c, s := range sizes {
		if int32(c) == maskedClass && s < int64(rs.K) {
			if s > maxOut {
				return fail("%d masked records, limit %d", s, maxOut)
			}
			continue
		}
		if s < int64(rs.K) {
			return fail("a class of %d records (k = %d)", s, rs.K)
		}
	}
	for _, sr := range rs.Sensitive {
		if sr.Diversity == nil {
			continue
		}
		j := slices.Index(vt.Columns, sr.Column)
		for c, fs := range classDist(vt, j, classOf, len(sizes)) {
			if int32(c) == maskedClass && sizes[c] < int64(rs.K) {
				continue
			}
			if !sr.Diversity.ok(fs) {
				return fail("a class is not %s l-diverse in %q (l = %v)", sr.Diversity.Kind, sr.Column, sr.Diversity.L)
			}
		}
	}
	return nil
}

// suppressedEntries returns, for each combination of the table given to
// NewProblem, whether the transformation levels suppresses its records.
func (p *Problem) suppressedEntries(levels []int) []bool {
	t := p.t
	n := t.Len()
	g := &group{}
	comboOf := make([]int32, n)
	var buf []byte
	m := map[string]int32{}
	kt := newKeyTable(n)
	for e := range n {
		var ci int32
		var added bool
		if p.narrow {
			var k uint64
			for i, l := range levels {
				k |= uint64(p.gen[i][l][t.Codes[i][e]]) << p.shifts[i]
			}
			for _, j := range p.div {
				k |= uint64(t.Codes[j][e]) << p.shifts[j]
			}
			ci, added = kt.insert(k, int32(g.len()))
			if added {
				g.keys = append(g.keys, k)
			}
		} else {
			buf = buf[:0]
			for i, l := range levels {
				buf = strconv.AppendUint(append(buf, ','), uint64(p.gen[i][l][t.Codes[i][e]]), 10)
			}
			for _, j := range p.div {
				buf = strconv.AppendUint(append(buf, ','), uint64(t.Codes[j][e]), 10)
			}
			var ok bool
			if ci, ok = m[string(buf)]; !ok {
				ci = int32(g.len())
				m[string(buf)] = ci
				added = true
				g.reps = append(g.reps, int32(e))
			}
		}
		if added {
			g.counts = append(g.counts, 0)
		}
		g.counts[ci] += t.Counts[e]
		comboOf[e] = ci
	}
	var classOf []int32
	sizes := g.counts
	if p.div != nil {
		classOf = make([]int32, g.len())
		sizes = nil
		cm := map[string]int32{}
		for c := range g.len() {
			buf = buf[:0]
			for i, l := range levels {
				var code uint32
				if g.keys != nil {
					code = uint32(g.keys[c]>>p.shifts[i]) & uint32(p.masks[i])
				} else {
					code = p.gen[i][l][t.Codes[i][g.reps[c]]]
				}
				buf = strconv.AppendUint(append(buf, ','), uint64(code), 10)
			}
			ci, ok := cm[string(buf)]
			if !ok {
				ci = int32(len(sizes))
				cm[string(buf)] = ci
				sizes = append(sizes, 0)
			}
			sizes[ci] += g.counts[c]
			classOf[c] = ci
		}
	}
	fail := p.failing(g, classOf, sizes)
	out := make([]bool, n)
	for e, c := range comboOf {
		if classOf != nil {
			c = classOf[c]
		}
		out[e] = fail[c]
	}
	if p.orig == nil {
		return out
	}
	res := make([]bool, len(p.orig))
	for o, e := range p.orig {
		res[o] = out[e]
	}
	return res
}

// looksLikeIdentifier says what a value looks like if it is a Norwegian
// identity number or a pseudonym code ("" otherwise). It never returns the value.
func looksLikeIdentifier(v string) string {
	if len(v) == 11 && nid.Valid(v) {
		return "is a valid Norwegian identity number"
	}
	if len(v) >= pseudo.CodeLen && len(v) <= pseudo.CodeLen+6 && strings.ContainsAny(v[:1], "KRkr") {
		if _, err := pseudo.ParseCode(v); err == nil {
			return "is a pseudokit code"
		}
	}
	return ""
}

// scanIdentifiers reports the first value of a kept column that is a
// Norwegian identity number or a pseudonym code, by row (never the value).
func scanIdentifiers(col string, a arrow.Array, first int64, csv *table.CSVReader) error {
	report := func(i int, what string) error {
		row := first + int64(i) + 1
		where := fmt.Sprintf("row %d", row)
		if csv != nil {
			if line := csv.Line(row); line > 0 {
				where += fmt.Sprintf(" (line %d)", line)
			}
		}
		return fmt.Errorf("%s, column %q: the value %s; drop the column (or list it under not_identifiers if it holds no identifiers): %w",
			where, col, what, ErrIdentifierFound)
	}
	switch arr := a.(type) {
	case *array.String:
		for i := range arr.Len() {
			if v := arr.Value(i); len(v) >= 11 && len(v) <= 24 {
				if what := looksLikeIdentifier(v); what != "" {
					return report(i, what)
				}
			}
		}
	case *array.LargeString:
		for i := range arr.Len() {
			if v := arr.Value(i); len(v) >= 11 && len(v) <= 24 {
				if what := looksLikeIdentifier(v); what != "" {
					return report(i, what)
				}
			}
		}
	case *array.Int64:
		for i, v := range arr.Int64Values() {
			if v >= 1e9 && v < 1e11 && !arr.IsNull(i) {
				if what := looksLikeIdentifier(fmt.Sprintf("%011d", v)); what != "" {
					return report(i, what)
				}
			}
		}
	}
	return nil
}

func quote(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

func pct(f float64) string { return strconv.FormatFloat(f*100, 'g', 4, 64) + "%" }

func targetText(t Target) string {
	s := fmt.Sprintf("k=%d", t.K)
	for _, d := range t.Diversity {
		s += fmt.Sprintf(", %s l=%v in %q", d.Kind, d.L, d.Column)
		if d.Kind == RecursiveDiversity {
			s += fmt.Sprintf(" (c=%v)", d.C)
		}
	}
	return s
}

// parquetWriter writes batches to Parquet as table.ParquetWriter does
// (Snappy, dictionaries, the Arrow schema stored), adding the key-value
// metadata in meta when it closes, so a summary known only at the end can
// go into the file.
type parquetWriter struct {
	fw   *pqarrow.FileWriter
	meta map[string]string
}

func newParquetWriter(w io.Writer, schema *arrow.Schema) (*parquetWriter, error) {
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(1<<20),
		parquet.WithCreatedBy("pseudokit"),
	)
	fw, err := pqarrow.NewFileWriter(schema, struct{ io.Writer }{w}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, err
	}
	return &parquetWriter{fw: fw}, nil
}

// Write implements table.Writer.
func (w *parquetWriter) Write(rec arrow.RecordBatch) error { return w.fw.Write(rec) }

// Close adds the metadata and writes the footer.
func (w *parquetWriter) Close() error {
	keys := make([]string, 0, len(w.meta))
	for k := range w.meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := w.fw.AppendKeyValueMetadata(k, w.meta[k]); err != nil {
			return err
		}
	}
	return w.fw.Close()
}
