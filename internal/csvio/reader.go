package csvio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"unicode/utf8"
)

// Limits.
const (
	// DefaultMaxFieldBytes is the default for Reader.MaxFieldBytes.
	DefaultMaxFieldBytes = 64 << 20
	// DefaultMaxRecordBytes is the default for Reader.MaxRecordBytes.
	DefaultMaxRecordBytes = 128 << 20
	// maxFields bounds the number of fields of one record.
	maxFields = 1 << 20
	// bufSize is the initial size of the read buffer.
	bufSize = 64 << 10
	// detectBytes bounds the part of a very long header line used to
	// detect the delimiter.
	detectBytes = 1 << 20
)

// Record is one record of a CSV file.
//
// The Record returned by [Reader.Read], and the byte slices it refers to,
// are only valid until the next call to Read: they point into the reader's
// buffers. Copy what you keep (see [Record.Clone]). Each field slice has its
// capacity capped at its length, so appending to one does not overwrite
// another.
type Record struct {
	// Fields are the field values, unquoted and decoded to UTF-8.
	Fields [][]byte
	// Raw holds the exact bytes of the record in the input, in the input's
	// encoding, including its line ending (which the final record of the
	// input may lack). The header's Raw does not include a BOM.
	Raw []byte
	// Line is the 1-based line on which the record starts (a BOM does not
	// count).
	Line int
	// Row is the record number: the header is row 0, the first data record
	// row 1.
	Row int
}

// Clone returns a deep copy of rec that stays valid after the next Read.
func (rec *Record) Clone() *Record {
	n := len(rec.Raw)
	for _, f := range rec.Fields {
		n += len(f)
	}
	b := make([]byte, 0, n)
	b = append(b, rec.Raw...)
	c := &Record{Raw: b[:len(rec.Raw):len(rec.Raw)], Line: rec.Line, Row: rec.Row, Fields: make([][]byte, len(rec.Fields))}
	for i, f := range rec.Fields {
		s := len(b)
		b = append(b, f...)
		c.Fields[i] = b[s:len(b):len(b)]
	}
	return c
}

// Strings returns the fields as newly allocated strings.
func (rec *Record) Strings() []string {
	s := make([]string, len(rec.Fields))
	for i, f := range rec.Fields {
		s[i] = string(f)
	}
	return s
}

// A Reader reads records from a CSV file; see the package documentation for
// the format. Set its exported fields before the first call to Read.
//
// After an error other than io.EOF and [ErrFieldCount], every further call to
// Read returns the same error: the input cannot be trusted past a syntax
// error. A record with the wrong number of fields is returned together with
// its ErrFieldCount error, and reading can go on.
type Reader struct {
	// Comma is the field delimiter. 0 (the default) means detect it from
	// the header line (its first MiB): the one of ',', ';', '\t' and '|'
	// that occurs most often outside quotes (',' when none occurs; on a tie
	// the first in that order). Otherwise it must be an ASCII byte other
	// than '"', CR and LF.
	Comma byte
	// Encoding is the character encoding of the input (default UTF8).
	// Fields are decoded to UTF-8; Raw stays in the input's encoding.
	Encoding Encoding
	// FieldsPerRecord is the number of fields each record must have. 0 (the
	// default) means as many as the header; a negative value turns the
	// check off.
	FieldsPerRecord int
	// MaxFieldBytes limits the length of a field in the input, quotes
	// included; 0 means DefaultMaxFieldBytes (64 MiB). A longer field is an
	// ErrFieldTooLong ParseError; the reader never buffers much more.
	MaxFieldBytes int
	// MaxRecordBytes limits the length of a record in the input, line ending
	// included; 0 means DefaultMaxRecordBytes (128 MiB) or MaxFieldBytes if
	// larger. A longer record is an ErrRecordTooLong ParseError.
	MaxRecordBytes int
	// File names the input in errors (optional).
	File string

	src     io.Reader
	buf     []byte // read buffer; buf[pos:end] is unread input
	pos     int
	end     int
	eof     bool  // src is exhausted
	rerr    error // error from src
	err     error
	started bool

	comma     byte
	maxField  int
	maxRecord int
	want      int // required field count; <0 no check
	dialect   Dialect
	line      int   // line of the next record
	row       int   // row of the next record
	offset    int64 // input bytes consumed
	notBlank  int64 // offset of a byte other than CR and LF ahead, if > offset
	trailer   []byte

	rec      Record
	fieldBuf []byte  // unquoted values of quoted fields with doubled quotes
	decBuf   []byte  // decoded values (Latin-1, Windows-1252)
	fixups   []fixup // fields that live in fieldBuf or decBuf
	ascii    bool    // the record just parsed is all ASCII
	bufInit  int     // initial buffer size if > 0 (tests)
}

