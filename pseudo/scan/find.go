package scan

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// A Match is an identifier found in free text: text[Start:End] is an
// identifier of Kind (byte offsets).
type Match struct {
	Kind       Kind
	Start, End int
}

// Find returns the identifiers in free text: Norwegian, Swedish, Danish and
// Finnish identity numbers, e-mail addresses, Norwegian phone numbers,
// organisation and bank account numbers, and names. The matches are sorted
// and do not overlap. See AppendFind.
func Find(text string) []Match { return AppendFind(nil, text) }

// AppendFind appends the identifiers in text to dst and returns the
// extended slice. It allocates nothing beyond growing dst, so a caller that
// reuses dst scans text without allocating.
//
// Numbers are recognised as people write them: "010190 12345",
// "+47 912 34 567", "1234.56.78903"; they must stand on their own (not be
// part of a longer word or number). Inside text, the rules are stricter
// than for whole column values: Swedish and Danish numbers must be written
// as ten digits, YYMMDD-NNNN or (Swedish) with the century, organisation
// numbers as nine digits or 3+3+3, bank accounts as eleven digits or
// 4.2.5, and eight digits that read as a date or an amount with thousands
// separators are not phone numbers.
//
// Names are words from the shipped name lists written with a capital
// letter: a given name ("Kari"), a surname ending in -sen or -son
// ("Hansen"), or any listed name next to another ("Kari Berg", "Per
// Hansen"), or a surname after a title ("dr. Berg"). A capitalised word
// right after a recognised given name is taken as its surname ("Kari
// Nordmann"). Given names that are also common words ("Per", "Dag", "Liv",
// "Finn") count only next to another name. Names outside the lists are
// missed; see docs/scan.md for measured recall.
func AppendFind(dst []Match, text string) []Match {
	s := text
	hasAt := strings.IndexByte(s, '@') >= 0
	var num number
	var ends [maxGroups]int
	i := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf && !isWordByte(c) && c != '+' {
			i++
			continue
		}
		if i > 0 && wordBefore(s, i) {
			i = skipWord(s, i)
			continue
		}
		if hasAt {
			if j, ok := email(s, i); ok {
				dst = append(dst, Match{Email, i, j})
				i = j
				continue
			}
		}
		if isDigit(c) || c == '+' {
			if m, ok := findNumber(s, i, &num, &ends); ok {
				dst = append(dst, m)
				i = m.End
				continue
			}
			if c == '+' {
				i++
			}
			i = skipWord(s, i)
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if unicode.IsLetter(r) {
			dst, i = findNames(dst, s, i)
			continue
		}
		if unicode.IsDigit(r) {
			i = skipWord(s, i)
			continue
		}
		i += size
	}
	return dst
}

// isWordByte reports whether an ASCII byte belongs to a word; bytes of
// multi-byte characters are treated as word bytes here and decoded where
// it matters.
func isWordByte(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_' || b >= utf8.RuneSelf
}

// isWordRune reports whether r continues a word.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return isWordByte(byte(r))
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// wordBefore reports whether the character before s[i] is part of a word.
func wordBefore(s string, i int) bool {
	if c := s[i-1]; c < utf8.RuneSelf {
		return isWordByte(c)
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return isWordRune(r)
}

// wordAfter reports whether s[j] continues a word (or an e-mail address),
// so that a match ending at j would cut it.
func wordAfter(s string, j int) bool {
	if j >= len(s) {
		return false
	}
	if c := s[j]; c < utf8.RuneSelf {
		return isWordByte(c) || c == '@'
	}
	r, _ := utf8.DecodeRuneInString(s[j:])
	return isWordRune(r)
}

// skipWord returns the end of the word at s[i:]; it always advances.
func skipWord(s string, i int) int {
	start := i
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if !isWordByte(c) {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isWordRune(r) {
			break
		}
		i += size
	}
	if i == start {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

// email returns the end of an e-mail address starting at s[i], if there is
// one: a local part of letters, digits and ._%+-, '@', and a domain of at
// least two labels whose last (the top-level domain) has two or more
// letters. A full stop ending a sentence is not part of it.
func email(s string, i int) (int, bool) {
	at := -1
	j := i
	for j < len(s) {
		c := s[j]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '%' || c == '+' || c == '-':
			j++
			continue
		case c == '@':
			if at >= 0 {
				return 0, false
			}
			at = j
			j++
			continue
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[j:])
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				j += size
				continue
			}
		}
		break
	}
	if at <= i || at-i > 64 {
		return 0, false
	}
	local := s[i:at]
	if local[0] == '.' || local[len(local)-1] == '.' {
		return 0, false
	}
	end := j
	for end > at+1 && (s[end-1] == '.' || s[end-1] == '-') {
		end--
	}
	domain := s[at+1 : end]
	dots := 0
	labelStart := 0
	for k := 0; k <= len(domain); k++ {
		if k == len(domain) || domain[k] == '.' {
			label := domain[labelStart:k]
			if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
				return 0, false
			}
			if k == len(domain) { // the top-level domain: letters only
				if len(label) < 2 {
					return 0, false
				}
				for _, r := range label {
					if !unicode.IsLetter(r) {
						return 0, false
					}
				}
			} else {
				dots++
			}
			labelStart = k + 1
		}
	}
	if dots == 0 || wordAfter(s, end) && s[end] != '.' && s[end] != '-' {
		return 0, false
	}
	return end, true
}

