package csvio

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the .golden files in testdata")

// TestGolden reads real-looking exports (synthetic names only), compares
// what it finds with the .golden files, and checks that both WriteRaw and
// Write in the detected dialect reproduce each file byte for byte.
func TestGolden(t *testing.T) {
	for _, tt := range []struct {
		file    string
		enc     Encoding
		dialect Dialect
	}{
		{"excel_semicolon_bom_crlf.csv", UTF8, Dialect{Comma: ';', CRLF: true, BOM: true}},
		{"windows1252_semicolon.csv", Windows1252, Dialect{Comma: ';', CRLF: true, Encoding: Windows1252}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := Sniff(in); got != tt.dialect {
				t.Errorf("Sniff = %v, want %v", got, tt.dialect)
			}
			r := NewReader(bytes.NewReader(in))
			r.Encoding = tt.enc
			r.File = tt.file
			var dump bytes.Buffer
			var raw, rewritten bytes.Buffer
			var w *Writer
			if _, err := r.ReadHeader(); err != nil {
				t.Fatal(err)
			}
			rec := &r.rec // the header, still valid
			for {
				if w == nil {
					if r.Dialect() != tt.dialect {
						t.Errorf("Dialect = %v, want %v", r.Dialect(), tt.dialect)
					}
					fmt.Fprintf(&dump, "dialect: %v\n", r.Dialect())
					w = NewWriter(&rewritten, r.Dialect())
				}
				j, _ := json.Marshal(rec.Strings())
				fmt.Fprintf(&dump, "row %d line %d: %s\n", rec.Row, rec.Line, j)
				raw.Write(rec.Raw)
				if err := w.Write(rec.Fields); err != nil {
					t.Fatal(err)
				}
				if rec, err = r.Read(); err != nil {
					break
				}
			}
			if err != io.EOF {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.file[:len(tt.file)-len(".csv")]+".golden")
			if *update {
				if err := os.WriteFile(golden, dump.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dump.Bytes(), want) {
				t.Errorf("records differ from %s (run go test -update):\n%s", golden, dump.Bytes())
			}
			prefix := []byte{}
			if tt.dialect.BOM {
				prefix = bom
			}
			if got := append(append([]byte{}, prefix...), raw.Bytes()...); !bytes.Equal(got, in) {
				t.Errorf("BOM+Raw differs from the file")
			}
			if !bytes.Equal(rewritten.Bytes(), in) {
				t.Errorf("writing the records again gives\n%q\nwant\n%q", rewritten.Bytes(), in)
			}
		})
	}
}
