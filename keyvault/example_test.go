package keyvault_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/pseudokit/pseudokit/keyvault"
)

// Create a vault, record the links of a pseudonymisation run and read the
// summary.
func Example() {
	// Tests and examples lower the Argon2id cost; programs keep DefaultKDF.
	keyvault.DefaultKDF = keyvault.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

	dir, err := os.MkdirTemp("", "vault-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "study.vault")

	v, err := keyvault.Create(path, keyvault.CreateOptions{
		Project:    "Cohort study",
		Passphrase: []byte("a long and secret passphrase"),
		Actor:      "example",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	tx, err := v.Begin(context.Background(), keyvault.DefaultDomain)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback() // no-op after Commit
	// The codes come from package pseudo; these are placeholders.
	for _, l := range []struct{ kind, canonical, code string }{
		{"nid", "24928599948", "K0000000000000001X"},
		{"name", "kari nordmann", "K0000000000000002X"},
		{"nid", "24928599948", "K0000000000000001X"}, // seen again in the run: counted once
	} {
		if err := tx.Link(l.kind, l.canonical, l.code); err != nil {
			log.Fatal(err)
		}
	}
	newLinks, existing := tx.Counts()
	fmt.Println("new:", newLinks, "existing:", existing)
	if err := tx.Commit(keyvault.Entry{Action: "pseudonymize", Purpose: "example", Details: map[string]any{"input_rows": 3}}); err != nil {
		log.Fatal(err)
	}

	info, err := v.Info()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Project, "format", info.FormatVersion, "slots", len(info.Slots))
	for _, d := range info.Domains {
		fmt.Println(d.Name, d.Scheme, d.Links[keyvault.LinkActive])
	}
	fmt.Println("log entries:", info.LogLastSeq)
	fmt.Println("log verifies:", v.VerifyLog() == nil)
	// Output:
	// new: 2 existing: 0
	// Cohort study format 1 slots 1
	// default keyed 2
	// log entries: 2
	// log verifies: true
}

// Random-code domains draw a candidate code and retry when it is taken.
func ExampleTx_Assign() {
	keyvault.DefaultKDF = keyvault.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}
	dir, _ := os.MkdirTemp("", "vault-example")
	defer os.RemoveAll(dir)
	v, err := keyvault.Create(filepath.Join(dir, "v"), keyvault.CreateOptions{Project: "p", Passphrase: []byte("pw")})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	if err := v.AddDomain("survey", keyvault.SchemeRandom); err != nil {
		log.Fatal(err)
	}
	tx, err := v.Begin(context.Background(), "survey")
	if err != nil {
		log.Fatal(err)
	}
	candidates := []string{"R1", "R1", "R2"} // stands in for crypto/rand
	next := func() string { c := candidates[0]; candidates = candidates[1:]; return c }

	assign := func(canonical string) string {
		for {
			code, err := tx.Assign("nid", canonical, next())
			if errors.Is(err, keyvault.ErrCodeTaken) {
				continue
			}
			if err != nil {
				log.Fatal(err)
			}
			return code
		}
	}
	fmt.Println(assign("24928599948"))
	fmt.Println(assign("13927898123"))
	if err := tx.Commit(keyvault.Entry{Action: "pseudonymize"}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// R1
	// R2
}

// Opening with a wrong passphrase is its own error (exit code 3 in the CLI).
func ExampleOpen() {
	keyvault.DefaultKDF = keyvault.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}
	dir, _ := os.MkdirTemp("", "vault-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "v")
	v, err := keyvault.Create(path, keyvault.CreateOptions{Project: "p", Passphrase: []byte("right"), Actor: "bob"})
	if err != nil {
		log.Fatal(err)
	}
	v.Close()

	_, err = keyvault.Open(path, []byte("wrong"), "alice")
	fmt.Println(errors.Is(err, keyvault.ErrWrongPassphrase))

	v, err = keyvault.Open(path, []byte("right"), "alice")
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	entries, _ := v.Entries()
	for _, e := range entries {
		fmt.Println(e.Seq, e.Action, e.Actor)
	}
	// Output:
	// true
	// 1 init bob
	// 2 unlock-failed alice
	// 3 unlock alice
}
