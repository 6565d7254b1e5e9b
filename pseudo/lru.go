package pseudo

import (
	"hash/maphash"
	"sync/atomic"
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
// pair of slots, each holding a pointer to an immutable entry; a new entry
// goes to the first, pushing the pair's older entry to the second and the
// one there out. Lookups are one hash and at most two string comparisons,
// and put reuses the hash of the get that missed. Concurrent puts may lose
// an entry, which only costs a later miss. The empty string is never cached.
//
// The workers of a Pseudonymizer share one per column, so a value one
// worker has met is a hit for all.
type wayCache[V any] struct {
	seed  maphash.Seed
	slots []atomic.Pointer[wayEntry[V]]
	mask  uint64
}

type wayEntry[V any] struct {
	key string
	val V
}

// newWayCache returns a cache of size slots (a power of two, at least 2).
func newWayCache[V any](size int) *wayCache[V] {
	return &wayCache[V]{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[wayEntry[V]], size), mask: uint64(size-1) &^ 1}
}

// get looks k up and returns its hash for a following put.
func (c *wayCache[V]) get(k string) (v V, h uint64, ok bool) {
	if k == "" {
		return v, 0, false
	}
	h = maphash.String(c.seed, k)
	i := h & c.mask
	if e := c.slots[i].Load(); e != nil && e.key == k {
		return e.val, h, true
	}
	if e := c.slots[i+1].Load(); e != nil && e.key == k {
		return e.val, h, true
	}
	return v, h, false
}

// put stores v under k, whose hash get returned; k must not alias memory
// that changes.
func (c *wayCache[V]) put(k string, h uint64, v V) {
	if k == "" {
		return
	}
	i := h & c.mask
	e := &wayEntry[V]{key: k, val: v}
	first := c.slots[i].Load()
	if first == nil || first.key == k {
		c.slots[i].Store(e)
		return
	}
	if second := c.slots[i+1].Load(); second != nil && second.key == k {
		c.slots[i+1].Store(e)
		return
	}
	c.slots[i+1].Store(first)
	c.slots[i].Store(e)
}
