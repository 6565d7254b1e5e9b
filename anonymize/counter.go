package anonymize

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/pseudokit/pseudokit/internal/hugepage"
)

// keyTable maps uint64 keys to dense indices 0, 1, 2, ... with open
// addressing and linear probing (Go maps are several times slower for
// this). A slot is in use when its epoch is the table's, so that emptying
// the table costs nothing.
type keyTable struct {
	slots []slot
	shift uint
	n     int
	epoch uint32
}

type slot struct {
	key   uint64
	val   int32
	epoch uint32
}

func newKeyTable(hint int) *keyTable {
	t := &keyTable{}
	t.init(max(16, hint))
	return t
}

func (t *keyTable) init(capacity int) {
	size := 1 << bits.Len(uint(capacity*4/3)) // load factor at most 3/4
	// Faulted in at once, as huge pages where the kernel gives them: with
	// nearly every key new, each is a random access into tens of MB.
	// 2026-12-03 (AMD EPYC, 2 cores): kcheck of 8 QIs on 5M rows, 11 pairs
	// in turn, 0.67-0.92 -> 0.52-1.05 s (faster in 8), page faults ~125k
	// -> 32-48k; BenchmarkMeasureParquet and BenchmarkSearchAdult 0-14 %
	// faster (2 runs each).
	t.slots = hugepage.Make[slot](size)
	t.shift = uint(64 - bits.TrailingZeros(uint(size)))
	t.n = 0
	t.epoch = 1
}

func (t *keyTable) reset() {
	t.n = 0
	t.epoch++
	if t.epoch == 0 { // wrapped: old epochs could look current
		clear(t.slots)
		t.epoch = 1
	}
}

const fib = 0x9E3779B97F4A7C15

// insert returns the index of key, giving it next if it is new.
func (t *keyTable) insert(key uint64, next int32) (idx int32, added bool) {
	s, found := t.slotFor(key)
	if found {
		return s.val, false
	}
	t.fill(s, key, next)
	return next, true
}

// tally adds one to key's value (a new key gets 1) and reports whether it
// did: it does not when the value is math.MaxInt32 already.
func (t *keyTable) tally(key uint64) bool {
	s, found := t.slotFor(key)
	switch {
	case !found:
		t.fill(s, key, 1)
	case s.val == math.MaxInt32:
		return false
	default:
		s.val++
	}
	return true
}

// slotFor returns key's slot and true, or the free slot where key belongs
// and false.
func (t *keyTable) slotFor(key uint64) (*slot, bool) {
	mask := uint64(len(t.slots) - 1)
	for i := (key * fib) >> t.shift; ; i++ {
		s := &t.slots[i&mask]
		if s.epoch != t.epoch {
			return s, false
		}
		if s.key == key {
			return s, true
		}
	}
}

// fill puts key with value v into the free slot s, growing the table when
// it is three quarters full.
func (t *keyTable) fill(s *slot, key uint64, v int32) {
	*s = slot{key, v, t.epoch}
	t.n++
	if t.n*4 > len(t.slots)*3 {
		t.grow()
	}
}

func (t *keyTable) grow() {
	old, epoch := t.slots, t.epoch
	n := t.n
	// Quadruple large tables: fewer rehashes when nearly every key is new.
	// Past 4M slots (64 MB) double them, so that a table of millions of
	// keys is at least 3/8 full rather than 3/16.
	if len(old) >= 1<<16 && len(old) < 1<<22 {
		t.init(2 * len(old))
	} else {
		t.init(len(old))
	}
	for _, s := range old {
		if s.epoch == epoch {
			t.put(s.key, s.val)
		}
	}
	t.n = n
}

// used yields the table's occupied slots, in slot order.
func (t *keyTable) used(yield func(*slot) bool) {
	for i := range t.slots {
		if s := &t.slots[i]; s.epoch == t.epoch && !yield(s) {
			return
		}
	}
}

// put adds a key known to be absent, without counting it or growing.
func (t *keyTable) put(key uint64, v int32) {
	s, _ := t.slotFor(key)
	*s = slot{key, v, t.epoch}
}

// part holds the combinations of one hash partition while keys fit 64 bits.
// A part that need not give rows their combination's index tallies: each
// combination's count lives in its key table slot, so a row costs one
// random memory access and nothing is appended. Otherwise (or once a count
// reaches math.MaxInt32) the slot holds the combination's index into ekeys
// and counts.
type part struct {
	keys   *keyTable
	tally  bool
	ekeys  []uint64 // the packed key of each combination (its codes)
	counts []int64
}

