package anonymize

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// DiversityKind names a variant of l-diversity.
type DiversityKind string

// The l-diversity variants (Machanavajjhala et al. 2007, as ARX implements them).
const (
	// DistinctDiversity requires at least L distinct sensitive values in every class.
	DistinctDiversity DiversityKind = "distinct"
	// EntropyDiversity requires the entropy of a class's sensitive values
	// (log base 2) to be at least log2(L).
	EntropyDiversity DiversityKind = "entropy"
	// RecursiveDiversity requires r1 < C·(r_L + ... + r_m) in every class,
	// r being the frequencies of its sensitive values in decreasing order.
	RecursiveDiversity DiversityKind = "recursive"
)

// A DiversityCriterion requires l-diversity of a sensitive attribute in
// every class that is not suppressed.
type DiversityCriterion struct {
	// Column is the sensitive attribute.
	Column string `json:"column"`
	// Kind is the variant (default distinct).
	Kind DiversityKind `json:"kind"`
	// L is the l.
	L float64 `json:"l"`
	// C is the c of recursive (c,l)-diversity.
	C float64 `json:"c,omitempty"`
}

// ok reports whether a class with sensitive-value frequencies fs satisfies d.
func (d DiversityCriterion) ok(fs []int64) bool {
	switch d.Kind {
	case EntropyDiversity:
		var total int64
		for _, f := range fs {
			total += f
		}
		h := 0.0
		for _, f := range fs {
			p := float64(f) / float64(total)
			h -= p * log2(p)
		}
		return h >= log2(d.L)
	case RecursiveDiversity:
		l := int(d.L)
		if len(fs) < l {
			return false
		}
		s := slices.Clone(fs)
		slices.SortFunc(s, func(a, b int64) int { return cmp.Compare(b, a) })
		var tail int64
		for _, f := range s[l-1:] {
			tail += f
		}
		return float64(s[0]) < d.C*float64(tail)
	}
	return float64(len(fs)) >= d.L
}

// monotonicWithSuppression reports whether the criterion keeps the
// property that generalising never suppresses more records.
func (d DiversityCriterion) monotonicWithSuppression() bool {
	return d.Kind == DistinctDiversity || d.Kind == ""
}

// Config says what a search must achieve and how it measures loss.
type Config struct {
	// K is the k of k-anonymity (at least 1).
	K int
	// Diversity are l-diversity criteria on sensitive attributes.
	Diversity []DiversityCriterion
	// Suppression is the largest share of records that may be suppressed
	// (removed) to reach the criteria, from 0 to 1. As in ARX, at most
	// floor(Suppression × records) records are suppressed.
	Suppression float64
	// Metric is the information-loss metric minimised (default Loss).
	Metric Metric
	// MinLevels and MaxLevels, if not nil, bound each quasi-identifier's
	// generalisation level (a negative entry means no bound).
	MinLevels, MaxLevels []int
	// Heuristic forces the heuristic search even for a small lattice;
	// Exhaustive refuses (ErrLatticeTooLarge) to search a lattice larger
	// than MaxNodes other than exhaustively.
	Heuristic, Exhaustive bool
	// MaxNodes is the largest lattice searched exhaustively (default 1<<20
	// nodes); a larger one is searched heuristically.
	MaxNodes int64
	// Budget bounds the nodes the heuristic search evaluates (default 2000).
	Budget int
}

// A Solution is the outcome of a search.
type Solution struct {
	// Found reports whether a transformation meets the criteria; if not,
	// the other fields describe the search only.
	Found bool `json:"found"`
	// Levels is the chosen generalisation level of each quasi-identifier.
	Levels []int `json:"levels"`
	// Attributes details each quasi-identifier.
	Attributes []AttributeLevel `json:"attributes"`
	// Metric and Value are the metric and its value for the transformation.
	Metric Metric  `json:"metric"`
	Value  float64 `json:"value"`
	// LowerBound is the metric's value without suppression.
	LowerBound float64 `json:"lower_bound"`
	// Records is the number of records; Suppressed those suppressed and
	// SuppressionLimit the most that could be.
	Records          int64 `json:"records"`
	Suppressed       int64 `json:"suppressed"`
	SuppressionLimit int64 `json:"suppression_limit"`
	// Classes is the number of classes left; MinClass the smallest.
	Classes  int   `json:"classes"`
	MinClass int64 `json:"min_class"`
	// Optimal reports an exhaustive search: no transformation of the
	// lattice meeting the criteria has a lower value.
	Optimal bool `json:"optimal"`
	// Lattice is the number of transformations; Evaluated how many the
	// search grouped the data for.
	Lattice   int64 `json:"lattice_size"`
	Evaluated int   `json:"nodes_evaluated"`
	// Duration is the search's run time.
	Duration   time.Duration `json:"-"`
	DurationMS float64       `json:"duration_ms"`
}

// AttributeLevel describes the level chosen for one quasi-identifier.
type AttributeLevel struct {
	// Column is the quasi-identifier.
	Column string `json:"column"`
	// Level is the level chosen; Height the hierarchy's highest.
	Level  int `json:"level"`
	Height int `json:"height"`
	// Hierarchy names the hierarchy.
	Hierarchy string `json:"hierarchy"`
	// Value is the attribute's part of the metric (Loss, Precision,
	// Entropy), before aggregation.
	Value float64 `json:"value"`
}

// ErrLatticeTooLarge is returned when the lattice cannot be indexed.
var ErrLatticeTooLarge = errors.New("generalisation lattice too large")

// group is the set of distinct (generalised) combinations at a node: a
// representative table entry and the record count of each.
type group struct {
	levels []int
	keys   []uint64 // packed codes in the problem's fixed layout (narrow problems)
	reps   []int32  // a representative table entry (wide problems)
	counts []int64
	used   int64 // LRU clock
}

func (g *group) len() int { return len(g.counts) }