// fixup says that field i is buf[start:end] of fieldBuf or decBuf, whose
// final address is known only once the record is complete.
type fixup struct{ i, start, end int }

// NewReader returns a Reader reading from r. It buffers its input.
func NewReader(r io.Reader) *Reader {
	return &Reader{src: r}
}

// Dialect returns the dialect of the input: Comma as given or detected, BOM
// and CRLF as found, Encoding as configured. It is valid after the first
// call to Read (CRLF once the header has been read).
func (r *Reader) Dialect() Dialect { return r.dialect }

// InputOffset returns the number of input bytes consumed so far, BOM
// included (useful for progress reports).
func (r *Reader) InputOffset() int64 { return r.offset }

// Trailer returns the bytes after the last record that are not a record:
// trailing empty lines, only CR and LF bytes. It is valid once Read has
// returned io.EOF.
func (r *Reader) Trailer() []byte { return r.trailer }

// ReadHeader reads the first record, checks it with [Reader.CheckHeader] and
// returns the column names. It must be the first call on r. Use Read and
// CheckHeader instead if you need the header's Raw bytes.
func (r *Reader) ReadHeader() ([]string, error) {
	if r.started && (r.row != 0 || r.err != nil) {
		if r.err != nil {
			return nil, r.err
		}
		return nil, errors.New("csvio: ReadHeader called after the header was read")
	}
	rec, err := r.Read()
	if err != nil {
		if err == io.EOF {
			err = &ParseError{File: r.File, Err: ErrEmpty}
		}
		return nil, err
	}
	return r.CheckHeader(rec)
}

// CheckHeader checks that the header record rec (row 0, from Read) has no
// empty or white-space-only column names and no two equal ones (compared
// byte for byte), and returns the names. An error is a [ParseError] for the
// second of two equal columns ([ErrDuplicateColumnName], with the message
// naming the column number of the first) or for an empty one
// ([ErrEmptyColumnName]); it names column numbers, never names.
func (r *Reader) CheckHeader(rec *Record) ([]string, error) {
	names := make([]string, len(rec.Fields))
	seen := make(map[string]int, len(rec.Fields))
	for i, f := range rec.Fields {
		name := string(f)
		if strings.TrimSpace(name) == "" {
			return nil, &ParseError{File: r.File, Row: rec.Row, Line: rec.Line, Column: i + 1, Err: ErrEmptyColumnName}
		}
		if j, ok := seen[name]; ok {
			return nil, &ParseError{File: r.File, Row: rec.Row, Line: rec.Line, Column: i + 1,
				Err: fmt.Errorf("%w (same as column %d)", ErrDuplicateColumnName, j+1)}
		}
		seen[name] = i
		names[i] = name
	}
	return names, nil
}

