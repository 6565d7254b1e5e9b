package csvio

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

type readTest struct {
	name      string
	in        string
	comma     byte // Reader.Comma (0: detect)
	enc       Encoding
	fpr       int // FieldsPerRecord
	maxField  int
	maxRecord int

	want    [][]string // records read before the error (or EOF), header included
	lines   []int      // Record.Line of each record in want (optional)
	dialect *Dialect   // expected Dialect (optional)
	trailer string

	err               error // sentinel of the error after want (nil: io.EOF)
	row, line, column int   // its position
}

var readTests = []readTest{
	{
		name:    "Simple",
		in:      "a,b,c\n1,2,3\n",
		want:    [][]string{{"a", "b", "c"}, {"1", "2", "3"}},
		dialect: &Dialect{Comma: ','},
	},
	{
		name: "NoFinalNewline",
		in:   "a,b\n1,2",
		want: [][]string{{"a", "b"}, {"1", "2"}},
	},
	{
		name:    "SemicolonCRLF",
		in:      "a;b\r\n1;2\r\n",
		want:    [][]string{{"a", "b"}, {"1", "2"}},
		dialect: &Dialect{Comma: ';', CRLF: true},
	},
	{
		name:    "ExcelBOM",
		in:      "\xEF\xBB\xBFnavn;alder\r\nÅse;41\r\nØystein;37\r\n",
		want:    [][]string{{"navn", "alder"}, {"Åse", "41"}, {"Øystein", "37"}},
		dialect: &Dialect{Comma: ';', CRLF: true, BOM: true},
	},
	{
		name:    "Tab",
		in:      "a\tb\n1\t2\n",
		want:    [][]string{{"a", "b"}, {"1", "2"}},
		dialect: &Dialect{Comma: '\t'},
	},
	{
		name:    "Pipe",
		in:      "a|b|c\n1|2|3\n",
		want:    [][]string{{"a", "b", "c"}, {"1", "2", "3"}},
		dialect: &Dialect{Comma: '|'},
	},
	{
		name:    "TieGoesToComma",
		in:      "a,b;c\n1,2;3\n",
		want:    [][]string{{"a", "b;c"}, {"1", "2;3"}},
		dialect: &Dialect{Comma: ','},
	},
	{
		name:    "TieSemicolonTab",
		in:      "a;b\tc\n1;2\t3\n",
		want:    [][]string{{"a", "b\tc"}, {"1", "2\t3"}},
		dialect: &Dialect{Comma: ';'},
	},
	{
		name:    "OneColumnDetectsComma",
		in:      "name\nAda\n",
		want:    [][]string{{"name"}, {"Ada"}},
		dialect: &Dialect{Comma: ','},
	},
	{
		name:    "DetectIgnoresQuoted",
		in:      "\"a,b,c\";d;e\n1;2;3\n",
		want:    [][]string{{"a,b,c", "d", "e"}, {"1", "2", "3"}},
		dialect: &Dialect{Comma: ';'},
	},
	{
		name:    "DetectMultilineHeader",
		in:      "\"a\nx,y,z\";b;c\r\n1;2;3\r\n",
		want:    [][]string{{"a\nx,y,z", "b", "c"}, {"1", "2", "3"}},
		dialect: &Dialect{Comma: ';', CRLF: true},
	},
	{
		name:  "ExplicitComma",
		in:    "a,b;c\n1,2;3\n",
		comma: ';',
		want:  [][]string{{"a,b", "c"}, {"1,2", "3"}},
	},
	{
		name:  "QuotedNewline",
		in:    "a,b\n\"x\ny\",2\n3,4\n",
		want:  [][]string{{"a", "b"}, {"x\ny", "2"}, {"3", "4"}},
		lines: []int{1, 2, 4},
	},
	{
		name:    "QuotedCRLFKept",
		in:      "a,b\r\n\"x\r\ny\",2\r\n",
		want:    [][]string{{"a", "b"}, {"x\r\ny", "2"}},
		dialect: &Dialect{Comma: ',', CRLF: true},
	},
	{
		name: "DoubledQuotes",
		in:   "a,b\n\"say \"\"hi\"\"\",2\n\"\"\"\",\"\"\"\"\"\"\n",
		want: [][]string{{"a", "b"}, {`say "hi"`, "2"}, {`"`, `""`}},
	},
	{
		name: "QuotedDelimiters",
		in:   "a;b;c\n\"1;2\";\"x\";\"\"\n",
		want: [][]string{{"a", "b", "c"}, {"1;2", "x", ""}},
	},
	{
		name: "EmptyFields",
		in:   "a,b,c\n,,\n\"\",,\"\"\n",
		want: [][]string{{"a", "b", "c"}, {"", "", ""}, {"", "", ""}},
	},
	{
		name: "SpacesKept",
		in:   "a,b\n x , y \n",
		want: [][]string{{"a", "b"}, {" x ", " y "}},
	},
	{
		name: "LoneCRKept",
		in:   "a,b\nx\ry,2\n",
		want: [][]string{{"a", "b"}, {"x\ry", "2"}},
	},
	{
		name: "FinalCR",
		in:   "a,b\n1,2\r",
		want: [][]string{{"a", "b"}, {"1", "2"}},
	},
	{
		name:    "TrailingEmptyLine",
		in:      "a,b\n1,2\n\n",
		want:    [][]string{{"a", "b"}, {"1", "2"}},
		trailer: "\n",
	},
	{
		name:    "TrailingEmptyLinesCRLF",
		in:      "a;b\r\n1;2\r\n\r\n\r\n",
		want:    [][]string{{"a", "b"}, {"1", "2"}},
		trailer: "\r\n\r\n",
	},
	{
		name:    "HeaderOnly",
		in:      "a,b\n",
		want:    [][]string{{"a", "b"}},
		dialect: &Dialect{Comma: ','},
	},
	{
		name:    "HeaderOnlyNoNewline",
		in:      "a;b",
		want:    [][]string{{"a", "b"}},
		dialect: &Dialect{Comma: ';'},
	},
	{
		name:    "HeaderOnlyTrailingLine",
		in:      "a;b\r\n\r\n",
		want:    [][]string{{"a", "b"}},
		trailer: "\r\n",
	},
	{
		name:  "OneColumnEmptyLine",
		in:    "name\nAda\n\nBo\n",
		want:  [][]string{{"name"}, {"Ada"}, {""}, {"Bo"}},
		lines: []int{1, 2, 3, 4},
	},
	{
		name: "OneColumnQuotedEmpty",
		in:   "name\n\"\"\n",
		want: [][]string{{"name"}, {""}},
	},
	{
		name: "QuotedAtEOF",
		in:   "a,b\n1,\"2\"",
		want: [][]string{{"a", "b"}, {"1", "2"}},
	},
	{
		name: "QuotedCRAtEOF",
		in:   "a,b\n1,\"2\"\r",
		want: [][]string{{"a", "b"}, {"1", "2"}},
	},
	{
		name: "TrailingComma",
		in:   "a,b\n1,\n",
		want: [][]string{{"a", "b"}, {"1", ""}},
	},
	{
		name: "TrailingCommaAtEOF",
		in:   "a,b\n1,",
		want: [][]string{{"a", "b"}, {"1", ""}},
	},
	{
		name: "Latin1",
		in:   "navn;by\n\xC5se;Troms\xF8\n\x81;\xFF\n",
		enc:  Latin1,
		want: [][]string{{"navn", "by"}, {"Åse", "Tromsø"}, {"\u0081", "ÿ"}},
	},
	{
		name:    "Windows1252",
		in:      "pris;navn\r\n10 \x80;O\x92Brien\r\n\"\xC6\xD8\xC5\";\"\xE6\xF8\xE5\"\r\n",
		enc:     Windows1252,
		want:    [][]string{{"pris", "navn"}, {"10 €", "O’Brien"}, {"ÆØÅ", "æøå"}},
		dialect: &Dialect{Comma: ';', CRLF: true, Encoding: Windows1252},
	},
	{
		name: "RaggedAllowed",
		in:   "a,b\n1\n1,2,3\n",
		fpr:  -1,
		want: [][]string{{"a", "b"}, {"1"}, {"1", "2", "3"}},
	},

	// Errors.
	{
		name: "Empty",
		in:   "",
		err:  ErrEmpty,
	},
	{
		name: "OnlyBOM",
		in:   "\xEF\xBB\xBF",
		err:  ErrEmpty,
	},
	{
		name: "OnlyNewlines",
		in:   "\n\r\n\n",
		err:  ErrEmpty,
	},
	{
		name: "BareQuote",
		in:   "a,b\n1,x\"y\n",
		want: [][]string{{"a", "b"}},
		err:  ErrBareQuote, row: 1, line: 2, column: 2,
	},
	{
		name: "BareQuoteAfterSpace",
		in:   "a,b\n1,2\n1, \"y\"\n",
		want: [][]string{{"a", "b"}, {"1", "2"}},
		err:  ErrBareQuote, row: 2, line: 3, column: 2,
	},
	{
		name: "BareQuoteInHeader",
		in:   "a,b\"\n",
		err:  ErrBareQuote, row: 0, line: 1, column: 2,
	},
	{
		name: "ExtraneousQuote",
		in:   "a,b\n\"x\"y,2\n",
		want: [][]string{{"a", "b"}},
		err:  ErrQuote, row: 1, line: 2, column: 1,
	},
	{
		name: "ExtraneousQuoteAfterNewline",
		in:   "a,b\n1,2\n\"x\ny\"z,2\n",
		want: [][]string{{"a", "b"}, {"1", "2"}},
		err:  ErrQuote, row: 2, line: 4, column: 1,
	},
	{
		name: "QuoteThenCR",
		in:   "a,b\n\"1\"\rx,2\n",
		want: [][]string{{"a", "b"}},
		err:  ErrQuote, row: 1, line: 2, column: 1,
	},
	{
		name: "UnclosedQuote",
		in:   "a,b\n1,\"xyz\n2,3\n",
		want: [][]string{{"a", "b"}},
		err:  ErrQuote, row: 1, line: 2, column: 2,
	},
	{
		name: "FieldCountMore",
		in:   "a,b\n1,2,3\n",
		want: [][]string{{"a", "b"}},
		err:  ErrFieldCount, row: 1, line: 2,
	},
	{
		name: "FieldCountFewer",
		in:   "a,b,c\n1,2,3\n\"x\ny\",2\n",
		want: [][]string{{"a", "b", "c"}, {"1", "2", "3"}},
		err:  ErrFieldCount, row: 2, line: 3,
	},
	{
		name: "EmptyLineInside",
		in:   "a,b\n\n1,2\n",
		want: [][]string{{"a", "b"}},
		err:  ErrFieldCount, row: 1, line: 2,
	},
	{
		name: "FieldsPerRecordHeader",
		in:   "a,b\n1,2\n",
		fpr:  3,
		err:  ErrFieldCount, row: 0, line: 1,
	},
	{
		name: "InvalidUTF8",
		in:   "a,b\n1,\xFF\n",
		want: [][]string{{"a", "b"}},
		err:  ErrEncoding, row: 1, line: 2, column: 2,
	},
	{
		name: "InvalidUTF8Multiline",
		in:   "a,b\n1,\"x\n\xC3\"\n",
		want: [][]string{{"a", "b"}},
		err:  ErrEncoding, row: 1, line: 3, column: 2,
	},
	{
		name: "Windows1252Undefined",
		in:   "a;b\n1;2\nx;\x81\n",
		enc:  Windows1252,
		want: [][]string{{"a", "b"}, {"1", "2"}},
		err:  ErrEncoding, row: 2, line: 3, column: 2,
	},
	{
		name: "BOMButLatin1",
		in:   "\xEF\xBB\xBFa;b\n",
		enc:  Latin1,
		err:  ErrEncoding, row: 0, line: 1,
	},
	{
		name:     "FieldTooLong",
		in:       "a,b\n1,2345\n",
		maxField: 3,
		want:     [][]string{{"a", "b"}},
		err:      ErrFieldTooLong, row: 1, line: 2, column: 2,
	},
	{
		name:     "FieldTooLongCRLF",
		in:       "a,b\r\n1,234\r\n1,2345\r\n",
		maxField: 3,
		want:     [][]string{{"a", "b"}, {"1", "234"}},
		err:      ErrFieldTooLong, row: 2, line: 3, column: 2,
	},
	{
		name:     "QuotedFieldTooLong",
		in:       "a,b\n\"1\n2\",\"x\ny\"\"z\"\n",
		maxField: 6,
		want:     [][]string{{"a", "b"}},
		err:      ErrFieldTooLong, row: 1, line: 3, column: 2,
	},
	{
		name:     "UnclosedQuoteTooLong",
		in:       "a,b\n1,\"" + strings.Repeat("x\n", 20),
		maxField: 10,
		want:     [][]string{{"a", "b"}},
		err:      ErrFieldTooLong, row: 1, line: 2, column: 2,
	},
	{
		name:      "RecordTooLong",
		in:        "a,b\n1,2\n123,456,789\n",
		fpr:       -1,
		maxRecord: 8,
		want:      [][]string{{"a", "b"}, {"1", "2"}},
		err:       ErrRecordTooLong, row: 2, line: 3,
	},
}

