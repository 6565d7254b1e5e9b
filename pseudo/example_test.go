package pseudo_test

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pseudokit/pseudokit/pseudo"
)

// A fixed domain secret for the examples; real ones come from
// keyvault.Vault.DomainSecret.
var secret = []byte("an example domain secret, 32 b!")

func ExampleCoder() {
	c, _ := pseudo.NewCoder(secret)
	for _, name := range []string{"Ola  Nordmann", "ola nordmann"} {
		canon, _ := pseudo.KindName.Canonical(name)
		fmt.Println(c.Code(pseudo.KindName, canon))
	}
	// Output:
	// K8KPPDGKF88B16DM9X
	// K8KPPDGKF88B16DM9X
}

func ExampleParseCode() {
	code, err := pseudo.ParseCode("k8kp-pdgk-f88b-16dm-9x") // case and hyphens do not matter
	fmt.Println(code, err)
	_, err = pseudo.ParseCode("K8KPPDGKF88B16DN9X") // one character mistyped
	fmt.Println(err)
	// Output:
	// K8KPPDGKF88B16DM9X <nil>
	// not a valid pseudokit code: check character does not match (mistyped?)
}

func ExampleParseRules() {
	rules, err := pseudo.ParseRules(strings.NewReader(`
version: 1
columns:
  fnr:     {action: code, kind: nid, subject: true}
  fornavn: {action: fake-name, part: given}
  notat:   drop
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range rules.Columns {
		fmt.Println(c.Column, c.Action, c.Kind)
	}
	// Output:
	// fnr code nid
	// fornavn fake-name name
	// notat drop
}

// A Pseudonymizer transforms Arrow record batches; a researcher's pipeline
// feeds it batches from any source. Here without a vault (Linker nil), as
// for a dry run.
func ExamplePseudonymizer() {
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "fnr", Type: arrow.BinaryTypes.String},
		{Name: "fornavn", Type: arrow.BinaryTypes.String},
		{Name: "alder", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"10876636315", "108766 36315"}, nil) // a synthetic number, twice
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"Kari", "Kari"}, nil)
	b.Field(2).(*array.Int64Builder).AppendValues([]int64{41, 41}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()

	p, _ := pseudo.New(&pseudo.Rules{Columns: []pseudo.ColumnRule{
		{Column: "fnr", Action: pseudo.ActionCode, Kind: pseudo.KindNID, Subject: true},
		{Column: "fornavn", Action: pseudo.ActionFakeName, Part: pseudo.PartGiven},
	}}, pseudo.Options{DomainSecret: secret})
	if _, err := p.Bind(schema); err != nil {
		fmt.Println(err)
		return
	}
	out, err := p.Transform(rec)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer out.Release()
	for i := 0; i < int(out.NumRows()); i++ {
		fmt.Println(out.Column(0).ValueStr(i), out.Column(1).ValueStr(i), out.Column(2).ValueStr(i))
	}
	// Output:
	// KDRVJM3EWSFFN8NK11 Linda 41
	// KDRVJM3EWSFFN8NK11 Linda 41
}
