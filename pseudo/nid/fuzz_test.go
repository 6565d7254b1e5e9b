package nid

import (
	"errors"
	"strings"
	"testing"
)

// digitRuns returns the maximal runs of ASCII digits in s.
func digitRuns(s string) []string {
	var runs []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			runs = append(runs, s[start:i])
			start = -1
		}
	}
	return runs
}

// FuzzParse checks, for any input: no panic; Parse and ParseBytes agree; a
// valid Number prints as eleven digits (the digits of the input, with a
// restored zero) and re-parses to itself; an error is an *Error whose message
// contains no digit at all, so in particular no digit run of the input.
// Seeds are in testdata/fuzz/FuzzParse (synthetic and published vectors).
func FuzzParse(f *testing.F) {
	f.Add("10915596784", false)
	f.Add("5840399895", true)
	f.Fuzz(func(t *testing.T, s string, restore bool) {
		p := &Parser{RestoreLeadingZero: restore}
		n, err := p.Parse(s)
		nb, errb := p.ParseBytes([]byte(s))
		if n != nb || err != errb {
			t.Fatalf("Parse and ParseBytes differ")
		}
		res := Describe(s, *p)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Reason < ErrEmpty || e.Reason > ErrDate {
				t.Fatalf("error %T %v is not a known *Error", err, err)
			}
			if !n.IsZero() {
				t.Fatalf("non-zero Number with an error")
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "0123456789") {
				t.Fatalf("error message %q contains a digit", msg)
			}
			for _, run := range digitRuns(s) {
				if strings.Contains(msg, run) || strings.Contains(res.Message, run) {
					t.Fatalf("error message %q contains a digit run of the input", msg)
				}
			}
			if res.Valid || res.Message != msg || res.Reason != e.Reason.String() {
				t.Fatalf("Describe = %+v", res)
			}
			return
		}

		str := n.String()
		if len(str) != 11 || strings.Trim(str, "0123456789") != "" {
			t.Fatalf("String() is not eleven digits")
		}
		digits := strings.Join(digitRuns(s), "")
		if n.ZeroRestored() {
			digits = "0" + digits
		}
		if digits != str {
			t.Fatalf("String() is not the digits of the input")
		}
		if n.Kind() < FNR || n.Kind() > FHNumber || n.Synthetic() > TestNorge {
			t.Fatalf("bad kind %v / synth %v", n.Kind(), n.Synthetic())
		}
		again, err := Parse(str)
		want := n
		want.flags &^= flagZeroRestored
		if err != nil || again != want {
			t.Fatalf("re-parsing String() gave a different result: %v", err)
		}
		if bd, ok := n.BirthDate(); ok {
			dg := func(i int) int { return int(n.digit(i)) }
			if n.Rule2032() || n.Kind() == FHNumber || dg(4)*10+dg(5) != bd.Year()%100 ||
				bd.Day() != dg(0)%4*10+dg(1) || int(bd.Month()) != dg(2)%4*10+dg(3) {
				t.Fatalf("BirthDate %v does not match the digits", bd)
			}
		}
		if !res.Valid || res.Kind != n.Kind().String() {
			t.Fatalf("Describe = %+v", res)
		}
	})
}
