package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pseudokit/pseudokit/keyvault"
)

func runVaultRetention(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "vault retention", "DATE|none [flags]")
	var vf vaultFlags
	vf.add(fs)
	purpose := fs.String("purpose", "", "why, e.g. the approval that sets the period (for the access log)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("vault retention needs a DATE (YYYY-MM-DD) or none")
	}
	var t time.Time
	if fs.Arg(0) != "none" {
		var err error
		if t, err = parseDate(fs.Arg(0)); err != nil {
			return usagef("retention: %v", err)
		}
	}
	v, err := vf.open(ctx, e)
	if err != nil {
		return err
	}
	defer v.Close()
	if err := v.SetRetention(ctx, t, keyvault.Entry{Purpose: *purpose}); err != nil {
		return vaultErr(err)
	}
	if t.IsZero() {
		fmt.Fprintln(e.Stderr, "pseudokit: retention date cleared")
	} else {
		fmt.Fprintf(e.Stderr, "pseudokit: retention date set to %s; after it every command warns, and 'pseudokit vault destroy' destroys the key\n", t.Format("2006-01-02"))
	}
	return nil
}

func runVaultCompact(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "vault compact", "[flags]")
	var vf vaultFlags
	vf.add(fs)
	domain := fs.String("domain", "", "only this domain (default: every domain)")
	purpose := fs.String("purpose", "", "why (for the access log)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("vault compact takes no arguments")
	}
	v, err := vf.open(ctx, e)
	if err != nil {
		return err
	}
	defer v.Close()
	rep, err := v.Compact(ctx, *domain, keyvault.Entry{Purpose: *purpose})
	if err != nil {
		return vaultErr(err)
	}
	if rep.Domains == 0 {
		fmt.Fprintln(e.Stderr, "pseudokit: nothing to compact: every domain has one map segment")
		return nil
	}
	fmt.Fprintf(e.Stderr, "pseudokit: merged %d map segments of %d domain(s), %d links, into one segment each\n", rep.Segments, rep.Domains, rep.Links)
	return nil
}

// destructionRecord is what 'vault destroy --receipt' writes.
type destructionRecord struct {
	Vault     string    `json:"vault"`
	VaultID   string    `json:"vault_id"`
	Project   string    `json:"project"`
	Destroyed time.Time `json:"destroyed"`
	Purpose   string    `json:"purpose"`
	LogSeq    int64     `json:"log_seq"`
	LogHash   string    `json:"log_final_hash"`
	Slots     int       `json:"slots_removed"`
	Links     int       `json:"links_removed"`
	Withdrawn int       `json:"tombstones_removed"`
	Tool      string    `json:"tool"`
}

func runVaultDestroy(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "vault destroy", "--purpose TEXT [--yes] [--receipt FILE] [flags]")
	var vf vaultFlags
	vf.add(fs)
	purpose := fs.String("purpose", "", "why the key is destroyed, e.g. 'retention period over' (required)")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	receipt := fs.String("receipt", "", "also write the destruction record as JSON to `FILE` (keep it with the project's records)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("vault destroy takes no arguments")
	}
	if strings.TrimSpace(*purpose) == "" {
		return usagef("--purpose is required: say why the key is destroyed")
	}
	if !*yes && e.ReadPassword == nil {
		return withHint(usagef("destroying the key cannot be undone: confirm with --yes"), "run it on a terminal to be asked, or give --yes")
	}
	v, err := vf.open(ctx, e)
	if err != nil {
		return err
	}
	defer v.Close()
	in, err := v.Info()
	if err != nil {
		return vaultErr(err)
	}
	if !*yes {
		links := 0
		for _, d := range in.Domains {
			for _, n := range d.Links {
				links += n
			}
		}
		fmt.Fprintf(e.Stderr, "pseudokit: this destroys every key slot and all %d links of project %q for good:\n", links, in.Project)
		fmt.Fprintln(e.Stderr, "pseudokit: no code can ever be linked back to a person again.")
		answer, err := e.ReadPassword(fmt.Sprintf("Type the project name (%s) to confirm: ", in.Project))
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(answer)) != in.Project {
			return exitErr(ExitRefused, fmt.Errorf("not confirmed: nothing was destroyed"), "")
		}
	}
	rep, err := v.Destroy(ctx, keyvault.Entry{Purpose: *purpose})
	if rep == nil {
		return vaultErr(err)
	}
	w := e.Stdout
	fmt.Fprintf(w, "destroyed:  %s, project %q (vault id %s)\n", rep.Time.Format(time.RFC3339), in.Project, rep.VaultID)
	fmt.Fprintf(w, "removed:    %d key slots, %d links, %d withdrawal tombstones\n", rep.Slots, rep.Links, rep.Tombstones)
	fmt.Fprintf(w, "log:        destruction entry %d, hash %s\n", rep.Seq, rep.FinalHash)
	fmt.Fprintln(w, "record this hash in the project's records: 'pseudokit vault verify --head HASH' proves the log unchanged since")
	fmt.Fprintln(w, "also destroy: backups and snapshots of the vault file, the holders' passphrase records and age identity files")
	if *receipt != "" {
		rec := destructionRecord{Vault: in.Path, VaultID: rep.VaultID, Project: in.Project, Destroyed: rep.Time, Purpose: *purpose,
			LogSeq: rep.Seq, LogHash: rep.FinalHash, Slots: rep.Slots, Links: rep.Links, Withdrawn: rep.Tombstones, Tool: "pseudokit " + Version}
		if werr := writeJSON(*receipt, rec); werr != nil {
			return fmt.Errorf("the key is destroyed, but writing the receipt failed: %w", werr)
		}
		fmt.Fprintf(w, "receipt:    %s\n", *receipt)
	}
	return vaultErr(err) // a failed compaction after the destruction
}

func runVaultDomain(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list") {
		return usagef("vault domain needs add NAME [--random] or list")
	}
	sub := args[0]
	fs := newFlags(e, "vault domain "+sub, map[string]string{"add": "NAME [--random] [flags]", "list": "[flags]"}[sub])
	var vf vaultFlags
	vf.add(fs)
	random := fs.Bool("random", false, "random codes the vault keeps (instead of keyed codes computed from the identifier)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if sub == "add" && fs.NArg() != 1 {
		return usagef("vault domain add needs one NAME (a-z 0-9 . _ -)")
	}
	if sub == "list" && (fs.NArg() != 0 || *random) {
		return usagef("vault domain list takes no arguments")
	}
	v, err := vf.open(ctx, e)
	if err != nil {
		return err
	}
	defer v.Close()
	if sub == "add" {
		scheme := keyvault.SchemeKeyed
		if *random {
			scheme = keyvault.SchemeRandom
		}
		if err := v.AddDomain(fs.Arg(0), scheme); err != nil {
			return vaultErr(err)
		}
		fmt.Fprintf(e.Stderr, "pseudokit: created domain %q (%s codes): the same person gets unrelated codes in different domains\n", fs.Arg(0), scheme)
		return nil
	}
	in, err := v.Info()
	if err != nil {
		return vaultErr(err)
	}
	for _, d := range in.Domains {
		fmt.Fprintf(e.Stdout, "%s\t%s\t%s\t%d links\t%d withdrawn\n", d.Name, d.Scheme, d.Created.Format("2006-01-02"),
			d.Links[keyvault.LinkActive], d.Links[keyvault.LinkWithdrawn])
	}
	return nil
}
