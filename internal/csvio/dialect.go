package csvio

import (
	"bytes"
	"unicode/utf8"
)

// Dialect describes the form of a CSV file: what a [Reader] found and what a
// [Writer] produces.
type Dialect struct {
	// Comma is the field delimiter, usually ',', ';', '\t' or '|'. A Writer
	// treats 0 as ','.
	Comma byte
	// CRLF reports that records end with CR LF (taken from the header line);
	// otherwise with LF.
	CRLF bool
	// BOM reports that the input started with a UTF-8 byte order mark. A
	// Writer with Encoding UTF8 writes one before the first record.
	BOM bool
	// Encoding is the character encoding of the file.
	Encoding Encoding
}

// String describes the dialect for people, for example
// "';'-separated, CRLF, utf-8 with BOM".
func (d Dialect) String() string {
	c := d.Comma
	if c == 0 {
		c = ','
	}
	var s string
	switch c {
	case '\t':
		s = "tab-separated"
	default:
		s = "'" + string(rune(c)) + "'-separated"
	}
	if d.CRLF {
		s += ", CRLF"
	} else {
		s += ", LF"
	}
	s += ", " + d.Encoding.String()
	if d.BOM {
		s += " with BOM"
	}
	return s
}

var bom = []byte{0xEF, 0xBB, 0xBF}

// candidates are the delimiters detection chooses from, in order of
// preference when counts tie.
var candidates = [...]byte{',', ';', '\t', '|'}

// detectComma counts the candidate delimiters outside quotes on the first
// record of data and returns the most frequent (',' on ties between ',' and
// another, and when there are none). end is the index just after the LF that
// ends the record, or -1 if data holds no complete record.
func detectComma(data []byte) (comma byte, end int) {
	var counts [len(candidates)]int
	inQuotes := false
	end = -1
loop:
	for i, c := range data {
		switch c {
		case '"':
			inQuotes = !inQuotes
		case '\n':
			if !inQuotes {
				end = i + 1
				break loop
			}
		case ',':
			if !inQuotes {
				counts[0]++
			}
		case ';':
			if !inQuotes {
				counts[1]++
			}
		case '\t':
			if !inQuotes {
				counts[2]++
			}
		case '|':
			if !inQuotes {
				counts[3]++
			}
		}
	}
	best := 0
	for i := 1; i < len(counts); i++ {
		if counts[i] > counts[best] {
			best = i
		}
	}
	return candidates[best], end
}

// Sniff guesses the dialect of a file from its first bytes (a few KiB that
// hold the header line are enough): a leading UTF-8 BOM; the delimiter as a
// [Reader] with Comma 0 would detect it; CRLF from the end of the header
// line; and the encoding: UTF-8 if there is a BOM or prefix is valid UTF-8
// (ignoring a sequence cut off at its end), otherwise Windows-1252, the
// encoding Excel uses for "CSV" on Western European Windows (Latin-1 files
// read the same way except for the rarely used bytes 0x80-0x9F).
func Sniff(prefix []byte) Dialect {
	var d Dialect
	if bytes.HasPrefix(prefix, bom) {
		d.BOM = true
		prefix = prefix[len(bom):]
	}
	comma, end := detectComma(prefix)
	d.Comma = comma
	d.CRLF = end >= 2 && prefix[end-2] == '\r'
	if !d.BOM && !validUTF8Prefix(prefix) {
		d.Encoding = Windows1252
	}
	return d
}

// validUTF8Prefix reports whether b is valid UTF-8 except perhaps for an
// incomplete sequence at its end.
func validUTF8Prefix(b []byte) bool {
	if utf8.Valid(b) {
		return true
	}
	for k := 1; k <= utf8.UTFMax-1 && k <= len(b); k++ {
		if utf8.RuneStart(b[len(b)-k]) {
			return !utf8.FullRune(b[len(b)-k:]) && utf8.Valid(b[:len(b)-k])
		}
	}
	return false
}
