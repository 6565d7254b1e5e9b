package pseudo

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
	"unsafe"
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

// wayCache is a bounded cache in a fixed table of slots, two-way set
// associative, safe for concurrent use without locks: a key hashes to a
// pair of slots, each holding a pointer to an immutable entry, and a tag of
// the key's hash for each, in one cache line, so a miss mostly costs one
// memory access and a hit two (the entry holds a short key itself). A new
// entry goes to the pair's first slot, pushing the older entry to the
// second and the one there out. put reuses the hash of the get that missed.
// Concurrent puts may lose an entry or leave a stale tag, which only costs
// a later miss: a hit is always checked against the key. The empty string
// is never cached.
//
// The workers of a Pseudonymizer share one per column, so a value one
// worker has met is a hit for all.
type wayCache[V any] struct {
	seed  maphash.Seed
	pairs []wayPair[V]
	mask  uint64
}

// wayPair is two slots: tags holds the tag of slot 0 in its low 32 bits and
// of slot 1 in its high 32 bits (0 for none).
type wayPair[V any] struct {
	tags atomic.Uint64
	e    [2]atomic.Pointer[wayEntry[V]]
}

// wayKeyBytes is the length up to which an entry holds its key itself.
const wayKeyBytes = 40

type wayEntry[V any] struct {
	key string
	val V
	buf [wayKeyBytes]byte
}

// newWayCache returns a cache of size slots (a power of two, at least 2).
func newWayCache[V any](size int) *wayCache[V] {
	return &wayCache[V]{seed: maphash.MakeSeed(), pairs: make([]wayPair[V], size/2), mask: uint64(size/2 - 1)}
}

// tag returns the tag of hash h (never 0).
func tag(h uint64) uint32 { return uint32(h>>32) | 1 }

// get looks k up and returns its hash for a following put.
func (c *wayCache[V]) get(k string) (v V, h uint64, ok bool) {
	if k == "" {
		return v, 0, false
	}
	h = maphash.String(c.seed, k)
	p := &c.pairs[h&c.mask]
	t, tg := p.tags.Load(), tag(h)
	if uint32(t) == tg {
		if e := p.e[0].Load(); e != nil && e.key == k {
			return e.val, h, true
		}
	}
	if uint32(t>>32) == tg {
		if e := p.e[1].Load(); e != nil && e.key == k {
			return e.val, h, true
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
	if len(k) <= wayKeyBytes {
		n := copy(e.buf[:], k)
		e.key = unsafe.String(&e.buf[0], n)
	} else {
		e.key = strings.Clone(k)
	}
	p := &c.pairs[h&c.mask]
	t := p.tags.Load()
	p.e[1].Store(p.e[0].Load())
	p.e[0].Store(e)
	p.tags.Store(uint64(tag(h)) | t<<32)
}
