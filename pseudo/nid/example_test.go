package nid_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pseudokit/pseudokit/pseudo/nid"
)

// All numbers below are synthetic Test-Norge numbers (month + 80); they
// never belong to a real person.

func Example() {
	n, err := nid.Parse("109155 96784")
	if err != nil {
		fmt.Println(err)
		return
	}
	birth, _ := n.BirthDate()
	fmt.Println(n, n.Kind(), n.Synthetic(), birth.Format("2006-01-02"))
	// Output: 10915596784 fnr test-norge 1955-11-10
}

func ExampleParse_invalid() {
	for _, s := range []string{"10915596785", "1091559678", "10915596784x", ""} {
		_, err := nid.Parse(s)
		var e *nid.Error
		if errors.As(err, &e) {
			fmt.Printf("%s: %v\n", e.Reason.String(), err)
		}
	}
	// Output:
	// checksum: nid: second check digit is wrong
	// leading-zero: nid: ten digits, expected eleven (a leading zero may have been lost, e.g. by Excel); prepending a zero does not give a valid number either
	// characters: nid: invalid character (only digits, blanks and one dash or dot are allowed)
	// empty: nid: empty value
}

func ExampleParser() {
	// A spreadsheet turned "05840399895" into the number 5840399895.
	const cell = "5840399895"

	_, err := nid.Parse(cell)
	fmt.Println(errors.Is(err, nid.ErrLeadingZero), err.(*nid.Error).ZeroFixable)

	p := nid.Parser{RestoreLeadingZero: true}
	n, err := p.Parse(cell)
	fmt.Println(n, n.ZeroRestored(), err)
	// Output:
	// true true
	// 05840399895 true <nil>
}

func ExampleParseBytes() {
	// In hot loops, parse raw bytes and append the canonical form to a reused
	// buffer: neither allocates.
	var buf []byte
	for _, field := range [][]byte{[]byte("10915596784"), []byte("50846202355")} {
		n, err := nid.ParseBytes(field)
		if err != nil {
			continue
		}
		buf = n.Append(buf[:0])
		fmt.Println(string(buf), n.Kind())
	}
	// Output:
	// 10915596784 fnr
	// 50846202355 dnr
}

func ExampleNumber_Rule2032() {
	// Valid only under the check-digit rule for numbers issued from 2032,
	// whose individual number no longer encodes the century.
	n, _ := nid.Parse("01817095042")
	_, hasDate := n.BirthDate()
	fmt.Println(n.Rule2032(), hasDate)
	// Output: true false
}

func ExampleSynthetic() {
	birth := time.Date(1987, time.May, 17, 0, 0, 0, 0, time.UTC)
	for ind := 100; ; ind++ {
		n, err := nid.Synthetic(birth, ind, nid.DNumber, true)
		if errors.Is(err, nid.ErrNoCheckDigits) {
			continue // try the next individual number
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		b, _ := n.BirthDate()
		fmt.Println(n, n.Kind(), n.Synthetic(), b.Format("2006-01-02"))
		break
	}
	// Output: 57858710059 dnr test-norge 1987-05-17
}

func ExampleDescribe() {
	for _, s := range []string{"50846202355", "10915596785"} {
		b, _ := json.Marshal(nid.Describe(s, nid.Parser{}))
		fmt.Println(string(b))
	}
	// Output:
	// {"valid":true,"kind":"dnr","synthetic":"test-norge","birth_date":"1962-04-10","rule_2032":false,"zero_restored":false}
	// {"valid":false,"kind":"","synthetic":"","birth_date":"","rule_2032":false,"zero_restored":false,"reason":"checksum","message":"nid: second check digit is wrong"}
}
