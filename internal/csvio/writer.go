package csvio

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"unicode/utf8"
)

// writeBufSize is the size of the Writer's buffer.
const writeBufSize = 64 << 10

// A Writer writes records in a [Dialect]. Set Dialect before the first
// write (NewWriter does). Output is buffered: call [Writer.Flush] at the end.
//
// Fields are quoted only when needed: when they contain the delimiter, a
// double quote, CR or LF, when they start with U+FEFF (which a reader would
// take for a BOM), and when a record is one empty field (so that it is not
// an empty line). Unlike encoding/csv, leading white space is not quoted:
// no reader here trims it, Excel keeps it, and fields that pass through
// must come out byte for byte. A record a Writer refuses (see
// [WriteError]) is not written at all.
type Writer struct {
	// Dialect is the form of the output: delimiter (0 means ','), line
	// ending, a BOM before the first record (only with UTF8; it is ignored
	// for other encodings), and the encoding fields are converted to.
	Dialect Dialect

	w       *bufio.Writer
	started bool // something was written (the BOM, if any, is out)
	needEOL bool // the last WriteRaw lacked a line ending
	lastCR  bool // ... and ended with CR
	row     int  // records written
	comma   byte // comma cls was built for
	cls     [256]uint8
	scratch []byte
}

// Classes of bytes in a field.
const (
	clsQuote    = 1 // forces quoting: delimiter, '"', CR, LF
	clsNonASCII = 2
)

// NewWriter returns a Writer that writes to w in dialect d.
func NewWriter(w io.Writer, d Dialect) *Writer {
	return &Writer{Dialect: d, w: bufio.NewWriterSize(w, writeBufSize)}
}

// prepare validates the dialect and builds the byte classes for its comma.
func (w *Writer) prepare() error {
	c := w.Dialect.Comma
	if c == 0 {
		c = ','
	}
	if !validComma(c) {
		return errInvalidComma
	}
	if !w.Dialect.Encoding.valid() {
		return errInvalidEncoding
	}
	if c != w.comma {
		w.comma = c
		for i := range w.cls {
			w.cls[i] = 0
			if i >= 0x80 {
				w.cls[i] = clsNonASCII
			}
		}
		w.cls[c] = clsQuote
		w.cls['"'] = clsQuote
		w.cls['\r'] = clsQuote
		w.cls['\n'] = clsQuote
	}
	return nil
}

func (w *Writer) eol() string {
	if w.Dialect.CRLF {
		return "\r\n"
	}
	return "\n"
}

// Write writes one record. The fields must be UTF-8; they are converted to
// the dialect's encoding. Invalid UTF-8, or a character the encoding cannot
// represent, is a [WriteError] wrapping [ErrEncoding] that names the column.
func (w *Writer) Write(fields [][]byte) error { return writeRecord(w, fields) }

// WriteString is like Write for string fields.
func (w *Writer) WriteString(fields []string) error { return writeRecord(w, fields) }

func writeRecord[S string | []byte](w *Writer, fields []S) error {
	if err := w.prepare(); err != nil {
		return err
	}
	if len(fields) == 0 {
		return errNoFields
	}
	enc := w.Dialect.Encoding
	b := w.scratch[:0]
	for i, f := range fields {
		if i > 0 {
			b = append(b, w.comma)
		}
		var cls uint8
		for j := 0; j < len(f); j++ {
			cls |= w.cls[f[j]]
		}
		quote := cls&clsQuote != 0 || (len(f) == 0 && len(fields) == 1) || (len(f) > 0 && startsWithBOM(f))
		if quote {
			b = append(b, '"')
		}
		switch {
		case cls&clsNonASCII != 0 && enc != UTF8:
			var ok bool
			if b, ok = appendEncoded(b, f, enc); !ok {
				w.scratch = b
				msg := "invalid UTF-8"
				if validUTF8(f) {
					msg = "character not representable in " + enc.String()
				}
				return &WriteError{Row: w.row, Column: i + 1, Err: wrapHint(ErrEncoding, msg)}
			}
		case cls&clsNonASCII != 0 && !validUTF8(f):
			w.scratch = b
			return &WriteError{Row: w.row, Column: i + 1, Err: wrapHint(ErrEncoding, "invalid UTF-8")}
		case cls&clsQuote != 0:
			for {
				j := indexByte(f, '"')
				if j < 0 {
					break
				}
				b = append(b, f[:j+1]...)
				b = append(b, '"')
				f = f[j+1:]
			}
			b = append(b, f...)
		default:
			b = append(b, f...)
		}
		if quote {
			b = append(b, '"')
		}
	}
	b = append(b, w.eol()...)
	w.scratch = b
	return w.emit(b)
}

