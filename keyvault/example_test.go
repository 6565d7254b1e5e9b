package keyvault_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"

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
	// Cohort study format 4 slots 1
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

// exampleVault makes a throw-away vault with two linked persons.
func exampleVault(dir string) *keyvault.Vault {
	keyvault.DefaultKDF = keyvault.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}
	v, err := keyvault.Create(filepath.Join(dir, "study.vault"), keyvault.CreateOptions{Project: "p", Passphrase: []byte("pw"), Actor: "pm"})
	if err != nil {
		log.Fatal(err)
	}
	tx, err := v.Begin(context.Background(), keyvault.DefaultDomain)
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range [][2]string{{"24928599948", "K0000000000000001X"}, {"13927898123", "K0000000000000002X"}} {
		if err := tx.Link("nid", l[0], l[1]); err != nil {
			log.Fatal(err)
		}
	}
	if err := tx.Commit(keyvault.Entry{Action: "pseudonymize"}); err != nil {
		log.Fatal(err)
	}
	return v
}

// Re-identification needs a purpose and is logged before anything is
// returned; the log names codes, never identifiers.
func ExampleVault_Reveal() {
	dir, _ := os.MkdirTemp("", "vault-example")
	defer os.RemoveAll(dir)
	v := exampleVault(dir)
	defer v.Close()

	_, err := v.Reveal(context.Background(), []string{"K0000000000000001X"}, "", keyvault.Entry{})
	fmt.Println(errors.Is(err, keyvault.ErrPurposeRequired))

	refs, err := v.Reveal(context.Background(), []string{"K0000000000000001X", "K000000000000000ZZ"}, "",
		keyvault.Entry{Purpose: "adverse event report AE-12", Actor: "study physician"})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range refs {
		fmt.Println(r.Domain, r.Code, r.Kind, r.Identifier)
	}
	es, _ := v.Entries()
	last := es[len(es)-1]
	fmt.Println(last.Action, last.Purpose, last.Details["codes"], last.Details["not_found"])
	// Output:
	// true
	// default K0000000000000001X nid 24928599948
	// reveal adverse event report AE-12 [K0000000000000001X K000000000000000ZZ] [K000000000000000ZZ]
}

// A withdrawal erases the person's identifier, keeps their codes for
// finding them in datasets, and refuses them in every domain from then on.
func ExampleVault_Withdraw() {
	dir, _ := os.MkdirTemp("", "vault-example")
	defer os.RemoveAll(dir)
	v := exampleVault(dir)
	defer v.Close()
	ctx := context.Background()

	person := keyvault.Person{Kind: "nid", Canonical: "24928599948"}
	refs, err := v.Withdraw(ctx, []keyvault.Person{person}, keyvault.Entry{Purpose: "withdrawal request 2025-04"})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range refs {
		fmt.Println(r.Domain, r.Code, r.State)
	}
	withdrawn, _ := v.Withdrawn(person.Kind, person.Canonical)
	fmt.Println("withdrawn:", withdrawn)
	codes, _ := v.WithdrawnCodes("")
	fmt.Println("codes to remove from datasets:", codes)

	// The identifier cannot be revealed any more ...
	found, _ := v.FindCode("K0000000000000001X")
	fmt.Printf("identifier: %q\n", found[0].Identifier)
	// ... and the person cannot be linked again, in any domain.
	if err := v.AddDomain("followup", keyvault.SchemeRandom); err != nil {
		log.Fatal(err)
	}
	tx, _ := v.Begin(ctx, "followup")
	defer tx.Rollback()
	_, err = tx.Assign(person.Kind, person.Canonical, "R0000000000000001X")
	fmt.Println(errors.Is(err, keyvault.ErrWithdrawn))
	// Output:
	// default K0000000000000001X withdrawn
	// withdrawn: true
	// codes to remove from datasets: [K0000000000000001X]
	// identifier: ""
	// true
}

// A second key holder with an age key (an X25519 identity file made by
// age-keygen; a hardware token works the same through its age plugin).
func ExampleVault_AddRecipient() {
	dir, _ := os.MkdirTemp("", "vault-example")
	defer os.RemoveAll(dir)
	v := exampleVault(dir)
	path := v.Path()

	id, _ := age.GenerateX25519Identity() // normally: age-keygen -o key.txt
	slot, err := v.AddRecipient(context.Background(), id.Recipient().String(), "data manager", nil, keyvault.Entry{Purpose: "second holder"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(slot.ID, slot.Type, slot.Label)
	v.Close()

	ids, err := keyvault.ParseIdentities(strings.NewReader(id.String()+"\n"), nil)
	if err != nil {
		log.Fatal(err)
	}
	v, err = keyvault.OpenWith(context.Background(), path, keyvault.Credentials{Identities: ids}, "data manager")
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	fmt.Println("unlocked with slot", v.UnlockedWith().ID)
	// Output:
	// 2 age-x25519 data manager
	// unlocked with slot 2
}

// Destruction at the end of the retention period leaves only a log that
// anyone can verify without a key.
func ExampleVault_Destroy() {
	dir, _ := os.MkdirTemp("", "vault-example")
	defer os.RemoveAll(dir)
	v := exampleVault(dir)
	path := v.Path()

	rep, err := v.Destroy(context.Background(), keyvault.Entry{Purpose: "retention period ended"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("removed:", rep.Slots, "slot,", rep.Links, "links")

	_, err = keyvault.Open(path, []byte("pw"), "pm")
	fmt.Println(errors.Is(err, keyvault.ErrDestroyed))
	vr, err := keyvault.VerifyFile(context.Background(), path, keyvault.VerifyOptions{Head: rep.FinalHash})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("destroyed:", vr.Destroyed, "log entries:", vr.LogEntries, "links:", len(vr.Links))
	// Output:
	// removed: 1 slot, 2 links
	// true
	// destroyed: true log entries: 3 links: 0
}
