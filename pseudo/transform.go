package pseudo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pseudokit/pseudokit/keyvault"
)

// A Linker records the link between a code and the identifier it replaces.
// keyvault's transactions implement it; a nil Linker records nothing (for
// dry runs and tests).
type Linker interface {
	// Link records that code stands for the canonical identifier of kind.
	Link(kind, canonical, code string) error
	// Assign returns the code already linked to (kind, canonical), or links
	// candidate and returns it. When candidate is already used by someone
	// else it returns an error matching ErrCodeTaken, and the caller tries
	// another candidate.
	Assign(kind, canonical, candidate string) (string, error)
}

// ErrCodeTaken is what a Linker's Assign returns (wrapped or not) for a
// candidate code that is already in use.
var ErrCodeTaken = keyvault.ErrCodeTaken

// Options configure a Pseudonymizer.
type Options struct {
	// DomainSecret is the secret of the rules' domain (keyvault's
	// Vault.DomainSecret). Required.
	DomainSecret []byte
	// Random makes codes random instead of keyed: the domain's scheme in the
	// vault. Random codes need a Linker, which remembers them.
	Random bool
	// Linker records links; nil records none.
	Linker Linker
	// Allocator allocates output arrays (default memory.DefaultAllocator).
	Allocator memory.Allocator
}

// ErrWithdrawn is what a Linker returns (wrapped or not) for a person who
// has withdrawn consent.
var ErrWithdrawn = keyvault.ErrWithdrawn

// RowError reports a problem with one value. It names the file, the row
// (1-based, counting data rows, not the header), for CSV the line where the
// row starts, and the column, never the value.
type RowError struct {
	File   string
	Row    int64
	Line   int
	Column string
	Err    error
}

func (e *RowError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "row %d", e.Row)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	fmt.Fprintf(&b, ", column %q: %v", e.Column, e.Err)
	return b.String()
}

func (e *RowError) Unwrap() error { return e.Err }

// ErrMissingColumn is returned by Bind when a rule names a column the input lacks.
var ErrMissingColumn = errors.New("column not in the input")

// ColumnSummary counts what happened in one column.
type ColumnSummary struct {
	Column string `json:"column"`
	Action Action `json:"action"`
	Kind   Kind   `json:"kind,omitempty"`
	// Values is the number of non-empty values replaced.
	Values int64 `json:"values"`
	// Empty is the number of empty or null values (left empty).
	Empty int64 `json:"empty"`
	// Invalid counts invalid values by reason (flagged or nulled).
	Invalid map[string]int64 `json:"invalid,omitempty"`
	// RestoredZeros is the number of identity numbers whose lost leading zero was restored.
	RestoredZeros int64 `json:"restored_leading_zeros,omitempty"`
}

// Summary says what a run did, in counts only.
type Summary struct {
	Rows    int64           `json:"rows"`
	Columns []ColumnSummary `json:"columns"`
	// Unmentioned lists the input columns no rule named; they were copied unchanged.
	Unmentioned []string `json:"unmentioned"`
	// WithdrawnRows counts rows of persons who have withdrawn consent: they
	// were left out of the output.
	WithdrawnRows int64 `json:"withdrawn_rows,omitempty"`
}

// A Pseudonymizer applies Rules to a stream of Arrow record batches: Bind it
// to the input schema, then Transform each batch in order. It is not safe
// for concurrent use.
type Pseudonymizer struct {
	rules       Rules
	opts        Options
	coder       *Coder
	faker       *Faker
	mem         memory.Allocator
	in          *arrow.Schema
	out         *arrow.Schema
	plan        []step // one per output column
	cols        []colState
	subj        int // index into cols of the subject column, or -1
	rows        int64
	unmentioned []string
	drop        []bool // rows of the current batch to leave out (withdrawn persons)
	withdrawn   int64
}

// colState is the per-rule state: the input column and its counters.
type colState struct {
	rule    ColumnRule
	invalid InvalidPolicy
	index   int // input column index
	sum     ColumnSummary
	canon   []string // canonical identifiers of the current batch
	state   []valueState
	reasons []string // why a value is invalid
}

// canBeInvalid reports whether the column's values are validated (only
// identity numbers are: other kinds have no invalid values).
func (c *colState) canBeInvalid() bool {
	return c.rule.Action == ActionCode && c.rule.Kind == KindNID
}

// valueState classifies one value of the current batch.
type valueState uint8

const (
	stateNull    valueState = iota // null: stays null
	stateEmpty                     // empty or blank text: stays empty
	stateValid                     // canon holds the canonical identifier
	stateInvalid                   // reasons holds why
)