func newPart(hint int) *part { return &part{keys: newKeyTable(hint)} }

// add counts the keys of the partition p of P (all of them if P is 1),
// writing their combination indices to idx when it is not nil (which
// a tallying part cannot).
func (pt *part) add(keys []uint64, p, P int, idx []int32) {
	mask := uint64(P - 1)
	for i, k := range keys {
		if P > 1 && partOf(k)&mask != uint64(p) {
			continue
		}
		if pt.tally {
			if pt.keys.tally(k) {
				continue
			}
			pt.untally()
		}
		e, added := pt.keys.insert(k, int32(len(pt.counts)))
		if added {
			pt.ekeys = append(pt.ekeys, k)
			pt.counts = append(pt.counts, 0)
		}
		pt.counts[e]++
		if idx != nil {
			idx[i] = e
		}
	}
}

// untally turns a tallying part into one of indices, its combinations in
// the order of their slots.
func (pt *part) untally() {
	if !pt.tally {
		return
	}
	pt.tally = false
	t := pt.keys
	pt.ekeys = make([]uint64, 0, t.n)
	pt.counts = make([]int64, 0, t.n)
	for s := range t.used {
		pt.ekeys = append(pt.ekeys, s.key)
		pt.counts = append(pt.counts, int64(s.val))
		s.val = int32(len(pt.counts) - 1)
	}
}

// len returns the number of combinations of the part.
func (pt *part) len() int {
	if pt.tally {
		return pt.keys.n
	}
	return len(pt.counts)
}

// appendCounts appends the part's counts to s.
func (pt *part) appendCounts(s []int64) []int64 {
	if !pt.tally {
		return append(s, pt.counts...)
	}
	for sl := range pt.keys.used {
		s = append(s, int64(sl.val))
	}
	return s
}

// partOf hashes a key to choose its partition, independently of the hash
// the key table uses.
func partOf(k uint64) uint64 { return (k * 0xC2B2AE3D27D4EB4F) >> 58 }

// A Table holds the distinct combinations of a dataset's key columns — its
// quasi-identifiers, then any sensitive attributes — with the number of
// records of each. It is what the measurements and the lattice search work
// on: its size grows with the number of distinct combinations, not rows.
type Table struct {
	// Columns names the key columns: the QI first quasi-identifiers, then
	// sensitive attributes.
	Columns []string
	// QI is the number of quasi-identifiers among Columns.
	QI int
	// Values holds, per column, the text of each code.
	Values [][]string
	// Codes holds, per column, the code of each combination.
	Codes [][]uint32
	// Counts holds the number of records of each combination.
	Counts []int64
	// Rows is the number of records counted.
	Rows int64
}

// Len returns the number of distinct combinations.
func (t *Table) Len() int { return len(t.Counts) }

// A Counter counts the distinct combinations of chosen columns over a
// stream of Arrow record batches. Each value is coded to a small integer by
// a per-column dictionary and a row's codes are packed into one uint64 key
// while they fit (otherwise a byte string), so counting costs a few table
// look-ups per row and memory grows with the number of distinct
// combinations, not with the number of rows.
type Counter struct {
	cols   []int // schema index of each key column
	t      Table
	enc    []*encoder
	shifts []uint
	widths []uint  // bits per column
	wide   bool    // keys do not fit 64 bits: use wideIdx
	parts  []*part // narrow: the combinations, partitioned by key hash
	done   bool    // Table was called
	wideIx map[string]int32
	buf    [][]uint32 // per column codes of the current batch
	kbuf   []uint64
	sbuf   []byte
	// RowClasses, if set before the first Add, receives for every batch the
	// combination index of each row (used to rewrite the rows later).
	RowClasses func(batch int, idx []int32)
	batch      int
	ibuf       []int32
}