// classes are the equivalence classes at a node: their sizes and, to find
// their generalised values, a packed key (narrow) or representative entry.
type classes struct {
	sizes []int64
	keys  []uint64
	reps  []int32
}

// eval is what is known of a node after grouping the data for it.
type eval struct {
	anonymous  bool
	suppressed int64
	classes    int // unsuppressed classes
	minClass   int64
	value      float64
	lb         float64
	parts      []float64
}

type lattice struct {
	lo, hi []int
	stride []int64
	size   int64
}

func (lt *lattice) index(levels []int) int64 {
	var x int64
	for i, l := range levels {
		x += int64(l-lt.lo[i]) * lt.stride[i]
	}
	return x
}

func (lt *lattice) levels(x int64, dst []int) []int {
	dst = dst[:0]
	for i := range lt.lo {
		dst = append(dst, lt.lo[i]+int((x/lt.stride[i])%int64(lt.hi[i]-lt.lo[i]+1)))
	}
	return dst
}

func height(levels []int) int {
	h := 0
	for _, l := range levels {
		h += l
	}
	return h
}

// A Problem is a dataset's combinations (a Table), a hierarchy for each of
// its quasi-identifiers, and a Config: an instance of optimal full-domain
// generalisation with record suppression.
type Problem struct {
	t       *Table
	orig    []int32 // combination of t of each combination of the caller's table (nil: the same)
	hs      []*Hierarchy
	cfg     Config
	nq      int
	div     []int // table column of each diversity criterion
	rows    int64
	maxOut  int64
	gen     [][][]uint32  // [qi][level][code] -> code of the generalised value
	nlab    [][]int       // [qi][level] -> number of generalised values
	share   [][][]float64 // [qi][level][gcode] -> share of the domain under it
	sumSh   [][]float64   // [qi][level] -> sum over records of share
	ent     [][]float64   // [qi][level] -> sum over values of a·log2(a/b) (<= 0)
	heights []int
	lat     lattice
	bottom  *group
	cache   []*group
	cached  int
	clock   int64
	evals   map[int64]*eval
	tables  map[int]*keyTable
	checked int
	// Fixed key layout over the columns of t, when it fits 64 bits.
	narrow bool
	shifts []uint
	masks  []uint64
	up     [][][][]uint32 // [qi][from][to][gcode] -> gcode
}

// maxCachedGroups bounds the groups kept for rolling up.
const maxCachedGroups = 1024

// NewProblem checks the hierarchies (one per quasi-identifier of t, in
// order) against the data and prepares the search. Sensitive attributes of
// t that no diversity criterion names are ignored.
func NewProblem(t *Table, hs []*Hierarchy, cfg Config) (*Problem, error) {
	if len(hs) != t.QI {
		return nil, fmt.Errorf("anonymize: %d hierarchies for %d quasi-identifiers", len(hs), t.QI)
	}
	if t.QI == 0 {
		return nil, errors.New("no quasi-identifiers")
	}
	if cfg.K < 1 {
		return nil, fmt.Errorf("k must be at least 1 (got %d)", cfg.K)
	}
	if !(cfg.Suppression >= 0 && cfg.Suppression <= 1) {
		return nil, fmt.Errorf("suppression limit must be between 0 and 1 (got %v)", cfg.Suppression)
	}
	if cfg.Metric == "" {
		cfg.Metric = Loss
	}
	if _, err := ParseMetric(string(cfg.Metric)); err != nil {
		return nil, err
	}
	if cfg.MaxNodes <= 0 {
		cfg.MaxNodes = 1 << 20
	}
	if cfg.Budget <= 0 {
		cfg.Budget = 2000
	}
	// Keep the quasi-identifiers and the columns criteria need.
	keep := make([]int, 0, t.QI+len(cfg.Diversity))
	for i := range t.QI {
		keep = append(keep, i)
	}
	var div []int
	for _, d := range cfg.Diversity {
		if err := d.check(); err != nil {
			return nil, err
		}
		j := slices.Index(t.Columns[t.QI:], d.Column)
		if j < 0 {
			return nil, fmt.Errorf("l-diversity of %q: not a sensitive attribute of the data", d.Column)
		}
		if !slices.Contains(keep, t.QI+j) {
			keep = append(keep, t.QI+j)
		}
	}
	t, orig := project(t, keep)
	for _, d := range cfg.Diversity {
		div = append(div, slices.Index(t.Columns, d.Column))
	}
	for i, h := range hs {
		if err := h.Check(t.Columns[i], t.Values[i]); err != nil {
			return nil, err
		}
	}
	p := &Problem{t: t, orig: orig, hs: hs, cfg: cfg, nq: t.QI, div: div, rows: t.Rows,
		evals: map[int64]*eval{}, tables: map[int]*keyTable{}}
	p.maxOut = int64(math.Floor(cfg.Suppression * float64(t.Rows)))
	if err := p.prepare(); err != nil {
		return nil, err
	}
	p.bottom = &group{levels: make([]int, p.nq), counts: t.Counts}
	if p.narrow {
		keys := make([]uint64, t.Len())
		for c := range t.Columns {
			codes, s := t.Codes[c], p.shifts[c]
			for e, v := range codes {
				keys[e] |= uint64(v) << s
			}
		}
		p.bottom.keys = keys
	} else {
		reps := make([]int32, t.Len())
		for i := range reps {
			reps[i] = int32(i)
		}
		p.bottom.reps = reps
	}
	return p, nil
}

