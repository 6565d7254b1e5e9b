package keyvault

import (
	"bytes"
	"cmp"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
)

// linkBatch is how many new links Tx.Link queues before it writes them with
// multi-row statements of at most stmtRows rows. Each batch walks each of
// the three trees in its own order (see writePending): the larger the
// batch, the more links share each page read and written, but a batch
// costs about 150 bytes a link while it is queued (another batch fills
// while one is written), and that heap is what the garbage collector
// works against under the process's memory limit. 1M rows from 1M persons
// (~1.25M new links): 11.3-11.6 s with 65,536, 9.7-9.9 s with 32,768,
// 10.5-10.8 s with 16,384; 3M rows from 3M persons: 69.7 s with 65,536,
// 63.5 s with 32,768. A variable only so that tests can exercise batch
// boundaries.
var linkBatch = 32768

// bigVault is the number of links in the vault (all domains: the maps are
// one tree each) from which a batch is twice linkBatch. In a larger tree a
// batch has fewer links on each leaf page it reads and writes, so a batch
// of the same size costs more page reads a link; twice the links share
// them again. All batches at 65,536 (2026-12-02, AMD EPYC, 2 cores, runs
// in turn): at 3M persons (3.65M links) 40.0 s against 44.1 s, but at 1M
// persons (1.25M links) 9.48-9.55 s against 9.02-9.26 s; so a vault
// stays at linkBatch until it holds 2M links. With that rule, at 3M
// persons: 41.7-43.3 s against 43.8-47.6 s, system CPU (SQLite reading
// pages) 11.5-11.6 s against 13.7-14.4 s, peak RSS 235 against 223 MB.
// A variable only for tests.
var bigVault int64 = 2_000_000

// batchLen returns how many links the batch being queued takes. Called
// with t.mu held.
func (t *Tx) batchLen() int {
	if t.firstID-1+t.handedLinks >= bigVault {
		return 2 * linkBatch
	}
	return linkBatch
}

// stmtRows is the most rows one INSERT or probe statement takes.
const stmtRows = 256

// queue records a link to be written with the next batch, with its sealed
// identifier. Called with t.mu held, for an identifier that is neither in
// t.seen nor withdrawn.
func (t *Tx) queue(idx [idxLen]byte, sk seenKey, kind, code string, sealed []byte, repeat bool) error {
	start := len(t.arena)
	t.arena = append(t.arena, sealed...)
	t.pend = append(t.pend, pendingLink{idx: idx, kind: kind, code: code, sealedAt: uint32(start), sealedLen: uint32(len(t.arena) - start), repeat: repeat})
	// A repeat of an identifier whose entry was evicted is queued again,
	// perhaps in the same batch, marked repeat: settleRepeats finds it in
	// the map, or next to its twin, and checks it like any stored link.
	t.remember(sk, code)
	if len(t.pend) < t.batchLen() {
		return nil
	}
	// One batch may be sorted while the one before it is written.
	for t.writing >= 2 && t.err == nil {
		t.written.Wait()
	}
	if t.err != nil {
		return t.err
	}
	// While this call waited, another may have handed the batch over.
	if len(t.pend) >= t.batchLen() {
		t.startWrite()
	}
	return nil
}

