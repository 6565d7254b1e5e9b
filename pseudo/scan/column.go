package scan

import (
	"cmp"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"strings"
)

// DefaultSampleSize is the number of values per column kept to classify a
// column by the form of its values (names, dates, categories).
const DefaultSampleSize = 1000

// maxShapes bounds the distinct shapes counted per column.
const maxShapes = 64

// maxSampleValue bounds the bytes of a value kept in the sample.
const maxSampleValue = 256

// Confidence says how sure a classification is.
type Confidence string

// The confidence levels.
const (
	// High: a check digit or an unmistakable form (identity numbers, e-mail
	// addresses, pseudokit codes), or the column's name and its values agree.
	High Confidence = "high"
	// Medium: the form of the values (names from lists, phone numbers,
	// Danish CPR numbers, dates).
	Medium Confidence = "medium"
	// Low: the column's name alone, or a weak pattern.
	Low Confidence = "low"
)

// A ShapeCount is a masked form of values (see Shape) and how many values
// have it.
type ShapeCount struct {
	Shape string `json:"shape"`
	Count int64  `json:"count"`
}

// ColumnReport classifies one column. It holds counts and masked forms,
// never a value.
type ColumnReport struct {
	// Column is the column's name.
	Column string `json:"column"`
	// Kind is what the column holds; Role follows from it.
	Kind Kind `json:"kind"`
	Role Role `json:"role"`
	// Confidence says how sure the classification is.
	Confidence Confidence `json:"confidence"`
	// Rows is the number of rows; Values those that are not empty or null.
	Rows   int64 `json:"rows"`
	Values int64 `json:"values"`
	// Matching is the number of values of Kind among the Sampled values
	// counted: all values for identifier kinds and free text, the sample
	// for the others. Share is Matching / Sampled.
	Matching int64   `json:"matching"`
	Sampled  int64   `json:"sampled"`
	Share    float64 `json:"share"`
	// Identifiers counts, over all rows, the values that are or contain an
	// identifier of each kind (names only inside text of two words or
	// more; numbers and addresses also inside one word, "fnr:...").
	Identifiers map[Kind]int64 `json:"identifiers,omitempty"`
	// Shapes are the most common masked forms of the values, most common
	// first (none for free text).
	Shapes []ShapeCount `json:"shapes,omitempty"`
	// Reason explains the classification in a sentence.
	Reason string `json:"reason"`
	// Warnings note identifiers found in a column not classified as holding
	// them.
	Warnings []string `json:"warnings,omitempty"`
	// Rule is the suggested rule for `pseudokit pseudonymize`.
	Rule Suggestion `json:"suggested_rule"`
}

// Options configure scanning.
type Options struct {
	// SampleSize is the number of values per column kept (a deterministic
	// reservoir sample) to classify the column by the form of its values
	// (default DefaultSampleSize). Identifier numbers, e-mail addresses,
	// phone numbers and identifiers in free text are counted over every
	// row regardless.
	SampleSize int
}

func (o Options) sampleSize() int {
	if o.SampleSize <= 0 {
		return DefaultSampleSize
	}
	return o.SampleSize
}

// A ColumnScanner classifies one column from its values, given one at a
// time, in bounded memory: counts over all values plus a sample of at most
// Options.SampleSize values.
type ColumnScanner struct {
	name     string
	hints    hint
	size     int
	rng      *rand.Rand
	rows     int64
	values   int64
	whole    [numKinds]int64 // values that are an identifier of the kind
	inside   [numKinds]int64 // values of two words or more that contain one
	anyID    int64           // values that are or contain any identifier
	withIDs  int64           // values of two words or more containing an identifier
	textual  int64           // values of three words or more
	words    int64
	sample   []string
	shapes   map[string]int64
	others   int64 // values whose shape was not counted (too many shapes)
	matches  []Match
	shapeBuf []byte
}

// NewColumnScanner returns a scanner for the column named name (the name
// helps: "fnr", "epost", "alder" and the like support what the values
// suggest).
func NewColumnScanner(name string, o Options) *ColumnScanner {
	return &ColumnScanner{
		name:   name,
		hints:  headerHints(name),
		size:   o.sampleSize(),
		rng:    rand.New(rand.NewPCG(0x5eed, uint64(len(name)))),
		shapes: map[string]int64{},
	}
}

