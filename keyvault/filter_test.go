package keyvault

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
)

// testIdx is a keyed-index-like value (a SHA-256 output) for i in set s.
func testIdx(s byte, i int) [idxLen]byte {
	var b [9]byte
	b[0] = s
	binary.LittleEndian.PutUint64(b[1:], uint64(i))
	return sha256.Sum256(b[:])
}

func TestStoredFilter(t *testing.T) {
	for _, tt := range []struct {
		n      int     // indexes added
		sizeN  int64   // sized for
		maxFPR float64 // of indexes not added
	}{
		{0, 0, 0},
		{1, 1, 0.05},
		{100_000, 100_000, 0.012}, // 12 bits an index: ~0.5 %
		{100_000, 25_000, 0.7},    // 3 bits an index: many false hits, never a miss
	} {
		f := newStoredFilter(tt.sizeN)
		assert.Equal(t, max((max(tt.sizeN, 1)*filterBits+255)/256, 1), int64(len(f.blocks)))
		for i := range tt.n {
			idx := testIdx(1, i)
			f.add(&idx)
		}
		for i := range tt.n {
			idx := testIdx(1, i)
			if !f.mayHold(&idx) {
				t.Fatalf("n=%d: index %d added but not held", tt.n, i)
			}
		}
		const others = 100_000
		fp := 0
		for i := range others {
			idx := testIdx(2, i)
			if f.mayHold(&idx) {
				fp++
			}
		}
		t.Logf("n=%d sized for %d: %.4f false hits", tt.n, tt.sizeN, float64(fp)/others)
		assert.LessOrEqual(t, float64(fp)/others, tt.maxFPR, "n=%d sized for %d: false hits", tt.n, tt.sizeN)
		if tt.n == 0 {
			assert.Zero(t, fp, "an empty filter holds nothing")
		}
	}
	assert.Len(t, newStoredFilter(1<<40).blocks, maxFilterBytes/32, "size bounded")
}
