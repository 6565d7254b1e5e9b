package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pseudokit/pseudokit/anonymize"
	"github.com/pseudokit/pseudokit/internal/csvio"
	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
)

// dataFlags are the flags that say how to read a dataset.
type dataFlags struct {
	from, delim, enc *string
}

func (d *dataFlags) add(fs *pflag.FlagSet) {
	d.from = fs.String("from", "", "input format: csv or parquet (default: from the file name)")
	d.delim = fs.String("delimiter", "", "input CSV delimiter: , ; tab or | (default: detected)")
	d.enc = fs.String("encoding", "", "input CSV encoding: utf-8, latin1 or windows-1252 (default utf-8)")
}

func (d *dataFlags) input(e *Env, path string) (anonymize.Input, error) {
	in := anonymize.Input{Path: path, Format: *d.from, Stdin: e.Stdin}
	var err error
	if in.Comma, err = parseDelimiter(*d.delim); err != nil {
		return in, err
	}
	enc, err := pseudo.ParseEncoding(*d.enc)
	if err != nil {
		return in, usagef("--encoding: %v", err)
	}
	switch enc {
	case pseudo.Latin1:
		in.Encoding = csvio.Latin1
	case pseudo.Windows1252:
		in.Encoding = csvio.Windows1252
	}
	return in, nil
}

func runKcheck(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "kcheck", "--qi COLUMNS [--sensitive COLUMNS] [--k 5] [--json] DATASET")
	qi := fs.StringSlice("qi", nil, "quasi-identifier `COLUMNS` (comma-separated)")
	sens := fs.StringSlice("sensitive", nil, "sensitive attribute `COLUMNS` whose diversity within classes is measured")
	k := fs.Int("k", 5, "class size below which classes and records count as at risk")
	l := fs.Int("l", 2, "l for the diversity counts and recursive (c,l)-diversity")
	asJSON := fs.Bool("json", false, "print the measurements as JSON")
	quiet := fs.Bool("quiet", false, "no progress display")
	strict := fs.Bool("strict", false, fmt.Sprintf("exit with code %d unless the dataset is k-anonymous (and l-diverse in every sensitive attribute)", ExitRefused))
	var df dataFlags
	df.add(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("kcheck needs one DATASET (use - for standard input)")
	}
	if len(*qi) == 0 {
		return usagef("name the quasi-identifiers with --qi, e.g. --qi age,sex,postnummer")
	}
	if *k < 1 || *l < 1 {
		return usagef("--k and --l must be at least 1")
	}
	in, err := df.input(e, fs.Arg(0))
	if err != nil {
		return err
	}
	prog := newProgress(e, *quiet, 0)
	in.Progress = prog.updateShare
	r, err := anonymize.Measure(ctx, in, *qi, *sens, anonymize.ReportOptions{K: *k, L: *l})
	prog.done()
	if err != nil {
		return classify(err)
	}
	if *asJSON {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(e.Stdout, string(b))
	} else {
		printReport(e.Stdout, inName(fs.Arg(0)), r)
	}
	if *strict {
		if r.K < int64(*k) {
			return classify(fmt.Errorf("%w: the smallest class has %d records (k = %d)", errNotMet, r.K, *k))
		}
		for _, d := range r.Diversity {
			if d.DistinctL < int64(*l) {
				return classify(fmt.Errorf("%w: a class has only %d distinct values of %q (l = %d)", errNotMet, d.DistinctL, d.Column, *l))
			}
		}
	}
	return nil
}

var errNotMet = errors.New("target not met")

func inName(p string) string {
	if p == "-" {
		return "<stdin>"
	}
	return p
}

