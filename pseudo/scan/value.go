package scan

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pseudokit/pseudokit/pseudo"
)

// valueKinds returns the identifier kinds (bits by kindIndex) that the
// whole value v, trimmed, can be. Names are not included (see nameValue).
func valueKinds(v string) uint16 {
	if v == "" {
		return 0
	}
	if strings.IndexByte(v, '@') >= 0 {
		if j, ok := email(v, 0); ok && j == len(v) {
			return 1 << kEmail
		}
		return 0
	}
	var set uint16
	if len(v) == 11 && finnish(v) {
		set |= 1 << kFI
	}
	if c := v[0]; !isDigit(c) && c != '+' {
		return set
	}
	var num number
	var ends [maxGroups]int
	if !parseNumber(v, 0, &num, &ends) || num.overflow || ends[num.ng-1] != len(v) {
		return set
	}
	return set | numberKinds(&num, v, false)
}

// nameValue reports whether v has the form of a name (one to five
// capitalised words: "Kari", "Anne-Lise Hansen", "Hansen, Kari", "K.
// Hansen") and whether one of its words is in the name lists.
func nameValue(v string) (shape, listed bool) {
	words := 0
	rest := v
	for rest != "" {
		var w string
		if i := strings.IndexAny(rest, " ,"); i >= 0 {
			w, rest = rest[:i], rest[i+1:]
		} else {
			w, rest = rest, ""
		}
		if w == "" {
			continue
		}
		words++
		if words > 5 {
			return false, false
		}
		if len(w) == 2 && w[1] == '.' && w[0] >= 'A' && w[0] <= 'Z' { // an initial
			continue
		}
		for _, r := range w {
			if !unicode.IsLetter(r) && r != '-' && r != '\'' {
				return false, false
			}
		}
		f, lc := wordFlags(w)
		if lc == caseOther {
			return false, false
		}
		if f&(flagGiven|flagFamily) != 0 {
			listed = true
		}
	}
	return words > 0, listed
}

// isCode reports whether v is a pseudokit code.
func isCode(v string) bool {
	if len(v) < pseudo.CodeLen || len(v) > pseudo.CodeLen+8 || (v[0] != 'K' && v[0] != 'R' && v[0] != 'k' && v[0] != 'r') {
		return false
	}
	_, err := pseudo.ParseCode(v)
	return err == nil
}

// dateValue parses the date at the start of v: YYYY-MM-DD (optionally
// followed by a time), DD.MM.YYYY, D.M.YYYY, DD/MM/YYYY or YYYY/MM/DD.
// It returns the year.
func dateValue(v string) (year int, ok bool) {
	var f [3]int
	var w [3]int
	var sep byte
	n, i := 0, 0
	for n < 3 {
		start := i
		x := 0
		for i < len(v) && isDigit(v[i]) && i-start < 4 {
			x = x*10 + int(v[i]-'0')
			i++
		}
		if i == start {
			return 0, false
		}
		f[n], w[n] = x, i-start
		n++
		if n == 3 {
			break
		}
		if i >= len(v) || v[i] != '-' && v[i] != '.' && v[i] != '/' {
			return 0, false
		}
		if sep == 0 {
			sep = v[i]
		} else if v[i] != sep {
			return 0, false
		}
		i++
	}
	if i < len(v) && v[i] != 'T' && v[i] != ' ' {
		return 0, false
	}
	var y, m, d int
	switch {
	case w[0] == 4 && w[1] <= 2 && w[2] <= 2 && sep != '.':
		y, m, d = f[0], f[1], f[2]
	case w[0] <= 2 && w[1] <= 2 && w[2] == 4 && sep != '-':
		y, m, d = f[2], f[1], f[0]
	default:
		return 0, false
	}
	if y < 1850 || y > 2100 || !validDate(y, m, d) {
		return 0, false
	}
	return y, true
}

// intValue parses a small non-negative integer (at most six digits).
func intValue(v string) (int, bool) {
	if v == "" || len(v) > 6 {
		return 0, false
	}
	x := 0
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) {
			return 0, false
		}
		x = x*10 + int(v[i]-'0')
	}
	return x, true
}

var sexValues = map[string]bool{
	"m": true, "f": true, "k": true, "mann": true, "kvinne": true, "male": true, "female": true,
	"man": true, "woman": true, "gutt": true, "jente": true, "boy": true, "girl": true,
	"menn": true, "kvinner": true, "men": true, "women": true, "hankjønn": true, "hunkjønn": true,
}

// isSexValue reports whether v is a usual code for sex.
func isSexValue(v string) bool {
	if len(v) > 10 {
		return false
	}
	return sexValues[strings.ToLower(v)]
}

// maxShape bounds the length of a masked shape.
const maxShape = 32

// appendShape appends the masked form of v to dst: every digit becomes D,
// a run of letters becomes A or a for its first letter (upper or lower
// case) and one more A or a for the rest of the run, other ASCII
// characters stay, other characters become '?'. "Kari Hansen" is "Aa Aa",
// "010190 12345" is "DDDDDD DDDDD". Nothing of the value but its form and
// the number of digits is left. Long shapes are cut with "…".
func appendShape(dst []byte, v string) []byte {
	start := len(dst)
	inLetters, runLen := false, 0
	var restUpper, restLower bool
	flush := func() {
		if inLetters && runLen > 1 {
			if restLower || !restUpper {
				dst = append(dst, 'a')
			} else {
				dst = append(dst, 'A')
			}
		}
		inLetters, runLen, restUpper, restLower = false, 0, false, false
	}
	for _, r := range v {
		if len(dst)-start >= maxShape {
			flush()
			return append(dst, "…"...)
		}
		if unicode.IsLetter(r) {
			if !inLetters {
				inLetters = true
				if unicode.IsUpper(r) {
					dst = append(dst, 'A')
				} else {
					dst = append(dst, 'a')
				}
			} else if unicode.IsUpper(r) {
				restUpper = true
			} else {
				restLower = true
			}
			runLen++
			continue
		}
		flush()
		switch {
		case r >= '0' && r <= '9':
			dst = append(dst, 'D')
		case r < utf8.RuneSelf && unicode.IsPrint(r):
			dst = append(dst, byte(r))
		default:
			dst = append(dst, '?')
		}
	}
	flush()
	return dst
}

// Shape returns the masked form of a value: digits become D, words Aa, aa
// or AA, so that a report can say "3 values like DDDDDD DDDDD" without
// showing any value.
func Shape(v string) string { return string(appendShape(nil, v)) }

// countWords counts the words (runs of non-blank characters) of v.
func countWords(v string) int {
	n, in := 0, false
	for i := 0; i < len(v); i++ {
		sp := v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r'
		if !sp && !in {
			n++
		}
		in = !sp
	}
	return n
}
