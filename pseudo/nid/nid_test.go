package nid

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// Test vectors.
//
// Published vectors are cited per case:
//   - navikt: github.com/navikt/fnrvalidator, tests/fnr.spec.ts
//   - stdnum: github.com/arthurdejong/python-stdnum,
//     tests/test_no_fodselsnummer.doctest and stdnum/no/fodselsnummer.py
//   - skatteetaten-2032: github.com/Skatteetaten/folkeregisteret-api-dokumentasjon,
//     "Nytt fødselsnummer fra 2032" (worked examples)
//   - fnrinfo: fnrinfo.no, "Beregning av kontrollsiffer" (worked example)
//   - nav-dolly: NAV synthetic (Dolly and Test-Norge) persons listed in
//     navikt's FødselsnummerTest ("skal tillate helsyntetiske nummer fra dolly")
//
// Every other valid number is generated here with fix/fixRest and carries
// the Test-Norge marker (month + 80), so it cannot belong to a real person;
// generated numbers without that marker have impossible dates.

// fix returns the nine-digit prefix (spaces ignored) with the check digits of
// the classic rule appended.
func fix(prefix string) string { return fixRest(prefix, 0) }

// fixRest returns the nine-digit prefix (spaces ignored) with check digits
// whose first check has remainder rest (0: classic rule; 1-3: 2032 rule).
func fixRest(prefix string, rest uint) string {
	var d [11]byte
	j := 0
	for _, c := range prefix {
		if c == ' ' {
			continue
		}
		d[j] = byte(c - '0')
		j++
	}
	if j != 9 {
		panic("fixRest: need nine digits")
	}
	k1, k2, ok := checkDigits(&d, rest)
	if !ok {
		panic("fixRest: no check digits for " + prefix)
	}
	d[9], d[10] = k1, k2
	var b [11]byte
	for i, v := range d {
		b[i] = '0' + v
	}
	return string(b[:])
}