// project returns t restricted to the columns keep, merging
// combinations, and the new combination of each old one (nil if t is
// returned unchanged).
func project(t *Table, keep []int) (*Table, []int32) {
	if len(keep) == len(t.Columns) {
		return t, nil
	}
	widths := make([]uint, len(keep))
	for i, c := range keep {
		widths[i] = widthFor(len(t.Values[c]))
	}
	classOf, sizes := groupKeys(t, keep, func(c, e int) uint32 { return t.Codes[c][e] }, widths)
	out := &Table{QI: t.QI, Rows: t.Rows, Counts: sizes}
	for _, c := range keep {
		out.Columns = append(out.Columns, t.Columns[c])
		out.Values = append(out.Values, t.Values[c])
		codes := make([]uint32, len(sizes))
		for e, ci := range classOf {
			codes[ci] = t.Codes[c][e]
		}
		out.Codes = append(out.Codes, codes)
	}
	return out, classOf
}

// prepare builds the generalisation tables and the per-level sums the
// metrics need, and the lattice.
func (p *Problem) prepare() error {
	t := p.t
	n := p.nq
	p.gen = make([][][]uint32, n)
	p.nlab = make([][]int, n)
	p.share = make([][][]float64, n)
	p.sumSh = make([][]float64, n)
	p.ent = make([][]float64, n)
	p.heights = make([]int, n)
	p.lat = lattice{lo: make([]int, n), hi: make([]int, n), stride: make([]int64, n)}
	for i, h := range p.hs {
		levels := h.Levels()
		p.heights[i] = levels - 1
		// Records per value (code).
		a := make([]int64, len(t.Values[i]))
		for e, c := range t.Codes[i] {
			a[c] += t.Counts[e]
		}
		// Leaves under each label, per level, over the whole hierarchy.
		leaves := make([]map[string]int, levels)
		for l := range leaves {
			leaves[l] = map[string]int{}
		}
		for _, row := range h.rows {
			for l, lab := range row {
				leaves[l][lab]++
			}
		}
		domain := float64(h.Len())
		p.gen[i] = make([][]uint32, levels)
		p.nlab[i] = make([]int, levels)
		p.share[i] = make([][]float64, levels)
		p.sumSh[i] = make([]float64, levels)
		p.ent[i] = make([]float64, levels)
		for l := range levels {
			codes := make([]uint32, len(t.Values[i]))
			byLabel := map[string]uint32{}
			var shares []float64
			var b []int64
			for c, v := range t.Values[i] {
				lab := h.Row(v)[l]
				g, ok := byLabel[lab]
				if !ok {
					g = uint32(len(shares))
					byLabel[lab] = g
					shares = append(shares, float64(leaves[l][lab])/domain)
					b = append(b, 0)
				}
				codes[c] = g
				b[g] += a[c]
			}
			p.gen[i][l] = codes
			p.nlab[i][l] = len(shares)
			p.share[i][l] = shares
			for g, bg := range b {
				p.sumSh[i][l] += float64(bg) * shares[g]
			}
			for c, ac := range a {
				if ac != 0 {
					p.ent[i][l] += float64(ac) * log2(float64(ac)/float64(b[codes[c]]))
				}
			}
		}
		lo, hi := 0, levels-1
		if p.cfg.MinLevels != nil && i < len(p.cfg.MinLevels) && p.cfg.MinLevels[i] >= 0 {
			lo = p.cfg.MinLevels[i]
		}
		if p.cfg.MaxLevels != nil && i < len(p.cfg.MaxLevels) && p.cfg.MaxLevels[i] >= 0 {
			hi = p.cfg.MaxLevels[i]
		}
		if lo > hi || hi > levels-1 {
			return fmt.Errorf("column %q: level bounds %d..%d outside the hierarchy's levels 0..%d", t.Columns[i], lo, hi, levels-1)
		}
		p.lat.lo[i], p.lat.hi[i] = lo, hi
	}
	var total uint
	for c := range t.Columns {
		w := widthFor(len(t.Values[c]))
		p.shifts = append(p.shifts, total)
		p.masks = append(p.masks, 1<<w-1)
		total += w
	}
	p.narrow = total <= 64
	p.up = make([][][][]uint32, n)
	for i := range n {
		levels := len(p.gen[i])
		p.up[i] = make([][][]uint32, levels)
		for a := range levels {
			p.up[i][a] = make([][]uint32, levels)
			for b := a + 1; b < levels; b++ {
				m := make([]uint32, p.nlab[i][a])
				for c, g := range p.gen[i][a] {
					m[g] = p.gen[i][b][c]
				}
				p.up[i][a][b] = m
			}
		}
	}
	size := int64(1)
	for i := n - 1; i >= 0; i-- {
		p.lat.stride[i] = size
		w := int64(p.lat.hi[i] - p.lat.lo[i] + 1)
		if size > math.MaxInt64/4/w {
			return fmt.Errorf("%w (%d quasi-identifiers): bound their levels or use fewer", ErrLatticeTooLarge, n)
		}
		size *= w
	}
	p.lat.size = size
	return nil
}

// LatticeSize returns the number of transformations in the lattice.
func (p *Problem) LatticeSize() int64 { return p.lat.size }

// lossPart normalises a loss sum for quasi-identifier i as ARX does.
func (p *Problem) lossPart(i int, x float64) float64 {
	n := float64(p.rows)
	lo := n / float64(p.hs[i].Len())
	if n-lo == 0 {
		return 0
	}
	v := (x - lo) / (n - lo)
	if !(v >= 0) {
		v = 0
	}
	return floorDigits(v)
}

func (p *Problem) entPart(raw float64) float64 {
	if raw == 0 {
		return 0
	}
	return floorDigits(-raw)
}

// cheapLB is a lower bound of the metric at levels that needs no grouping
// (the metric without suppression); 0 for metrics that have none.
func (p *Problem) cheapLB(levels []int, parts []float64) float64 {
	m := p.cfg.Metric
	if !m.levelBased() {
		return 0
	}
	parts = parts[:0]
	for i, l := range levels {
		switch m {
		case Loss:
			parts = append(parts, p.lossPart(i, p.sumSh[i][l]))
		case Precision:
			parts = append(parts, p.precision(i, l))
		default:
			parts = append(parts, p.entPart(p.ent[i][l]))
		}
	}
	return m.aggregate(parts)
}

