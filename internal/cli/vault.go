package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"filippo.io/age/plugin"
	"github.com/spf13/pflag"

	"github.com/pseudokit/pseudokit/keyvault"
)

// vaultFlags are the flags every command that opens a vault takes.
type vaultFlags struct {
	vault, passFile, identity, actor string
}

func (f *vaultFlags) add(fs *pflag.FlagSet) {
	f.addUnlock(fs)
	fs.StringVar(&f.actor, "actor", "", "who runs this, for the access log (the OS user is recorded too)")
}

// addUnlock adds the flags that name and unlock the vault, without --actor.
func (f *vaultFlags) addUnlock(fs *pflag.FlagSet) {
	fs.StringVar(&f.vault, "vault", "", "the vault `FILE` (or PSEUDOKIT_VAULT)")
	fs.StringVar(&f.passFile, "passphrase-file", "", "read the passphrase from the first line of `FILE` (or PSEUDOKIT_PASSPHRASE, or a prompt)")
	fs.StringVar(&f.identity, "identity", "", "unlock with the age identity `FILE` instead of a passphrase: a key from age-keygen, or a plugin identity such as age-plugin-yubikey's (or PSEUDOKIT_IDENTITY)")
}

// path returns the vault path the flags name.
func (f *vaultFlags) path(e *Env) (string, error) {
	path, err := vaultPath(e, f.vault)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", withHint(fmt.Errorf("vault %s does not exist", path), "create one with 'pseudokit vault init --vault "+path+"'")
		}
		return "", err
	}
	return path, nil
}

