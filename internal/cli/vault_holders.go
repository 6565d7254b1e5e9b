package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/pseudokit/pseudokit/keyvault"
)

// newPassphrase reads a new passphrase: the first line of file, or
// PSEUDOKIT_NEW_PASSPHRASE, or twice at a prompt.
func newPassphrase(e *Env, file, prompt string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading new passphrase file: %w", err)
		}
		if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
			b = b[:i]
		}
		if len(b) == 0 {
			return nil, fmt.Errorf("new passphrase file %s: empty first line", file)
		}
		return b, nil
	}
	if p := e.Getenv("PSEUDOKIT_NEW_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	if e.ReadPassword == nil {
		return nil, withHint(errors.New("no new passphrase: no terminal to ask on"),
			"give --new-passphrase-file FILE or set PSEUDOKIT_NEW_PASSPHRASE")
	}
	p, err := e.ReadPassword(prompt)
	if err != nil {
		return nil, fmt.Errorf("reading passphrase: %w", err)
	}
	if len(p) == 0 {
		return nil, errors.New("empty passphrase")
	}
	q, err := e.ReadPassword("Repeat the new passphrase: ")
	if err != nil {
		return nil, fmt.Errorf("reading passphrase: %w", err)
	}
	if !bytes.Equal(p, q) {
		return nil, errors.New("the passphrases differ")
	}
	return p, nil
}

// readRecipients reads an age recipients file: one recipient per line,
// blank lines and '#' comments ignored.
func readRecipients(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "AGE-") {
			return nil, usagef("%s line %d: a private key (identity), not a recipient: give the public key (age1...)", path, n)
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, usagef("%s: no recipient", path)
	}
	return out, nil
}

func runVaultAddHolder(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "vault add-holder", "(--passphrase | --recipient AGE1... | --recipients-file FILE) [--label L] [flags]")
	var vf vaultFlags
	vf.add(fs)
	pass := fs.Bool("passphrase", false, "add a passphrase holder (the new passphrase is asked for, or read from --new-passphrase-file or PSEUDOKIT_NEW_PASSPHRASE)")
	newPassFile := fs.String("new-passphrase-file", "", "read the new passphrase from the first line of `FILE`")
	recipients := fs.StringSlice("recipient", nil, "add a holder with this age public key: age1... (age-keygen), age1pq1..., or a plugin's age1NAME1... (e.g. age-plugin-yubikey)")
	recipientsFile := fs.String("recipients-file", "", "add a holder for every age recipient in `FILE` (one per line)")
	label := fs.String("label", "", "label of the new key slot, e.g. the holder's role")
	purpose := fs.String("purpose", "", "why, for the access log")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("vault add-holder takes no arguments, got %q", fs.Arg(0))
	}
	if *recipientsFile != "" {
		rs, err := readRecipients(*recipientsFile)
		if err != nil {
			return err
		}
		*recipients = append(*recipients, rs...)
	}
	if *pass == (len(*recipients) > 0) {
		return usagef("say what to add: --passphrase, or --recipient/--recipients-file (not both)")
	}
	if *newPassFile != "" && !*pass {
		return usagef("--new-passphrase-file goes with --passphrase")
	}
	v, err := vf.open(ctx, e)
	if err != nil {
		return err
	}
	defer v.Close()
	entry := keyvault.Entry{Purpose: *purpose}
	if *pass {
		p, err := newPassphrase(e, *newPassFile, "New holder's passphrase: ")
		if err != nil {
			return err
		}
		defer clear(p)
		si, err := v.AddPassphrase(ctx, p, *label, nil, entry)
		if err != nil {
			return vaultErr(err)
		}
		fmt.Fprintf(e.Stderr, "pseudokit: added key slot %s\n", slotLine(si))
		return nil
	}
	for i, r := range *recipients {
		si, err := v.AddRecipient(ctx, r, *label, pluginUI(e), entry)
		if err != nil {
			if errors.Is(err, keyvault.ErrInvalid) {
				return exitErr(ExitUsage, fmt.Errorf("recipient %d of %d: %w", i+1, len(*recipients), err), "")
			}
			return vaultErr(fmt.Errorf("recipient %d of %d: %w", i+1, len(*recipients), err))
		}
		fmt.Fprintf(e.Stderr, "pseudokit: added key slot %s\n", slotLine(si))
	}
	return nil
}

