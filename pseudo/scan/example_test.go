package scan_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pseudokit/pseudokit/pseudo/nid"
	"github.com/pseudokit/pseudokit/pseudo/scan"
)

// synthetic returns a Test-Norge identity number: never a real person's.
func synthetic() string {
	n, err := nid.Synthetic(time.Date(1985, 4, 23, 0, 0, 0, 0, time.UTC), 123, nid.FNR, true)
	if err != nil {
		panic(err)
	}
	return n.String()
}

func ExampleFind() {
	note := "Kari Hansen (fnr " + synthetic() + ") ringte fra 912 34 567, svar til kari@example.no."
	for _, m := range scan.Find(note) {
		fmt.Printf("%-6s %2d-%2d %s\n", m.Kind, m.Start, m.End, scan.Shape(note[m.Start:m.End]))
	}
	// Output:
	// name    0-11 Aa Aa
	// nid    17-28 DDDDDDDDDDD
	// phone  41-51 DDD DD DDD
	// email  62-77 aa@aa.aa
}

func ExampleAppendFind() {
	// Reuse one slice for many texts: no allocation per text.
	var ms []scan.Match
	for _, note := range []string{"Ring 912 34 567.", "Ingen merknader.", "Hilsen Ola"} {
		ms = scan.AppendFind(ms[:0], note)
		fmt.Println(len(ms))
	}
	// Output:
	// 1
	// 0
	// 1
}

func ExampleColumn() {
	values := []string{synthetic(), synthetic(), "", "not a number"}
	r := scan.Column("deltaker", slices.Values(values), scan.Options{})
	fmt.Println(r.Kind, r.Role, r.Matching, "of", r.Values)
	fmt.Println(r.Reason)
	for _, s := range r.Shapes {
		fmt.Printf("%d × %s\n", s.Count, s.Shape)
	}
	fmt.Println(r.Rule.Action, r.Rule.Kind)
	// Output:
	// nid direct 2 of 3
	// 66.7 % of 3 values are valid Norwegian identity numbers
	// 2 × DDDDDDDDDDD
	// 1 × aa a aa
	// code nid
}

func ExampleShape() {
	fmt.Println(scan.Shape("Anne-Lise Hansen"))
	fmt.Println(scan.Shape("+47 912 34 567"))
	// Output:
	// Aa-Aa Aa
	// +DD DDD DD DDD
}

func ExampleWriteRules() {
	dir, _ := os.MkdirTemp("", "scan")
	defer os.RemoveAll(dir)
	path := dir + "/deltakere.csv"
	csv := "fnr;fornavn;alder;notat\n" +
		synthetic() + ";Kari;41;Ring Ola på 912 34 567\n" +
		synthetic() + ";Per;52;Ingen merknader\n"
	os.WriteFile(path, []byte(csv), 0o600)
	rep, err := scan.File(context.Background(), path, scan.FileOptions{})
	if err != nil {
		panic(err)
	}
	var b strings.Builder
	scan.WriteRules(&b, rep)
	fmt.Print(strings.ReplaceAll(b.String(), dir+"/", ""))
	// Output:
	// # Starter rules suggested by `pseudokit scan` from deltakere.csv.
	// # Check every line: the scanner sees the form of values, not their meaning.
	// version: 1
	// domain: default
	// invalid: error              # invalid identity numbers: error | flag | null
	// columns:
	//   fnr:     {action: code, kind: nid, subject: true} # nid, high confidence; Norwegian identity numbers: coded, linked in the vault
	//   fornavn: {action: fake-name, part: given}         # name, high confidence; names: fictitious names, the same for the same person
	//   alder:   keep                                     # age, high confidence; quasi-identifier (age): measure and generalise with k-anonymity
	//   notat:   redact                                   # free-text, high confidence; free text naming people: identifiers inside are replaced (ID numbers by codes); drop it if the text is not needed
}