// AddNull counts a null value.
func (c *ColumnScanner) AddNull() { c.rows++ }

// Add counts one value. The scanner keeps no reference to v.
func (c *ColumnScanner) Add(v string) {
	c.rows++
	t := strings.TrimSpace(v)
	if t == "" {
		return
	}
	c.values++
	set := valueKinds(t)
	for k := kindIndex(0); k < numKinds; k++ {
		if set&(1<<k) != 0 {
			c.whole[k]++
		}
	}
	words := countWords(t)
	c.words += int64(words)
	if words >= 3 {
		c.textual++
	}
	if set == 0 && (words >= 2 || maybeInside(t)) {
		c.matches = AppendFind(c.matches[:0], t)
		var in uint16
		for _, m := range c.matches {
			in |= 1 << indexOf(m.Kind)
		}
		for k := kindIndex(0); k < numKinds; k++ {
			if in&(1<<k) != 0 {
				c.inside[k]++
			}
		}
		if in != 0 {
			c.withIDs++
			set = in
		}
	}
	if set != 0 {
		c.anyID++
	}
	c.shapeBuf = appendShape(c.shapeBuf[:0], t)
	if n, ok := c.shapes[string(c.shapeBuf)]; ok {
		c.shapes[string(c.shapeBuf)] = n + 1
	} else if len(c.shapes) < maxShapes {
		c.shapes[string(c.shapeBuf)] = 1
	} else {
		c.others++
	}
	// Reservoir sample (algorithm R), deterministic.
	if len(c.sample) < c.size {
		c.sample = append(c.sample, clip(t))
	} else if j := c.rng.Int64N(c.values); j < int64(c.size) {
		c.sample[j] = clip(t)
	}
}

// maybeInside reports whether a one-word value may hold an identifier
// inside ("fnr:01019012345", "<kari@example.no>"): an '@' or a run of at
// least eight digits.
func maybeInside(v string) bool {
	run := 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '@':
			return true
		case c >= '0' && c <= '9':
			run++
			if run >= 8 {
				return true
			}
		default:
			run = 0
		}
	}
	return false
}

// clip copies v, cut to maxSampleValue bytes at a character boundary.
func clip(v string) string {
	if len(v) > maxSampleValue {
		i := maxSampleValue
		for i > 0 && v[i]&0xC0 == 0x80 {
			i--
		}
		v = v[:i]
	}
	return strings.Clone(v)
}

func indexOf(k Kind) kindIndex {
	for i, x := range kindOfIndex {
		if x == k {
			return kindIndex(i)
		}
	}
	return numKinds
}

// Column classifies a column from its values.
func Column(name string, values iter.Seq[string], o Options) ColumnReport {
	c := NewColumnScanner(name, o)
	for v := range values {
		c.Add(v)
	}
	return c.Result()
}

