package pseudo

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/pseudokit/pseudokit/internal/prefetch"
)

// genCache is a bounded cache in two generations: new entries go to the
// current map; when it is full it becomes the old one and a fresh map
// starts, and a hit in the old map moves the entry forward. Recently used
// entries survive, nothing is scanned to evict, and memory stays below
// twice the size.
type genCache[V any] struct {
	cur, old map[string]V
	size     int
}

func newGenCache[V any](size int) *genCache[V] {
	return &genCache[V]{cur: make(map[string]V), size: size}
}

// get looks k up in both generations.
func (c *genCache[V]) get(k string) (V, bool) {
	if v, ok := c.cur[k]; ok {
		return v, true
	}
	v, ok := c.old[k]
	if ok {
		c.put(k, v) // k is still owned by the old map's key: safe to reuse
	}
	return v, ok
}

// put stores v under k; k must not alias memory that changes.
func (c *genCache[V]) put(k string, v V) {
	if len(c.cur) >= c.size {
		c.old, c.cur = c.cur, make(map[string]V, c.size)
	}
	c.cur[k] = v
}

// wayCache is a bounded cache in a fixed table of slots, sixteen-way set
// associative, safe for concurrent use without locks: a key hashes to a
// set of sixteen slots, each holding a pointer to an immutable entry, and
// a 16-bit tag of the key's hash for each (four to a word), so a lookup
// costs the set's lines and, when a tag matches, the entry's (the entry
// holds a short key itself); identify prefetches both ahead of the
// lookup. A new entry goes to the set's first slot, pushing the others
// one along and the last out. put reuses the hash of the get that missed.
// Concurrent puts may lose an entry or leave a stale tag, which only costs
// a later miss: a hit is always checked against the key. The empty string
// is never cached.
//
// Why sixteen ways: with as many distinct values as ~3/4 of the slots
// (100,000 persons, 128Ki slots; CSV of 5M rows, fnr and email coded)
// lookups missed 19.1 % of the time with two ways, 11.9 % with four,
// 6.8-7.3 % with eight and 4.2 % with sixteen (2.2 %, about the values'
// first sightings, with eight ways and twice the slots, which costs
// memory with many persons), and a miss costs a code, a Link and an
// allocation. Eight ways against four: 10.3-11.0 -> 8.0-8.4 user CPU s for
// that run; sixteen against eight (2026-12-02, with prefetching, five
// runs in turn): 5.7-7.3 -> 5.7-6.4 user CPU s, mean -9 %; with 1M
// persons unchanged (~82 % misses whatever the ways). Sixteen ways take
// no more memory than eight: 10 bytes a slot either way.
//
// The workers of a Pseudonymizer share one per column, so a value one
// worker has met is a hit for all.
type wayCache[V any] struct {
	seed maphash.Seed
	sets []waySet[V]
	mask uint64
}

// ways is the number of slots in a set.
const ways = 16

// waySet is a set of slots: tags[i/4] holds the 16-bit tag of slot i in bits
// 16(i%4)..16(i%4)+15 (0 for none).
type waySet[V any] struct {
	tags [ways / 4]atomic.Uint64
	e    [ways]atomic.Pointer[wayEntry[V]]
}

// wayBufBytes is the room an entry has for its key and, after it, for a
// string its value holds (see inliner): 64 makes an entry of a code
// column 128 bytes, two memory lines.
const wayBufBytes = 64

type wayEntry[V any] struct {
	key string
	val V
	buf [wayBufBytes]byte
}

// An inliner is a value that copies a string it holds into its entry's
// spare room (put calls it with what the key left of buf).
type inliner interface{ inline(buf []byte) }

// newWayCache returns a cache of size slots (a power of two, at least ways).
func newWayCache[V any](size int) *wayCache[V] {
	return &wayCache[V]{seed: maphash.MakeSeed(), sets: make([]waySet[V], size/ways), mask: uint64(size/ways - 1)}
}

// tag returns the tag of hash h (never 0; the low bits choose the set).
func tag(h uint64) uint64 { return h>>48 | 1 }

// get looks k up and returns its hash for a following put.
func (c *wayCache[V]) get(k string) (v V, h uint64, ok bool) {
	if k == "" {
		return v, 0, false
	}
	return c.getHashed(k, maphash.String(c.seed, k))
}

// hash returns k's hash.
func (c *wayCache[V]) hash(k string) uint64 { return maphash.String(c.seed, k) }

// prefetchSet starts loading the set of hash h into the CPU's caches.
func (c *wayCache[V]) prefetchSet(h uint64) {
	prefetch.Range(uintptr(unsafe.Pointer(&c.sets[h&c.mask])), unsafe.Sizeof(waySet[V]{}))
}

// prefetchEntry starts loading the entries whose tags match hash h into
// the CPU's caches (best after prefetchSet has brought their set in).
func (c *wayCache[V]) prefetchEntry(h uint64) {
	s := &c.sets[h&c.mask]
	tg := tag(h)
	for i := range ways {
		if s.tags[i/4].Load()>>(16*(i%4))&0xffff == tg {
			if e := s.e[i].Load(); e != nil {
				prefetch.Range(uintptr(unsafe.Pointer(e)), unsafe.Sizeof(*e))
			}
		}
	}
}

// getHashed is get with k's hash already known (from hash).
func (c *wayCache[V]) getHashed(k string, h uint64) (v V, _ uint64, ok bool) {
	if k == "" {
		return v, h, false
	}
	s := &c.sets[h&c.mask]
	tg := tag(h)
	for i := range ways {
		if s.tags[i/4].Load()>>(16*(i%4))&0xffff == tg {
			if e := s.e[i].Load(); e != nil && e.key == k {
				return e.val, h, true
			}
		}
	}
	return v, h, false
}

// put stores v under a copy of k, whose hash get returned.
func (c *wayCache[V]) put(k string, h uint64, v V) {
	if k == "" {
		return
	}
	e := &wayEntry[V]{val: v}
	rest := e.buf[:]
	if len(k) <= len(rest) {
		n := copy(rest, k)
		e.key = unsafe.String(&e.buf[0], n)
		rest = rest[n:]
	} else {
		e.key = strings.Clone(k)
	}
	if in, ok := any(&e.val).(inliner); ok {
		in.inline(rest)
	}
	s := &c.sets[h&c.mask]
	for i := ways - 1; i > 0; i-- {
		s.e[i].Store(s.e[i-1].Load())
	}
	s.e[0].Store(e)
	carry := tag(h)
	for i := range s.tags {
		t := s.tags[i].Load()
		s.tags[i].Store(carry | t<<16)
		carry = t >> 48
	}
}
