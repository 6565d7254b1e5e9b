package csvio

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzResult is everything a Reader produced from an input.
type fuzzResult struct {
	recs    [][]string
	raw     []byte // BOM + Raw of every record + Trailer
	errs    []string
	failed  bool // an error other than ErrFieldCount ended reading
	dialect Dialect
}

// fuzzRead reads data to the end, going on after ErrFieldCount, and checks
// the invariants that hold for any input.
func fuzzRead(t *testing.T, data []byte, comma byte, enc Encoding, bufInit int) fuzzResult {
	r := NewReader(bytes.NewReader(data))
	r.Comma = comma
	r.Encoding = enc
	r.File = "in.csv"
	r.bufInit = bufInit
	var res fuzzResult
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is %T, not a *ParseError", err, err)
			}
			res.errs = append(res.errs, err.Error())
			if !errors.Is(err, ErrFieldCount) {
				res.failed = true
				break
			}
		}
		if len(rec.Fields) == 0 {
			t.Fatal("record without fields")
		}
		for _, f := range rec.Fields {
			if !utf8.Valid(f) {
				t.Fatalf("field %q is not valid UTF-8", f)
			}
		}
		if res.raw == nil && r.Dialect().BOM {
			res.raw = append(res.raw, bom...)
		}
		if rec.Row == 0 {
			if _, err := r.CheckHeader(rec); err != nil {
				res.errs = append(res.errs, err.Error())
			}
		}
		res.raw = append(res.raw, rec.Raw...)
		res.recs = append(res.recs, rec.Strings())
	}
	res.dialect = r.Dialect()
	if !res.failed {
		res.raw = append(res.raw, r.Trailer()...)
		if !bytes.Equal(res.raw, data) {
			t.Fatalf("BOM+Raw+Trailer = %q, want %q", res.raw, data)
		}
	}
	for _, msg := range res.errs {
		for i := 0; i < len(msg); i++ {
			if msg[i] >= utf8.RuneSelf {
				t.Fatalf("error message %q is not ASCII", msg)
			}
		}
	}
	return res
}

// rot maps ASCII letters and digits to others (a bijection), leaving the
// structure of a CSV input (delimiters, quotes, line endings, encoding
// validity) as it is.
func rot(data []byte) []byte {
	out := make([]byte, len(data))
	for i, c := range data {
		switch {
		case 'a' <= c && c <= 'z':
			c = 'a' + (c-'a'+13)%26
		case 'A' <= c && c <= 'Z':
			c = 'A' + (c-'A'+13)%26
		case '0' <= c && c <= '9':
			c = '0' + (c-'0'+5)%10
		}
		out[i] = c
	}
	return out
}

func fuzzComma(c byte) byte {
	return [...]byte{0, ',', ';', '\t', '|'}[c%5]
}

// FuzzReader checks that reading never panics, that BOM, Raw bytes and
// trailer reproduce every input that parses, that small buffers give the same
// result, and that errors never contain field content: their messages are
// ASCII and do not change when the letters and digits of the input do.
func FuzzReader(f *testing.F) {
	for _, tt := range readTests {
		f.Add([]byte(tt.in), tt.comma, uint8(tt.enc))
	}
	f.Fuzz(func(t *testing.T, data []byte, comma byte, enc uint8) {
		comma = fuzzComma(comma)
		e := Encoding(enc % 3)
		res := fuzzRead(t, data, comma, e, 0)
		small := fuzzRead(t, data, comma, e, 1+len(data)%7)
		if !reflect.DeepEqual(res, small) {
			t.Fatalf("a small buffer changes the result:\n%+v\n%+v", res, small)
		}
		rotated := fuzzRead(t, rot(data), comma, e, 0)
		if !reflect.DeepEqual(res.errs, rotated.errs) {
			t.Fatalf("error messages depend on field content:\n%q\n%q", res.errs, rotated.errs)
		}
		for _, msg := range res.errs {
			for _, rec := range res.recs {
				for _, f := range rec {
					if len(f) >= 3 && strings.Contains(msg, f) && !isVocabulary(f) {
						t.Fatalf("error %q contains field %q", msg, f)
					}
				}
			}
		}
	})
}

