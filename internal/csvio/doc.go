// Package csvio reads and writes CSV files the way research datasets arrive:
// exported from Excel, often semicolon-separated, sometimes with a UTF-8 byte
// order mark, CRLF line endings or a legacy encoding (ISO-8859-1,
// Windows-1252).
//
// It differs from encoding/csv in four ways that matter for pseudonymisation:
//
//   - Exactness. Every [Record] carries Raw, the exact input bytes of the
//     record including its line ending, in the input's encoding. Writing the
//     Raw bytes of the records one keeps with [Writer.WriteRaw] reproduces
//     them byte for byte (for example when a participant withdraws and every
//     other row must stay untouched). Field values are never normalised: a
//     CRLF inside a quoted field stays CRLF, spaces are kept.
//   - Speed. A record on one line without quotes is split with a byte-level
//     fast path and its fields point into the read buffer; only quoted fields
//     are unquoted into a separate buffer. The record returned by
//     [Reader.Read] is reused by the next call.
//   - Dialects. [Reader] detects the delimiter from the header line, strips
//     and records a UTF-8 BOM and the line ending, and decodes Latin-1 and
//     Windows-1252 to UTF-8; [Writer] reproduces a [Dialect].
//   - Errors without content. A field may hold a national identity number or
//     a name, so errors ([ParseError], [WriteError]) name the file, the row,
//     the line and the column number, never a value; not even header names
//     are echoed.
//
// # Format
//
// The format is RFC 4180 with these rules:
//
//   - The delimiter (Comma) is one ASCII byte; the default is to detect it.
//     Records end with LF or CRLF. The final record may lack a line ending.
//   - A field that starts with a double quote is quoted: it ends at the next
//     lone double quote, which must be followed by the delimiter, a line
//     ending or the end of the input ([ErrQuote] otherwise). Inside it, a
//     doubled quote stands for one quote and line endings are data. A double
//     quote anywhere in an unquoted field is an error ([ErrBareQuote]).
//   - An unquoted field keeps all its bytes, including spaces and lone
//     carriage returns; only the CR of the record's CRLF is removed.
//   - The first record is the header. By default every later record must
//     have as many fields as the header ([ErrFieldCount]).
//   - An empty line inside the file is a record with one empty field (in a
//     one-column file that is an empty value; otherwise it is reported as
//     ErrFieldCount). Empty lines at the end of the input (bytes that are all
//     CR or LF up to the end) are not records; [Reader.Trailer] returns them.
//   - A UTF-8 BOM at the start is not part of the header's Raw; the
//     [Dialect] records it and a [Writer] writes it once.
//
// So that the input is reproduced exactly:
//
//	BOM (if Dialect().BOM) + Raw of every record, header first + Trailer() == input
package csvio