// open unlocks the vault the flags name, with the age identity file of
// --identity (or PSEUDOKIT_IDENTITY) if one is given, else a passphrase.
func (f *vaultFlags) open(ctx context.Context, e *Env) (*keyvault.Vault, error) {
	path, err := f.path(e)
	if err != nil {
		return nil, err
	}
	keyvault.ToolVersion = "pseudokit " + Version
	var creds keyvault.Credentials
	idFile := f.identity
	if idFile == "" && f.passFile == "" {
		idFile = e.Getenv("PSEUDOKIT_IDENTITY")
	}
	if idFile != "" {
		fh, err := os.Open(idFile)
		if err != nil {
			return nil, fmt.Errorf("reading identity file: %w", err)
		}
		ids, err := keyvault.ParseIdentities(fh, pluginUI(e))
		fh.Close()
		if err != nil {
			return nil, usagef("%s: %v", idFile, err)
		}
		creds.Identities = ids
	} else {
		pass, err := passSource{f.passFile}.read(e, "Passphrase for "+path+": ", false)
		if err != nil {
			return nil, err
		}
		defer clear(pass)
		creds.Passphrase = pass
	}
	v, err := keyvault.OpenWith(ctx, path, creds, f.actor)
	if err != nil {
		if errors.Is(err, keyvault.ErrDestroyed) {
			return nil, exitErr(ExitVault, fmt.Errorf("%s: %w", path, err),
				"nothing can be unlocked any more; 'pseudokit vault verify' and 'vault log' still read the log without a key")
		}
		var nf *plugin.NotFoundError
		if errors.As(err, &nf) {
			return nil, withHint(fmt.Errorf("%s: %w", path, err), "install age-plugin-"+nf.Name+" and make sure it is on the PATH")
		}
		if errors.Is(err, keyvault.ErrWrongPassphrase) && len(creds.Identities) > 0 {
			return nil, withHint(fmt.Errorf("%s: %w", path, err), "no key slot is wrapped to this identity: check --identity, or unlock with a passphrase")
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	warnRetention(e, v)
	return v, nil
}

// pluginUI lets an age plugin (for example for a hardware token) show
// messages and ask for a PIN on the terminal.
func pluginUI(e *Env) *plugin.ClientUI {
	printf := func(format string, args ...any) { fmt.Fprintf(e.Stderr, "pseudokit: "+format+"\n", args...) }
	ui := plugin.NewTerminalUI(printf, printf)
	if e.ReadPassword == nil {
		ui.RequestValue = nil // no terminal: the plugin's request fails instead of hanging
		ui.Confirm = nil
	} else {
		ui.RequestValue = func(name, prompt string, _ bool) (string, error) {
			b, err := e.ReadPassword("age-plugin-" + name + ": " + prompt + " ")
			return string(b), err
		}
	}
	return ui
}

// warnRetention warns when the vault is past its retention date.
func warnRetention(e *Env, v *keyvault.Vault) {
	t, err := v.Retention()
	if err == nil && !t.IsZero() && time.Now().After(t) {
		fmt.Fprintf(e.Stderr, "pseudokit: warning: the vault's retention date %s has passed: the key should be destroyed ('pseudokit vault destroy')\n", t.Format("2006-01-02"))
	}
}

// vaultCommands are the subcommands of 'pseudokit vault'.
var vaultCommands = []struct {
	name, args, summary string
	run                 func(ctx context.Context, e *Env, args []string) error
}{
	{"init", "--project NAME [--retention DATE]", "create a vault (the first key holder is a passphrase)", runVaultInit},
	{"info", "", "project, format, key holders, domains, last access, retention", runVaultInfo},
	{"holders", "[--json]", "list the key holders (key slots)", runVaultHolders},
	{"add-holder", "(--passphrase | --recipient AGE1... | --recipients-file F) [--label L]", "add a key holder", runVaultAddHolder},
	{"remove-holder", "ID|LABEL", "remove a key holder (at least one always remains)", runVaultRemoveHolder},
	{"passwd", "[--slot ID|LABEL]", "change a passphrase", runVaultPasswd},
	{"domain", "add NAME [--random] | list", "create or list pseudonymisation domains", runVaultDomain},
	{"log", "[--since D] [--until D] [--action A] [--actor X] [--json]", "print the access log", runVaultLog},
	{"verify", "[--head HASH]", "check the file, key slots, every link and the access log", runVaultVerify},
	{"job", "--domain D --recipient AGE1... --purpose TEXT --out FILE", "grant a distributed pipeline a job (encrypted to its workers)", runVaultJob},
	{"import", "LINKS...", "record the links a job's workers made (one transaction)", runVaultImport},
	{"compact", "[--domain NAME]", "merge each domain's map segments into one (faster look-ups and re-runs)", runVaultCompact},
	{"retention", "DATE|none", "set the date after which the key must be destroyed", runVaultRetention},
	{"destroy", "--purpose TEXT [--yes]", "destroy the key for good (crypto-shredding); the log remains", runVaultDestroy},
}

func vaultUsage() string {
	var b strings.Builder
	b.WriteString("vault subcommands:\n")
	for _, c := range vaultCommands {
		fmt.Fprintf(&b, "  %-14s %s\n", c.name, c.summary)
	}
	return b.String()
}

func runVault(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 {
		return withHint(usagef("vault needs a subcommand"), "run 'pseudokit vault help' for the list")
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.Stdout, "Usage: pseudokit vault SUBCOMMAND [flags]\n\n"+vaultUsage())
		return nil
	}
	for _, c := range vaultCommands {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	return withHint(usagef("unknown vault subcommand %q", args[0]), "run 'pseudokit vault help' for the list")
}

func runVaultInit(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "vault init", "--vault FILE --project NAME [flags]")
	var vf vaultFlags
	vf.add(fs)
	project := fs.String("project", "", "the project's name (required)")
	retention := fs.String("retention", "", "date (YYYY-MM-DD) after which the key must be destroyed")
	kdfTime := fs.Uint32("kdf-time", 0, "Argon2id passes (default: calibrated to about 0.75 s on this machine)")
	kdfMem := fs.Uint32("kdf-memory", 0, "Argon2id memory in MiB (default: calibrated, normally "+fmt.Sprint(keyvault.DefaultKDF.MemoryKiB/1024)+")")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("vault init takes no arguments, got %q", fs.Arg(0))
	}
	if vf.identity != "" {
		return withHint(usagef("vault init makes a passphrase holder; --identity does not apply"),
			"add age holders afterwards: 'pseudokit vault add-holder --recipient age1...'")
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
		t, err := parseDate(*retention)
		if err != nil {
			return usagef("--retention: %v", err)
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
		return vaultErr(fmt.Errorf("%s: %w", path, err))
	}
	defer v.Close()
	k := v.UnlockedWith().KDF
	fmt.Fprintf(e.Stderr, "pseudokit: created vault %s for project %q (domain \"default\", keyed codes)\n", path, *project)
	fmt.Fprintf(e.Stderr, "pseudokit: passphrase slot #1: Argon2id, %d passes, %d MiB, %d lanes\n", k.Time, k.MemoryKiB/1024, k.Threads)
	fmt.Fprintln(e.Stderr, "pseudokit: keep the passphrase safe: without it the identifier key cannot be opened")
	fmt.Fprintln(e.Stderr, "pseudokit: add a second key holder with 'pseudokit vault add-holder', so one lost key does not lose the project")
	return nil
}

func runVaultInfo(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "vault info", "--vault FILE")
	var vf vaultFlags
	vf.add(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("vault info takes no arguments")
	}
	if in, ok, err := destroyedInfo(e, &vf); err != nil {
		return err
	} else if ok {
		printInfo(e, in, nil)
		return nil
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
	es, err := v.Entries()
	if err != nil {
		return vaultErr(err)
	}
	var prev *keyvault.Entry
	if len(es) >= 2 {
		prev = &es[len(es)-2] // the entry before this command's own unlock
	}
	printInfo(e, in, prev)
	return nil
}

// destroyedInfo returns the keyless summary if the vault named by the
// flags has been destroyed.
func destroyedInfo(e *Env, vf *vaultFlags) (keyvault.Info, bool, error) {
	path, err := vf.path(e)
	if err != nil {
		return keyvault.Info{}, false, err
	}
	in, err := keyvault.Inspect(path)
	if err != nil {
		return in, false, vaultErr(err)
	}
	return in, !in.Destroyed.IsZero(), nil
}

func printInfo(e *Env, in keyvault.Info, prev *keyvault.Entry) {
	w := e.Stdout
	fmt.Fprintf(w, "vault:      %s\nproject:    %s\nformat:     %d.%d\ncreated:    %s\n", in.Path, in.Project, in.FormatVersion, in.FormatMinor, in.Created.Format(time.RFC3339))
	if !in.Retention.IsZero() {
		note := ""
		if time.Now().After(in.Retention) {
			note = " (passed: destroy the key with 'pseudokit vault destroy')"
		}
		fmt.Fprintf(w, "retention:  %s%s\n", in.Retention.Format("2006-01-02"), note)
	}
	if !in.Destroyed.IsZero() {
		fmt.Fprintf(w, "DESTROYED:  %s: no key slot and no link remain; the log is kept\n", in.Destroyed.Format(time.RFC3339))
		fmt.Fprintf(w, "final log entry: %d, hash %s\n", in.LogLastSeq, in.LogFinalHash)
		fmt.Fprintf(w, "log:        %d entries, last %s\n", in.LogLastSeq, in.LogLastTime.Format(time.RFC3339))
		return
	}
	fmt.Fprintf(w, "key slots:  %d\n", len(in.Slots))
	for _, s := range in.Slots {
		fmt.Fprintf(w, "  %s\n", slotLine(s))
	}
	fmt.Fprintln(w, "domains:")
	for _, d := range in.Domains {
		line := fmt.Sprintf("  %s (%s codes): %d links", d.Name, d.Scheme, d.Links[keyvault.LinkActive])
		if n := d.Links[keyvault.LinkWithdrawn]; n > 0 {
			line += fmt.Sprintf(", %d withdrawn", n)
		}
		fmt.Fprintln(w, line)
	}
	if in.WithdrawnPersons > 0 {
		fmt.Fprintf(w, "withdrawn:  %d persons\n", in.WithdrawnPersons)
	}
	fmt.Fprintf(w, "log:        %d entries, last %s\n", in.LogLastSeq, in.LogLastTime.Format(time.RFC3339))
	if prev != nil {
		fmt.Fprintf(w, "last access before this one: %s %s by %s (%s@%s)\n", prev.Time.Format(time.RFC3339), prev.Action, prev.Actor, prev.OSUser, prev.Host)
	}
	if in.PendingFailedUnlocks > 0 {
		fmt.Fprintf(w, "failed unlocks pending: %d\n", in.PendingFailedUnlocks)
	}
}

// slotLine describes a key slot on one line.
func slotLine(s keyvault.SlotInfo) string {
	line := fmt.Sprintf("#%d %s %q (created %s)", s.ID, s.Type, s.Label, s.Created.Format("2006-01-02"))
	switch {
	case s.Type == keyvault.SlotPassphrase:
		line += fmt.Sprintf(" argon2id t=%d m=%dMiB p=%d", s.KDF.Time, s.KDF.MemoryKiB/1024, s.KDF.Threads)
	case s.Plugin != "":
		line += " plugin " + s.Plugin + " " + s.Recipient
	case s.Recipient != "":
		line += " " + s.Recipient
	}
	return line
}

// parseDate accepts YYYY-MM-DD (midnight UTC) or an RFC 3339 time.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, errors.New("want a date like 2030-12-31")
}
