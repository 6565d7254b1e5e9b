package pseudo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

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

// ProgressLinker is a Linker that wants to know how far a run is: a
// FileJob tells it, after each batch it reads, what share of the input
// (0 to 1) it has read. keyvault's Tx is one (it plans for the links
// still to come).
type ProgressLinker interface {
	Linker
	Progress(share float64)
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
	// Finder finds identifiers inside free text, for redact rules.
	Finder TextFinder

	// nameDicts makes given-name and surname columns dictionary arrays
	// over the name lists (see nameDictionary), which a Parquet writer
	// writes without hashing a name; FileJob sets it for Parquet output,
	// whose stored schema gives the columns as strings.
	nameDicts bool
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
// to the input schema, then Transform each batch in order. Transform is not
// safe for concurrent use; for several goroutines, give each a Worker.
type Pseudonymizer struct {
	rules       Rules
	opts        Options
	mem         memory.Allocator
	in          *arrow.Schema
	out         *arrow.Schema
	plan        []step    // one per output column
	specs       []colSpec // one per rule
	subj        int       // index into specs of the subject column, or -1
	subjFakes   bool      // fake-name columns take their names from the subject
	unmentioned []string

	caches []*valueCache // one per rule: raw value -> result, shared by the workers

	seq  *Worker // the worker behind Transform
	next int64   // row number of the next batch given to Transform

	mu        sync.Mutex // guards the totals below
	rows      int64
	withdrawn int64
	sums      []ColumnSummary
}

// colSpec is what Bind decided for one rule.
type colSpec struct {
	rule    ColumnRule
	invalid InvalidPolicy
	index   int // input column index
	// lazy marks a fake-name column that is not identified up front: its
	// rows are classified as fakeColumn builds it, and its canonical forms
	// are worked out only for rows whose subject is not valid (see
	// Worker.fakeColumn). Only kinds whose values are never invalid qualify.
	lazy bool
	// dict is the dictionary of a fake-name column given as a dictionary
	// array (Options.nameDicts), nil otherwise.
	dict arrow.Array
}

// canBeInvalid reports whether the column's values are validated (only
// identity numbers are: other kinds have no invalid values).
func (c *colSpec) canBeInvalid() bool {
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
	col  int  // index into specs for code/fake-name output
	flag bool // the "<column>_invalid" column of specs[col]
}

// New returns a Pseudonymizer for rules.
func New(rules *Rules, o Options) (*Pseudonymizer, error) {
	r := *rules
	r.Columns = append([]ColumnRule(nil), rules.Columns...)
	if err := r.Check(); err != nil {
		return nil, err
	}
	if len(o.DomainSecret) < 16 {
		return nil, errors.New("pseudo: domain secret too short")
	}
	if o.Random && o.Linker == nil {
		return nil, errors.New("pseudo: random codes need a Linker (the vault) to remember them")
	}
	mem := o.Allocator
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &Pseudonymizer{rules: r, opts: o, mem: mem, subj: -1}, nil
}

// Rules returns the (checked, defaulted) rules the Pseudonymizer applies.
func (p *Pseudonymizer) Rules() Rules { return p.rules }

// Bind checks the rules against the input schema and returns the output
// schema: columns in input order, coded and fake-name columns as strings,
// dropped columns removed, and a "<column>_invalid" string column after each
// identity-number column whose invalid policy is flag.
func (p *Pseudonymizer) Bind(in *arrow.Schema) (*arrow.Schema, error) {
	byName := map[string]int{}
	for i, f := range in.Fields() {
		if _, dup := byName[f.Name]; dup {
			return nil, fmt.Errorf("the input has two columns named %q", f.Name)
		}
		byName[f.Name] = i
	}
	ruleOf := map[int]int{}
	p.specs = p.specs[:0]
	p.subj = -1
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
		if cr.Action == ActionRedact {
			if p.opts.Finder == nil {
				return nil, fmt.Errorf("column %q: %w", cr.Column, errNoFinder)
			}
			if id := in.Field(idx).Type.ID(); id != arrow.STRING && id != arrow.LARGE_STRING && id != arrow.STRING_VIEW {
				return nil, fmt.Errorf("column %q: redact works on text columns, not %s", cr.Column, in.Field(idx).Type)
			}
		}
		ruleOf[idx] = len(p.specs)
		if cr.Subject {
			p.subj = len(p.specs)
		}
		p.specs = append(p.specs, colSpec{rule: cr, invalid: pol, index: idx})
	}
	p.subjFakes = false
	if p.subj >= 0 {
		for i := range p.specs {
			if s := &p.specs[i]; s.rule.Action == ActionFakeName {
				p.subjFakes = true
				s.lazy = s.rule.Kind != KindNID
			}
		}
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
		case !ruled || p.specs[ci].rule.Action == ActionKeep:
			fields = append(fields, f)
			p.plan = append(p.plan, step{keep: i, col: -1})
		case p.specs[ci].rule.Action == ActionDrop:
		default:
			var t arrow.DataType = arrow.BinaryTypes.String
			if s := &p.specs[ci]; s.rule.Action == ActionFakeName && p.opts.nameDicts {
				if s.dict = nameDictionary(s.rule.Part); s.dict != nil {
					t = nameDictType
				}
			}
			fields = append(fields, arrow.Field{Name: f.Name, Type: t, Nullable: true, Metadata: f.Metadata})
			p.plan = append(p.plan, step{keep: -1, col: ci})
			if p.specs[ci].invalid == InvalidFlag && p.specs[ci].canBeInvalid() {
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
	p.caches = make([]*valueCache, len(p.specs))
	for i, c := range p.specs {
		if a := c.rule.Action; a == ActionCode || a == ActionFakeName {
			p.caches[i] = newValueCache(cacheSlots)
		}
	}
	p.sums = make([]ColumnSummary, len(p.specs))
	for i, c := range p.specs {
		p.sums[i] = ColumnSummary{Column: c.rule.Column, Action: c.rule.Action, Kind: c.rule.Kind}
	}
	p.seq = p.NewWorker()
	p.next = 1
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
	out, err := p.seq.Transform(rec, p.next)
	p.next += rec.NumRows()
	return out, err
}

// setAhead and entryAhead are how many rows ahead of a value's lookup
// identify prefetches its cache set and its cache entry.
var setAhead, entryAhead = 12, 6

// cacheSize bounds each generation of a worker's per-column cache of
// fictitious-name indexes (so at most twice as many entries), used for
// fake-name columns whose subject is not valid.
const cacheSize = 1 << 14

// cacheSlots is the most slots of the per-column cache of recent values
// that the workers share (valueCache: 128 bytes a slot, 16 MiB at this
// size, in a table that starts at firstSlots and grows with the distinct
// values). Repeats that miss here still hit the vault transaction's own
// cache. Measured with the earlier cache of pointers to entries (10 bytes
// a slot plus a 128-byte entry a value) on 1M rows
// (2026-11-23, fresh vault, 2 cores): against 1<<16, 1<<17 took 9-12 % less
// CPU with 100,000 persons and 5 % more with 1,000,000 (more live cache
// under the soft memory limit), peak RSS unchanged (CSV 211-217 MB,
// Parquet 225-227 MB); 1<<18 took another 6 % less with 100,000 persons
// but 40 % more CPU with 1,000,000, as the garbage collector ran against
// the limit.
const cacheSlots = 1 << 17

// cached is what the workers remember of a value they have met: its
// canonical form and code (already linked), or why it is invalid. It
// depends only on the value (and the column's rule), never on which worker
// or batch met it.
type cached struct {
	// s is the code on a code column (which needs no canonical form),
	// the canonical form on a fake-name column.
	s        string
	err      error    // the value is invalid
	fake     [2]int32 // for the subject: indexes of its fictitious name (see Faker.indexes)
	restored bool     // a lost leading zero was restored
}

// A Worker transforms batches for one goroutine. Workers of one
// Pseudonymizer may run concurrently (the Linker must then be safe for
// concurrent use, as keyvault's Tx is); their counts add up in Summary.
type Worker struct {
	p     *Pseudonymizer
	coder *Coder
	faker *Faker
	cols  []colScratch
	drop  []bool
	buf   []byte
	spans []Span
}

// colScratch is a worker's per-rule state for the current batch.
type colScratch struct {
	canon   []string
	state   []valueState
	reasons []string
	codes   []string
	hashes  []uint64   // of each row's value in cache
	fakeIx  [][2]int32 // subject only: fictitious-name indexes of valid rows
	sum     ColumnSummary
	cache   *valueCache       // raw value -> result, for repeated values (the Pseudonymizer's)
	arena   []byte            // the batch's strings read from cache (codes, canonical forms)
	fakes   *genCache[[2]int] // canonical subject -> name indexes
}

// NewWorker returns a Worker. Call it after Bind.
func (p *Pseudonymizer) NewWorker() *Worker {
	coder, _ := NewCoder(p.opts.DomainSecret) // length checked in New
	faker, _ := NewFaker(p.opts.DomainSecret)
	w := &Worker{p: p, coder: coder, faker: faker, cols: make([]colScratch, len(p.specs))}
	for i := range w.cols {
		w.cols[i].cache = p.caches[i]
		w.cols[i].fakes = newGenCache[[2]int](cacheSize)
	}
	return w
}

// Transform pseudonymises rec, whose first row is row firstRow (1-based) of
// the input; see Pseudonymizer.Transform.
func (w *Worker) Transform(rec arrow.RecordBatch, firstRow int64) (arrow.RecordBatch, error) {
	p := w.p
	if p.out == nil {
		return nil, errors.New("pseudo: Transform before Bind")
	}
	if !rec.Schema().Equal(p.in) {
		return nil, errors.New("pseudo: batch schema differs from the bound schema")
	}
	n := int(rec.NumRows())
	w.drop = w.drop[:0]
	for i := 0; i < n; i++ {
		w.drop = append(w.drop, false)
	}
	for i := range w.cols {
		w.cols[i].sum = ColumnSummary{}
	}
	// Identify and code first (the subject before fake names), then build
	// the output columns.
	for ci := range p.specs {
		if a := p.specs[ci].rule.Action; a == ActionCode || (a == ActionFakeName && !p.specs[ci].lazy) {
			if err := w.identify(ci, rec.Column(p.specs[ci].index), n, firstRow); err != nil {
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
		switch {
		case s.keep >= 0:
			a = rec.Column(s.keep)
			a.Retain()
		case s.flag:
			a = w.flagColumn(s.col, n)
		case p.specs[s.col].rule.Action == ActionCode:
			a = w.codeColumn(s.col, n)
		case p.specs[s.col].rule.Action == ActionRedact:
			var err error
			if a, err = w.redactColumn(s.col, rec.Column(p.specs[s.col].index), n, firstRow); err != nil {
				return nil, err
			}
		default:
			a = w.fakeColumn(s.col, rec.Column(p.specs[s.col].index), n)
		}
		cols = append(cols, a)
	}
	out := array.NewRecordBatch(p.out, cols, int64(n))
	dropped := 0
	for _, d := range w.drop {
		if d {
			dropped++
		}
	}
	w.addTotals(int64(n), int64(dropped))
	if dropped == 0 {
		return out, nil
	}
	// Rows of withdrawn persons never reach the output.
	defer out.Release()
	return filterRows(p.mem, out, w.drop)
}

// addTotals adds this batch's counts to the Pseudonymizer's.
func (w *Worker) addTotals(rows, withdrawn int64) {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rows += rows
	p.withdrawn += withdrawn
	for i := range w.cols {
		b, t := &w.cols[i].sum, &p.sums[i]
		t.Values += b.Values
		t.Empty += b.Empty
		t.RestoredZeros += b.RestoredZeros
		for k, v := range b.Invalid {
			if t.Invalid == nil {
				t.Invalid = map[string]int64{}
			}
			t.Invalid[k] += v
		}
	}
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

// identify fills the column's canonical forms, states and (for code
// columns) codes for the batch, linking new identifiers, and applies the
// invalid-value policy. A value seen before by this worker costs one map
// lookup.
func (w *Worker) identify(ci int, a arrow.Array, n int, firstRow int64) error {
	spec := &w.p.specs[ci]
	c := &w.cols[ci]
	c.canon = resize(c.canon, n)
	c.state = resize(c.state, n)
	c.reasons = resize(c.reasons, n)
	c.codes = resize(c.codes, n)
	coding := spec.rule.Action == ActionCode
	fakes := ci == w.p.subj && w.p.subjFakes
	if fakes {
		c.fakeIx = resize(c.fakeIx, n)
	}
	c.arena = resetArena(c.arena, n)
	// Hash every value first, then prefetch each value's cache set and
	// entry some rows ahead of its lookup, so that the batch's cache
	// misses overlap instead of coming one after the other. Measured
	// (2026-12-02, AMD EPYC, 2 cores): the cache's lookups went from
	// 24-28 % of the CPU profile to 4-6 % (prefetches included); CSV of
	// 5M rows, 100,000 persons, fresh vault: 11.7-12.0 -> 8.6-8.7 user
	// CPU s; BenchmarkPipelineCSV/workers=1 on 2M rows 2.2-2.5 -> 1.2-1.3
	// s (then with a prefetch of the cached codes' bytes in codeColumn,
	// which the slots that hold their codes made needless). Loads of the
	// same lines a few rows ahead instead (no prefetch instruction) were
	// slower than none: the CPU stalls on them.
	sa, pre := a.(*array.String) // other types make their text in valueAt
	if pre {
		c.hashes = resize(c.hashes, n)
		for i := 0; i < n; i++ {
			c.hashes[i] = c.cache.hash(sa.Value(i))
		}
	}
	for i := 0; pre && i < min(setAhead, n); i++ {
		c.cache.prefetchSet(c.hashes[i])
	}
	for i := 0; i < n; i++ {
		if pre {
			if j := i + setAhead; j < n {
				c.cache.prefetchSet(c.hashes[j])
			}
			if j := i + entryAhead; j < n {
				c.cache.prefetchEntry(c.hashes[j])
			}
		}
		c.state[i], c.reasons[i], c.canon[i], c.codes[i] = stateNull, "", "", ""
		if a.IsNull(i) {
			continue
		}
		c.state[i] = stateEmpty
		v := valueAt(a, i)
		var hc cached
		var h uint64
		var ok bool
		if pre {
			h = c.hashes[i]
			hc, ok = c.cache.getHashed(v, h, &c.arena)
		} else {
			hc, h, ok = c.cache.get(v, &c.arena)
		}
		if ok {
			if hc.err != nil {
				if spec.invalid == InvalidError {
					return &RowError{Row: firstRow + int64(i), Column: spec.rule.Column, Err: hc.err}
				}
				c.state[i], c.reasons[i] = stateInvalid, invalidReason(hc.err)
				continue
			}
			if coding {
				c.codes[i] = hc.s
			} else {
				c.canon[i] = hc.s
			}
			c.state[i] = stateValid
			if fakes {
				c.fakeIx[i] = hc.fake
			}
			if hc.restored {
				c.sum.RestoredZeros++
			}
			continue
		}
		if strings.TrimSpace(v) == "" {
			continue
		}
		var canon string
		var hit cached
		if spec.rule.Kind == KindNID {
			cn, restored, err := canonicalNID(v, spec.rule.RestoreLeadingZero)
			if err != nil {
				if spec.invalid == InvalidError {
					return &RowError{Row: firstRow + int64(i), Column: spec.rule.Column, Err: err}
				}
				c.state[i], c.reasons[i] = stateInvalid, invalidReason(err)
				w.remember(c, v, h, cached{err: err})
				continue
			}
			if restored {
				c.sum.RestoredZeros++
			}
			canon, hit.restored = cn, restored
		} else {
			cn, ok := spec.rule.Kind.Canonical(v)
			if !ok {
				continue
			}
			canon = cn
		}
		c.canon[i], c.state[i] = canon, stateValid
		if !coding {
			hit.s = canon
			w.remember(c, v, h, hit)
			continue
		}
		code, err := w.code(spec, canon)
		if errors.Is(err, ErrWithdrawn) {
			w.drop[i] = true
			c.state[i] = stateNull
			continue
		}
		if err != nil {
			return &RowError{Row: firstRow + int64(i), Column: spec.rule.Column, Err: err}
		}
		c.codes[i] = code
		hit.s = code
		if fakes {
			// The subject's fictitious name, worked out once per value
			// for every fake-name column of the row.
			g, f := w.faker.indexes(spec.rule.Kind, canon)
			hit.fake = [2]int32{int32(g), int32(f)}
			c.fakeIx[i] = hit.fake
		}
		w.remember(c, v, h, hit)
	}
	return nil
}

// remember caches a value's result (the cache copies v and r.s, which
// may point into the batch's Arrow buffer).
func (w *Worker) remember(c *colScratch, v string, h uint64, r cached) {
	c.cache.put(v, h, r)
}

// code returns the code of a canonical identifier and links it.
func (w *Worker) code(spec *colSpec, canon string) (string, error) {
	p := w.p
	if p.opts.Random {
		return p.assign(spec.rule.Kind, canon)
	}
	w.buf = w.coder.AppendCode(w.buf[:0], spec.rule.Kind, canon)
	code := string(w.buf)
	if p.opts.Linker != nil {
		if err := p.opts.Linker.Link(string(spec.rule.Kind), canon, code); err != nil {
			return "", err
		}
	}
	return code, nil
}

func (w *Worker) codeColumn(ci int, n int) arrow.Array {
	c := &w.cols[ci]
	b := array.NewStringBuilder(w.p.mem)
	defer b.Release()
	b.Reserve(n)
	b.ReserveData(n * CodeLen)
	for i := 0; i < n; i++ {
		switch c.state[i] {
		case stateValid:
			b.Append(c.codes[i])
			c.sum.Values++
		case stateInvalid:
			b.AppendNull()
			if c.sum.Invalid == nil {
				c.sum.Invalid = map[string]int64{}
			}
			c.sum.Invalid[c.reasons[i]]++
		default:
			appendEmpty(b, c.state[i])
			if !w.drop[i] {
				c.sum.Empty++
			}
		}
	}
	return b.NewArray()
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

// fakeColumn builds a fake-name column. With a subject, the name of a
// row whose subject is valid comes from the subject's cached indexes; the
// column's own canonical form is worked out only when the subject is not
// valid (and, for a lazy column, its values are classified here).
func (w *Worker) fakeColumn(ci int, a arrow.Array, n int) arrow.Array {
	p := w.p
	spec := &p.specs[ci]
	if spec.dict != nil {
		return w.fakeDictColumn(ci, a, n)
	}
	b := array.NewStringBuilder(p.mem)
	defer b.Release()
	b.Reserve(n)
	w.fakeRows(ci, a, n, func(st valueState, ix [2]int) {
		if st != stateValid {
			appendEmpty(b, st)
			return
		}
		b.Append(nameOf(ix[0], ix[1], spec.rule.Part))
	})
	return b.NewArray()
}

// fakeDictColumn is fakeColumn for a column given as a dictionary array
// over its name list: row i holds the index of its name, 0 (the empty
// string) for an empty value, null for null.
func (w *Worker) fakeDictColumn(ci int, a arrow.Array, n int) arrow.Array {
	p := w.p
	spec := &p.specs[ci]
	part := 0 // which of the two name indexes
	if spec.rule.Part == PartFamily {
		part = 1
	}
	b := array.NewInt32Builder(p.mem)
	defer b.Release()
	b.Reserve(n)
	w.fakeRows(ci, a, n, func(st valueState, ix [2]int) {
		switch st {
		case stateValid:
			b.UnsafeAppend(int32(1 + ix[part]))
		case stateNull:
			b.UnsafeAppendBoolToBitmap(false)
		default:
			b.UnsafeAppend(0)
		}
	})
	ix := b.NewArray()
	defer ix.Release()
	return array.NewDictionaryArray(nameDictType, ix, spec.dict)
}

// fakeRows gives row, for each row of fake-name column ci in turn, its
// state and, if valid, the indexes of its fictitious name, counting the
// rows in the column's summary.
func (w *Worker) fakeRows(ci int, a arrow.Array, n int, row func(st valueState, ix [2]int)) {
	p := w.p
	c := &w.cols[ci]
	spec := &p.specs[ci]
	var subj *colScratch
	if p.subj >= 0 {
		subj = &w.cols[p.subj]
	}
	if spec.lazy {
		c.arena = resetArena(c.arena, n) // classify reads the cache
	}
	for i := 0; i < n; i++ {
		var st valueState
		var canon string
		subjValid := subj != nil && subj.state[i] == stateValid
		if spec.lazy {
			st, canon = w.classify(c, spec, a, i, subjValid)
		} else {
			st, canon = c.state[i], c.canon[i]
		}
		switch {
		case st != stateValid:
			c.sum.Empty++
			row(st, [2]int{})
		case subjValid:
			c.sum.Values++
			row(st, [2]int{int(subj.fakeIx[i][0]), int(subj.fakeIx[i][1])})
		default:
			c.sum.Values++
			row(st, w.fake(c, spec.rule.Kind, canon))
		}
	}
}

// classify returns the state of row i of a lazy fake-name column, and its
// canonical form unless nameOnly (the row's subject gives the name). It
// agrees with identify: null stays null, a blank value or one with no
// canonical form is empty.
func (w *Worker) classify(c *colScratch, spec *colSpec, a arrow.Array, i int, nameOnly bool) (valueState, string) {
	if a.IsNull(i) {
		return stateNull, ""
	}
	v := valueAt(a, i)
	if nameOnly && plainASCII(spec.rule.Kind, v) {
		return stateValid, ""
	}
	hit, h, ok := c.cache.get(v, &c.arena)
	if ok {
		return stateValid, hit.s
	}
	if strings.TrimSpace(v) == "" {
		return stateEmpty, ""
	}
	canon, ok := spec.rule.Kind.Canonical(v)
	if !ok {
		return stateEmpty, ""
	}
	w.remember(c, v, h, cached{s: canon})
	return stateValid, canon
}

// plainASCII reports whether v, of kind k, is ASCII with a character other
// than white space, so that its canonical form is certainly not empty:
// for names, e-mail addresses and text, canonicalisation of ASCII only
// changes case and white space.
func plainASCII(k Kind, v string) bool {
	if k != KindName && k != KindEmail && k != KindText {
		return false
	}
	blank := true
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= 0x80:
			return false
		case c == ' ' || (c >= '\t' && c <= '\r'):
		default:
			blank = false
		}
	}
	return !blank
}

// fake returns a fictitious name (part), cached per worker and column.
func (w *Worker) fake(c *colScratch, kind Kind, canon string) [2]int {
	ix, ok := c.fakes.get(canon)
	if !ok {
		ix[0], ix[1] = w.faker.indexes(kind, canon)
		c.fakes.put(strings.Clone(canon), ix) // canon may alias the batch's buffer
	}
	return ix
}

func (w *Worker) flagColumn(ci int, n int) arrow.Array {
	c := &w.cols[ci]
	b := array.NewStringBuilder(w.p.mem)
	defer b.Release()
	b.Reserve(n)
	for i := 0; i < n; i++ {
		if c.state[i] == stateInvalid {
			b.Append(c.reasons[i])
		} else {
			b.AppendNull()
		}
	}
	return b.NewArray()
}

// Summary returns what the run has done so far (all workers together).
func (p *Pseudonymizer) Summary() Summary {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Summary{Rows: p.rows, Unmentioned: append([]string{}, p.unmentioned...), WithdrawnRows: p.withdrawn}
	for _, cs := range p.sums {
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

// resetArena empties a column's arena of strings read from the cache,
// for a batch of n rows, with room for n codes. Reusing it is safe: the
// strings of the batch before were copied into its output arrays.
func resetArena(a []byte, n int) []byte {
	if cap(a) < n*CodeLen {
		return make([]byte, 0, n*CodeLen)
	}
	return a[:0]
}

// resize returns s with length n, reusing its array when it is large enough.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
