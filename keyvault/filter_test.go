package keyvault

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// TestFilterByProgress: a caller's Progress lets a bulk run into a domain
// that holds links scan it into the filter after its first batch, when
// the misses the whole run is expected to make pay for the scan, and
// only then.
func TestFilterByProgress(t *testing.T) {
	const stored = 3000 // the scan is due after stored/filterRatio = 600 misses
	for _, tt := range []struct {
		name   string
		share  float64 // Progress before the run (0: none)
		rerun  bool    // link the stored identifiers again (no misses)
		filter bool    // after two batches of 16
	}{
		{"no progress: probes until they pay", 0, false, false},
		{"a long run of new identifiers", 0.01, false, true},
		{"a short run", 0.9, false, false},
		{"a long re-run: nothing missed", 0.01, true, false},
		{"share out of range ignored", 1.5, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			smallBatches(t, 16)
			v, _ := newVault(t)
			tx, err := v.Begin(t.Context(), "default")
			require.NoError(t, err)
			for p := range stored {
				require.NoError(t, tx.Link("nid", synthNID(p), testCode('K', p)))
			}
			commit(t, tx)
			tx, err = v.Begin(t.Context(), "default")
			require.NoError(t, err)
			require.True(t, tx.bulk && tx.stored)
			tx.Progress(tt.share)
			for j := range 32 {
				p := stored + j
				if tt.rerun {
					p = j * 50
				}
				require.NoError(t, tx.Link("nid", synthNID(p), testCode('K', p)))
			}
			waitWritten(tx)
			assert.Equal(t, tt.filter, tx.filter != nil)
			newLinks, existing := tx.Counts()
			if tt.rerun {
				assert.Equal(t, [2]int{0, 32}, [2]int{newLinks, existing})
			} else {
				assert.Equal(t, [2]int{32, 0}, [2]int{newLinks, existing})
			}
			commit(t, tx)
		})
	}
}
