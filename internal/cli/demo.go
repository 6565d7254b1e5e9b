package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pseudokit/pseudokit/internal/demo"
	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/scan"
)

// runDemo pseudonymises the bundled synthetic dataset with a throw-away
// vault in a new temporary folder and shows what happened.
func runDemo(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "demo", "[--dir DIR]")
	dir := fs.String("dir", "", "folder to work in (default: a new temporary folder)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		d, err := demoDir()
		if err != nil {
			return err
		}
		*dir = d
	} else if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	in := filepath.Join(*dir, "participants.csv")
	rulesPath := filepath.Join(*dir, "rules.yaml")
	out := filepath.Join(*dir, "participants.pseudo.csv")
	outPq := filepath.Join(*dir, "participants.pseudo.parquet")
	vaultFile := filepath.Join(*dir, "demo.vault")
	passFile := filepath.Join(*dir, "demo.passphrase")
	for _, f := range []struct {
		path string
		data []byte
	}{{in, demo.Participants}, {rulesPath, demo.Rules}} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return err
		}
	}
	// A throw-away vault with a random passphrase kept beside it.
	var rnd [16]byte
	rand.Read(rnd[:])
	pass := []byte(hex.EncodeToString(rnd[:]))
	if err := os.WriteFile(passFile, append(pass, '\n'), 0o600); err != nil {
		return err
	}
	keyvault.ToolVersion = "pseudokit " + Version
	v, err := keyvault.Create(vaultFile, keyvault.CreateOptions{Project: "pseudokit demo", Passphrase: pass, Actor: "demo"})
	if err != nil {
		return err
	}
	defer v.Close()
	rules, err := pseudo.LoadRules(rulesPath)
	if err != nil {
		return err
	}
	w := e.Stdout
	fmt.Fprintf(w, "pseudokit demo: 40 synthetic participants (semicolon CSV with BOM, as from Excel)\n\n")
	var last *pseudo.Result
	for _, o := range []string{out, outPq} {
		job := &pseudo.FileJob{Vault: v, Rules: rules, In: in, Out: o, Actor: "demo", Command: "demo", Finder: scan.Finder}
		res, err := job.Run(ctx)
		if err != nil {
			return err
		}
		last = res
	}
	printSummary(w, last, outPq)
	fmt.Fprintf(w, "\nFirst rows of %s:\n", out)
	b, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	lines := strings.SplitN(strings.TrimPrefix(string(b), "\ufeff"), "\n", 6)
	for _, l := range lines[:min(5, len(lines))] {
		fmt.Fprintf(w, "  %s\n", strings.TrimRight(l, "\r"))
	}
	fmt.Fprintf(w, "\nThe same person gets the same code in every dataset of the domain: the CSV and\n")
	fmt.Fprintf(w, "Parquet outputs agree, and the second run added no new links.\n\nFiles in %s:\n", *dir)
	for _, f := range []string{in + "   (input)", rulesPath + "   (rules)", out, outPq, vaultFile + "   (encrypted identifier key; passphrase in " + filepath.Base(passFile) + ")"} {
		fmt.Fprintf(w, "  %s\n", f)
	}
	fmt.Fprintf(w, "\nTry: pseudokit vault info --vault %s --passphrase-file %s\n", vaultFile, passFile)
	return nil
}

// demoDir makes a new private temporary folder whose name has letters, not
// digits: os.MkdirTemp's digits would be hidden on the terminal as a
// possible identity number, and the paths the demo prints must be usable.
func demoDir() (string, error) {
	const letters = "abcdefghjkmnpqrstuvwxyz"
	for range 100 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		for i := range b {
			b[i] = letters[int(b[i])%len(letters)]
		}
		d := filepath.Join(os.TempDir(), "pseudokit-demo-"+string(b[:]))
		err := os.Mkdir(d, 0o700)
		if err == nil {
			return d, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	return "", errors.New("could not make a temporary folder for the demo")
}
