package keyvault

import (
	"bytes"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// linkBatch is how many new links Tx.Link queues before it writes them with
// multi-row statements of at most stmtRows rows. A batch is inserted and
// probed in code order, so it walks the table's B-tree (by code) in order:
// the larger the batch, the more links share each page read and written.
// (The index by keyed index is probed only for conflicts, in idx order.) On a run that adds 1,000,000
// links, BenchmarkLinkInsert measured 69-70k links/s with batches of 8,192
// inserted in keyed-index order and 117-137k with 65,536 in code order. A
// batch costs about 250 bytes a link while it is queued, and another
// batch fills while one is written. A variable only so that tests can
// exercise batch boundaries.
var linkBatch = 65536

// stmtRows is the most rows one INSERT or probe statement takes.
const stmtRows = 256

// queue records a link to be written with the next batch. Called with t.mu
// held, for an identifier that is neither in t.seen nor withdrawn.
func (t *Tx) queue(idx [idxLen]byte, sk seenKey, kind, canonical, code string) error {
	t.adBuf = appendLinkAD(t.adBuf[:0], t.domain.info.Name, code, kind)
	start := len(t.arena)
	t.arena, t.plainBuf = sealIdentifier(t.k.aead, t.arena, t.nonces.next(), t.plainBuf, t.adBuf, canonical)
	t.pend = append(t.pend, pendingLink{idx: idx, kind: kind, code: code, sealedAt: uint32(start), sealedLen: uint32(len(t.arena) - start)})
	// Not t.remember: an entry evicted before the batch is written would
	// send a repeat of the identifier to the queue again. startWrite
	// evicts instead.
	t.seen[sk] = code
	if len(t.pend) < linkBatch {
		return nil
	}
	if err := t.wait(); err != nil {
		return err
	}
	// While this call waited, another may have handed the batch over.
	if len(t.pend) >= linkBatch {
		t.startWrite()
	}
	return nil
}

// startWrite hands the queued links to a goroutine that writes them, so
// that the callers of Link (the pseudo workers) go on while SQLite works
// instead of waiting for t.mu. One batch is written at a time: it is
// called with t.mu held, after t.wait.
func (t *Tx) startWrite() {
	batch, arena := t.pend, t.arena
	t.pend, t.arena = t.sparePend[:0], t.spareArena[:0]
	for len(t.seen) > maxSeen {
		for k := range t.seen {
			delete(t.seen, k)
			break
		}
	}
	t.writing = true
	go func() {
		// Only this goroutine uses the statement caches, counts and
		// buffers of writePending while t.writing is set; everyone else
		// waits (t.wait) before touching them or t.tx.
		err := t.writePending(batch, arena)
		clear(arena)
		clear(batch)
		t.mu.Lock()
		defer t.mu.Unlock()
		t.writing = false
		t.sparePend, t.spareArena = batch[:0], arena[:0]
		if err != nil && t.err == nil {
			t.err = err
		}
		t.written.Broadcast()
	}()
}

// wait waits until no batch is being written and returns the error that
// failed the transaction, if any. Called with t.mu held (released while
// waiting).
func (t *Tx) wait() error {
	for t.writing {
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
	if len(t.pend) == 0 {
		return nil
	}
	t.startWrite()
	return t.wait()
}

// writePending inserts the queued links, or verifies them where the vault
// already has them, and updates the counts. It inserts first while most
// links of the run were new (a first run) and probes first while most
// already existed (a re-run): each order saves a statement in its common
// case.
//
// Everything goes in code order: the table is a B-tree by code whose rows
// are ten times the size of the index's, so in code order consecutive
// links mostly share the pages SQLite has just read. The index by keyed
// index (random order) is searched only for links that are neither
// inserted nor found by their code, which means a conflict.
func (t *Tx) writePending(ps []pendingLink, arena []byte) error {
	slices.SortFunc(ps, func(a, b pendingLink) int { return strings.Compare(a.code, b.code) })
	probeFirst, err := t.probeFirst(ps)
	if err != nil {
		return err
	}
	if probeFirst {
		if err := t.probe(ps, true); err != nil {
			return err
		}
		missing := ps[:0] // in place: the found ones are done with
		for i := range ps {
			if !ps[i].found {
				missing = append(missing, ps[i])
			} else if err := t.checkByCode(&ps[i]); err != nil {
				return err
			}
		}
		ps = missing
	}
	if len(ps) == 0 {
		return nil
	}
	if err := t.insertRows(ps, arena); err != nil {
		return err
	}
	// The links not inserted: their code or their identifier is already
	// there (a repeat whose seen entry was evicted, an existing link, a
	// code taken by someone else, or a conflict).
	left := ps[:0]
	for i := range ps {
		if !ps[i].inserted {
			left = append(left, ps[i])
		}
	}
	if len(left) == 0 {
		return nil
	}
	if err := t.probe(left, true); err != nil {
		return err
	}
	rest := left[:0]
	for i := range left {
		if !left[i].found {
			rest = append(rest, left[i])
		} else if err := t.checkByCode(&left[i]); err != nil {
			return err
		}
	}
	if len(rest) == 0 {
		return nil
	}
	// Not inserted, and the code is not in the vault: the identifier must
	// be, with another code.
	slices.SortFunc(rest, func(a, b pendingLink) int { return bytes.Compare(a.idx[:], b.idx[:]) })
	if err := t.probe(rest, false); err != nil {
		return err
	}
	for i := range rest {
		p := &rest[i]
		if !p.found {
			return corruptf("link %s in domain %s was refused, but neither its code nor its identifier is there", p.code, t.domain.info.Name)
		}
		if err := t.check(p); err != nil {
			return err
		}
	}
	return nil
}

// probeFirst tells whether most links of ps are likely stored already. It
// goes by the counts of the batches written before; for the first batch of
// the run it probes one statement's worth (a random sample: codes are
// random and ps is in code order), so that a re-run does not start with a
// whole batch of inserts that all skip.
func (t *Tx) probeFirst(ps []pendingLink) (bool, error) {
	if t.existing+t.newLinks > 0 || len(ps) <= stmtRows {
		return t.existing > t.newLinks, nil
	}
	sample := ps[:stmtRows]
	if err := t.probe(sample, true); err != nil {
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

// checkByCode handles a queued link whose code was found in the vault: the
// same identifier's link (from an earlier run, or from this one if its
// entry in t.seen was evicted), or someone else's code.
func (t *Tx) checkByCode(p *pendingLink) error {
	r := &t.probeBuf[p.row]
	switch {
	case r.idx != p.idx:
		return fmt.Errorf("%w: code %s in domain %s", ErrCodeTaken, p.code, t.domain.info.Name)
	case r.created == t.seq && r.state == LinkActive:
		return nil // inserted earlier in this transaction
	}
	return t.check(p)
}

// check compares a queued link with the stored link of its identifier, and
// counts it as existing if they agree.
func (t *Tx) check(p *pendingLink) error {
	r := &t.probeBuf[p.row]
	switch {
	case r.state != LinkActive:
		// Link refused the person if the link had its tombstone.
		return fmt.Errorf("%w: %w: withdrawn link %s in domain %s has no tombstone", ErrCorrupt, ErrWithdrawn, r.code, t.domain.info.Name)
	case r.code != p.code:
		return fmt.Errorf("%w: identifier of kind %s in domain %s", ErrConflict, p.kind, t.domain.info.Name)
	}
	if r.created != t.seq {
		t.existing++
	}
	return nil
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

// insertRows inserts links (sorted by code) with multi-row statements,
// setting inserted and counting them; rows whose identifier or code is
// already in the domain are skipped (OR IGNORE). After a statement that
// skipped rows it asks (RETURNING) which rows were inserted, so that only
// the others need a probe; otherwise it does not, as that costs about 15 %
// more than a plain INSERT.
func (t *Tx) insertRows(ps []pendingLink, arena []byte) error {
	for len(ps) > 0 {
		c := chunk(len(ps))
		cache, kind := t.insN, insertSQL
		if t.skipped {
			cache, kind = t.insRetN, insertReturningSQL
		}
		st, err := t.stmt(cache, c, kind)
		if err != nil {
			return err
		}
		args := t.args[:0]
		for i := range ps[:c] {
			p := &ps[i]
			p.inserted = false
			args = append(args, p.code, p.kind, p.idx[:], arena[p.sealedAt:p.sealedAt+p.sealedLen])
		}
		t.args = args
		if t.skipped {
			err = t.insertReturning(st, ps[:c])
		} else {
			err = t.insertPlain(st, ps[:c])
		}
		clear(t.args)
		if err != nil {
			return err
		}
		ps = ps[c:]
	}
	return nil
}

// insertPlain runs a multi-row INSERT; if it skipped a row, inserted stays
// false for all, and all are probed.
func (t *Tx) insertPlain(st *sql.Stmt, ps []pendingLink) error {
	res, err := st.ExecContext(t.ctx, t.args...)
	if err != nil {
		return t.fail(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return t.fail(err)
	}
	t.newLinks += int(n)
	if int(n) < len(ps) {
		t.skipped = true
		return nil
	}
	for i := range ps {
		ps[i].inserted = true
	}
	return nil
}

// insertReturning runs a multi-row INSERT ... RETURNING code and sets
// inserted exactly. ps is sorted by code; of links with equal codes (a
// collision) SQLite inserts the first, and the merge marks the first.
func (t *Tx) insertReturning(st *sql.Stmt, ps []pendingLink) error {
	rows, err := st.QueryContext(t.ctx, t.args...)
	if err != nil {
		return t.fail(err)
	}
	got := t.codeBuf[:0]
	for rows.Next() {
		var b sql.RawBytes
		if err := rows.Scan(&b); err != nil {
			rows.Close()
			return t.fail(err)
		}
		got = append(got, string(b))
	}
	if err := rows.Close(); err != nil {
		return t.fail(err)
	}
	if err := rows.Err(); err != nil {
		return t.fail(err)
	}
	t.codeBuf = got
	t.newLinks += len(got)
	t.skipped = len(got) < len(ps)
	// RETURNING gives the rows in insertion order in practice, but SQLite
	// does not promise it.
	slices.Sort(got)
	for i, j := 0, 0; i < len(ps) && j < len(got); {
		switch cmp := strings.Compare(ps[i].code, got[j]); {
		case cmp == 0:
			ps[i].inserted = true
			i++
			j++
		case cmp < 0:
			i++
		default:
			j++
		}
	}
	return nil
}

// probe reads the stored links with the codes of ps (byCode, ps sorted by
// code) or with their keyed indexes (ps sorted by idx), setting found and
// row (an index into t.probeBuf, valid until the next probe).
func (t *Tx) probe(ps []pendingLink, byCode bool) error {
	for i := range ps {
		ps[i].found = false
	}
	t.probeBuf = t.probeBuf[:0]
	for rest := ps; len(rest) > 0; {
		c := chunk(len(rest))
		cache, kind := t.probeN, probeSQL
		if byCode {
			cache, kind = t.probeCodeN, probeCodeSQL
		}
		st, err := t.stmt(cache, c, kind)
		if err != nil {
			return err
		}
		args := t.args[:0]
		for i := range rest[:c] {
			if byCode {
				args = append(args, rest[i].code)
			} else {
				args = append(args, rest[i].idx[:])
			}
		}
		t.args = args
		rows, err := st.QueryContext(t.ctx, args...)
		clear(args)
		if err != nil {
			return t.fail(err)
		}
		base := len(t.probeBuf)
		all := t.probeBuf
		for rows.Next() {
			var r linkRow
			var idx []byte
			if err := rows.Scan(&idx, &r.code, &r.state, &r.created); err != nil {
				rows.Close()
				return t.fail(err)
			}
			if len(idx) != idxLen {
				rows.Close()
				return corruptf("link %s in domain %s has a %d-byte index", r.code, t.domain.info.Name, len(idx))
			}
			r.idx = [idxLen]byte(idx)
			all = append(all, r)
		}
		if err := rows.Close(); err != nil {
			return t.fail(err)
		}
		if err := rows.Err(); err != nil {
			return t.fail(err)
		}
		t.probeBuf = all
		got := all[base:]
		// Merge with ps (sorted by the same key). The results have no
		// duplicates (both keys are unique in a domain); ps may have, and
		// they all match the same row.
		cmp := func(p *pendingLink, r *linkRow) int { return bytes.Compare(p.idx[:], r.idx[:]) }
		if byCode {
			slices.SortFunc(got, func(a, b linkRow) int { return strings.Compare(a.code, b.code) })
			cmp = func(p *pendingLink, r *linkRow) int { return strings.Compare(p.code, r.code) }
		} else {
			slices.SortFunc(got, func(a, b linkRow) int { return bytes.Compare(a.idx[:], b.idx[:]) })
		}
		for i, j := 0, 0; i < c && j < len(got); {
			switch order := cmp(&rest[i], &got[j]); {
			case order == 0:
				rest[i].found, rest[i].row = true, int32(base+j)
				i++
			case order < 0:
				i++
			default:
				j++
			}
		}
		rest = rest[c:]
	}
	return nil
}

const (
	insertSQL = iota
	insertReturningSQL
	probeSQL
	probeCodeSQL
)

// stmt returns the prepared statement of kind for n rows.
func (t *Tx) stmt(cache map[int]*sql.Stmt, n, kind int) (*sql.Stmt, error) {
	if st := cache[n]; st != nil {
		return st, nil
	}
	st, err := t.tx.PrepareContext(t.ctx, t.statementSQL(n, kind))
	if err != nil {
		return nil, t.fail(err)
	}
	cache[n] = st
	return st, nil
}

// statementSQL returns the SQL of the statement of kind for n rows.
func (t *Tx) statementSQL(n, kind int) string {
	var b strings.Builder
	switch kind {
	case insertSQL, insertReturningSQL:
		// The domain id and the sequence number, shared by all rows, are
		// integers written into the statement (prepared per transaction):
		// modernc's bind looks up the name of every parameter, which
		// costs a scan of the numbered ones. OR IGNORE rather than ON
		// CONFLICT DO NOTHING: a NOT NULL constraint that could abort the
		// statement halfway would also give it a statement journal (no
		// value here is ever NULL).
		b.WriteString(`INSERT OR IGNORE INTO links (domain, code, kind, idx, sealed, state, created) VALUES `)
		row := fmt.Sprintf("(%d, ?, ?, ?, ?, 'active', %d)", t.domain.id, t.seq)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(row)
		}
		if kind == insertReturningSQL {
			b.WriteString(` RETURNING code`)
		}
	case probeSQL:
		// Without INDEXED BY, SQLite (which has no statistics) scans
		// the domain's part of the primary key for an IN list.
		fmt.Fprintf(&b, `SELECT idx, code, state, created FROM links INDEXED BY sqlite_autoindex_links_2
			WHERE domain = %d AND idx IN (`, t.domain.id)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
		}
		b.WriteString(`)`)
	case probeCodeSQL:
		fmt.Fprintf(&b, `SELECT idx, code, state, created FROM links WHERE domain = %d AND code IN (`, t.domain.id)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('?')
		}
		b.WriteString(`)`)
	}
	return b.String()
}
