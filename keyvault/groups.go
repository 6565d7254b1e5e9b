package keyvault

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Format 3 stores the links in groups: the links with ids 64g to 64g+63
// are one row g of link_groups, packed into one blob (see
// docs/vault-format.md, "link_groups"). A run appends its links a group at
// a time, so SQLite writes one row, one bound value, a record and an
// append per 64 links instead of one of each per link: the row and its
// bindings were a third of a large run's time in format 2.

// groupShift is log2 of the number of links in a group.
const groupShift = 6

const (
	groupSlots = 1 << groupShift
	slotMask   = groupSlots - 1

	// entry flags
	flagWithdrawn = 1

	// maxSealedLen bounds a sealed identifier: nonce, the longest padded
	// canonical form and the tag.
	maxSealedLen = nonceLen + maxCanonicalLen + sealPad + 16
)

// linkRec is one link as a group stores it.
type linkRec struct {
	id      int64
	domain  int64
	state   string // LinkActive or LinkWithdrawn
	created int64  // log sequence number of the run that made the link
	changed int64  // log sequence number of its withdrawal; 0 if none
	code    string
	kind    string
	idx     []byte // idxLen bytes
	sealed  []byte // nil when withdrawn
}

// groupOf returns the group of link id.
func groupOf(id int64) int64 { return id >> groupShift }

// appendEntry appends the encoding of r (which must belong to the group
// being encoded, after its entries of lower id) to dst:
//
//	slot (1 byte) flags (1 byte) domain created changed (uvarints)
//	code-length code kind-length kind (1 byte each + bytes) idx (32 bytes)
//	sealed-length (uvarint) sealed
func appendEntry(dst []byte, r *linkRec) []byte {
	var flags byte
	if r.state == LinkWithdrawn {
		flags = flagWithdrawn
	}
	dst = append(dst, byte(r.id&slotMask), flags)
	dst = binary.AppendUvarint(dst, uint64(r.domain))
	dst = binary.AppendUvarint(dst, uint64(r.created))
	dst = binary.AppendUvarint(dst, uint64(r.changed))
	dst = append(dst, byte(len(r.code)))
	dst = append(dst, r.code...)
	dst = append(dst, byte(len(r.kind)))
	dst = append(dst, r.kind...)
	dst = append(dst, r.idx...)
	dst = binary.AppendUvarint(dst, uint64(len(r.sealed)))
	return append(dst, r.sealed...)
}

// groupReader decodes the entries of one group. Every malformed group is
// reported as ErrCorrupt naming the group, never its content.
type groupReader struct {
	gid  int64
	data []byte
	last int // slot of the entry read last, -1 before the first
}

func newGroupReader(gid int64, data []byte) groupReader {
	return groupReader{gid: gid, data: data, last: -1}
}

func (g *groupReader) bad(what string) error {
	return corruptf("link group %d: %s", g.gid, what)
}

func (g *groupReader) uvarint(what string) (int64, error) {
	v, n := binary.Uvarint(g.data)
	if n <= 0 || v > 1<<62 {
		return 0, g.bad(what + " is malformed")
	}
	g.data = g.data[n:]
	return int64(v), nil
}

func (g *groupReader) bytes(n int, what string) ([]byte, error) {
	if n > len(g.data) {
		return nil, g.bad(what + " is cut short")
	}
	b := g.data[:n:n]
	g.data = g.data[n:]
	return b, nil
}

// next decodes the next entry into r and reports whether there was one.
// r's idx and sealed alias the group's data.
func (g *groupReader) next(r *linkRec) (bool, error) {
	if len(g.data) == 0 {
		if g.last < 0 {
			return false, g.bad("it is empty")
		}
		return false, nil
	}
	head, err := g.bytes(2, "an entry")
	if err != nil {
		return false, err
	}
	slot := int(head[0])
	if slot > slotMask || slot <= g.last {
		return false, g.bad("its entries are out of order")
	}
	g.last = slot
	r.id = g.gid<<groupShift | int64(slot)
	if r.id <= 0 {
		return false, g.bad("it has a link with id 0")
	}
	switch head[1] {
	case 0:
		r.state = LinkActive
	case flagWithdrawn:
		r.state = LinkWithdrawn
	default:
		return false, g.bad(fmt.Sprintf("link %d has unknown flags", r.id))
	}
	if r.domain, err = g.uvarint("a domain"); err != nil {
		return false, err
	}
	if r.created, err = g.uvarint("a creation"); err != nil {
		return false, err
	}
	if r.changed, err = g.uvarint("a change"); err != nil {
		return false, err
	}
	n, err := g.bytes(1, "a code")
	if err != nil {
		return false, err
	}
	code, err := g.bytes(int(n[0]), "a code")
	if err != nil {
		return false, err
	}
	r.code = string(code)
	if n, err = g.bytes(1, "a kind"); err != nil {
		return false, err
	}
	kind, err := g.bytes(int(n[0]), "a kind")
	if err != nil {
		return false, err
	}
	r.kind = string(kind)
	if r.idx, err = g.bytes(idxLen, "a keyed index"); err != nil {
		return false, err
	}
	sl, err := g.uvarint("a sealed identifier")
	if err != nil {
		return false, err
	}
	if sl > maxSealedLen {
		return false, g.bad(fmt.Sprintf("link %d has an oversized sealed identifier", r.id))
	}
	if r.sealed, err = g.bytes(int(sl), "a sealed identifier"); err != nil {
		return false, err
	}
	if sl == 0 {
		r.sealed = nil
	}
	if r.domain <= 0 || r.created <= 0 || !validCode(r.code) || !validKind(r.kind) {
		return false, g.bad(fmt.Sprintf("link %d is malformed", r.id))
	}
	if (r.state == LinkActive) != (r.sealed != nil) || (r.state == LinkWithdrawn) != (r.changed > 0) {
		return false, g.bad(fmt.Sprintf("link %d has a state that does not match its content", r.id))
	}
	return true, nil
}

