package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// Version is the tool version, recorded in the access log and reports.
var Version = "0.1.0-dev"

// Exit codes. Each class a script may need to tell apart has its own.
const (
	ExitOK           = 0 // success
	ExitFailure      = 1 // anything not listed below
	ExitUsage        = 2 // bad flags or arguments
	ExitWrongPass    = 3 // wrong passphrase: no key slot could be unlocked
	ExitInvalidInput = 4 // invalid input data: parse error, invalid identifier, missing column
	ExitVault        = 5 // not a vault, unsupported version, corrupt, integrity check failed
	ExitRefused      = 6 // refused by policy
)

// Env is the world a command runs in; tests replace it.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Terminal reports whether stderr is a terminal (progress is shown only then).
	Terminal bool
	// ReadPassword prompts on the terminal and reads a line without echo; nil when there is no terminal.
	ReadPassword func(prompt string) ([]byte, error)
}

// OSEnv is the real environment.
func OSEnv() *Env {
	e := &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		Terminal: term.IsTerminal(int(os.Stderr.Fd()))}
	if tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0); err == nil {
		e.ReadPassword = func(prompt string) ([]byte, error) {
			fmt.Fprint(tty, prompt)
			defer fmt.Fprintln(tty)
			return term.ReadPassword(int(tty.Fd()))
		}
	}
	return e
}

// usageError is an error in the command line; it exits with ExitUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// hintError carries a hint shown after the error.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, hint string) error { return &hintError{err, hint} }

type command struct {
	name, args, summary string
	run                 func(ctx context.Context, e *Env, args []string) error
}

func commands() []command {
	return []command{
		{"demo", "", "pseudonymise the bundled synthetic dataset with a throw-away vault", runDemo},
		{"pseudonymize", "[flags] IN OUT", "replace identifiers in a CSV or Parquet dataset by codes (alias: pseudonymise)", runPseudonymize},
		{"withdraw", "--vault V (--id|--code|--from-file) --purpose TEXT DATASET...", "remove withdrawn participants from every dataset, with a receipt", runWithdraw},
		{"id", "[--json] [NUMBER...]", "check Norwegian identity numbers (or one per line on stdin)", runID},
		{"scan", "[flags] DATASET...", "find identifiers and quasi-identifiers in datasets; suggest rules", runScan},
		{"report", "[flags] --out REPORT", "write a de-identification report (HTML, Markdown, JSON), or --verify one", runReport},
		{"kcheck", "--qi COLUMNS [flags] DATASET", "measure k-anonymity, l-diversity and re-identification risk", runKcheck},
		{"anonymize", "--rules R [flags] IN OUT", "generalise and suppress a dataset to a k-anonymous one (optimal search)", runAnonymize},
		{"vault", "SUBCOMMAND [flags]", "the identifier-key vault: init, info, holders, log, verify, destroy, ... ('pseudokit vault help')", runVault},
		{"reveal", "CODE... --purpose TEXT [flags]", "show the identifiers behind codes (re-identification; logged)", runReveal},
		{"lookup", "ID... --purpose TEXT [--kind K] [flags]", "show a person's codes (right of access; logged)", runLookup},
		{"export-subject", "ID --purpose TEXT --out FILE DATASET...", "export every row of one person from datasets (portability; logged)", runExportSubject},
		{"recode", "--from DOMAIN --to DOMAIN IN OUT", "turn a dataset's codes into another domain's codes (logged)", runRecode},
		{"version", "", "print the version", func(_ context.Context, e *Env, _ []string) error {
			fmt.Fprintln(e.Stdout, "pseudokit", Version)
			return nil
		}},
	}
}

// rawStdout names the commands whose standard output is data (a dataset
// written to -, revealed identifiers by design), never rewritten.
var rawStdout = map[string]bool{"pseudonymize": true, "anonymize": true, "recode": true, "export-subject": true, "reveal": true}

// Main runs the command line args (without the program name) and returns the exit code.
func Main(args []string, e *Env) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.Stdout)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	name := args[0]
	if name == "pseudonymise" {
		name = "pseudonymize"
	}
	for _, c := range commands() {
		if c.name == name {
			// Terminal text passes through hideNumbers (see redact.go); the
			// standard output of commands that write data there does not.
			ce := *e
			ce.Stderr = hidingWriter{e.Stderr}
			if !rawStdout[name] {
				ce.Stdout = hidingWriter{e.Stdout}
			}
			err := c.run(ctx, &ce, args[1:])
			return report(&ce, err)
		}
	}
	fmt.Fprintf(hidingWriter{e.Stderr}, "pseudokit: error: unknown command %q\npseudokit: hint: run 'pseudokit help' for the list\n", args[0])
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "pseudokit: pseudonymise research datasets and keep the identifier key safe.")
	fmt.Fprintln(w, "\nUsage: pseudokit COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-15s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'pseudokit COMMAND --help' for a command's flags. Exit codes: 0 ok, 1 failure,")
	fmt.Fprintln(w, "2 usage, 3 wrong passphrase, 4 invalid input data, 5 vault problem, 6 refused.")
}

// report prints err for a person and returns the exit code for it.
func report(e *Env, err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, pflag.ErrHelp) {
		return ExitOK
	}
	code := exitCode(err)
	fmt.Fprintf(e.Stderr, "pseudokit: error: %v\n", err)
	var h *hintError
	if errors.As(err, &h) && h.hint != "" {
		fmt.Fprintf(e.Stderr, "pseudokit: hint: %s\n", h.hint)
	} else if hint := defaultHint(err); hint != "" {
		fmt.Fprintf(e.Stderr, "pseudokit: hint: %s\n", hint)
	}
	return code
}

// newFlags returns a flag set for a command that prints its usage on -h.
func newFlags(e *Env, name, args string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(e.Stderr, "Usage: pseudokit %s %s\n\nFlags:\n%s", name, args, fs.FlagUsages())
	}
	return fs
}

// parse parses flags, turning flag errors into usage errors.
func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	return nil
}

// commandLine returns the command line with flag values that could be
// secret removed, for the access log.
func commandLine(name string, args []string) string {
	return strings.TrimSpace("pseudokit " + name + " " + strings.Join(args, " "))
}