// findNumber looks for an identifier made of digits at s[i] (a digit or
// '+'): a Finnish HETU, or the longest run of digit groups that is a
// number of some kind.
func findNumber(s string, i int, num *number, ends *[maxGroups]int) (Match, bool) {
	if i+11 <= len(s) && finnish(s[i:i+11]) && !wordAfter(s, i+11) {
		return Match{FinnishHETU, i, i + 11}, true
	}
	if !parseNumber(s, i, num, ends) {
		return Match{}, false
	}
	full := *num
	for g := full.ng; g >= 1; g-- {
		end := ends[g-1]
		if wordAfter(s, end) {
			continue
		}
		*num = full
		num.truncate(g)
		if set := numberKinds(num, s[i:end], true); set != 0 {
			return Match{bestKind(set), i, end}, true
		}
	}
	return Match{}, false
}

// bestKind returns the kind of highest precedence in set.
func bestKind(set uint16) Kind {
	for k := kindIndex(0); k < numKinds; k++ {
		if set&(1<<k) != 0 {
			return kindOfIndex[k]
		}
	}
	return Other
}

// titles are words after which a capitalised surname is taken as a name.
var titles = map[string]bool{
	"dr": true, "lege": true, "fru": true, "herr": true, "frk": true, "frøken": true,
	"mr": true, "mrs": true, "ms": true, "prof": true, "pasient": true, "pasienten": true,
	"sykepleier": true, "overlege": true, "psykolog": true, "tannlege": true,
}

// maxRun bounds the capitalised words considered together as one name.
const maxRun = 6

type nameWord struct {
	start, end int
	flags      uint8
	lc         letterCase
}

// findNames reads the run of capitalised words at s[i] (a letter) and
// appends the names in it to dst. It returns the end of what it read.
func findNames(dst []Match, s string, i int) ([]Match, int) {
	// Only words that start with a capital letter can be names.
	if c := s[i]; c < utf8.RuneSelf {
		if c < 'A' || c > 'Z' {
			return dst, skipWord(s, i)
		}
	} else if r, _ := utf8.DecodeRuneInString(s[i:]); !unicode.IsUpper(r) {
		return dst, skipWord(s, i)
	}
	var run [maxRun]nameWord
	n := 0
	j := i
	for n < maxRun {
		a := j
		for j < len(s) {
			r, size := rune(s[j]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeRuneInString(s[j:])
			}
			if unicode.IsLetter(r) || unicode.IsMark(r) {
				j += size
				continue
			}
			if r == '-' && j > a && j+1 < len(s) {
				if r2, _ := utf8.DecodeRuneInString(s[j+1:]); unicode.IsLetter(r2) {
					j++
					continue
				}
			}
			break
		}
		if j < len(s) && (isDigit(s[j]) || s[j] == '_' || s[j] == '@') {
			// Glued to digits or an address: not a name.
			if n == 0 {
				return dst, skipWord(s, j)
			}
			j = a
			break
		}
		w := nameWord{start: a, end: j}
		w.flags, w.lc = wordFlags(s[a:j])
		if w.lc == caseOther || w.lc == caseUpper && utf8.RuneCountInString(s[a:j]) < 3 {
			if n == 0 {
				return dst, j
			}
			j = a // not part of the run; read again by the caller
			break
		}
		run[n] = w
		n++
		// Another capitalised word after one space?
		if j+1 >= len(s) || s[j] != ' ' {
			break
		}
		r, _ := utf8.DecodeRuneInString(s[j+1:])
		if !unicode.IsUpper(r) {
			break
		}
		j++
	}
	end := run[n-1].end
	var accepted [maxRun]bool
	for k := 0; k < n; k++ {
		f := run[k].flags
		switch {
		case f&flagGiven != 0 && f&flagAmbiguous == 0:
			accepted[k] = true
		case f&flagPatronymic != 0:
			accepted[k] = true
		case listedAt(&run, n, k) && (listedAt(&run, n, k-1) || listedAt(&run, n, k+1)):
			accepted[k] = true
		case f&flagFamily != 0 && k == 0 && afterTitle(s, run[0].start):
			accepted[k] = true
		case f == 0 && k > 0 && accepted[k-1] && run[k-1].flags&flagGiven != 0 && run[k].lc == caseTitle &&
			run[k].end-run[k].start >= 2 && !isStopword(s[run[k].start:run[k].end]):
			accepted[k] = true // "Kari Nordmann": the word after a given name is a surname
		}
	}
	for k := 0; k < n; {
		if !accepted[k] {
			k++
			continue
		}
		m := k
		for m+1 < n && accepted[m+1] {
			m++
		}
		dst = append(dst, Match{Name, run[k].start, run[m].end})
		k = m + 1
	}
	return dst, end
}

// listedAt reports whether word k of the run is in the name lists.
func listedAt(run *[maxRun]nameWord, n, k int) bool {
	return k >= 0 && k < n && run[k].flags&(flagGiven|flagFamily) != 0
}

// afterTitle reports whether the word before s[i] (one space back, after
// an optional full stop) is a title such as "dr." or "lege".
func afterTitle(s string, i int) bool {
	j := i
	if j == 0 || s[j-1] != ' ' {
		return false
	}
	j--
	if j > 0 && s[j-1] == '.' {
		j--
	}
	k := j
	for k > 0 {
		r, size := utf8.DecodeLastRuneInString(s[:k])
		if !unicode.IsLetter(r) {
			break
		}
		k -= size
	}
	if k == j || j-k > maxWord {
		return false
	}
	var buf [maxWord]byte
	n, _ := lowerWord(s[k:j], &buf)
	return n > 0 && titles[string(buf[:n])]
}