// startWrite hands the queued links to a goroutine that writes them, so
// that the callers of Link (the pseudo workers) go on while SQLite works
// instead of waiting for t.mu. The goroutine first sorts the batch, which
// needs nothing of the transaction, while the batch before it may still
// be written; then it waits for its turn: batches are written one at a
// time, in the order they were handed over. Called with t.mu held, with
// fewer than two batches handed over and not written.
//
// Sorting apart from writing (2026-12-02, AMD EPYC, 2 cores, runs in
// turn): 1M rows from 1M persons (1,248,048 new links), where the writing
// goroutine is the run's critical path, 11.1-11.9 -> 10.5-11.1 s wall;
// BenchmarkLinkInsert at 1M links 109-128k -> 124-152k links/s. The
// code order is a permutation sorted there too, and the ids, given in
// idx order, need no sort.
func (t *Tx) startWrite() {
	batch, arena := t.pend, t.arena
	t.pend, t.arena = nil, nil
	if n := len(t.spares); n > 0 {
		t.pend, t.arena = t.spares[n-1].pend, t.spares[n-1].arena
		t.spares[n-1] = spare{}
		t.spares = t.spares[:n-1]
	}
	t.writing++
	t.handedLinks += int64(len(batch))
	if share := math.Float64frombits(t.share.Load()); share > 0 && share <= 1 {
		t.expected.Store(int64(float64(t.handedLinks) / share))
	}
	seq := t.handed
	t.handed++
	go func() {
		byCode := sortBatch(batch)
		t.mu.Lock()
		for t.turn != seq {
			t.written.Wait()
		}
		failed := t.err != nil
		t.mu.Unlock()
		// Only the goroutine whose turn it is uses the statement caches,
		// counts and buffers of writePending; everyone else waits
		// (t.wait) before touching them or t.tx.
		var err error
		if !failed {
			err = t.writePending(batch, arena, byCode)
		}
		clear(arena)
		clear(batch)
		t.mu.Lock()
		defer t.mu.Unlock()
		t.turn++
		t.writing--
		// Up to two batches are written while a third fills: keeping
		// their buffers saves allocating (and faulting in) ~10 MB a
		// batch anew.
		if len(t.spares) < 2 {
			t.spares = append(t.spares, spare{batch[:0], arena[:0]})
		}
		if err != nil && t.err == nil {
			t.err = err
		}
		t.written.Broadcast()
	}()
}

// sortBatch sorts a batch by keyed index and returns the positions of its
// links in code order.
//
// It sorts 16-byte keys (a position and the first 8 bytes of the key, as a
// big-endian number) rather than the links themselves, then moves each
// link once: a comparison is one integer compare but for ties, and no link
// (96 bytes) is swapped O(log n) times. 2026-12-03 (AMD EPYC, 2 cores),
// BenchmarkSortBatch at 32768 links: 553-558 -> 265-297 ns a link, and
// BenchmarkLinkInsert at 1M links 302-388k -> 368-415k links/s (3 pairs).
// A radix sort of the keys took 87-107 ns a link but nothing measurable
// off BenchmarkLinkInsert or a 3M-person run (3 pairs each): not kept.
func sortBatch(ps []pendingLink) []int32 {
	keys := make([]sortKey, len(ps))
	for i := range ps {
		keys[i] = sortKey{binary.BigEndian.Uint64(ps[i].idx[:8]), int32(i)}
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if a.k != b.k {
			return cmp.Compare(a.k, b.k)
		}
		return bytes.Compare(ps[a.i].idx[:], ps[b.i].idx[:])
	})
	// Move link keys[j].i to j, one cycle of the permutation at a time.
	for j := range keys {
		if keys[j].i < 0 || int(keys[j].i) == j {
			continue
		}
		tmp := ps[j]
		k := j
		for {
			src := int(keys[k].i)
			keys[k].i = -1
			if src == j {
				ps[k] = tmp
				break
			}
			ps[k] = ps[src]
			k = src
		}
	}
	for i := range ps {
		keys[i] = sortKey{prefix8(ps[i].code), int32(i)}
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if a.k != b.k {
			return cmp.Compare(a.k, b.k)
		}
		return strings.Compare(ps[a.i].code, ps[b.i].code)
	})
	byCode := make([]int32, len(ps))
	for j, k := range keys {
		byCode[j] = k.i
	}
	return byCode
}

// sortKey is a link's position in its batch and the first 8 bytes of its
// sort key.
type sortKey struct {
	k uint64
	i int32
}

