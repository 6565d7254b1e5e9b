package withdraw_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/nid"
	"github.com/pseudokit/pseudokit/withdraw"
)

// A participant withdraws consent: their rows leave the dataset, the vault
// records the withdrawal, and the receipt says what was done.
func Example() {
	dir, _ := os.MkdirTemp("", "withdraw-example")
	defer os.RemoveAll(dir)
	v, err := keyvault.Create(filepath.Join(dir, "study.vault"), keyvault.CreateOptions{Project: "example", Passphrase: []byte("example passphrase")})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	// A pseudonymised dataset of two synthetic participants.
	a, _ := nid.Synthetic(time.Date(1980, 5, 17, 0, 0, 0, 0, time.UTC), 123, nid.FNR, true)
	b, _ := nid.Synthetic(time.Date(1975, 2, 3, 0, 0, 0, 0, time.UTC), 456, nid.FNR, true)
	raw := filepath.Join(dir, "raw.csv")
	os.WriteFile(raw, []byte("fnr;svar\n"+a.String()+";ja\n"+b.String()+";nei\n"), 0o600)
	data := filepath.Join(dir, "survey.csv")
	rules := &pseudo.Rules{Columns: []pseudo.ColumnRule{{Column: "fnr", Action: pseudo.ActionCode, Kind: pseudo.KindNID}}}
	if _, err := (&pseudo.FileJob{Vault: v, Rules: rules, In: raw, Out: data}).Run(context.Background()); err != nil {
		log.Fatal(err)
	}

	rc, err := (&withdraw.Job{Vault: v, IDs: []string{b.String()}, Datasets: []string{data},
		Purpose: "withdrawal request 2026-17", Actor: "project manager"}).Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	d := rc.Datasets[0]
	fmt.Println("rows before:", d.RowsBefore, "after:", d.RowsAfter)
	withdrawn, _ := v.Withdrawn("nid", b.String())
	fmt.Println("recorded in the vault:", withdrawn)
	// Output:
	// rows before: 2 after: 1
	// recorded in the vault: true
}
