package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pseudokit/pseudokit/keyvault"
)

// vaultFlags are the flags every command that opens a vault takes.
type vaultFlags struct {
	vault, passFile, actor string
}

func (f *vaultFlags) add(fs interface {
	StringVar(*string, string, string, string)
}) {
	fs.StringVar(&f.vault, "vault", "", "the vault `FILE` (or PSEUDOKIT_VAULT)")
	fs.StringVar(&f.passFile, "passphrase-file", "", "read the passphrase from the first line of `FILE` (or PSEUDOKIT_PASSPHRASE, or a prompt)")
	fs.StringVar(&f.actor, "actor", "", "who runs this, for the access log (the OS user is recorded too)")
}

// open unlocks the vault the flags name.
func (f *vaultFlags) open(ctx context.Context, e *Env) (*keyvault.Vault, error) {
	path, err := vaultPath(e, f.vault)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, withHint(fmt.Errorf("vault %s does not exist", path), "create one with 'pseudokit vault init --vault "+path+"'")
		}
		return nil, err
	}
	pass, err := passSource{f.passFile}.read(e, "Passphrase for "+path+": ", false)
	if err != nil {
		return nil, err
	}
	defer clear(pass)
	keyvault.ToolVersion = "pseudokit " + Version
	v, err := keyvault.OpenContext(ctx, path, pass, f.actor)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	warnRetention(e, v)
	return v, nil
}

// warnRetention warns when the vault is past its retention date.
func warnRetention(e *Env, v *keyvault.Vault) {
	in, err := v.Info()
	if err == nil && !in.Retention.IsZero() && time.Now().After(in.Retention) {
		fmt.Fprintf(e.Stderr, "pseudokit: warning: the vault's retention date %s has passed: the key should be destroyed\n", in.Retention.Format("2006-01-02"))
	}
}

func runVault(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 {
		return usagef("vault needs a subcommand: init or info")
	}
	switch args[0] {
	case "init":
		return runVaultInit(ctx, e, args[1:])
	case "info":
		return runVaultInfo(ctx, e, args[1:])
	}
	return usagef("unknown vault subcommand %q (want init or info)", args[0])
}

func runVaultInit(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "vault init", "--vault FILE --project NAME [flags]")
	var vf vaultFlags
	vf.add(fs)
	project := fs.String("project", "", "the project's name (required)")
	retention := fs.String("retention", "", "date (YYYY-MM-DD) after which the key must be destroyed")
	kdfTime := fs.Uint32("kdf-time", 0, "Argon2id passes (default "+fmt.Sprint(keyvault.DefaultKDF.Time)+")")
	kdfMem := fs.Uint32("kdf-memory", 0, "Argon2id memory in MiB (default "+fmt.Sprint(keyvault.DefaultKDF.MemoryKiB/1024)+")")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("vault init takes no arguments, got %q", fs.Arg(0))
	}
	path, err := vaultPath(e, vf.vault)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*project) == "" {
		return usagef("--project NAME is required")
	}
	o := keyvault.CreateOptions{Project: *project, Actor: vf.actor}
	if *retention != "" {
		t, err := time.Parse("2006-01-02", *retention)
		if err != nil {
			return usagef("--retention: want a date like 2030-12-31")
		}
		o.Retention = t
	}
	if *kdfTime != 0 || *kdfMem != 0 {
		k := keyvault.DefaultKDF
		if *kdfTime != 0 {
			k.Time = *kdfTime
		}
		if *kdfMem != 0 {
			k.MemoryKiB = *kdfMem * 1024
		}
		o.KDF = &k
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s already exists; pseudokit never overwrites a vault", path)
	}
	pass, err := passSource{vf.passFile}.read(e, "New passphrase for "+path+": ", true)
	if err != nil {
		return err
	}
	defer clear(pass)
	o.Passphrase = pass
	keyvault.ToolVersion = "pseudokit " + Version
	v, err := keyvault.Create(path, o)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer v.Close()
	fmt.Fprintf(e.Stderr, "pseudokit: created vault %s for project %q (domain \"default\", keyed codes)\n", path, *project)
	fmt.Fprintln(e.Stderr, "pseudokit: keep the passphrase safe: without it the identifier key cannot be opened")
	return nil
}

func runVaultInfo(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "vault info", "--vault FILE")
	var vf vaultFlags
	vf.add(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	v, err := vf.open(ctx, e)
	if err != nil {
		return err
	}
	defer v.Close()
	in, err := v.Info()
	if err != nil {
		return err
	}
	w := e.Stdout
	fmt.Fprintf(w, "vault:      %s\nproject:    %s\nformat:     %d.%d\ncreated:    %s\n", in.Path, in.Project, in.FormatVersion, in.FormatMinor, in.Created.Format(time.RFC3339))
	if !in.Retention.IsZero() {
		fmt.Fprintf(w, "retention:  %s\n", in.Retention.Format("2006-01-02"))
	}
	fmt.Fprintf(w, "key slots:  %d\n", len(in.Slots))
	for _, s := range in.Slots {
		fmt.Fprintf(w, "  #%d %s %q (created %s)\n", s.ID, s.Type, s.Label, s.Created.Format("2006-01-02"))
	}
	fmt.Fprintln(w, "domains:")
	for _, d := range in.Domains {
		fmt.Fprintf(w, "  %s (%s codes): %d links\n", d.Name, d.Scheme, d.Links[keyvault.LinkActive])
	}
	fmt.Fprintf(w, "log:        %d entries, last %s\n", in.LogLastSeq, in.LogLastTime.Format(time.RFC3339))
	return nil
}
