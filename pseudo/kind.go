package pseudo

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// A Kind names what sort of identifier a value is. It decides how the value
// is normalised before coding and is part of the code's MAC input, so the
// same text under two kinds gets unrelated codes.
type Kind string

// The identifier kinds.
const (
	// KindNID is a Norwegian identity number of any type (fødselsnummer,
	// D-, H- or FH-number, synthetic test numbers): 11 digits, validated.
	KindNID Kind = "nid"
	// KindName is a person's name or part of one: case, Unicode form and
	// spacing do not matter ("Ola  Nordmann" = "ola nordmann").
	KindName Kind = "name"
	// KindEmail is an e-mail address: case does not matter.
	KindEmail Kind = "email"
	// KindPhone is a telephone number: only digits count, a Norwegian
	// country code (+47, 0047) is removed.
	KindPhone Kind = "phone"
	// KindText is any other identifier: Unicode form and spacing do not
	// matter, case does.
	KindText Kind = "text"
)

// Kinds lists every identifier kind.
var Kinds = []Kind{KindNID, KindName, KindEmail, KindPhone, KindText}

// ParseKind returns the Kind named s.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown identifier kind %q (want one of nid, name, email, phone, text)", s)
}

var folder = cases.Fold()

// Canonical returns the canonical form of an identifier of kind k, or
// ok=false when nothing identifying is left (an empty or blank value).
// Norwegian identity numbers are not handled here: their canonical form
// comes from the nid package after validation.
func (k Kind) Canonical(v string) (canonical string, ok bool) {
	switch k {
	case KindName:
		v = folder.String(norm.NFC.String(v))
		v = norm.NFC.String(v) // folding can denormalise
		v = collapseSpace(v)
	case KindEmail:
		v = strings.ToLower(norm.NFC.String(strings.TrimSpace(v)))
	case KindPhone:
		v = canonicalPhone(v)
	case KindNID:
		v = strings.TrimSpace(v)
	default:
		v = collapseSpace(norm.NFC.String(v))
	}
	return v, v != ""
}

// collapseSpace trims v and replaces every inner run of white space by one space.
func collapseSpace(v string) string {
	if isSimple(v) {
		return v
	}
	return strings.Join(strings.FieldsFunc(v, unicode.IsSpace), " ")
}

// isSimple reports whether v has no leading, trailing or doubled white space
// and no white space other than ' ', so collapseSpace can return it as is.
func isSimple(v string) bool {
	prevSpace := true
	for _, r := range v {
		sp := unicode.IsSpace(r)
		if sp && (prevSpace || r != ' ') {
			return false
		}
		prevSpace = sp
	}
	return !prevSpace || v == ""
}

// canonicalPhone keeps the digits of a phone number and removes a Norwegian
// country code, so "+47 912 34 567", "0047 91234567" and "91234567" agree.
func canonicalPhone(v string) string {
	var b strings.Builder
	for _, r := range v {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	switch {
	case len(d) == 10 && strings.HasPrefix(d, "47"):
		return d[2:]
	case len(d) == 12 && strings.HasPrefix(d, "0047"):
		return d[4:]
	}
	return d
}
