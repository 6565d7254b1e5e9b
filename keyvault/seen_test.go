package keyvault

import (
	"hash/maphash"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The seen-set keeps every identifier while it may grow, and at its bound
// holds maxSeen at most, most of the latest among them.
func TestSeenSet(t *testing.T) {
	defer func(n int) { maxSeen = n }(maxSeen)
	maxSeen = 1 << 14
	tx := &Tx{seenSeed: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	key := func(i int) seenKey { return tx.key("nid", synthNID(i)) }
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
