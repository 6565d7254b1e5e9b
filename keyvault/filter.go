package keyvault

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"math/bits"
)

// The stored-index filter of a bulk run into a domain that holds links.
//
// Such a run probes each batch for identifiers stored before it
// (settleStored). Where the domain's keyed-index map is larger than
// SQLite's page cache, every batch reads the whole map back, and most
// probes find nothing: 1.17M new identifiers into a domain of 1.25M links
// spent 2.4 of 12.8 CPU s in probes (2026-12-03, AMD EPYC), ~1.9 µs an
// identifier. One ordered scan of the map costs ~0.35 µs a stored link;
// a filter built from it answers "not stored" for nearly every new
// identifier. Its hits (the stored identifiers, and ~0.5 % of the others)
// are set aside (spillBatch) until there are a batch's worth, then probed
// together in idx order (settleHits), so that the map is read once for
// as many as a batch, not once a batch for a few thousand.
//
// The scan is bought like skis rented: only once the probes that found
// nothing would have paid for it (missed >= stored links / filterRatio),
// so that a small run into a large domain never scans it, and a large
// one pays at most about twice the better of the two. A caller that tells
// how much of its input it has read (Tx.Progress) lets a large run buy
// at once: when the links it is expected to hand over, at the share of
// them the probes so far did not find, would pay for the scan. The
// share read is the reader's, ahead of what was linked, so the run is
// expected shorter than it is and a small one still never pays: 1.17M
// new identifiers into 1.25M stored links no longer probe ~250,000 of
// them one batch at a time before the scan (1.0 of 14.4 CPU s in a
// profile, 2026-12-03).

// filterRatio is how many probes that find nothing cost as much as
// scanning one stored link (1.9 / 0.35 µs, rounded down to favour the
// scan a little). Tests set it to 0 (no filter) or to math.MaxInt64 (a
// filter after the first batch).
var filterRatio int64 = 5

// Filter size: filterBits bits a stored link (about 0.5 % false hits for
// a split-block filter), at most maxFilterBytes (11M links at full
// precision; a larger domain gets more false hits, hence more probes,
// never a wrong answer).
const (
	filterBits     = 12
	maxFilterBytes = 16 << 20
)

// storedFilter is a split-block Bloom filter (the layout of Parquet's
// bloom filters) of keyed indexes: a 256-bit block chosen by the index,
// one bit set in each of its eight words. Keyed indexes are HMAC outputs,
// so their bytes serve as the hash. It has no false negatives: an index
// it does not hold was not added.
type storedFilter struct{ blocks [][8]uint32 }

// filterSalts spread a key over the eight words of a block (Parquet's
// constants).
var filterSalts = [8]uint32{0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d, 0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31}

// newStoredFilter returns an empty filter sized for n indexes.
func newStoredFilter(n int64) *storedFilter {
	blocks := (max(n, 1)*filterBits + 255) / 256
	blocks = min(blocks, maxFilterBytes/32)
	return &storedFilter{blocks: make([][8]uint32, blocks)}
}

// keyOf returns what picks idx's block and the bits in it: keyed indexes
// are HMAC outputs, so their bytes serve as the hash.
func keyOf(idx *[idxLen]byte) (uint64, uint32) {
	return binary.LittleEndian.Uint64(idx[:8]), uint32(binary.LittleEndian.Uint64(idx[8:16]))
}

func (f *storedFilter) add(idx *[idxLen]byte) { f.addKey(keyOf(idx)) }

// mayHold reports whether idx may have been added; false is certain.
func (f *storedFilter) mayHold(idx *[idxLen]byte) bool { return f.mayHoldKey(keyOf(idx)) }

// addKey adds a key given as a hash h, which picks the block, and key,
// which picks a bit in each of its words.
func (f *storedFilter) addKey(h uint64, key uint32) {
	b := f.block(h)
	for i, s := range filterSalts {
		b[i] |= 1 << ((key * s) >> 27)
	}
}

// mayHoldKey reports whether a key added as addKey(h, key) may have been
// added; false is certain.
func (f *storedFilter) mayHoldKey(h uint64, key uint32) bool {
	b := f.block(h)
	for i, s := range filterSalts {
		if b[i]&(1<<((key*s)>>27)) == 0 {
			return false
		}
	}
	return true
}

func (f *storedFilter) block(h uint64) *[8]uint32 {
	hi, _ := bits.Mul64(h, uint64(len(f.blocks)))
	return &f.blocks[hi]
}

// filterDue reports whether a bulk run into a domain that held links
// should scan the domain's keyed indexes into a filter now. The links of
// the whole vault (firstID-1) bound the domain's.
func (t *Tx) filterDue() bool {
	if t.filter != nil {
		return false
	}
	if filterRatio <= 0 {
		return false
	}
	due := (t.firstID - 1) / filterRatio
	if t.missed >= due {
		return true
	}
	// The misses the whole run is expected to make, at the rate so far.
	exp := t.expected.Load()
	return t.probed > 0 && exp > 0 && float64(exp)*float64(t.missed)/float64(t.probed) >= float64(due)
}

// Progress tells the transaction what share of its input (0 to 1) the
// caller has read, so that it can plan for the links still to come (see
// the stored-index filter, filter.go). It is a hint: a run without it
// does the same work, decided from what it has seen so far. Give the
// share read, not the share linked: ahead of what was linked, it makes
// the run look shorter than it is, which errs on the safe side. Safe for
// concurrent use.
func (t *Tx) Progress(share float64) {
	if share > 0 && share <= 1 {
		t.share.Store(math.Float64bits(share))
	}
}

// loadFilter builds t.filter of the keyed indexes the domain held when
// the run began. A run that pays for it will most likely load enough new
// links for a segment of their own, whose codes must then be checked
// against the stored ones: their filter (t.oldCodes) is built in the
// same scan, while the run's other goroutines keep the second core
// busy, rather than at its end, when nothing else runs.
func (t *Tx) loadFilter() error {
	var err error
	t.filter, t.oldCodes, err = t.scanStored(true, len(t.segs) < maxSegments)
	return err
}

// scanStored returns filters of the keyed indexes and of the codes of the
// links the domain held when the transaction began (those asked for).
//
// It reads them from the links' groups (ids below firstID), not from the
// maps: a group holds 64 links, so the scan costs SQLite a row per 64
// links instead of one per link and map. At 1.25M stored links,
// 2026-12-03: 0.34-0.40 s for both filters, against 0.39-0.43 s for the
// keyed-index map alone and as much again for the code map. Verify
// checks that the maps hold exactly the groups' links.
func (t *Tx) scanStored(idx, codes bool) (*storedFilter, *codeFilter, error) {
	var f *storedFilter
	var c *codeFilter
	if idx {
		f = newStoredFilter(t.firstID - 1)
	}
	if codes {
		c = &codeFilter{f: newStoredFilter(t.firstID - 1), seed: maphash.MakeSeed()}
	}
	if t.firstID <= 1 {
		return f, c, nil
	}
	err := eachLinkTo(t.ctx, t.tx, groupOf(t.firstID-1), func(r *linkRec) error {
		if r.domain != t.domain.id || r.id >= t.firstID {
			return nil
		}
		if f != nil {
			f.add((*[idxLen]byte)(r.idx))
		}
		if c != nil {
			c.add(r.code)
		}
		return nil
	})
	if err != nil {
		return nil, nil, t.fail(err)
	}
	return f, c, nil
}
