package keyvault

import (
	"hash/maphash"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// boundSeen bounds the seen-set to n entries for the test.
func boundSeen(tb testing.TB, n int) {
	old := maxSeen
	maxSeen = n
	tb.Cleanup(func() { maxSeen = old })
}

// nidKeys returns a Tx with seeds of its own and the seen-set key of
// synthNID(i) under them.
func nidKeys() (*Tx, func(i int) seenKey) {
	tx := &Tx{seenSeed: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	return tx, func(i int) seenKey { return tx.key("nid", synthNID(i)) }
}

// The seen-set keeps every identifier while it may grow, and at its bound
// holds maxSeen at most, most of the latest among them.
func TestSeenSet(t *testing.T) {
	boundSeen(t, 1<<14)
	tx, key := nidKeys()
	var s seenSet
	_, ok := s.get(key(0))
	assert.False(t, ok, "empty")
	// While the table may grow, nothing is evicted; at its full size,
	// 1/16 of it full, a set of eight overflows with probability ~1e-9.
	const grown = 1 << 10
	for i := range grown {
		s.put(key(i), uint32(i))
	}
	assert.Equal(t, grown, s.len())
	for i := range grown {
		c, ok := s.get(key(i))
		require.True(t, ok, i)
		require.Equal(t, uint32(i), c)
	}
	s.put(key(7), 99) // an update, not a new entry
	c, _ := s.get(key(7))
	assert.Equal(t, uint32(99), c)
	assert.Equal(t, grown, s.len())

	for i := grown; i < 4*maxSeen; i++ {
		s.put(key(i), uint32(i))
	}
	assert.LessOrEqual(t, s.len(), maxSeen)
	assert.Equal(t, maxSeen, len(s.sets)*seenWays)
	recent := 0
	for i := 4*maxSeen - 1000; i < 4*maxSeen; i++ {
		if c, ok := s.get(key(i)); ok {
			require.Equal(t, uint32(i), c)
			recent++
		}
	}
	assert.Greater(t, recent, 900, "recent entries are mostly kept")
	_, ok = s.get(tx.key("other-kind", synthNID(5)))
	assert.False(t, ok, "kind is part of the key")
}

// Identifiers whose set is full go to the next set and are found there;
// when both are full the table grows, and at its bound an entry of the
// identifier's own set makes way.
func TestSeenSetSpillOver(t *testing.T) {
	boundSeen(t, 1<<14)
	// Keys whose first hash differs only above bit 20 share a set at
	// every table size used here.
	key := func(m int) seenKey { return seenKey{uint64(m)<<21 | 5<<1, uint64(m)} }
	var s seenSet
	for m := range 2 * seenWays {
		s.put(key(m), uint32(m))
	}
	assert.Equal(t, seenInitial, len(s.sets)*seenWays, "two full sets: no growth yet")
	for m := range 2 * seenWays {
		c, ok := s.get(key(m))
		require.True(t, ok, m)
		require.Equal(t, uint32(m), c)
	}
	s.put(key(9), 99) // an update of a key in the next set
	c, ok := s.get(key(9))
	require.True(t, ok)
	assert.Equal(t, uint32(99), c)
	assert.Equal(t, 2*seenWays, s.len())
	_, ok = s.get(key(100))
	assert.False(t, ok)

	s.put(key(100), 100) // both sets full: grows to the bound, then evicts
	assert.Equal(t, maxSeen, len(s.sets)*seenWays)
	c, ok = s.get(key(100))
	require.True(t, ok)
	assert.Equal(t, uint32(100), c)
	found := 0
	for m := range 2 * seenWays {
		if _, ok := s.get(key(m)); ok {
			found++
		}
	}
	assert.Equal(t, 2*seenWays-1, found, "one entry made way")
}

// The table stays at most half full while it may grow, and far from
// empty.
func TestSeenSetLoad(t *testing.T) {
	_, key := nidKeys()
	var s seenSet
	for i := range 100_000 {
		s.put(key(i), uint32(i))
	}
	assert.Equal(t, 100_000, s.len())
	// At most half full, and (growing early only when an identifier's
	// set and the next are both full) not much emptier than a quarter.
	size := len(s.sets) * seenWays
	assert.GreaterOrEqual(t, size, 2*100_000)
	assert.LessOrEqual(t, size, 4*100_000*2)
	for i := range 100_000 {
		_, ok := s.get(key(i))
		require.True(t, ok, i)
	}
}

// Every identifier the seen-set evicts is reported by evicted (no false
// negatives), and identifiers never put seldom are.
func TestSeenSetEvicted(t *testing.T) {
	boundSeen(t, 1<<14)
	_, key := nidKeys()
	var s seenSet
	const n = 8 * (1 << 14)
	for i := range n {
		s.put(key(i), uint32(i))
		if i == maxSeen/4 {
			assert.Nil(t, s.gone, "no filter before the first eviction")
		}
	}
	gone := 0
	for i := range n {
		if _, ok := s.get(key(i)); !ok {
			gone++
			require.True(t, s.evicted(key(i)), i)
		}
	}
	assert.Greater(t, gone, n/2)
	fp := 0
	for i := n; i < 2*n; i++ {
		if s.evicted(key(i)) {
			fp++
		}
	}
	assert.Less(t, fp, n/1000, "false positives")
}
