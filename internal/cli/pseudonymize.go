package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/scan"
)

func runPseudonymize(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "pseudonymize", "--vault V [--rules R.yaml | --id COL --name COL ...] IN OUT")
	var vf vaultFlags
	vf.add(fs)
	rulesFile := fs.String("rules", "", "YAML rule `FILE` saying what to do with each column")
	ids := fs.StringSlice("id", nil, "`COLUMNS` holding Norwegian identity numbers: code them (the first is the row's subject)")
	names := fs.StringSlice("name", nil, "`COLUMNS` holding names: replace with fictitious names (COL:given|family|full; guessed from the column name)")
	codes := fs.StringSlice("code", nil, "`COL:KIND` columns to code (kind nid, name, email, phone or text)")
	drops := fs.StringSlice("drop", nil, "`COLUMNS` to remove")
	redacts := fs.StringSlice("redact", nil, "free-text `COLUMNS`: replace identifiers inside the text (ID numbers by codes, others by [EMAIL], [NAME], ...)")
	keeps := fs.StringSlice("keep", nil, "`COLUMNS` to keep unchanged (so they are not listed as unmentioned)")
	domain := fs.String("domain", "", "pseudonymisation domain (default: the rules' domain, or \"default\")")
	invalid := fs.String("invalid", "", "what to do with invalid identifiers: error (stop), flag (extra column COL_invalid) or null")
	restore := fs.Bool("restore-leading-zero", false, "accept 10-digit identity numbers as numbers that lost a leading zero (Excel)")
	from := fs.String("from", "", "input format: csv or parquet (default: from the file name)")
	to := fs.String("to", "", "output format: csv or parquet (default: from the file name)")
	delim := fs.String("delimiter", "", "input CSV delimiter: , ; tab or | (default: detected)")
	enc := fs.String("encoding", "", "input CSV encoding: utf-8, latin1 or windows-1252 (default utf-8)")
	skipWithdrawn := fs.Bool("skip-withdrawn", false, "leave out rows of persons who have withdrawn consent (default: refuse the run, exit 6)")
	summary := fs.String("summary", "", "write the run summary as JSON to `FILE`")
	quiet := fs.Bool("quiet", false, "no progress display and no summary on stderr")
	workers := fs.Int("workers", 0, "goroutines transforming batches (default: the number of CPUs); the output is the same for any number")
	reports := fs.StringArray("report", nil, "also write a de-identification report of this run to `FILE` (.html, .md or .json; repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("pseudonymize needs IN and OUT (use - for standard input/output)")
	}
	if len(*reports) > 0 && (fs.Arg(0) == "-" || fs.Arg(1) == "-") {
		return usagef("--report needs files, not standard input/output, to hash and re-read")
	}
	in, out := fs.Arg(0), fs.Arg(1)
	rules, err := buildRules(*rulesFile, *ids, *names, *codes, *drops, *keeps, *redacts)
	if err != nil {
		return err
	}
	if *domain != "" {
		rules.Domain = *domain
	}
	if *invalid != "" {
		if rules.Invalid, err = pseudo.ParseInvalidPolicy(*invalid); err != nil {
			return usagef("--invalid: %v", err)
		}
	}
	if *restore {
		for i := range rules.Columns {
			if rules.Columns[i].Kind == pseudo.KindNID && rules.Columns[i].Action == pseudo.ActionCode {
				rules.Columns[i].RestoreLeadingZero = true
			}
		}
	}
	if err := rules.Check(); err != nil {
		return err
	}
	comma, err := parseDelimiter(*delim)
	if err != nil {
		return err
	}
	encoding, err := pseudo.ParseEncoding(*enc)
	if err != nil {
		return usagef("--encoding: %v", err)
	}
	v, err := vf.open(ctx, e)
	if err != nil {
		return err
	}
	defer v.Close()
	prog := newProgress(e, *quiet, 0)
	job := &pseudo.FileJob{
		Vault: v, Rules: rules, In: in, Out: out, From: *from, To: *to,
		Comma: comma, Encoding: encoding, Actor: vf.actor, Command: "pseudonymize",
		Progress: prog.updateShare, Workers: *workers, Stdin: e.Stdin, Stdout: e.Stdout, SkipWithdrawn: *skipWithdrawn, Finder: scan.Finder,
	}
	res, err := job.Run(ctx)
	prog.done()
	if err != nil {
		return err
	}
	if *summary != "" {
		if err := writeJSON(*summary, res); err != nil {
			return err
		}
	}
	if !*quiet {
		printSummary(e.Stderr, res, out)
	}
	rr := &runReportSpec{paths: *reports, inputs: []string{in}, outputs: []string{out}, results: []any{res},
		vault: v, command: commandLine("pseudonymize", args)}
	return rr.write(ctx, e)
}

