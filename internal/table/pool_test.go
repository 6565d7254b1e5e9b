package table

import (
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

var _ memory.Allocator = (*PoolAllocator)(nil)

func TestPoolClass(t *testing.T) {
	for _, tc := range []struct{ n, class int }{
		{0, 6}, {1, 6}, {64, 6}, {65, 7}, {128, 7}, {129, 8}, {1 << 20, 20}, {1<<20 + 1, 21}, {64 << 20, 26}, {64<<20 + 1, 27},
	} {
		require.Equal(t, tc.class, class(tc.n), "n=%d", tc.n)
	}
}

func TestPoolAllocator(t *testing.T) {
	p := &PoolAllocator{Poison: true}
	b := p.Allocate(100)
	require.Len(t, b, 100)
	require.Equal(t, 128, cap(b))
	for i := range b {
		b[i] = byte(i)
	}
	// Growing within the capacity keeps the bytes and zeroes the rest.
	b = p.Reallocate(120, b)
	require.Equal(t, byte(99), b[99])
	require.Equal(t, make([]byte, 20), b[100:])
	// Growing beyond it moves the bytes and frees the old buffer.
	b2 := p.Reallocate(200, b)
	require.Equal(t, 256, cap(b2))
	require.Equal(t, byte(99), b2[99])
	require.Equal(t, byte(0xDB), b[:cap(b)][0], "the old buffer was freed (and poisoned)")
	// A freed buffer comes back zeroed.
	p.Free(b2)
	b3 := p.Allocate(256)
	require.Equal(t, &b2[:1][0], &b3[:1][0], "the same memory is reused")
	require.Equal(t, make([]byte, 256), b3)
	// Buffers from elsewhere and huge ones are left to the collector.
	p.Free(make([]byte, 100))
	p.Free(make([]byte, 0, 1<<27))
	require.Equal(t, 128, p.pooled, "only the 128-byte buffer from the first Reallocate")
	big := p.Allocate(100 << 20)
	require.Len(t, big, 100<<20)
	// The pool keeps at most maxPooled bytes.
	for range 3 {
		p.Free(make([]byte, 16<<20))
	}
	require.LessOrEqual(t, p.pooled, maxPooled)
}

// TestPoolAllocatorArrow: Arrow builders and arrays work on the pool, and
// what they release comes back.
func TestPoolAllocatorArrow(t *testing.T) {
	p := NewPoolAllocator()
	for round := 0; round < 3; round++ {
		b := array.NewStringBuilder(p)
		for i := 0; i < 1000; i++ {
			if i%7 == 0 {
				b.AppendNull()
			} else {
				b.Append("value")
			}
		}
		a := b.NewStringArray()
		b.Release()
		require.Equal(t, 1000, a.Len())
		require.True(t, a.IsNull(0))
		require.Equal(t, "value", a.Value(1))
		a.Release()
		require.Positive(t, p.pooled)
	}
}

func TestPoolAllocatorConcurrent(t *testing.T) {
	p := NewPoolAllocator()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				b := p.Allocate(64 + i%3000)
				for j := range b {
					if b[j] != 0 {
						t.Errorf("allocated buffer not zeroed")
						return
					}
					b[j] = byte(g + 1)
				}
				p.Free(b)
			}
		}()
	}
	wg.Wait()
}