// prefix8 returns the first 8 bytes of s as a big-endian number, padded
// with zero bytes: prefix8(a) < prefix8(b) implies a < b, and equal
// prefixes leave the order to a full comparison.
func prefix8(s string) uint64 {
	var b [8]byte
	copy(b[:], s)
	return binary.BigEndian.Uint64(b[:])
}

// wait waits until every batch handed over is written and returns the
// error that failed the transaction, if any. Called with t.mu held
// (released while waiting).
func (t *Tx) wait() error {
	for t.writing > 0 {
		t.written.Wait()
	}
	return t.err
}

// flush writes the queued links and waits until they are written. An
// error fails the transaction: every later call returns it, and Commit
// rolls back. Called with t.mu held.
func (t *Tx) flush() error {
	if err := t.wait(); err != nil {
		return err
	}
	if len(t.pend) > 0 {
		t.startWrite()
		if err := t.wait(); err != nil {
			return err
		}
	}
	if t.bulk {
		// Whoever flushes is about to read the maps.
		if err := t.endBulk(); err != nil {
			t.err = err
			return err
		}
	}
	return nil
}

// writePending inserts the queued links, or verifies them where the vault
// already has them, and updates the counts. It inserts first while most
// links of the run were new (a first run) and probes first while most
// already existed (a re-run): each order saves a statement in its common
// case.
//
// Each of the three trees is written in its own order: the keyed-index
// map in idx order (which also assigns the new links' ids, so ids follow
// it), the code map in code order, and the rows of links in id order,
// which appends them. So every tree is walked front to back once a batch,
// and a page SQLite reads serves the many links of the batch that fall on
// it.
//
// ps comes sorted by idx, and byCode gives the positions of its links in
// code order (sortBatch).
func (t *Tx) writePending(ps []pendingLink, arena []byte, byCode []int32) error {
	if t.bulk {
		return t.spillBatch(ps, arena, byCode)
	}
	return t.writeBatch(ps, arena, byCode)
}

// writeBatch is writePending outside a bulk run.
func (t *Tx) writeBatch(ps []pendingLink, arena []byte, byCode []int32) error {
	probeFirst, err := t.probeFirst(ps)
	if err != nil {
		return err
	}
	// The maps' keys are unique within one segment only: in a domain of
	// several, what is stored must be found before anything is inserted
	// into the newest.
	probeFirst = probeFirst || len(t.segs) > 1
	if probeFirst {
		if err := t.probe(ps, probeIdxSQL); err != nil {
			return err
		}
		found, missing := split(ps, func(p *pendingLink) bool { return p.found })
		if err := t.verifyStored(found); err != nil {
			return err
		}
		ps = missing
		if len(ps) == 0 {
			return nil
		}
		// split keeps the order: ps is still in idx order, but the
		// positions in byCode are gone.
		byCode = nil
	} else if ps, byCode, err = t.settleRepeats(ps, byCode); err != nil || len(ps) == 0 {
		return err
	}
	for i := range ps {
		ps[i].link = t.nextID
		t.nextID++
	}
	if err := t.insertIndex(ps); err != nil {
		return err
	}
	// The links not in the map afterwards: the identifier is there
	// already (an existing link, a repeat whose seen entry was evicted,
	// or a conflict).
	codes := t.codeBuf[:0]
	for _, i := range byCode {
		if ps[i].inserted {
			codes = append(codes, ps[i])
		}
	}
	ins, left := split(ps, func(p *pendingLink) bool { return p.inserted })
	if len(ins) > 0 {
		if byCode == nil {
			codes = append(codes, ins...)
			slices.SortFunc(codes, func(a, b pendingLink) int { return strings.Compare(a.code, b.code) })
		}
		err := t.checkOldCodes(codes)
		if err == nil {
			err = t.insertCodes(codes)
		}
		clear(codes)
		t.codeBuf = codes[:0]
		if err != nil {
			return err
		}
		// ins is in idx order, in which the ids were given: in id order.
		if err := t.insertLinks(ins, arena); err != nil {
			return err
		}
	}
	if len(left) == 0 {
		return nil
	}
	// split kept left in idx order.
	if err := t.probe(left, probeIdxSQL); err != nil {
		return err
	}
	for i := range left {
		if !left[i].found {
			return corruptf("link %s in domain %s was refused, but its identifier is not in the index", left[i].code, t.domain.info.Name)
		}
	}
	return t.verifyStored(left)
}

