// Package nid parses and validates Norwegian national identity numbers.
//
// It recognises every eleven-digit number of the fødselsnummer family:
//
//   - fødselsnummer (FNR): DDMMYY followed by a three-digit individual number
//     and two check digits;
//   - D-number (DNumber): the first digit is raised by 4 (day + 40);
//   - H-number (HNumber): the third digit is raised by 4 (month + 40);
//   - FH-number (FHNumber, felles hjelpenummer): the first digit is 8 or 9
//     and the remaining digits are random, so no date is encoded;
//   - synthetic test numbers: month + 40 (NAV Dolly) and month + 80
//     (Skatteetaten Test-Norge), also combined with the D-number offset.
//
// Month + 40 is used both by H-numbers and by NAV's synthetic (Dolly)
// numbers; the two cannot be told apart from the digits. Such numbers are
// reported as Kind HNumber (or DNumber when the day also carries + 40) with
// Synthetic() == HOrNAV. Month + 80 is reported with Synthetic() == TestNorge
// and never belongs to a real person.
//
// # Check digits
//
// With S1 the weighted sum of the first nine digits (weights 3 7 6 1 8 9 4 5
// 2) and S2 the weighted sum of the first ten digits (weights 5 4 3 2 7 6 5
// 4 3 2), the classic rule requires (S1+K1) mod 11 == 0 and
// (S2+K2) mod 11 == 0. For numbers issued from 1 January 2032 Skatteetaten
// relaxes the first check digit: (S1+K1) mod 11 may be 0, 1, 2 or 3; K2 is
// unchanged. Both rules are accepted; Number.Rule2032 reports a number that
// is valid only under the new rule.
//
// # Dates and centuries
//
// The date is checked after removing the offsets (day 1-31 as the month
// allows, month 1-12, 29 February only in leap years). The century follows
// from the individual number (digits 7-9):
//
//	individual  year   born
//	000-499     00-99  1900-1999
//	500-749     54-99  1854-1899
//	500-999     00-39  2000-2039
//	900-999     40-99  1940-1999
//
// Where these ranges do not define the century (500-749 with year 40-53,
// 750-899 with year 40-99) and for numbers valid only under the 2032 rule
// (whose individual number no longer encodes the century) the number is not
// rejected: BirthDate reports no date, and 29 February is accepted when the
// two-digit year can be a leap year. No check is made that the birth date
// lies in the past, so results do not depend on the clock.
//
// Numbers issued from 2032 that happen to satisfy the classic rule as well
// (one in four) are indistinguishable from older numbers; their birth date
// is derived with the table above. Where the exact birth date matters, the
// population register is authoritative.
//
// # Input forms
//
// Parse accepts surrounding blanks (ASCII white space, no-break spaces, a
// byte order mark), spaces between the digits and at most one dash or dot,
// e.g. "010190 12345" or "010190-12345". Ten digits are the typical result
// of a spreadsheet dropping a leading zero: this is always reported with its
// own reason (ErrLeadingZero), and the error tells whether prepending a zero
// would give a valid number; with Parser.RestoreLeadingZero the zero is
// restored and the Number records it (ZeroRestored).
//
// # Errors
//
// Errors are *Error values whose Reason can be matched with errors.Is
// (ErrEmpty, ErrLength, ErrCharacters, ErrLeadingZero, ErrChecksum,
// ErrDate). Error messages never contain the input or any part of it; in
// fact they contain no digits at all, so they are safe to log.
//
// # Performance
//
// ParseBytes and Parse do not allocate, neither for valid nor for invalid
// input (errors are preallocated values). A plain eleven-digit number takes
// some 20-30 ns: the digits are checked eight at a time and the check stays
// in registers.
//
// # Sources
//
// Rules: Skatteetaten, "Nytt fødselsnummer fra 2032"
// (github.com/Skatteetaten/folkeregisteret-api-dokumentasjon), forskrift
// om folkeregistrering § 2-2-1 (individual number series), Norsk Helsenett
// on FH-numbers, navikt/testnorge documentation (Test-Norge: month + 80)
// and NAV code distinguishing Dolly (+ 40) from Test-Norge (+ 80).
package nid
