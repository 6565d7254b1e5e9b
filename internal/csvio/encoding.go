package csvio

import (
	"encoding/binary"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Encoding is the character encoding of a CSV file. Field values handed to
// and returned by this package are always UTF-8; Raw bytes are in the file's
// encoding.
type Encoding int

// The supported encodings.
const (
	// UTF8 is UTF-8, the default. Invalid UTF-8 is an error.
	UTF8 Encoding = iota
	// Latin1 is ISO-8859-1: every byte is the code point of the same value.
	Latin1
	// Windows1252 is Windows code page 1252, what Excel on a Western
	// European Windows writes for "CSV". The five bytes it leaves undefined
	// (0x81, 0x8D, 0x8F, 0x90, 0x9D) are an error: they usually mean the file
	// is really UTF-8.
	Windows1252
)

// String returns the canonical name: "utf-8", "iso-8859-1" or
// "windows-1252".
func (e Encoding) String() string {
	switch e {
	case UTF8:
		return "utf-8"
	case Latin1:
		return "iso-8859-1"
	case Windows1252:
		return "windows-1252"
	}
	return "Encoding(" + strconv.Itoa(int(e)) + ")"
}

func (e Encoding) valid() bool { return e >= UTF8 && e <= Windows1252 }

// ParseEncoding returns the encoding with the given name, ignoring case:
// "utf-8", "utf8"; "iso-8859-1", "latin1", "latin-1", "l1"; "windows-1252",
// "cp1252", "win1252", "1252". The error does not repeat the name.
func ParseEncoding(name string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "utf-8", "utf8":
		return UTF8, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1":
		return Latin1, nil
	case "windows-1252", "windows1252", "cp1252", "win1252", "1252":
		return Windows1252, nil
	}
	return 0, errInvalidEncoding
}

// cp1252 holds, for each byte 0x80..0xFF, its UTF-8 encoding in Windows-1252
// (n == 0: undefined).
var cp1252 [128]struct {
	n uint8
	b [3]byte
}

func init() {
	for i := range cp1252 {
		r := charmap.Windows1252.DecodeByte(byte(0x80 + i))
		if r == utf8.RuneError {
			continue
		}
		n := utf8.EncodeRune(cp1252[i].b[:], r)
		cp1252[i].n = uint8(n)
	}
}

// isASCII reports whether b holds only bytes below 0x80.
func isASCII(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// appendDecoded appends b, in encoding enc (Latin1 or Windows1252), to dst as
// UTF-8. It returns the index in b of the first undefined byte, or -1.
func appendDecoded(dst, b []byte, enc Encoding) ([]byte, int) {
	for i, c := range b {
		switch {
		case c < 0x80:
			dst = append(dst, c)
		case enc == Latin1:
			dst = append(dst, 0xC0|c>>6, 0x80|c&0x3F)
		default:
			e := &cp1252[c-0x80]
			if e.n == 0 {
				return dst, i
			}
			dst = append(dst, e.b[:e.n]...)
		}
	}
	return dst, -1
}

// firstUndefined returns the index of the first byte of b that enc does not
// define, or -1.
func firstUndefined(b []byte, enc Encoding) int {
	switch enc {
	case UTF8:
		for i := 0; i < len(b); {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				return i
			}
			i += n
		}
	case Windows1252:
		for i, c := range b {
			if c >= 0x80 && cp1252[c-0x80].n == 0 {
				return i
			}
		}
	}
	return -1
}

// encodeRune returns the byte for r (>= 0x80) in enc (Latin1 or
// Windows1252).
func encodeRune(r rune, enc Encoding) (byte, bool) {
	if enc == Latin1 {
		return byte(r), r <= 0xFF
	}
	return charmap.Windows1252.EncodeRune(r)
}
