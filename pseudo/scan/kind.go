package scan

// A Kind names what a column, or a span of free text, holds.
type Kind string

// The kinds of direct identifier: each on its own points to one person (or,
// for organisation numbers and bank accounts, to one organisation or account
// holder).
const (
	// NID is a Norwegian identity number of any type: fødselsnummer, D-,
	// H- or FH-number, synthetic test numbers (pseudo/nid validates them).
	NID Kind = "nid"
	// SwedishPNR is a Swedish personnummer or samordningsnummer (day + 60):
	// YYMMDD-NNNN, YYMMDD+NNNN or YYYYMMDDNNNN, with a valid date and Luhn
	// check digit.
	SwedishPNR Kind = "se-personnummer"
	// DanishCPR is a Danish CPR number, DDMMYY-SSSS. Numbers issued since
	// 2007 need not satisfy the old modulus-11 check, so only the format and
	// the date (with the century the seventh digit implies) are checked: a
	// weaker test than for the other numbers.
	DanishCPR Kind = "dk-cpr"
	// FinnishHETU is a Finnish henkilötunnus, DDMMYYCZZZQ: century sign
	// (+, -, A-F, U-Y), individual number and the mod-31 check character.
	FinnishHETU Kind = "fi-hetu"
	// Email is an e-mail address.
	Email Kind = "email"
	// Phone is a Norwegian telephone number: eight digits starting with 2-7
	// or 9 (mobile 4 and 9, landlines 2, 3, 5, 6 and 7), optionally with the
	// country code +47 or 0047.
	Phone Kind = "phone"
	// Name is a person's name (or part of one), recognised from the shipped
	// name lists and the form of the value.
	Name Kind = "name"
	// OrgNumber is a Norwegian organisation number: nine digits starting
	// with 8 or 9, mod-11 check digit with weights 3 2 7 6 5 4 3 2. It
	// identifies an organisation; for a sole proprietorship, a person.
	OrgNumber Kind = "org-number"
	// BankAccount is a Norwegian bank account number: eleven digits, mod-11
	// check digit with weights 5 4 3 2 7 6 5 4 3 2.
	BankAccount Kind = "bank-account"
	// FreeText is a free-text column in which identifiers were found.
	FreeText Kind = "free-text"
)

// The kinds of quasi-identifier: harmless alone, identifying in combination.
const (
	// BirthDate is a date of birth.
	BirthDate Kind = "birth-date"
	// Date is another date about a person (admission, visit, death, ...).
	Date Kind = "date"
	// BirthYear is a year of birth.
	BirthYear Kind = "birth-year"
	// Age is an age in years.
	Age Kind = "age"
	// Sex is sex or gender.
	Sex Kind = "sex"
	// Postcode is a Norwegian postcode (four digits).
	Postcode Kind = "postcode"
	// Municipality is a Norwegian municipality, by name or number.
	Municipality Kind = "municipality"
	// Occupation is an occupation, profession or job title.
	Occupation Kind = "occupation"
)

// The other kinds.
const (
	// PseudonymCode is a column of pseudokit codes (K... or R..., with a
	// valid check character): already pseudonymised.
	PseudonymCode Kind = "pseudonym-code"
	// Text is free text in which no identifier was found.
	Text Kind = "text"
	// Year is a column of years not known to be years of birth.
	Year Kind = "year"
	// Other is anything else.
	Other Kind = "other"
	// Empty is a column without values.
	Empty Kind = "empty"
)

// A Role says how a column bears on identifying people.
type Role string

// The roles.
const (
	// Direct identifiers identify a person on their own: they must be coded,
	// replaced or removed.
	Direct Role = "direct"
	// Quasi identifiers identify in combination (birth date, postcode, sex,
	// ...): they are measured with k-anonymity and generalised.
	Quasi Role = "quasi"
	// Pseudonym columns hold pseudokit codes.
	Pseudonym Role = "pseudonym"
	// OtherRole is everything else.
	OtherRole Role = "other"
)

// Role returns the role of columns of kind k.
func (k Kind) Role() Role {
	switch k {
	case NID, SwedishPNR, DanishCPR, FinnishHETU, Email, Phone, Name, OrgNumber, BankAccount, FreeText:
		return Direct
	case BirthDate, Date, BirthYear, Age, Sex, Postcode, Municipality, Occupation:
		return Quasi
	case PseudonymCode:
		return Pseudonym
	}
	return OtherRole
}

// Description returns a short English description of the kind.
func (k Kind) Description() string {
	if d, ok := descriptions[k]; ok {
		return d
	}
	return string(k)
}

var descriptions = map[Kind]string{
	NID:           "Norwegian identity number",
	SwedishPNR:    "Swedish personnummer",
	DanishCPR:     "Danish CPR number",
	FinnishHETU:   "Finnish personal identity code (HETU)",
	Email:         "e-mail address",
	Phone:         "telephone number",
	Name:          "person's name",
	OrgNumber:     "Norwegian organisation number",
	BankAccount:   "Norwegian bank account number",
	FreeText:      "free text containing identifiers",
	BirthDate:     "date of birth",
	Date:          "date",
	BirthYear:     "year of birth",
	Age:           "age",
	Sex:           "sex",
	Postcode:      "postcode",
	Municipality:  "municipality",
	Occupation:    "occupation",
	PseudonymCode: "pseudokit code",
	Text:          "free text (no identifier found)",
	Year:          "year",
	Other:         "other",
	Empty:         "empty",
}

// idKinds are the kinds whose whole-value matches are counted over every
// row, in order of precedence: when two kinds match the same share of a
// column, the earlier wins (a valid identity number also passes the bank
// account check, whose weights are those of its second check digit).
var idKinds = [...]Kind{NID, FinnishHETU, SwedishPNR, OrgNumber, BankAccount, Email, DanishCPR, Phone}

// kindIndex gives each kind counted per value a small index.
type kindIndex uint8

const (
	kNID kindIndex = iota
	kFI
	kSE
	kOrg
	kAccount
	kEmail
	kDK
	kPhone
	kName
	numKinds
)

var kindOfIndex = [numKinds]Kind{NID, FinnishHETU, SwedishPNR, OrgNumber, BankAccount, Email, DanishCPR, Phone, Name}

// strongKinds are the identifier kinds with a check digit or an
// unmistakable form: a stray value of one of them in any column is worth a
// warning.
func strong(k Kind) bool {
	switch k {
	case NID, FinnishHETU, SwedishPNR, Email:
		return true
	}
	return false
}
