// Command pseudonymize shows the pseudokit library API: a vault, a file job,
// and the record-batch transform a research pipeline can call directly.
// Everything it uses is synthetic.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/nid"
)

func main() {
	log.SetFlags(0)
	dir, err := os.MkdirTemp("", "pseudokit-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// 1. A vault holds the project secret and the identifier key.
	v, err := keyvault.Create(filepath.Join(dir, "project.vault"), keyvault.CreateOptions{
		Project:    "example study",
		Passphrase: []byte("correct horse battery staple"), // read it from a prompt or file in real code
		Actor:      "example",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	// 2. A dataset with synthetic (Test-Norge) identity numbers.
	var ids []string
	for i := 0; len(ids) < 3; i++ {
		n, err := nid.Synthetic(time.Date(1980+i, 3, 1+i, 0, 0, 0, 0, time.UTC), 100+i, nid.FNR, true)
		if err == nil {
			ids = append(ids, n.String())
		}
	}
	in := filepath.Join(dir, "survey.csv")
	data := "fnr;navn;svar\n" + ids[0] + ";Kari Hansen;ja\n" + ids[1] + ";Ola Berg;nei\n" + ids[2] + ";Liv Lie;ja\n"
	if err := os.WriteFile(in, []byte(data), 0o600); err != nil {
		log.Fatal(err)
	}

	// 3. Pseudonymise the file: codes for numbers, fictitious names, links in the vault.
	rules := &pseudo.Rules{Columns: []pseudo.ColumnRule{
		{Column: "fnr", Action: pseudo.ActionCode, Kind: pseudo.KindNID, Subject: true},
		{Column: "navn", Action: pseudo.ActionFakeName},
		{Column: "svar", Action: pseudo.ActionKeep},
	}}
	out := filepath.Join(dir, "survey.pseudo.csv")
	res, err := (&pseudo.FileJob{Vault: v, Rules: rules, In: in, Out: out, Actor: "example"}).Run(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("file job: %d rows, %d new links\n", res.Rows, res.NewLinks)
	b, _ := os.ReadFile(out)
	fmt.Print(string(b))

	// 4. The same rules over Arrow batches from your own code, inside a vault transaction.
	secret, err := v.DomainSecret("default")
	if err != nil {
		log.Fatal(err)
	}
	tx, err := v.Begin(context.Background(), "default")
	if err != nil {
		log.Fatal(err)
	}
	p, err := pseudo.New(rules, pseudo.Options{DomainSecret: secret, Linker: tx})
	if err != nil {
		log.Fatal(err)
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "fnr", Type: arrow.BinaryTypes.String},
		{Name: "navn", Type: arrow.BinaryTypes.String},
		{Name: "svar", Type: arrow.BinaryTypes.String},
	}, nil)
	if _, err := p.Bind(schema); err != nil {
		log.Fatal(err)
	}
	bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	bld.Field(0).(*array.StringBuilder).Append(ids[0]) // the same person as in the file
	bld.Field(1).(*array.StringBuilder).Append("Kari Hansen")
	bld.Field(2).(*array.StringBuilder).Append("kanskje")
	rec := bld.NewRecordBatch()
	defer rec.Release()
	outRec, err := p.Transform(rec)
	if err != nil {
		tx.Rollback()
		log.Fatal(err)
	}
	defer outRec.Release()
	if err := tx.Commit(keyvault.Entry{Action: "pseudonymize", Details: map[string]any{"rows": outRec.NumRows()}}); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("batch: %s %s %s (same code and name as in the file)\n",
		outRec.Column(0).ValueStr(0), outRec.Column(1).ValueStr(0), outRec.Column(2).ValueStr(0))
}