// skip passes over the next entry, checking only that it is there and in
// order, and returns its slot.
func (g *groupReader) skip() (int, error) {
	head, err := g.bytes(2, "an entry")
	if err != nil {
		return 0, err
	}
	slot := int(head[0])
	if slot > slotMask || slot <= g.last {
		return 0, g.bad("its entries are out of order")
	}
	g.last = slot
	for range 3 {
		if _, err := g.uvarint("a number"); err != nil {
			return 0, err
		}
	}
	for range 2 {
		n, err := g.bytes(1, "a length")
		if err != nil {
			return 0, err
		}
		if _, err := g.bytes(int(n[0]), "a code or kind"); err != nil {
			return 0, err
		}
	}
	if _, err := g.bytes(idxLen, "a keyed index"); err != nil {
		return 0, err
	}
	sl, err := g.uvarint("a sealed identifier")
	if err != nil {
		return 0, err
	}
	if sl > maxSealedLen {
		return 0, g.bad("an oversized sealed identifier")
	}
	_, err = g.bytes(int(sl), "a sealed identifier")
	return slot, err
}

// find decodes the entry of link id into r, passing over the entries
// before it without decoding them, and reports whether it is there.
func (g *groupReader) find(id int64, r *linkRec) (bool, error) {
	want := int(id & slotMask)
	for len(g.data) > 0 && int(g.data[0]) < want {
		if _, err := g.skip(); err != nil {
			return false, err
		}
	}
	if len(g.data) == 0 || int(g.data[0]) != want {
		return false, nil
	}
	return g.next(r)
}

// eachInGroup calls fn for every link of group gid (data as stored).
func eachInGroup(gid int64, data []byte, fn func(r *linkRec) error) error {
	g := newGroupReader(gid, data)
	var r linkRec
	for {
		ok, err := g.next(&r)
		if err != nil || !ok {
			return err
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
}

// readLink returns link id, or ok false if there is no such link. The
// returned record's byte slices are its own.
func readLink(ctx context.Context, q queryer, id int64) (r linkRec, ok bool, err error) {
	var data []byte
	err = q.QueryRowContext(ctx, `SELECT data FROM link_groups WHERE id = ?`, groupOf(id)).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, classify(err)
	}
	g := newGroupReader(groupOf(id), data)
	ok, err = g.find(id, &r)
	return r, ok, err
}

// eachLink calls fn for every link of the vault in id order. The record
// and its slices are valid only during the call.
func eachLink(ctx context.Context, q queryer, fn func(r *linkRec) error) error {
	return eachLinkTo(ctx, q, math.MaxInt64, fn)
}

// eachLinkTo is eachLink for the groups up to lastGroup.
func eachLinkTo(ctx context.Context, q queryer, lastGroup int64, fn func(r *linkRec) error) error {
	rows, err := q.QueryContext(ctx, `SELECT id, data FROM link_groups WHERE id <= ? ORDER BY id`, lastGroup)
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var gid int64
		var data []byte
		if err := rows.Scan(&gid, &data); err != nil {
			return classify(err)
		}
		if err := eachInGroup(gid, data, fn); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return classify(err)
	}
	return rows.Close()
}

