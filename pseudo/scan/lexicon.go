package scan

import (
	"bufio"
	"bytes"
	"embed"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pseudokit/pseudokit/pseudo"
)

//go:embed names/given.txt names/family.txt names/municipalities.txt names/occupations.txt
var lexiconFiles embed.FS

// Name flags.
const (
	flagGiven  uint8 = 1 << iota // a given name
	flagFamily                   // a surname
	// flagAmbiguous marks a given name that is also a common word ("Per",
	// "Dag", "Liv", "Finn", "Even"): in free text it counts as a name only
	// next to another name.
	flagAmbiguous
	// flagPatronymic marks a surname ending in -sen or -son, which reads as
	// a name even on its own.
	flagPatronymic
)

// ambiguous are given names that are also common words (Norwegian or
// English) or abbreviations, capitalised at the start of a sentence.
var ambiguous = []string{
	"ada", "ask", "dag", "eli", "else", "even", "finn", "frank", "gro", "gry", "hans", "inge",
	"jan", "kai", "kim", "live", "liv", "mai", "mark", "max", "mina", "mona", "odd", "per",
	"rita", "rune", "ruth", "signe", "siri", "sol", "stein", "tom", "tone", "tor", "will",
}

// stopwords are capitalised words that never extend a name ("Kari Mandag"
// is Kari, then a weekday).
var stopwords = []string{
	"mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag",
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
	"januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober", "november", "desember",
	"january", "february", "march", "june", "july", "october", "december",
	"og", "and", "i", "på", "til", "fra", "med", "om", "the", "in", "at", "to", "from", "with",
}

var (
	nameFlags           = map[string]uint8{}
	stopword            = map[string]bool{}
	municipalityNames   = map[string]bool{}
	municipalityNumbers = map[string]bool{}
	occupations         = map[string]bool{}
)

func init() {
	add := func(names []string, f uint8) {
		for _, n := range names {
			k := strings.ToLower(n)
			nameFlags[k] |= f
			if f == flagFamily && (strings.HasSuffix(k, "sen") || strings.HasSuffix(k, "son")) {
				nameFlags[k] |= flagPatronymic
			}
		}
	}
	add(pseudo.GivenNames, flagGiven)
	add(pseudo.FamilyNames, flagFamily)
	add(readLines("names/given.txt"), flagGiven)
	add(readLines("names/family.txt"), flagFamily)
	for _, a := range ambiguous {
		nameFlags[a] |= flagAmbiguous | flagGiven
	}
	for _, w := range stopwords {
		stopword[w] = true
	}
	for _, line := range readLines("names/municipalities.txt") {
		num, name, ok := strings.Cut(line, ";")
		if !ok {
			continue
		}
		municipalityNumbers[num] = true
		for _, n := range strings.Split(name, " - ") {
			n = strings.ToLower(strings.TrimSpace(n))
			municipalityNames[n] = true
			if i := strings.Index(n, " ("); i > 0 { // "herøy (nordland)"
				municipalityNames[n[:i]] = true
			}
		}
	}
	for _, o := range readLines("names/occupations.txt") {
		occupations[strings.ToLower(o)] = true
	}
}

func readLines(path string) []string {
	f, err := lexiconFiles.Open(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

// letterCase is the capitalisation of a word.
type letterCase uint8

const (
	caseOther letterCase = iota // lower case or mixed
	caseTitle                   // "Kari", "Anne-Lise"
	caseUpper                   // "KARI" (two letters or more)
)

// maxWord bounds the words looked up in the lexicon.
const maxWord = 48

// lowerWord writes the lower-case form of word into buf and returns it with
// the word's capitalisation. Hyphenated words are title case when each part
// is. It returns n = 0 when the word does not fit.
func lowerWord(word string, buf *[maxWord]byte) (n int, c letterCase) {
	upper, lower, partStart, title := 0, 0, true, true
	for _, r := range word {
		if r < utf8.RuneSelf && r != '-' { // ASCII letters, the common case
			if r >= 'A' && r <= 'Z' {
				upper++
				if !partStart {
					title = false
				}
				r += 'a' - 'A'
			} else {
				lower++
				if partStart {
					title = false
				}
			}
			partStart = false
			if n+1 > maxWord {
				return 0, caseOther
			}
			buf[n] = byte(r)
			n++
			continue
		}
		switch {
		case r == '-':
			partStart = true
			if n+1 > maxWord {
				return 0, caseOther
			}
			buf[n] = '-'
			n++
			continue
		case unicode.IsUpper(r):
			upper++
			if !partStart {
				title = false
			}
		default:
			lower++
			if partStart {
				title = false
			}
		}
		partStart = false
		lr := unicode.ToLower(r)
		if lr < utf8.RuneSelf {
			if n+1 > maxWord {
				return 0, caseOther
			}
			buf[n] = byte(lr)
			n++
			continue
		}
		if n+utf8.RuneLen(lr) > maxWord {
			return 0, caseOther
		}
		n += utf8.EncodeRune(buf[n:], lr)
	}
	switch {
	case lower == 0 && upper >= 2:
		c = caseUpper
	case title:
		c = caseTitle
	}
	return n, c
}

// wordFlags returns the name flags of a word (a run of letters and inner
// hyphens) and its capitalisation. For hyphenated words the flags of the
// parts are combined; a word ending in a genitive s ("Karis") has the flags
// of the name without it when that is unambiguous.
func wordFlags(word string) (uint8, letterCase) {
	var buf [maxWord]byte
	n, c := lowerWord(word, &buf)
	if n == 0 {
		return 0, c
	}
	if f, ok := nameFlags[string(buf[:n])]; ok {
		return f, c
	}
	var f uint8
	if bytes.IndexByte(buf[:n], '-') > 0 {
		start := 0
		for i := 0; i <= n; i++ {
			if i == n || buf[i] == '-' {
				f |= nameFlags[string(buf[start:i])]
				start = i + 1
			}
		}
		return f &^ flagAmbiguous, c
	}
	if n > 3 && buf[n-1] == 's' {
		if g := nameFlags[string(buf[:n-1])]; g&flagAmbiguous == 0 && g&(flagGiven|flagPatronymic) != 0 {
			return g, c
		}
	}
	return 0, c
}

// isStopword reports whether word, in lower case, is a stop word.
func isStopword(word string) bool {
	var buf [maxWord]byte
	n, _ := lowerWord(word, &buf)
	return n > 0 && stopword[string(buf[:n])]
}

// isMunicipality reports whether v names a Norwegian municipality (by name,
// in any case, or by its four-digit number).
func isMunicipality(v string) bool {
	if len(v) == 4 && isDigit(v[0]) && isDigit(v[1]) && isDigit(v[2]) && isDigit(v[3]) {
		return municipalityNumbers[v]
	}
	if len(v) > 64 {
		return false
	}
	var buf [64]byte
	b := buf[:0]
	for _, r := range v {
		b = utf8.AppendRune(b, unicode.ToLower(r))
	}
	return municipalityNames[string(b)]
}

// isOccupation reports whether v is a known occupation.
func isOccupation(v string) bool {
	if len(v) > 64 {
		return false
	}
	var buf [64]byte
	b := buf[:0]
	for _, r := range v {
		b = utf8.AppendRune(b, unicode.ToLower(r))
	}
	return occupations[string(b)]
}
