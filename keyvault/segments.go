package keyvault

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
)

// Map segments (format 4).
//
// The first column of both maps (link_codes, link_index) is a segment of
// a domain (table map_segments); a domain's entries are those of its
// segments. Every write goes to the domain's newest segment, except that
// a bulk run with at least segmentMin new links first makes a new one
// (while the domain has fewer than maxSegments). A new segment's id is
// larger than every other, so SQLite appends the run's sorted entries to
// the end of each map's tree, on its fast path, instead of inserting
// them among the entries already there, which costs a descent from the
// root and, in full pages, splits (0.7-1.0 against 1.2-1.7 µs a row;
// docs/vault-format.md and benchmarks/README.md have the figures).
//
// SQLite keeps keys unique within a segment only; the writers keep them
// unique within a domain:
//   - a bulk run knows which identifiers are stored (its probes and the
//     stored-index filter cover every segment) and checks the codes of a
//     new segment against the older ones (codeFilter, checkOldCodes);
//   - a batch written outside a bulk run into a domain with more than one
//     segment is probed before anything is inserted, and its new codes
//     too (writeBatch);
//   - Assign looks the code up in every segment first.
//
// Verify checks that no key appears twice in a domain. Compact merges a
// domain's segments into one (vault compact).

// segmentMin is how many new links a bulk run must load for a segment of
// its own; maxSegments bounds a domain's segments (each look-up probes
// every one). A variable only so that tests can make segments of a few
// links.
var segmentMin = 65536

const maxSegments = 8

// addSegment adds a segment to domain and returns its id, larger than
// that of every other segment.
func addSegment(ctx context.Context, q queryer, domain int64) (int64, error) {
	res, err := q.ExecContext(ctx, `INSERT INTO map_segments (id, domain) VALUES ((SELECT COALESCE(max(id), 0) + 1 FROM map_segments), ?)`, domain)
	if err != nil {
		return 0, classify(err)
	}
	id, err := res.LastInsertId()
	return id, classify(err)
}

// domainSegments returns the ids of domain's segments, in increasing order.
func domainSegments(ctx context.Context, q queryer, domain int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT id FROM map_segments WHERE domain = ? ORDER BY id`, domain)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var segs []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, classify(err)
		}
		segs = append(segs, id)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	if len(segs) == 0 {
		return nil, corruptf("domain %d has no map segment", domain)
	}
	return segs, nil
}

// segList returns segs as the list of an SQL IN ("1,5,9").
func segList(segs []int64) string {
	var b strings.Builder
	for i, s := range segs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(s, 10))
	}
	return b.String()
}

// segsOfDomain is the subquery of a domain's segments, for a statement
// that takes the domain id as a parameter.
const segsOfDomain = `(SELECT id FROM map_segments WHERE domain = ?)`

// codeFilter is a filter of the codes in a domain's older segments: the
// codes of a new segment that it may hold are probed (checkOldCodes).
type codeFilter struct {
	f    *storedFilter
	seed maphash.Seed
}

func (c *codeFilter) hash(code string) (uint64, uint32) {
	h := maphash.String(c.seed, code)
	return h, uint32(h)
}

func (c *codeFilter) add(code string) { c.f.addKey(c.hash(code)) }

func (c *codeFilter) mayHold(code string) bool { return c.f.mayHoldKey(c.hash(code)) }

// checkOldCodes probes the codes of ps (sorted by code) in the domain's
// segments older than the newest: one there belongs to another link.
func (t *Tx) checkOldCodes(ps []pendingLink) error {
	if len(ps) == 0 || len(t.segs) < 2 {
		return nil
	}
	if err := t.probe(ps, probeOldCodeSQL); err != nil {
		return err
	}
	for i := range ps {
		if ps[i].found {
			return fmt.Errorf("%w: code %s in domain %s", ErrCodeTaken, ps[i].code, t.domain.info.Name)
		}
	}
	return nil
}

// newSegment gives the domain a new segment for the rest of the
// transaction's writes; prepared statements that name segments are
// prepared again.
func (t *Tx) newSegment() error {
	id, err := addSegment(t.ctx, t.tx, t.domain.id)
	if err != nil {
		return t.fail(err)
	}
	t.segs = append(t.segs, id)
	for kind := range t.stmts {
		for _, st := range t.stmts[kind] {
			st.Close()
		}
		t.stmts[kind] = nil
	}
	return nil
}

// wseg is the segment the transaction writes to: the domain's newest.
func (t *Tx) wseg() int64 { return t.segs[len(t.segs)-1] }

// segmentFor decides where a bulk run's spilled map entries go, before
// they are loaded: into a new segment when there are at least segmentMin
// of them and the domain has room for one, unless the domain is empty
// and its segment is the last of the vault (the entries are appended to
// it anyway). An empty domain's new segment replaces its old ones. Into
// a new segment next to older ones that hold links, the codes must be
// checked against those: it returns a filter of their codes for
// loadSpill.
func (t *Tx) segmentFor() (*codeFilter, error) {
	if t.newLinks < segmentMin || len(t.segs) >= maxSegments {
		return nil, nil
	}
	if !t.stored {
		var last int64
		if err := t.tx.QueryRowContext(t.ctx, `SELECT max(id) FROM map_segments`).Scan(&last); err != nil {
			return nil, t.fail(err)
		}
		if last == t.wseg() {
			return nil, nil
		}
	}
	older := slices.Clone(t.segs)
	if err := t.newSegment(); err != nil {
		return nil, err
	}
	if !t.stored {
		// The older segments are empty (nothing of this run is in the
		// maps before this load): the new one replaces them.
		if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM map_segments WHERE id IN (`+segList(older)+`)`); err != nil {
			return nil, t.fail(err)
		}
		t.segs = t.segs[len(older):]
		return nil, nil
	}
	if t.oldCodes != nil { // built with the stored-index filter
		return t.oldCodes, nil
	}
	_, c, err := t.scanStored(false, true)
	return c, err
}

