package pseudo

import (
	"hash/maphash"
	"sync/atomic"
	"unsafe"

	"github.com/pseudokit/pseudokit/internal/hugepage"
	"github.com/pseudokit/pseudokit/internal/prefetch"
)

// valueCache is the workers' shared cache of values they have met (one
// per coded or fake-name column): a fixed table of slots, sixteen-way set
// associative, that holds no Go pointers. A slot is 128 bytes: a header
// word, the fictitious-name indexes, and 112 bytes for the value (the key)
// followed by the cached string (the code, or the canonical form). Each
// set has a 16-bit tag of the key's hash for each of its slots (four to a
// word) and a counter that picks the slot a new entry replaces (first in,
// first out). identify prefetches a value's tags and then its slot some
// rows ahead of the lookup, so that the misses of a batch overlap.
//
// Why no pointers: the cache is most of a run's live heap (~210,000
// entries with 100,000 persons), and the garbage collector marked every
// entry in every cycle. With entries of their own (a pointer per slot to
// an immutable entry), a 5M-row Parquet run of 100,000 persons spent 2.1-3.7
// CPU s marking in ~120 cycles; with that cache shrunk to 1,024 slots
// (everything else the same) 1.0 s; with this one, 1.06 s in 130 cycles,
// and the run went from 8.9-9.1 to 8.4-8.7 s wall (user CPU 13.8-14.2 ->
// 12.4-12.9 s; three runs each, in turn). CSV runs, which collect far
// less often, were unchanged, at 6-15 MB more peak RSS (204-216 MB).
//
// Safe for concurrent use without locks. A writer takes a slot by moving
// its header's sequence number from even to odd (compare-and-swap; if
// another writer holds it, the put is dropped), writes the words, and makes
// the sequence even again. A reader copies the words and checks that the
// header did not change meanwhile (a sequence lock); a hit is always
// checked against the whole key, so a stale or lost tag only costs a
// miss. Values that do not fit (key and string over 112 bytes), invalid
// values and the empty string are not cached: they are worked out anew.
type valueCache struct {
	seed maphash.Seed
	t    atomic.Pointer[slotTable]
	puts atomic.Int64 // into the current table
	max  int          // slots
}

// slotTable is a valueCache's table. A cache starts with a small one and
// replaces it by an empty one twice the size each time it has taken half
// as many puts as it has slots, up to the cache's size: a column with few
// distinct values (fictitious names drawn from a list, say) keeps a small
// table, and the memory the collector works against stays small. Entries
// of a replaced table are lost, which costs a miss each.
type slotTable struct {
	tags  []atomic.Uint64 // tagWords per set
	next  []atomic.Uint32 // per set: count of puts, mod ways the slot to replace
	slots []atomic.Uint64 // slotWords per slot, ways slots per set
	mask  uint64          // number of sets - 1
}

// firstSlots is the size of a valueCache's first table.
const firstSlots = 4096

const (
	ways      = 16
	tagWords  = ways / 4
	slotWords = 16
	// slotBytes is the room in a slot for the key and the cached string.
	slotBytes = (slotWords - 2) * 8
)

// The header word of a slot: the sequence number in the low 32 bits (odd
// while a writer fills the slot), then the key's length, the string's
// length and flags.
const (
	hdrKeyShift  = 32
	hdrSShift    = 40
	hdrFlagShift = 48
	flagUsed     = 1
	flagRestored = 2
)

// newValueCache returns a cache of up to size slots (a power of two, at
// least ways).
func newValueCache(size int) *valueCache {
	c := &valueCache{seed: maphash.MakeSeed(), max: size}
	c.t.Store(newSlotTable(min(size, firstSlots)))
	return c
}

func newSlotTable(size int) *slotTable {
	sets := size / ways
	return &slotTable{
		tags:  hugepage.Make[atomic.Uint64](sets * tagWords),
		next:  make([]atomic.Uint32, sets),
		slots: hugepage.Make[atomic.Uint64](sets * ways * slotWords),
		mask:  uint64(sets - 1),
	}
}

// size returns the number of slots of the current table.
func (c *valueCache) size() int { return len(c.t.Load().next) * ways }

// tag returns the tag of hash h (never 0; the low bits choose the set).
func tag(h uint64) uint64 { return h>>48 | 1 }

// hash returns k's hash.
func (c *valueCache) hash(k string) uint64 { return maphash.String(c.seed, k) }

// prefetchSet starts loading the tags of hash h's set.
func (c *valueCache) prefetchSet(h uint64) {
	t := c.t.Load()
	s := h & t.mask
	prefetch.Range(uintptr(unsafe.Pointer(&t.tags[s*tagWords])), tagWords*8)
}