// step makes one output column from the input batch.
type step struct {
	keep int  // input column to copy, or -1
	col  int  // index into cols for code/fake-name output
	flag bool // the "<column>_invalid" column of cols[col]
}

// New returns a Pseudonymizer for rules.
func New(rules *Rules, o Options) (*Pseudonymizer, error) {
	r := *rules
	r.Columns = append([]ColumnRule(nil), rules.Columns...)
	if err := r.Check(); err != nil {
		return nil, err
	}
	coder, err := NewCoder(o.DomainSecret)
	if err != nil {
		return nil, err
	}
	faker, err := NewFaker(o.DomainSecret)
	if err != nil {
		return nil, err
	}
	if o.Random && o.Linker == nil {
		return nil, errors.New("pseudo: random codes need a Linker (the vault) to remember them")
	}
	mem := o.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &Pseudonymizer{rules: r, opts: o, coder: coder, faker: faker, mem: mem, subj: -1}, nil
}

// Rules returns the (checked, defaulted) rules the Pseudonymizer applies.
func (p *Pseudonymizer) Rules() Rules { return p.rules }

// Bind checks the rules against the input schema and returns the output
// schema: columns in input order, coded and fake-name columns as strings,
// dropped columns removed, and a "<column>_invalid" string column after each
// column whose invalid policy is flag.
func (p *Pseudonymizer) Bind(in *arrow.Schema) (*arrow.Schema, error) {
	byName := map[string]int{}
	for i, f := range in.Fields() {
		if _, dup := byName[f.Name]; dup {
			return nil, fmt.Errorf("the input has two columns named %q", f.Name)
		}
		byName[f.Name] = i
	}
	ruleOf := map[int]int{}
	p.cols = p.cols[:0]
	for _, cr := range p.rules.Columns {
		idx, ok := byName[cr.Column]
		if !ok {
			return nil, fmt.Errorf("rule for column %q: %w", cr.Column, ErrMissingColumn)
		}
		pol := cr.Invalid
		if pol == "" {
			pol = p.rules.Invalid
		}
		if cr.Action == ActionCode || cr.Action == ActionFakeName {
			if err := checkInputType(in.Field(idx).Type); err != nil {
				return nil, fmt.Errorf("column %q: %v", cr.Column, err)
			}
		}
		ruleOf[idx] = len(p.cols)
		if cr.Subject {
			p.subj = len(p.cols)
		}
		p.cols = append(p.cols, colState{rule: cr, invalid: pol, index: idx,
			sum: ColumnSummary{Column: cr.Column, Action: cr.Action, Kind: cr.Kind}})
	}
	var fields []arrow.Field
	p.plan = p.plan[:0]
	p.unmentioned = p.unmentioned[:0]
	for i, f := range in.Fields() {
		ci, ruled := ruleOf[i]
		if !ruled {
			p.unmentioned = append(p.unmentioned, f.Name)
		}
		switch {
		case !ruled || p.cols[ci].rule.Action == ActionKeep:
			fields = append(fields, f)
			p.plan = append(p.plan, step{keep: i, col: -1})
		case p.cols[ci].rule.Action == ActionDrop:
		default:
			fields = append(fields, arrow.Field{Name: f.Name, Type: arrow.BinaryTypes.String, Nullable: true, Metadata: f.Metadata})
			p.plan = append(p.plan, step{keep: -1, col: ci})
			if p.cols[ci].invalid == InvalidFlag && p.cols[ci].canBeInvalid() {
				name := f.Name + "_invalid"
				if _, clash := byName[name]; clash {
					return nil, fmt.Errorf("column %q: cannot add flag column %q: the input has one", f.Name, name)
				}
				fields = append(fields, arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true})
				p.plan = append(p.plan, step{keep: -1, col: ci, flag: true})
			}
		}
	}
	md := in.Metadata()
	p.in = in
	p.out = arrow.NewSchema(fields, &md)
	return p.out, nil
}

func checkInputType(t arrow.DataType) error {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW, arrow.BINARY, arrow.LARGE_BINARY,
		arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.DICTIONARY:
		return nil
	}
	return fmt.Errorf("type %s cannot hold identifiers pseudokit codes (want text or integers)", t)
}