// appendEncoded appends UTF-8 f converted to enc (Latin1 or Windows1252),
// doubling double quotes. ok is false if f is not valid UTF-8 or holds a
// character enc cannot represent.
func appendEncoded[S string | []byte](b []byte, f S, enc Encoding) (_ []byte, ok bool) {
	for len(f) > 0 {
		c := f[0]
		if c < utf8.RuneSelf {
			b = append(b, c)
			if c == '"' {
				b = append(b, '"')
			}
			f = f[1:]
			continue
		}
		r, n := decodeRune(f)
		if r == utf8.RuneError && n == 1 {
			return b, false
		}
		e, ok := encodeRune(r, enc)
		if !ok {
			return b, false
		}
		b = append(b, e)
		f = f[n:]
	}
	return b, true
}

// String-or-bytes versions of utf8 and bytes functions.

func decodeRune[S string | []byte](f S) (rune, int) {
	switch v := any(f).(type) {
	case string:
		return utf8.DecodeRuneInString(v)
	case []byte:
		return utf8.DecodeRune(v)
	}
	panic("unreachable")
}

func validUTF8[S string | []byte](f S) bool {
	switch v := any(f).(type) {
	case string:
		return utf8.ValidString(v)
	case []byte:
		return utf8.Valid(v)
	}
	panic("unreachable")
}

func indexByte[S string | []byte](f S, c byte) int {
	switch v := any(f).(type) {
	case string:
		return strings.IndexByte(v, c)
	case []byte:
		return bytes.IndexByte(v, c)
	}
	panic("unreachable")
}

// startsWithBOM reports whether f starts with U+FEFF (which a reader would
// take for a BOM at the start of a file).
func startsWithBOM[S string | []byte](f S) bool {
	if f[0] < utf8.RuneSelf {
		return false
	}
	r, _ := decodeRune(f)
	return r == '\uFEFF'
}

// emit writes a complete encoded record.
func (w *Writer) emit(b []byte) error {
	if !w.started {
		w.started = true
		if w.Dialect.BOM && w.Dialect.Encoding == UTF8 {
			if _, err := w.w.Write(bom); err != nil {
				return err
			}
		}
	}
	if w.needEOL {
		w.needEOL = false
		eol := w.eol()
		if w.lastCR {
			eol = "\n"
		}
		if _, err := w.w.WriteString(eol); err != nil {
			return err
		}
	}
	w.row++
	_, err := w.w.Write(b)
	return err
}

// WriteRaw writes raw, the Raw bytes of a Record read in the same dialect,
// unchanged; Reader.Trailer's bytes may be written the same way. If the
// previous WriteRaw had no line ending (the final record of an input that
// lacked one) and something else is written after it, the line ending is
// added first so that records never run together.
func (w *Writer) WriteRaw(raw []byte) error {
	if err := w.prepare(); err != nil {
		return err
	}
	if len(raw) == 0 {
		return nil
	}
	if err := w.emit(raw); err != nil {
		return err
	}
	w.needEOL = raw[len(raw)-1] != '\n'
	w.lastCR = raw[len(raw)-1] == '\r'
	return nil
}

// Flush writes any buffered data to the underlying writer and returns the
// first error that occurred while writing.
func (w *Writer) Flush() error {
	return w.w.Flush()
}