// Read returns the next record; the first is the header. At the end of the
// input it returns io.EOF. The record is only valid until the next call.
// Errors are *ParseError values (or errors of the underlying reader, or a
// configuration error). With an ErrFieldCount error Read also returns the
// record.
func (r *Reader) Read() (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	if !r.started {
		if err := r.start(); err != nil {
			r.err = err
			return nil, err
		}
	}
	for {
		data := r.buf[r.pos:r.end]
		if len(data) == 0 {
			if r.eof {
				return nil, r.atEOF()
			}
			if err := r.fill(); err != nil {
				r.err = err
				return nil, err
			}
			continue
		}
		if c := data[0]; (c == '\n' || c == '\r') && r.offset >= r.notBlank {
			// Trailing empty lines are not records.
			i := indexNotCRLF(data)
			if i >= 0 {
				// Remember where the run ends, so that reading the run
				// line by line does not scan it again and again.
				r.notBlank = r.offset + int64(i)
			} else {
				if r.eof {
					r.trailer = data
					r.pos, r.offset = r.end, r.offset+int64(len(data))
					return nil, r.atEOF()
				}
				if len(data) <= r.maxRecord {
					if err := r.fill(); err != nil {
						r.err = err
						return nil, err
					}
					continue
				}
				// Too long a run to look past: read it as records.
				r.notBlank = r.offset + int64(len(data))
			}
		}
		n, lines, err := r.parseRecord(data)
		if err == errNeedMore {
			if err := r.fill(); err != nil {
				r.err = err
				return nil, err
			}
			continue
		}
		if err != nil {
			r.err = err
			return nil, err
		}
		raw := data[:n:n]
		if err := r.decode(raw); err != nil {
			r.err = err
			return nil, err
		}
		rec := &r.rec
		rec.Raw = raw
		rec.Line = r.line
		rec.Row = r.row
		r.pos += n
		r.offset += int64(n)
		r.line += lines
		r.row++
		if rec.Row == 0 {
			r.dialect.CRLF = bytes.HasSuffix(raw, []byte("\r\n"))
			if r.want == 0 {
				r.want = len(rec.Fields)
			}
		}
		if r.want > 0 && len(rec.Fields) != r.want {
			e := fmt.Errorf("%w: got %d, want %d", ErrFieldCount, len(rec.Fields), r.want)
			if indexNotCRLF(raw) < 0 {
				e = fmt.Errorf("%w: got %d, want %d (the line is empty)", ErrFieldCount, len(rec.Fields), r.want)
			}
			return rec, &ParseError{File: r.File, Row: rec.Row, Line: rec.Line, Err: e}
		}
		return rec, nil
	}
}

// atEOF sets and returns the error for the end of the input: io.EOF, or
// ErrEmpty if there was no header.
func (r *Reader) atEOF() error {
	r.err = io.EOF
	if r.row == 0 {
		r.err = &ParseError{File: r.File, Err: ErrEmpty}
	}
	return r.err
}

// start checks the configuration, reads the first block, strips a BOM and
// detects the delimiter.
func (r *Reader) start() error {
	r.started = true
	r.line = 1
	if !r.Encoding.valid() {
		return errInvalidEncoding
	}
	if r.Comma != 0 && !validComma(r.Comma) {
		return errInvalidComma
	}
	r.maxField = r.MaxFieldBytes
	if r.maxField <= 0 {
		r.maxField = DefaultMaxFieldBytes
	}
	r.maxRecord = r.MaxRecordBytes
	if r.maxRecord <= 0 {
		r.maxRecord = max(DefaultMaxRecordBytes, r.maxField)
	}
	r.want = r.FieldsPerRecord
	r.dialect.Encoding = r.Encoding
	for r.end-r.pos < len(bom) && !r.eof {
		if err := r.fill(); err != nil {
			return err
		}
	}
	if bytes.HasPrefix(r.buf[r.pos:r.end], bom) {
		if r.Encoding != UTF8 {
			return &ParseError{File: r.File, Row: 0, Line: 1, Err: wrapHint(ErrEncoding,
				"the file starts with a UTF-8 byte order mark but encoding "+r.Encoding.String()+" was requested")}
		}
		r.dialect.BOM = true
		r.pos += len(bom)
		r.offset += int64(len(bom))
	}
	r.comma = r.Comma
	if r.comma == 0 {
		for {
			c, end := detectComma(r.buf[r.pos:r.end])
			if end >= 0 || r.eof || r.end-r.pos > min(r.maxRecord, detectBytes) {
				r.comma = c
				break
			}
			if err := r.fill(); err != nil {
				return err
			}
		}
	}
	r.dialect.Comma = r.comma
	return nil
}