// settleRepeats takes out of ps, before anything is inserted, the links
// whose identifier is already stored or queued earlier in the batch, so
// that the INSERT of the others skips no row and needs neither a probe nor
// RETURNING (see insertIndex). Only a repeat of an identifier met earlier
// in the transaction can be one, and only if its seen entry was evicted
// (repeat). Those stored are found with a probe and checked like any
// stored link (verifyStored); a link met twice in the batch is next to
// its twin (ps is in idx order) and must have its code. A repeat sent to
// the INSERT made every later statement of the batch an INSERT ...
// RETURNING and a probe. It returns ps, still in idx order, and byCode
// for it.
func (t *Tx) settleRepeats(ps []pendingLink, byCode []int32) ([]pendingLink, []int32, error) {
	drops := 0
	for i := 1; i < len(ps); i++ {
		if ps[i].idx == ps[i-1].idx {
			if ps[i].code != ps[i-1].code {
				return nil, nil, fmt.Errorf("%w: identifier of kind %s in domain %s", ErrConflict, ps[i].kind, t.domain.info.Name)
			}
			ps[i].drop = true
			drops++
		}
	}
	_, found, err := t.dropStored(ps, func(p *pendingLink) bool { return p.repeat && !p.drop })
	if err != nil {
		return nil, nil, err
	}
	drops += found
	if drops == 0 {
		return ps, byCode, nil
	}
	ps, byCode = t.dropMarked(ps, byCode)
	return ps, byCode, nil
}

// dropStored probes the links of ps (in idx order) that pick selects,
// marks those found drop and checks them like any stored link
// (verifyStored). It returns how many it probed and found.
func (t *Tx) dropStored(ps []pendingLink, pick func(p *pendingLink) bool) (probed, found int, err error) {
	// The links to probe, as copies (verifyStored sorts what it checks),
	// and their positions in ps; a subsequence of ps, so in idx order.
	cand, pos := t.repeatBuf[:0], t.posBuf[:0]
	for i := range ps {
		if pick(&ps[i]) {
			cand = append(cand, ps[i])
			pos = append(pos, int32(i))
		}
	}
	defer func() {
		clear(cand)
		t.repeatBuf, t.posBuf = cand[:0], pos[:0]
	}()
	if len(cand) == 0 {
		return 0, 0, nil
	}
	if err := t.probe(cand, probeIdxSQL); err != nil {
		return 0, 0, err
	}
	stored := cand[:0]
	for j := range cand {
		if cand[j].found {
			ps[pos[j]].drop = true
			stored = append(stored, cand[j])
		}
	}
	return len(cand), len(stored), t.verifyStored(stored)
}

// dropMarked takes the links marked drop out of ps, and out of byCode,
// whose positions move. ps keeps its order.
func (t *Tx) dropMarked(ps []pendingLink, byCode []int32) ([]pendingLink, []int32) {
	// at[i] is the new position of link i (how many stay before it), or -1.
	at := slices.Grow(t.posBuf[:0], len(ps))[:len(ps)]
	defer func() { t.posBuf = at[:0] }()
	n := 0
	for i := range ps {
		at[i] = -1
		if !ps[i].drop {
			at[i] = int32(n)
			ps[n] = ps[i]
			n++
		}
	}
	kept := byCode[:0]
	for _, i := range byCode {
		if at[i] >= 0 {
			kept = append(kept, at[i])
		}
	}
	return ps[:n], kept
}

