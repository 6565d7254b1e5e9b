package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	reportpkg "github.com/pseudokit/pseudokit/internal/report"
	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo/scan"
)

// runReport writes a de-identification report, or verifies one.
func runReport(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "report", "--input RAW --output OUT [--summary RUN.json] [--vault V] [--qi A,B] --out REPORT.html|md|json\n       pseudokit report --verify REPORT.json [--vault V]")
	inputs := fs.StringArray("input", nil, "raw dataset `FILE` (CSV or Parquet); repeat for several")
	outputs := fs.StringArray("output", nil, "de-identified dataset `FILE`, compared with the input of the same position; repeat for several")
	summaries := fs.StringArray("summary", nil, "run summary JSON `FILE` ('pseudokit pseudonymize --summary'); repeat for several")
	outs := fs.StringArray("out", nil, "write the report to `FILE`: .html, .md or .json (repeat for several; - is standard output with --format)")
	format := fs.String("format", "", "report format for --out - : html, md or json")
	qi := fs.StringSlice("qi", nil, "quasi-identifier `COLUMNS` to measure k-anonymity on")
	k := fs.Int("k", 5, "k-anonymity threshold")
	sensitive := fs.StringSlice("sensitive", nil, "sensitive `COLUMNS` to measure l-diversity of")
	l := fs.Int("l", 2, "l-diversity threshold")
	verify := fs.String("verify", "", "recompute every figure of the JSON report `FILE` and list mismatches (exit 4 if any)")
	var vf vaultFlags
	vf.add(fs)
	noVault := fs.Bool("no-vault", false, "do not open a vault even if PSEUDOKIT_VAULT is set")
	from := fs.String("from", "", "dataset format: csv or parquet (default: from the file names)")
	delim := fs.String("delimiter", "", "CSV delimiter: , ; tab or | (default: detected)")
	enc := fs.String("encoding", "", "CSV encoding: utf-8, latin1 or windows-1252 (default utf-8)")
	sample := fs.Int("sample", scan.DefaultSampleSize, "values per column kept by the scanner to classify by form")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("report takes no arguments (got %q): name files with --input, --output and --out", fs.Arg(0))
	}
	var v *keyvault.Vault
	if !*noVault && (vf.vault != "" || e.Getenv("PSEUDOKIT_VAULT") != "") {
		var err error
		if v, err = vf.open(ctx, e); err != nil {
			return err
		}
		defer v.Close()
	}
	if *verify != "" {
		if len(*inputs)+len(*outputs)+len(*summaries)+len(*outs) > 0 {
			return usagef("--verify takes the report only (and --vault): the files are the ones it names")
		}
		return verifyReport(ctx, e, *verify, v)
	}
	if len(*inputs)+len(*outputs) == 0 {
		return usagef("report needs --input and/or --output datasets")
	}
	if len(*outs) == 0 {
		return usagef("report needs --out REPORT.html (or .md, .json)")
	}
	if *k < 1 || *l < 1 {
		return usagef("--k and --l must be at least 1")
	}
	formats := make([]string, len(*outs))
	for i, o := range *outs {
		f, err := reportFormat(o, *format)
		if err != nil {
			return err
		}
		formats[i] = f
	}
	comma, err := parseDelimiter(*delim)
	if err != nil {
		return err
	}
	rep, err := reportpkg.Build(ctx, reportpkg.Options{
		Inputs: *inputs, Outputs: *outputs, Summaries: *summaries, Vault: v,
		QI: *qi, K: *k, Sensitive: *sensitive, L: *l,
		Scan:    scan.FileOptions{Options: scan.Options{SampleSize: *sample}, Format: *from, Comma: comma, Encoding: *enc},
		Command: commandLine("report", args), Tool: "pseudokit " + Version,
	})
	if err != nil {
		if errors.Is(err, reportpkg.ErrSummary) {
			return &quietError{errSomeInvalid, err.Error()}
		}
		return err
	}
	for i, path := range *outs {
		if err := writeReport(e, rep, path, formats[i]); err != nil {
			return err
		}
	}
	failed := 0
	for _, c := range rep.Checks {
		if c.Status == reportpkg.Fail {
			failed++
			fmt.Fprintf(e.Stderr, "pseudokit: check failed: %s: %s\n", c.Name, c.Value)
		}
	}
	if failed == 0 {
		fmt.Fprintf(e.Stderr, "pseudokit: report written (%d checks, none failed)\n", len(rep.Checks))
	}
	return nil
}

// reportFormat returns the format for a report path.
func reportFormat(path, override string) (string, error) {
	f := override
	if f == "" {
		f = strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	}
	switch f {
	case "html", "htm":
		return "html", nil
	case "md", "markdown":
		return "md", nil
	case "json":
		return "json", nil
	}
	if path == "-" {
		return "", usagef("--out -: give --format html, md or json")
	}
	return "", usagef("--out %s: the name must end in .html, .md or .json (or give --format)", path)
}

// writeReport writes the report atomically (mode 0600).
func writeReport(e *Env, rep *reportpkg.Report, path, format string) error {
	out, err := table.CreateOutput(path, e.Stdout)
	if err != nil {
		return err
	}
	defer out.Abort()
	switch format {
	case "html":
		err = rep.WriteHTML(out)
	case "md":
		err = rep.WriteMarkdown(out)
	default:
		err = rep.WriteJSON(out)
	}
	if err != nil {
		return err
	}
	return out.Commit()
}

// verifyReport recomputes a JSON report's figures.
func verifyReport(ctx context.Context, e *Env, path string, v *keyvault.Vault) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rep, err := reportpkg.ReadJSON(f)
	if err != nil {
		return &quietError{errSomeInvalid, fmt.Sprintf("%s: %v", path, err)}
	}
	res, err := reportpkg.Verify(ctx, rep, reportpkg.VerifyOptions{Vault: v})
	if err != nil {
		return err
	}
	for _, c := range res.Checked {
		fmt.Fprintf(e.Stdout, "checked: %s\n", c)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(e.Stdout, "not checked: %s\n", s)
	}
	for _, m := range res.Mismatches {
		fmt.Fprintf(e.Stdout, "MISMATCH: %s\n", m)
	}
	if len(res.Mismatches) > 0 {
		return &quietError{errSomeInvalid, fmt.Sprintf("%s: %d figure(s) do not match the files", path, len(res.Mismatches))}
	}
	fmt.Fprintf(e.Stdout, "%s: every figure matches the files\n", path)
	return nil
}