// Transform pseudonymises one batch. Batches must come in input order (row
// numbers in errors count from the first batch). The caller releases the
// returned batch.
//
// Rows of persons who have withdrawn consent (the Linker says so) are left
// out of the returned batch and counted in Summary.WithdrawnRows; FileJob
// refuses a run that meets any, unless told to skip them.
func (p *Pseudonymizer) Transform(rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if p.out == nil {
		return nil, errors.New("pseudo: Transform before Bind")
	}
	if !rec.Schema().Equal(p.in) {
		return nil, errors.New("pseudo: batch schema differs from the bound schema")
	}
	n := int(rec.NumRows())
	p.drop = p.drop[:0]
	for i := 0; i < n; i++ {
		p.drop = append(p.drop, false)
	}
	// Identify first (subject before fake names), then build the columns.
	for ci := range p.cols {
		c := &p.cols[ci]
		if c.rule.Action == ActionCode || (c.rule.Action == ActionFakeName) {
			if err := p.canonicalise(c, rec.Column(c.index), n); err != nil {
				return nil, err
			}
		}
	}
	cols := make([]arrow.Array, 0, len(p.plan))
	defer func() {
		for _, a := range cols {
			a.Release()
		}
	}()
	for _, s := range p.plan {
		var a arrow.Array
		var err error
		switch {
		case s.keep >= 0:
			a = rec.Column(s.keep)
			a.Retain()
		case s.flag:
			a = p.flagColumn(&p.cols[s.col], n)
		case p.cols[s.col].rule.Action == ActionCode:
			a, err = p.codeColumn(&p.cols[s.col], n)
		default:
			a = p.fakeColumn(&p.cols[s.col], n)
		}
		if err != nil {
			return nil, err
		}
		cols = append(cols, a)
	}
	p.rows += int64(n)
	out := array.NewRecordBatch(p.out, cols, int64(n))
	dropped := 0
	for _, d := range p.drop {
		if d {
			dropped++
		}
	}
	if dropped == 0 {
		return out, nil
	}
	// Rows of withdrawn persons never reach the output.
	p.withdrawn += int64(dropped)
	defer out.Release()
	return filterRows(p.mem, out, p.drop)
}

// filterRows returns rec without the rows marked in drop.
func filterRows(mem memory.Allocator, rec arrow.RecordBatch, drop []bool) (arrow.RecordBatch, error) {
	b := array.NewBooleanBuilder(mem)
	defer b.Release()
	for _, d := range drop {
		b.Append(!d)
	}
	mask := b.NewBooleanArray()
	defer mask.Release()
	return compute.FilterRecordBatch(context.Background(), rec, mask, compute.DefaultFilterOptions())
}

// canonicalise fills c.canon/c.valid/c.reasons for the batch's column and
// applies the error policy.
func (p *Pseudonymizer) canonicalise(c *colState, a arrow.Array, n int) error {
	c.canon = resize(c.canon, n)
	c.state = resizeState(c.state, n)
	c.reasons = resize(c.reasons, n)
	for i := 0; i < n; i++ {
		c.state[i], c.reasons[i], c.canon[i] = stateNull, "", ""
		if a.IsNull(i) {
			continue
		}
		c.state[i] = stateEmpty
		v := valueAt(a, i)
		if strings.TrimSpace(v) == "" {
			continue
		}
		if c.rule.Kind == KindNID {
			canon, restored, err := canonicalNID(v, c.rule.RestoreLeadingZero)
			if err != nil {
				if c.invalid == InvalidError {
					return &RowError{Row: p.rows + int64(i) + 1, Column: c.rule.Column, Err: err}
				}
				c.state[i], c.reasons[i] = stateInvalid, invalidReason(err)
				continue
			}
			if restored {
				c.sum.RestoredZeros++
			}
			c.canon[i], c.state[i] = canon, stateValid
			continue
		}
		if canon, ok := c.rule.Kind.Canonical(v); ok {
			c.canon[i], c.state[i] = canon, stateValid
		}
	}
	return nil
}

func (p *Pseudonymizer) codeColumn(c *colState, n int) (arrow.Array, error) {
	b := array.NewStringBuilder(p.mem)
	defer b.Release()
	b.Reserve(n)
	b.ReserveData(n * CodeLen)
	var buf [CodeLen]byte
	for i := 0; i < n; i++ {
		switch c.state[i] {
		case stateValid:
			var code string
			if p.opts.Random {
				var err error
				if code, err = p.assign(c.rule.Kind, c.canon[i]); err != nil {
					if !errors.Is(err, ErrWithdrawn) {
						return nil, &RowError{Row: p.rows + int64(i) + 1, Column: c.rule.Column, Err: err}
					}
					p.drop[i] = true
					b.AppendNull()
					continue
				}
			} else {
				code = string(p.coder.AppendCode(buf[:0], c.rule.Kind, c.canon[i]))
				if p.opts.Linker != nil {
					if err := p.opts.Linker.Link(string(c.rule.Kind), c.canon[i], code); err != nil {
						if !errors.Is(err, ErrWithdrawn) {
							return nil, &RowError{Row: p.rows + int64(i) + 1, Column: c.rule.Column, Err: err}
						}
						p.drop[i] = true
						b.AppendNull()
						continue
					}
				}
			}
			b.Append(code)
			c.sum.Values++
		case stateInvalid:
			b.AppendNull()
			if c.sum.Invalid == nil {
				c.sum.Invalid = map[string]int64{}
			}
			c.sum.Invalid[c.reasons[i]]++
		default:
			appendEmpty(b, c.state[i])
			c.sum.Empty++
		}
	}
	return b.NewArray(), nil
}