func TestParse(t *testing.T) {
	type want struct {
		canon    string // canonical digits; "" means the input without blanks and separators
		kind     Kind
		synth    Synth
		rule2032 bool
		birth    string // YYYY-MM-DD, or "" when no birth date is derivable
		restored bool
	}
	type fail struct {
		reason     Reason
		checkDigit int
		fixable    bool
	}
	tests := []struct {
		name    string
		in      string
		restore bool
		ok      *want // nil: the input is invalid
		err     fail
		src     string
	}{
		// --- Valid numbers of each kind (published vectors).
		{name: "fnr", in: "13097248022", ok: &want{kind: FNR, birth: "1972-09-13"}, src: "navikt"},
		{name: "fnr check digit 11 becomes 0", in: "15021951940", ok: &want{kind: FNR, birth: "2019-02-15"}, src: "navikt"},
		{name: "fnr 1940 with 000-499", in: "23114038547", ok: &want{kind: FNR, birth: "1940-11-23"}, src: "stdnum"},
		{name: "fnr 2015", in: "26111593816", ok: &want{kind: FNR, birth: "2015-11-26"}, src: "stdnum"},
		{name: "fnr future date accepted", in: "18103970861", ok: &want{kind: FNR, birth: "2039-10-18"}, src: "stdnum"},
		{name: "dnr", in: "53097248016", ok: &want{kind: DNumber, birth: "1972-09-13"}, src: "navikt"},
		{name: "hnr", in: "13527248013", ok: &want{kind: HNumber, synth: HOrNAV, birth: "1972-12-13"}, src: "navikt"},
		{name: "fnr test-norge", in: "10915596784", ok: &want{kind: FNR, synth: TestNorge, birth: "1955-11-10"}, src: "navikt"},
		{name: "dnr with month+40", in: "68467038838", ok: &want{kind: DNumber, synth: HOrNAV, birth: "1970-06-28"}, src: "navikt"},
		{name: "dnr test-norge", in: "50846202355", ok: &want{kind: DNumber, synth: TestNorge, birth: "1962-04-10"}, src: "navikt"},
		{name: "nav synthetic +40", in: "15507600333", ok: &want{kind: HNumber, synth: HOrNAV, birth: "1976-10-15"}, src: "nav-dolly"},
		{name: "nav synthetic dnr +40", in: "55507608360", ok: &want{kind: DNumber, synth: HOrNAV, birth: "1976-10-15"}, src: "nav-dolly"},
		{name: "nav synthetic +40 leap day", in: "29422059278", ok: &want{kind: HNumber, synth: HOrNAV, birth: "2020-02-29"}, src: "nav-dolly"},
		{name: "test-norge leap day", in: "29822099635", ok: &want{kind: FNR, synth: TestNorge, birth: "2020-02-29"}, src: "nav-dolly"},
		{name: "test-norge dnr", in: "61883600222", ok: &want{kind: DNumber, synth: TestNorge, birth: "1936-08-21"}, src: "nav-dolly"},
		{name: "fh-number", in: "82938389280", ok: &want{kind: FHNumber}, src: "stdnum"},
		{name: "fh-number generated", in: fix("912345678"), ok: &want{kind: FHNumber}},
		{name: "fh-number 2032 rule", in: fixRest("808182838", 3), ok: &want{kind: FHNumber, rule2032: true}},

		// --- Centuries.
		{name: "1899 with 500-749", in: "13049958441", ok: &want{kind: FNR, birth: "1899-04-13"}, src: "stdnum"},
		{name: "1899-12-31", in: "31129956715", ok: &want{kind: FNR, birth: "1899-12-31"}, src: "fnrinfo"},
		{name: "1860 with 500-749", in: fix("01 81 60 600"), ok: &want{kind: FNR, synth: TestNorge, birth: "1860-01-01"}},
		{name: "1970 with 900-999", in: fix("01 81 70 950"), ok: &want{kind: FNR, synth: TestNorge, birth: "1970-01-01"}},
		{name: "2039 with 500-999", in: fix("01 81 39 998"), ok: &want{kind: FNR, synth: TestNorge, birth: "2039-01-01"}},
		{name: "2000 with 500-999", in: fix("01 81 00 500"), ok: &want{kind: FNR, synth: TestNorge, birth: "2000-01-01"}},
		{name: "1900 with 000-499", in: fix("01 81 00 499"), ok: &want{kind: FNR, synth: TestNorge, birth: "1900-01-01"}},
		{name: "century undefined 750-899", in: fix("01 81 70 801"), ok: &want{kind: FNR, synth: TestNorge}},
		{name: "century undefined 500-749 year 40-53", in: fix("01 81 50 600"), ok: &want{kind: FNR, synth: TestNorge}},
		{name: "century undefined dnr", in: "45014054018", ok: &want{kind: DNumber}, src: "stdnum"},

		// --- Leap years.
		{name: "leap day 1996", in: "29029648784", ok: &want{kind: FNR, birth: "1996-02-29"}, src: "navikt"},
		{name: "leap day 2000", in: "29020075838", ok: &want{kind: FNR, birth: "2000-02-29"}, src: "navikt"},
		{name: "leap day 2000 generated", in: fix("29 82 00 600"), ok: &want{kind: FNR, synth: TestNorge, birth: "2000-02-29"}},
		{name: "leap day 1900 impossible", in: fix("29 82 00 100"), err: fail{reason: ErrDate}},
		{name: "leap day 1901 impossible", in: fix("29 82 01 123"), err: fail{reason: ErrDate}},
		{name: "leap day unknown century 44", in: fix("29 82 44 800"), ok: &want{kind: FNR, synth: TestNorge}},
		{name: "leap day unknown century 41", in: fix("29 82 41 800"), err: fail{reason: ErrDate}},
		{name: "leap day dnr", in: "69822075096", ok: &want{kind: DNumber, synth: TestNorge, birth: "2020-02-29"}, src: "nav-dolly"},

		// --- 2032 rule.
		{name: "2032 example rest 0", in: "02013299997", ok: &want{kind: FNR, birth: "2032-01-02"}, src: "skatteetaten-2032"},
		{name: "2032 example person 1 rest 0", in: "30108299920", ok: &want{kind: FNR, birth: "1982-10-30"}, src: "skatteetaten-2032"},
		{name: "2032 example person 2 rest 1", in: "30108299939", ok: &want{kind: FNR, rule2032: true}, src: "skatteetaten-2032"},
		{name: "2032 dnr", in: "70108299914", ok: &want{kind: DNumber, birth: "1982-10-30"}, src: "navikt"},
		{name: "2032 rest 2", in: fixRest("01 81 70 950", 2), ok: &want{kind: FNR, synth: TestNorge, rule2032: true}},
		{name: "2032 rest 3", in: fixRest("01 81 70 950", 3), ok: &want{kind: FNR, synth: TestNorge, rule2032: true}},
		{name: "2032 rest 3 dnr", in: fixRest("41 81 70 950", 3), ok: &want{kind: DNumber, synth: TestNorge, rule2032: true}},
		{name: "2032 leap day century free", in: fixRest("29 82 00 100", 2), ok: &want{kind: FNR, synth: TestNorge, rule2032: true}},
		{name: "2032 leap day impossible", in: fixRest("29 82 41 801", 2), err: fail{reason: ErrDate}},
		{name: "2032 impossible day", in: fixRest("32 82 90 123", 1), err: fail{reason: ErrDate}},
		{name: "2032 wrong k1", in: "02013299987", err: fail{reason: ErrChecksum, checkDigit: 1}, src: "navikt"},
		{name: "2032 wrong k2", in: "02013299996", err: fail{reason: ErrChecksum, checkDigit: 2}, src: "navikt"},

		// --- Checksums.
		{name: "wrong k1", in: "15108695077", err: fail{reason: ErrChecksum, checkDigit: 1}, src: "stdnum"},
		{name: "wrong k1 and k2", in: "26111593875", err: fail{reason: ErrChecksum, checkDigit: 1}, src: "stdnum"},
		{name: "wrong k2", in: "26111593817", err: fail{reason: ErrChecksum, checkDigit: 2}, src: "stdnum"},
		{name: "wrong k2 navikt", in: "13097248023", err: fail{reason: ErrChecksum, checkDigit: 2}, src: "navikt"},
		{name: "k1 valid only under 2032, k2 wrong", in: "13097248032", err: fail{reason: ErrChecksum, checkDigit: 0}, src: "navikt"},
		{name: "k1 changed", in: "26111593826", err: fail{reason: ErrChecksum, checkDigit: 0}, src: "stdnum"},
		{name: "checksum before date", in: "29020112345", err: fail{reason: ErrChecksum, checkDigit: 1}, src: "navikt"},
		{name: "all zeros", in: "00000000000", err: fail{reason: ErrDate}},

		// --- Impossible dates (valid check digits).
		{name: "day 32", in: fix("32 01 90 123"), err: fail{reason: ErrDate}},
		{name: "day 00", in: fix("00 01 90 123"), err: fail{reason: ErrDate}},
		{name: "dnr day 00", in: fix("40 01 90 123"), err: fail{reason: ErrDate}},
		{name: "dnr day 32", in: fix("72 01 90 123"), err: fail{reason: ErrDate}},
		{name: "month 13", in: fix("01 13 90 123"), err: fail{reason: ErrDate}},
		{name: "month 00", in: fix("01 00 90 124"), err: fail{reason: ErrDate}},
		{name: "month 20", in: fix("01 20 90 124"), err: fail{reason: ErrDate}},
		{name: "month 53 (H 13)", in: fix("01 53 90 123"), err: fail{reason: ErrDate}},
		{name: "month 93 (Test-Norge 13)", in: fix("01 93 90 123"), err: fail{reason: ErrDate}},
		{name: "month 57 (H 17)", in: "19575770838", err: fail{reason: ErrDate}, src: "stdnum"},
		{name: "31 April", in: fix("31 04 90 123"), err: fail{reason: ErrDate}},
		{name: "30 February test-norge", in: fix("30 82 90 123"), err: fail{reason: ErrDate}},
		{name: "day 32 test-norge", in: fix("32 82 90 123"), err: fail{reason: ErrDate}},

		// --- Input forms.
		{name: "space group", in: "151086 95088", ok: &want{canon: "15108695088", kind: FNR, birth: "1986-10-15"}, src: "stdnum"},
		{name: "dash group", in: "151086-95088", ok: &want{canon: "15108695088", kind: FNR, birth: "1986-10-15"}, src: "stdnum"},
		{name: "dash before check digits", in: "111115984-03", ok: &want{canon: "11111598403", kind: FNR, birth: "2015-11-11"}, src: "stdnum"},
		{name: "many spaces", in: "26 11 15 940 14", ok: &want{canon: "26111594014", kind: FNR, birth: "2015-11-26"}, src: "stdnum"},
		{name: "many spaces 2", in: "10 04 87 44 732", ok: &want{canon: "10048744732", kind: FNR, birth: "1987-04-10"}, src: "stdnum"},
		{name: "dot group", in: "130972.48022", ok: &want{canon: "13097248022", kind: FNR, birth: "1972-09-13"}},
		{name: "dash with spaces", in: "130972 - 48022", ok: &want{canon: "13097248022", kind: FNR, birth: "1972-09-13"}},
		{name: "surrounding blanks", in: " \t13097248022\r\n", ok: &want{canon: "13097248022", kind: FNR, birth: "1972-09-13"}},
		{name: "no-break spaces", in: "\u00a0130972\u00a048022\u00a0", ok: &want{canon: "13097248022", kind: FNR, birth: "1972-09-13"}},
		{name: "narrow no-break space", in: "130972\u202f48022\u202f", ok: &want{canon: "13097248022", kind: FNR, birth: "1972-09-13"}},
		{name: "byte order mark", in: "\ufeff13097248022", ok: &want{canon: "13097248022", kind: FNR, birth: "1972-09-13"}},
		{name: "several dashes", in: "18-06-15-92527", err: fail{reason: ErrCharacters}, src: "stdnum"},
		{name: "date with dots", in: "13.09.72 48022", err: fail{reason: ErrCharacters}},
		{name: "double dash", in: "130972--48022", err: fail{reason: ErrCharacters}},
		{name: "leading dash", in: "-13097248022", err: fail{reason: ErrCharacters}},
		{name: "trailing dash", in: "13097248022 -", err: fail{reason: ErrCharacters}},
		{name: "letter", in: "a0gzaB30529", err: fail{reason: ErrCharacters}, src: "stdnum"},
		{name: "letter O for zero", in: "13O97248022", err: fail{reason: ErrCharacters}},
		{name: "trailing letter", in: "1234567891A", err: fail{reason: ErrCharacters}, src: "navikt"},
		{name: "inner tab", in: "130972\t48022", err: fail{reason: ErrCharacters}},
		{name: "byte order mark inside", in: "130972\ufeff48022", err: fail{reason: ErrCharacters}},
		{name: "fullwidth digits", in: "１３０９７２４８０２２", err: fail{reason: ErrCharacters}},
		{name: "country prefix", in: "+4713097248022", err: fail{reason: ErrCharacters}},
		{name: "invalid utf-8", in: "1309724802\xc2", err: fail{reason: ErrCharacters}},
		{name: "empty", in: "", err: fail{reason: ErrEmpty}},
		{name: "blank", in: " \t\u00a0 ", err: fail{reason: ErrEmpty}},
		{name: "one digit", in: "1", err: fail{reason: ErrLength}},
		{name: "nine digits", in: "130972480", err: fail{reason: ErrLength}},
		{name: "twelve digits", in: "123456789101", err: fail{reason: ErrLength}, src: "navikt"},
		{name: "fourteen digits", in: "42485176432123", err: fail{reason: ErrLength}, src: "stdnum"},
		{name: "many digits", in: strings.Repeat("1234567890", 10), err: fail{reason: ErrLength}},

		// --- Lost leading zero.
		{name: "ten digits fixable", in: "5840399895", err: fail{reason: ErrLeadingZero, fixable: true}, src: "nav-dolly"},
		{name: "ten digits fixable grouped", in: "58403 99895", err: fail{reason: ErrLeadingZero, fixable: true}, src: "nav-dolly"},
		{name: "ten digits not fixable", in: "1234567890", err: fail{reason: ErrLeadingZero}, src: "navikt"},
		{name: "restored", in: "5840399895", restore: true, ok: &want{canon: "05840399895", kind: FNR, synth: TestNorge, birth: "2003-04-05", restored: true}, src: "nav-dolly"},
		{name: "restored grouped", in: " 58403-99895 ", restore: true, ok: &want{canon: "05840399895", kind: FNR, synth: TestNorge, birth: "2003-04-05", restored: true}, src: "nav-dolly"},
		{name: "restore not possible", in: "1234567890", restore: true, err: fail{reason: ErrLeadingZero}, src: "navikt"},
		{name: "restore leaves eleven digits alone", in: "05840399895", restore: true, ok: &want{kind: FNR, synth: TestNorge, birth: "2003-04-05"}, src: "nav-dolly"},
		{name: "eleven digits with zero", in: "05840399895", ok: &want{kind: FNR, synth: TestNorge, birth: "2003-04-05"}, src: "nav-dolly"},
		{name: "restore does not apply to nine digits", in: "584039989", restore: true, err: fail{reason: ErrLength}},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Parser{RestoreLeadingZero: tc.restore}
			n, err := p.Parse(tc.in)
			nb, errb := p.ParseBytes([]byte(tc.in))
			if n != nb || err != errb {
				t.Errorf("Parse and ParseBytes differ: %v %v / %v %v", n.Kind(), err, nb.Kind(), errb)
			}
			if !tc.restore {
				n2, err2 := Parse(tc.in)
				if n2 != n || err2 != err {
					t.Errorf("package-level Parse differs from the zero Parser")
				}
				if Valid(tc.in) != (err == nil) {
					t.Errorf("Valid disagrees with Parse")
				}
			}
			res := Describe(tc.in, p)
			if _, jerr := json.Marshal(res); jerr != nil {
				t.Errorf("Describe JSON: %v", jerr)
			}

			if tc.ok == nil {
				if err == nil {
					t.Fatalf("Parse succeeded (kind %v), want reason %v", n.Kind(), tc.err.reason)
				}
				if !n.IsZero() || n.String() != "" {
					t.Errorf("invalid input returned a non-zero Number")
				}
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %T is not *Error", err)
				}
				if e.Reason != tc.err.reason || !errors.Is(err, tc.err.reason) {
					t.Errorf("reason %v (%q), want %v", e.Reason, err, tc.err.reason)
				}
				for _, r := range []Reason{ErrEmpty, ErrLength, ErrCharacters, ErrLeadingZero, ErrChecksum, ErrDate} {
					if r != tc.err.reason && errors.Is(err, r) {
						t.Errorf("errors.Is matches %v as well", r)
					}
				}
				if e.CheckDigit != tc.err.checkDigit {
					t.Errorf("CheckDigit %d, want %d (%q)", e.CheckDigit, tc.err.checkDigit, err)
				}
				if e.ZeroFixable != tc.err.fixable {
					t.Errorf("ZeroFixable %v, want %v", e.ZeroFixable, tc.err.fixable)
				}
				if msg := err.Error(); strings.ContainsAny(msg, "0123456789") || !strings.HasPrefix(msg, "nid: ") {
					t.Errorf("error message %q contains digits or lacks the prefix", msg)
				}
				if res.Valid || res.Reason != tc.err.reason.String() || res.Message != err.Error() || res.Kind != "" || res.BirthDate != "" {
					t.Errorf("Describe = %+v", res)
				}
				return
			}

			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			w := tc.ok
			canon := w.canon
			if canon == "" {
				canon = tc.in
			}
			if got := n.String(); got != canon {
				t.Errorf("String() = %q, want %q", got, canon)
			}
			if got := string(n.Append([]byte("x"))); got != "x"+canon {
				t.Errorf("Append = %q", got)
			}
			if n.Kind() != w.kind || n.Synthetic() != w.synth || n.Rule2032() != w.rule2032 || n.ZeroRestored() != w.restored {
				t.Errorf("got kind %v synth %v rule2032 %v restored %v, want %v %v %v %v",
					n.Kind(), n.Synthetic(), n.Rule2032(), n.ZeroRestored(), w.kind, w.synth, w.rule2032, w.restored)
			}
			bd, ok := n.BirthDate()
			if got := ""; ok {
				got = bd.Format("2006-01-02")
				if got != w.birth {
					t.Errorf("BirthDate = %s, want %q", got, w.birth)
				}
				if bd.Location() != time.UTC || bd.Hour() != 0 {
					t.Errorf("BirthDate not midnight UTC: %v", bd)
				}
			} else if w.birth != "" {
				t.Errorf("no BirthDate, want %s", w.birth)
			}
			// The canonical form parses to the same Number (apart from the
			// restoration flag).
			again, err := Parse(n.String())
			n.flags &^= flagZeroRestored
			if err != nil || again != n {
				t.Errorf("re-parsing String() gave %v, %v", again.String(), err)
			}
			want := Result{Valid: true, Kind: w.kind.String(), Synthetic: w.synth.String(), BirthDate: w.birth, Rule2032: w.rule2032, ZeroRestored: w.restored}
			if res != want {
				t.Errorf("Describe = %+v, want %+v", res, want)
			}
		})
	}
}

