package anonymize

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pseudokit/pseudokit/pseudo"
)

// Rules say how to anonymise a dataset: the quasi-identifiers and how to
// generalise each, the sensitive attributes, the columns to drop (codes and
// every other direct identifier) and to keep, and the privacy target. Every
// column of the input must be named in exactly one of these roles.
type Rules struct {
	// Version is the rule-file format version (1).
	Version int
	// K is the k of k-anonymity.
	K int
	// Suppression is the largest share of records that may be suppressed.
	Suppression float64
	// Metric is the information-loss metric minimised.
	Metric Metric
	// Mask keeps suppressed records with every quasi-identifier replaced by
	// "*" instead of removing them.
	Mask bool
	// Heuristic forces the heuristic search, Optimal the exhaustive one;
	// Budget bounds the heuristic search.
	Heuristic, Optimal bool
	Budget             int
	// QuasiIdentifiers are in file order.
	QuasiIdentifiers []QIRule
	// Sensitive are the sensitive attributes, in file order.
	Sensitive []SensitiveRule
	// Drop and Keep name the columns removed and kept unchanged.
	Drop, Keep []string
	// NotIdentifiers names kept columns exempt from the scan for identity
	// numbers and pseudonym codes (for numbers that only look like them).
	NotIdentifiers []string
	// Dir is the directory relative hierarchy paths are resolved against.
	Dir string
	// File is the rule file's name, for errors.
	File string
}

// A QIRule says how to generalise one quasi-identifier: with exactly one
// of an ARX hierarchy file, a grouping file, or a built-in builder.
type QIRule struct {
	// Column is the column's name.
	Column string
	// Hierarchy is an ARX-format hierarchy file.
	Hierarchy string
	// Groups is a grouping file (hierarchy format, top "*" optional).
	Groups string
	// Builder is a built-in builder (Intervals, Dates, Mask, Postcodes).
	Builder Builder
	// MinLevel and MaxLevel bound the level chosen (-1: no bound).
	MinLevel, MaxLevel int
	line               int
}

// Source describes where the rule's hierarchy comes from.
func (q QIRule) Source() string {
	switch {
	case q.Hierarchy != "":
		return "hierarchy " + shortName(q.Hierarchy)
	case q.Groups != "":
		return "groups " + shortName(q.Groups)
	case q.Builder != nil:
		return q.Builder.String()
	}
	return ""
}

// A SensitiveRule names a sensitive attribute and, optionally, the
// l-diversity it must have.
type SensitiveRule struct {
	// Column is the column's name.
	Column string
	// Diversity is the criterion (nil: the attribute is only measured).
	Diversity *DiversityCriterion
}

// RuleError is an error in a rule file, naming the file and line where
// known: the same type as package pseudo's, so callers handle rule errors of
// either kind of rule file alike.
type RuleError = pseudo.RuleError

// LoadRules reads a YAML rule file (see [ParseRules]); relative hierarchy
// paths are resolved against the file's directory.
func LoadRules(path string) (*Rules, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := ParseRules(bytes.NewReader(b))
	if err != nil {
		var re *RuleError
		if errors.As(err, &re) {
			re.File = path
		}
		return nil, err
	}
	r.Dir = filepath.Dir(path)
	r.File = path
	return r, nil
}

type rawRules struct {
	Version          int       `yaml:"version"`
	K                int       `yaml:"k"`
	Suppression      yaml.Node `yaml:"suppression"`
	Metric           string    `yaml:"metric"`
	SuppressedRows   string    `yaml:"suppressed_rows"`
	Search           string    `yaml:"search"`
	Budget           int       `yaml:"budget"`
	QuasiIdentifiers yaml.Node `yaml:"quasi_identifiers"`
	Sensitive        yaml.Node `yaml:"sensitive"`
	Drop             []string  `yaml:"drop"`
	Keep             []string  `yaml:"keep"`
	NotIdentifiers   []string  `yaml:"not_identifiers"`
}

type rawQI struct {
	Hierarchy string    `yaml:"hierarchy"`
	Groups    string    `yaml:"groups"`
	Intervals []float64 `yaml:"intervals"`
	Origin    float64   `yaml:"origin"`
	Bottom    *float64  `yaml:"bottom"`
	Top       *float64  `yaml:"top"`
	Dates     []string  `yaml:"dates"`
	Layout    string    `yaml:"layout"`
	Postcode  yaml.Node `yaml:"postcode"`
	Mask      yaml.Node `yaml:"mask"`
	MinLevel  *int      `yaml:"min_level"`
	MaxLevel  *int      `yaml:"max_level"`
}