// split partitions ps in place, stably, into the links for which keep
// is true and the others (usually few: it copies them aside).
func split(ps []pendingLink, keep func(*pendingLink) bool) (yes, no []pendingLink) {
	var others []pendingLink
	n := 0
	for i := range ps {
		if keep(&ps[i]) {
			ps[n] = ps[i]
			n++
		} else {
			others = append(others, ps[i])
		}
	}
	copy(ps[n:], others)
	return ps[:n], ps[n:]
}

// verifyStored checks queued links whose identifier the keyed-index map
// has (found, link set by a probe by idx): the identifier's stored code
// must be the queued one, which holds exactly when the code map sends the
// queued code to the same link. A link older than the transaction counts
// as existing. A withdrawn link (negated id in the map) is damage here:
// Link refused every identifier with a tombstone, and Withdraw gives each
// withdrawn link one.
func (t *Tx) verifyStored(ps []pendingLink) error {
	if len(ps) == 0 {
		return nil
	}
	for i := range ps {
		if ps[i].link < 0 {
			return fmt.Errorf("%w: %w: withdrawn link of kind %s in domain %s has no tombstone", ErrCorrupt, ErrWithdrawn, ps[i].kind, t.domain.info.Name)
		}
	}
	// Remember each one's link by identifier before the probe by code
	// overwrites it; ps is sorted by code for that probe.
	for i := range ps {
		ps[i].want = ps[i].link
	}
	slices.SortFunc(ps, func(a, b pendingLink) int { return strings.Compare(a.code, b.code) })
	if err := t.probe(ps, probeCodeSQL); err != nil {
		return err
	}
	for i := range ps {
		p := &ps[i]
		if !p.found || p.link != p.want {
			return fmt.Errorf("%w: identifier of kind %s in domain %s", ErrConflict, p.kind, t.domain.info.Name)
		}
		t.met(p.link)
	}
	return nil
}

// probeFirst tells whether most links of ps are likely stored already. It
// goes by the counts of the batches written before; for the first batch of
// the run it probes one statement's worth (a random sample: keyed indexes
// are random and ps is in idx order, so the first rows are as good as
// any), so that a re-run does not start with a whole batch of inserts that
// all skip.
func (t *Tx) probeFirst(ps []pendingLink) (bool, error) {
	if t.existing+t.newLinks > 0 || len(ps) <= stmtRows {
		return t.existing > t.newLinks, nil
	}
	sample := ps[:stmtRows]
	if err := t.probe(sample, probeIdxSQL); err != nil {
		return false, err
	}
	found := 0
	for i := range sample {
		if sample[i].found {
			found++
		}
	}
	return 2*found > len(sample), nil
}

// chunk returns how many of n rows the next statement takes: the largest
// power of two that is at most n, linkBatch and stmtRows, so that a few
// prepared statements serve every size.
func chunk(n int) int {
	c := 1
	for c*2 <= n && c*2 <= linkBatch && c*2 <= stmtRows {
		c *= 2
	}
	return c
}

// each runs a statement for ps in chunks: kind tells which (asked anew for
// every chunk), args appends one row's arguments to t.args, and run
// executes the statement on them.
func (t *Tx) each(ps []pendingLink, kind func() int, args func(p *pendingLink), run func(st *sql.Stmt, ps []pendingLink) error) error {
	for len(ps) > 0 {
		c := chunk(len(ps))
		st, err := t.stmt(kind(), c)
		if err != nil {
			return err
		}
		t.args = t.args[:0]
		for i := range ps[:c] {
			args(&ps[i])
		}
		err = run(st, ps[:c])
		clear(t.args)
		if err != nil {
			return err
		}
		ps = ps[c:]
	}
	return nil
}

func always(kind int) func() int { return func() int { return kind } }

