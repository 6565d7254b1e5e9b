package scan

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/pseudokit/pseudokit/pseudo"
)

// A Suggestion is the rule suggested for a column, in the terms of
// pseudo.ColumnRule, with a comment for the rule file.
type Suggestion struct {
	Action  pseudo.Action   `json:"action"`
	Kind    pseudo.Kind     `json:"kind,omitempty"`
	Subject bool            `json:"subject,omitempty"`
	Part    pseudo.NamePart `json:"part,omitempty"`
	Comment string          `json:"comment,omitempty"`
}

// suggest proposes a rule for a classified column.
func suggest(r *ColumnReport) Suggestion {
	switch r.Kind {
	case NID:
		return Suggestion{Action: pseudo.ActionCode, Kind: pseudo.KindNID, Comment: "Norwegian identity numbers: coded, linked in the vault"}
	case SwedishPNR, DanishCPR, FinnishHETU:
		return Suggestion{Action: pseudo.ActionCode, Kind: pseudo.KindText, Comment: r.Kind.Description() + "s: coded as text"}
	case Email:
		return Suggestion{Action: pseudo.ActionCode, Kind: pseudo.KindEmail, Comment: "e-mail addresses: coded"}
	case Phone:
		return Suggestion{Action: pseudo.ActionCode, Kind: pseudo.KindPhone, Comment: "phone numbers: coded"}
	case Name:
		return Suggestion{Action: pseudo.ActionFakeName, Part: pseudo.GuessNamePart(r.Column), Comment: "names: fictitious names, the same for the same person"}
	case OrgNumber:
		return Suggestion{Action: pseudo.ActionCode, Kind: pseudo.KindText, Comment: "organisation numbers (a sole proprietorship is a person): coded as text"}
	case BankAccount:
		return Suggestion{Action: pseudo.ActionDrop, Comment: "bank account numbers: rarely needed for research"}
	case FreeText:
		return Suggestion{Action: pseudo.ActionRedact, Comment: "free text naming people: identifiers inside are replaced (ID numbers by codes); drop it if the text is not needed"}
	case PseudonymCode:
		return Suggestion{Action: pseudo.ActionKeep, Comment: "already pseudokit codes"}
	case Empty:
		return Suggestion{Action: pseudo.ActionKeep, Comment: "empty"}
	}
	if r.Role == Quasi {
		return Suggestion{Action: pseudo.ActionKeep, Comment: "quasi-identifier (" + r.Kind.Description() + "): measure and generalise with k-anonymity"}
	}
	if r.Kind == Text {
		return Suggestion{Action: pseudo.ActionKeep, Comment: "free text, no identifier found: read it before sharing"}
	}
	return Suggestion{Action: pseudo.ActionKeep}
}

// markSubject makes the first identity-number column the rules' subject.
func markSubject(cols []ColumnReport) {
	for i := range cols {
		if cols[i].Kind == NID && cols[i].Rule.Action == pseudo.ActionCode {
			cols[i].Rule.Subject = true
			return
		}
	}
}

// Rules returns the suggested rules for the columns of the reports (a
// column named in several reports gets the rule of the first), in a form
// pseudo.FileJob takes.
func Rules(reports ...*Report) *pseudo.Rules {
	r := &pseudo.Rules{Version: 1, Domain: "default", Invalid: pseudo.InvalidError}
	if invalidNIDs(reports...) > 0 {
		r.Invalid = pseudo.InvalidFlag
	}
	seen := map[string]bool{}
	subject := false
	for _, rep := range reports {
		for _, c := range rep.Columns {
			if seen[c.Column] {
				continue
			}
			seen[c.Column] = true
			cr := pseudo.ColumnRule{Column: c.Column, Action: c.Rule.Action, Kind: c.Rule.Kind, Part: c.Rule.Part}
			if c.Rule.Subject && !subject {
				cr.Subject, subject = true, true
			}
			r.Columns = append(r.Columns, cr)
		}
	}
	return r
}

