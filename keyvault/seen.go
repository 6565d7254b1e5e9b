package keyvault

import "github.com/pseudokit/pseudokit/internal/hugepage"

// seenSet is a transaction's set of identifiers already handled (Tx.seen),
// with a hash of the code each was linked to: a set-associative table of
// 16-byte entries, eight to a set. An identifier goes to its set, or to
// the next one when its own is full. The table doubles when it is half
// full, or when both sets are, up to maxSeen entries; after that an entry
// of the identifier's set is replaced at random. A Go map of 2^21 such entries took so much more memory that a
// 3M-person run went over 256 MB, and memory here is what the garbage
// collector works against under the process's limit; see
// benchmarks/README.md.
type seenSet struct {
	sets []seenBlock
	mask uint64   // len(sets) - 1
	n    int      // used entries
	rnd  uint64   // state of the eviction's random choice
	gone []uint64 // Bloom filter of the evicted identifiers; nil until the first eviction
}

// goneWords is the size of seenSet.gone in 64-bit words (8 MiB). Each
// evicted identifier sets 4 bits of one word, so a look-up reads one
// cache line. False positives (an identifier taken for evicted) only cost
// a probe: at 2M evicted identifiers ~2·10⁻⁴, at 6M ~1 %, at 20M ~25 %.
const goneWords = 1 << 20

// seenBlock is one set: the first hashes of its identifiers together (a
// look-up that misses reads this one cache line), then for each the low
// 32 bits of the second hash and the 32-bit hash of the code. The key is
// 95 bits; k0 is never 0 in a used entry.
type seenBlock struct {
	k0 [seenWays]uint64
	kc [seenWays]uint64 // k1<<32 | code
}

const (
	seenWays    = 8
	seenInitial = 1 << 12 // entries
)

// entryKey returns the parts of k an entry holds.
func entryKey(k seenKey) (uint64, uint64) { return k[0] | 1, k[1] << 32 }

func (s *seenSet) block(k0 uint64) *seenBlock { return &s.sets[(k0>>1)&s.mask] }

// get returns the code hash stored for k.
func (s *seenSet) get(k seenKey) (uint32, bool) {
	if s.sets == nil {
		return 0, false
	}
	k0, k1 := entryKey(k)
	j := k0 >> 1
	for probe := range uint64(2) {
		b := &s.sets[(j+probe)&s.mask]
		for i, x := range &b.k0 {
			if x == k0 && b.kc[i]&^0xffffffff == k1 {
				return uint32(b.kc[i]), true
			}
		}
		if b.k0[seenWays-1] == 0 {
			return 0, false // a set that is not full has no spill-over
		}
	}
	return 0, false
}

// put stores code for k.
func (s *seenSet) put(k seenKey, code uint32) {
	if s.sets == nil {
		s.grow()
	}
	k0, k1 := entryKey(k)
	kc := k1 | uint64(code)
	for !s.insert(k0, kc) {
		if len(s.sets)*seenWays >= maxSeen {
			// Its set and the next are full in a full-sized table:
			// replace an entry of its own set at random (xorshift).
			s.rnd ^= s.rnd << 13
			s.rnd ^= s.rnd >> 7
			s.rnd ^= s.rnd << 17
			b := s.block(k0)
			i := s.rnd % seenWays
			s.forget(b.k0[i])
			b.k0[i], b.kc[i] = k0, kc
			return
		}
		s.grow()
	}
	if 2*s.n > len(s.sets)*seenWays && len(s.sets)*seenWays < maxSeen {
		s.grow()
	}
}

// insert stores (k0, kc) in k0's set, or in the next set if k0's is full
// (so get need look in the next set only when a set is full), updating
// the entry k0 and kc's high half already have. It reports false if both
// sets are full.
func (s *seenSet) insert(k0, kc uint64) bool {
	j := k0 >> 1
	for probe := range uint64(2) {
		b := &s.sets[(j+probe)&s.mask]
		for i, x := range &b.k0 {
			if x == 0 || x == k0 && b.kc[i]&^0xffffffff == kc&^0xffffffff {
				if x == 0 {
					s.n++
				}
				b.k0[i], b.kc[i] = k0, kc
				return true
			}
		}
	}
	return false
}

// grow doubles the table (or makes the first one) and moves the entries
// over. It keeps the table at most half full until it reaches maxSeen
// entries: sparse sets seldom spill over, and the table stays small for
// what it holds (a table that doubled only when a set overflowed held
// 226,000 identifiers in 2^21 entries, 32 MB).
func (s *seenSet) grow() {
	old := s.sets
	n := min(seenInitial, maxSeen) / seenWays
	if old != nil {
		n = 2 * len(old)
	}
	s.sets = hugepage.Make[seenBlock](n)
	s.mask = uint64(n - 1)
	s.n = 0
	if s.rnd == 0 {
		s.rnd = 0x9e3779b97f4a7c15
	}
	for j := range old {
		ob := &old[j]
		for i, k0 := range &ob.k0 {
			// In a table twice the size and at most half full, both
			// sets being full is all but impossible; such an entry
			// is evicted like any other (a later look-up finds it).
			if k0 != 0 && !s.insert(k0, ob.kc[i]) {
				s.forget(k0)
			}
		}
	}
}

// goneBits returns the word of seenSet.gone and the bits in it that stand
// for the entry key k0: the word from its high bits (its low bits choose
// the set), the bits from a multiplicative hash of it.
func goneBits(k0 uint64) (int, uint64) {
	h := k0 * 0x9e3779b97f4a7c15
	bits := uint64(1)<<(h>>58) | uint64(1)<<(h>>52&63) | uint64(1)<<(h>>46&63) | uint64(1)<<(h>>40&63)
	return int(k0 >> 44 & (goneWords - 1)), bits
}

// forget records in the filter that the entry k0 is evicted.
func (s *seenSet) forget(k0 uint64) {
	if s.gone == nil {
		s.gone = hugepage.Make[uint64](goneWords)
	}
	w, bits := goneBits(k0)
	s.gone[w] |= bits
}

// evicted reports whether k may have been put and then evicted; false
// means it certainly was not (while get misses, it was never put).
func (s *seenSet) evicted(k seenKey) bool {
	if s.gone == nil {
		return false
	}
	k0, _ := entryKey(k)
	w, bits := goneBits(k0)
	return s.gone[w]&bits == bits
}

// len returns the number of identifiers held.
func (s *seenSet) len() int { return s.n }
