package pseudo

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// entry returns the cached value a test stores for key k.
func entryFor(k string) cached {
	n := len(k)
	return cached{s: "v" + k, fake: [2]int32{int32(n), -int32(n)}, restored: n%2 == 0}
}

// TestValueCache: what is found is what was put under that key, with
// every field; a set keeps its latest ways keys; the empty string, invalid
// values and values too long for a slot are never cached.
func TestValueCache(t *testing.T) {
	c := newValueCache(ways)
	var arena []byte
	_, _, ok := c.get("", &arena)
	require.False(t, ok, "the empty string is never cached")
	c.put("", 0, entryFor(""))
	_, _, ok = c.get("", &arena)
	require.False(t, ok)

	for i := 0; i < 1000; i++ {
		k := "k" + strconv.Itoa(i)
		_, h, ok := c.get(k, &arena)
		require.False(t, ok, k)
		c.put(k, h, entryFor(k))
		v, _, ok := c.get(k, &arena)
		require.True(t, ok, k)
		require.Equal(t, entryFor(k), v)
		// One set of ways slots, first in first out: the latest ways
		// keys are all there, none older.
		for j := 0; j <= i; j++ {
			kj := "k" + strconv.Itoa(j)
			v, _, ok := c.get(kj, &arena)
			require.Equal(t, j > i-ways, ok, "key %d after %d puts", j, i+1)
			if ok {
				require.Equal(t, entryFor(kj), v)
			}
		}
	}

	k := "invalid"
	_, h, _ := c.get(k, &arena)
	c.put(k, h, cached{err: errInvalidForTest})
	_, _, ok = c.get(k, &arena)
	require.False(t, ok, "invalid values are not cached")

	long := strings.Repeat("x", slotBytes-17)
	_, h, _ = c.get(long, &arena)
	c.put(long, h, cached{s: strings.Repeat("c", CodeLen)})
	_, _, ok = c.get(long, &arena)
	require.False(t, ok, "key and string over slotBytes are not cached")
	fits := strings.Repeat("x", slotBytes-CodeLen)
	_, h, _ = c.get(fits, &arena)
	c.put(fits, h, cached{s: strings.Repeat("c", CodeLen)})
	v, _, ok := c.get(fits, &arena)
	require.True(t, ok, "key and string of exactly slotBytes are cached")
	require.Equal(t, strings.Repeat("c", CodeLen), v.s)
}

var errInvalidForTest = &RowError{Row: 1}

// TestValueCacheCopies: the cache copies key and string (never aliasing
// the caller's buffer), and a hit's string lives in the caller's arena.
func TestValueCacheCopies(t *testing.T) {
	c := newValueCache(64)
	buf := []byte("12345678901code-code-code-code")
	k := unsafe.String(&buf[0], 11)
	_, h, _ := c.get(k, nil)
	c.put(k, h, cached{s: unsafe.String(&buf[11], len(buf)-11)})
	for i := range buf {
		buf[i] = 'x' // the caller's buffer is reused
	}
	arena := make([]byte, 0, 64)
	v, _, ok := c.get("12345678901", &arena)
	require.True(t, ok)
	require.Equal(t, "code-code-code-code", v.s)
	require.Equal(t, "code-code-code-code", string(arena))
	require.Equal(t, unsafe.StringData(v.s), &arena[0])
}

// TestValueCacheHashed: a lookup with the hash from hash, after the
// prefetches identify makes, finds what get finds.
func TestValueCacheHashed(t *testing.T) {
	c := newValueCache(64)
	var arena []byte
	for i := 0; i < 200; i++ {
		k := "k" + strconv.Itoa(i)
		h := c.hash(k)
		c.prefetchSet(h)
		c.prefetchEntry(h)
		_, ok := c.getHashed(k, h, &arena)
		_, h2, ok2 := c.get(k, &arena)
		require.Equal(t, h, h2)
		require.Equal(t, ok2, ok)
		if !ok {
			c.put(k, h, entryFor(k))
		}
		v, ok := c.getHashed(k, c.hash(k), &arena)
		require.True(t, ok)
		require.Equal(t, entryFor(k), v)
	}
}

// TestValueCacheConcurrent: under concurrent gets and puts of keys that
// share few slots (run with -race), a hit always returns the whole entry
// put under that key: never one torn by a writer, never another key's.
func TestValueCacheConcurrent(t *testing.T) {
	c := newValueCache(ways) // one set: writers contend for its slots
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var arena []byte
			for i := 0; i < 20000; i++ {
				k := strings.Repeat(strconv.Itoa(i%300), 1+i%7)
				arena = arena[:0]
				v, h, ok := c.get(k, &arena)
				if ok {
					if v != entryFor(k) {
						t.Errorf("key %s: got %+v", k, v)
						return
					}
					continue
				}
				c.put(k, h, entryFor(k))
			}
		}()
	}
	wg.Wait()
}

// TestValueCacheGrows: a cache starts with a small table and doubles it
// as distinct values come, up to its size; one with few distinct values
// stays small.
func TestValueCacheGrows(t *testing.T) {
	c := newValueCache(1 << 14)
	require.Equal(t, firstSlots, c.size())
	var arena []byte
	for r := 0; r < 10; r++ {
		for i := range 100 {
			k := "few" + strconv.Itoa(i)
			if _, h, ok := c.get(k, &arena); !ok {
				c.put(k, h, entryFor(k))
			}
		}
	}
	require.Equal(t, firstSlots, c.size(), "100 distinct values")
	for i := range 10_000 {
		k := "many" + strconv.Itoa(i)
		_, h, _ := c.get(k, &arena)
		c.put(k, h, entryFor(k))
	}
	require.Equal(t, 1<<14, c.size(), "grown to its size, no further")
	found := 0
	for i := 10_000 - 1000; i < 10_000; i++ {
		k := "many" + strconv.Itoa(i)
		if v, _, ok := c.get(k, &arena); ok {
			require.Equal(t, entryFor(k), v)
			found++
		}
	}
	require.Greater(t, found, 950, "the latest values are in the current table")
}

// TestValueCacheNilArena: without an arena a hit's string is its own.
func TestValueCacheNilArena(t *testing.T) {
	c := newValueCache(64)
	_, h, _ := c.get("k", nil)
	c.put("k", h, entryFor("k"))
	v, _, ok := c.get("k", nil)
	require.True(t, ok)
	require.Equal(t, entryFor("k"), v)
}