func (p *Problem) precision(i, l int) float64 {
	if p.heights[i] == 0 {
		return 0
	}
	return float64(l) / float64(p.heights[i])
}

// table returns an empty key table for about n keys.
func (p *Problem) table(n int) *keyTable {
	size := 16
	for size < n {
		size *= 2
	}
	kt, ok := p.tables[size]
	if !ok {
		kt = newKeyTable(size)
		p.tables[size] = kt
	} else {
		kt.reset()
	}
	return kt
}

// source returns the smallest cached group of a specialisation of levels
// (or the data's own combinations).
func (p *Problem) source(levels []int) *group {
	best := p.bottom
	for _, g := range p.cache {
		if g.len() >= best.len() {
			continue
		}
		ok := true
		for i, l := range g.levels {
			if l > levels[i] {
				ok = false
				break
			}
		}
		if ok {
			best = g
		}
	}
	p.clock++
	best.used = p.clock
	return best
}

// remember caches g for rolling up later nodes, evicting the least
// recently used groups beyond the bounds.
func (p *Problem) remember(g *group) {
	if cap(g.counts) > 2*len(g.counts)+64 {
		g.counts = slices.Clip(slices.Clone(g.counts))
		if g.keys != nil {
			g.keys = slices.Clone(g.keys)
		}
	}
	limit := min(max(32*p.bottom.len(), 1<<20), 8<<20)
	p.clock++
	g.used = p.clock
	p.cache = append(p.cache, g)
	p.cached += g.len()
	for len(p.cache) > maxCachedGroups || (p.cached > limit && len(p.cache) > 1) {
		old := 0
		for i, c := range p.cache {
			if c.used < p.cache[old].used {
				old = i
			}
		}
		p.cached -= p.cache[old].len()
		p.cache = slices.Delete(p.cache, old, old+1)
	}
}

// groupify computes the combinations at levels by rolling up the smallest
// cached specialisation, and their classes. classOf is nil when
// combinations and classes coincide (no diversity criteria).
func (p *Problem) groupify(levels []int) (g *group, classOf []int32, cl classes) {
	src := p.source(levels)
	if !p.narrow {
		return p.groupifyWide(src, levels)
	}
	// Only the fields of attributes whose level changes are rewritten.
	type field struct {
		shift uint
		mask  uint64
		up    []uint32
	}
	var fields []field
	keep := ^uint64(0)
	for i, l := range levels {
		if from := src.levels[i]; l != from {
			fields = append(fields, field{p.shifts[i], p.masks[i], p.up[i][from][l]})
			keep &^= p.masks[i] << p.shifts[i]
		}
	}
	g = &group{levels: slices.Clone(levels), keys: make([]uint64, 0, src.len()), counts: make([]int64, 0, src.len())}
	kt := p.table(src.len())
	counts := src.counts
	switch len(fields) {
	case 0:
		g.keys, g.counts = slices.Clone(src.keys), slices.Clone(src.counts)
	case 1:
		f := fields[0]
		for e, k := range src.keys {
			nk := k&keep | uint64(f.up[(k>>f.shift)&f.mask])<<f.shift
			ci, added := kt.insert(nk, int32(len(g.keys)))
			if added {
				g.keys = append(g.keys, nk)
				g.counts = append(g.counts, 0)
			}
			g.counts[ci] += counts[e]
		}
	case 3:
		f, h, j := fields[0], fields[1], fields[2]
		for e, k := range src.keys {
			nk := k&keep | uint64(f.up[(k>>f.shift)&f.mask])<<f.shift | uint64(h.up[(k>>h.shift)&h.mask])<<h.shift |
				uint64(j.up[(k>>j.shift)&j.mask])<<j.shift
			ci, added := kt.insert(nk, int32(len(g.keys)))
			if added {
				g.keys = append(g.keys, nk)
				g.counts = append(g.counts, 0)
			}
			g.counts[ci] += counts[e]
		}
	case 2:
		f, h := fields[0], fields[1]
		for e, k := range src.keys {
			nk := k&keep | uint64(f.up[(k>>f.shift)&f.mask])<<f.shift | uint64(h.up[(k>>h.shift)&h.mask])<<h.shift
			ci, added := kt.insert(nk, int32(len(g.keys)))
			if added {
				g.keys = append(g.keys, nk)
				g.counts = append(g.counts, 0)
			}
			g.counts[ci] += counts[e]
		}
	default:
		for e, k := range src.keys {
			nk := k & keep
			for _, f := range fields {
				nk |= uint64(f.up[(k>>f.shift)&f.mask]) << f.shift
			}
			ci, added := kt.insert(nk, int32(len(g.keys)))
			if added {
				g.keys = append(g.keys, nk)
				g.counts = append(g.counts, 0)
			}
			g.counts[ci] += counts[e]
		}
	}
	if p.div == nil {
		return g, nil, classes{sizes: g.counts, keys: g.keys}
	}
	// Classes: the combinations grouped by their quasi-identifiers.
	var qiMask uint64
	for i := range p.nq {
		qiMask |= p.masks[i] << p.shifts[i]
	}
	classOf = make([]int32, g.len())
	kt = p.table(g.len())
	for e, k := range g.keys {
		ci, added := kt.insert(k&qiMask, int32(len(cl.sizes)))
		if added {
			cl.sizes = append(cl.sizes, 0)
			cl.keys = append(cl.keys, k&qiMask)
		}
		cl.sizes[ci] += g.counts[e]
		classOf[e] = ci
	}
	return g, classOf, cl
}