func validComma(c byte) bool {
	return c != 0 && c < utf8.RuneSelf && c != '"' && c != '\r' && c != '\n'
}

// indexNotCRLF returns the index of the first byte of b that is neither CR
// nor LF, or -1.
func indexNotCRLF(b []byte) int {
	for i, c := range b {
		if c != '\r' && c != '\n' {
			return i
		}
	}
	return -1
}

// fill makes room in the buffer (moving the unread input to its start and,
// if it is full, growing it up to the record limit) and reads until the
// buffer is full or the input ends. Reading until full keeps rescanning a
// long record after each refill linear overall.
func (r *Reader) fill() error {
	if r.rerr != nil {
		return r.rerr
	}
	if r.eof {
		return nil
	}
	if r.pos > 0 {
		r.end = copy(r.buf, r.buf[r.pos:r.end])
		r.pos = 0
	}
	if r.end == len(r.buf) {
		initial := bufSize
		if r.bufInit > 0 {
			initial = r.bufInit
		}
		size := max(2*len(r.buf), initial)
		if limit := r.maxRecord + 1; size > limit {
			size = max(limit, len(r.buf)+1, initial)
		}
		nb := make([]byte, size)
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	for empty, start := 0, r.end; r.end < len(r.buf); {
		n, err := r.src.Read(r.buf[r.end:])
		if n < 0 || n > len(r.buf)-r.end {
			return errors.New("csvio: invalid count from Read")
		}
		r.end += n
		if err == io.EOF {
			r.eof = true
			return nil
		}
		if err != nil {
			// Return the error once the records read so far are used up.
			r.rerr = err
			if r.end > start {
				return nil
			}
			return err
		}
		if n == 0 {
			if empty++; empty >= 100 {
				return io.ErrNoProgress
			}
		}
	}
	return nil
}

// errAt returns a ParseError for the record starting at data[0], located at
// data[off].
func (r *Reader) errAt(data []byte, off, column int, err error) *ParseError {
	return &ParseError{File: r.File, Row: r.row, Line: r.line + bytes.Count(data[:off], nl), Column: column, Err: err}
}

var nl = []byte{'\n'}

// parseRecord parses the record at the start of data into r.rec.Fields and
// returns its length in bytes and its number of LF bytes. It returns
// errNeedMore if data does not hold the whole record and more input may
// come.
func (r *Reader) parseRecord(data []byte) (n, lines int, err error) {
	// Fast path: a record on one line without quotes, scanned eight bytes
	// at a time for LF, '"', the delimiter and non-ASCII bytes.
	fields := r.rec.Fields[:0]
	comma := r.comma
	bc := ones * uint64(comma)
	start := 0 // start of the current field
	end := -1  // index of the LF
	var hi uint64
	i := 0
	for ; i+8 <= len(data); i += 8 {
		v := binary.LittleEndian.Uint64(data[i:])
		mc := zeroBytes(v ^ bc)
		stop := zeroBytes(v^(ones*'\n')) | zeroBytes(v^(ones*'"'))
		if stop != 0 {
			first := bits.TrailingZeros64(stop) // bit 7 of the byte
			if data[i+first/8] == '"' {
				return r.parseSlow(data)
			}
			below := uint64(1)<<first - 1
			mc &= below
			hi |= v & below
			end = i + first/8
		} else {
			hi |= v
		}
		for mc != 0 {
			p := i + bits.TrailingZeros64(mc)/8
			fields = append(fields, data[start:p:p])
			start = p + 1
			mc &= mc - 1
		}
		if end >= 0 {
			break
		}
		if len(fields) > maxFields {
			return 0, 0, r.errAt(data, 0, 0, tooManyFields)
		}
	}
	if end < 0 {
		for ; i < len(data); i++ {
			c := data[i]
			if c == comma {
				fields = append(fields, data[start:i:i])
				start = i + 1
			} else if c == '\n' {
				end = i
				break
			} else if c == '"' {
				return r.parseSlow(data)
			} else {
				hi |= uint64(c)
			}
		}
	}
	if end >= 0 {
		n, lines = end+1, 1
	} else if !r.eof {
		return r.parseSlow(data)
	} else {
		end, n = len(data), len(data)
	}
	fields = append(fields, trimCR(data[start:end]))
	r.rec.Fields = fields
	r.fixups = r.fixups[:0]
	r.ascii = hi&hi1 == 0
	if len(fields) > maxFields {
		return 0, 0, r.errAt(data, 0, 0, tooManyFields)
	}
	if n > r.maxField || n > r.maxRecord {
		for i, f := range fields {
			if len(f) > r.maxField {
				return 0, 0, r.errAt(data, 0, i+1, ErrFieldTooLong)
			}
		}
		if n > r.maxRecord {
			return 0, 0, r.errAt(data, 0, 0, ErrRecordTooLong)
		}
	}
	return n, lines, nil
}

// SWAR constants.
const (
	ones = 0x0101010101010101
	lo7  = 0x7F7F7F7F7F7F7F7F
	hi1  = 0x8080808080808080
)

// zeroBytes returns v with 0x80 in each byte that is zero in v and 0 in the
// others.
func zeroBytes(v uint64) uint64 { return ^((v&lo7 + lo7) | v | lo7) }

var (
	tooManyFields = wrapHint(ErrRecordTooLong, "more than 1048576 fields")
	errLongQuoted = wrapHint(ErrFieldTooLong, "a quoted field that is never closed?")
)

// parseSlow is the general parser, for records with quotes and for records
// that may not be complete in data.
func (r *Reader) parseSlow(data []byte) (n, lines int, err error) {
	comma := r.comma
	fields := r.rec.Fields[:0]
	r.fieldBuf = r.fieldBuf[:0]
	r.fixups = r.fixups[:0]
	r.ascii = false
	atEOF := r.eof
	// needMore checks the limits on a record that continues past data,
	// whose last field starts at start.
	// A quoted field of fieldLen bytes so far may be too long already.
	needMore := func(start, col, fieldLen int) (int, int, error) {
		if fieldLen > r.maxField {
			var e error = ErrFieldTooLong
			if bytes.IndexByte(data[start+1:], '"') < 0 {
				e = errLongQuoted
			}
			return 0, 0, r.errAt(data, start, col, e)
		}
		if len(data) > r.maxRecord {
			return 0, 0, r.errAt(data, 0, 0, ErrRecordTooLong)
		}
		return 0, 0, errNeedMore
	}
	p := 0
fieldLoop:
	for {
		col := len(fields) + 1
		if col > maxFields {
			return 0, 0, r.errAt(data, 0, 0, tooManyFields)
		}
		start := p
		if p < len(data) && data[p] == '"' {
			// Quoted field.
			q := p + 1   // scan position
			seg := q     // start of the value part not yet copied
			copied := -1 // start of the value in fieldBuf, if copied
			for {
				j := bytes.IndexByte(data[q:], '"')
				if j < 0 {
					if atEOF && len(data)-start <= r.maxField {
						return 0, 0, r.errAt(data, start, col, errUnclosed)
					}
					return needMore(start, col, len(data)-start)
				}
				q += j // closing or first of two quotes
				if q+1 == len(data) && !atEOF {
					return needMore(start, col, q+1-start)
				}
				if q+1 < len(data) && data[q+1] == '"' {
					if copied < 0 {
						copied = len(r.fieldBuf)
					}
					r.fieldBuf = append(r.fieldBuf, data[seg:q+1]...)
					q += 2
					seg = q
					continue
				}
				break
			}
			// data[q] is the closing quote.
			if q+1-start > r.maxField {
				return 0, 0, r.errAt(data, start, col, ErrFieldTooLong)
			}
			switch {
			case q+1 == len(data): // end of input
				n = q + 1
			case data[q+1] == comma:
				p = q + 2
			case data[q+1] == '\n':
				n = q + 2
			case data[q+1] == '\r' && q+2 < len(data):
				if data[q+2] != '\n' {
					return 0, 0, r.errAt(data, q+1, col, ErrQuote)
				}
				n = q + 3
			case data[q+1] == '\r':
				if !atEOF {
					return needMore(start, col, q+1-start)
				}
				n = q + 2
			default:
				return 0, 0, r.errAt(data, q+1, col, ErrQuote)
			}
			if copied >= 0 {
				r.fieldBuf = append(r.fieldBuf, data[seg:q]...)
				r.fixups = append(r.fixups, fixup{len(fields), copied, len(r.fieldBuf)})
				fields = append(fields, nil)
			} else {
				fields = append(fields, data[seg:q:q])
			}
			if n > 0 {
				break fieldLoop
			}
			continue
		}
		// Unquoted field.
		k := p
		for k < len(data) {
			if c := data[k]; c == comma || c == '\n' || c == '"' {
				break
			}
			k++
		}
		v := data[p:k:k]
		if k == len(data) || data[k] == '\n' {
			v = trimCR(v)
		}
		if len(v) > r.maxField {
			return 0, 0, r.errAt(data, start, col, ErrFieldTooLong)
		}
		if k == len(data) {
			if !atEOF {
				return needMore(start, col, 0)
			}
			fields = append(fields, v)
			n = k
			break
		}
		switch data[k] {
		case '"':
			return 0, 0, r.errAt(data, k, col, ErrBareQuote)
		case comma:
			fields = append(fields, v)
			p = k + 1
			continue
		}
		fields = append(fields, v) // '\n'
		n = k + 1
		break
	}
	if n > r.maxRecord {
		return 0, 0, r.errAt(data, 0, 0, ErrRecordTooLong)
	}
	for _, f := range r.fixups {
		fields[f.i] = r.fieldBuf[f.start:f.end:f.end]
	}
	r.rec.Fields = fields
	return n, bytes.Count(data[:n], nl), nil
}

// trimCR removes one trailing CR (the CR of a CRLF, or of a final CR at
// the end of the input).
func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b[:len(b):len(b)]
}