// Result classifies the column from the values added so far.
func (c *ColumnScanner) Result() ColumnReport {
	r := ColumnReport{Column: c.name, Rows: c.rows, Values: c.values, Kind: Other, Confidence: Low}
	r.Identifiers = map[Kind]int64{}
	for k := kindIndex(0); k < numKinds; k++ {
		if n := c.whole[k] + c.inside[k]; n > 0 {
			r.Identifiers[kindOfIndex[k]] = n
		}
	}
	if len(r.Identifiers) == 0 {
		r.Identifiers = nil
	}
	c.classify(&r)
	r.Role = r.Kind.Role()
	if r.Sampled > 0 {
		r.Share = float64(r.Matching) / float64(r.Sampled)
	}
	if r.Kind != FreeText && r.Kind != Text {
		r.Shapes = c.topShapes(3)
	}
	// Stray identifiers in a column not classified as holding them.
	for _, k := range idKinds {
		n := r.Identifiers[k]
		if n == 0 || k == r.Kind || r.Kind == FreeText || !strong(k) {
			continue
		}
		if k == BankAccount && r.Kind == NID {
			continue
		}
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s %s a %s", plural(n, "value"), isOrHolds(n, r.Kind), k.Description()))
	}
	r.Rule = suggest(&r)
	return r
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func isOrHolds(n int64, _ Kind) string {
	if n == 1 {
		return "is or contains"
	}
	return "are or contain"
}

func (c *ColumnScanner) topShapes(n int) []ShapeCount {
	var out []ShapeCount
	for s, k := range c.shapes {
		out = append(out, ShapeCount{s, k})
	}
	slices.SortFunc(out, func(a, b ShapeCount) int {
		if a.Count != b.Count {
			return cmp.Compare(b.Count, a.Count)
		}
		return strings.Compare(a.Shape, b.Shape)
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// thresholds for the share of a column's values that must match a kind.
func threshold(k Kind, hinted bool) float64 {
	weak := k == DanishCPR || k == Phone
	switch {
	case weak && hinted:
		return 0.5
	case weak:
		return 0.8
	case hinted:
		return 0.2
	}
	return 0.5
}

// classify decides the column's kind.
func (c *ColumnScanner) classify(r *ColumnReport) {
	n := c.values
	if n == 0 {
		r.Kind, r.Confidence, r.Reason = Empty, High, "no values"
		return
	}
	// 1. Identifier numbers and addresses, counted over every row.
	best, bestN := Kind(""), int64(0)
	for i, k := range idKinds {
		if m := c.whole[i]; m > bestN {
			best, bestN = k, m
		}
	}
	if best != "" {
		share := float64(bestN) / float64(n)
		hinted := c.hints&hintFor(best) != 0
		if share >= threshold(best, hinted) {
			r.Kind, r.Matching, r.Sampled = best, bestN, n
			r.Confidence = Medium
			if strong(best) || best == OrgNumber || best == BankAccount {
				r.Confidence = High
			}
			if hinted && r.Confidence == Medium {
				r.Confidence = High
			}
			if share < 0.5 {
				r.Confidence = Low
			}
			r.Reason = fmt.Sprintf("%s of %d values are valid %ss%s", pct(bestN, n), n, best.Description(), reasonNote(best))
			return
		}
		if c.anyID*5 >= n*4 { // 80 % are identifiers of several kinds
			r.Kind, r.Matching, r.Sampled, r.Confidence = best, c.anyID, n, Medium
			r.Reason = fmt.Sprintf("%s of %d values are identifiers of several kinds, most often %ss", pct(c.anyID, n), n, best.Description())
			return
		}
	}
	// 2. Free text, with identifiers inside counted over every row.
	if c.textual*2 >= n || c.words >= 3*n {
		if c.withIDs > 0 {
			r.Kind, r.Matching, r.Sampled, r.Confidence = FreeText, c.withIDs, n, High
			var parts []string
			for i, k := range kindOfIndex {
				if c.inside[i] > 0 {
					parts = append(parts, fmt.Sprintf("%s (%d)", k, c.inside[i]))
				}
			}
			r.Reason = fmt.Sprintf("free text; %s of %d values contain identifiers: %s", pct(c.withIDs, n), n, strings.Join(parts, ", "))
			return
		}
		r.Kind, r.Matching, r.Sampled, r.Confidence = Text, 0, n, Medium
		r.Reason = "free text; no identifier found in it (names outside the shipped lists are not recognised)"
		return
	}
	// 3. By the form of the sampled values.
	s := int64(len(c.sample))
	var codes, sexes, munis, occs, shaped, listed, dates, ints, fourDigit, years, ages, leadingZero int64
	distinct := map[string]bool{}
	for _, v := range c.sample {
		if len(distinct) <= 16 {
			distinct[strings.ToLower(v)] = true
		}
		if isCode(v) {
			codes++
		}
		if isSexValue(v) {
			sexes++
		}
		if isMunicipality(v) {
			munis++
		}
		if isOccupation(v) {
			occs++
		}
		if sh, li := nameValue(v); sh {
			shaped++
			if li {
				listed++
			}
		}
		if _, ok := dateValue(v); ok {
			dates++
		}
		if x, ok := intValue(v); ok {
			ints++
			if x <= 125 {
				ages++
			}
			if len(v) == 4 {
				fourDigit++
				if v[0] == '0' {
					leadingZero++
				}
				if x >= 1850 && x <= 2100 {
					years++
				}
			}
		}
	}
	at := func(m int64, f float64) bool { return float64(m) >= f*float64(s) }
	set := func(k Kind, m int64, conf Confidence, reason string, args ...any) {
		r.Kind, r.Matching, r.Sampled, r.Confidence = k, m, s, conf
		r.Reason = fmt.Sprintf(reason, args...)
	}
	h := c.hints
	switch {
	case at(codes, 0.9):
		set(PseudonymCode, codes, High, "%s of %d sampled values are pseudokit codes with a valid check character", pct(codes, s), s)
	case at(sexes, 0.9) && len(distinct) <= 6:
		set(Sex, sexes, High, "%d distinct values, %s of %d sampled values are usual codes for sex", len(distinct), pct(sexes, s), s)
	case h&hSex != 0 && len(distinct) <= 3:
		set(Sex, s, Medium, "the column's name says sex; %d distinct values", len(distinct))
	case at(dates, 0.8):
		if h&hBirth != 0 {
			set(BirthDate, dates, High, "%s of %d sampled values are dates and the column's name says birth", pct(dates, s), s)
		} else {
			set(Date, dates, Medium, "%s of %d sampled values are dates", pct(dates, s), s)
		}
	case at(fourDigit, 0.9) && h&hMunicipality != 0:
		set(Municipality, fourDigit, High, "%s of %d sampled values are four digits and the column's name says municipality", pct(fourDigit, s), s)
	case at(fourDigit, 0.9) && (h&hPostcode != 0 || leadingZero > 0 || !at(years, 0.9)):
		conf := Medium
		if h&hPostcode != 0 {
			conf = High
		}
		set(Postcode, fourDigit, conf, "%s of %d sampled values are four digits (postcodes)", pct(fourDigit, s), s)
	case at(years, 0.9) && h&hBirth != 0:
		set(BirthYear, years, High, "%s of %d sampled values are years and the column's name says birth", pct(years, s), s)
	case at(years, 0.9):
		set(Year, years, Medium, "%s of %d sampled values are years (a year of birth would be a quasi-identifier)", pct(years, s), s)
	case at(ints, 0.9) && at(ages, 0.9) && h&hAge != 0:
		set(Age, ages, High, "%s of %d sampled values are whole numbers 0-125 and the column's name says age", pct(ages, s), s)
	case at(munis, 0.6) || at(munis, 0.3) && h&hMunicipality != 0:
		set(Municipality, munis, High, "%s of %d sampled values name Norwegian municipalities", pct(munis, s), s)
	case at(occs, 0.5):
		set(Occupation, occs, Medium, "%s of %d sampled values are occupations", pct(occs, s), s)
	case h&hOccupation != 0:
		set(Occupation, occs, Low, "the column's name says occupation")
	case at(shaped, 0.8) && at(listed, 0.3):
		conf := Medium
		if h&hName != 0 {
			conf = High
		}
		set(Name, listed, conf, "%s of %d sampled values have the form of names, %s are in the name lists", pct(shaped, s), s, pct(listed, s))
	case at(shaped, 0.8) && h&hName != 0:
		set(Name, listed, Medium, "%s of %d sampled values have the form of names and the column's name says name", pct(shaped, s), s)
	default:
		r.Kind, r.Sampled, r.Confidence = Other, s, Medium
		r.Reason = "no identifier or quasi-identifier recognised"
	}
}

func reasonNote(k Kind) string {
	switch k {
	case DanishCPR:
		return " (format and date only: CPR numbers since 2007 need not pass the modulus-11 check)"
	case Phone:
		return " (Norwegian number ranges)"
	}
	return ""
}

// pct formats m/n as a percentage.
func pct(m, n int64) string {
	if n == 0 {
		return "0 %"
	}
	p := 100 * float64(m) / float64(n)
	switch {
	case m == n:
		return "100 %"
	case p >= 99.95:
		return "99.9 %"
	case p < 0.1 && m > 0:
		return "<0.1 %"
	}
	return fmt.Sprintf("%.1f %%", p)
}