// TestSynthetic checks that generated numbers parse back to what was asked
// for, across kinds, centuries and leap days.
func TestSynthetic(t *testing.T) {
	type span struct{ from, to, indLo, indHi int }
	spans := []span{{1854, 1899, 500, 749}, {1900, 1999, 0, 499}, {1940, 1999, 900, 999}, {2000, 2039, 500, 999}}
	made := 0
	for _, sp := range spans {
		for y := sp.from; y <= sp.to; y += 7 {
			for _, md := range [][2]int{{1, 1}, {2, 28}, {2, 29}, {12, 31}, {6, 15}} {
				birth := time.Date(y, time.Month(md[0]), md[1], 12, 0, 0, 0, time.UTC)
				if birth.Day() != md[1] {
					continue // no leap day this year
				}
				for _, kind := range []Kind{FNR, DNumber} {
					for _, tn := range []bool{true, false} {
						for ind := sp.indLo; ind <= sp.indHi; ind += 37 {
							n, err := Synthetic(birth, ind, kind, tn)
							if errors.Is(err, ErrNoCheckDigits) {
								continue
							}
							if err != nil {
								t.Fatalf("Synthetic(%v, %d, %v, %v): %v", birth, ind, kind, tn, err)
							}
							made++
							wantKind, wantSynth := kind, TestNorge
							if !tn {
								wantSynth = HOrNAV
								if kind == FNR {
									wantKind = HNumber
								}
							}
							bd, ok := n.BirthDate()
							if !ok || bd.Format("2006-01-02") != birth.Format("2006-01-02") || n.Kind() != wantKind ||
								n.Synthetic() != wantSynth || n.Rule2032() {
								t.Fatalf("Synthetic(%v, %d, %v, %v) = %v %v %v %v", birth, ind, kind, tn, bd, n.Kind(), n.Synthetic(), n.Rule2032())
							}
							if again, err := Parse(n.String()); err != nil || again != n {
								t.Fatalf("re-parse: %v", err)
							}
						}
					}
				}
			}
		}
	}
	if made < 1000 {
		t.Errorf("only %d numbers made", made)
	}

	// Unusable arguments.
	b := time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		birth time.Time
		ind   int
		kind  Kind
	}{
		{b, 100, HNumber}, {b, 100, FHNumber}, {b, 100, NoKind},
		{b, -1, FNR}, {b, 1000, FNR},
		{b, 600, FNR}, // 500-749 is 1854-1899
		{b, 800, FNR}, // 750-899 does not encode a century here
		{time.Date(1850, 1, 1, 0, 0, 0, 0, time.UTC), 600, FNR}, // before the scheme
		{time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC), 600, FNR}, // after the classic scheme
	} {
		if _, err := Synthetic(c.birth, c.ind, c.kind, true); err == nil || errors.Is(err, ErrNoCheckDigits) {
			t.Errorf("Synthetic(%v, %d, %v) error = %v, want an argument error", c.birth, c.ind, c.kind, err)
		}
	}
	// Some individual numbers have no classic check digits (k1 or k2 would
	// be 10): about two in eleven.
	noDigits := 0
	for ind := range 500 {
		if _, err := Synthetic(b, ind, FNR, true); errors.Is(err, ErrNoCheckDigits) {
			noDigits++
		}
	}
	if noDigits == 0 || noDigits > 200 {
		t.Errorf("%d of 500 individual numbers without check digits", noDigits)
	}
}