// insertIndex inserts the keyed-index map entries of ps (sorted by idx,
// link ids assigned) with multi-row statements, setting inserted; entries
// whose identifier is already in the domain are skipped (OR IGNORE). After
// a statement that skipped rows it asks (RETURNING) which rows were
// inserted, so that only the others need a probe; otherwise it does not,
// as that costs more than a plain INSERT.
func (t *Tx) insertIndex(ps []pendingLink) error {
	kind := func() int {
		if t.skipped {
			return insIdxRetSQL
		}
		return insIdxSQL
	}
	return t.each(ps, kind, func(p *pendingLink) {
		p.inserted = false
		t.args = append(t.args, p.idx[:], p.link)
	}, func(st *sql.Stmt, ps []pendingLink) error {
		if t.skipped {
			return t.insertReturning(st, ps)
		}
		return t.insertPlain(st, ps)
	})
}

// insertPlain runs a multi-row INSERT into the keyed-index map; if it
// skipped a row, a probe tells which entries are the ones it inserted
// (they point to the ids just assigned).
func (t *Tx) insertPlain(st *sql.Stmt, ps []pendingLink) error {
	n, err := t.exec(st)
	if err != nil {
		return err
	}
	if n < len(ps) {
		t.skipped = true
		for i := range ps {
			ps[i].want = ps[i].link
		}
		if err := t.probe(ps, probeIdxSQL); err != nil {
			return err
		}
		for i := range ps {
			ps[i].inserted = ps[i].found && ps[i].link == ps[i].want
			ps[i].link = ps[i].want
		}
		return nil
	}
	for i := range ps {
		ps[i].inserted = true
	}
	return nil
}

// exec runs st with t.args and returns how many rows it changed.
func (t *Tx) exec(st *sql.Stmt) (int, error) {
	res, err := st.ExecContext(t.ctx, t.args...)
	if err != nil {
		return 0, t.fail(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, t.fail(err)
	}
	return int(n), nil
}

// insertReturning runs a multi-row INSERT ... RETURNING link into the
// keyed-index map and sets inserted exactly. ps is in idx order, and so in
// link order; of links with equal idx SQLite inserts the first.
func (t *Tx) insertReturning(st *sql.Stmt, ps []pendingLink) error {
	rows, err := st.QueryContext(t.ctx, t.args...)
	if err != nil {
		return t.fail(err)
	}
	got := t.linkBuf[:0]
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return t.fail(err)
		}
		got = append(got, id)
	}
	if err := rows.Close(); err != nil {
		return t.fail(err)
	}
	if err := rows.Err(); err != nil {
		return t.fail(err)
	}
	t.linkBuf = got
	t.skipped = len(got) < len(ps)
	// RETURNING gives the rows in insertion order in practice, but SQLite
	// does not promise it.
	slices.Sort(got)
	for i, j := 0, 0; i < len(ps) && j < len(got); {
		switch {
		case ps[i].link == got[j]:
			ps[i].inserted = true
			i++
			j++
		case ps[i].link < got[j]:
			i++
		default:
			j++
		}
	}
	return nil
}

// insertCodes inserts the code map entries of ps (sorted by code), whose
// identifiers were just added to the keyed-index map. A code already there
// belongs to someone else (the identifier is new): ErrCodeTaken.
func (t *Tx) insertCodes(ps []pendingLink) error {
	short := false
	err := t.each(ps, always(insCodeSQL), func(p *pendingLink) {
		t.args = append(t.args, p.code, p.link)
	}, func(st *sql.Stmt, ps []pendingLink) error {
		n, err := t.exec(st)
		short = short || n < len(ps)
		return err
	})
	if err != nil || !short {
		return err
	}
	for i := range ps {
		ps[i].want = ps[i].link
	}
	return t.takenCode(ps)
}

// takenCode finds, after an INSERT into the code map skipped a row of ps
// (sorted by code, want the link each should point to), the code that the
// map gives another link: ErrCodeTaken naming it.
func (t *Tx) takenCode(ps []pendingLink) error {
	if err := t.probe(ps, probeCodeSQL); err != nil {
		return err
	}
	for i := range ps {
		if !ps[i].found || ps[i].link != ps[i].want {
			return fmt.Errorf("%w: code %s in domain %s", ErrCodeTaken, ps[i].code, t.domain.info.Name)
		}
	}
	return corruptf("a code of domain %s was refused, but it is not there", t.domain.info.Name)
}