// prefetchEntry starts loading the slots whose tags match hash h (best
// after prefetchSet has brought the tags in), or, if none does (the value
// will miss), the slot a put of it would take.
func (c *valueCache) prefetchEntry(h uint64) {
	t := c.t.Load()
	s := h & t.mask
	tg := tag(h)
	matched := false
	for i := range ways {
		if t.tags[s*tagWords+uint64(i/4)].Load()>>(16*(i%4))&0xffff == tg {
			prefetch.Range(uintptr(unsafe.Pointer(&t.slots[(s*ways+uint64(i))*slotWords])), slotWords*8)
			matched = true
		}
	}
	if !matched {
		i := uint64(t.next[s].Load()) % ways
		prefetch.Range(uintptr(unsafe.Pointer(&t.slots[(s*ways+i)*slotWords])), slotWords*8)
	}
}

// slotBuf is a slot's value bytes, copied out of or into its words.
type slotBuf [slotWords - 2]uint64

func (b *slotBuf) bytes() []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(&b[0])), slotBytes)
}

// get looks k up, appending the cached string to *arena (the result's s
// points there; with a nil arena it is a string of its own), and returns
// k's hash for a following put.
func (c *valueCache) get(k string, arena *[]byte) (v cached, h uint64, ok bool) {
	if k == "" {
		return v, 0, false
	}
	h = c.hash(k)
	v, ok = c.getHashed(k, h, arena)
	return v, h, ok
}

// getHashed is get with k's hash already known.
func (c *valueCache) getHashed(k string, h uint64, arena *[]byte) (v cached, ok bool) {
	if k == "" || len(k) > slotBytes {
		return v, false
	}
	t := c.t.Load()
	s := h & t.mask
	tg := tag(h)
	for i := range ways {
		if t.tags[s*tagWords+uint64(i/4)].Load()>>(16*(i%4))&0xffff != tg {
			continue
		}
		if v, ok = read(t.slots[(s*ways+uint64(i))*slotWords:][:slotWords], k, arena); ok {
			return v, true
		}
	}
	return v, false
}

// read returns the slot's entry if it holds key k and no writer changed it
// while it was read.
func read(slot []atomic.Uint64, k string, arena *[]byte) (v cached, ok bool) {
	hdr := slot[0].Load()
	if hdr&1 != 0 || hdr>>hdrFlagShift&flagUsed == 0 || int(uint8(hdr>>hdrKeyShift)) != len(k) {
		return v, false
	}
	sLen := int(uint8(hdr >> hdrSShift))
	n := (len(k) + sLen + 7) / 8
	var b slotBuf
	for i := range n {
		b[i] = slot[2+i].Load()
	}
	fake := slot[1].Load()
	if slot[0].Load() != hdr {
		return v, false // a writer came by
	}
	bs := b.bytes()
	if string(bs[:len(k)]) != k {
		return v, false
	}
	switch {
	case sLen == 0:
	case arena == nil:
		v.s = string(bs[len(k) : len(k)+sLen])
	default:
		start := len(*arena)
		*arena = append(*arena, bs[len(k):len(k)+sLen]...)
		v.s = unsafe.String(&(*arena)[start], sLen)
	}
	v.fake = [2]int32{int32(uint32(fake)), int32(uint32(fake >> 32))}
	v.restored = hdr>>hdrFlagShift&flagRestored != 0
	return v, true
}

// put stores v under k, whose hash get returned, unless it cannot be
// cached (see valueCache) or another writer holds the slot it would take.
func (c *valueCache) put(k string, h uint64, v cached) {
	if k == "" || v.err != nil || len(k)+len(v.s) > slotBytes {
		return
	}
	t := c.t.Load()
	if c.puts.Add(1) > int64(len(t.next)*ways/2) && len(t.next)*ways < c.max {
		nt := newSlotTable(2 * len(t.next) * ways)
		if c.t.CompareAndSwap(t, nt) {
			c.puts.Store(1)
		}
		t = c.t.Load()
	}
	s := h & t.mask
	i := uint64(t.next[s].Add(1)-1) % ways
	slot := t.slots[(s*ways+i)*slotWords:][:slotWords]
	hdr := slot[0].Load()
	if hdr&1 != 0 || !slot[0].CompareAndSwap(hdr, hdr+1) {
		return
	}
	var b slotBuf
	bs := b.bytes()
	copy(bs, k)
	copy(bs[len(k):], v.s)
	n := (len(k) + len(v.s) + 7) / 8
	for j := range n {
		slot[2+j].Store(b[j])
	}
	slot[1].Store(uint64(uint32(v.fake[0])) | uint64(uint32(v.fake[1]))<<32)
	flags := uint64(flagUsed)
	if v.restored {
		flags |= flagRestored
	}
	seq := uint64(uint32(hdr + 2))
	slot[0].Store(seq | uint64(len(k))<<hdrKeyShift | uint64(len(v.s))<<hdrSShift | flags<<hdrFlagShift)
	// The slot's tag; other lanes of the word may change meanwhile.
	w := &t.tags[s*tagWords+i/4]
	sh := 16 * (i % 4)
	for {
		old := w.Load()
		if w.CompareAndSwap(old, old&^(0xffff<<sh)|tag(h)<<sh) {
			return
		}
	}
}
