package csvio_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pseudokit/pseudokit/internal/csvio"
)

// Reading an Excel export: the delimiter, BOM and line ending are detected.
func ExampleReader() {
	in := "\uFEFFid;navn;kommentar\r\n1;Åse;\"sa \"\"hei\"\"; gikk\"\r\n2;Bo;\r\n"
	r := csvio.NewReader(strings.NewReader(in))
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("row %d: %q\n", rec.Row, rec.Fields)
	}
	fmt.Println(r.Dialect())
	// Output:
	// row 0: ["id" "navn" "kommentar"]
	// row 1: ["1" "Åse" "sa \"hei\"; gikk"]
	// row 2: ["2" "Bo" ""]
	// ';'-separated, CRLF, utf-8 with BOM
}

// ReadHeader checks the column names; errors name positions, not values.
func ExampleReader_ReadHeader() {
	r := csvio.NewReader(strings.NewReader("id,navn,id\n1,Åse,2\n"))
	r.File = "deltakere.csv"
	_, err := r.ReadHeader()
	fmt.Println(err)
	fmt.Println(errors.Is(err, csvio.ErrDuplicateColumnName))
	// Output:
	// deltakere.csv: header (line 1), column 3: duplicate column name (same as column 1)
	// true
}

// Parse errors give the row, the line and the column, never the content.
func ExampleParseError() {
	in := "id,navn\n1,Åse\n2,Bo \"B\" Berg\n"
	r := csvio.NewReader(strings.NewReader(in))
	r.File = "participants.csv"
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			var pe *csvio.ParseError
			if errors.As(err, &pe) {
				fmt.Println(pe.Row, pe.Line, pe.Column)
			}
			break
		}
	}
	// Output:
	// participants.csv: row 2 (line 3), column 2: bare " in non-quoted field
	// 2 3 2
}

// A Windows-1252 file: fields come out as UTF-8, Raw keeps the bytes.
func ExampleReader_windows1252() {
	in := "navn;by\r\n\xC6sa;Troms\xF8\r\n"
	r := csvio.NewReader(strings.NewReader(in))
	r.Encoding = csvio.Windows1252
	r.Read() // header
	rec, _ := r.Read()
	fmt.Printf("%s %s %q\n", rec.Fields[0], rec.Fields[1], rec.Raw)
	// Output:
	// Æsa Tromsø "\xc6sa;Troms\xf8\r\n"
}

// Withdrawal: copy every record except one, byte for byte.
func ExampleWriter_WriteRaw() {
	in := "\uFEFFid;navn\r\n1;Åse\r\n2;\"Bo \"\"B\"\"\"\r\n3;Cy\r\n"
	r := csvio.NewReader(strings.NewReader(in))
	var out bytes.Buffer
	var w *csvio.Writer
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if w == nil {
			w = csvio.NewWriter(&out, r.Dialect()) // same dialect, BOM included
		}
		if rec.Row > 0 && string(rec.Fields[0]) == "2" {
			continue // withdrawn
		}
		w.WriteRaw(rec.Raw)
	}
	w.WriteRaw(r.Trailer())
	if err := w.Flush(); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%q\n", out.String())
	// Output:
	// "\ufeffid;navn\r\n1;Åse\r\n3;Cy\r\n"
}

func ExampleWriter() {
	w := csvio.NewWriter(os.Stdout, csvio.Dialect{Comma: ';'})
	w.WriteString([]string{"id", "kommentar", "vekt"})
	w.WriteString([]string{"K1", `sa "hei"; gikk`, "72,5"})
	w.WriteString([]string{"K2", " innrykk", ""})
	if err := w.Flush(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// id;kommentar;vekt
	// K1;"sa ""hei""; gikk";72,5
	// K2; innrykk;
}

// A character the output encoding lacks is refused with its column number.
func ExampleWriter_encoding() {
	var out bytes.Buffer
	w := csvio.NewWriter(&out, csvio.Dialect{Comma: ';', CRLF: true, Encoding: csvio.Windows1252})
	fmt.Println(w.WriteString([]string{"Ærlig", "Grønnås"}))
	fmt.Println(w.WriteString([]string{"Łukasz", "Wróbel"}))
	w.Flush()
	fmt.Printf("%q\n", out.String())
	// Output:
	// <nil>
	// csvio: writing row 1, column 1: invalid character encoding: character not representable in windows-1252
	// "\xc6rlig;Gr\xf8nn\xe5s\r\n"
}

func ExampleSniff() {
	prefix := []byte("navn;f\xF8dt;by\r\n\xC5se;1980;Bod\xF8\r\n")
	d := csvio.Sniff(prefix)
	fmt.Println(d)
	// Output:
	// ';'-separated, CRLF, windows-1252
}
