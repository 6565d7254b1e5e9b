package keyvault

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"
)

// maxSeen bounds the per-transaction set of identifiers already handled
// (seenSet), which makes an identifier met many times in one run cheap:
// 16 bytes an entry, 32 MB at most. A repeat whose entry was evicted goes
// to SQLite again, costing two probes (seenSet.gone tells it from a new
// identifier, see settleRepeats).
var maxSeen = 1 << 21 // a variable only so that tests can make it small

// Limits on link fields.
const (
	maxKindLen      = 32
	maxCodeLen      = 64
	maxCanonicalLen = 4096
)

// spare is the buffers of a written batch, kept for another.
type spare struct {
	pend  []pendingLink
	arena []byte
}

// Tx is a write transaction of one pseudonymisation run in one domain. It
// holds the vault's write lock from [Vault.Begin] until [Tx.Commit] or
// [Tx.Rollback]; nothing it does is visible to others or reaches the file
// durably before Commit, and a Tx that is rolled back (or abandoned when its
// context ends, or the process dies) leaves the file as it was.
//
// Tx satisfies the Linker interface of package pseudo. Its methods are safe
// for concurrent use.
type Tx struct {
	v      *Vault
	k      *keys
	ctx    context.Context
	conn   *sql.Conn // the connection of tx, not checking foreign keys
	tx     *sql.Tx
	domain domainRow
	segs   []int64 // the domain's map segments, in increasing order; it writes to the last (segments.go)
	seq    int64   // sequence number the commit entry will take; stored as the links' creation

	// Single-link statements of Assign.
	insCode, insIdx *sql.Stmt
	firstID         int64 // id of the first link this transaction adds
	nextID          int64 // id of the next link it adds
	// The last group of links written (see groups.go): a later link of
	// the same group is added to it.
	tail      groupTail
	groupBuf  []byte      // groups being encoded (writeLinks)
	groupArgs []groupSpan // and where each is in groupBuf

	mu       sync.Mutex
	done     bool
	err      error                     // a failed batch write: the transaction can only be rolled back
	work     *linkWork                 // for keyed indexes and seals under mu
	works    sync.Pool                 // of *linkWork, for Link outside mu
	seenSeed [2]maphash.Seed           // of seenKey
	seen     seenSet                   // identifier -> hash of the code (codeHash) of links handled in this Tx
	tomb     map[[idxLen]byte]struct{} // withdrawal tombstones; nil if there are none
	newLinks int
	existing int
	counted  []uint64 // bit per link id below firstID: counted in existing (Tx.met)

	// Links are written in batches (see Tx.Link and batch.go), by a
	// goroutine while the next batch fills.
	pend        []pendingLink
	arena       []byte                        // sealed identifiers of pend
	spares      []spare                       // buffers of batches written, for the next ones
	writing     int                           // batches handed over and not yet written (at most 2)
	handed      int                           // batches handed over so far
	handedLinks int64                         // links in them
	turn        int                           // the batch whose turn it is to be written (by handed order)
	written     *sync.Cond                    // on mu: a batch was written
	codeBuf     []pendingLink                 // writePending's inserted links in code order
	stmts       [nStmtKinds]map[int]*sql.Stmt // multi-row statements by kind and number of rows
	skipped     bool                          // the last INSERT into link_index skipped rows (see insertIndex)
	// A run defers its map entries (spill.go) until it must read the
	// maps; stored: the domain held links when the run began, so each
	// batch is probed for them.
	bulk, stored bool
	spill        *mapSpill
	filter       *storedFilter // of the links stored before a bulk run (filter.go)
	oldCodes     *codeFilter   // of their codes, for a new segment (segmentFor), or nil
	missed       int64         // identifiers settleStored probed and did not find
	probed       int64         // identifiers settleStored probed
	share        atomic.Uint64 // the caller's share of the input done (Progress), as float64 bits
	expected     atomic.Int64  // links the whole run is expected to hand over (startWrite), 0 if unknown
	deferred     []pendingLink // repeats a bulk run set aside
	deferArena   []byte        // and their sealed identifiers
	hits         []pendingLink // hits of the stored-index filter set aside (settleHits)
	hitArena     []byte        // and their sealed identifiers
	probeBuf     []mapRow
	probePos     []int32       // probe's links not found yet
	segHits      []int64       // keys found in each segment of segs by probe
	segOrder     []int         // probe's order of the segments
	linkBuf      []int64       // link ids of inserted rows
	repeatBuf    []pendingLink // settleRepeats' links that may be repeats
	posBuf       []int32       // and their positions in the batch
	asideBuf     []int32       // setAside's new positions
	args         []any
}

