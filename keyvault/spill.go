package keyvault

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// Deferred maps ("bulk" runs).
//
// The seen-set tells a run every identifier it met itself, except those
// it evicted (its filter marks them, and sometimes a new one). So a run
// writes each batch's links to their groups at once, but keeps the
// batch's map entries, sorted, as a run in a temporary file, and sets the
// possible repeats aside. When the run must read the maps (Assign, Counts,
// Resolve, Commit) the runs are merged and inserted in key order, and the
// repeats are settled in the same merge (endBulk). Into empty maps (a
// dataset's first pseudonymisation: the common case for millions of new
// people) a B-tree that grows only at its end costs SQLite a fraction of
// one updated in batches spread over every leaf (3.65M keyed indexes:
// 2.2 s sorted against 7.2 s in batches of 65,536; see
// benchmarks/README.md); into maps that hold links, one ordered pass
// touches each leaf once instead of once a batch. From then on the run
// goes on as any other.
//
// In a domain that held links when the run began (Tx.stored), each batch
// is probed by keyed index first (settleStored): what is stored is
// checked and dropped, and the rest is new, as nothing of the run is in
// the maps yet. Once those probes would have paid for it, the run scans
// the stored keyed indexes into a filter (filter.go): from then on only
// its hits can be stored, and they are set aside until a batch's worth of
// them is probed at once (settleHits). A new
// identifier's code that a stored link has is found when the maps are
// loaded (codeTaken).
//
// The temporary file is created 0600 beside the vault (whose directory
// must be writable for SQLite's journal anyway) and unlinked at once where
// the system allows it. It holds keyed indexes, codes, link ids and the
// repeats' sealed identifiers, which the vault file holds too; never an
// identifier in clear.

// bulkMaps turns deferred maps on; tests turn it off to compare, and to
// test how a batch is written into the maps directly (as after endBulk).
var bulkMaps = true

// mergeBuffers is the memory the merge's read buffers share; maxSpillRuns
// bounds the runs (batches) a bulk run spills before it inserts them, so
// that the merge's memory does not grow with the input (1,024 batches are
// 33-67M links).
const (
	mergeBuffers = 8 << 20
	maxSpillRuns = 1024
)

// spillRun is one batch's sorted entries in the spill file.
type spillRun struct{ off, size int64 }

// spillRepeatRun is a run of n repeats set aside.
type spillRepeatRun struct {
	spillRun
	n int
}

// mapSpill is the temporary file of a bulk run's deferred map entries.
type mapSpill struct {
	f        *os.File
	name     string // to remove at close where it could not be unlinked at once
	off      int64
	idxRuns  []spillRun // records: idx, link, hash of the code (8 bytes each, little-endian)
	codeRuns []spillRun // records: code length (1 byte), code, link
	// Repeats set aside (setAside), sorted by idx, and the new links
	// found among them (loadSpill): idx, kind and code (each after a
	// length byte), sealed identifier (after a uvarint length).
	repeatRuns, freshRuns []spillRepeatRun
	buf                   []byte
}

func newMapSpill(vaultPath string) (*mapSpill, error) {
	f, err := os.CreateTemp(filepath.Dir(vaultPath), ".pseudokit-maps-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("keyvault: temporary file for the link maps: %w", err)
	}
	s := &mapSpill{f: f, name: f.Name()}
	if os.Remove(f.Name()) == nil {
		s.name = ""
	}
	return s, nil
}

func (s *mapSpill) close() {
	if s == nil || s.f == nil {
		return
	}
	s.f.Close()
	if s.name != "" {
		os.Remove(s.name)
	}
	s.f = nil
}

// write appends one run and returns where it is.
func (s *mapSpill) write(b []byte) (spillRun, error) {
	if _, err := s.f.Write(b); err != nil {
		return spillRun{}, fmt.Errorf("keyvault: temporary file for the link maps: %w", err)
	}
	r := spillRun{off: s.off, size: int64(len(b))}
	s.off += int64(len(b))
	return r, nil
}

