package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"filippo.io/age"

	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo/job"
)

func runVaultJob(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "vault job", "--domain NAME (--recipient AGE1... | --recipients-file F) --purpose TEXT --out FILE [flags]")
	var vf vaultFlags
	vf.add(fs)
	domain := fs.String("domain", keyvault.DefaultDomain, "the pseudonymisation domain the job codes in (keyed codes only)")
	recipients := fs.StringSlice("recipient", nil, "encrypt the grant to this age public key of the pipeline's workers (age1..., or a plugin's age1NAME1...)")
	recipientsFile := fs.String("recipients-file", "", "encrypt the grant to every age recipient in `FILE` (one per line)")
	purpose := fs.String("purpose", "", "why, for the access log (required)")
	out := fs.String("out", "", "write the encrypted grant to `FILE` (created 0600; never overwritten)")
	asJSON := fs.Bool("json", false, "print the job id, domain and link recipient as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("vault job takes no arguments, got %q", fs.Arg(0))
	}
	if *recipientsFile != "" {
		rs, err := readRecipients(*recipientsFile)
		if err != nil {
			return err
		}
		*recipients = append(*recipients, rs...)
	}
	switch {
	case len(*recipients) == 0:
		return withHint(usagef("vault job needs the workers' age recipient (--recipient or --recipients-file)"),
			"make a key for the workers with 'age-keygen -o worker.key' and give its public key; the key file goes to the workers as a secret")
	case *purpose == "":
		return usagef("vault job needs --purpose (it is logged)")
	case *out == "" || *out == "-":
		return usagef("vault job needs --out FILE")
	}
	if _, err := os.Lstat(*out); err == nil {
		return usagef("%s already exists; a grant is never overwritten", *out)
	}
	var rs []age.Recipient
	for i, s := range *recipients {
		r, _, err := keyvault.ParseRecipient(s, pluginUI(e))
		if err != nil {
			return exitErr(ExitUsage, fmt.Errorf("recipient %d of %d: %w", i+1, len(*recipients), err), "")
		}
		rs = append(rs, r)
	}
	v, err := vf.open(ctx, e)
	if err != nil {
		return err
	}
	defer v.Close()
	// Stage the file before the grant is logged, so that a grant that is
	// logged but never written is impossible; the output only appears once
	// the grant is in it.
	o, err := table.CreateOutput(*out, nil)
	if err != nil {
		return err
	}
	defer o.Abort()
	g, err := v.GrantJob(ctx, *domain, keyvault.Entry{Purpose: *purpose, Details: map[string]any{"recipients": len(rs)}})
	if err != nil {
		return vaultErr(err)
	}
	defer clear(g.DomainSecret)
	if err := job.WriteGrant(o, g, rs...); err != nil {
		return err
	}
	if err := o.Commit(); err != nil {
		return err
	}
	if *asJSON {
		b, _ := json.MarshalIndent(map[string]any{"job": g.Job, "domain": g.Domain, "grant": *out,
			"link_recipient": g.LinkRecipient, "withdrawn_codes": len(g.Withdrawn)}, "", "  ")
		fmt.Fprintln(e.Stdout, string(b))
	}
	fmt.Fprintf(e.Stderr, "pseudokit: job %s granted in domain %s (%d withdrawn person(s) will be refused); wrote %s\n", g.Job, g.Domain, len(g.Withdrawn), *out)
	fmt.Fprintf(e.Stderr, "pseudokit: hint: give %s to the pipeline (pseudokit-beam --grant), then record its links with 'pseudokit vault import LINKS_DIR'\n", *out)
	return nil
}

func runVaultImport(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "vault import", "LINKS... [flags] (link files, or directories searched for *.links)")
	var vf vaultFlags
	vf.add(fs)
	purpose := fs.String("purpose", "", "why, for the access log")
	asJSON := fs.Bool("json", false, "print what was imported as JSON")
	withdrawnOut := fs.String("withdrawn-out", "", "if persons in the links have withdrawn, write their codes to `FILE` (one per line) for the pipeline's withdraw")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("vault import needs link files or directories")
	}
	paths, err := linkFiles(fs.Args())
	if err != nil {
		return err
	}
	v, err := vf.open(ctx, e)
	if err != nil {
		return err
	}
	defer v.Close()
	res, err := job.Import(ctx, v, paths, job.ImportOptions{Actor: vf.actor, Purpose: *purpose, Command: "vault import"})
	var we *job.WithdrawnError
	if errors.As(err, &we) {
		var hint string
		if *withdrawnOut != "" {
			if werr := writeLines(*withdrawnOut, we.Codes); werr != nil {
				return werr
			}
			hint = fmt.Sprintf("their codes are in %s: remove their rows from the job's outputs (pseudokit-beam withdraw --codes %s), then import again", *withdrawnOut, *withdrawnOut)
		} else {
			hint = "write their codes with --withdrawn-out FILE and remove their rows from the job's outputs (pseudokit-beam withdraw --codes FILE), then import again"
		}
		return withHint(err, hint)
	}
	if err != nil {
		return vaultErr(err)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(res, "", "  ")
		fmt.Fprintln(e.Stdout, string(b))
	}
	fmt.Fprintf(e.Stderr, "pseudokit: imported job %s (domain %s): %s records from %d file(s), %s new links, %s already in the vault; log entry #%d\n",
		res.Job, res.Domain, group(res.Records), len(res.Files), group(int64(res.NewLinks)), group(int64(res.ExistingLinks)), res.LogSeq)
	return nil
}

// linkFiles expands directories to the *.links files under them, sorted.
func linkFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(p, ".links") {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, usagef("%s: no *.links files", a)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// writeLines writes lines to a new file (0600, never overwriting).
func writeLines(path string, lines []string) error {
	o, err := table.CreateOutput(path, nil)
	if err != nil {
		return err
	}
	defer o.Abort()
	if _, err := o.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		return err
	}
	return o.Commit()
}