// pendingLink is a link queued by Tx.Link and not yet written.
type pendingLink struct {
	idx        [idxLen]byte
	kind, code string
	// The sealed identifier, in the batch's arena (Tx.arena when queued).
	sealedAt, sealedLen uint32
	link                int64 // the link's id: assigned by writePending, or read by probe
	want                int64 // the link id a probe by code must find (verifyStored)
	found               bool  // set by probe
	inserted            bool  // set by insertIndex
	// The identifier may have been queued before in this transaction:
	// its seen entry was evicted (seenSet.evicted).
	repeat bool
	drop   bool // settleRepeats: stored already, or met earlier in the batch
}

// mapRow is what a probe reads of a map entry: a key (idx or code) and
// the link id.
type mapRow struct {
	idx  [idxLen]byte
	code string
	link int64
}

// Begin starts a write transaction for a pseudonymisation run in domain.
// It waits for the vault's write lock (held by another process or handle)
// until ctx is done, or [LockTimeout] if ctx has no deadline, and then
// returns an error matching [ErrBusy]. If ctx ends while the Tx is open, the
// Tx is rolled back.
func (v *Vault) Begin(ctx context.Context, domain string) (*Tx, error) {
	k, err := v.keys()
	if err != nil {
		return nil, err
	}
	d, err := v.domain(domain)
	if err != nil {
		return nil, err
	}
	// The transaction gets a connection of its own that does not check
	// foreign keys: SQLite gives a multi-row INSERT into a table with an
	// immediate foreign key a statement journal, a copy of every page it
	// changes, which costs more than batching saves. The only foreign key
	// of links is its domain, which prepare checks once.
	conn, err := v.db.Conn(ctx)
	if err != nil {
		return nil, classify(err)
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		releaseConn(conn)
		return nil, classify(err)
	}
	tx, err := beginImmediate(ctx, conn.BeginTx)
	if err != nil {
		releaseConn(conn)
		return nil, err
	}
	t := &Tx{v: v, k: k, ctx: ctx, conn: conn, tx: tx, domain: d, work: newLinkWork(k),
		seenSeed: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}}
	t.works.New = func() any { return newLinkWork(k) }
	t.written = sync.NewCond(&t.mu)
	if err := t.prepare(); err != nil {
		t.close()
		tx.Rollback()
		t.releaseConn()
		return nil, err
	}
	return t, nil
}