func runVaultRemoveHolder(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "vault remove-holder", "ID|LABEL [flags]")
	var vf vaultFlags
	vf.add(fs)
	purpose := fs.String("purpose", "", "why, for the access log")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("vault remove-holder needs one key slot: its id or label (see 'pseudokit vault holders')")
	}
	v, err := vf.open(ctx, e)
	if err != nil {
		return err
	}
	defer v.Close()
	h, err := v.FindHolder(fs.Arg(0))
	if err != nil {
		return vaultErr(err)
	}
	if err := v.RemoveHolder(ctx, h.ID, keyvault.Entry{Purpose: *purpose}); err != nil {
		return vaultErr(err)
	}
	fmt.Fprintf(e.Stderr, "pseudokit: removed key slot #%d %s %q; the link table is unchanged\n", h.ID, h.Type, h.Label)
	fmt.Fprintln(e.Stderr, "pseudokit: note: copies of the vault made before still open with the removed key; whoever held it may have kept the secret")
	return nil
}

func runVaultHolders(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "vault holders", "[--json] [flags]")
	var vf vaultFlags
	vf.add(fs)
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if err := parse(fs, args); err != nil {
		return err
	}
	v, err := vf.open(ctx, e)
	if err != nil {
		return err
	}
	defer v.Close()
	hs, err := v.Holders()
	if err != nil {
		return vaultErr(err)
	}
	used := v.UnlockedWith().ID
	for _, h := range hs {
		if *asJSON {
			obj := map[string]any{"id": h.ID, "type": h.Type, "label": h.Label, "created": h.Created, "unlocked_with": h.ID == used}
			if h.Type == keyvault.SlotPassphrase {
				obj["kdf"] = map[string]any{"name": "argon2id", "time": h.KDF.Time, "memory_kib": h.KDF.MemoryKiB, "threads": h.KDF.Threads}
			}
			if h.Recipient != "" {
				obj["recipient"] = h.Recipient
			}
			if h.Plugin != "" {
				obj["plugin"] = h.Plugin
			}
			b, _ := json.Marshal(obj)
			fmt.Fprintf(e.Stdout, "%s\n", b)
			continue
		}
		mark := " "
		if h.ID == used {
			mark = "*"
		}
		fmt.Fprintf(e.Stdout, "%s %s\n", mark, slotLine(h))
	}
	return nil
}

func runVaultPasswd(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "vault passwd", "[--slot ID|LABEL] [flags]")
	var vf vaultFlags
	vf.add(fs)
	slot := fs.String("slot", "", "the passphrase slot to change (default: the one this command unlocks with)")
	newPassFile := fs.String("new-passphrase-file", "", "read the new passphrase from the first line of `FILE` (or PSEUDOKIT_NEW_PASSPHRASE, or a prompt)")
	purpose := fs.String("purpose", "", "why, for the access log")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("vault passwd takes no arguments (use --slot)")
	}
	v, err := vf.open(ctx, e)
	if err != nil {
		return err
	}
	defer v.Close()
	h := v.UnlockedWith()
	if *slot != "" {
		if h, err = v.FindHolder(*slot); err != nil {
			return vaultErr(err)
		}
	}
	if h.Type != keyvault.SlotPassphrase {
		return usagef("key slot #%d is an %s slot, not a passphrase: name a passphrase slot with --slot", h.ID, h.Type)
	}
	p, err := newPassphrase(e, *newPassFile, fmt.Sprintf("New passphrase for key slot #%d %q: ", h.ID, h.Label))
	if err != nil {
		return err
	}
	defer clear(p)
	si, err := v.ChangePassphrase(ctx, h.ID, p, nil, keyvault.Entry{Purpose: *purpose})
	if err != nil {
		return vaultErr(err)
	}
	fmt.Fprintf(e.Stderr, "pseudokit: changed the passphrase of key slot %s\n", slotLine(si))
	fmt.Fprintln(e.Stderr, "pseudokit: note: copies of the vault made before still open with the old passphrase")
	return nil
}