// isVocabulary reports whether s could be a piece of an error message
// (words and numbers) rather than echoed content.
func isVocabulary(s string) bool {
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(" ,:()-\"", c) >= 0) {
			return false
		}
	}
	return true
}

// representable reports whether enc can represent the UTF-8 string f.
func representable(f []byte, enc Encoding) bool {
	if !utf8.Valid(f) {
		return false
	}
	if enc == UTF8 {
		return true
	}
	for _, r := range string(f) {
		if r >= utf8.RuneSelf {
			if _, ok := encodeRune(r, enc); !ok {
				return false
			}
		}
	}
	return true
}

// FuzzRoundTrip writes records made from the input (fields split at NUL
// bytes, ncol fields per record) in every delimiter and encoding, reads them
// back and checks that the fields, the dialect and the raw bytes come back
// unchanged. Records that an encoding cannot represent must be refused with
// an error naming the column.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("id\x00navn\x00Åse\x00Ødegård"), uint8(2), true, true)
	f.Add([]byte("a\x00b;c\x00\"q\"\x00x\r\ny\x00 lead\x00\x00\x00"), uint8(3), false, false)
	f.Add([]byte("h\x00\x00\x00\r\x00\n"), uint8(1), false, true)
	f.Add([]byte("10 €\x00O’Brien\x00«»\x00Łódź"), uint8(2), true, false)
	f.Add([]byte("\uFEFFx\x00\xFF"), uint8(1), false, false)
	f.Fuzz(func(t *testing.T, data []byte, ncol uint8, crlf, withBOM bool) {
		n := 1 + int(ncol%6)
		fields := bytes.Split(data, []byte{0})
		for len(fields)%n != 0 {
			fields = append(fields, nil)
		}
		var recs [][][]byte
		for i := 0; i < len(fields); i += n {
			recs = append(recs, fields[i:i+n])
		}
		for _, comma := range candidates {
			for enc := UTF8; enc <= Windows1252; enc++ {
				d := Dialect{Comma: comma, CRLF: crlf, BOM: withBOM && enc == UTF8, Encoding: enc}
				var out bytes.Buffer
				w := NewWriter(&out, d)
				refused := false
				for row, rec := range recs {
					err := w.Write(rec)
					bad := -1
					for i, f := range rec {
						if !representable(f, enc) {
							bad = i
							break
						}
					}
					if bad < 0 {
						if err != nil {
							t.Fatalf("%v: Write(%q): %v", d, rec, err)
						}
						continue
					}
					var we *WriteError
					if !errors.Is(err, ErrEncoding) || !errors.As(err, &we) || we.Row != row || we.Column != bad+1 {
						t.Fatalf("%v: Write(%q) = %v, want ErrEncoding at row %d column %d", d, rec, err, row, bad+1)
					}
					refused = true
					break
				}
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
				if refused {
					continue
				}
				r := NewReader(bytes.NewReader(out.Bytes()))
				r.Comma = comma
				r.Encoding = enc
				var raw []byte
				if d.BOM {
					raw = append(raw, bom...)
				}
				for i := 0; ; i++ {
					rec, err := r.Read()
					if err == io.EOF {
						if i != len(recs) {
							t.Fatalf("%v: read %d records, wrote %d", d, i, len(recs))
						}
						break
					}
					if err != nil {
						t.Fatalf("%v: reading %q back: %v", d, out.Bytes(), err)
					}
					if !reflect.DeepEqual(normalize(rec.Fields), normalize(recs[i])) {
						t.Fatalf("%v: record %d: wrote %q, read %q (output %q)", d, i, recs[i], rec.Fields, out.Bytes())
					}
					raw = append(raw, rec.Raw...)
				}
				if !bytes.Equal(raw, out.Bytes()) || len(r.Trailer()) != 0 {
					t.Fatalf("%v: Raw bytes %q differ from the output %q", d, raw, out.Bytes())
				}
				if r.Dialect() != d {
					t.Fatalf("read dialect %v, wrote %v", r.Dialect(), d)
				}
			}
		}
	})
}

// normalize makes nil and empty fields equal for comparison.
func normalize(fields [][]byte) []string {
	s := make([]string, len(fields))
	for i, f := range fields {
		s[i] = string(f)
	}
	return s
}
