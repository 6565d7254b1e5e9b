package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pseudokit/pseudokit/pseudo/nid"
)

// errSomeInvalid makes `pseudokit id` exit with ExitInvalidInput when any number is invalid.
var errSomeInvalid = errors.New("some numbers are invalid")

// runID checks identity numbers. Output lines refer to inputs by their
// position (1, 2, ...), never by the number itself, so the output can be
// kept in a log.
func runID(_ context.Context, e *Env, args []string) error {
	fs := newFlags(e, "id", "[--json] [--restore-leading-zero] [NUMBER...]")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	restore := fs.Bool("restore-leading-zero", false, "accept 10-digit numbers as numbers that lost a leading zero (Excel)")
	if err := parse(fs, args); err != nil {
		return err
	}
	p := nid.Parser{RestoreLeadingZero: *restore}
	invalid := 0
	show := func(i int, s string) {
		r := nid.Describe(s, p)
		if !r.Valid {
			invalid++
		}
		if *asJSON {
			b, _ := json.Marshal(struct {
				Line int `json:"line"`
				nid.Result
			}{i, r})
			fmt.Fprintf(e.Stdout, "%s\n", b)
			return
		}
		if !r.Valid {
			fmt.Fprintf(e.Stdout, "%d\tinvalid\t%s\t%s\n", i, r.Reason, r.Message)
			return
		}
		line := fmt.Sprintf("%d\tvalid\t%s", i, r.Kind)
		if r.Synthetic != "" && r.Synthetic != "none" {
			line += "\tsynthetic:" + r.Synthetic
		}
		if r.BirthDate != "" {
			line += "\tborn " + r.BirthDate
		}
		if r.Rule2032 {
			line += "\t2032-rule"
		}
		if r.ZeroRestored {
			line += "\tleading-zero-restored"
		}
		fmt.Fprintln(e.Stdout, line)
	}
	if fs.NArg() > 0 {
		for i, a := range fs.Args() {
			show(i+1, a)
		}
	} else {
		sc := bufio.NewScanner(e.Stdin)
		for i := 1; sc.Scan(); i++ {
			show(i, sc.Text())
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("reading standard input: %w", err)
		}
	}
	if invalid > 0 {
		return &quietError{errSomeInvalid, fmt.Sprintf("%d invalid", invalid)}
	}
	return nil
}

// quietError sets the exit code of errSomeInvalid-like results while
// printing a short note instead of an error.
type quietError struct {
	err  error
	note string
}

func (q *quietError) Error() string { return q.note }
func (q *quietError) Unwrap() error { return q.err }
