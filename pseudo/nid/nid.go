package nid

import "time"

// Kind is the type of an identity number.
type Kind uint8

// The kinds of identity number. The zero Kind, NoKind, is the kind of the
// zero Number.
const (
	// NoKind is the kind of the zero Number (no valid number).
	NoKind Kind = iota
	// FNR is a fødselsnummer: first digit 0-3, month without offset or with
	// the Test-Norge offset (+ 80).
	FNR
	// DNumber is a D-number: first digit 4-7 (day + 40). The month may carry
	// + 40 (see HOrNAV) or + 80 (TestNorge).
	DNumber
	// HNumber is a number with month + 40 and no day offset: an H-number
	// (help number of the health services) or a NAV synthetic (Dolly)
	// number; Synthetic() reports HOrNAV for all of them.
	HNumber
	// FHNumber is a felles hjelpenummer: first digit 8 or 9, no date.
	FHNumber
)

var kindTokens = [...]string{
	NoKind:   "none",
	FNR:      "fnr",
	DNumber:  "dnr",
	HNumber:  "hnr",
	FHNumber: "fhnr",
}

var kindDescriptions = [...]string{
	NoKind:   "no valid number",
	FNR:      "fødselsnummer",
	DNumber:  "D-number",
	HNumber:  "H-number or NAV synthetic number",
	FHNumber: "FH-number (felles hjelpenummer)",
}

// String returns a stable lower-case token: "fnr", "dnr", "hnr", "fhnr", or
// "none" for NoKind.
func (k Kind) String() string {
	if int(k) < len(kindTokens) {
		return kindTokens[k]
	}
	return "unknown"
}

// Description returns a short English description of the kind, e.g.
// "D-number".
func (k Kind) Description() string {
	if int(k) < len(kindDescriptions) {
		return kindDescriptions[k]
	}
	return "unknown"
}

// Synth tells whether a number is marked as synthetic (a test number).
type Synth uint8

// The synthetic markers, taken from the month digits.
const (
	// NotSynthetic: the month carries no offset (or the number is an
	// FH-number, which encodes no month).
	NotSynthetic Synth = iota
	// HOrNAV: the month carries + 40. This is an H-number or a NAV synthetic
	// (Dolly) number; the digits cannot tell which, so the number may belong
	// to a real person.
	HOrNAV
	// TestNorge: the month carries + 80, the marker of Skatteetaten's
	// Test-Norge synthetic population. Such a number never belongs to a real
	// person.
	TestNorge
)

var synthTokens = [...]string{
	NotSynthetic: "none",
	HOrNAV:       "h-or-nav",
	TestNorge:    "test-norge",
}

var synthDescriptions = [...]string{
	NotSynthetic: "not synthetic",
	HOrNAV:       "H-number or NAV synthetic (month + 40)",
	TestNorge:    "Test-Norge synthetic (month + 80)",
}

// String returns a stable lower-case token: "none", "h-or-nav" or
// "test-norge".
func (s Synth) String() string {
	if int(s) < len(synthTokens) {
		return synthTokens[s]
	}
	return "unknown"
}

// Description returns a short English description, e.g. "H-number or NAV
// synthetic (month + 40)".
func (s Synth) Description() string {
	if int(s) < len(synthDescriptions) {
		return synthDescriptions[s]
	}
	return "unknown"
}

const (
	flagRule2032 = 1 << iota
	flagZeroRestored
)

// Number is a valid identity number. The zero Number is not valid (Kind
// NoKind, String ""). Numbers are comparable with ==; two Numbers parsed from
// the same digits are equal unless one of them had its leading zero restored.
type Number struct {
	lo    uint64 // digit values 0-9 of digits 1-8, digit i in byte i-1
	hi    uint32 // digit values of digits 9-11 in bytes 0-2
	kind  Kind
	synth Synth
	flags uint8
	month uint8  // 1-12, 0 if no date (FH-number)
	day   uint8  // 1-31, 0 if no date
	year  uint16 // full year, 0 if the century is unknown
}