// appendEmpty keeps an empty value empty: null stays null, "" stays "".
func appendEmpty(b *array.StringBuilder, st valueState) {
	if st == stateNull {
		b.AppendNull()
	} else {
		b.Append("")
	}
}

// assign returns the random code of an identifier, making one if new.
func (p *Pseudonymizer) assign(kind Kind, canon string) (string, error) {
	for try := 0; ; try++ {
		cand, err := RandomCode()
		if err != nil {
			return "", err
		}
		code, err := p.opts.Linker.Assign(string(kind), canon, cand)
		if err == nil {
			return code, nil
		}
		if try >= 8 || !errors.Is(err, ErrCodeTaken) {
			return "", err
		}
	}
}

func (p *Pseudonymizer) fakeColumn(c *colState, n int) arrow.Array {
	b := array.NewStringBuilder(p.mem)
	defer b.Release()
	b.Reserve(n)
	var subj *colState
	if p.subj >= 0 {
		subj = &p.cols[p.subj]
	}
	for i := 0; i < n; i++ {
		switch {
		case c.state[i] != stateValid:
			appendEmpty(b, c.state[i])
			c.sum.Empty++
		case subj != nil && subj.state[i] == stateValid:
			b.Append(p.faker.Name(subj.rule.Kind, subj.canon[i], c.rule.Part))
			c.sum.Values++
		default:
			b.Append(p.faker.Name(c.rule.Kind, c.canon[i], c.rule.Part))
			c.sum.Values++
		}
	}
	return b.NewArray()
}

func (p *Pseudonymizer) flagColumn(c *colState, n int) arrow.Array {
	b := array.NewStringBuilder(p.mem)
	defer b.Release()
	b.Reserve(n)
	for i := 0; i < n; i++ {
		if c.reasons[i] != "" {
			b.Append(c.reasons[i])
		} else {
			b.AppendNull()
		}
	}
	return b.NewArray()
}

// Summary returns what the run has done so far.
func (p *Pseudonymizer) Summary() Summary {
	s := Summary{Rows: p.rows, Unmentioned: append([]string{}, p.unmentioned...), WithdrawnRows: p.withdrawn}
	for _, c := range p.cols {
		cs := c.sum
		if cs.Invalid != nil {
			m := make(map[string]int64, len(cs.Invalid))
			for k, v := range cs.Invalid {
				m[k] = v
			}
			cs.Invalid = m
		}
		s.Columns = append(s.Columns, cs)
	}
	return s
}

// valueAt returns the i-th (non-null) value of a as text.
func valueAt(a arrow.Array, i int) string {
	var v string
	switch a := a.(type) {
	case *array.String:
		v = a.Value(i)
	case *array.LargeString:
		v = a.Value(i)
	case *array.StringView:
		v = a.Value(i)
	case *array.Binary:
		v = string(a.Value(i))
	case *array.LargeBinary:
		v = string(a.Value(i))
	case *array.Int64:
		v = strconv.FormatInt(a.Value(i), 10)
	case *array.Int32:
		v = strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int16:
		v = strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int8:
		v = strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Uint64:
		v = strconv.FormatUint(a.Value(i), 10)
	case *array.Uint32:
		v = strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Uint16:
		v = strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Uint8:
		v = strconv.FormatUint(uint64(a.Value(i)), 10)
	case *array.Dictionary:
		return valueAt(a.Dictionary(), a.GetValueIndex(i))
	default:
		v = a.ValueStr(i)
	}
	return v
}

func resize(s []string, n int) []string {
	if cap(s) < n {
		return make([]string, n)
	}
	return s[:n]
}

func resizeState(s []valueState, n int) []valueState {
	if cap(s) < n {
		return make([]valueState, n)
	}
	return s[:n]
}
