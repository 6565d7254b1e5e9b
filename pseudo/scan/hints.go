package scan

import (
	"strings"
	"unicode"
)

// hint is a set of things a column's name suggests.
type hint uint32

const (
	hID hint = 1 << iota // a personal identity number
	hEmail
	hPhone
	hName
	hBirth
	hYear
	hAge
	hSex
	hPostcode
	hMunicipality
	hOccupation
	hOrg
	hAccount
	hDate
	hText
)

type hintWord struct {
	word  string
	h     hint
	exact bool // the whole word only (short words)
}

// hintWords are matched against the words of a column name, folded to
// lower-case ASCII (æ -> ae, ø -> o, å -> a), and against the name with
// everything but letters and digits removed.
var hintWords = []hintWord{
	{"fnr", hID, true}, {"pnr", hID, true}, {"dnr", hID, true}, {"hnr", hID, true}, {"ssn", hID, true},
	{"nin", hID, true}, {"hetu", hID, true}, {"cpr", hID, true},
	{"fodselsnummer", hID, false}, {"fodselsnr", hID, false}, {"personnummer", hID, false}, {"personnr", hID, false},
	{"dnummer", hID, false}, {"identitetsnummer", hID, false}, {"nationalid", hID, false}, {"personalid", hID, false},
	{"cprnr", hID, false}, {"cprnummer", hID, false}, {"henkilotunnus", hID, false},
	{"mail", hEmail, true}, {"email", hEmail, false}, {"epost", hEmail, false}, {"emailadresse", hEmail, false},
	{"tlf", hPhone, true}, {"tel", hPhone, true}, {"mob", hPhone, true}, {"telefon", hPhone, false},
	{"mobil", hPhone, false}, {"phone", hPhone, false}, {"tlfnr", hPhone, false},
	{"navn", hName, false}, {"name", hName, false}, {"surname", hName, false},
	{"fodsel", hBirth, false}, {"fodt", hBirth, false}, {"fodd", hBirth, false}, {"birth", hBirth, false},
	{"dob", hBirth, true}, {"fdato", hBirth, true}, {"yob", hBirth | hYear, true},
	{"ar", hYear, true}, {"aar", hYear, false}, {"year", hYear, false}, {"arstall", hYear, false},
	{"age", hAge, true}, {"alder", hAge, false},
	{"sex", hSex, true}, {"kj", hSex, true}, {"kjonn", hSex, false}, {"kjoenn", hSex, false}, {"gender", hSex, false},
	{"zip", hPostcode, true}, {"postnr", hPostcode, false}, {"postnummer", hPostcode, false}, {"postcode", hPostcode, false},
	{"zipcode", hPostcode, false}, {"postal", hPostcode, false}, {"postkode", hPostcode, false},
	{"knr", hMunicipality, true}, {"kommune", hMunicipality, false}, {"municipality", hMunicipality, false},
	{"bosted", hMunicipality, false},
	{"yrke", hOccupation, false}, {"job", hOccupation, true}, {"stilling", hOccupation, false},
	{"occupation", hOccupation, false}, {"profession", hOccupation, false}, {"jobtitle", hOccupation, false},
	{"orgnr", hOrg, false}, {"organisasjonsnummer", hOrg, false}, {"orgnumber", hOrg, false}, {"foretaksnummer", hOrg, false},
	{"konto", hAccount, true}, {"kontonummer", hAccount, false}, {"kontonr", hAccount, false}, {"bankkonto", hAccount, false},
	{"account", hAccount, false}, {"iban", hAccount, true},
	{"dato", hDate, false}, {"date", hDate, false}, {"dt", hDate, true},
	{"notat", hText, false}, {"merknad", hText, false}, {"kommentar", hText, false}, {"note", hText, false},
	{"notes", hText, false}, {"comment", hText, false}, {"fritekst", hText, false}, {"beskrivelse", hText, false},
	{"description", hText, false}, {"tekst", hText, false}, {"text", hText, false}, {"remark", hText, false},
	{"journal", hText, false},
}

// fold lower-cases s and replaces Norwegian letters by ASCII.
func fold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch r {
		case 'æ':
			b.WriteString("ae")
		case 'ø', 'ö':
			b.WriteByte('o')
		case 'å', 'ä':
			b.WriteByte('a')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// headerHints returns what a column name suggests.
func headerHints(column string) hint {
	// Words: split at anything but letters and digits and at lower-to-upper
	// changes ("pasientAlder").
	var words []string
	var cur []rune
	var prev rune
	for _, r := range column {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			if len(cur) > 0 {
				words = append(words, string(cur))
			}
			cur = cur[:0]
		case unicode.IsUpper(r) && unicode.IsLower(prev) && len(cur) > 0:
			words = append(words, string(cur))
			cur = append(cur[:0], r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	if len(cur) > 0 {
		words = append(words, string(cur))
	}
	var squashed strings.Builder
	for i := range words {
		words[i] = fold(words[i])
		squashed.WriteString(words[i])
	}
	all := squashed.String()
	var h hint
	for _, hw := range hintWords {
		if hw.exact {
			for _, w := range words {
				if w == hw.word {
					h |= hw.h
				}
			}
			continue
		}
		if strings.Contains(all, hw.word) {
			h |= hw.h
		}
	}
	if h&hMunicipality != 0 {
		h &^= hName // "kommunenavn"
	}
	if h&(hPostcode|hMunicipality) != 0 {
		h &^= hYear
	}
	return h
}

// hintFor is the hint that supports a direct-identifier kind.
func hintFor(k Kind) hint {
	switch k {
	case NID, SwedishPNR, DanishCPR, FinnishHETU:
		return hID
	case Email:
		return hEmail
	case Phone:
		return hPhone
	case OrgNumber:
		return hOrg
	case BankAccount:
		return hAccount
	}
	return 0
}
