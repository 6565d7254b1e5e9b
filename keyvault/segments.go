package keyvault

import (
	"context"
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
// Verify checks that no key appears twice in a domain.

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
