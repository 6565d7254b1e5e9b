package nid

import (
	"errors"
	"time"
)

// ErrNoCheckDigits is returned by Synthetic when no valid check digits exist
// for the given date and individual number under the classic rule (about two
// individual numbers in eleven). Try another individual number.
var ErrNoCheckDigits = errors.New("nid: no valid check digits for this date and individual number")

// Errors returned by Synthetic for unusable arguments.
var (
	errSynthKind       = errors.New("nid: synthetic numbers can only be made of kind FNR or DNumber")
	errSynthIndividual = errors.New("nid: individual number out of range")
	errSynthCentury    = errors.New("nid: the individual number does not encode the century of the birth date")
)

// Synthetic makes a valid synthetic identity number for test fixtures.
//
// With testNorge set, the month carries + 80 (Skatteetaten Test-Norge): the
// number can never belong to a real person. This is what fixtures should
// use. With testNorge unset, the month carries + 40 (NAV Dolly style); such a
// number is indistinguishable from an H-number and might coincide with a
// real person's H-number.
//
// kind is FNR or DNumber (D-number: day + 40). The birth date is taken from
// birth's year, month and day (in birth's location). individual (0-999) must
// encode the century of the birth year under the classic series (000-499:
// 1900-1999; 500-749: 1854-1899; 500-999: 2000-2039; 900-999: 1940-1999),
// so that BirthDate of the result returns the same date. The check digits
// follow the classic rule, so Rule2032 is false; when no valid check digits
// exist, Synthetic returns ErrNoCheckDigits and the caller should try another
// individual number.
//
// The Kind of the result is DNumber for a D-number, FNR for a Test-Norge
// fødselsnummer and HNumber (Synthetic() == HOrNAV) for the + 40 variant,
// exactly as Parse reports it.
func Synthetic(birth time.Time, individual int, kind Kind, testNorge bool) (Number, error) {
	if kind != FNR && kind != DNumber {
		return Number{}, errSynthKind
	}
	if individual < 0 || individual > 999 {
		return Number{}, errSynthIndividual
	}
	y, m, dd := birth.Date()
	if y < 1854 || y > 2039 || century(uint(individual), uint(y%100)) != uint(y) {
		return Number{}, errSynthCentury
	}
	day, month := dd, int(m)
	if kind == DNumber {
		day += 40
	}
	if testNorge {
		month += 80
	} else {
		month += 40
	}
	yy := y % 100
	d := [11]byte{
		byte(day / 10), byte(day % 10),
		byte(month / 10), byte(month % 10),
		byte(yy / 10), byte(yy % 10),
		byte(individual / 100), byte(individual / 10 % 10), byte(individual % 10),
	}
	k1, k2, ok := checkDigits(&d, 0)
	if !ok {
		return Number{}, ErrNoCheckDigits
	}
	d[9], d[10] = k1, k2
	return check(pack(&d))
}

// checkDigits computes the check digits for the first nine digits of d, with
// rest the remainder of the first check (0 for the classic rule, 1-3 for the
// additional values of the 2032 rule). ok is false when a check digit would
// be 10.
func checkDigits(d *[11]byte, rest uint) (k1, k2 byte, ok bool) {
	s1 := 3*uint(d[0]) + 7*uint(d[1]) + 6*uint(d[2]) + 1*uint(d[3]) + 8*uint(d[4]) +
		9*uint(d[5]) + 4*uint(d[6]) + 5*uint(d[7]) + 2*uint(d[8])
	c1 := (11 + rest - s1%11) % 11
	if c1 == 10 {
		return 0, 0, false
	}
	s2 := 5*uint(d[0]) + 4*uint(d[1]) + 3*uint(d[2]) + 2*uint(d[3]) + 7*uint(d[4]) +
		6*uint(d[5]) + 5*uint(d[6]) + 4*uint(d[7]) + 3*uint(d[8]) + 2*c1
	c2 := (11 - s2%11) % 11
	if c2 == 10 {
		return 0, 0, false
	}
	return byte(c1), byte(c2), true
}
