package pseudo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"
)

// An Action says what happens to a column.
type Action string

// The column actions.
const (
	// ActionCode replaces each identifier with its code and links the two in the vault.
	ActionCode Action = "code"
	// ActionFakeName replaces a name with a fictitious one, the same for the same person.
	ActionFakeName Action = "fake-name"
	// ActionDrop removes the column from the output.
	ActionDrop Action = "drop"
	// ActionKeep copies the column unchanged (stating that this is intended).
	ActionKeep Action = "keep"
	// ActionRedact keeps free text but replaces the identifiers found inside
	// it: Norwegian identity numbers by the person's code (linked in the
	// vault like a coded column), anything else by a placeholder such as
	// [EMAIL] or [NAME]. It needs a TextFinder (Options.Finder).
	ActionRedact Action = "redact"
)

// An InvalidPolicy says what happens to a value that is not a valid
// identifier of its column's kind (for example an identity number with a
// wrong check digit).
type InvalidPolicy string

// The invalid-value policies.
const (
	// InvalidError stops the run at the first invalid value (the default).
	InvalidError InvalidPolicy = "error"
	// InvalidFlag writes no code for the value and names the reason in an
	// extra column "<column>_invalid".
	InvalidFlag InvalidPolicy = "flag"
	// InvalidNull writes no code for the value (null, or an empty CSV field).
	InvalidNull InvalidPolicy = "null"
)

// ParseInvalidPolicy returns the policy named s ("" means error).
func ParseInvalidPolicy(s string) (InvalidPolicy, error) {
	switch InvalidPolicy(s) {
	case "", InvalidError:
		return InvalidError, nil
	case InvalidFlag, InvalidNull:
		return InvalidPolicy(s), nil
	}
	return "", fmt.Errorf("unknown invalid-value policy %q (want error, flag or null)", s)
}

// A ColumnRule says what to do with one column.
type ColumnRule struct {
	// Column is the column's name in the input, exactly.
	Column string
	// Action is what to do with it.
	Action Action
	// Kind is the kind of identifier the column holds (code and fake-name).
	// For fake-name it defaults to KindName.
	Kind Kind
	// Subject marks the column that identifies the person a row is about.
	// Fictitious names in the row are derived from the subject's identifier,
	// so a person keeps one fictitious name even where the spelling of the
	// real name varies. At most one column, with action code.
	Subject bool
	// Part is the part of a name a fake-name column holds (default full).
	Part NamePart
	// Invalid overrides Rules.Invalid for this column ("" = inherit).
	Invalid InvalidPolicy
	// RestoreLeadingZero accepts 10-digit identity numbers as numbers that
	// lost their leading zero (as Excel does to numbers), restoring it.
	// Without it such a value is invalid. Only for kind nid.
	RestoreLeadingZero bool
}

// Rules say how to pseudonymise a dataset. Columns not named in the rules are
// kept unchanged and listed in the run's Summary, so that nothing passes
// unnoticed.
type Rules struct {
	// Version is the rule-file format version (1).
	Version int
	// Domain is the pseudonymisation domain whose key makes the codes
	// ("default" when empty).
	Domain string
	// Invalid is the default policy for invalid identifiers.
	Invalid InvalidPolicy
	// Columns are the column rules, in file order.
	Columns []ColumnRule
}

// RuleError is an error in a rule file or rule set. It names the file and
// line where known.
type RuleError struct {
	File string
	Line int
	Err  error
}

// Error implements error.
func (e *RuleError) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	case e.File != "":
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *RuleError) Unwrap() error { return e.Err }

// LoadRules reads a YAML rule file.
func LoadRules(path string) (*Rules, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := ParseRules(bytes.NewReader(b))
	var re *RuleError
	if errors.As(err, &re) {
		re.File = path
	}
	return r, err
}

// maxRuleFile bounds what ParseRules reads: a rule file is a few kilobytes.
const maxRuleFile = 1 << 20

// ParseRules reads rules in YAML:
//
//	version: 1
//	domain: default
//	invalid: error            # error | flag | null
//	columns:
//	  fnr:       {action: code, kind: nid, subject: true}
//	  fornavn:   {action: fake-name, part: given}
//	  etternavn: {action: fake-name, part: family}
//	  epost:     {action: code, kind: email}
//	  notat:     drop
//	  alder:     keep
//
// A column's value is either an action name or a mapping with the fields
// action, kind, subject, part, invalid and restore_leading_zero. Unknown
// fields, duplicate columns and inconsistent rules are errors.
func ParseRules(r io.Reader) (*Rules, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxRuleFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxRuleFile {
		return nil, &RuleError{Err: errors.New("rule file larger than 1 MiB")}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, &RuleError{Err: fmt.Errorf("not valid YAML: %v", err)}
	}
	if len(doc.Content) == 0 {
		return nil, &RuleError{Err: errors.New("empty rule file")}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &RuleError{Line: root.Line, Err: errors.New("expected a mapping with version, domain, invalid and columns")}
	}
	rules := &Rules{}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if seen[k.Value] {
			return nil, &RuleError{Line: k.Line, Err: fmt.Errorf("%q given twice", k.Value)}
		}
		seen[k.Value] = true
		switch k.Value {
		case "version":
			if err := v.Decode(&rules.Version); err != nil || rules.Version != 1 {
				return nil, &RuleError{Line: v.Line, Err: errors.New("version must be 1")}
			}
		case "domain":
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				return nil, &RuleError{Line: v.Line, Err: errors.New("domain must be a name")}
			}
			rules.Domain = v.Value
		case "invalid":
			p, err := ParseInvalidPolicy(v.Value)
			if err != nil || v.Kind != yaml.ScalarNode {
				return nil, &RuleError{Line: v.Line, Err: fmt.Errorf("invalid: want error, flag or null")}
			}
			rules.Invalid = p
		case "columns":
			if v.Kind != yaml.MappingNode {
				return nil, &RuleError{Line: v.Line, Err: errors.New("columns must be a mapping from column name to rule")}
			}
			cols := map[string]bool{}
			for j := 0; j+1 < len(v.Content); j += 2 {
				if k := v.Content[j]; cols[k.Value] {
					return nil, &RuleError{Line: k.Line, Err: fmt.Errorf("column %q has two rules", k.Value)}
				}
				cols[v.Content[j].Value] = true
				cr, err := parseColumnRule(v.Content[j], v.Content[j+1])
				if err != nil {
					return nil, err
				}
				rules.Columns = append(rules.Columns, cr)
			}
		default:
			return nil, &RuleError{Line: k.Line, Err: fmt.Errorf("unknown field %q (want version, domain, invalid, columns)", k.Value)}
		}
	}
	if !seen["version"] {
		return nil, &RuleError{Line: root.Line, Err: errors.New("missing version: 1")}
	}
	if err := rules.Check(); err != nil {
		return nil, err
	}
	return rules, nil
}