// String returns the canonical form: eleven ASCII digits, or "" for the zero
// Number.
func (n Number) String() string {
	if n.kind == NoKind {
		return ""
	}
	var b [11]byte
	n.fill(&b)
	return string(b[:])
}

// Append appends the canonical eleven digits to dst and returns the extended
// slice (nothing for the zero Number). It does not allocate when dst has room.
func (n Number) Append(dst []byte) []byte {
	if n.kind == NoKind {
		return dst
	}
	var b [11]byte
	n.fill(&b)
	return append(dst, b[:]...)
}

// fill writes the eleven ASCII digits of n to b.
func (n Number) fill(b *[11]byte) {
	lo := n.lo | 0x3030303030303030
	hi := n.hi | 0x303030
	for i := range 8 {
		b[i] = byte(lo >> (8 * i))
	}
	b[8], b[9], b[10] = byte(hi), byte(hi>>8), byte(hi>>16)
}

// digit returns the value of digit i (0-10).
func (n Number) digit(i int) uint8 {
	if i < 8 {
		return uint8(n.lo >> (8 * i))
	}
	return uint8(n.hi >> (8 * (i - 8)))
}

// IsZero reports whether n is the zero Number.
func (n Number) IsZero() bool { return n.kind == NoKind }

// Kind returns the kind of number.
func (n Number) Kind() Kind { return n.kind }

// Synthetic returns the synthetic marker of the number.
func (n Number) Synthetic() Synth { return n.synth }

// Rule2032 reports whether the number is valid only under the check-digit
// rule for numbers issued from 2032 (first check digit with remainder 1, 2
// or 3). Such numbers do not encode the century, so BirthDate reports none.
func (n Number) Rule2032() bool { return n.flags&flagRule2032 != 0 }

// ZeroRestored reports whether the number was parsed from ten digits and a
// lost leading zero was restored (Parser.RestoreLeadingZero).
func (n Number) ZeroRestored() bool { return n.flags&flagZeroRestored != 0 }

// BirthDate returns the birth date (midnight UTC) encoded in the number, with
// the D-number, H-number and synthetic offsets removed. It reports false for
// FH-numbers, for numbers valid only under the 2032 rule, and where the
// individual number does not define the century.
func (n Number) BirthDate() (time.Time, bool) {
	if n.year == 0 {
		return time.Time{}, false
	}
	return time.Date(int(n.year), time.Month(n.month), int(n.day), 0, 0, 0, 0, time.UTC), true
}

// Parser parses identity numbers. Its zero value (and a nil *Parser) uses
// the defaults; set fields to change them, in the style of encoding/csv.
// A Parser is not modified by parsing and may be shared between goroutines.
type Parser struct {
	// RestoreLeadingZero makes ten-digit input acceptable when prepending a
	// zero gives a valid number; the Number then reports ZeroRestored. By
	// default ten digits are an error with reason ErrLeadingZero.
	RestoreLeadingZero bool
}

// Parse parses s with the default Parser. See Parser.Parse.
func Parse(s string) (Number, error) { return parse[string](nil, s) }

// ParseBytes parses b with the default Parser. See Parser.ParseBytes.
func ParseBytes(b []byte) (Number, error) { return parse[[]byte](nil, b) }

// Valid reports whether s is a valid identity number under the default Parser.
func Valid(s string) bool {
	_, err := parse[string](nil, s)
	return err == nil
}

// Parse parses an identity number. It accepts surrounding blanks, spaces
// between digits and at most one dash or dot between digits. The error, if
// any, is an *Error. Parse does not allocate.
func (p *Parser) Parse(s string) (Number, error) { return parse(p, s) }

// ParseBytes is like Parse for a byte slice, for hot loops over raw records.
// It does not allocate and does not retain b.
func (p *Parser) ParseBytes(b []byte) (Number, error) { return parse(p, b) }