// CompactReport says what [Vault.Compact] did.
type CompactReport struct {
	Domains  int // domains whose segments were merged
	Segments int // how many segments those domains had
	Links    int // their links (entries moved in each map)
}

// Compact merges the map segments of domain (every domain if domain is
// "") into one segment each, in one transaction, and logs a "compact"
// entry (e.Action is ignored). Afterwards each look-up, and each probe of
// a run, costs one search per domain again, and the domain has room for
// new segments. It moves every entry of a domain with more than one
// segment (2026-12-03, 2 cores: 2.42M links in two segments, 15.1 s,
// peak RSS 87 MB); nothing else can write to the vault meanwhile. A key
// found in two segments of a domain is damage (ErrCorrupt) and leaves
// the vault unchanged.
func (v *Vault) Compact(ctx context.Context, domain string, e Entry) (CompactReport, error) {
	var rep CompactReport
	var only int64 = -1
	if domain != "" {
		d, err := v.domain(domain)
		if err != nil {
			return rep, err
		}
		only = d.id
	}
	err := v.write(ctx, func(tx *sql.Tx, k *keys) error {
		rep = CompactReport{}
		domains, err := allDomains(ctx, tx)
		if err != nil {
			return err
		}
		for _, d := range domains {
			if only >= 0 && d.id != only {
				continue
			}
			segs, err := domainSegments(ctx, tx, d.id)
			if err != nil {
				return err
			}
			if len(segs) < 2 {
				continue
			}
			n, err := mergeSegments(ctx, tx, d.id, segs)
			if err != nil {
				return err
			}
			rep.Domains++
			rep.Segments += len(segs)
			rep.Links += n
		}
		details := map[string]any{"domains": rep.Domains, "segments": rep.Segments, "links": rep.Links}
		if domain != "" {
			details["domain"] = domain
		}
		e.Action = ""
		en := holderEntry(e, "compact", details)
		return v.appendEntry(ctx, tx, k, &en)
	})
	return rep, err
}