// WriteRules writes the suggested rules for the reports' columns as a
// commented YAML rule file for `pseudokit pseudonymize --rules` (see
// pseudo.ParseRules). Every column is named, so that nothing is kept
// unnoticed; the comments say why each rule was chosen.
func WriteRules(w io.Writer, reports ...*Report) error {
	bw := bufio.NewWriter(w)
	var files []string
	for _, r := range reports {
		if r.File != "" {
			files = append(files, r.File)
		}
	}
	fmt.Fprintln(bw, "# Starter rules suggested by `pseudokit scan`"+from(files)+".")
	fmt.Fprintln(bw, "# Check every line: the scanner sees the form of values, not their meaning.")
	fmt.Fprintln(bw, "version: 1")
	fmt.Fprintln(bw, "domain: default")
	if n := invalidNIDs(reports...); n > 0 {
		fmt.Fprintf(bw, "invalid: flag               # %d value(s) of identity-number columns are not valid numbers: no code, reason in COLUMN_invalid\n", n)
	} else {
		fmt.Fprintln(bw, "invalid: error              # invalid identity numbers: error | flag | null")
	}
	fmt.Fprintln(bw, "columns:")
	rules := Rules(reports...)
	width := 0
	for _, c := range rules.Columns {
		width = max(width, len(yamlKey(c.Column)))
	}
	seen := map[string]bool{}
	i := 0
	for _, rep := range reports {
		for _, c := range rep.Columns {
			if seen[c.Column] {
				continue
			}
			seen[c.Column] = true
			cr := rules.Columns[i]
			i++
			key := yamlKey(c.Column) + ":"
			line := fmt.Sprintf("  %-*s %s", width+1, key, ruleValue(cr))
			comment := c.Rule.Comment
			if c.Kind != Other && c.Kind != Empty {
				detail := fmt.Sprintf("%s, %s confidence", c.Kind, c.Confidence)
				if comment == "" {
					comment = detail
				} else {
					comment = detail + "; " + comment
				}
			}
			if len(c.Warnings) > 0 {
				comment += "; WARNING: " + strings.Join(c.Warnings, "; ")
			}
			if comment != "" {
				line = fmt.Sprintf("%-*s # %s", width+44, line, comment)
			}
			fmt.Fprintln(bw, strings.TrimRight(line, " "))
		}
	}
	return bw.Flush()
}

// invalidNIDs counts the values of identity-number columns that are not
// valid numbers (typing errors, lost leading zeros aside).
func invalidNIDs(reports ...*Report) int64 {
	var n int64
	for _, r := range reports {
		for _, c := range r.Columns {
			if c.Kind == NID {
				n += c.Values - c.Matching
			}
		}
	}
	return n
}

func from(files []string) string {
	if len(files) == 0 {
		return ""
	}
	return " from " + strings.Join(files, ", ")
}

// ruleValue writes a column rule in flow style.
func ruleValue(cr pseudo.ColumnRule) string {
	if cr.Kind == "" && cr.Part == "" && !cr.Subject {
		return string(cr.Action)
	}
	parts := []string{"action: " + string(cr.Action)}
	if cr.Kind != "" {
		parts = append(parts, "kind: "+string(cr.Kind))
	}
	if cr.Part != "" {
		parts = append(parts, "part: "+string(cr.Part))
	}
	if cr.Subject {
		parts = append(parts, "subject: true")
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// yamlKey writes a column name as a YAML mapping key: plain when that is
// safe, otherwise double-quoted (Go's escapes are valid YAML escapes).
func yamlKey(s string) string {
	plain := s != ""
	for i, r := range s {
		if !(unicode.IsLetter(r) || r == '_' || i > 0 && (unicode.IsDigit(r) || r == '-' || r == '.')) {
			plain = false
			break
		}
	}
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "y", "n":
		plain = false
	}
	if plain {
		return s
	}
	return strconv.Quote(s)
}
