package scan

import (
	"github.com/pseudokit/pseudokit/pseudo/nid"
)

// maxDigits bounds the digits of a number candidate: the longest
// identifier, a Swedish personnummer with century or a phone number with
// 0047, has twelve.
const maxDigits = 12

// maxGroups bounds the digit groups of a number candidate.
const maxGroups = 6

// number is a run of digit groups separated by single separators, as found
// in a value or in text: "010190 12345", "+47 912 34 567", "1234.56.78903".
type number struct {
	d      [maxDigits]byte // the digits, as values 0-9
	n      int             // number of digits
	groups [maxGroups]uint8
	seps   [maxGroups]byte // seps[i] is the separator before group i (0 for the first)
	ng     int
	plus   bool // a leading '+'
	// overflow is set when the digits went on beyond maxDigits.
	overflow bool
}

// sepOK reports whether b may separate digit groups.
func sepOK(b byte) bool { return b == ' ' || b == '-' || b == '.' || b == '+' || b == '/' }

// parseNumber reads a number candidate from s starting at i (s[i] is a
// digit or '+'). It returns the candidate and the end of the longest
// prefix read; ok is false when s[i:] does not start with digits.
// Reading stops at a byte that is neither a digit nor a separator followed
// by a digit, or when the candidate would exceed maxDigits or maxGroups.
// ends[g] is the end offset of the candidate made of the first g+1 groups.
func parseNumber(s string, i int, c *number, ends *[maxGroups]int) bool {
	*c = number{}
	if i < len(s) && s[i] == '+' {
		c.plus = true
		i++
	}
	if i >= len(s) || !isDigit(s[i]) {
		return false
	}
	var sep byte
	for {
		start := i
		for i < len(s) && isDigit(s[i]) {
			if c.n == maxDigits {
				// Too long for any identifier: keep the complete groups.
				c.overflow = true
				c.n -= i - start
				return c.ng > 0
			}
			c.d[c.n] = s[i] - '0'
			c.n++
			i++
		}
		c.groups[c.ng] = uint8(i - start)
		c.seps[c.ng] = sep
		ends[c.ng] = i
		c.ng++
		if c.ng == maxGroups || i+1 >= len(s) || !sepOK(s[i]) || !isDigit(s[i+1]) {
			return true
		}
		sep = s[i]
		i++
	}
}

// truncate keeps the first g groups of c.
func (c *number) truncate(g int) {
	n := 0
	for k := 0; k < g; k++ {
		n += int(c.groups[k])
	}
	c.n, c.ng = n, g
}

// grouped reports whether c's groups have exactly the lengths given.
func (c *number) grouped(lens ...uint8) bool {
	if c.ng != len(lens) {
		return false
	}
	for i, l := range lens {
		if c.groups[i] != l {
			return false
		}
	}
	return true
}