// insertLinks adds the links ps (sorted by link id) to their groups.
func (t *Tx) insertLinks(ps []pendingLink, arena []byte) error {
	err := t.writeLinks(len(ps), func(i int, r *linkRec) {
		p := &ps[i]
		*r = linkRec{id: p.link, domain: t.domain.id, state: LinkActive, created: t.seq, code: p.code, kind: p.kind,
			idx: p.idx[:], sealed: arena[p.sealedAt : p.sealedAt+p.sealedLen]}
	})
	if err == nil {
		t.newLinks += len(ps)
	}
	return err
}

// probe reads the map entries for ps: by keyed index (kind probeIdxSQL, ps
// sorted by idx) or by code (probeCodeSQL, ps sorted by code; or
// probeOldCodeSQL, in the segments older than the newest only), setting
// found and link.
//
// A key is in at most one segment of the domain, so the segments are
// probed one at a time, each for the keys not found yet, those that found
// the most so far in the transaction first: a re-run, whose identifiers
// are mostly in one segment, then costs about one probe a key, not one a
// segment. (With seg IN (...) in one statement, a re-run of 1.25M
// identifiers into a domain of two segments took 7.3-10.9 s against
// 6.5-8.7 s with one, 2026-12-03.)
func (t *Tx) probe(ps []pendingLink, kind int) error {
	byCode := kind == probeCodeSQL || kind == probeOldCodeSQL
	for i := range ps {
		ps[i].found = false
	}
	if len(t.segHits) != len(t.segs) {
		t.segHits = make([]int64, len(t.segs))
	}
	order := t.segOrder[:0]
	for k := range t.segs {
		if kind != probeOldCodeSQL || k < len(t.segs)-1 {
			order = append(order, k)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(t.segHits[b], t.segHits[a]) })
	t.segOrder = order
	pos := t.probePos[:0]
	for i := range ps {
		pos = append(pos, int32(i))
	}
	defer func() { t.probePos = pos[:0] }()
	for _, k := range order {
		if len(pos) == 0 {
			break
		}
		for rest := pos; len(rest) > 0; {
			c := chunk(len(rest))
			st, err := t.stmt(kind, c)
			if err != nil {
				return err
			}
			t.args = append(t.args[:0], t.segs[k])
			for _, i := range rest[:c] {
				if byCode {
					t.args = append(t.args, ps[i].code)
				} else {
					t.args = append(t.args, ps[i].idx[:])
				}
			}
			err = t.probeChunk(st, ps, rest[:c], byCode)
			clear(t.args)
			t.args = t.args[:0]
			if err != nil {
				return err
			}
			rest = rest[c:]
		}
		n := 0
		for _, i := range pos {
			if !ps[i].found {
				pos[n] = i
				n++
			}
		}
		t.segHits[k] += int64(len(pos) - n)
		pos = pos[:n]
	}
	return nil
}