type rawSensitive struct {
	L    float64 `yaml:"l"`
	Kind string  `yaml:"kind"`
	C    float64 `yaml:"c"`
}

// maxRuleFile bounds what ParseRules reads: a rule file is a few kilobytes.
const maxRuleFile = 1 << 20

// ParseRules reads rules in YAML:
//
//	version: 1
//	k: 5
//	suppression: 5%            # or 0.05; default 0
//	metric: loss               # loss | precision | discernibility | aecs | entropy | entropy-monotonic
//	suppressed_rows: remove    # remove | mask
//	search: auto               # auto | optimal | heuristic
//	quasi_identifiers:
//	  age:        {intervals: [5, 10, 20], top: 90}
//	  sex:        {hierarchy: hierarchies/sex.csv}
//	  postnummer: {postcode: [3, 2, 1]}
//	  birth_date: {dates: [month, year, decade]}
//	  kommune:    {mask: [2, 4]}
//	  diagnosis:  {groups: diagnosis_groups.csv}
//	sensitive:
//	  icd10: {l: 3, kind: distinct}   # kind: distinct | entropy | recursive (with c)
//	drop: [fnr, name]
//	keep: [weight]
func ParseRules(r io.Reader) (*Rules, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxRuleFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxRuleFile {
		return nil, &RuleError{Err: errors.New("rule file larger than 1 MiB")}
	}
	var raw rawRules
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &RuleError{Err: errors.New("empty rule file")}
		}
		return nil, &RuleError{Err: fmt.Errorf("not valid rules: %s", strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	rs := &Rules{Version: raw.Version, K: raw.K, Budget: raw.Budget, Drop: raw.Drop, Keep: raw.Keep, NotIdentifiers: raw.NotIdentifiers}
	if rs.Version != 1 {
		return nil, &RuleError{Line: 1, Err: fmt.Errorf("version must be 1 (got %d)", rs.Version)}
	}
	if rs.Metric, err = ParseMetric(raw.Metric); err != nil {
		return nil, &RuleError{Err: err}
	}
	if raw.Suppression.Kind != 0 {
		if rs.Suppression, err = ParseShare(raw.Suppression.Value); err != nil || raw.Suppression.Kind != yaml.ScalarNode {
			return nil, &RuleError{Line: raw.Suppression.Line, Err: fmt.Errorf("suppression: want a share such as 0.05 or 5%%")}
		}
	}
	switch raw.SuppressedRows {
	case "", "remove":
	case "mask":
		rs.Mask = true
	default:
		return nil, &RuleError{Err: fmt.Errorf("suppressed_rows: %q (want remove or mask)", raw.SuppressedRows)}
	}
	switch raw.Search {
	case "", "auto":
	case "optimal":
		rs.Optimal = true
	case "heuristic":
		rs.Heuristic = true
	default:
		return nil, &RuleError{Err: fmt.Errorf("search: %q (want auto, optimal or heuristic)", raw.Search)}
	}
	if err := rs.parseQIs(&raw.QuasiIdentifiers); err != nil {
		return nil, err
	}
	if err := rs.parseSensitive(&raw.Sensitive); err != nil {
		return nil, err
	}
	if err := rs.Check(); err != nil {
		return nil, err
	}
	return rs, nil
}

// ParseShare reads a share: "0.05", "5%" or "5 %".
func ParseShare(s string) (float64, error) {
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	s = strings.TrimSpace(strings.TrimSuffix(s, "%"))
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("not a share: %q", s)
	}
	if pct {
		f /= 100
	}
	if !(f >= 0 && f <= 1) {
		return 0, fmt.Errorf("share %v is not between 0 and 1 (0%% and 100%%)", f)
	}
	return f, nil
}

// mapping iterates a YAML mapping node's entries in order.
func mapping(n *yaml.Node, what string, each func(key string, line int, v *yaml.Node) error) error {
	if n.Kind == 0 {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return &RuleError{Line: n.Line, Err: fmt.Errorf("%s: want a mapping of column names", what)}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if err := each(k.Value, k.Line, v); err != nil {
			return err
		}
	}
	return nil
}