// updateLinks rewrites the groups of the links ids (any order), calling
// change for each of them; a missing link is ErrCorrupt (a map pointed to
// it). Each group is written once.
func updateLinks(ctx context.Context, q queryer, ids []int64, change func(r *linkRec)) error {
	want := map[int64]map[int64]bool{}
	for _, id := range ids {
		g := groupOf(id)
		if want[g] == nil {
			want[g] = map[int64]bool{}
		}
		want[g][id] = true
	}
	for gid, set := range want {
		var data []byte
		if err := q.QueryRowContext(ctx, `SELECT data FROM link_groups WHERE id = ?`, gid).Scan(&data); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return corruptf("link group %d is missing", gid)
			}
			return classify(err)
		}
		var out []byte
		found := 0
		err := eachInGroup(gid, data, func(r *linkRec) error {
			if set[r.id] {
				change(r)
				found++
			}
			out = appendEntry(out, r)
			return nil
		})
		if err != nil {
			return err
		}
		if found != len(set) {
			return corruptf("link group %d lacks a link a map points to", gid)
		}
		if _, err := q.ExecContext(ctx, `UPDATE link_groups SET data = ? WHERE id = ?`, out, gid); err != nil {
			return err
		}
	}
	return nil
}

// lastLinkID returns the highest link id, 0 in a vault without links,
// and the data of its group.
func lastLinkID(ctx context.Context, q queryer) (int64, []byte, error) {
	var gid int64
	var data []byte
	err := q.QueryRowContext(ctx, `SELECT id, data FROM link_groups ORDER BY id DESC LIMIT 1`).Scan(&gid, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, classify(err)
	}
	var last int64
	err = eachInGroup(gid, data, func(r *linkRec) error {
		last = r.id
		return nil
	})
	return last, data, err
}

// abs returns the id of a map entry's link (negated in link_index while
// the link is withdrawn).
func abs(id int64) int64 {
	if id < 0 {
		return -id
	}
	return id
}

// linkByMap returns the link that a map sends key to in domain: by keyed
// index (byCode false) or by code.
func linkByMap(ctx context.Context, q queryer, domain int64, byCode bool, key any) (linkRec, bool, error) {
	query := `SELECT link FROM link_index WHERE seg IN ` + segsOfDomain + ` AND idx = ?`
	if byCode {
		query = `SELECT link FROM link_codes WHERE seg IN ` + segsOfDomain + ` AND code = ?`
	}
	var id int64
	err := q.QueryRowContext(ctx, query, domain, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return linkRec{}, false, nil
	}
	if err != nil {
		return linkRec{}, false, classify(err)
	}
	r, ok, err := readLink(ctx, q, abs(id))
	if err != nil {
		return r, false, err
	}
	if !ok || r.domain != domain {
		return r, false, corruptf("a map of domain %d points to a missing link", domain)
	}
	return r, true, nil
}

// groupTail is the last group of links a transaction wrote: its id (-1
// for none) and entries.
type groupTail struct {
	gid  int64
	data []byte
}

// groupSpan is a group encoded in Tx.groupBuf.
type groupSpan struct {
	gid        int64
	start, end int
}

// groupsPerStmt is the most groups one INSERT writes.
const groupsPerStmt = 8

// writeLinks adds n new links, given by rec in increasing id order and
// above every link stored, to their groups. Each group is written once
// with all of its links of this call; the first one again if it is the
// group last written (Tx.tail), which then gets them too.
func (t *Tx) writeLinks(n int, rec func(i int, r *linkRec)) error {
	buf, spans := t.groupBuf[:0], t.groupArgs[:0]
	cur := groupSpan{gid: -1}
	var r linkRec
	for i := range n {
		rec(i, &r)
		if g := groupOf(r.id); g != cur.gid {
			if cur.gid >= 0 {
				cur.end = len(buf)
				spans = append(spans, cur)
			}
			if len(spans) == groupsPerStmt {
				if err := t.writeGroups(buf, spans); err != nil {
					return err
				}
				buf, spans = buf[:0], spans[:0]
			}
			cur = groupSpan{gid: g, start: len(buf)}
			if g == t.tail.gid {
				buf = append(buf, t.tail.data...)
			}
		}
		buf = appendEntry(buf, &r)
	}
	if cur.gid < 0 {
		return nil
	}
	cur.end = len(buf)
	spans = append(spans, cur)
	t.tail = groupTail{gid: cur.gid, data: append(t.tail.data[:0], buf[cur.start:cur.end]...)}
	err := t.writeGroups(buf, spans)
	clear(buf)
	t.groupBuf, t.groupArgs = buf[:0], spans[:0]
	return err
}

// writeGroups writes (or rewrites) the groups spans of buf.
func (t *Tx) writeGroups(buf []byte, spans []groupSpan) error {
	st, err := t.stmt(insGroupSQL, len(spans))
	if err != nil {
		return err
	}
	t.args = t.args[:0]
	for _, s := range spans {
		t.args = append(t.args, s.gid, buf[s.start:s.end])
	}
	_, err = st.ExecContext(t.ctx, t.args...)
	clear(t.args)
	if err != nil {
		return t.fail(err)
	}
	return nil
}