// groupifyWide is groupify for keys wider than 64 bits: combinations are
// keyed by byte strings and keep a representative table entry.
func (p *Problem) groupifyWide(src *group, levels []int) (g *group, classOf []int32, cl classes) {
	t := p.t
	codes := t.Codes
	gens := make([][]uint32, p.nq)
	for i, l := range levels {
		gens[i] = p.gen[i][l]
	}
	g = &group{levels: slices.Clone(levels)}
	m := make(map[string]int32, src.len())
	var buf []byte
	for e, rep := range src.reps {
		buf = buf[:0]
		for i, gen := range gens {
			buf = binary.AppendUvarint(buf, uint64(gen[codes[i][rep]]))
		}
		for _, j := range p.div {
			buf = binary.AppendUvarint(buf, uint64(codes[j][rep]))
		}
		ci, ok := m[string(buf)]
		if !ok {
			ci = int32(len(g.reps))
			m[string(buf)] = ci
			g.reps = append(g.reps, rep)
			g.counts = append(g.counts, 0)
		}
		g.counts[ci] += src.counts[e]
	}
	if p.div == nil {
		return g, nil, classes{sizes: g.counts, reps: g.reps}
	}
	classOf = make([]int32, g.len())
	clear(m)
	for e, rep := range g.reps {
		buf = buf[:0]
		for i, gen := range gens {
			buf = binary.AppendUvarint(buf, uint64(gen[codes[i][rep]]))
		}
		ci, ok := m[string(buf)]
		if !ok {
			ci = int32(len(cl.sizes))
			m[string(buf)] = ci
			cl.sizes = append(cl.sizes, 0)
			cl.reps = append(cl.reps, rep)
		}
		cl.sizes[ci] += g.counts[e]
		classOf[e] = ci
	}
	return g, classOf, cl
}

// gcode returns the generalised code of quasi-identifier i (at level l) of
// class c.
func (p *Problem) gcode(cl *classes, i, l, c int) uint32 {
	if cl.keys != nil {
		return uint32(cl.keys[c]>>p.shifts[i]) & uint32(p.masks[i])
	}
	return p.gen[i][l][p.t.Codes[i][cl.reps[c]]]
}

// failing marks the classes that violate the criteria (to be suppressed).
func (p *Problem) failing(g *group, classOf []int32, sizes []int64) []bool {
	fail := make([]bool, len(sizes))
	k := int64(p.cfg.K)
	for c, s := range sizes {
		fail[c] = s < k
	}
	onlyOne := len(p.div) == 1 && len(p.t.Columns) == p.nq+1
	for d, j := range p.div {
		crit := p.cfg.Diversity[d]
		// Frequencies of column j's values per class (CSR layout).
		var freq []int64
		var owner []int32
		if onlyOne {
			// Combinations are distinct on (class, value): their counts are
			// the frequencies.
			freq, owner = g.counts, classOf
		} else {
			kt := p.table(g.len())
			for e, c := range classOf {
				var code uint64
				if g.keys != nil {
					code = g.keys[e] >> p.shifts[j] & p.masks[j]
				} else {
					code = uint64(p.t.Codes[j][g.reps[e]])
				}
				key := uint64(uint32(c))<<32 | code
				i, added := kt.insert(key, int32(len(freq)))
				if added {
					freq = append(freq, 0)
					owner = append(owner, c)
				}
				freq[i] += g.counts[e]
			}
		}
		start := make([]int, len(sizes)+1)
		for _, c := range owner {
			start[c+1]++
		}
		for c := range sizes {
			start[c+1] += start[c]
		}
		flat := make([]int64, len(freq))
		pos := slices.Clone(start[:len(sizes)])
		for i, c := range owner {
			flat[pos[c]] = freq[i]
			pos[c]++
		}
		for c := range sizes {
			if !fail[c] && !crit.ok(flat[start[c]:start[c+1]]) {
				fail[c] = true
			}
		}
	}
	return fail
}

// evaluate groups the data for the node and measures it (memoised).
func (p *Problem) evaluate(idx int64, levels []int) *eval {
	if ev, ok := p.evals[idx]; ok {
		return ev
	}
	p.checked++
	g, classOf, cl := p.groupify(levels)
	fail := p.failing(g, classOf, cl.sizes)
	ev := p.measure(levels, &cl, fail)
	p.evals[idx] = ev
	p.remember(g)
	return ev
}

// measure computes the criteria's outcome and the metric from the classes.
func (p *Problem) measure(levels []int, cl *classes, fail []bool) *eval {
	ev := &eval{}
	sizes := cl.sizes
	var dmStar, dm float64
	n := float64(p.rows)
	for c, s := range sizes {
		fs := float64(s)
		dmStar += fs * fs
		if fail[c] {
			ev.suppressed += s
			dm += n * fs
			continue
		}
		dm += fs * fs
		ev.classes++
		if ev.minClass == 0 || s < ev.minClass {
			ev.minClass = s
		}
	}
	ev.anonymous = ev.suppressed <= p.maxOut
	m := p.cfg.Metric
	S := float64(ev.suppressed)
	switch m {
	case Discernibility:
		ev.value, ev.lb = dm, dmStar
		return ev
	case AECS:
		groups := float64(ev.classes)
		if ev.suppressed > 0 {
			groups++
		}
		ev.value, ev.lb = n/groups, n/float64(len(sizes))
		return ev
	}
	ev.parts = make([]float64, p.nq)
	ev.lb = p.cheapLB(levels, make([]float64, 0, p.nq))
	var supp []float64 // loss: share sums of the suppressed records
	if m == Loss && ev.suppressed > 0 {
		supp = make([]float64, p.nq)
		for c, s := range sizes {
			if fail[c] {
				for i, l := range levels {
					supp[i] += float64(s) * p.share[i][l][p.gcode(cl, i, l, c)]
				}
			}
		}
	}
	for i, l := range levels {
		switch m {
		case Loss:
			x := p.sumSh[i][l]
			if ev.suppressed > 0 {
				x += S - supp[i]
			}
			ev.parts[i] = p.lossPart(i, x)
		case Precision:
			ev.parts[i] = p.precision(i, l)
			if ev.suppressed > 0 {
				ev.parts[i] = ((n-S)*ev.parts[i] + S) / n
			}
		case Entropy:
			raw := p.ent[i][l]
			if ev.suppressed > 0 {
				// Frequencies of the suppressed records' generalised values.
				cnt := make([]int64, p.nlab[i][l])
				var order []uint32
				for c, s := range sizes {
					if fail[c] {
						gc := p.gcode(cl, i, l, c)
						if cnt[gc] == 0 {
							order = append(order, gc)
						}
						cnt[gc] += s
					}
				}
				for _, gc := range order {
					f := float64(cnt[gc])
					raw += f * log2(f/S)
				}
			}
			ev.parts[i] = p.entPart(raw)
		case EntropyMonotonic:
			ev.parts[i] = p.entPart(p.ent[i][l])
		}
	}
	ev.value = m.aggregate(ev.parts)
	return ev
}