// add spills the map entries of a batch: ps in idx order with ids
// assigned, byCode the positions of ps in code order.
func (s *mapSpill) add(ps []pendingLink, byCode []int32, hash func(code string) uint64) error {
	b := s.buf[:0]
	for i := range ps {
		b = append(b, ps[i].idx[:]...)
		b = binary.LittleEndian.AppendUint64(b, uint64(ps[i].link))
		b = binary.LittleEndian.AppendUint64(b, hash(ps[i].code))
	}
	r, err := s.write(b)
	if err != nil {
		return err
	}
	s.idxRuns = append(s.idxRuns, r)
	b = b[:0]
	for _, i := range byCode {
		p := &ps[i]
		b = append(b, byte(len(p.code)))
		b = append(b, p.code...)
		b = binary.LittleEndian.AppendUint64(b, uint64(p.link))
	}
	r, err = s.write(b)
	s.buf = b[:0]
	if err != nil {
		return err
	}
	s.codeRuns = append(s.codeRuns, r)
	return nil
}

// spillEntry is the current entry of one run during the merge: key is the
// idx or the code.
type spillEntry struct {
	key  []byte
	link int64
	hash uint64 // of the code (idx runs)
	r    *bufio.Reader
	left int64 // bytes of the run not yet read
}

// next reads the run's next entry into e; false at the run's end.
func (e *spillEntry) next(codes bool) (bool, error) {
	if e.left == 0 {
		return false, nil
	}
	n := idxLen
	if codes {
		c, err := e.r.ReadByte()
		if err != nil {
			return false, err
		}
		n = int(c)
		if n > maxCodeLen {
			return false, errors.New("damaged")
		}
		e.left--
	}
	e.key = e.key[:n]
	if _, err := io.ReadFull(e.r, e.key); err != nil {
		return false, err
	}
	var l [16]byte
	m := 16
	if codes {
		m = 8
	}
	if _, err := io.ReadFull(e.r, l[:m]); err != nil {
		return false, err
	}
	e.link = int64(binary.LittleEndian.Uint64(l[:]))
	e.hash = binary.LittleEndian.Uint64(l[8:])
	e.left -= int64(n + m)
	if e.left < 0 {
		return false, io.ErrUnexpectedEOF
	}
	return true, nil
}