// parse is the common implementation for strings and byte slices.
func parse[T string | []byte](p *Parser, s T) (Number, error) {
	// Fast path: exactly eleven ASCII digits, tested eight and three at a
	// time (SWAR): every byte must be 0x3X with X+6 not carrying, i.e. X <= 9.
	if len(s) == 11 {
		_ = s[10]
		lo := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		hi := uint32(s[8]) | uint32(s[9])<<8 | uint32(s[10])<<16 | 0x30<<24
		if lo&0xF0F0F0F0F0F0F0F0 == 0x3030303030303030 &&
			(lo+0x0606060606060606)&0xF0F0F0F0F0F0F0F0 == 0x3030303030303030 &&
			hi&0xF0F0F0F0 == 0x30303030 && (hi+0x06060606)&0xF0F0F0F0 == 0x30303030 {
			return check(lo&0x0F0F0F0F0F0F0F0F, hi&0x0F0F0F)
		}
	}
	return parseSlow(p, s)
}

// parseSlow handles blanks, separators, wrong lengths and lost leading zeros.
func parseSlow[T string | []byte](p *Parser, s T) (Number, error) {
	start, end := 0, len(s)
	for start < end {
		w := blankAt(s, start, true)
		if w == 0 {
			break
		}
		start += w
	}
	for end > start {
		w := blankBefore(s, end)
		if w == 0 {
			break
		}
		end -= w
	}
	if start == end {
		return Number{}, errEmpty
	}

	var d [11]byte
	n := 0
	seps := 0
	lastSep := false
	for i := start; i < end; {
		c := s[i]
		if v := c - '0'; v <= 9 {
			if n < len(d) {
				d[n] = v
			}
			n++
			lastSep = false
			i++
			continue
		}
		if c == '-' || c == '.' {
			if seps > 0 {
				return Number{}, errSeparators
			}
			if n == 0 {
				return Number{}, errSeparatorPlace
			}
			seps++
			lastSep = true
			i++
			continue
		}
		if w := blankAt(s, i, false); w > 0 {
			i += w
			continue
		}
		return Number{}, errCharacter
	}
	if lastSep {
		return Number{}, errSeparatorPlace
	}

	switch {
	case n == 11:
		return check(pack(&d))
	case n == 10:
		copy(d[1:], d[:10])
		d[0] = 0
		num, err := check(pack(&d))
		if err != nil {
			return Number{}, errZeroNotFixable
		}
		if p == nil || !p.RestoreLeadingZero {
			return Number{}, errZeroFixable
		}
		num.flags |= flagZeroRestored
		return num, nil
	case n < 10:
		return Number{}, errTooFew
	default:
		return Number{}, errTooMany
	}
}

// blankAt returns the byte width of the blank at s[i], or 0. Outer blanks
// (trimmed around the number) are ASCII white space, U+00A0, U+202F and
// U+FEFF; inner blanks are the space, U+00A0 and U+202F.
func blankAt[T string | []byte](s T, i int, outer bool) int {
	switch s[i] {
	case ' ':
		return 1
	case '\t', '\n', '\v', '\f', '\r':
		if outer {
			return 1
		}
	case 0xC2: // U+00A0 NO-BREAK SPACE
		if i+1 < len(s) && s[i+1] == 0xA0 {
			return 2
		}
	case 0xE2: // U+202F NARROW NO-BREAK SPACE
		if i+2 < len(s) && s[i+1] == 0x80 && s[i+2] == 0xAF {
			return 3
		}
	case 0xEF: // U+FEFF BYTE ORDER MARK
		if outer && i+2 < len(s) && s[i+1] == 0xBB && s[i+2] == 0xBF {
			return 3
		}
	}
	return 0
}

