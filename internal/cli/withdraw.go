package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/withdraw"
)

// errNotClean makes 'withdraw --verify' exit with ExitRefused when a
// withdrawn person is still in a dataset.
var errNotClean = errors.New("withdrawn persons remain")

func runWithdraw(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "withdraw", "--vault V (--id ID... | --code CODE... | --from-file F) --purpose TEXT DATASET...")
	var vf vaultFlags
	vf.add(fs)
	ids := fs.StringSlice("id", nil, "identity `NUMBERS` of withdrawn persons (prefer --from-file: arguments end up in shell history)")
	codes := fs.StringSlice("code", nil, "`CODES` of withdrawn persons (any domain)")
	fromFile := fs.String("from-file", "", "read identity numbers and codes from `FILE`, one per line")
	purpose := fs.String("purpose", "", "why: the reference of the withdrawal request (required)")
	dryRun := fs.Bool("dry-run", false, "show what would be removed; change nothing")
	verify := fs.Bool("verify", false, "re-scan the datasets: confirm no withdrawn person remains (exit 6 if one does)")
	receipt := fs.String("receipt", "", "write the receipt to `PREFIX`.json and PREFIX.txt (default: withdrawal-TIME beside the first dataset)")
	quiet := fs.Bool("quiet", false, "no progress display, and do not print the receipt")
	reports := fs.StringArray("report", nil, "also write a de-identification report of the datasets after the withdrawal to `FILE` (.html, .md or .json)")
	vaultOnly := fs.Bool("vault-only", false, "record the withdrawal in the vault without DATASETs (they are elsewhere, e.g. cleaned by pseudokit-beam withdraw)")
	codesOut := fs.String("codes-out", "", "write every code of the withdrawn persons (all domains) to `FILE`, one per line, e.g. for pseudokit-beam withdraw --codes")
	if err := parse(fs, args); err != nil {
		return err
	}
	datasets := fs.Args()
	switch {
	case len(datasets) == 0 && !*vaultOnly:
		return withHint(usagef("withdraw needs at least one DATASET"), "if the datasets are elsewhere (a pipeline's storage), record the withdrawal with --vault-only and remove the rows there")
	case len(datasets) > 0 && *vaultOnly:
		return usagef("--vault-only takes no DATASET")
	case *vaultOnly && (*verify || len(*reports) > 0):
		return usagef("--verify and --report need DATASETs")
	}
	if *verify {
		v, err := vf.open(ctx, e)
		if err != nil {
			return err
		}
		defer v.Close()
		lines := &datasetLines{e: e, quiet: *quiet}
		vj := &withdraw.VerifyJob{Vault: v, Datasets: datasets, Actor: vf.actor, Progress: lines.update}
		res, err := vj.Run(ctx)
		lines.done()
		if err != nil {
			return err
		}
		for _, d := range res.Datasets {
			state := "clean"
			if d.Remaining > 0 {
				state = fmt.Sprintf("%d row(s) of withdrawn persons REMAIN", d.Remaining)
			}
			fmt.Fprintf(e.Stdout, "%s: %d rows, %s\n", d.Path, d.Rows, state)
		}
		if !res.OK() {
			return withHint(errNotClean, "run the withdrawal again on these datasets")
		}
		fmt.Fprintf(e.Stdout, "verified: no withdrawn person (%d withdrawn codes checked) remains\n", res.WithdrawnCodes)
		return nil
	}
	if strings.TrimSpace(*purpose) == "" {
		return usagef("--purpose is required: say why (e.g. the reference of the withdrawal request)")
	}
	if *fromFile != "" {
		fi, fc, err := readPersons(*fromFile)
		if err != nil {
			return err
		}
		*ids = append(*ids, fi...)
		*codes = append(*codes, fc...)
	}
	if len(*ids)+len(*codes) == 0 {
		return usagef("name the persons: --id, --code or --from-file")
	}
	v, err := vf.open(ctx, e)
	if err != nil {
		return err
	}
	defer v.Close()
	job := &withdraw.Job{Vault: v, IDs: *ids, Codes: *codes, Datasets: datasets, Purpose: *purpose, Actor: vf.actor, DryRun: *dryRun}
	lines := &datasetLines{e: e, quiet: *quiet}
	job.Progress = lines.update
	rc, err := job.Run(ctx)
	lines.done()
	if err != nil && rc == nil {
		return err
	}
	prefix := *receipt
	if prefix == "" {
		dir := "."
		if len(datasets) > 0 {
			dir = filepath.Dir(datasets[0])
		}
		prefix = filepath.Join(dir, "withdrawal-"+rc.Time.Format("20060102T150405Z"))
		if *dryRun {
			prefix += "-dry-run"
		}
	}
	if werr := rc.WriteFiles(prefix); werr != nil {
		fmt.Fprintf(e.Stderr, "pseudokit: warning: could not write the receipt: %v\n", werr)
	} else if !*quiet {
		fmt.Fprintf(e.Stderr, "pseudokit: receipt written to %s.json and %s.txt\n", prefix, prefix)
	}
	if !*quiet {
		fmt.Fprint(e.Stdout, rc.Text())
	}
	if err == nil && *codesOut != "" {
		var all []string
		for _, p := range rc.Persons {
			all = append(all, p.Codes...)
		}
		if err := writeLines(*codesOut, all); err != nil {
			return err
		}
	}
	if err != nil || *dryRun {
		return err
	}
	rr := &runReportSpec{paths: *reports, outputs: datasets, vault: v, command: commandLine("withdraw", args)}
	return rr.write(ctx, e)
}

// readPersons reads identity numbers and codes, one per line; a line of a
// code's length that parses as a code is a code. Blank lines and lines
// starting with # are skipped. Errors name the line, never its content.
func readPersons(path string) (ids, codes []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if c, err := pseudo.ParseCode(line); err == nil {
			codes = append(codes, c)
			continue
		}
		ids = append(ids, line)
	}
	return ids, codes, sc.Err()
}
