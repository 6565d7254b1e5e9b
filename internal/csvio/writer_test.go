package csvio

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	for _, tt := range []struct {
		name    string
		d       Dialect
		records [][]string
		want    string
		err     error // sentinel of the error of the last record
		row     int
		column  int
	}{
		{name: "Simple", records: [][]string{{"a", "b"}, {"1", "2"}}, want: "a,b\n1,2\n"},
		{name: "Excel", d: Dialect{Comma: ';', CRLF: true, BOM: true},
			records: [][]string{{"navn", "vekt"}, {"Åse", "72,5"}, {"a;b", "x\ny"}},
			want:    "\xEF\xBB\xBFnavn;vekt\r\nÅse;72,5\r\n\"a;b\";\"x\ny\"\r\n"},
		{name: "Quotes", records: [][]string{{`say "hi"`, `"`, `a"b`}}, want: `"say ""hi""","""","a""b"` + "\n"},
		{name: "CRLFInField", records: [][]string{{"a\r\nb", "c\rd"}}, want: "\"a\r\nb\",\"c\rd\"\n"},
		{name: "LeadingSpaceKept", records: [][]string{{" a", "b ", "\tc", "\u00A0d", "\uFEFFe"}},
			want: " a,b ,\tc,\u00A0d,\"\uFEFFe\"\n"},
		{name: "OtherDelimitersNotQuoted", d: Dialect{Comma: '\t'}, records: [][]string{{"a,b;c|d", "e\tf"}}, want: "a,b;c|d\t\"e\tf\"\n"},
		{name: "EmptyFields", records: [][]string{{"", ""}, {"", "x"}}, want: ",\n,x\n"},
		{name: "OneEmptyField", records: [][]string{{"h"}, {""}}, want: "h\n\"\"\n"},
		{name: "Pipe", d: Dialect{Comma: '|'}, records: [][]string{{"a|b", "c"}}, want: "\"a|b\"|c\n"},
		{name: "Latin1", d: Dialect{Comma: ';', Encoding: Latin1}, records: [][]string{{"Åse", "\"Tromsø\""}}, want: "\xC5se;\"\"\"Troms\xF8\"\"\"\n"},
		{name: "Windows1252", d: Dialect{Comma: ';', CRLF: true, Encoding: Windows1252},
			records: [][]string{{"ÆØÅ", "æøå", "10 €", "O’Brien"}}, want: "\xC6\xD8\xC5;\xE6\xF8\xE5;10 \x80;O\x92Brien\r\n"},
		{name: "Latin1Unrepresentable", d: Dialect{Encoding: Latin1}, records: [][]string{{"a", "b"}, {"ok", "€uro"}},
			want: "a,b\n", err: ErrEncoding, row: 1, column: 2},
		{name: "Windows1252Unrepresentable", d: Dialect{Encoding: Windows1252}, records: [][]string{{"a", "Łukasz"}},
			err: ErrEncoding, row: 0, column: 2},
		{name: "InvalidUTF8", records: [][]string{{"a", "b", "x\xFFy"}}, err: ErrEncoding, row: 0, column: 3},
		{name: "InvalidUTF8Latin1", d: Dialect{Encoding: Latin1}, records: [][]string{{"x\xFFy"}}, err: ErrEncoding, row: 0, column: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf, tt.d)
			var err error
			for _, rec := range tt.records {
				if err = w.WriteString(rec); err != nil {
					break
				}
			}
			if ferr := w.Flush(); ferr != nil {
				t.Fatal(ferr)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if tt.err == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var we *WriteError
			if !errors.Is(err, tt.err) || !errors.As(err, &we) || we.Row != tt.row || we.Column != tt.column {
				t.Fatalf("got error %v, want %v at row %d column %d", err, tt.err, tt.row, tt.column)
			}
			for _, rec := range tt.records {
				for _, f := range rec {
					if len(f) >= 3 && strings.Contains(err.Error(), f) {
						t.Errorf("error %q echoes a field", err)
					}
				}
			}
		})
	}
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter(new(bytes.Buffer), Dialect{Comma: '"'})
	if err := w.Write([][]byte{[]byte("a")}); err != errInvalidComma {
		t.Errorf("comma '\"': %v", err)
	}
	w = NewWriter(new(bytes.Buffer), Dialect{})
	if err := w.Write(nil); err != errNoFields {
		t.Errorf("no fields: %v", err)
	}
	w = NewWriter(new(bytes.Buffer), Dialect{Encoding: 9})
	if err := w.WriteString([]string{"a"}); err != errInvalidEncoding {
		t.Errorf("encoding 9: %v", err)
	}
}

// Copying Raw bytes reproduces the input, with or without a final line
// ending; records written after a Raw without one start on a new line.
func TestWriteRaw(t *testing.T) {
	for _, in := range []string{
		"\xEF\xBB\xBFid;navn\r\n1;\"Åse\r\nØ\"\r\n2;Bo\r\n\r\n",
		"id,navn\n1,x\n2,y",
		"id,navn\n1,x\n2,y\r",
	} {
		r := NewReader(strings.NewReader(in))
		var raws [][]byte
		for {
			rec, err := r.Read()
			if err != nil {
				break
			}
			raws = append(raws, rec.Clone().Raw)
		}
		var out bytes.Buffer
		w := NewWriter(&out, r.Dialect())
		for _, raw := range raws {
			if err := w.WriteRaw(raw); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.WriteRaw(r.Trailer()); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if out.String() != in {
			t.Errorf("got %q, want %q", out.String(), in)
		}
		// Without the trailer, append a record and read everything back.
		out.Reset()
		w = NewWriter(&out, r.Dialect())
		for _, raw := range raws {
			w.WriteRaw(raw)
		}
		if err := w.WriteString([]string{"3", "z"}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		got, _, _, err := readAll(NewReader(bytes.NewReader(out.Bytes())))
		if err != nil || len(got) != 4 || got[3][1] != "z" {
			t.Errorf("after appending to %q: %q, %v", in, got, err)
		}
	}
}

// Withdrawal: dropping a record leaves every other byte as it was.
func TestWriteRawWithdraw(t *testing.T) {
	in := "id;navn\r\n1;Åse\r\n2;\"Bo \"\"B\"\"\"\r\n3;Cy\r\n"
	r := NewReader(strings.NewReader(in))
	var out bytes.Buffer
	w := NewWriter(&out, Dialect{})
	for {
		rec, err := r.Read()
		if err != nil {
			break
		}
		if rec.Row == 0 {
			w.Dialect = r.Dialect()
		}
		if string(rec.Fields[0]) == "2" {
			continue
		}
		w.WriteRaw(rec.Raw)
	}
	w.Flush()
	if want := "id;navn\r\n1;Åse\r\n3;Cy\r\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