// readers wraps an input in io.Readers that return it in different pieces.
var readers = []struct {
	name    string
	bufInit int
	wrap    func(io.Reader) io.Reader
}{
	{"Whole", 0, func(r io.Reader) io.Reader { return r }},
	{"OneByte", 1, iotest.OneByteReader},
	{"Half3", 3, iotest.HalfReader},
	{"DataErr7", 7, iotest.DataErrReader},
}

// readAll reads all records of r, returning copies of their fields, their
// lines, their concatenated Raw bytes and the first error other than io.EOF.
func readAll(r *Reader) (recs [][]string, lines []int, raw []byte, err error) {
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return recs, lines, raw, nil
		}
		if err != nil {
			return recs, lines, raw, err
		}
		recs = append(recs, rec.Strings())
		lines = append(lines, rec.Line)
		raw = append(raw, rec.Raw...)
	}
}

func TestRead(t *testing.T) {
	for _, tt := range readTests {
		for _, rd := range readers {
			t.Run(tt.name+"/"+rd.name, func(t *testing.T) {
				r := NewReader(rd.wrap(strings.NewReader(tt.in)))
				r.Comma = tt.comma
				r.Encoding = tt.enc
				r.FieldsPerRecord = tt.fpr
				r.MaxFieldBytes = tt.maxField
				r.MaxRecordBytes = tt.maxRecord
				r.File = "in.csv"
				r.bufInit = rd.bufInit
				got, lines, raw, err := readAll(r)
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("records:\ngot  %q\nwant %q", got, tt.want)
				}
				if tt.lines != nil && !reflect.DeepEqual(lines, tt.lines) {
					t.Errorf("lines: got %v, want %v", lines, tt.lines)
				}
				if tt.dialect != nil && r.Dialect() != *tt.dialect {
					t.Errorf("dialect: got %+v, want %+v", r.Dialect(), *tt.dialect)
				}
				if tt.err == nil {
					if err != nil {
						t.Fatalf("unexpected error: %v", err)
					}
					if string(r.Trailer()) != tt.trailer {
						t.Errorf("trailer: got %q, want %q", r.Trailer(), tt.trailer)
					}
					// Raw bytes reproduce the input exactly.
					var all []byte
					if r.Dialect().BOM {
						all = append(all, bom...)
					}
					all = append(append(all, raw...), r.Trailer()...)
					if !bytes.Equal(all, []byte(tt.in)) {
						t.Errorf("BOM+Raw+Trailer = %q, want the input %q", all, tt.in)
					}
					if r.InputOffset() != int64(len(tt.in)) {
						t.Errorf("InputOffset = %d, want %d", r.InputOffset(), len(tt.in))
					}
					return
				}
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("error %v (%T), want a *ParseError wrapping %v", err, err, tt.err)
				}
				if !errors.Is(err, tt.err) {
					t.Errorf("error %v, want %v", err, tt.err)
				}
				if pe.File != "in.csv" || pe.Row != tt.row || pe.Line != tt.line || pe.Column != tt.column {
					t.Errorf("error at file %q row %d line %d column %d, want in.csv row %d line %d column %d (%v)",
						pe.File, pe.Row, pe.Line, pe.Column, tt.row, tt.line, tt.column, err)
				}
				// Errors other than ErrFieldCount are sticky.
				if !errors.Is(err, ErrFieldCount) {
					if _, err2 := r.Read(); err2 != err {
						t.Errorf("second Read returned %v, want the same error", err2)
					}
				}
			})
		}
	}
}