// TestCheckRules cross-checks the 2032 rule on every nine-digit prefix of a
// sample: exactly the values k1 with (S1+k1) mod 11 in 0..3 are accepted.
func TestCheckRules(t *testing.T) {
	for _, prefix := range []string{"018170950", "298200100", "912345678", "019390123", "000000000"} {
		accepted := 0
		for k1 := range 10 {
			for k2 := range 10 {
				s := prefix + string(rune('0'+k1)) + string(rune('0'+k2))
				var d [11]byte
				for i := range d {
					d[i] = s[i] - '0'
				}
				_, err := check(pack(&d))
				if e, ok := err.(*Error); ok && e.Reason == ErrDate {
					err = nil // only the check digits matter here
				}
				if err == nil {
					accepted++
				}
			}
		}
		// Four remainders, minus the ones where k1 or k2 would be 10.
		want := 0
		var d [11]byte
		for i := range 9 {
			d[i] = prefix[i] - '0'
		}
		for rest := range uint(4) {
			if _, _, ok := checkDigits(&d, rest); ok {
				want++
			}
		}
		if accepted != want || want < 2 {
			t.Errorf("%s: %d numbers accepted, want %d", prefix, accepted, want)
		}
	}
}

// TestFastPath checks the eight-at-a-time digit test against the general
// path for every byte value at every position.
func TestFastPath(t *testing.T) {
	base := []byte("10915596784")
	for i := range base {
		for c := range 256 {
			in := append([]byte(nil), base...)
			in[i] = byte(c)
			n1, err1 := parse(nil, in)
			n2, err2 := parseSlow[[]byte](nil, in)
			if n1 != n2 || err1 != err2 {
				t.Fatalf("position %d byte %#x: fast path %v %v, general path %v %v", i, c, n1.Kind(), err1, n2.Kind(), err2)
			}
		}
	}
}