// blankBefore returns the byte width of the outer blank ending at s[end-1],
// or 0.
func blankBefore[T string | []byte](s T, end int) int {
	switch s[end-1] {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return 1
	case 0xA0:
		if end >= 2 && s[end-2] == 0xC2 {
			return 2
		}
	case 0xAF:
		if end >= 3 && s[end-3] == 0xE2 && s[end-2] == 0x80 {
			return 3
		}
	case 0xBF:
		if end >= 3 && s[end-3] == 0xEF && s[end-2] == 0xBB {
			return 3
		}
	}
	return 0
}

// daysIn is the number of days per month in a leap year.
var daysIn = [13]uint8{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// pack packs eleven digit values into the representation of Number.
func pack(d *[11]byte) (lo uint64, hi uint32) {
	for i := range 8 {
		lo |= uint64(d[i]) << (8 * i)
	}
	return lo, uint32(d[8]) | uint32(d[9])<<8 | uint32(d[10])<<16
}

// check validates eleven digit values, packed as in Number, and returns the
// Number. Everything stays in registers.
func check(lo uint64, hi uint32) (Number, error) {
	d0, d1, d2, d3 := uint(lo&0xFF), uint(lo>>8&0xFF), uint(lo>>16&0xFF), uint(lo>>24&0xFF)
	d4, d5, d6, d7 := uint(lo>>32&0xFF), uint(lo>>40&0xFF), uint(lo>>48&0xFF), uint(lo>>56)
	d8, d9, d10 := uint(hi&0xFF), uint(hi>>8&0xFF), uint(hi>>16&0xFF)

	s1 := 3*d0 + 7*d1 + 6*d2 + 1*d3 + 8*d4 + 9*d5 + 4*d6 + 5*d7 + 2*d8
	r1 := (s1 + d9) % 11
	if r1 > 3 {
		return Number{}, errCheck1
	}
	s2 := 5*d0 + 4*d1 + 3*d2 + 2*d3 + 7*d4 + 6*d5 + 5*d6 + 4*d7 + 3*d8 + 2*d9
	if (s2+d10)%11 != 0 {
		if r1 != 0 {
			return Number{}, errCheckAny
		}
		return Number{}, errCheck2
	}

	n := Number{lo: lo, hi: hi}
	if r1 != 0 {
		n.flags = flagRule2032
	}

	// Day and kind.
	var day uint
	switch {
	case d0 >= 8:
		n.kind = FHNumber
		return n, nil
	case d0 >= 4:
		n.kind = DNumber
		day = (d0-4)*10 + d1
	default:
		n.kind = FNR
		day = d0*10 + d1
	}

	// Month and synthetic marker.
	var month uint
	switch d2 {
	case 0, 1:
		month = d2*10 + d3
	case 4, 5:
		month = (d2-4)*10 + d3
		n.synth = HOrNAV
		if n.kind == FNR {
			n.kind = HNumber
		}
	case 8, 9:
		month = (d2-8)*10 + d3
		n.synth = TestNorge
	default:
		return Number{}, errMonth
	}
	if month == 0 || month > 12 {
		return Number{}, errMonth
	}
	if day == 0 || day > uint(daysIn[month]) {
		return Number{}, errDay
	}

	yy := d4*10 + d5
	var year uint
	if r1 == 0 {
		year = century(d6*100+d7*10+d8, yy)
	}
	if month == 2 && day == 29 {
		leap := yy%4 == 0 // any century possible: 2000 is a leap year
		if year != 0 {
			leap = year%4 == 0 && (year%100 != 0 || year%400 == 0)
		}
		if !leap {
			return Number{}, errLeapYear
		}
	}
	n.day, n.month = uint8(day), uint8(month)
	n.year = uint16(year)
	return n, nil
}

// century returns the full year for the individual number ind and the
// two-digit year yy under the classic series, or 0 where they do not define
// the century.
func century(ind, yy uint) uint {
	switch {
	case ind < 500:
		return 1900 + yy
	case ind < 750 && yy >= 54:
		return 1800 + yy
	case yy < 40:
		return 2000 + yy
	case ind >= 900:
		return 1900 + yy
	}
	return 0
}