// onlySeps reports whether every separator of c is one of allowed.
func (c *number) onlySeps(allowed string) bool {
	for i := 1; i < c.ng; i++ {
		ok := false
		for j := 0; j < len(allowed); j++ {
			if c.seps[i] == allowed[j] {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// val returns the value of digits d[a:b].
func (c *number) val(a, b int) int {
	v := 0
	for _, x := range c.d[a:b] {
		v = v*10 + int(x)
	}
	return v
}

// numberKinds returns the set of kinds (bits by kindIndex) the candidate,
// whose text is raw, can be. strict applies the stricter rules for numbers inside free text:
// groupings as people write them, and no candidate that looks like a date
// or an amount.
func numberKinds(c *number, raw string, strict bool) uint16 {
	var set uint16
	if c.plus {
		if c.ng > 0 && c.groups[0] >= 2 && c.d[0] == 4 && c.d[1] == 7 && isPhone(c, 2, strict) {
			set |= 1 << kPhone
		}
		return set
	}
	switch c.n {
	case 12:
		if c.d[0] == 0 && c.d[1] == 0 && c.d[2] == 4 && c.d[3] == 7 && isPhone(c, 4, strict) {
			set |= 1 << kPhone
		}
		if c.onlySeps("-+ ") && (!strict || c.grouped(12) || c.grouped(8, 4)) && swedish(c.d[:12]) {
			set |= 1 << kSE
		}
	case 11:
		if c.onlySeps(" -.") && nidRaw(raw) && !c.grouped(4, 2, 5) { // 4.2.5 is how accounts are written
			set |= 1 << kNID
		}
		if c.onlySeps(" .") && (!strict || c.grouped(11) || c.grouped(4, 2, 5)) && mod11(c.d[:11], accountWeights[:]) {
			set |= 1 << kAccount
		}
	case 10:
		if c.d[0] == 4 && c.d[1] == 7 && c.groups[0] == 2 && isPhone(c, 2, strict) {
			set |= 1 << kPhone
		}
		tenForm := c.grouped(10) || (c.grouped(6, 4) && c.onlySeps("-+ "))
		if (tenForm || !strict && c.onlySeps("-+ ")) && swedish(c.d[:10]) {
			set |= 1 << kSE
		}
		if (tenForm || !strict && c.onlySeps("- ")) && c.seps[1] != '+' && danish(c.d[:10]) {
			set |= 1 << kDK
		}
		if !strict && c.grouped(10) && nidLostZero(raw) {
			set |= 1 << kNID
		}
	case 9:
		if (c.d[0] == 8 || c.d[0] == 9) && c.onlySeps(" ") && (!strict || c.grouped(9) || c.grouped(3, 3, 3)) && mod11(c.d[:9], orgWeights[:]) {
			set |= 1 << kOrg
		}
	case 8:
		if isPhone(c, 0, strict) {
			set |= 1 << kPhone
		}
	}
	return set
}

var (
	accountWeights = [10]int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2}
	orgWeights     = [8]int{3, 2, 7, 6, 5, 4, 3, 2}
)

// mod11 checks the last digit of d against the mod-11 check over the
// digits before it with the weights w (Norwegian organisation numbers and
// bank accounts): check = 11 - sum mod 11, 11 meaning 0 and 10 invalid.
func mod11(d []byte, w []int) bool {
	s := 0
	for i, x := range w {
		s += int(d[i]) * x
	}
	k := 11 - s%11
	if k == 11 {
		k = 0
	}
	return k != 10 && int(d[len(w)]) == k
}

// nidRaw reports whether raw, the text of a number candidate, is a valid
// Norwegian identity number as pseudo/nid reads it (spaces between the
// digits and at most one dash or dot). Parsing the text itself, not a copy,
// keeps the check free of allocations.
func nidRaw(raw string) bool {
	_, err := nid.Parse(raw)
	return err == nil
}

// restoreZero parses ten-digit identity numbers that lost their leading zero.
var restoreZero = &nid.Parser{RestoreLeadingZero: true}

// nidLostZero reports whether raw (ten digits) is an identity number that
// lost its leading zero, as spreadsheets do to numbers.
func nidLostZero(raw string) bool {
	n, err := restoreZero.Parse(raw)
	return err == nil && n.ZeroRestored()
}

// isPhone reports whether c, after skip digits of country code, is a
// Norwegian telephone number: eight digits, the first 2-7 or 9, in groups
// of at least two digits, with spaces or hyphens between, not looking like
// a date or an amount.
func isPhone(c *number, skip int, strict bool) bool {
	if c.n-skip != 8 {
		return false
	}
	switch c.d[skip] {
	case 0, 1, 8:
		return false
	}
	if !c.onlySeps(" -") {
		return false
	}
	// Group lengths of the national part: the country code is its own
	// group ("+47 912 34 567") or glued to the number ("+4791234567").
	var g [maxGroups]uint8
	ng := 0
	for i := 0; i < c.ng; i++ {
		l := int(c.groups[i])
		if i == 0 {
			if l < skip {
				return false
			}
			l -= skip
			if l == 0 {
				continue
			}
		}
		if l < 2 {
			return false
		}
		g[ng] = uint8(l)
		ng++
	}
	if ng == 1 {
		// Eight digits in a row: not when they read as a date (YYYYMMDD,
		// DDMMYYYY): numbers starting with 2 and 3 are landlines, and so
		// are many dates.
		if skip == 0 && (validDate(c.val(0, 4), c.val(4, 6), c.val(6, 8)) && c.val(0, 4) >= 1900 && c.val(0, 4) <= 2099 ||
			validDate(c.val(4, 8), c.val(2, 4), c.val(0, 2)) && c.val(4, 8) >= 1900 && c.val(4, 8) <= 2099) {
			return false
		}
		return true
	}
	if strict && ng == 3 && g[0] <= 2 && g[1] == 3 && g[2] == 3 {
		// 12 345 678: an amount with thousands separators.
		return false
	}
	if strict && ng == 2 && g[0] == 4 && g[1] == 4 && c.seps[c.ng-1] == '-' && c.val(skip, skip+4) >= 1900 && c.val(skip, skip+4) <= 2099 {
		return false // 2024-0042: a year and a serial number
	}
	if ng == 3 && (g[0] == 2 && g[1] == 2 && g[2] == 4 || g[0] == 4 && g[1] == 2 && g[2] == 2) {
		return false // 23-04-1985, 1985-04-23: a date
	}
	return true
}

// validDate reports whether y-m-d is a date of the Gregorian calendar
// (y > 0 is the full year; y < 0 means the century is unknown: accept 29
// February when the two-digit year -y-1 can be a leap year).
func validDate(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	return d <= daysIn(y, m)
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		leap := y%4 == 0 && (y%100 != 0 || y%400 == 0)
		if y < 0 {
			leap = (-y-1)%4 == 0
		}
		if leap {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// swedish reports whether d (ten or twelve digit values) is a Swedish
// personnummer or samordningsnummer (day + 60): a valid date and the Luhn
// check digit over the ten-digit form.
func swedish(d []byte) bool {
	y := -1
	if len(d) == 12 {
		y = int(d[0])*1000 + int(d[1])*100 + int(d[2])*10 + int(d[3])
		if y < 1850 || y > 2099 {
			return false
		}
		d = d[2:]
	} else {
		y = -(int(d[0])*10 + int(d[1])) - 1
	}
	m := int(d[2])*10 + int(d[3])
	day := int(d[4])*10 + int(d[5])
	if day > 60 {
		day -= 60
	}
	if !validDate(y, m, day) {
		return false
	}
	return luhn(d[:10])
}

// luhn checks the Luhn check digit: the last digit of d.
func luhn(d []byte) bool {
	s := 0
	for i, x := range d {
		v := int(x)
		if (len(d)-1-i)%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		s += v
	}
	return s%10 == 0
}

// danish reports whether d (ten digit values) can be a Danish CPR number:
// DDMMYY and a sequence number whose first digit gives the century. CPR
// numbers issued since 2007 need not pass the modulus-11 check, so there
// is no check digit to test.
func danish(d []byte) bool {
	day := int(d[0])*10 + int(d[1])
	m := int(d[2])*10 + int(d[3])
	yy := int(d[4])*10 + int(d[5])
	y := 1900 + yy
	switch s := d[6]; {
	case s == 4 || s == 9:
		if yy <= 36 {
			y = 2000 + yy
		}
	case s >= 5 && s <= 8:
		if yy <= 57 {
			y = 2000 + yy
		} else {
			y = 1800 + yy
		}
	}
	return validDate(y, m, day)
}

// hetuCheck is the alphabet of the Finnish check character.
const hetuCheck = "0123456789ABCDEFHJKLMNPRSTUVWXY"

// finnish reports whether s (exactly eleven bytes) is a Finnish personal
// identity code DDMMYYCZZZQ.
func finnish(s string) bool {
	if len(s) != 11 {
		return false
	}
	for _, i := range [...]int{0, 1, 2, 3, 4, 5, 7, 8, 9} {
		if !isDigit(s[i]) {
			return false
		}
	}
	var century int
	switch s[6] {
	case '+':
		century = 1800
	case '-', 'U', 'V', 'W', 'X', 'Y':
		century = 1900
	case 'A', 'B', 'C', 'D', 'E', 'F':
		century = 2000
	default:
		return false
	}
	dd := int(s[0]-'0')*10 + int(s[1]-'0')
	mm := int(s[2]-'0')*10 + int(s[3]-'0')
	yy := int(s[4]-'0')*10 + int(s[5]-'0')
	if !validDate(century+yy, mm, dd) {
		return false
	}
	ind := int(s[7]-'0')*100 + int(s[8]-'0')*10 + int(s[9]-'0')
	if ind < 2 {
		return false
	}
	n := (dd*10000+mm*100+yy)*1000 + ind
	q := s[10]
	if q >= 'a' && q <= 'z' {
		return false
	}
	return hetuCheck[n%31] == q
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }
