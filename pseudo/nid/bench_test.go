package nid

import (
	"testing"
	"time"
)

// benchInputs returns n distinct valid synthetic numbers as byte slices.
func benchInputs(n int) [][]byte {
	var out [][]byte
	birth := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; len(out) < n; i++ {
		num, err := Synthetic(birth.AddDate(0, 0, i/400), i%400, FNR, true)
		if err != nil {
			continue
		}
		out = append(out, []byte(num.String()))
	}
	return out
}

func BenchmarkParseBytes(b *testing.B) {
	in := benchInputs(1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := ParseBytes(in[i&1023]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkParse(b *testing.B) {
	raw := benchInputs(1024)
	in := make([]string, len(raw))
	for i, r := range raw {
		in[i] = string(r)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := Parse(in[i&1023]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkParseBytesGrouped(b *testing.B) {
	raw := benchInputs(1024)
	in := make([][]byte, len(raw))
	for i, r := range raw {
		in[i] = []byte(" " + string(r[:6]) + "-" + string(r[6:]) + " ")
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := ParseBytes(in[i&1023]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkParseBytesInvalid(b *testing.B) {
	raw := benchInputs(1024)
	for _, r := range raw {
		r[10] = '0' + (r[10]-'0'+1)%10 // break the second check digit
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := ParseBytes(raw[i&1023]); err == nil {
			b.Fatal("valid")
		}
		i++
	}
}