// probeChunk runs a probe statement (its arguments in t.args) for the
// links of ps at positions at (in key order), setting found and link.
func (t *Tx) probeChunk(st *sql.Stmt, ps []pendingLink, at []int32, byCode bool) error {
	rows, err := st.QueryContext(t.ctx, t.args...)
	if err != nil {
		return t.fail(err)
	}
	got := t.probeBuf[:0]
	for rows.Next() {
		var r mapRow
		var key []byte
		if err := rows.Scan(&key, &r.link); err != nil {
			rows.Close()
			return t.fail(err)
		}
		if byCode {
			r.code = string(key)
		} else if len(key) != idxLen {
			rows.Close()
			return corruptf("keyed index entry of domain %s has %d bytes", t.domain.info.Name, len(key))
		} else {
			r.idx = [idxLen]byte(key)
		}
		got = append(got, r)
	}
	if err := rows.Close(); err != nil {
		return t.fail(err)
	}
	if err := rows.Err(); err != nil {
		return t.fail(err)
	}
	t.probeBuf = got
	// Merge with ps (sorted by the same key). The results have no
	// duplicates (both keys are unique in a segment); ps may have, and
	// they all match the same entry.
	cmp := func(p *pendingLink, r *mapRow) int { return bytes.Compare(p.idx[:], r.idx[:]) }
	if byCode {
		slices.SortFunc(got, func(a, b mapRow) int { return strings.Compare(a.code, b.code) })
		cmp = func(p *pendingLink, r *mapRow) int { return strings.Compare(p.code, r.code) }
	} else {
		slices.SortFunc(got, func(a, b mapRow) int { return bytes.Compare(a.idx[:], b.idx[:]) })
	}
	for i, j := 0, 0; i < len(at) && j < len(got); {
		p := &ps[at[i]]
		switch order := cmp(p, &got[j]); {
		case order == 0:
			p.found, p.link = true, got[j].link
			i++
		case order < 0:
			i++
		default:
			j++
		}
	}
	return nil
}

// Statement kinds (indexes of Tx.stmts).
const (
	insIdxSQL = iota
	insIdxRetSQL
	insCodeSQL
	insGroupSQL
	probeIdxSQL
	probeCodeSQL
	probeOldCodeSQL // in the segments older than the newest (checkOldCodes)
	nStmtKinds
)

// stmt returns the prepared statement of kind for n rows.
func (t *Tx) stmt(kind, n int) (*sql.Stmt, error) {
	if t.stmts[kind] == nil {
		t.stmts[kind] = map[int]*sql.Stmt{}
	}
	if st := t.stmts[kind][n]; st != nil {
		return st, nil
	}
	st, err := t.tx.PrepareContext(t.ctx, t.statementSQL(kind, n))
	if err != nil {
		return nil, t.fail(err)
	}
	t.stmts[kind][n] = st
	return st, nil
}

// statementSQL returns the SQL of the statement of kind for n rows.
//
// The domain id and the sequence number, shared by all rows, are integers
// written into the statement (prepared per transaction): modernc's bind
// looks up the name of every parameter, which costs a scan of the
// numbered ones. The INSERTs into the maps use OR IGNORE rather than ON
// CONFLICT DO NOTHING: a NOT NULL constraint that could abort the
// statement halfway would also give it a statement journal (no value here
// is ever NULL).
func (t *Tx) statementSQL(kind, n int) string {
	var b strings.Builder
	rows := func(row string) {
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(row)
		}
	}
	// Inserts go to the newest segment; a probe looks in the segment that
	// is its first argument.
	w := t.wseg()
	switch kind {
	case insIdxSQL, insIdxRetSQL:
		b.WriteString(`INSERT OR IGNORE INTO link_index (seg, idx, link) VALUES `)
		rows(fmt.Sprintf("(%d, ?, ?)", w))
		if kind == insIdxRetSQL {
			b.WriteString(` RETURNING link`)
		}
	case insCodeSQL:
		b.WriteString(`INSERT OR IGNORE INTO link_codes (seg, code, link) VALUES `)
		rows(fmt.Sprintf("(%d, ?, ?)", w))
	case insGroupSQL:
		b.WriteString(`INSERT OR REPLACE INTO link_groups (id, data) VALUES `)
		rows("(?, ?)")
	case probeIdxSQL:
		b.WriteString(`SELECT idx, link FROM link_index WHERE seg = ? AND idx IN (`)
		rows("?")
		b.WriteString(`)`)
	case probeCodeSQL, probeOldCodeSQL:
		b.WriteString(`SELECT code, link FROM link_codes WHERE seg = ? AND code IN (`)
		rows("?")
		b.WriteString(`)`)
	}
	return b.String()
}
