// Command pseudokit-beam runs pseudokit's pseudonymisation, withdrawal and
// k-anonymity measurement as Apache Beam pipelines, for datasets that
// outgrow one machine: locally on Beam's Prism runner (the default), or on
// Flink, Spark or Google Cloud Dataflow (--runner). See docs/beam.md.
//
//	pseudokit-beam pseudonymize --input 'data/**.parquet' --output out --links links \
//	    --rules rules.yaml --grant job.grant --identity worker.key
//	pseudokit-beam withdraw --input 'out/*/*.parquet' --output out2 --codes codes.txt \
//	    --receipt receipt --purpose 'request 2026-117'
//	pseudokit-beam kcheck --input 'out/*/*.parquet' --qi age,sex,postcode --out report.json
//
// The flags of Beam's runners (--runner, --endpoint, --project, ...) are
// accepted next to these. It uses the standard flag package rather than
// pflag, because Beam's runner and worker options live there.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/pseudokit/pseudokit/cmd/pseudokit-beam/pipeline"
	"github.com/pseudokit/pseudokit/withdraw"
)

// Exit codes, as pseudokit's.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

const usage = `Usage: pseudokit-beam COMMAND [flags] [Beam runner flags]

Commands:
  pseudonymize  pseudonymise CSV/Parquet files with a job grant (pseudokit vault job);
                new links go to sealed link files for 'pseudokit vault import'
  withdraw      remove withdrawn persons' rows (by code) and write a receipt
  kcheck        measure k-anonymity over all files, as 'pseudokit kcheck --json'

Runs on Prism in this process unless --runner says otherwise (flink, spark, dataflow).
Run 'pseudokit-beam COMMAND -h' for a command's flags.
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stderr))
}

type usageError struct{ error }

func run(ctx context.Context, args []string, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		// Runners start worker processes with Beam's own flags and no
		// command: beam.Init runs the worker and exits.
		flag.CommandLine.SetOutput(stderr)
		flag.Parse()
		beam.Init()
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, args := args[0], args[1:]
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stderr, usage)
		return exitOK
	}
	build, err := command(cmd)
	if err != nil {
		fmt.Fprintf(stderr, "pseudokit-beam: error: %v\n%s", err, usage)
		return exitUsage
	}
	flag.CommandLine.SetOutput(stderr)
	flag.CommandLine.Usage = func() {
		fmt.Fprintf(stderr, "Usage: pseudokit-beam %s [flags]\n", cmd)
		flag.PrintDefaults()
	}
	finish := build(flag.CommandLine)
	if err := flag.CommandLine.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if flag.NArg() > 0 {
		fmt.Fprintf(stderr, "pseudokit-beam: error: %s takes no arguments, got %q\n", cmd, flag.Arg(0))
		return exitUsage
	}
	beam.Init()
	p, s := beam.NewPipelineWithRoot()
	if err := finish(s); err != nil {
		fmt.Fprintf(stderr, "pseudokit-beam: error: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) || errors.Is(err, withdraw.ErrNoPurpose) {
			return exitUsage
		}
		return exitFailure
	}
	if err := beamx.Run(ctx, p); err != nil {
		fmt.Fprintf(stderr, "pseudokit-beam: error: %s failed: %v\n", cmd, err)
		return exitFailure
	}
	return exitOK
}

// command registers cmd's flags and returns the function that builds its
// pipeline from them.
func command(cmd string) (func(fs *flag.FlagSet) func(beam.Scope) error, error) {
	switch cmd {
	case "pseudonymize", "pseudonymise":
		return pseudonymizeFlags, nil
	case "withdraw":
		return withdrawFlags, nil
	case "kcheck":
		return kcheckFlags, nil
	}
	return nil, fmt.Errorf("unknown command %q", cmd)
}

func pseudonymizeFlags(fs *flag.FlagSet) func(beam.Scope) error {
	var o pipeline.PseudonymizeOptions
	var rules string
	fs.StringVar(&o.Input, "input", "", "glob of the CSV and Parquet files to pseudonymise (local, or gs://...), or a local directory (every dataset below it)")
	fs.StringVar(&o.Root, "root", "", "directory the output paths are relative to (default: the glob's directory before its first wildcard)")
	fs.StringVar(&o.Output, "output", "", "directory for the pseudonymised files (same relative paths)")
	fs.StringVar(&o.Links, "links", "", "directory for the sealed link files, for 'pseudokit vault import' (keep it apart from --output)")
	fs.StringVar(&rules, "rules", "", "rule file (YAML, as for pseudokit pseudonymize)")
	fs.StringVar(&o.Grant, "grant", "", "job grant file from 'pseudokit vault job' (encrypted to the workers)")
	fs.StringVar(&o.Identity, "identity", os.Getenv("PSEUDOKIT_WORKER_IDENTITY"), "path, on the workers, of the age identity file that opens the grant (or PSEUDOKIT_WORKER_IDENTITY)")
	fs.BoolVar(&o.SkipWithdrawn, "skip-withdrawn", false, "leave out rows of persons who have withdrawn instead of failing")
	fs.IntVar(&o.Workers, "workers", 1, "goroutines per file")
	fs.StringVar(&o.Summary, "summary", "", "run summary JSON (default OUTPUT/_pseudokit-run.json)")
	return func(s beam.Scope) error {
		if rules == "" {
			return usageError{errors.New("pseudonymize needs --rules FILE")}
		}
		b, err := os.ReadFile(rules)
		if err != nil {
			return err
		}
		o.Rules = string(b)
		if err := pipeline.Pseudonymize(s, o); err != nil {
			return usageError{err}
		}
		return nil
	}
}

func withdrawFlags(fs *flag.FlagSet) func(beam.Scope) error {
	var o pipeline.WithdrawOptions
	fs.StringVar(&o.Input, "input", "", "glob of the pseudonymised CSV and Parquet files, or a local directory")
	fs.StringVar(&o.Root, "root", "", "directory the output paths are relative to (default: the glob's directory before its first wildcard)")
	fs.StringVar(&o.Output, "output", "", "directory for the datasets without the withdrawn persons (same relative paths)")
	fs.StringVar(&o.Codes, "codes", "", "file of the withdrawn persons' codes, one per line")
	fs.StringVar(&o.Receipt, "receipt", "", "write the receipt to PREFIX.json and PREFIX.txt")
	fs.StringVar(&o.Purpose, "purpose", "", "why, e.g. the request's case reference (required; in the receipt)")
	fs.StringVar(&o.Actor, "actor", "", "who carries it out (in the receipt)")
	return func(s beam.Scope) error {
		if err := pipeline.Withdraw(s, o); err != nil {
			return usageError{err}
		}
		return nil
	}
}

func kcheckFlags(fs *flag.FlagSet) func(beam.Scope) error {
	var o pipeline.KCheckOptions
	var qi, sens string
	fs.StringVar(&o.Input, "input", "", "glob of the CSV and Parquet files, or a local directory, measured as one dataset")
	fs.StringVar(&qi, "qi", "", "quasi-identifier columns (comma-separated)")
	fs.StringVar(&sens, "sensitive", "", "sensitive attribute columns (comma-separated)")
	fs.IntVar(&o.K, "k", 5, "class size below which classes and records count as at risk")
	fs.IntVar(&o.L, "l", 2, "l for the diversity counts")
	fs.StringVar(&o.Output, "out", "", "write the report (JSON) here")
	return func(s beam.Scope) error {
		o.QI, o.Sensitive = split(qi), split(sens)
		if err := pipeline.KCheck(s, o); err != nil {
			return usageError{err}
		}
		return nil
	}
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
