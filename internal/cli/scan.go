package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/pseudo/scan"
)

// runScan classifies the columns of datasets. It prints counts, shares and
// masked forms, never a value.
func runScan(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "scan", "[flags] DATASET...")
	asJSON := fs.Bool("json", false, "write the reports as JSON")
	rulesOut := fs.String("suggest-rules", "", "write a starter rule `FILE` for 'pseudokit pseudonymize --rules'")
	sample := fs.Int("sample", scan.DefaultSampleSize, "values per column kept to classify by form (`N`); identifier numbers are counted on every row")
	from := fs.String("from", "", "input format: csv or parquet (default: from the file name)")
	delim := fs.String("delimiter", "", "CSV delimiter: , ; tab or | (default: detected)")
	enc := fs.String("encoding", "", "CSV encoding: utf-8, latin1 or windows-1252 (default utf-8)")
	failDirect := fs.Bool("fail-on-direct", false, "exit 4 when any column holds direct identifiers")
	quiet := fs.Bool("quiet", false, "no progress display")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("scan needs at least one DATASET (CSV or Parquet; - for standard input)")
	}
	if *sample <= 0 {
		return usagef("--sample must be positive")
	}
	comma, err := parseDelimiter(*delim)
	if err != nil {
		return err
	}
	o := scan.FileOptions{Options: scan.Options{SampleSize: *sample}, Format: *from, Comma: comma, Encoding: *enc, Stdin: e.Stdin}
	var reports []*scan.Report
	for _, path := range fs.Args() {
		prog := newProgress(e, *quiet, 0).withLabel(fileLabel(path))
		o.Progress = prog.updateShare
		rep, err := scan.File(ctx, path, o)
		prog.done()
		if err != nil {
			return err
		}
		reports = append(reports, rep)
	}
	if *rulesOut != "" {
		out, err := table.CreateOutput(*rulesOut, e.Stdout)
		if err != nil {
			return err
		}
		defer out.Abort()
		if err := scan.WriteRules(out, reports...); err != nil {
			return err
		}
		if err := out.Commit(); err != nil {
			return err
		}
	}
	if *asJSON {
		b, err := json.MarshalIndent(struct {
			Files []*scan.Report `json:"files"`
		}{reports}, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "%s\n", b)
	} else {
		for i, r := range reports {
			if i > 0 {
				fmt.Fprintln(e.Stdout)
			}
			printScan(e.Stdout, r)
		}
	}
	direct := 0
	for _, r := range reports {
		for _, c := range r.Columns {
			if c.Role == scan.Direct {
				direct++
			}
		}
	}
	if *rulesOut != "" && *rulesOut != "-" {
		fmt.Fprintf(e.Stderr, "pseudokit: wrote starter rules to %s: check every line before use\n", *rulesOut)
	}
	if *failDirect && direct > 0 {
		return &quietError{errSomeInvalid, fmt.Sprintf("%d column(s) hold direct identifiers", direct)}
	}
	return nil
}

// printScan writes one dataset's report as a table.
func printScan(w io.Writer, r *scan.Report) {
	name := r.File
	if name == "-" {
		name = "<stdin>"
	}
	fmt.Fprintf(w, "%s: %s, %s rows, %d columns, sha256 %s\n", name, r.Format, group(r.Rows), len(r.Columns), r.SHA256)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  column\trole\tkind\tmatching\tconfidence\tvalues like\tsuggested rule")
	var notes []string
	counts := map[scan.Role]int{}
	for _, c := range r.Columns {
		counts[c.Role]++
		var shapes []string
		for _, s := range c.Shapes {
			shapes = append(shapes, fmt.Sprintf("%s × %s", group(s.Count), s.Shape))
		}
		if len(shapes) == 0 {
			shapes = []string{"-"}
		}
		matching := "-"
		if c.Sampled > 0 && c.Kind != scan.Other && c.Kind != scan.Empty && c.Kind != scan.Text {
			matching = fmt.Sprintf("%.1f %%", 100*c.Share)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Column, c.Role, c.Kind, matching, c.Confidence, strings.Join(shapes, ", "), ruleText(c.Rule))
		for _, wn := range c.Warnings {
			notes = append(notes, fmt.Sprintf("pseudokit: warning: %s: column %q: %s", name, c.Column, wn))
		}
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	fmt.Fprintf(w, "%d direct identifier(s), %d quasi-identifier(s), %d pseudonym column(s), %d other\n",
		counts[scan.Direct], counts[scan.Quasi], counts[scan.Pseudonym], counts[scan.OtherRole])
}

// ruleText is a suggested rule in the words of a rule file.
func ruleText(s scan.Suggestion) string {
	t := string(s.Action)
	if s.Kind != "" {
		t += " " + string(s.Kind)
	}
	if s.Part != "" {
		t += " " + string(s.Part)
	}
	if s.Subject {
		t += " (subject)"
	}
	return t
}