// mergeSegments moves the map entries of segs, domain's segments, into a
// new segment and drops segs; it returns how many links the domain has.
// Each map is merged in Go from the segments read in key order, a chunk
// at a time, and appended to the new segment (its id is the largest), so
// that memory stays bounded: SQLite's own ORDER BY over several segments
// sorted them in memory (410 MB peak RSS at 2.42M links).
func mergeSegments(ctx context.Context, tx *sql.Tx, domain int64, segs []int64) (int, error) {
	id, err := addSegment(ctx, tx, domain)
	if err != nil {
		return 0, err
	}
	list := segList(segs)
	links := -1
	for _, m := range []struct {
		table, key string
		text       bool
	}{{"link_index", "idx", false}, {"link_codes", "code", true}} {
		n, err := mergeMap(ctx, tx, m.table, m.key, m.text, segs, id)
		if err != nil {
			return 0, err
		}
		if links >= 0 && n != links {
			return 0, corruptf("the maps of domain %d have %d and %d entries", domain, links, n)
		}
		links = n
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+m.table+` WHERE seg IN (`+list+`)`); err != nil {
			return 0, classify(err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM map_segments WHERE id IN (`+list+`)`); err != nil {
		return 0, classify(err)
	}
	return links, nil
}

// mergeChunk is how many entries mergeMap reads from a segment at a time
// (a variable only so that tests can make chunks of a few entries).
var mergeChunk = 4096

// segReader reads one segment of a map in key order, a chunk at a time.
type segReader struct {
	seg  int64
	buf  []mapEntry
	pos  int
	done bool // the last chunk was short
}

type mapEntry struct {
	key  []byte
	link int64
}

// mergeMap appends the entries of table in segs to segment to, in key
// order, and returns how many there were. A key in two segments is
// ErrCorrupt. text: the key is TEXT (codes), else a BLOB.
func mergeMap(ctx context.Context, tx *sql.Tx, table, key string, text bool, segs []int64, to int64) (int, error) {
	first, err := tx.PrepareContext(ctx, `SELECT `+key+`, link FROM `+table+` WHERE seg = ? ORDER BY `+key+` LIMIT ?`)
	if err != nil {
		return 0, classify(err)
	}
	defer first.Close()
	after, err := tx.PrepareContext(ctx, `SELECT `+key+`, link FROM `+table+` WHERE seg = ? AND `+key+` > ? ORDER BY `+key+` LIMIT ?`)
	if err != nil {
		return 0, classify(err)
	}
	defer after.Close()
	typed := func(b []byte) any {
		if text {
			return string(b)
		}
		return b
	}
	fill := func(r *segReader) error {
		var rows *sql.Rows
		var err error
		if len(r.buf) == 0 {
			rows, err = first.QueryContext(ctx, r.seg, mergeChunk)
		} else {
			rows, err = after.QueryContext(ctx, r.seg, typed(r.buf[len(r.buf)-1].key), mergeChunk)
		}
		if err != nil {
			return classify(err)
		}
		defer rows.Close()
		r.buf, r.pos = r.buf[:0], 0
		for rows.Next() {
			var e mapEntry
			if err := rows.Scan(&e.key, &e.link); err != nil {
				return classify(err)
			}
			r.buf = append(r.buf, e)
		}
		r.done = len(r.buf) < mergeChunk
		return classify(rows.Err())
	}
	readers := make([]*segReader, len(segs))
	for i, sg := range segs {
		readers[i] = &segReader{seg: sg}
		if err := fill(readers[i]); err != nil {
			return 0, err
		}
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO `+table+` (seg, `+key+`, link) VALUES `+
		strings.TrimSuffix(strings.Repeat(fmt.Sprintf("(%d, ?, ?),", to), stmtRows), ","))
	if err != nil {
		return 0, classify(err)
	}
	defer ins.Close()
	one, err := tx.PrepareContext(ctx, fmt.Sprintf(`INSERT INTO `+table+` (seg, `+key+`, link) VALUES (%d, ?, ?)`, to))
	if err != nil {
		return 0, classify(err)
	}
	defer one.Close()
	args := make([]any, 0, 2*stmtRows)
	flush := func() error {
		_, err := ins.ExecContext(ctx, args...)
		clear(args)
		args = args[:0]
		return classify(err)
	}
	var prev []byte
	n := 0
	for {
		// The smallest current key (a domain has at most maxSegments).
		var min *segReader
		for _, r := range readers {
			if r.pos == len(r.buf) {
				if r.done {
					continue
				}
				if err := fill(r); err != nil {
					return 0, err
				}
				if len(r.buf) == 0 {
					continue
				}
			}
			if min == nil || bytes.Compare(r.buf[r.pos].key, min.buf[min.pos].key) < 0 {
				min = r
			}
		}
		if min == nil {
			break
		}
		e := min.buf[min.pos]
		min.pos++
		if n > 0 && bytes.Equal(e.key, prev) {
			return 0, corruptf("a key of the map %s is in two segments of one domain", table)
		}
		prev = append(prev[:0], e.key...)
		args = append(args, typed(e.key), e.link)
		n++
		if len(args) == 2*stmtRows {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	for i := 0; i < len(args); i += 2 {
		if _, err := one.ExecContext(ctx, args[i], args[i+1]); err != nil {
			return 0, classify(err)
		}
	}
	return n, nil
}