// key orders candidate solutions: lower value, then lower height, then
// lexicographically smaller levels (= lower index).
type key struct {
	value float64
	h     int
	idx   int64
}

func (a key) less(b key) bool {
	if a.value != b.value {
		return a.value < b.value
	}
	if a.h != b.h {
		return a.h < b.h
	}
	return a.idx < b.idx
}

// slack absorbs rounding when a lower bound is compared with a value:
// nodes whose bound is within it are evaluated rather than pruned.
func slack(v float64) float64 { return 1e-9 * math.Max(1, math.Abs(v)) }

// Search finds the transformation that meets the criteria with the least
// information loss: exhaustively (optimal) when the lattice has at most
// Config.MaxNodes nodes, otherwise heuristically.
func (p *Problem) Search(ctx context.Context) (*Solution, error) {
	start := time.Now()
	var best int64 = -1
	var err error
	optimal := !p.cfg.Heuristic && p.lat.size <= p.cfg.MaxNodes
	if p.cfg.Exhaustive && !optimal {
		return nil, fmt.Errorf("%w for an exhaustive search: %d transformations (limit %d); use the heuristic search or bound the levels",
			ErrLatticeTooLarge, p.lat.size, p.cfg.MaxNodes)
	}
	if optimal {
		best, err = p.optimal(ctx)
	} else {
		best, err = p.heuristic(ctx)
	}
	if err != nil {
		return nil, err
	}
	sol := &Solution{Metric: p.cfg.Metric, Records: p.rows, SuppressionLimit: p.maxOut,
		Optimal: optimal, Lattice: p.lat.size}
	if best >= 0 {
		levels := p.lat.levels(best, nil)
		ev := p.evaluate(best, levels)
		p.fill(sol, levels, ev)
	}
	sol.Evaluated = p.checked
	sol.Duration = time.Since(start)
	sol.DurationMS = float64(sol.Duration.Microseconds()) / 1000
	return sol, nil
}

func (p *Problem) fill(sol *Solution, levels []int, ev *eval) {
	sol.Found = ev.anonymous
	sol.Levels = levels
	sol.Value = ev.value
	sol.LowerBound = ev.lb
	sol.Suppressed = ev.suppressed
	sol.Classes = ev.classes
	sol.MinClass = ev.minClass
	sol.Attributes = make([]AttributeLevel, p.nq)
	for i, l := range levels {
		a := AttributeLevel{Column: p.t.Columns[i], Level: l, Height: p.heights[i], Hierarchy: p.hs[i].Name()}
		if ev.parts != nil {
			a.Value = ev.parts[i]
		}
		sol.Attributes[i] = a
	}
}

// Evaluate measures the transformation levels: whether it meets the
// criteria, the records it suppresses and its metric value, as a Solution
// (Optimal false). It is what a brute-force search would use.
func (p *Problem) Evaluate(levels []int) (*Solution, error) {
	if len(levels) != p.nq {
		return nil, fmt.Errorf("anonymize: %d levels for %d quasi-identifiers", len(levels), p.nq)
	}
	for i, l := range levels {
		if l < p.lat.lo[i] || l > p.lat.hi[i] {
			return nil, fmt.Errorf("column %q: level %d outside %d..%d", p.t.Columns[i], l, p.lat.lo[i], p.lat.hi[i])
		}
	}
	levels = slices.Clone(levels)
	ev := p.evaluate(p.lat.index(levels), levels)
	sol := &Solution{Metric: p.cfg.Metric, Records: p.rows, SuppressionLimit: p.maxOut, Lattice: p.lat.size}
	p.fill(sol, levels, ev)
	sol.Found = ev.anonymous
	return sol, nil
}

// Node tags of the classification phase.
const (
	unknown uint8 = iota
	anonymous
	notAnonymous
)