// decode checks the encoding of the record raw (whose fields are in
// r.rec.Fields) and decodes Latin-1 and Windows-1252 fields to UTF-8.
func (r *Reader) decode(raw []byte) error {
	fields := r.rec.Fields
	if r.ascii {
		return nil
	}
	if r.Encoding == UTF8 {
		if utf8.Valid(raw) {
			return nil
		}
		off := firstUndefined(raw, UTF8)
		col := 0
		for i, f := range fields {
			if !utf8.Valid(f) {
				col = i + 1
				break
			}
		}
		return r.errAt(raw, off, col, errInvalidUTF8)
	}
	if isASCII(raw) {
		return nil
	}
	r.decBuf = r.decBuf[:0]
	r.fixups = r.fixups[:0]
	for i, f := range fields {
		if isASCII(f) {
			continue
		}
		start := len(r.decBuf)
		var bad int
		r.decBuf, bad = appendDecoded(r.decBuf, f, r.Encoding)
		if bad >= 0 {
			return r.errAt(raw, firstUndefined(raw, r.Encoding), i+1, errUndefined)
		}
		r.fixups = append(r.fixups, fixup{i, start, len(r.decBuf)})
	}
	for _, f := range r.fixups {
		fields[f.i] = r.decBuf[f.start:f.end:f.end]
	}
	return nil
}