func parseColumnRule(k, v *yaml.Node) (ColumnRule, error) {
	cr := ColumnRule{Column: k.Value}
	fail := func(n *yaml.Node, format string, args ...any) (ColumnRule, error) {
		return ColumnRule{}, &RuleError{Line: n.Line, Err: fmt.Errorf("column %q: "+format, append([]any{cr.Column}, args...)...)}
	}
	if k.Kind != yaml.ScalarNode || k.Value == "" {
		return fail(k, "column names must be plain text")
	}
	switch v.Kind {
	case yaml.ScalarNode:
		cr.Action = Action(v.Value)
	case yaml.MappingNode:
		seen := map[string]bool{}
		for i := 0; i+1 < len(v.Content); i += 2 {
			fk, fv := v.Content[i], v.Content[i+1]
			if seen[fk.Value] {
				return fail(fk, "%q given twice", fk.Value)
			}
			seen[fk.Value] = true
			if fv.Kind != yaml.ScalarNode {
				return fail(fv, "%s must be a single value", fk.Value)
			}
			var err error
			switch fk.Value {
			case "action":
				cr.Action = Action(fv.Value)
			case "kind":
				cr.Kind, err = ParseKind(fv.Value)
			case "subject":
				err = fv.Decode(&cr.Subject)
			case "part":
				cr.Part, err = ParseNamePart(fv.Value)
			case "invalid":
				cr.Invalid, err = ParseInvalidPolicy(fv.Value)
			case "restore_leading_zero":
				err = fv.Decode(&cr.RestoreLeadingZero)
			default:
				return fail(fk, "unknown field %q (want action, kind, subject, part, invalid, restore_leading_zero)", fk.Value)
			}
			if err != nil {
				return fail(fv, "%s: %v", fk.Value, err)
			}
		}
	default:
		return fail(v, "want an action name or a mapping")
	}
	if err := cr.check(); err != nil {
		return fail(v, "%v", err)
	}
	return cr, nil
}

// check validates one rule on its own.
func (cr *ColumnRule) check() error {
	switch cr.Action {
	case ActionCode:
		if cr.Kind == "" {
			return errors.New("action code needs a kind (nid, name, email, phone, text)")
		}
	case ActionFakeName:
		if cr.Kind == "" {
			cr.Kind = KindName
		}
		if cr.Kind != KindName && cr.Kind != KindText {
			return errors.New("fake-name replaces names: kind must be name or text")
		}
		if cr.Subject {
			return errors.New("the subject column must have action code")
		}
	case ActionRedact:
		if cr.Kind != "" || cr.Subject || cr.Part != "" || cr.RestoreLeadingZero {
			return errors.New("action redact takes no other fields")
		}
	case ActionDrop, ActionKeep:
		if cr.Kind != "" || cr.Subject || cr.Part != "" || cr.Invalid != "" || cr.RestoreLeadingZero {
			return fmt.Errorf("action %s takes no other fields", cr.Action)
		}
	case "":
		return errors.New("missing action (code, fake-name, redact, drop, keep)")
	default:
		return fmt.Errorf("unknown action %q (want code, fake-name, redact, drop, keep)", cr.Action)
	}
	if cr.Part != "" && cr.Action != ActionFakeName {
		return errors.New("part is only for fake-name")
	}
	if cr.RestoreLeadingZero && cr.Kind != KindNID {
		return errors.New("restore_leading_zero is only for kind nid")
	}
	if cr.Action == ActionFakeName && cr.Part == "" {
		cr.Part = PartFull
	}
	return nil
}

// Check validates the rules as a whole: every column rule, no column named
// twice, at most one subject. It fills in defaults.
func (r *Rules) Check() error {
	if r.Domain == "" {
		r.Domain = "default"
	}
	if r.Invalid == "" {
		r.Invalid = InvalidError
	}
	if r.Version == 0 {
		r.Version = 1
	}
	seen := map[string]bool{}
	subjects := 0
	for i := range r.Columns {
		cr := &r.Columns[i]
		if err := cr.check(); err != nil {
			return &RuleError{Err: fmt.Errorf("column %q: %v", cr.Column, err)}
		}
		if seen[cr.Column] {
			return &RuleError{Err: fmt.Errorf("column %q has two rules", cr.Column)}
		}
		seen[cr.Column] = true
		if cr.Subject {
			subjects++
		}
	}
	if subjects > 1 {
		return &RuleError{Err: errors.New("more than one subject column")}
	}
	return nil
}
