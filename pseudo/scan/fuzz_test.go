package scan

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzFind checks that Find never panics and returns sorted,
// non-overlapping spans within the text, each of a known kind; that a
// match of a number or address, found again on its own, is the same; and
// that AppendFind agrees with Find.
func FuzzFind(f *testing.F) {
	for _, s := range []string{
		"Pasient 23848512311 ringte fra +47 912 34 567.",
		"Møte med Per Hansen og Kari Nordmann, kari@example.no",
		"131052-308T 811218-9876 1234.56.78903 974 760 673",
		"dr. Berg og Karis mor; Anne-Lise; KARI HANSEN",
		"++47 0047 @@ a@b.c a@b.cd x@-y.no",
		"\xff\xfe Ø\u0301 0\u00a01 ١٢٣",
		strings.Repeat("9", 40),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms := Find(s)
		end := 0
		for _, m := range ms {
			if m.Start < end || m.End <= m.Start || m.End > len(s) {
				t.Fatalf("bad span %v after %d in %q", m, end, s)
			}
			if descriptions[m.Kind] == "" {
				t.Fatalf("unknown kind %q", m.Kind)
			}
			if utf8.ValidString(s) && (!utf8.ValidString(s[m.Start:m.End])) {
				t.Fatalf("span %v cuts a character in %q", m, s)
			}
			end = m.End
			if m.Kind != Name {
				again := Find(s[m.Start:m.End])
				if len(again) != 1 || again[0] != (Match{m.Kind, 0, m.End - m.Start}) {
					t.Fatalf("%v %q found again as %v", m, s[m.Start:m.End], again)
				}
			}
		}
		if got := AppendFind(make([]Match, 0, 1), s); len(got) != len(ms) {
			t.Fatalf("AppendFind gives %d matches, Find %d", len(got), len(ms))
		}
	})
}

// FuzzColumn checks that classifying any values never panics and never
// puts a value into the report's reason or shapes.
func FuzzColumn(f *testing.F) {
	f.Add("fnr", "23848512311", "kari@example.no", "Kari Hansen")
	f.Add("x", "", "\x00", "9999")
	f.Fuzz(func(t *testing.T, name, a, b, c string) {
		cs := NewColumnScanner(name, Options{SampleSize: 2})
		for i := 0; i < 5; i++ {
			cs.Add(a)
			cs.Add(b)
			cs.Add(c)
			cs.AddNull()
		}
		r := cs.Result()
		if r.Rows != 20 || r.Role != r.Kind.Role() || r.Share < 0 || r.Share > 1 {
			t.Fatalf("bad report %+v", r)
		}
	})
}
