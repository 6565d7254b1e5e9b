package table

import (
	"math/bits"
	"sync"
)

// PoolAllocator is a memory.Allocator that keeps freed buffers for reuse
// instead of leaving them to the garbage collector. A pipeline allocates
// the same few buffer sizes batch after batch (column data, offsets,
// validity bitmaps); with the Go allocator each batch's buffers became
// garbage, and the collector ran once per ~60 MB of them against a heap
// kept near the soft memory limit.
//
// Buffers come in power-of-two capacities from 64 bytes to 64 MiB and are
// zeroed when handed out (as the Go allocator's are). At most maxPooled
// bytes are kept; beyond that, freed buffers go to the collector. A buffer
// must not be used after it is freed: Arrow's reference counting frees it
// on the last Release.
type PoolAllocator struct {
	// Poison, for tests, fills every freed buffer with 0xDB, so that a
	// use after free shows up as damaged output instead of going unseen.
	Poison bool

	mu     sync.Mutex
	free   [maxClass + 1][][]byte
	pooled int
}

const (
	minClass  = 6  // 64 bytes: Arrow's alignment
	maxClass  = 26 // 64 MiB
	maxPooled = 32 << 20
)

// NewPoolAllocator returns an empty pool.
func NewPoolAllocator() *PoolAllocator { return &PoolAllocator{} }

// class returns the size class of n bytes: the exponent of the smallest
// power of two that holds n, at least minClass.
func class(n int) int {
	c := bits.Len(uint(n - 1))
	if n <= 1 || c < minClass {
		return minClass
	}
	return c
}

// Allocate returns a zeroed buffer of size bytes.
func (p *PoolAllocator) Allocate(size int) []byte {
	c := class(size)
	if c > maxClass {
		return make([]byte, size)
	}
	p.mu.Lock()
	if l := p.free[c]; len(l) > 0 {
		b := l[len(l)-1]
		l[len(l)-1] = nil
		p.free[c] = l[:len(l)-1]
		p.pooled -= cap(b)
		p.mu.Unlock()
		b = b[:size]
		clear(b)
		return b
	}
	p.mu.Unlock()
	return make([]byte, size, 1<<c)
}

// Reallocate returns a buffer of size bytes holding b's bytes (zeroed
// beyond them), reusing b when its capacity allows.
func (p *PoolAllocator) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		old := len(b)
		b = b[:size]
		if size > old {
			clear(b[old:])
		}
		return b
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

// Free returns b to the pool, unless the pool is full or b did not come
// from a pool.
func (p *PoolAllocator) Free(b []byte) {
	c := class(cap(b))
	if cap(b) != 1<<c || c > maxClass {
		return
	}
	if p.Poison {
		b = b[:cap(b)]
		for i := range b {
			b[i] = 0xDB
		}
	}
	p.mu.Lock()
	if p.pooled+cap(b) <= maxPooled {
		p.free[c] = append(p.free[c], b[:0])
		p.pooled += cap(b)
	}
	p.mu.Unlock()
}