// strict decodes node into v rejecting unknown fields.
func strict(node *yaml.Node, v any) error {
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		return nil
	}
	b, err := yaml.Marshal(node)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "yaml: ") {
			msg = msg[i+2:]
		}
		return errors.New(strings.TrimPrefix(msg, "yaml: "))
	}
	return nil
}

// intsOrTrue reads a node that is either true (defaults: nil) or a list of ints.
func intsOrTrue(n *yaml.Node) ([]int, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" && n.Value == "true" {
		return nil, nil
	}
	var out []int
	if err := n.Decode(&out); err != nil {
		return nil, errors.New("want true or a list of numbers")
	}
	return out, nil
}

func (rs *Rules) parseQIs(n *yaml.Node) error {
	return mapping(n, "quasi_identifiers", func(col string, line int, v *yaml.Node) error {
		fail := func(format string, a ...any) error {
			return &RuleError{Line: line, Err: fmt.Errorf("quasi-identifier %q: "+format, append([]any{col}, a...)...)}
		}
		var q rawQI
		if err := strict(v, &q); err != nil {
			return fail("%v", err)
		}
		r := QIRule{Column: col, Hierarchy: q.Hierarchy, Groups: q.Groups, MinLevel: -1, MaxLevel: -1, line: line}
		if q.MinLevel != nil {
			r.MinLevel = *q.MinLevel
		}
		if q.MaxLevel != nil {
			r.MaxLevel = *q.MaxLevel
		}
		given := 0
		for _, s := range []bool{q.Hierarchy != "", q.Groups != "", q.Intervals != nil || q.Bottom != nil || q.Top != nil,
			q.Dates != nil, q.Postcode.Kind != 0, q.Mask.Kind != 0} {
			if s {
				given++
			}
		}
		if given != 1 {
			return fail("give exactly one of hierarchy, groups, intervals (with bottom/top), dates, postcode and mask")
		}
		switch {
		case q.Intervals != nil || q.Bottom != nil || q.Top != nil:
			r.Builder = Intervals{Widths: q.Intervals, Origin: q.Origin, Bottom: q.Bottom, Top: q.Top}
		case q.Dates != nil:
			d := Dates{Layout: q.Layout}
			for _, l := range q.Dates {
				d.Levels = append(d.Levels, DateLevel(strings.ToLower(l)))
			}
			r.Builder = d
		case q.Postcode.Kind != 0:
			ds, err := intsOrTrue(&q.Postcode)
			if err != nil {
				return fail("postcode: %v", err)
			}
			r.Builder = Postcodes{Digits: ds}
		case q.Mask.Kind != 0:
			cs, err := intsOrTrue(&q.Mask)
			if err != nil {
				return fail("mask: %v", err)
			}
			r.Builder = Mask{Chars: cs}
		}
		rs.QuasiIdentifiers = append(rs.QuasiIdentifiers, r)
		return nil
	})
}

func (rs *Rules) parseSensitive(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode { // a plain list of columns: measured only
		var cols []string
		if err := n.Decode(&cols); err != nil {
			return &RuleError{Line: n.Line, Err: errors.New("sensitive: want a list or mapping of column names")}
		}
		for _, c := range cols {
			rs.Sensitive = append(rs.Sensitive, SensitiveRule{Column: c})
		}
		return nil
	}
	return mapping(n, "sensitive", func(col string, line int, v *yaml.Node) error {
		var s rawSensitive
		if err := strict(v, &s); err != nil {
			return &RuleError{Line: line, Err: fmt.Errorf("sensitive %q: %v", col, err)}
		}
		r := SensitiveRule{Column: col}
		if s.L != 0 || s.Kind != "" || s.C != 0 {
			kind := DiversityKind(strings.ToLower(s.Kind))
			if kind == "" {
				kind = DistinctDiversity
			}
			d := &DiversityCriterion{Column: col, Kind: kind, L: s.L, C: s.C}
			if err := d.check(); err != nil {
				return &RuleError{Line: line, Err: err}
			}
			r.Diversity = d
		}
		rs.Sensitive = append(rs.Sensitive, r)
		return nil
	})
}