// optimal searches the whole lattice. A node "anonymous" meets the
// criteria within the suppression limit. With criteria that stay satisfied
// under generalisation (k-anonymity and distinct l-diversity with any
// suppression limit; every criterion without suppression), a checked node
// tags all its generalisations (anonymous) or specialisations (not
// anonymous), and nodes are classified like ARX's Flash does: by climbing a
// path through unclassified nodes and binary-searching it.
//
// For metrics with a lower bound computable from the levels (Loss,
// Precision, Entropy), nodes are visited in order of that bound; each is
// classified on the way (a path search from it, bounded by the best value
// so far) and evaluated exactly if anonymous; the search stops at the first
// node whose bound exceeds the best value. When the metric is monotonic the
// exact value of an anonymous node is its bound, so it needs no evaluation.
//
// For Discernibility and AECS the lattice is classified first; then the
// candidates (the minimal anonymous nodes if the metric is monotonic, all
// anonymous ones otherwise) are evaluated, pruning the generalisations of a
// node whose grouped lower bound exceeds the best value.
func (p *Problem) optimal(ctx context.Context) (int64, error) {
	size := p.lat.size
	lbs := make([]float64, size)
	levels := make([]int, 0, p.nq)
	parts := make([]float64, 0, p.nq)
	for x := range size {
		levels = p.lat.levels(x, levels)
		lbs[x] = p.cheapLB(levels, parts)
	}
	monoCriteria := p.maxOut == 0
	if !monoCriteria {
		monoCriteria = true
		for _, d := range p.cfg.Diversity {
			monoCriteria = monoCriteria && d.monotonicWithSuppression()
		}
	}
	tags := make([]uint8, size)
	hs := make([]int, size)
	for x := range size {
		hs[x] = height(p.lat.levels(x, levels))
	}
	byBound := func(a, b int64) int {
		if c := cmp.Compare(lbs[a], lbs[b]); c != 0 {
			return c
		}
		if c := cmp.Compare(hs[a], hs[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	}
	best := int64(-1)
	var bestKey key
	consider := func(x int64, ev *eval) {
		if !ev.anonymous {
			return
		}
		if k := (key{ev.value, hs[x], x}); best < 0 || k.less(bestKey) {
			best, bestKey = x, k
		}
	}
	if p.cfg.Metric.levelBased() {
		// Visit nodes in order of the bound; classify each on the way (a
		// path search from it), evaluate the anonymous ones, stop when the
		// bound exceeds the best value.
		order := make([]int64, size)
		for x := range size {
			order[x] = x
		}
		slices.SortFunc(order, byBound)
		for n, x := range order {
			if n%64 == 0 && ctx.Err() != nil {
				return -1, ctx.Err()
			}
			if best >= 0 && lbs[x] > bestKey.value+slack(bestKey.value) {
				break
			}
			if monoCriteria {
				if tags[x] == unknown {
					limit := math.Inf(1)
					if best >= 0 {
						limit = bestKey.value + slack(bestKey.value)
					}
					p.climb(x, tags, lbs, limit)
				}
				if tags[x] != anonymous {
					continue
				}
				if p.cfg.Metric.monotonic(p.maxOut) {
					// Nothing suppressed (or not counted): the value is the bound.
					consider(x, &eval{anonymous: true, value: lbs[x]})
					continue
				}
			}
			consider(x, p.evaluate(x, p.lat.levels(x, levels)))
		}
		return best, nil
	}
	// No bound without grouping (discernibility, average class size):
	// classify the whole lattice first.
	if monoCriteria {
		if err := p.classify(ctx, tags, lbs); err != nil {
			return -1, err
		}
	}
	mono := monoCriteria && p.cfg.Metric.monotonic(p.maxOut)
	var cand []int64
	for x := range size {
		if monoCriteria && tags[x] != anonymous {
			continue
		}
		if mono {
			levels = p.lat.levels(x, levels)
			minimal := true
			for i := range levels {
				if levels[i] > p.lat.lo[i] && tags[x-p.lat.stride[i]] == anonymous {
					minimal = false
					break
				}
			}
			if !minimal {
				continue
			}
		}
		cand = append(cand, x)
	}
	slices.SortFunc(cand, byBound)
	pruned := make([]bool, size)
	for n, x := range cand {
		if n%64 == 0 && ctx.Err() != nil {
			return -1, ctx.Err()
		}
		if pruned[x] {
			continue
		}
		ev := p.evaluate(x, p.lat.levels(x, levels))
		consider(x, ev)
		if best >= 0 && ev.lb > bestKey.value+slack(bestKey.value) {
			p.markUp(x, pruned)
		}
	}
	return best, nil
}

// classify tags every node anonymous or not, checking as few as it can.
func (p *Problem) classify(ctx context.Context, tags []uint8, lbs []float64) error {
	size := p.lat.size
	order := make([]int64, size)
	hs := make([]int, size)
	levels := make([]int, 0, p.nq)
	for x := range size {
		order[x] = x
		hs[x] = height(p.lat.levels(x, levels))
	}
	slices.SortFunc(order, func(a, b int64) int {
		if c := cmp.Compare(hs[a], hs[b]); c != 0 {
			return c
		}
		if c := cmp.Compare(lbs[a], lbs[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for n, start := range order {
		if n%256 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if tags[start] == unknown {
			p.climb(start, tags, lbs, math.Inf(1))
		}
	}
	return nil
}

// climb classifies start (and more): it climbs from start through
// unclassified nodes whose bound is at most limit, preferring the successor
// with the lowest bound, then binary-searches that path for its lowest
// anonymous node; every check tags the checked node's generalisations or
// specialisations too. (A node above limit cannot be the optimum, and
// neither can its generalisations, so learning that it is anonymous would
// be of no use.)
func (p *Problem) climb(start int64, tags []uint8, lbs []float64, limit float64) {
	levels := make([]int, 0, p.nq)
	path := []int64{start}
	for cur := start; ; {
		levels = p.lat.levels(cur, levels)
		next := int64(-1)
		for i, l := range levels {
			if l < p.lat.hi[i] {
				s := cur + p.lat.stride[i]
				if tags[s] == unknown && lbs[s] <= limit && (next < 0 || lbs[s] < lbs[next] || (lbs[s] == lbs[next] && s < next)) {
					next = s
				}
			}
		}
		if next < 0 {
			break
		}
		path = append(path, next)
		cur = next
	}
	lo, hi := 0, len(path)-1
	for lo <= hi {
		mid := (lo + hi) / 2
		x := path[mid]
		if tags[x] == unknown {
			if p.evaluate(x, p.lat.levels(x, levels)).anonymous {
				p.tag(x, tags, anonymous)
			} else {
				p.tag(x, tags, notAnonymous)
			}
		}
		if tags[x] == anonymous {
			hi = mid - 1
		} else {
			lo = mid + 1
		}
	}
}

// tag marks x and, by monotonicity, all its generalisations (anonymous) or
// specialisations (not anonymous).
func (p *Problem) tag(x int64, tags []uint8, t uint8) {
	tags[x] = t
	stack := []int64{x}
	levels := make([]int, 0, p.nq)
	for len(stack) > 0 {
		y := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		levels = p.lat.levels(y, levels)
		for i, l := range levels {
			var z int64
			if t == anonymous {
				if l == p.lat.hi[i] {
					continue
				}
				z = y + p.lat.stride[i]
			} else {
				if l == p.lat.lo[i] {
					continue
				}
				z = y - p.lat.stride[i]
			}
			if tags[z] == unknown {
				tags[z] = t
				stack = append(stack, z)
			}
		}
	}
}

// markUp marks all generalisations of x.
func (p *Problem) markUp(x int64, marked []bool) {
	stack := []int64{x}
	levels := make([]int, 0, p.nq)
	for len(stack) > 0 {
		y := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		levels = p.lat.levels(y, levels)
		for i, l := range levels {
			if l < p.lat.hi[i] {
				z := y + p.lat.stride[i]
				if !marked[z] {
					marked[z] = true
					stack = append(stack, z)
				}
			}
		}
	}
}

// heuristic searches a lattice too large to enumerate, in the manner of
// ARX's Lightning: best-first from the bottom in order of the metric's
// lower bound, expanding nodes that do not meet the criteria, within the
// node budget; if that finds nothing, a greedy climb towards fewer
// violating records; then a descent from the best node found to
// specialisations that still meet the criteria.
func (p *Problem) heuristic(ctx context.Context) (int64, error) {
	budget := p.cfg.Budget
	levels := make([]int, 0, p.nq)
	parts := make([]float64, 0, p.nq)
	type item struct {
		prio float64
		h    int
		x    int64
	}
	less := func(a, b item) bool {
		if a.prio != b.prio {
			return a.prio < b.prio
		}
		if a.h != b.h {
			return a.h < b.h
		}
		return a.x < b.x
	}
	var heap []item
	push := func(it item) {
		heap = append(heap, it)
		for i := len(heap) - 1; i > 0; {
			parent := (i - 1) / 2
			if !less(heap[i], heap[parent]) {
				break
			}
			heap[i], heap[parent] = heap[parent], heap[i]
			i = parent
		}
	}
	pop := func() item {
		top := heap[0]
		last := len(heap) - 1
		heap[0] = heap[last]
		heap = heap[:last]
		for i := 0; ; {
			l, r, m := 2*i+1, 2*i+2, i
			if l < len(heap) && less(heap[l], heap[m]) {
				m = l
			}
			if r < len(heap) && less(heap[r], heap[m]) {
				m = r
			}
			if m == i {
				break
			}
			heap[i], heap[m] = heap[m], heap[i]
			i = m
		}
		return top
	}
	visited := map[int64]bool{0: true}
	best := int64(-1)
	var bestKey key
	consider := func(x int64, ev *eval, h int) {
		if !ev.anonymous {
			return
		}
		k := key{ev.value, h, x}
		if best < 0 || k.less(bestKey) {
			best, bestKey = x, k
		}
	}
	push(item{p.cheapLB(p.lat.levels(0, levels), parts), height(p.lat.lo), 0})
	for len(heap) > 0 && p.checked < budget {
		if ctx.Err() != nil {
			return -1, ctx.Err()
		}
		it := pop()
		if best >= 0 && it.prio > bestKey.value+slack(bestKey.value) && p.cfg.Metric.levelBased() {
			break
		}
		levels = p.lat.levels(it.x, levels)
		ev := p.evaluate(it.x, levels)
		if ev.anonymous {
			consider(it.x, ev, it.h)
			continue
		}
		for i, l := range levels {
			if l < p.lat.hi[i] {
				z := it.x + p.lat.stride[i]
				if visited[z] {
					continue
				}
				visited[z] = true
				levels[i]++
				prio := p.cheapLB(levels, parts)
				if !p.cfg.Metric.levelBased() {
					prio = float64(ev.suppressed) // closer to the criteria first
				}
				push(item{prio, it.h + 1, z})
				levels[i]--
			}
		}
	}
	if best < 0 {
		// Greedy climb: always to the successor violating the criteria least.
		cur := int64(0)
		for {
			if ctx.Err() != nil {
				return -1, ctx.Err()
			}
			levels = p.lat.levels(cur, levels)
			ev := p.evaluate(cur, levels)
			if ev.anonymous {
				consider(cur, ev, height(levels))
				break
			}
			next := int64(-1)
			var nextEv *eval
			var nextLB float64
			for i, l := range levels {
				if l == p.lat.hi[i] {
					continue
				}
				z := cur + p.lat.stride[i]
				levels[i]++
				zev := p.evaluate(z, levels)
				zlb := p.cheapLB(levels, parts)
				levels[i]--
				if next < 0 || zev.suppressed < nextEv.suppressed || (zev.suppressed == nextEv.suppressed && zlb < nextLB) {
					next, nextEv, nextLB = z, zev, zlb
				}
			}
			if next < 0 {
				break // the top node does not meet the criteria either
			}
			cur = next
		}
	}
	// Descend while a specialisation still meets the criteria and is better.
	for improved := best >= 0; improved && p.checked < 2*budget; {
		improved = false
		levels = p.lat.levels(best, levels)
		for i, l := range levels {
			if l == p.lat.lo[i] {
				continue
			}
			z := best - p.lat.stride[i]
			levels[i]--
			ev := p.evaluate(z, levels)
			h := height(levels)
			levels[i]++
			if ev.anonymous && (key{ev.value, h, z}).less(bestKey) {
				best, bestKey = z, key{ev.value, h, z}
				improved = true
				break
			}
		}
	}
	return best, nil
}
