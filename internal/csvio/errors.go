package csvio

import (
	"errors"
	"strconv"
	"strings"
)

// Errors wrapped by [ParseError] and [WriteError]; match them with errors.Is.
// Their messages, and those of the errors that wrap them, never contain the
// content of a field.
var (
	// ErrEmpty means the input has no header line (it is empty, or holds
	// only a BOM and empty lines).
	ErrEmpty = errors.New("empty file: no header line")
	// ErrQuote means a quoted field is not closed or its closing quote is
	// followed by something other than the delimiter or a line ending.
	ErrQuote = errors.New(`extraneous or missing " in quoted field`)
	// ErrBareQuote means a double quote appears in an unquoted field.
	ErrBareQuote = errors.New(`bare " in non-quoted field`)
	// ErrFieldCount means a record has a different number of fields than
	// the header. The reader returns the record along with this error and
	// can go on reading.
	ErrFieldCount = errors.New("wrong number of fields")
	// ErrFieldTooLong means a field is longer than Reader.MaxFieldBytes.
	ErrFieldTooLong = errors.New("field too long")
	// ErrRecordTooLong means a record is longer than Reader.MaxRecordBytes
	// or has more than 1<<20 fields.
	ErrRecordTooLong = errors.New("record too long")
	// ErrEncoding means the bytes are not valid in the reader's encoding
	// (for example invalid UTF-8), or a writer cannot represent a field in
	// its encoding.
	ErrEncoding = errors.New("invalid character encoding")
	// ErrEmptyColumnName means a header field is empty or only white space
	// (reported by [Reader.ReadHeader] and [Reader.CheckHeader]).
	ErrEmptyColumnName = errors.New("empty column name")
	// ErrDuplicateColumnName means two header fields are equal (reported by
	// [Reader.ReadHeader] and [Reader.CheckHeader]).
	ErrDuplicateColumnName = errors.New("duplicate column name")
)

// Wrapped forms with hints; they keep the sentinels for errors.Is.
var (
	errInvalidUTF8 = wrapHint(ErrEncoding, "invalid UTF-8 (if the file comes from Excel, try --encoding windows-1252)")
	errUndefined   = wrapHint(ErrEncoding, "byte not defined in Windows-1252 (if the file is UTF-8, try --encoding utf-8)")
	errUnclosed    = wrapHint(ErrQuote, "quoted field never closed")

	errInvalidComma    = errors.New("csvio: invalid delimiter (Comma must be an ASCII byte other than \", CR and LF)")
	errInvalidEncoding = errors.New("csvio: unknown encoding")
	errNoFields        = errors.New("csvio: record has no fields")
	errNeedMore        = errors.New("csvio: need more input") // internal signal, never returned
)

// hintError is a sentinel with an explanation appended; it unwraps to the
// sentinel.
type hintError struct {
	err  error
	hint string
}

func wrapHint(err error, hint string) error { return &hintError{err, hint} }

func (e *hintError) Error() string { return e.err.Error() + ": " + e.hint }
func (e *hintError) Unwrap() error { return e.err }

// ParseError reports where reading failed. Row is the record number (the
// header is row 0), Line the 1-based line where the problem was found and
// Column the 1-based field number (0 when the error concerns the whole
// record). Unlike encoding/csv, Column counts fields, not bytes.
//
// Its message has the form
//
//	participants.csv: row 12 (line 13), column 3: bare " in non-quoted field
//
// and never contains field content.
type ParseError struct {
	File   string // name of the input, from Reader.File (may be empty)
	Row    int    // record number, header = 0
	Line   int    // 1-based line of the error (for ErrFieldCount, of the record's start); 0 if the error concerns the whole file
	Column int    // 1-based field number; 0 if the error concerns the whole record
	Err    error  // the underlying error, one of the Err* values (possibly wrapped)
}

// Error implements error.
func (e *ParseError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Line > 0 {
		if e.Row == 0 {
			b.WriteString("header")
		} else {
			b.WriteString("row ")
			b.WriteString(strconv.Itoa(e.Row))
		}
		b.WriteString(" (line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(")")
		if e.Column > 0 {
			b.WriteString(", column ")
			b.WriteString(strconv.Itoa(e.Column))
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

// WriteError reports a record that a [Writer] refused; nothing of that record
// was written. Row is the number of the record among those written (the
// first one, usually the header, is row 0) and Column the 1-based field
// number. Its message never contains field content.
type WriteError struct {
	Row    int   // records written before this one
	Column int   // 1-based field number
	Err    error // the underlying error, wrapping ErrEncoding
}

// Error implements error.
func (e *WriteError) Error() string {
	return "csvio: writing row " + strconv.Itoa(e.Row) + ", column " + strconv.Itoa(e.Column) + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *WriteError) Unwrap() error { return e.Err }
