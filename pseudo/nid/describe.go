package nid

import "errors"

// Result describes one input for command-line output, as text or JSON. It
// never contains the number itself.
type Result struct {
	// Valid reports whether the input is a valid identity number.
	Valid bool `json:"valid"`
	// Kind is the Kind token ("fnr", "dnr", "hnr", "fhnr"), or "" if invalid.
	Kind string `json:"kind"`
	// Synthetic is the Synth token ("none", "h-or-nav", "test-norge"), or ""
	// if invalid.
	Synthetic string `json:"synthetic"`
	// BirthDate is the birth date as YYYY-MM-DD, or "" when it cannot be
	// derived (see Number.BirthDate) or the input is invalid.
	BirthDate string `json:"birth_date"`
	// Rule2032 reports a number valid only under the 2032 check-digit rule.
	Rule2032 bool `json:"rule_2032"`
	// ZeroRestored reports that a lost leading zero was restored.
	ZeroRestored bool `json:"zero_restored"`
	// Reason is the Reason token ("empty", "length", "characters",
	// "leading-zero", "checksum", "date"), or "" if valid.
	Reason string `json:"reason,omitempty"`
	// Message is the human-readable error message (without digits), or "" if
	// valid.
	Message string `json:"message,omitempty"`
}

// Describe parses s with p and summarises the outcome.
func Describe(s string, p Parser) Result {
	n, err := p.Parse(s)
	if err != nil {
		r := Result{Message: err.Error()}
		var e *Error
		if errors.As(err, &e) {
			r.Reason = e.Reason.String()
		}
		return r
	}
	r := Result{
		Valid:        true,
		Kind:         n.Kind().String(),
		Synthetic:    n.Synthetic().String(),
		Rule2032:     n.Rule2032(),
		ZeroRestored: n.ZeroRestored(),
	}
	if t, ok := n.BirthDate(); ok {
		r.BirthDate = t.Format("2006-01-02")
	}
	return r
}