// buildRules reads the rule file, or makes rules from the column flags.
func buildRules(file string, ids, names, codes, drops, keeps, redacts []string) (*pseudo.Rules, error) {
	flagged := len(ids)+len(names)+len(codes)+len(drops)+len(keeps)+len(redacts) > 0
	if file != "" {
		if flagged {
			return nil, usagef("give either --rules or column flags (--id, --name, ...), not both")
		}
		return pseudo.LoadRules(file)
	}
	if !flagged {
		return nil, usagef("say what to do: --rules FILE, or column flags such as --id fnr --name fornavn,etternavn")
	}
	r := &pseudo.Rules{Version: 1}
	for i, c := range ids {
		r.Columns = append(r.Columns, pseudo.ColumnRule{Column: c, Action: pseudo.ActionCode, Kind: pseudo.KindNID, Subject: i == 0})
	}
	for _, c := range names {
		col, part, _ := strings.Cut(c, ":")
		p := pseudo.GuessNamePart(col)
		if part != "" {
			var err error
			if p, err = pseudo.ParseNamePart(part); err != nil {
				return nil, usagef("--name %s: %v", c, err)
			}
		}
		r.Columns = append(r.Columns, pseudo.ColumnRule{Column: col, Action: pseudo.ActionFakeName, Part: p})
	}
	for _, c := range codes {
		col, kind, ok := strings.Cut(c, ":")
		if !ok {
			return nil, usagef("--code %s: want COLUMN:KIND, e.g. epost:email", c)
		}
		k, err := pseudo.ParseKind(kind)
		if err != nil {
			return nil, usagef("--code %s: %v", c, err)
		}
		r.Columns = append(r.Columns, pseudo.ColumnRule{Column: col, Action: pseudo.ActionCode, Kind: k})
	}
	for _, c := range drops {
		r.Columns = append(r.Columns, pseudo.ColumnRule{Column: c, Action: pseudo.ActionDrop})
	}
	for _, c := range keeps {
		r.Columns = append(r.Columns, pseudo.ColumnRule{Column: c, Action: pseudo.ActionKeep})
	}
	for _, c := range redacts {
		r.Columns = append(r.Columns, pseudo.ColumnRule{Column: c, Action: pseudo.ActionRedact})
	}
	return r, nil
}

func parseDelimiter(s string) (byte, error) {
	switch s {
	case "":
		return 0, nil
	case ",", ";", "|":
		return s[0], nil
	case "tab", "\\t", "\t":
		return '\t', nil
	}
	return 0, usagef("--delimiter: want , ; tab or |")
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// printSummary tells what the run did, in counts; it names columns, never values.
func printSummary(w io.Writer, r *pseudo.Result, out string) {
	fmt.Fprintf(w, "pseudokit: %s rows pseudonymised in %s (domain %q)\n", group(r.Rows), r.Duration.Round(1e6), r.Domain)
	for _, c := range r.Columns {
		line := fmt.Sprintf("  %-20s %-9s", c.Column, c.Action)
		if c.Action == pseudo.ActionRedact {
			line += fmt.Sprintf(" %s identifiers replaced inside the text", group(c.Values))
		} else if c.Action == pseudo.ActionCode || c.Action == pseudo.ActionFakeName {
			line += fmt.Sprintf(" %-5s %s replaced, %s empty", c.Kind, group(c.Values), group(c.Empty))
			for reason, n := range c.Invalid {
				line += fmt.Sprintf(", %s invalid (%s)", group(n), reason)
			}
			if c.RestoredZeros > 0 {
				line += fmt.Sprintf(", %s leading zeros restored", group(c.RestoredZeros))
			}
		}
		fmt.Fprintln(w, line)
	}
	if r.WithdrawnRows > 0 {
		fmt.Fprintf(w, "pseudokit: %s row(s) of persons who have withdrawn consent were left out\n", group(r.WithdrawnRows))
	}
	if len(r.Unmentioned) > 0 {
		fmt.Fprintf(w, "pseudokit: warning: %d column(s) not named in the rules were kept unchanged: %s\n", len(r.Unmentioned), strings.Join(r.Unmentioned, ", "))
	}
	fmt.Fprintf(w, "pseudokit: vault: %s new links, %s already known\n", group(int64(r.NewLinks)), group(int64(r.ExistingLinks)))
	if out != "-" {
		fmt.Fprintf(w, "pseudokit: wrote %s (sha256 %s)\n", out, r.OutputSHA256)
	}
}