// releaseConn gives a connection back to the pool with foreign keys
// checked again, or closes it if that fails.
func releaseConn(conn *sql.Conn) {
	ctx := context.Background()
	on := 0
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = ON`); err == nil {
		conn.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&on)
	}
	if on != 1 { // for example still inside a transaction a failed COMMIT left open
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	conn.Close()
}

// releaseConn releases the transaction's connection once the SQLite
// transaction has ended (the pragma is a no-op inside one).
func (t *Tx) releaseConn() {
	if t.conn != nil {
		releaseConn(t.conn)
		t.conn = nil
	}
}

func (t *Tx) prepare() error {
	var last int64
	if err := t.tx.QueryRowContext(t.ctx, `SELECT COALESCE(max(seq), 0) FROM log`).Scan(&last); err != nil {
		return classify(err)
	}
	t.seq = last + 1
	// Foreign keys are not checked on this connection (see Begin).
	var n int
	if err := t.tx.QueryRowContext(t.ctx, `SELECT count(*) FROM domains WHERE id = ?`, t.domain.id).Scan(&n); err != nil {
		return classify(err)
	}
	if n != 1 {
		return fmt.Errorf("%w: %q", ErrNoDomain, t.domain.info.Name)
	}
	last, data, err := lastLinkID(t.ctx, t.tx)
	if err != nil {
		return err
	}
	t.firstID, t.nextID = last+1, last+1
	t.tail = groupTail{gid: -1}
	if last > 0 {
		t.tail = groupTail{gid: groupOf(last), data: data}
	}
	for _, st := range []struct {
		s   **sql.Stmt
		sql string
	}{
		{&t.insCode, `INSERT OR IGNORE INTO link_codes (seg, code, link) VALUES (?, ?, ?)`},
		{&t.insIdx, `INSERT INTO link_index (seg, idx, link) VALUES (?, ?, ?)`},
	} {
		var err error
		if *st.s, err = t.tx.PrepareContext(t.ctx, st.sql); err != nil {
			return classify(err)
		}
	}
	if t.segs, err = domainSegments(t.ctx, t.tx, t.domain.id); err != nil {
		return err
	}
	if bulkMaps {
		var one int
		err := t.tx.QueryRowContext(t.ctx, `SELECT 1 FROM link_index WHERE seg IN (`+segList(t.segs)+`) LIMIT 1`).Scan(&one)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return classify(err)
		}
		t.bulk, t.stored = true, err == nil
	}
	// Withdrawal tombstones are few: hold them in memory, so that a
	// withdrawn person is refused in every domain, also where they have no
	// link, at the cost of one map look-up per new identifier.
	rows, err := t.tx.QueryContext(t.ctx, `SELECT idx FROM withdrawn`)
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return classify(err)
		}
		if len(b) != idxLen {
			return corruptf("withdrawal tombstone has a %d-byte index", len(b))
		}
		if t.tomb == nil {
			t.tomb = map[[idxLen]byte]struct{}{}
		}
		t.tomb[[idxLen]byte(b)] = struct{}{}
	}
	return classify(rows.Err())
}

// tombstoned reports whether idx has a withdrawal tombstone.
func (t *Tx) tombstoned(idx [idxLen]byte) bool {
	if t.tomb == nil {
		return false
	}
	_, ok := t.tomb[idx]
	return ok
}

// Domain returns the domain the transaction writes to.
func (t *Tx) Domain() DomainInfo { return t.domain.info }

func validKind(s string) bool {
	if len(s) == 0 || len(s) > maxKindLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validCode(s string) bool {
	if len(s) == 0 || len(s) > maxCodeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func checkLinkArgs(kind, canonical string) error {
	if !validKind(kind) {
		return invalidf("identifier kind %q", kind)
	}
	if len(canonical) == 0 || len(canonical) > maxCanonicalLen {
		// Never quote the identifier.
		return invalidf("identifier of kind %s is empty or longer than %d bytes", kind, maxCanonicalLen)
	}
	return nil
}

// index computes the keyed index HMAC(link-index key, kind || 0x00 ||
// canonical). Called with t.mu held.
func (t *Tx) index(kind, canonical string) [idxLen]byte { return t.work.index(kind, canonical) }

// seenKey identifies an identifier (kind and canonical form) in Tx.seen:
// two 64-bit hashes under seeds made for the transaction. It replaces the
// keyed index there because it costs a tenth of the HMAC, and a repeated
// identifier (most calls of Link) then needs no HMAC at all. Two
// identifiers share a key with probability about n²/2¹²⁹ for n
// identifiers (below 10⁻²⁶ for 10⁸); the seeds are random and never leave
// the process, so inputs cannot be chosen to collide.
type seenKey [2]uint64

// key returns the seenKey of (kind, canonical). Called with t.mu held.
func (t *Tx) key(kind, canonical string) seenKey {
	return seenKey{hashIdentifier(t.seenSeed[0], kind, canonical), hashIdentifier(t.seenSeed[1], kind, canonical)}
}

// hashIdentifier hashes kind and canonical apart (maphash.String is the
// fast path) and combines them with a bijection of the kind's hash, so
// that (kind, canonical) pairs differing in either part differ in the
// result but for a 2⁻⁶⁴ chance.
func hashIdentifier(seed maphash.Seed, kind, canonical string) uint64 {
	return maphash.String(seed, canonical) ^ bits.RotateLeft64(maphash.String(seed, kind), 29)
}

// codeHash returns the hash of code that t.seen holds. Two codes of one
// identifier met in one run (a conflict, which a Linker that derives its
// codes never makes) go unnoticed by it with probability 2⁻³².
func (t *Tx) codeHash(code string) uint32 { return uint32(maphash.String(t.seenSeed[0], code)) }

func (t *Tx) remember(k seenKey, code string) { t.seen.put(k, t.codeHash(code)) }

// insert tries to insert a new active link; it reports whether it was
// inserted (false: the code is already taken) and counts and remembers it
// if so. The caller has looked the identifier up (it is not in the
// domain) and waited for the batches (t.nextID is its own).
func (t *Tx) insert(idx [idxLen]byte, sk seenKey, kind, canonical, code string) (bool, error) {
	id := t.nextID
	if len(t.segs) > 1 {
		// The code map's key is unique within one segment only.
		if _, found, err := linkByMap(t.ctx, t.tx, t.domain.id, true, code); err != nil || found {
			return false, t.fail(err)
		}
	}
	res, err := t.insCode.ExecContext(t.ctx, t.wseg(), code, id)
	if err != nil {
		return false, t.fail(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, t.fail(err)
	}
	if n != 1 {
		return false, nil
	}
	t.nextID++
	sealed := t.work.seal(t.k.aead, t.domain.info.Name, code, kind, canonical)
	if _, err := t.insIdx.ExecContext(t.ctx, t.wseg(), idx[:], id); err != nil {
		return false, t.fail(err)
	}
	err = t.writeLinks(1, func(_ int, r *linkRec) {
		*r = linkRec{id: id, domain: t.domain.id, state: LinkActive, created: t.seq, code: code, kind: kind, idx: idx[:], sealed: sealed}
	})
	if err != nil {
		return false, err
	}
	t.newLinks++
	t.remember(sk, code)
	return true, nil
}

// lookup returns the code, state and link id stored for idx.
func (t *Tx) lookup(idx [idxLen]byte) (code, state string, id int64, found bool, err error) {
	r, found, err := linkByMap(t.ctx, t.tx, t.domain.id, false, idx[:])
	if err != nil {
		return "", "", 0, false, t.fail(err)
	}
	return r.code, r.state, r.id, found, nil
}

// met counts link id as an identifier met that the vault held before the
// transaction, if it is one and was not counted before. The seen-set
// cannot tell, as it forgets identifiers when it is full: a bit per link
// older than the transaction can (1 MB for 8M links).
func (t *Tx) met(id int64) {
	if id <= 0 || id >= t.firstID {
		return
	}
	if t.counted == nil {
		t.counted = make([]uint64, t.firstID>>6+1)
	}
	w, bit := id>>6, uint64(1)<<(id&63)
	if t.counted[w]&bit == 0 {
		t.counted[w] |= bit
		t.existing++
	}
}

func (t *Tx) fail(err error) error {
	if cerr := t.ctx.Err(); cerr != nil {
		return fmt.Errorf("%w: %w", ErrTxDone, cerr)
	}
	if errors.Is(err, sql.ErrTxDone) {
		return ErrTxDone
	}
	return classify(err)
}

func (t *Tx) withdrawn(kind string) error {
	return fmt.Errorf("%w: identifier of kind %s in domain %s", ErrWithdrawn, kind, t.domain.info.Name)
}

// Link records that code stands for the canonical identifier of kind in the
// transaction's domain (insert or verify). If the identifier is already
// linked to the same code, the call counts as existing. It returns an error
// matching [ErrConflict] if the identifier is linked to a different code,
// [ErrCodeTaken] if code belongs to another identifier, and [ErrWithdrawn]
// if the person has withdrawn (a withdrawn link in this domain, or a
// withdrawal tombstone: see [Vault.Withdraw]). Errors never contain the
// identifier.
//
// ErrWithdrawn, and ErrConflict for an identifier met before in the same
// transaction, are returned by the call itself. New links are written to
// the file in batches, so a conflict with a link stored before the
// transaction (ErrConflict or ErrCodeTaken) may instead be found when the
// batch is written, by a later Link or by [Tx.Counts], [Tx.Resolve],
// [Tx.Assign] or [Tx.Commit]: it then fails the transaction, every later
// call returns it, and Commit rolls back and returns it.
func (t *Tx) Link(kind, canonical, code string) error {
	if err := checkLinkArgs(kind, canonical); err != nil {
		return err
	}
	if !validCode(code) {
		return invalidf("code must be 1-%d printable ASCII characters", maxCodeLen)
	}
	sk := t.key(kind, canonical)
	seen := func() (known bool, err error) {
		if t.done {
			return true, ErrTxDone
		}
		if t.err != nil {
			return true, t.err
		}
		if h, ok := t.seen.get(sk); ok {
			if h != t.codeHash(code) {
				return true, fmt.Errorf("%w: identifier of kind %s in domain %s", ErrConflict, kind, t.domain.info.Name)
			}
			return true, nil
		}
		return false, nil
	}
	t.mu.Lock()
	known, err := seen()
	t.mu.Unlock()
	if known {
		return err
	}
	// New to this transaction: its keyed index and sealed identifier are
	// worked out outside the lock, so that callers on other goroutines
	// can do theirs meanwhile.
	w := t.works.Get().(*linkWork)
	defer t.works.Put(w)
	idx := w.index(kind, canonical)
	sealed := w.seal(t.k.aead, t.domain.info.Name, code, kind, canonical)
	t.mu.Lock()
	defer t.mu.Unlock()
	// Another call may have queued the same identifier meanwhile.
	if known, err := seen(); known {
		return err
	}
	if t.tombstoned(idx) {
		return t.withdrawn(kind)
	}
	// The withdrawal is known from memory (Withdraw gives every withdrawn
	// link a tombstone, and Verify reports a withdrawn link without one as
	// damage), so the link can wait for the next batch; a conflict found
	// then fails the transaction.
	if err := t.ctx.Err(); err != nil {
		return t.fail(err)
	}
	return t.queue(idx, sk, kind, code, sealed, t.seen.evicted(sk))
}

// Assign returns the code already linked to (kind, canonical) in the
// transaction's domain, or links candidate and returns it. It returns an
// error matching [ErrCodeTaken] if candidate is already used by someone
// else, so the caller retries with a new random candidate, and
// [ErrWithdrawn] if the person has withdrawn. Assign is for domains with
// [SchemeRandom]; in a keyed domain it returns [ErrWrongScheme].
func (t *Tx) Assign(kind, canonical, candidate string) (string, error) {
	if t.domain.info.Scheme != SchemeRandom {
		return "", fmt.Errorf("%w: Assign in %s domain %s", ErrWrongScheme, t.domain.info.Scheme, t.domain.info.Name)
	}
	if err := checkLinkArgs(kind, canonical); err != nil {
		return "", err
	}
	if !validCode(candidate) {
		return "", invalidf("code must be 1-%d printable ASCII characters", maxCodeLen)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return "", ErrTxDone
	}
	sk := t.key(kind, canonical)
	// An identifier met before in the transaction is in the file (after
	// the flush below); t.seen does not hold its code, so it is read back.
	_, seen := t.seen.get(sk)
	idx := t.index(kind, canonical)
	if t.tombstoned(idx) {
		return "", t.withdrawn(kind)
	}
	// Assign answers at once: links queued by Link must be in the file.
	if err := t.flush(); err != nil {
		return "", err
	}
	c, state, id, found, err := t.lookup(idx)
	if err != nil {
		return "", err
	}
	if found {
		if state != LinkActive {
			return "", t.withdrawn(kind)
		}
		t.met(id)
		t.remember(sk, c)
		return c, nil
	}
	if seen {
		return "", corruptf("a link of this transaction in domain %s is not in the file", t.domain.info.Name)
	}
	inserted, err := t.insert(idx, sk, kind, canonical, candidate)
	if err != nil {
		return "", err
	}
	if !inserted {
		return "", fmt.Errorf("%w: code %s in domain %s", ErrCodeTaken, candidate, t.domain.info.Name)
	}
	return candidate, nil
}

// Counts returns the number of links this transaction inserted and the
// number of distinct identifiers it met that the vault already held before
// it began. An identifier met many times counts once. It writes the links
// queued by Link first, so the counts are exact; an error doing so fails
// the transaction and is returned by Commit.
func (t *Tx) Counts() (newLinks, existing int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.done {
		t.flush() // an error is kept for Commit
	}
	return t.newLinks, t.existing
}

// Commit appends the access-log entry e in the same transaction and
// commits. The vault adds to e.Details the keys "domain", "links_new" and
// "links_existing" (overriding caller values of those names). If the entry
// cannot be written, nothing is committed.
func (t *Tx) Commit(e Entry) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return ErrTxDone
	}
	t.done = true
	defer t.releaseConn()
	err := t.flush() // the queued links
	t.close()
	if err != nil {
		t.tx.Rollback()
		return err
	}
	details := make(map[string]any, len(e.Details)+3)
	for key, val := range e.Details {
		details[key] = val
	}
	details["domain"] = t.domain.info.Name
	details["links_new"] = t.newLinks
	details["links_existing"] = t.existing
	e.Details = details
	r, err := newRow(&e, t.v.actor)
	if err != nil {
		t.tx.Rollback()
		return err
	}
	if err := appendRow(t.ctx, t.tx, t.k, t.v.vaultID, r, false); err != nil {
		t.tx.Rollback()
		return t.fail(err)
	}
	if r.seq != t.seq {
		t.tx.Rollback()
		return corruptf("log sequence moved during the transaction")
	}
	if err := t.tx.Commit(); err != nil {
		return t.fail(err)
	}
	return nil
}

// Rollback abandons the transaction: the file is left exactly as before
// Begin. It returns [ErrTxDone] if the transaction already ended, so it is
// safe to defer.
func (t *Tx) Rollback() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return ErrTxDone
	}
	t.done = true
	defer t.releaseConn()
	t.wait() // for the batch being written; its error does not matter now
	t.close()
	if err := t.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return err
	}
	return nil
}

func (t *Tx) close() {
	for _, st := range []*sql.Stmt{t.insCode, t.insIdx} {
		if st != nil {
			st.Close()
		}
	}
	for _, m := range t.stmts {
		for _, st := range m {
			st.Close()
		}
	}
	t.spill.close()
	t.spill = nil
	clear(t.deferArena)
	t.deferred, t.deferArena = nil, nil
	clear(t.hitArena)
	t.hits, t.hitArena = nil, nil
	clear(t.arena)
	t.pend = nil
	t.seen = seenSet{}
	clear(t.work.plain)
}

// Lookup returns the code linked to the canonical identifier of kind in
// domain, using the keyed index (no decryption). The link's state is not
// considered: a withdrawn person's code is returned too.
//
// Lookup does not write an access-log entry itself: one durable log write
// per look-up would cost milliseconds. The caller must record the access
// with [Vault.Append] (for example action "lookup" with the number of
// identifiers in Details) before it uses or shows any result, so that one
// entry covers a batch of look-ups and the log is written before the access
// happens. Opening the vault is always logged.
func (v *Vault) Lookup(domain, kind, canonical string) (code string, found bool, err error) {
	if err := checkLinkArgs(kind, canonical); err != nil {
		return "", false, err
	}
	k, err := v.keys()
	if err != nil {
		return "", false, err
	}
	d, err := v.domain(domain)
	if err != nil {
		return "", false, err
	}
	idx := k.indexOf(kind, canonical)
	ctx := context.Background()
	tx, err := v.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return "", false, classify(err)
	}
	defer tx.Rollback()
	r, found, err := linkByMap(ctx, tx, d.id, false, idx)
	return r.code, found, err
}