// TestNoAllocs checks that parsing allocates nothing, valid or not.
func TestNoAllocs(t *testing.T) {
	inputs := [][]byte{
		[]byte("10915596784"), []byte(" 109155 96784 "), []byte("10915596785"),
		[]byte("5840399895"), []byte("x"), []byte(""), []byte(fix("32 01 90 123")),
	}
	p := &Parser{RestoreLeadingZero: true}
	for _, in := range inputs {
		if a := testing.AllocsPerRun(100, func() {
			_, _ = p.ParseBytes(in)
			_, _ = ParseBytes(in)
		}); a != 0 {
			t.Errorf("%d allocations", int(a))
		}
	}
}

// TestStrings covers the token and description tables.
func TestStrings(t *testing.T) {
	for k, want := range map[Kind]string{NoKind: "none", FNR: "fnr", DNumber: "dnr", HNumber: "hnr", FHNumber: "fhnr", 99: "unknown"} {
		if k.String() != want || k.Description() == "" {
			t.Errorf("Kind(%d) = %q %q", k, k.String(), k.Description())
		}
	}
	for s, want := range map[Synth]string{NotSynthetic: "none", HOrNAV: "h-or-nav", TestNorge: "test-norge", 99: "unknown"} {
		if s.String() != want || s.Description() == "" {
			t.Errorf("Synth(%d) = %q %q", s, s.String(), s.Description())
		}
	}
	if !strings.Contains(HOrNAV.Description(), "H-number or NAV synthetic") {
		t.Errorf("HOrNAV description %q", HOrNAV.Description())
	}
	for _, r := range []Reason{0, ErrEmpty, ErrLength, ErrCharacters, ErrLeadingZero, ErrChecksum, ErrDate, 99} {
		if strings.ContainsAny(r.Error(), "0123456789") || r.String() == "" || !strings.HasPrefix(r.Error(), "nid: ") {
			t.Errorf("Reason(%d) = %q %q", r, r.String(), r.Error())
		}
	}
	if (&Error{Reason: ErrDate}).Error() != ErrDate.Error() {
		t.Errorf("Error without message")
	}
	var zero Number
	if _, ok := zero.BirthDate(); ok || zero.String() != "" || zero.Kind() != NoKind || len(zero.Append(nil)) != 0 {
		t.Errorf("zero Number misbehaves")
	}
	var nilParser *Parser
	if _, err := nilParser.Parse("5840399895"); !errors.Is(err, ErrLeadingZero) {
		t.Errorf("nil Parser: %v", err)
	}
}