// printReport prints a report for people: counts and shares, never values.
func printReport(w io.Writer, name string, r *anonymize.Report) {
	fmt.Fprintf(w, "%s: %s records, quasi-identifiers %s\n", name, group(r.Records), strings.Join(r.QuasiIdentifiers, ", "))
	if r.Records == 0 {
		return
	}
	fmt.Fprintf(w, "  classes            %s (average size %.2f)\n", group(r.Classes), r.AverageClassSize)
	fmt.Fprintf(w, "  k                  %d (smallest class)\n", r.K)
	fmt.Fprintf(w, "  below k=%-10d %s classes, %s records (%s)\n", r.Threshold, group(r.ClassesBelow), group(r.RecordsBelow), share(r.RecordsBelow, r.Records))
	fmt.Fprintf(w, "  sample uniques     %s records (%s)\n", group(r.SampleUniques), share(r.SampleUniques, r.Records))
	var sizes []string
	for _, b := range r.Distribution {
		if b.Classes == 0 {
			continue
		}
		label := fmt.Sprint(b.Min)
		switch {
		case b.Max == 0:
			label += "+"
		case b.Max != b.Min:
			label += fmt.Sprintf("-%d", b.Max)
		}
		sizes = append(sizes, fmt.Sprintf("%s: %s", label, group(b.Classes)))
	}
	fmt.Fprintf(w, "  class sizes        %s\n", strings.Join(sizes, ", "))
	fmt.Fprintf(w, "  prosecutor risk    highest %s, average %s\n", percent(r.Risk.ProsecutorHighest), percent(r.Risk.ProsecutorAverage))
	fmt.Fprintf(w, "  marketer risk      %s\n", percent(r.Risk.Marketer))
	for _, d := range r.Diversity {
		c := "no c (a class has fewer than l values)"
		if !math.IsInf(float64(d.RecursiveC), 1) {
			c = fmt.Sprintf("c > %.3g", float64(d.RecursiveC))
		}
		fmt.Fprintf(w, "  sensitive %q: distinct l = %d, entropy l = %.2f, recursive (c,%d): %s; %s classes with fewer than %d values\n",
			d.Column, d.DistinctL, d.EntropyL, d.RecursiveL, c, group(d.ClassesBelowL), d.Threshold)
	}
	verdict := fmt.Sprintf("%d-anonymous", r.K)
	if r.K < int64(r.Threshold) {
		verdict = fmt.Sprintf("NOT %d-anonymous (k = %d)", r.Threshold, r.K)
	}
	fmt.Fprintf(w, "  verdict            %s\n", verdict)
}

func share(n, of int64) string { return percent(float64(n) / float64(of)) }

func percent(f float64) string {
	switch {
	case f == 0:
		return "0%"
	case f < 0.001:
		return fmt.Sprintf("%.3f%%", f*100)
	}
	return fmt.Sprintf("%.1f%%", f*100)
}

