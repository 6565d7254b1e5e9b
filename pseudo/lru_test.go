package pseudo

import (
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestWayCache(t *testing.T) {
	c := newWayCache[int](ways)
	_, _, ok := c.get("")
	require.False(t, ok, "the empty string is never cached")
	c.put("", 0, 1)
	_, _, ok = c.get("")
	require.False(t, ok)
	// Everything put is found until its set of slots takes `ways` newer keys;
	// what is found is always what was put under that key.
	for i := 0; i < 1000; i++ {
		k := "k" + strconv.Itoa(i)
		_, h, ok := c.get(k)
		require.False(t, ok)
		c.put(k, h, i)
		v, _, ok := c.get(k)
		require.True(t, ok)
		require.Equal(t, i, v)
		for j := 0; j <= i; j++ {
			if v, _, ok := c.get("k" + strconv.Itoa(j)); ok {
				require.Equal(t, j, v)
			}
		}
	}
	found := 0
	for j := 0; j < 1000; j++ {
		if _, _, ok := c.get("k" + strconv.Itoa(j)); ok {
			found++
		}
	}
	require.LessOrEqual(t, found, ways)
	require.GreaterOrEqual(t, found, 1)
}

// TestWayCacheConcurrent: under concurrent gets and puts (run with -race) a
// hit always returns the value put under that key.
func TestWayCacheConcurrent(t *testing.T) {
	c := newWayCache[string](64)
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- true }()
			for i := 0; i < 20000; i++ {
				k := strconv.Itoa(i % 300)
				v, h, ok := c.get(k)
				if ok {
					if v != "v"+k {
						t.Errorf("key %s: got %s", k, v)
						return
					}
					continue
				}
				c.put(k, h, "v"+k)
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}

// TestWayCacheWays: keys that share a set all stay until a ninth pushes the
// oldest out (a cache of 8 slots is one set).
func TestWayCacheWays(t *testing.T) {
	c := newWayCache[int](ways)
	for i := 0; i < ways; i++ {
		k := "k" + strconv.Itoa(i)
		_, h, _ := c.get(k)
		c.put(k, h, i)
	}
	for i := 0; i < ways; i++ {
		v, _, ok := c.get("k" + strconv.Itoa(i))
		require.True(t, ok, "key %d of %d", i, ways)
		require.Equal(t, i, v)
	}
	_, h, _ := c.get("new")
	c.put("new", h, -1)
	_, _, ok := c.get("k0")
	require.False(t, ok, "the oldest key is pushed out")
	for i := 1; i < ways; i++ {
		_, _, ok := c.get("k" + strconv.Itoa(i))
		require.True(t, ok, "key %d", i)
	}
	v, _, ok := c.get("new")
	require.True(t, ok)
	require.Equal(t, -1, v)
}

// TestWayCacheHashed: a lookup with the hash from hash, after the
// prefetches identify makes, finds what get finds, and a put with that
// hash is found by get.
func TestWayCacheHashed(t *testing.T) {
	c := newWayCache[int](64)
	for i := 0; i < 200; i++ {
		k := "k" + strconv.Itoa(i)
		h := c.hash(k)
		c.prefetchSet(h)
		c.prefetchEntry(h)
		_, h2, ok := c.getHashed(k, h)
		require.Equal(t, h, h2)
		_, _, ok2 := c.get(k)
		require.Equal(t, ok2, ok)
		if !ok {
			c.put(k, h, i)
		}
		v, _, ok := c.get(k)
		require.True(t, ok)
		require.Equal(t, i, v)
		v, _, ok = c.getHashed(k, c.hash(k))
		require.True(t, ok)
		require.Equal(t, i, v)
	}
	_, _, ok := c.getHashed("", c.hash(""))
	require.False(t, ok, "the empty string is never cached")
}

// TestWayCacheInlinesValue: a cached value's string is copied (into the
// entry when key and string fit its spare room, else cloned), so it never
// aliases the caller's buffer, and an entry of a code column is two
// memory lines.
func TestWayCacheInlinesValue(t *testing.T) {
	require.Equal(t, uintptr(128), unsafe.Sizeof(wayEntry[cached]{}))
	c := newWayCache[cached](64)
	for _, n := range []int{0, 18, wayBufBytes - 11, wayBufBytes} {
		buf := []byte(strings.Repeat("c", n))
		k := "12345678901" // 11 bytes of key: n = wayBufBytes does not fit
		_, h, _ := c.get(k)
		c.put(k, h, cached{s: unsafe.String(unsafe.SliceData(buf), len(buf)), fake: [2]int32{1, 2}})
		for i := range buf {
			buf[i] = 'x' // the caller's buffer is reused
		}
		v, _, ok := c.get(k)
		require.True(t, ok)
		require.Equal(t, strings.Repeat("c", n), v.s, "length %d", n)
		require.Equal(t, [2]int32{1, 2}, v.fake)
	}
}
