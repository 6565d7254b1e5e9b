package keyvault

// seenSet is a transaction's set of identifiers already handled (Tx.seen),
// with a hash of the code each was linked to: a set-associative table of
// 16-byte entries, eight to a set. When an identifier's set is full the
// table doubles (each set splits in two, so nothing is lost), up to
// maxSeen entries; after that an entry of the full set is replaced at
// random. A Go map of 2^21 such entries took so much more memory that a
// 3M-person run went over 256 MB, and memory here is what the garbage
// collector works against under the process's limit; see
// benchmarks/README.md.
type seenSet struct {
	sets []seenBlock
	mask uint64 // len(sets) - 1
	n    int    // used entries
	rnd  uint64 // state of the eviction's random choice
}

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
	b := s.block(k0)
	for i, x := range &b.k0 {
		if x == k0 && b.kc[i]&^0xffffffff == k1 {
			return uint32(b.kc[i]), true
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
	for {
		b := s.block(k0)
		for i, x := range &b.k0 {
			if x == 0 || x == k0 && b.kc[i]&^0xffffffff == k1 {
				if x == 0 {
					s.n++
				}
				b.k0[i], b.kc[i] = k0, kc
				return
			}
		}
		if len(s.sets)*seenWays >= maxSeen {
			break
		}
		s.grow()
	}
	// A full set in a full-sized table: replace one of its entries at
	// random (xorshift).
	s.rnd ^= s.rnd << 13
	s.rnd ^= s.rnd >> 7
	s.rnd ^= s.rnd << 17
	b := s.block(k0)
	i := s.rnd % seenWays
	b.k0[i], b.kc[i] = k0, kc
}

// grow doubles the table (or makes the first one) and moves the entries
// over: set j's entries go to set j or j + the old number of sets, so a
// new set never overflows.
func (s *seenSet) grow() {
	old := s.sets
	n := min(seenInitial, maxSeen) / seenWays
	if old != nil {
		n = 2 * len(old)
	}
	s.sets = make([]seenBlock, n)
	s.mask = uint64(n - 1)
	if s.rnd == 0 {
		s.rnd = 0x9e3779b97f4a7c15
	}
	for j := range old {
		ob := &old[j]
		for i, k0 := range &ob.k0 {
			if k0 == 0 {
				continue
			}
			b := s.block(k0)
			for e := range &b.k0 {
				if b.k0[e] == 0 {
					b.k0[e], b.kc[e] = k0, ob.kc[i]
					break
				}
			}
		}
	}
}

// len returns the number of identifiers held.
func (s *seenSet) len() int { return s.n }
