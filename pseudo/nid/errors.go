package nid

// Reason classifies why an input is not a valid identity number.
//
// The Reason constants are errors themselves, so they serve as sentinels for
// errors.Is:
//
//	if errors.Is(err, nid.ErrLeadingZero) { ... }
//
// The zero Reason is not used.
type Reason uint8

// The reasons for invalidity.
const (
	// ErrEmpty: the input is empty or blank.
	ErrEmpty Reason = iota + 1
	// ErrLength: the input has fewer or more digits than eleven, but not ten
	// (ten digits are ErrLeadingZero).
	ErrLength
	// ErrCharacters: the input contains a character other than digits,
	// blanks and one dash or dot between digits.
	ErrCharacters
	// ErrLeadingZero: the input has ten digits, which typically means a
	// spreadsheet dropped the leading zero. Error.ZeroFixable tells whether
	// prepending a zero gives a valid number.
	ErrLeadingZero
	// ErrChecksum: the check digits are wrong under both the classic and the
	// 2032 rule. Error.CheckDigit tells which one, where that is known.
	ErrChecksum
	// ErrDate: the encoded date is impossible (day, month, or 29 February in
	// a year that cannot be a leap year).
	ErrDate
)

var reasonTokens = [...]string{
	ErrEmpty:       "empty",
	ErrLength:      "length",
	ErrCharacters:  "characters",
	ErrLeadingZero: "leading-zero",
	ErrChecksum:    "checksum",
	ErrDate:        "date",
}

var reasonMessages = [...]string{
	ErrEmpty:       "nid: empty value",
	ErrLength:      "nid: wrong number of digits, expected eleven",
	ErrCharacters:  "nid: invalid character",
	ErrLeadingZero: "nid: ten digits, expected eleven (a leading zero may have been lost, e.g. by Excel)",
	ErrChecksum:    "nid: wrong check digit",
	ErrDate:        "nid: impossible date",
}

// String returns a stable lower-case token for the reason ("empty",
// "length", "characters", "leading-zero", "checksum", "date"), suitable
// for machine-readable output. Note that the fmt verbs %v and %s print
// Error(), not String(), because a Reason is an error.
func (r Reason) String() string {
	if int(r) < len(reasonTokens) && reasonTokens[r] != "" {
		return reasonTokens[r]
	}
	return "unknown"
}

// Error returns a generic message for the reason. It never contains digits.
func (r Reason) Error() string {
	if int(r) < len(reasonMessages) && reasonMessages[r] != "" {
		return reasonMessages[r]
	}
	return "nid: invalid identity number"
}

// Error is the error returned for invalid input. It never holds the input or
// any part of it, and its message contains no digits, so it is safe to log.
//
// Errors returned by this package may be shared between calls: treat them as
// read-only.
type Error struct {
	// Reason is the class of the problem; errors.Is(err, Reason) matches it.
	Reason Reason
	// CheckDigit tells which check digit is wrong when Reason is ErrChecksum:
	// 1 for the first (tenth digit), 2 for the second (eleventh digit), and
	// 0 when either may be wrong (the first check digit is valid only under
	// the 2032 rule and the second does not match it: a mistyped first check
	// digit of a classic number looks like that). Otherwise 0.
	CheckDigit int
	// ZeroFixable is set when Reason is ErrLeadingZero and prepending "0" to
	// the ten digits gives a valid number.
	ZeroFixable bool

	msg string
}

// Error returns a human-readable message without digits.
func (e *Error) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return e.Reason.Error()
}

// Unwrap returns the Reason, so that errors.Is(err, ErrChecksum) and the like
// work.
func (e *Error) Unwrap() error { return e.Reason }

// Preallocated errors: parsing never allocates, not even for invalid input.
var (
	errEmpty          = &Error{Reason: ErrEmpty, msg: "nid: empty value"}
	errTooFew         = &Error{Reason: ErrLength, msg: "nid: too few digits, expected eleven"}
	errTooMany        = &Error{Reason: ErrLength, msg: "nid: too many digits, expected eleven"}
	errCharacter      = &Error{Reason: ErrCharacters, msg: "nid: invalid character (only digits, blanks and one dash or dot are allowed)"}
	errSeparators     = &Error{Reason: ErrCharacters, msg: "nid: more than one dash or dot"}
	errSeparatorPlace = &Error{Reason: ErrCharacters, msg: "nid: dash or dot not between digits"}
	errZeroFixable    = &Error{Reason: ErrLeadingZero, ZeroFixable: true,
		msg: "nid: ten digits, expected eleven (a leading zero may have been lost, e.g. by Excel); prepending a zero gives a valid number"}
	errZeroNotFixable = &Error{Reason: ErrLeadingZero,
		msg: "nid: ten digits, expected eleven (a leading zero may have been lost, e.g. by Excel); prepending a zero does not give a valid number either"}
	errCheck1   = &Error{Reason: ErrChecksum, CheckDigit: 1, msg: "nid: first check digit is wrong"}
	errCheck2   = &Error{Reason: ErrChecksum, CheckDigit: 2, msg: "nid: second check digit is wrong"}
	errCheckAny = &Error{Reason: ErrChecksum, msg: "nid: check digits do not match (the first or the second is wrong)"}
	errMonth    = &Error{Reason: ErrDate, msg: "nid: impossible date: no such month"}
	errDay      = &Error{Reason: ErrDate, msg: "nid: impossible date: no such day in that month"}
	errLeapYear = &Error{Reason: ErrDate, msg: "nid: impossible date: leap day in a year that is not a leap year"}
)