// check checks a criterion's parameters.
func (d DiversityCriterion) check() error {
	switch d.Kind {
	case "", DistinctDiversity, EntropyDiversity:
	case RecursiveDiversity:
		if !(d.C > 0) {
			return fmt.Errorf("recursive (c,l)-diversity of %q: c must be positive", d.Column)
		}
	default:
		return fmt.Errorf("l-diversity of %q: unknown kind %q (want distinct, entropy or recursive)", d.Column, d.Kind)
	}
	if !(d.L >= 1) {
		return fmt.Errorf("l-diversity of %q: l must be at least 1", d.Column)
	}
	return nil
}

// Check checks the rules for consistency: k at least 1, at least one
// quasi-identifier, and no column in two roles.
func (rs *Rules) Check() error {
	if rs.K < 1 {
		return &RuleError{File: rs.File, Err: fmt.Errorf("k must be at least 1 (got %d)", rs.K)}
	}
	if !(rs.Suppression >= 0 && rs.Suppression <= 1) {
		return &RuleError{File: rs.File, Err: fmt.Errorf("suppression must be between 0 and 1")}
	}
	if len(rs.QuasiIdentifiers) == 0 {
		return &RuleError{File: rs.File, Err: errors.New("no quasi_identifiers")}
	}
	role := map[string]string{}
	claim := func(col, r string) error {
		if prev, ok := role[col]; ok {
			return &RuleError{File: rs.File, Err: fmt.Errorf("column %q is both %s and %s", col, prev, r)}
		}
		role[col] = r
		return nil
	}
	for _, q := range rs.QuasiIdentifiers {
		if err := claim(q.Column, "a quasi-identifier"); err != nil {
			return err
		}
	}
	for _, s := range rs.Sensitive {
		if err := claim(s.Column, "sensitive"); err != nil {
			return err
		}
	}
	for _, c := range rs.Drop {
		if err := claim(c, "dropped"); err != nil {
			return err
		}
	}
	for _, c := range rs.Keep {
		if err := claim(c, "kept"); err != nil {
			return err
		}
	}
	for _, c := range rs.NotIdentifiers {
		if r := role[c]; r == "" || r == "dropped" {
			return &RuleError{File: rs.File, Err: fmt.Errorf("not_identifiers: column %q is not kept", c)}
		}
	}
	return nil
}

// Config returns the search configuration the rules describe.
func (rs *Rules) Config() Config {
	cfg := Config{K: rs.K, Suppression: rs.Suppression, Metric: rs.Metric, Heuristic: rs.Heuristic, Exhaustive: rs.Optimal, Budget: rs.Budget}
	for _, s := range rs.Sensitive {
		if s.Diversity != nil {
			cfg.Diversity = append(cfg.Diversity, *s.Diversity)
		}
	}
	for _, q := range rs.QuasiIdentifiers {
		cfg.MinLevels = append(cfg.MinLevels, q.MinLevel)
		cfg.MaxLevels = append(cfg.MaxLevels, q.MaxLevel)
	}
	return cfg
}

// hierarchy makes the hierarchy of quasi-identifier q for values.
func (rs *Rules) hierarchy(q QIRule, values []string) (*Hierarchy, error) {
	path := func(p string) string {
		if filepath.IsAbs(p) || rs.Dir == "" {
			return p
		}
		return filepath.Join(rs.Dir, p)
	}
	switch {
	case q.Hierarchy != "":
		return LoadHierarchy(path(q.Hierarchy))
	case q.Groups != "":
		return LoadGroups(path(q.Groups))
	}
	h, err := q.Builder.Build(values)
	if err != nil {
		var he *HierarchyError
		if errors.As(err, &he) {
			he.Name = fmt.Sprintf("%s (column %q)", he.Name, q.Column)
		}
		return nil, err
	}
	return h, nil
}

// Columns returns the names of the quasi-identifiers and of the sensitive attributes.
func (rs *Rules) Columns() (qi, sensitive []string) {
	for _, q := range rs.QuasiIdentifiers {
		qi = append(qi, q.Column)
	}
	for _, s := range rs.Sensitive {
		sensitive = append(sensitive, s.Column)
	}
	return qi, sensitive
}

// roleOf returns the role of column c in the rules, or "".
func (rs *Rules) roleOf(c string) string {
	qi, sens := rs.Columns()
	switch {
	case slices.Contains(qi, c):
		return "quasi-identifier"
	case slices.Contains(sens, c):
		return "sensitive"
	case slices.Contains(rs.Drop, c):
		return "drop"
	case slices.Contains(rs.Keep, c):
		return "keep"
	}
	return ""
}