// siftDown restores the order of the min-heap h from i down.
// Hand-written: container/heap's interface calls cost a quarter of the
// merge.
func siftDown[T any](h []T, i int, less func(a, b T) bool) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && less(h[r], h[l]) {
			m = r
		}
		if !less(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func entryLess(a, b *spillEntry) bool { return bytes.Compare(a.key, b.key) < 0 }

// merge calls emit with every entry of runs in key order. The entry is
// only valid during the call.
func (s *mapSpill) merge(runs []spillRun, codes bool, emit func(e *spillEntry) error) error {
	h := make([]*spillEntry, 0, len(runs))
	// The read buffers share mergeBuffers, each 4-64 KiB.
	size := min(max(mergeBuffers/max(len(runs), 1), 4<<10), 64<<10)
	for _, r := range runs {
		e := &spillEntry{key: make([]byte, 0, max(idxLen, maxCodeLen)), left: r.size,
			r: bufio.NewReaderSize(io.NewSectionReader(s.f, r.off, r.size), size)}
		ok, err := e.next(codes)
		if err != nil {
			return fmt.Errorf("keyvault: temporary file for the link maps: %w", err)
		}
		if ok {
			h = append(h, e)
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		siftDown(h, i, entryLess)
	}
	for len(h) > 0 {
		e := h[0]
		if err := emit(e); err != nil {
			return err
		}
		ok, err := e.next(codes)
		if err != nil {
			return fmt.Errorf("keyvault: temporary file for the link maps: %w", err)
		}
		if !ok {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		siftDown(h, 0, entryLess)
	}
	return nil
}

// spillBatch writes a bulk run's batch (ps in idx order, byCode its code
// order): the repeats are set aside, twins within the batch and (in a
// domain that held links) identifiers stored before the run are checked
// and dropped; the new links go to their groups, their map entries to the
// spill file.
func (t *Tx) spillBatch(ps []pendingLink, arena []byte, byCode []int32) error {
	ps, byCode = t.setAside(ps, byCode, arena, func(p *pendingLink) bool { return p.repeat }, &t.deferred, &t.deferArena)
	if t.filter != nil {
		// A hit of the stored-index filter may be stored: it waits with
		// others (settleHits), so that one ordered probe finds the stored
		// ones among many instead of each batch's few reading the whole
		// map.
		ps, byCode = t.setAside(ps, byCode, arena, func(p *pendingLink) bool { return t.filter.mayHold(&p.idx) }, &t.hits, &t.hitArena)
	}
	ps, byCode, err := t.settleRepeats(ps, byCode) // no repeats left: drops the twins only
	if err != nil {
		return err
	}
	if t.stored && t.filter == nil && len(ps) > 0 {
		if ps, byCode, err = t.settleStored(ps, byCode); err != nil {
			return err
		}
	}
	if err := t.spillNew(ps, arena, byCode); err != nil {
		return err
	}
	if len(t.hits) >= linkBatch {
		if err := t.settleHits(); err != nil {
			return err
		}
	}
	return t.bulkLimits()
}

// spillNew gives new links (ps in idx order, byCode its code order) their
// ids, spills their map entries and writes them to their groups.
func (t *Tx) spillNew(ps []pendingLink, arena []byte, byCode []int32) error {
	if len(ps) == 0 {
		return nil
	}
	if t.spill == nil {
		var err error
		if t.spill, err = newMapSpill(t.v.path); err != nil {
			return err
		}
	}
	for i := range ps {
		ps[i].link = t.nextID
		t.nextID++
	}
	if err := t.spill.add(ps, byCode, t.spillHash); err != nil {
		return err
	}
	return t.insertLinks(ps, arena)
}

// settleHits settles the hits of the stored-index filter set aside (none
// of them a repeat): sorted by idx and probed, the stored ones are checked
// and dropped (settleStored), the others are new.
func (t *Tx) settleHits() error {
	ps, arena := t.hits, t.hitArena
	defer func(all []pendingLink) {
		clear(all)
		clear(arena)
		t.hits, t.hitArena = all[:0], arena[:0]
	}(ps)
	byCode := sortBatch(ps)
	ps, byCode, err := t.settleRepeats(ps, byCode) // twins only
	if err != nil {
		return err
	}
	if ps, byCode, err = t.settleStored(ps, byCode); err != nil {
		return err
	}
	return t.spillNew(ps, arena, byCode)
}

// settleStored takes out of a bulk run's batch (in idx order, no repeats,
// no twins) the links whose identifier the domain held before the run,
// found with a probe of the keyed-index map and checked like any stored
// link (verifyStored), until the stored-index filter is loaded (filter.go;
// then spillBatch sets its hits aside). The maps hold nothing of this run
// yet, and none of the others can have been queued before in it (they
// are not repeats), so the others are new. It returns ps, still in idx
// order, and byCode for it.
func (t *Tx) settleStored(ps []pendingLink, byCode []int32) ([]pendingLink, []int32, error) {
	probed, found, err := t.dropStored(ps, func(*pendingLink) bool { return true })
	if err != nil {
		return nil, nil, err
	}
	t.probed += int64(probed)
	t.missed += int64(probed - found)
	if t.filterDue() {
		if err := t.loadFilter(); err != nil {
			return nil, nil, err
		}
	}
	if found == 0 {
		return ps, byCode, nil
	}
	ps, byCode = t.dropMarked(ps, byCode)
	return ps, byCode, nil
}

// bulkLimits keeps what a bulk run holds from growing with the input: it
// ends the run at maxSpillRuns spilled runs (the merge keeps a read
// buffer for each) and spills the repeats set aside at maxDeferred.
func (t *Tx) bulkLimits() error {
	if t.spill != nil && len(t.spill.idxRuns)+len(t.spill.repeatRuns) >= maxSpillRuns {
		return t.endBulk()
	}
	if len(t.deferred) >= maxDeferred {
		// Spilled too: once the seen-set is full, most batches have
		// repeats of evicted identifiers.
		return t.spillRepeats()
	}
	return nil
}

// maxDeferred is how many repeats a bulk run holds in memory (~200 bytes
// each) before it spills them.
var maxDeferred = 32768

// spillHash is the hash of a code that idx runs keep, so that the merge
// can check a repeat's code without the code map.
func (t *Tx) spillHash(code string) uint64 { return maphash.String(t.seenSeed[0], code) }

// spillRepeats writes the repeats set aside to the spill file as one run,
// sorted by idx.
func (t *Tx) spillRepeats() error {
	if t.spill == nil {
		var err error
		if t.spill, err = newMapSpill(t.v.path); err != nil {
			return err
		}
	}
	slices.SortFunc(t.deferred, func(a, b pendingLink) int { return bytes.Compare(a.idx[:], b.idx[:]) })
	r, err := t.spill.writeLinks(t.deferred, t.deferArena)
	if err != nil {
		return err
	}
	t.spill.repeatRuns = append(t.spill.repeatRuns, r)
	clear(t.deferred)
	clear(t.deferArena)
	t.deferred, t.deferArena = t.deferred[:0], t.deferArena[:0]
	return nil
}

// writeLinks writes queued links (with their sealed identifiers in arena)
// as one run.
func (s *mapSpill) writeLinks(ps []pendingLink, arena []byte) (spillRepeatRun, error) {
	b := s.buf[:0]
	for i := range ps {
		p := &ps[i]
		b = append(b, p.idx[:]...)
		b = append(b, byte(len(p.kind)))
		b = append(b, p.kind...)
		b = append(b, byte(len(p.code)))
		b = append(b, p.code...)
		b = binary.AppendUvarint(b, uint64(p.sealedLen))
		b = append(b, arena[p.sealedAt:p.sealedAt+p.sealedLen]...)
	}
	r, err := s.write(b)
	s.buf = b[:0]
	return spillRepeatRun{spillRun: r, n: len(ps)}, err
}

// repeatCursor reads a run of repeats one at a time.
type repeatCursor struct {
	r      *bufio.Reader
	left   int // records not yet read
	p      pendingLink
	sealed []byte
}

// next reads the run's next link into c.p and c.sealed; false at its end.
func (c *repeatCursor) next() (bool, error) {
	if c.left == 0 {
		return false, nil
	}
	c.left--
	bad := errors.New("keyvault: temporary file for the link maps: damaged")
	if _, err := io.ReadFull(c.r, c.p.idx[:]); err != nil {
		return false, bad
	}
	str := func() (string, error) {
		n, err := c.r.ReadByte()
		if err != nil {
			return "", bad
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(c.r, b); err != nil {
			return "", bad
		}
		return string(b), nil
	}
	var err error
	if c.p.kind, err = str(); err != nil {
		return false, err
	}
	if c.p.code, err = str(); err != nil {
		return false, err
	}
	n, err := binary.ReadUvarint(c.r)
	if err != nil || n > maxSealedLen {
		return false, bad
	}
	c.sealed = slices.Grow(c.sealed[:0], int(n))[:n]
	if _, err := io.ReadFull(c.r, c.sealed); err != nil {
		return false, bad
	}
	return true, nil
}

// cursor returns a reader of the run r of repeats.
func (s *mapSpill) cursor(r spillRepeatRun) *repeatCursor {
	return &repeatCursor{left: r.n, r: bufio.NewReaderSize(io.NewSectionReader(s.f, r.off, r.size), 16<<10)}
}

func cursorLess(a, b *repeatCursor) bool { return bytes.Compare(a.p.idx[:], b.p.idx[:]) < 0 }

// repeats merges the runs of repeats by idx.
type repeats struct{ h []*repeatCursor }

func (s *mapSpill) repeats(runs []spillRepeatRun) (*repeats, error) {
	rs := &repeats{}
	for _, r := range runs {
		c := s.cursor(r)
		if ok, err := c.next(); err != nil {
			return nil, err
		} else if ok {
			rs.h = append(rs.h, c)
		}
	}
	for i := len(rs.h)/2 - 1; i >= 0; i-- {
		siftDown(rs.h, i, cursorLess)
	}
	return rs, nil
}

// top returns the repeat with the smallest idx, or nil.
func (rs *repeats) top() *repeatCursor {
	if len(rs.h) == 0 {
		return nil
	}
	return rs.h[0]
}

// pop moves past the top repeat.
func (rs *repeats) pop() error {
	ok, err := rs.h[0].next()
	if err != nil {
		return err
	}
	if !ok {
		rs.h[0] = rs.h[len(rs.h)-1]
		rs.h = rs.h[:len(rs.h)-1]
	}
	siftDown(rs.h, 0, cursorLess)
	return nil
}

// readRepeats reads a run of repeats back whole.
func (s *mapSpill) readRepeats(r spillRepeatRun) ([]pendingLink, []byte, error) {
	c := s.cursor(r)
	ps := make([]pendingLink, 0, r.n)
	var arena []byte
	for {
		ok, err := c.next()
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return ps, arena, nil
		}
		p := c.p
		p.sealedAt, p.sealedLen = uint32(len(arena)), uint32(len(c.sealed))
		p.repeat = true
		arena = append(arena, c.sealed...)
		ps = append(ps, p)
	}
}

// setAside takes the links that pick selects out of a bulk run's batch,
// appending them to *dst and their sealed identifiers to *dstArena: the
// repeats (marked repeat: their identifier may have been queued before,
// and its seen entry evicted), which can only be checked against complete
// maps, so endBulk writes them, as a batch of a run that is not bulk, once
// the maps are in; and the hits of the stored-index filter (settleHits).
// Evictions are rare until the seen-set is full (at 1.25M identifiers a
// few thousand, most of them false alarms of its filter). It returns ps
// and byCode without them.
func (t *Tx) setAside(ps []pendingLink, byCode []int32, arena []byte, pick func(p *pendingLink) bool, dst *[]pendingLink, dstArena *[]byte) ([]pendingLink, []int32) {
	// One pass asks pick (a filter look-up) and moves the links; at[i] is
	// the new position of link i, or -1. Most batches set aside a few
	// links, so most links move down a few places.
	at := t.asideBuf[:0]
	kept := 0
	for i := range ps {
		p := &ps[i]
		if !pick(p) {
			at = append(at, int32(kept))
			if kept != i {
				ps[kept] = *p
			}
			kept++
			continue
		}
		at = append(at, -1)
		start := len(*dstArena)
		*dstArena = append(*dstArena, arena[p.sealedAt:p.sealedAt+p.sealedLen]...)
		*dst = append(*dst, *p)
		(*dst)[len(*dst)-1].sealedAt = uint32(start)
	}
	t.asideBuf = at[:0]
	if kept == len(ps) {
		return ps, byCode
	}
	out := byCode[:0]
	for _, i := range byCode {
		if at[i] >= 0 {
			out = append(out, at[i])
		}
	}
	return ps[:kept], out
}

// endBulk inserts the spilled map entries in key order and ends the bulk
// run: from now on links are written as in any run. Called by the writer
// whose turn it is, or with no batch being written.
//
// The repeats set aside are settled in the same pass, without a probe:
// sorted by idx, they are merged with the keyed-index entries. One whose
// identifier is there is checked by the hash of its code; the others are
// new (the seen-set's filter can take a new identifier for an evicted
// one) or stored before the run, and are written afterwards, in idx
// order, as batches of a run that is not bulk, which find and check the
// stored ones.
func (t *Tx) endBulk() error {
	if len(t.hits) > 0 {
		if err := t.settleHits(); err != nil {
			return err
		}
	}
	t.bulk, t.filter = false, nil
	s := t.spill
	if s == nil && len(t.deferred) > 0 {
		var err error
		if s, err = newMapSpill(t.v.path); err != nil {
			return err
		}
		t.spill = s
	}
	defer func() {
		s.close()
		t.spill = nil
		clear(t.args)
		t.args = t.args[:0]
	}()
	if s == nil {
		return nil
	}
	if len(t.deferred) > 0 {
		if err := t.spillRepeats(); err != nil {
			return err
		}
	}
	codes, err := t.segmentFor()
	t.oldCodes = nil
	if err != nil {
		return err
	}
	if err := t.loadSpill(s, codes); err != nil {
		return err
	}
	for _, r := range s.freshRuns {
		ps, arena, err := s.readRepeats(r)
		if err != nil {
			return err
		}
		if err := t.writeBatch(ps, arena, sortBatch(ps)); err != nil {
			return err
		}
		clear(arena)
	}
	if len(t.deferred) == 0 {
		return nil
	}
	ps, arena := t.deferred, t.deferArena
	t.deferred, t.deferArena = nil, nil
	return t.writeBatch(ps, arena, sortBatch(ps))
}

// loadChunk is up to stmtRows merged map entries on their way from the
// merge to the INSERT: two arguments a row (the key, as []byte into keys
// or as a string, and the link).
type loadChunk struct {
	args []any
	keys []byte
}

// errStopped ends a merge whose INSERTs failed.
var errStopped = errors.New("stopped")

// loadSpill inserts the spilled map entries in key order, settling the
// spilled repeats on the way (see endBulk); the new ones are left in
// t.deferred and s.freshRuns. The merge runs in a goroutine of its own,
// a few chunks ahead of the INSERTs: at the end of a run nothing else
// needs the second core.
//
// With codes, the codes it loads are checked against the domain's older
// segments: those the filter may hold are probed there at the end.
func (t *Tx) loadSpill(s *mapSpill, codes *codeFilter) error {
	rs, err := s.repeats(s.repeatRuns)
	if err != nil {
		return err
	}
	var last pendingLink // the last new repeat
	hasLast := false
	// fresh takes a repeat that is not among the spilled links.
	fresh := func(c *repeatCursor) error {
		if hasLast && last.idx == c.p.idx { // met twice, and new
			if last.code != c.p.code {
				return fmt.Errorf("%w: identifier of kind %s in domain %s", ErrConflict, c.p.kind, t.domain.info.Name)
			}
			return nil
		}
		last, hasLast = c.p, true
		p := c.p
		p.sealedAt, p.sealedLen = uint32(len(t.deferArena)), uint32(len(c.sealed))
		t.deferArena = append(t.deferArena, c.sealed...)
		t.deferred = append(t.deferred, p)
		if len(t.deferred) < maxDeferred {
			return nil
		}
		r, err := s.writeLinks(t.deferred, t.deferArena)
		if err != nil {
			return err
		}
		s.freshRuns = append(s.freshRuns, r)
		clear(t.deferred)
		clear(t.deferArena)
		t.deferred, t.deferArena = t.deferred[:0], t.deferArena[:0]
		return nil
	}
	// settle takes the repeats whose idx is below key (new) or equal to it
	// (the spilled link of hash; nil key: every repeat left).
	settle := func(key []byte, hash uint64) error {
		for c := rs.top(); c != nil; c = rs.top() {
			cmp := -1
			if key != nil {
				cmp = bytes.Compare(c.p.idx[:], key)
			}
			if cmp > 0 {
				return nil
			}
			if cmp == 0 {
				if t.spillHash(c.p.code) != hash {
					return fmt.Errorf("%w: identifier of kind %s in domain %s", ErrConflict, c.p.kind, t.domain.info.Name)
				}
			} else if err := fresh(c); err != nil {
				return err
			}
			if err := rs.pop(); err != nil {
				return err
			}
		}
		return nil
	}
	for _, m := range []struct {
		runs  []spillRun
		codes bool
		kind  int
	}{{s.idxRuns, false, insIdxSQL}, {s.codeRuns, true, insCodeSQL}} {
		const nChunks = 4
		free := make(chan *loadChunk, nChunks)
		full := make(chan *loadChunk, nChunks)
		for range nChunks {
			free <- &loadChunk{args: make([]any, 0, 2*stmtRows), keys: make([]byte, 0, stmtRows*idxLen)}
		}
		stop := make(chan struct{})
		var merr error
		var suspects []pendingLink // codes the filter may hold, in code order
		go func() {
			defer close(full)
			c := <-free
			send := func() error {
				select {
				case full <- c:
				case <-stop:
					return errStopped
				}
				select {
				case c = <-free:
					return nil
				case <-stop:
					return errStopped
				}
			}
			prev := make([]byte, 0, maxCodeLen)
			first := true
			merr = s.merge(m.runs, m.codes, func(e *spillEntry) error {
				key := e.key
				if !first && bytes.Equal(key, prev) {
					// The merge meets equal keys one after the other.
					if m.codes {
						return fmt.Errorf("%w: code %s in domain %s", ErrCodeTaken, key, t.domain.info.Name)
					}
					return corruptf("an identifier of domain %s was queued twice", t.domain.info.Name)
				}
				first = false
				prev = append(prev[:0], key...)
				if m.codes {
					code := string(key)
					c.args = append(c.args, code, e.link)
					if codes != nil && codes.mayHold(code) {
						suspects = append(suspects, pendingLink{code: code, link: e.link})
					}
				} else {
					if err := settle(key, e.hash); err != nil {
						return err
					}
					start := len(c.keys)
					c.keys = append(c.keys, key...)
					c.args = append(c.args, c.keys[start:len(c.keys):len(c.keys)], e.link)
				}
				if len(c.args) == 2*stmtRows {
					return send()
				}
				return nil
			})
			if merr == nil && len(c.args) > 0 {
				merr = send()
			}
			if merr == nil && !m.codes {
				merr = settle(nil, 0)
			}
		}()
		var ierr error
		for c := range full {
			if ierr == nil {
				if ierr = t.insertChunk(m.kind, c.args); ierr != nil {
					close(stop)
				}
			}
			clear(c.args)
			c.args, c.keys = c.args[:0], c.keys[:0]
			free <- c // never blocks: there are nChunks chunks
		}
		if ierr != nil {
			return ierr
		}
		if merr != nil {
			return merr
		}
		if err := t.checkOldCodes(suspects); err != nil {
			return err
		}
	}
	return nil
}

// codeTaken finds the code of args (code and link pairs, in code order)
// that the code map gives another link, for an INSERT that skipped a row:
// ErrCodeTaken naming it.
func (t *Tx) codeTaken(args []any) error {
	ps := make([]pendingLink, len(args)/2)
	for i := range ps {
		ps[i].code, ps[i].want = args[2*i].(string), args[2*i+1].(int64)
	}
	return t.takenCode(ps)
}

// insertChunk inserts the rows of args (two arguments each) into a map
// with multi-row statements.
func (t *Tx) insertChunk(kind int, args []any) error {
	n := len(args) / 2
	for done := 0; done < n; {
		c := chunk(n - done)
		st, err := t.stmt(kind, c)
		if err != nil {
			return err
		}
		got, err := st.ExecContext(t.ctx, args[2*done:2*(done+c)]...)
		if err != nil {
			return t.fail(err)
		}
		if m, err := got.RowsAffected(); err != nil {
			return t.fail(err)
		} else if int(m) != c {
			// Keys are unique within the run (checked in the merge), and
			// its identifiers were not stored before (settleStored); but
			// a stored link may have a new identifier's code.
			if kind == insCodeSQL {
				return t.codeTaken(args[2*done : 2*(done+c)])
			}
			return corruptf("a map of domain %s refused a new entry", t.domain.info.Name)
		}
		done += c
	}
	return nil
}