func runAnonymize(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "anonymize", "--rules R.yaml [--k 5] [--suppression 5%] IN OUT")
	rulesFile := fs.String("rules", "", "YAML rule `FILE`: quasi-identifiers and hierarchies, sensitive, drop and keep columns, target")
	k := fs.Int("k", 0, "k of k-anonymity (overrides the rules)")
	supp := fs.String("suppression", "", "largest share of records that may be suppressed, e.g. 5% or 0.05 (overrides the rules)")
	metric := fs.String("metric", "", "information-loss metric: loss, precision, discernibility, aecs, entropy or entropy-monotonic (overrides the rules)")
	heuristic := fs.Bool("heuristic", false, "heuristic search even when the lattice is small enough to search exhaustively")
	dry := fs.Bool("dry-run", false, "search and report, write nothing (OUT not needed)")
	summary := fs.String("summary", "", "write the run summary as JSON to `FILE`")
	asJSON := fs.Bool("json", false, "print the run summary as JSON on stdout")
	quiet := fs.Bool("quiet", false, "no progress display and no summary on stderr")
	to := fs.String("to", "", "output format: csv or parquet (default: from the file name)")
	reports := fs.StringArray("report", nil, "also write a de-identification report of this run to `FILE` (.html, .md or .json; repeatable)")
	var df dataFlags
	df.add(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	want := 2
	if *dry {
		want = 1
	}
	if fs.NArg() != want {
		if *dry {
			return usagef("anonymize --dry-run needs IN")
		}
		return usagef("anonymize needs IN and OUT (use - for standard input/output)")
	}
	if *rulesFile == "" {
		return usagef("anonymize needs --rules FILE (see docs/anonymize.md for the format)")
	}
	rules, err := anonymize.LoadRules(*rulesFile)
	if err != nil {
		return classify(err)
	}
	if *k != 0 {
		rules.K = *k
	}
	if *supp != "" {
		if rules.Suppression, err = anonymize.ParseShare(*supp); err != nil {
			return usagef("--suppression: %v", err)
		}
	}
	if *metric != "" {
		if rules.Metric, err = anonymize.ParseMetric(*metric); err != nil {
			return usagef("--metric: %v", err)
		}
	}
	if *heuristic {
		rules.Heuristic = true
	}
	if err := rules.Check(); err != nil {
		return classify(err)
	}
	in, err := df.input(e, fs.Arg(0))
	if err != nil {
		return err
	}
	job := &anonymize.Job{Rules: rules, In: in, To: *to, Stdout: e.Stdout, Tool: "pseudokit " + Version, DryRun: *dry}
	if !*dry {
		job.Out = fs.Arg(1)
		if *asJSON && job.Out == "-" {
			return usagef("--json and output to standard output would mix; use --summary FILE")
		}
	}
	prog := newProgress(e, *quiet, 0)
	job.Progress = prog.update
	sum, err := job.Run(ctx)
	prog.done()
	if err != nil {
		return classify(err)
	}
	if *summary != "" {
		if err := writeJSON(*summary, sum); err != nil {
			return err
		}
	}
	if *asJSON {
		b, err := json.MarshalIndent(sum, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(e.Stdout, string(b))
	}
	if !*quiet {
		printRun(e.Stderr, sum, *dry)
	}
	if len(*reports) == 0 || *dry {
		return nil
	}
	rr := &runReportSpec{paths: *reports, inputs: []string{fs.Arg(0)}, outputs: []string{fs.Arg(1)}, results: []any{sum},
		qi: qiColumns(sum), k: sum.Target.K, command: commandLine("anonymize", args)}
	return rr.write(ctx, e)
}

// printRun tells what an anonymisation did, in counts and levels.
func printRun(w io.Writer, s *anonymize.Summary, dry bool) {
	sol := s.Search
	verb := "written"
	if dry {
		verb = "would be written (dry run)"
	}
	fmt.Fprintf(w, "pseudokit: %s rows read, %s %s, %s suppressed (%s, limit %s)", group(s.RowsIn), group(s.RowsOut), verb,
		group(s.Suppressed), s.SuppressedRows, group(sol.SuppressionLimit))
	if !dry {
		fmt.Fprint(w, ", rows shuffled")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  %-22s %-7s %s\n", "quasi-identifier", "level", "hierarchy")
	for _, q := range s.QuasiIdentifiers {
		fmt.Fprintf(w, "  %-22s %d of %-2d  %s (%s values -> %s)\n", q.Column, q.Level, q.Height, q.Hierarchy, group(int64(q.Values)), group(int64(q.Groups)))
	}
	kind := "optimal"
	if !sol.Optimal {
		kind = "heuristic, not proven optimal"
	}
	fmt.Fprintf(w, "  metric %s = %.10g (%s; %s of %s transformations evaluated in %.1f ms)\n", sol.Metric, sol.Value, kind,
		group(int64(sol.Evaluated)), group(sol.Lattice), sol.DurationMS)
	after := "-"
	if s.After != nil {
		after = fmt.Sprintf("%d (%s classes, sample uniques %s)", s.After.K, group(s.After.Classes), group(s.After.SampleUniques))
	}
	fmt.Fprintf(w, "  k before %d (%s classes, sample uniques %s), after %s\n", s.Before.K, group(s.Before.Classes), group(s.Before.SampleUniques), after)
	if len(s.Dropped) > 0 {
		fmt.Fprintf(w, "  dropped: %s\n", strings.Join(s.Dropped, ", "))
	}
	if !dry && s.Output != "<stdout>" {
		fmt.Fprintf(w, "pseudokit: wrote %s (sha256 %s), verified\n", s.Output, s.OutputSHA256)
	}
}

// classed gives an error from package anonymize the exit-code class of
// one that exitCode knows, keeping its message.
type classed struct {
	err   error
	class error
}

func (c *classed) Error() string   { return c.err.Error() }
func (c *classed) Unwrap() []error { return []error{c.err, c.class} }

// classify maps anonymize errors to exit codes (usage 2, invalid input 4,
// refused 6) and adds hints.
func classify(err error) error {
	var re *anonymize.RuleError
	var he *anonymize.HierarchyError
	switch {
	case errors.As(err, &re), errors.As(err, &he):
		return &classed{err, usagef("")}
	case errors.Is(err, anonymize.ErrUnreachable):
		return withHint(&classed{err, keyvault.ErrWithdrawn},
			"allow more suppression (--suppression), lower k, or give hierarchies with coarser levels")
	case errors.Is(err, anonymize.ErrVerification), errors.Is(err, errNotMet):
		return &classed{err, keyvault.ErrWithdrawn}
	case errors.Is(err, anonymize.ErrUnclassified):
		return withHint(&classed{err, errSomeInvalid},
			"list direct identifiers and codes under drop, columns that are neither identifying nor sensitive under keep")
	case errors.Is(err, anonymize.ErrIdentifierFound):
		return &classed{err, errSomeInvalid}
	case errors.Is(err, anonymize.ErrNotCovered):
		return withHint(&classed{err, errSomeInvalid}, "add the value to the hierarchy file, or use a built-in builder (intervals, dates, postcode, mask)")
	case errors.Is(err, anonymize.ErrMissingColumn):
		return &classed{err, pseudo.ErrMissingColumn}
	}
	return err
}

// qiColumns names the quasi-identifiers of an anonymisation.
func qiColumns(s *anonymize.Summary) []string {
	var out []string
	for _, q := range s.QuasiIdentifiers {
		out = append(out, q.Column)
	}
	return out
}
