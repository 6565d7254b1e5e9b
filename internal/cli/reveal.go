package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/nid"
)

// errNotAllFound makes reveal exit with ExitInvalidInput when a code is
// unknown; errWithdrawnCodes with ExitRefused when a code belongs to a
// withdrawn person (whose identifier is erased).
var (
	errNotAllFound    = errors.New("some codes are not in the vault")
	errWithdrawnCodes = errors.New("some codes belong to persons who have withdrawn: their identifiers are erased")
)

// parseCodes checks codes typed by a person (lower case, hyphens and
// Crockford's aliases accepted). Errors name the position, never the text
// (it could be an identifier pasted by mistake).
func parseCodes(args []string) ([]string, error) {
	out := make([]string, len(args))
	for i, a := range args {
		c, err := pseudo.ParseCode(a)
		if err != nil {
			return nil, usagef("code %d of %d: %v", i+1, len(args), err)
		}
		out[i] = c
	}
	return out, nil
}

// canonicalID returns the canonical form of an identifier of kind, or an
// error naming its position (never the value).
func canonicalID(kind pseudo.Kind, s string, pos, n int) (string, error) {
	if kind == pseudo.KindNID {
		num, err := nid.Parse(s)
		if err != nil {
			return "", exitErr(ExitInvalidInput, fmt.Errorf("identifier %d of %d: %w", pos, n, err), "")
		}
		return num.String(), nil
	}
	c, ok := kind.Canonical(s)
	if !ok {
		return "", exitErr(ExitInvalidInput, fmt.Errorf("identifier %d of %d is empty", pos, n), "")
	}
	return c, nil
}

func runReveal(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "reveal", "CODE... --purpose TEXT [--domain D] [--json] [flags]")
	var vf vaultFlags
	vf.add(fs)
	purpose := fs.String("purpose", "", "why the identifiers are needed, e.g. a case or approval reference (required; logged)")
	domain := fs.String("domain", "", "only look in this domain (default: every domain)")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if err := parse(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*purpose) == "" {
		return withHint(usagef("reveal needs --purpose: re-identification is allowed only for a stated purpose, which is logged"),
			"for example --purpose \"adverse event report AE-12\"")
	}
	if fs.NArg() == 0 {
		return usagef("reveal needs at least one CODE")
	}
	codes, err := parseCodes(fs.Args())
	if err != nil {
		return err
	}
	v, err := vf.open(ctx, e)
	if err != nil {
		return err
	}
	defer v.Close()
	refs, err := v.Reveal(ctx, codes, *domain, keyvault.Entry{Actor: vf.actor, Purpose: *purpose,
		Details: map[string]any{"command": "reveal"}})
	if err != nil {
		return vaultErr(err)
	}
	found := map[string]bool{}
	withdrawn := 0
	for _, r := range refs {
		found[r.Code] = true
		if r.State != keyvault.LinkActive {
			withdrawn++
		}
		if *asJSON {
			b, _ := json.Marshal(map[string]string{"code": r.Code, "domain": r.Domain, "kind": r.Kind, "state": r.State, "identifier": r.Identifier})
			fmt.Fprintf(e.Stdout, "%s\n", b)
			continue
		}
		id := r.Identifier
		if r.State != keyvault.LinkActive {
			id = "(withdrawn: identifier erased)"
		}
		fmt.Fprintf(e.Stdout, "%s\t%s\t%s\t%s\n", r.Code, r.Domain, r.Kind, id)
	}
	missing := 0
	for _, c := range codes {
		if !found[c] {
			missing++
			fmt.Fprintf(e.Stderr, "pseudokit: %s: not in the vault\n", c)
		}
	}
	switch {
	case missing > 0:
		return exitErr(ExitInvalidInput, fmt.Errorf("%w (%d of %d)", errNotAllFound, missing, len(codes)), "")
	case withdrawn > 0:
		return exitErr(ExitRefused, fmt.Errorf("%w (%d)", errWithdrawnCodes, withdrawn), "")
	}
	return nil
}

func runLookup(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "lookup", "[ID...] --purpose TEXT [--kind nid] [--domain D] [--json] [flags] (IDs one per line on stdin if none are given)")
	var vf vaultFlags
	vf.add(fs)
	kindName := fs.String("kind", "nid", "kind of the identifiers: nid, name, email, phone or text")
	purpose := fs.String("purpose", "", "why, e.g. the reference of the subject-access request (required; logged)")
	domain := fs.String("domain", "", "only this domain (default: every domain)")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if err := parse(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*purpose) == "" {
		return withHint(usagef("lookup needs --purpose (it is logged)"), "for example --purpose \"subject access request 2025-31\"")
	}
	kind, err := pseudo.ParseKind(*kindName)
	if err != nil {
		return usagef("--kind: %v", err)
	}
	inputs := fs.Args()
	if len(inputs) == 0 {
		// One per line on standard input: arguments end up in shell history.
		sc := bufio.NewScanner(e.Stdin)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				inputs = append(inputs, l)
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("reading standard input: %w", err)
		}
	}
	if len(inputs) == 0 {
		return usagef("lookup needs identifiers: as arguments, or one per line on standard input")
	}
	canon := make([]string, len(inputs))
	for i, a := range inputs {
		if canon[i], err = canonicalID(kind, a, i+1, len(inputs)); err != nil {
			return err
		}
	}
	v, err := vf.open(ctx, e)
	if err != nil {
		return err
	}
	defer v.Close()
	if *domain != "" {
		if _, err := v.Domain(*domain); err != nil {
			return vaultErr(err)
		}
	}
	type result struct {
		refs      []keyvault.LinkRef
		withdrawn bool
	}
	results := make([]result, len(canon))
	codes := []string{}
	foundPersons, withdrawnPersons := 0, 0
	for i, c := range canon {
		refs, w, err := v.FindPerson(string(kind), c)
		if err != nil {
			return vaultErr(err)
		}
		var keep []keyvault.LinkRef
		for _, r := range refs {
			if *domain == "" || r.Domain == *domain {
				keep = append(keep, r)
				codes = append(codes, r.Code)
			}
		}
		results[i] = result{keep, w}
		if len(keep) > 0 {
			foundPersons++
		}
		if w {
			withdrawnPersons++
		}
	}
	// The access is logged before anything is shown.
	if err := v.AppendContext(ctx, keyvault.Entry{Action: "lookup", Actor: vf.actor, Purpose: *purpose, Details: map[string]any{
		"command": "lookup", "kind": string(kind), "domain": *domain, "persons": len(canon),
		"found": foundPersons, "withdrawn": withdrawnPersons, "codes": codes,
	}}); err != nil {
		return vaultErr(err)
	}
	for i, r := range results {
		if *asJSON {
			links := []map[string]string{}
			for _, l := range r.refs {
				links = append(links, map[string]string{"domain": l.Domain, "code": l.Code, "state": l.State})
			}
			b, _ := json.Marshal(map[string]any{"input": i + 1, "links": links, "withdrawn": r.withdrawn})
			fmt.Fprintf(e.Stdout, "%s\n", b)
			continue
		}
		if len(r.refs) == 0 {
			note := "no link in the vault"
			if r.withdrawn {
				note += " (withdrawn)"
			}
			fmt.Fprintf(e.Stdout, "%d\t-\t-\t%s\n", i+1, note)
		}
		for _, l := range r.refs {
			fmt.Fprintf(e.Stdout, "%d\t%s\t%s\t%s\n", i+1, l.Domain, l.Code, l.State)
		}
	}
	return nil
}