// NewCounter returns a counter of the combinations of the columns qi
// (quasi-identifiers) and sensitive of schema.
func NewCounter(schema *arrow.Schema, qi, sensitive []string) (*Counter, error) {
	c := &Counter{}
	seen := map[string]bool{}
	for i, name := range append(append([]string(nil), qi...), sensitive...) {
		if seen[name] {
			return nil, fmt.Errorf("column %q named twice", name)
		}
		seen[name] = true
		idx := schema.FieldIndices(name)
		if len(idx) == 0 {
			return nil, fmt.Errorf("column %q: %w", name, ErrMissingColumn)
		}
		c.cols = append(c.cols, idx[0])
		c.t.Columns = append(c.t.Columns, name)
		c.enc = append(c.enc, newEncoder())
		c.widths = append(c.widths, 1)
		c.t.Values = append(c.t.Values, nil)
		c.t.Codes = append(c.t.Codes, nil)
		_ = i
	}
	if len(c.cols) == 0 {
		return nil, errors.New("no columns to count")
	}
	c.t.QI = len(qi)
	c.parts = []*part{newPart(1024)}
	c.shifts = make([]uint, len(c.cols))
	c.layout()
	c.buf = make([][]uint32, len(c.cols))
	return c, nil
}

// ErrMissingColumn is wrapped by errors about a column the input lacks.
var ErrMissingColumn = errors.New("column not in the input")

// layout computes the shifts from the widths, and whether keys fit 64 bits.
func (c *Counter) layout() {
	var s uint
	for i, w := range c.widths {
		c.shifts[i] = s
		s += w
	}
	c.wide = s > 64
}

// Add counts the rows of rec, whose schema must have the counter's columns
// at the same positions as the schema given to NewCounter.
func (c *Counter) Add(rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	if n == 0 {
		return nil
	}
	for j, col := range c.cols {
		if cap(c.buf[j]) < n {
			c.buf[j] = make([]uint32, n)
		}
		c.buf[j] = c.buf[j][:n]
		if err := c.enc[j].encode(rec.Column(col), c.buf[j]); err != nil {
			return fmt.Errorf("column %q: %w", c.t.Columns[j], err)
		}
	}
	// Widen columns whose dictionary outgrew its bits, and re-key.
	var oldShifts, oldWidths []uint
	for j, e := range c.enc {
		if need := uint(bits.Len32(uint32(max(len(e.values)-1, 0)))); need > c.widths[j] {
			if oldShifts == nil {
				oldShifts, oldWidths = slices.Clone(c.shifts), slices.Clone(c.widths)
			}
			c.widths[j] = need + 1 // headroom: the dictionary keeps growing
		}
	}
	if oldShifts != nil && !c.wide {
		c.layout()
		if c.wide {
			c.decode(oldShifts, oldWidths) // codes move to t.Codes; addWide indexes them
		} else {
			c.rekey(oldShifts, oldWidths)
		}
	} else if oldShifts != nil {
		c.layout()
		c.wide = true
	}
	if cap(c.ibuf) < n {
		c.ibuf = make([]int32, n)
	}
	idx := c.ibuf[:n]
	if c.wide {
		c.addWide(n, idx)
	} else {
		c.addNarrow(n, idx)
	}
	c.t.Rows += int64(n)
	if c.RowClasses != nil {
		c.RowClasses(c.batch, idx)
	}
	c.batch++
	return nil
}

func (c *Counter) addNarrow(n int, idx []int32) {
	if cap(c.kbuf) < n {
		c.kbuf = make([]uint64, n)
	}
	keys := c.kbuf[:n]
	clear(keys)
	for j, codes := range c.buf {
		s := c.shifts[j]
		for i, v := range codes {
			keys[i] |= uint64(v) << s
		}
	}
	if c.batch == 0 && c.RowClasses == nil && runtime.GOMAXPROCS(0) > 1 {
		// Without row indices the combinations can be counted in parallel,
		// one partition of the keys per goroutine.
		P := min(runtime.GOMAXPROCS(0), 4)
		if P == 3 {
			P = 2
		}
		c.parts = c.parts[:0]
		for range P {
			pt := newPart(1024)
			pt.tally = true
			c.parts = append(c.parts, pt)
		}
	}
	if len(c.parts) == 1 {
		c.parts[0].add(keys, 0, 1, idx)
		return
	}
	var wg sync.WaitGroup
	for p, pt := range c.parts {
		wg.Go(func() { pt.add(keys, p, len(c.parts), nil) })
	}
	wg.Wait()
}