func TestFieldCountRecordReturned(t *testing.T) {
	r := NewReader(strings.NewReader("a,b\n1,2,3\n4,5\n"))
	if _, err := r.Read(); err != nil {
		t.Fatal(err)
	}
	rec, err := r.Read()
	if !errors.Is(err, ErrFieldCount) || rec == nil || len(rec.Fields) != 3 {
		t.Fatalf("Read = %v, %v; want the record of 3 fields and ErrFieldCount", rec, err)
	}
	if got := err.Error(); got != "row 1 (line 2): wrong number of fields: got 3, want 2" {
		t.Errorf("message %q", got)
	}
	rec, err = r.Read()
	if err != nil || string(rec.Raw) != "4,5\n" || rec.Row != 2 || rec.Line != 3 {
		t.Fatalf("reading on after ErrFieldCount: %v, %v", rec, err)
	}
}

func TestParseErrorMessage(t *testing.T) {
	for _, tt := range []struct {
		err  *ParseError
		want string
	}{
		{&ParseError{File: "participants.csv", Row: 12, Line: 13, Column: 3, Err: ErrBareQuote},
			`participants.csv: row 12 (line 13), column 3: bare " in non-quoted field`},
		{&ParseError{Row: 2, Line: 3, Err: ErrFieldCount}, "row 2 (line 3): wrong number of fields"},
		{&ParseError{File: "x.csv", Row: 0, Line: 1, Column: 4, Err: ErrEmptyColumnName}, "x.csv: header (line 1), column 4: empty column name"},
		{&ParseError{File: "x.csv", Err: ErrEmpty}, "x.csv: empty file: no header line"},
		{&ParseError{Row: 5, Line: 9, Column: 2, Err: errInvalidUTF8},
			"row 5 (line 9), column 2: invalid character encoding: invalid UTF-8 (if the file comes from Excel, try --encoding windows-1252)"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

func TestReadHeader(t *testing.T) {
	for _, tt := range []struct {
		in     string
		want   []string
		err    error
		column int
	}{
		{in: "id;navn;fødselsnummer\r\n1;a;b\r\n", want: []string{"id", "navn", "fødselsnummer"}},
		{in: "id,secret_name,secret_name\n", err: ErrDuplicateColumnName, column: 3},
		{in: "id,,x\n", err: ErrEmptyColumnName, column: 2},
		{in: "id,x,\" \"\n", err: ErrEmptyColumnName, column: 3},
		{in: "", err: ErrEmpty},
	} {
		r := NewReader(strings.NewReader(tt.in))
		names, err := r.ReadHeader()
		if tt.err == nil {
			if err != nil || !reflect.DeepEqual(names, tt.want) {
				t.Errorf("%q: got %q, %v; want %q", tt.in, names, err, tt.want)
			}
			continue
		}
		var pe *ParseError
		if !errors.Is(err, tt.err) || !errors.As(err, &pe) || pe.Column != tt.column {
			t.Errorf("%q: got error %v, want %v at column %d", tt.in, err, tt.err, tt.column)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error echoes a column name: %v", err)
		}
	}
	// The duplicate message names the first column.
	_, err := NewReader(strings.NewReader("a,b,c,b\n")).ReadHeader()
	if err == nil || err.Error() != "header (line 1), column 4: duplicate column name (same as column 2)" {
		t.Errorf("got %v", err)
	}
}

func TestReadHeaderTwice(t *testing.T) {
	r := NewReader(strings.NewReader("a\n1\n"))
	if _, err := r.ReadHeader(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadHeader(); err == nil {
		t.Fatal("second ReadHeader succeeded")
	}
}

func TestReaderConfigErrors(t *testing.T) {
	for _, c := range []byte{'"', '\r', '\n', 0xE6} {
		r := NewReader(strings.NewReader("a,b\n"))
		r.Comma = c
		if _, err := r.Read(); err != errInvalidComma {
			t.Errorf("Comma %q: got %v, want errInvalidComma", c, err)
		}
	}
	r := NewReader(strings.NewReader("a,b\n"))
	r.Encoding = 7
	if _, err := r.Read(); err != errInvalidEncoding {
		t.Errorf("Encoding 7: got %v", err)
	}
}

// A read error is returned once the buffered records are used up.
func TestReadError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(strings.NewReader("a,b\n1,2\n3,"), iotest.ErrReader(boom)))
	got, _, _, err := readAll(r)
	if err != boom || len(got) != 2 {
		t.Fatalf("got %q, %v; want 2 records and the read error", got, err)
	}
}

// The record and its fields stay valid until the next Read; Clone keeps
// them.
func TestRecordReuseAndClone(t *testing.T) {
	r := NewReader(strings.NewReader("a,b\n\"x\"\"\",y\n"))
	h, _ := r.Read()
	c := h.Clone()
	rec, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if rec != h {
		t.Error("Read does not reuse its Record")
	}
	if got := c.Strings(); !reflect.DeepEqual(got, []string{"a", "b"}) || string(c.Raw) != "a,b\n" || c.Row != 0 || c.Line != 1 {
		t.Errorf("clone: %q %q", got, c.Raw)
	}
	// Appending to a field must not overwrite the next one.
	f0 := append(rec.Fields[0], "zz"...)
	_ = f0
	if string(rec.Fields[1]) != "y" || string(rec.Fields[0]) != `x"` {
		t.Errorf("fields after append: %q", rec.Fields)
	}
}

func TestSniff(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Dialect
	}{
		{"a,b\n", Dialect{Comma: ','}},
		{"\xEF\xBB\xBFa;b;c\r\n1;2;3\r\n", Dialect{Comma: ';', CRLF: true, BOM: true}},
		{"navn;by\r\n\xC5se;Troms\xF8\r\n", Dialect{Comma: ';', CRLF: true, Encoding: Windows1252}},
		{"a\tb\nÅse\t\xC3", Dialect{Comma: '\t'}}, // cut-off UTF-8 sequence at the end
		{"a|b", Dialect{Comma: '|'}},
		{"", Dialect{Comma: ','}},
	} {
		if got := Sniff([]byte(tt.in)); got != tt.want {
			t.Errorf("Sniff(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestDialectString(t *testing.T) {
	d := Dialect{Comma: ';', CRLF: true, BOM: true}
	if got := d.String(); got != "';'-separated, CRLF, utf-8 with BOM" {
		t.Errorf("got %q", got)
	}
	d = Dialect{Comma: '\t', Encoding: Windows1252}
	if got := d.String(); got != "tab-separated, LF, windows-1252" {
		t.Errorf("got %q", got)
	}
}

func TestParseEncoding(t *testing.T) {
	for name, want := range map[string]Encoding{"UTF-8": UTF8, "utf8": UTF8, "latin1": Latin1, "ISO-8859-1": Latin1, "cp1252": Windows1252, "Windows-1252": Windows1252} {
		if got, err := ParseEncoding(name); err != nil || got != want {
			t.Errorf("ParseEncoding(%q) = %v, %v", name, got, err)
		}
		if got, _ := ParseEncoding(name); got.String() != strings.ToLower(want.String()) {
			t.Errorf("String")
		}
	}
	if _, err := ParseEncoding("ebcdic"); err == nil || strings.Contains(err.Error(), "ebcdic") {
		t.Errorf("ParseEncoding(ebcdic): %v", err)
	}
}

// A long record that crosses many buffer refills, and one longer than the
// buffer, read with the default buffer.
func TestLongRecords(t *testing.T) {
	long := strings.Repeat("x", 300<<10)
	quoted := `"` + strings.Repeat(`ab""c`+"\n", 50<<10) + `"`
	in := "a,b\n" + long + ",1\n" + quoted + ",2\n3,4\n"
	r := NewReader(iotest.HalfReader(strings.NewReader(in)))
	got, _, raw, err := readAll(r)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a", "b"}, {long, "1"}, {strings.Repeat(`ab"c`+"\n", 50<<10), "2"}, {"3", "4"}}
	if !reflect.DeepEqual(got, want) {
		t.Error("records differ")
	}
	if string(raw) != in {
		t.Error("raw differs")
	}
}

// endless is an io.Reader returning the same bytes forever.
type endless struct {
	pattern string
	i       int
}

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = e.pattern[e.i%len(e.pattern)]
		e.i++
	}
	return len(p), nil
}

// Limits turn endless input into errors instead of unbounded memory use.
func TestLimits(t *testing.T) {
	for _, tt := range []struct {
		name      string
		src       io.Reader
		maxField  int
		maxRecord int
		err       error
		row, col  int
	}{
		{"EndlessHeaderField", &endless{pattern: "x"}, 1000, 0, ErrFieldTooLong, 0, 1},
		{"EndlessField", io.MultiReader(strings.NewReader("a,b\n1,"), &endless{pattern: "y"}), 1000, 0, ErrFieldTooLong, 1, 2},
		{"EndlessQuoted", io.MultiReader(strings.NewReader("a,b\n1,\""), &endless{pattern: "y\n"}), 1000, 0, ErrFieldTooLong, 1, 2},
		{"EndlessFields", io.MultiReader(strings.NewReader("a,b\n"), &endless{pattern: "1,"}), 1000, 4000, ErrRecordTooLong, 1, 0},
		{"EndlessQuotedFields", io.MultiReader(strings.NewReader("a,b\n"), &endless{pattern: `"1",`}), 1000, 4000, ErrRecordTooLong, 1, 0},
		{"EndlessEmptyLines", io.MultiReader(strings.NewReader("a,b\n1,2\n"), &endless{pattern: "\r\n"}), 1000, 4000, ErrFieldCount, 2, 0},
		{"DefaultLimit", io.MultiReader(strings.NewReader("a,b\n1,"), &endless{pattern: "y"}), 0, 0, ErrFieldTooLong, 1, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.maxField == 0 && testing.Short() {
				t.Skip("reads 64 MiB")
			}
			r := NewReader(tt.src)
			r.MaxFieldBytes = tt.maxField
			r.MaxRecordBytes = tt.maxRecord
			var err error
			for err == nil {
				_, err = r.Read()
			}
			var pe *ParseError
			if !errors.Is(err, tt.err) || !errors.As(err, &pe) || pe.Row != tt.row || pe.Column != tt.col {
				t.Fatalf("got %v, want %v at row %d column %d", err, tt.err, tt.row, tt.col)
			}
			if limit := max(tt.maxRecord, DefaultMaxRecordBytes) + 1; len(r.buf) > limit {
				t.Errorf("buffer grew to %d bytes", len(r.buf))
			}
		})
	}
}

func TestTooManyFields(t *testing.T) {
	in := "a\n" + strings.Repeat(",", maxFields) + "\n"
	r := NewReader(strings.NewReader(in))
	r.FieldsPerRecord = -1
	r.Read()
	_, err := r.Read()
	if !errors.Is(err, ErrRecordTooLong) {
		t.Fatalf("got %v", err)
	}
	in = "a\n" + strings.Repeat(`"",`, maxFields) + "\n"
	r = NewReader(strings.NewReader(in))
	r.FieldsPerRecord = -1
	r.Read()
	if _, err = r.Read(); !errors.Is(err, ErrRecordTooLong) {
		t.Fatalf("quoted: got %v", err)
	}
	// Exactly the limit is fine.
	in = "a\n" + strings.Repeat(",", maxFields-1) + "\n"
	r = NewReader(strings.NewReader(in))
	r.FieldsPerRecord = -1
	r.Read()
	if rec, err := r.Read(); err != nil || len(rec.Fields) != maxFields {
		t.Fatalf("got %v", err)
	}
}