func (c *Counter) addWide(n int, idx []int32) {
	if c.wideIx == nil {
		c.wideIx = make(map[string]int32, len(c.t.Counts)*2)
		for e := range c.t.Counts {
			c.wideIx[string(c.wideKey(func(j int) uint32 { return c.t.Codes[j][e] }))] = int32(e)
		}
	}
	t := &c.t
	for i := range n {
		k := c.wideKey(func(j int) uint32 { return c.buf[j][i] })
		e, ok := c.wideIx[string(k)]
		if !ok {
			e = int32(len(t.Counts))
			c.wideIx[string(k)] = e
			for j := range c.buf {
				t.Codes[j] = append(t.Codes[j], c.buf[j][i])
			}
			t.Counts = append(t.Counts, 0)
		}
		t.Counts[e]++
		idx[i] = e
	}
}

func (c *Counter) wideKey(code func(j int) uint32) []byte {
	c.sbuf = c.sbuf[:0]
	for j := range c.cols {
		c.sbuf = binary.AppendUvarint(c.sbuf, uint64(code(j)))
	}
	return c.sbuf
}

// rekey re-packs the combinations' keys for the new layout and puts
// them in the partitions they now hash to. The parts keep tallying if they
// all did.
func (c *Counter) rekey(oldShifts, oldWidths []uint) {
	old := c.parts
	c.parts = make([]*part, len(old))
	n, tally := 0, true
	for _, pt := range old {
		n += pt.len()
		tally = tally && pt.tally
	}
	for p := range c.parts {
		c.parts[p] = newPart(n / len(old))
		c.parts[p].tally = tally
	}
	mask := uint64(len(c.parts) - 1)
	repack := func(k uint64, count int64) {
		var nk uint64
		for j := range c.cols {
			nk |= (k >> oldShifts[j] & (1<<oldWidths[j] - 1)) << c.shifts[j]
		}
		q := c.parts[0]
		if len(c.parts) > 1 {
			q = c.parts[partOf(nk)&mask]
		}
		if q.tally { // count <= math.MaxInt32: it comes from a tallying part
			q.keys.insert(nk, int32(count))
			return
		}
		q.keys.insert(nk, int32(len(q.counts)))
		q.ekeys = append(q.ekeys, nk)
		q.counts = append(q.counts, count)
	}
	for _, pt := range old {
		if pt.tally {
			for s := range pt.keys.used {
				repack(s.key, int64(s.val))
			}
			continue
		}
		for e, k := range pt.ekeys {
			repack(k, pt.counts[e])
		}
	}
}

// decode unpacks the combinations' keys (packed with the given layout)
// into t.Codes and their counts into t.Counts, partition after partition.
func (c *Counter) decode(shifts, widths []uint) {
	n := 0
	for _, pt := range c.parts {
		pt.untally()
		n += len(pt.counts)
	}
	c.t.Counts = make([]int64, 0, n)
	for _, pt := range c.parts {
		c.t.Counts = append(c.t.Counts, pt.counts...)
	}
	for j := range c.cols {
		codes := make([]uint32, 0, max(n, 16))
		s, m := shifts[j], uint64(1)<<widths[j]-1
		for _, pt := range c.parts {
			for _, k := range pt.ekeys {
				codes = append(codes, uint32(k>>s&m))
			}
		}
		c.t.Codes[j] = codes
	}
	c.parts = nil
}

// sizes returns the number of records of each combination counted so far,
// in no particular order, without unpacking the combinations' codes (which
// for millions of distinct combinations is most of Table's work and
// memory). The counter must not be used afterwards.
func (c *Counter) sizes() []int64 {
	c.done = true
	if c.wide {
		return c.t.Counts
	}
	if len(c.parts) == 1 && !c.parts[0].tally {
		return c.parts[0].counts
	}
	n := 0
	for _, pt := range c.parts {
		n += pt.len()
	}
	s := make([]int64, 0, n)
	for _, pt := range c.parts {
		s = pt.appendCounts(s)
	}
	return s
}

// Table returns the combinations counted so far. The counter must not be
// used afterwards.
func (c *Counter) Table() *Table {
	if c.done {
		return &c.t
	}
	c.done = true
	if !c.wide {
		c.decode(c.shifts, c.widths)
	}
	for j, e := range c.enc {
		c.t.Values[j] = e.values
		if c.t.Codes[j] == nil {
			c.t.Codes[j] = []uint32{}
		}
	}
	return &c.t
}
