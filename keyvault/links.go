package keyvault

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// LinkRef is one link of a person.
type LinkRef struct {
	Domain, Code, Kind string
	// State is LinkActive ("active") or LinkWithdrawn ("withdrawn").
	State string
	// Identifier is the canonical identifier, decrypted; "" for withdrawn
	// links (their identifier is erased) or when not requested.
	Identifier string
}

// Person names a person by the kind and canonical form of one of their
// identifiers (as given to [Tx.Link]).
type Person struct{ Kind, Canonical string }

// indexOf computes the keyed index HMAC(link-index key, kind || 0x00 ||
// canonical).
func (k *keys) indexOf(kind, canonical string) []byte {
	m := hmac.New(sha256.New, k.index)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(canonical))
	return m.Sum(nil)
}

// openLink decrypts a sealed identifier and checks it against the row's
// keyed index. Errors name the domain and code, never the identifier.
func (k *keys) openLink(domain, code, kind string, sealed, idx []byte) (string, error) {
	canon, err := openIdentifier(k.aead, sealed, appendLinkAD(nil, domain, code, kind))
	if err != nil {
		return "", corruptf("link %s in domain %s does not decrypt", code, domain)
	}
	if !hmac.Equal(k.indexOf(kind, canon), idx) {
		return "", corruptf("link %s in domain %s: the identifier does not match its index", code, domain)
	}
	return canon, nil
}

// allDomains lists the domain rows in id order.
func allDomains(ctx context.Context, q queryer) ([]domainRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, name, scheme, created FROM domains ORDER BY id`)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []domainRow
	for rows.Next() {
		d, err := scanDomain(rows)
		if err != nil {
			return nil, classify(err)
		}
		out = append(out, d)
	}
	return out, classify(rows.Err())
}

// readTx runs fn in a read transaction with the unlocked keys.
func (v *Vault) readTx(ctx context.Context, fn func(tx *sql.Tx, k *keys) error) error {
	k, err := v.keys()
	if err != nil {
		return err
	}
	tx, err := v.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return classify(err)
	}
	defer tx.Rollback()
	return fn(tx, k)
}

// linksOf returns the links with keyed index idx in every domain (one
// probe of the keyed-index map per domain).
func linksOf(ctx context.Context, q queryer, domains []domainRow, idx []byte) ([]LinkRef, [][]byte, error) {
	var refs []LinkRef
	var sealed [][]byte
	for _, d := range domains {
		l, ok, err := linkByMap(ctx, q, d.id, false, idx)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			continue
		}
		refs = append(refs, LinkRef{Domain: d.info.Name, Code: l.code, Kind: l.kind, State: l.state})
		sealed = append(sealed, l.sealed)
	}
	return refs, sealed, nil
}

func hasTombstone(ctx context.Context, q queryer, idx []byte) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM withdrawn WHERE idx = ?`, idx).Scan(&n); err != nil {
		return false, classify(err)
	}
	return n > 0, nil
}

// FindPerson returns the person's links in every domain (found by the keyed
// index; nothing is decrypted, so Identifier is ""), and whether a
// withdrawal tombstone exists for them. It does not log: the caller's
// action does (for example a "lookup" entry written with [Vault.Append]
// before the result is shown). Errors never contain the identifier.
func (v *Vault) FindPerson(kind, canonical string) (refs []LinkRef, withdrawn bool, err error) {
	if err := checkLinkArgs(kind, canonical); err != nil {
		return nil, false, err
	}
	ctx := context.Background()
	err = v.readTx(ctx, func(tx *sql.Tx, k *keys) error {
		domains, err := allDomains(ctx, tx)
		if err != nil {
			return err
		}
		idx := k.indexOf(kind, canonical)
		if refs, _, err = linksOf(ctx, tx, domains, idx); err != nil {
			return err
		}
		withdrawn, err = hasTombstone(ctx, tx, idx)
		return err
	})
	return refs, withdrawn, err
}

// Withdrawn reports whether a withdrawal tombstone exists for the person.
func (v *Vault) Withdrawn(kind, canonical string) (bool, error) {
	if err := checkLinkArgs(kind, canonical); err != nil {
		return false, err
	}
	k, err := v.keys()
	if err != nil {
		return false, err
	}
	return hasTombstone(context.Background(), v.db, k.indexOf(kind, canonical))
}

// FindCode returns the links with this code (in any domain: codes are
// unique per domain, so there may be several) followed by every other link
// of the same person (same keyed index) in any domain, with Identifier
// decrypted for active links. It returns an error matching [ErrNotFound]
// when no link has the code. It does not log: the caller's action does.
func (v *Vault) FindCode(code string) ([]LinkRef, error) {
	if !validCode(code) {
		return nil, invalidf("code must be 1-%d printable ASCII characters", maxCodeLen)
	}
	ctx := context.Background()
	var out []LinkRef
	err := v.readTx(ctx, func(tx *sql.Tx, k *keys) error {
		domains, err := allDomains(ctx, tx)
		if err != nil {
			return err
		}
		var idxs [][]byte
		for _, d := range domains {
			l, ok, err := linkByMap(ctx, tx, d.id, true, code)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			idxs = append(idxs, l.idx)
		}
		if len(idxs) == 0 {
			return fmt.Errorf("%w: %s", ErrNotFound, code)
		}
		seen := map[string]bool{}
		var first, rest []LinkRef
		for _, idx := range idxs {
			refs, sealed, err := linksOf(ctx, tx, domains, idx)
			if err != nil {
				return err
			}
			for i, r := range refs {
				key := r.Domain + "\x00" + r.Code
				if seen[key] {
					continue
				}
				seen[key] = true
				if r.State == LinkActive {
					if r.Identifier, err = k.openLink(r.Domain, r.Code, r.Kind, sealed[i], idx); err != nil {
						return err
					}
				}
				if r.Code == code {
					first = append(first, r)
				} else {
					rest = append(rest, r)
				}
			}
		}
		out = append(first, rest...)
		return nil
	})
	return out, err
}

// WithdrawnCodes returns every withdrawn code in a domain ("" = all
// domains), sorted, for re-scanning datasets. Codes of different domains
// may coincide (random codes); the list has each code once.
func (v *Vault) WithdrawnCodes(domain string) ([]string, error) {
	if _, err := v.keys(); err != nil {
		return nil, err
	}
	// The keyed-index map marks withdrawn links (a negated id), so only
	// their groups are read.
	q := `SELECT -link FROM link_index WHERE link < 0 ORDER BY -link`
	var args []any
	if domain != "" {
		d, err := v.domain(domain)
		if err != nil {
			return nil, err
		}
		q = `SELECT -link FROM link_index WHERE link < 0 AND seg IN ` + segsOfDomain + ` ORDER BY -link`
		args = append(args, d.id)
	}
	ctx := context.Background()
	tx, err := v.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, classify(err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, classify(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, classify(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	set := map[string]bool{}
	for _, id := range ids {
		r, ok, err := readLink(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if !ok || r.state != LinkWithdrawn {
			return nil, corruptf("the keyed index marks link %d withdrawn, but it is not", id)
		}
		set[r.code] = true
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	slices.Sort(out)
	return out, nil
}

// Withdraw records the withdrawal of persons, in one transaction with the
// access-log entry e (Action "withdraw" if empty):
//
//   - every link of each person in every domain becomes LinkWithdrawn, its
//     sealed identifier erased (overwritten in the file: secure_delete) and
//     links.changed set to the entry's seq; the keyed index and the code
//     stay, so datasets can still be matched by code and a later run
//     recognises the person;
//   - a domain-independent tombstone (table withdrawn: the keyed index
//     only) is stored, also for a person with no link at all, so that any
//     later [Tx.Link] or [Tx.Assign] of that person in any domain returns
//     an error matching [ErrWithdrawn].
//
// It is idempotent: withdrawing again changes nothing but the log. It
// returns every link of the persons (all now withdrawn, including those
// withdrawn before), in the order of persons and domains. The vault adds to
// e.Details "withdrawn_persons" (number of persons given), "tombstones_new",
// "links_withdrawn" (links changed now) and "codes_withdrawn" (their
// codes); e must name no identifier. After a withdrawal the identifier
// cannot be revealed any more ([Vault.Reveal], [Vault.FindCode]).
func (v *Vault) Withdraw(ctx context.Context, persons []Person, e Entry) ([]LinkRef, error) {
	for _, p := range persons {
		if err := checkLinkArgs(p.Kind, p.Canonical); err != nil {
			return nil, err
		}
	}
	if e.Action == "" {
		e.Action = "withdraw"
	}
	var out []LinkRef
	err := v.write(ctx, func(tx *sql.Tx, k *keys) error {
		out = nil
		domains, err := allDomains(ctx, tx)
		if err != nil {
			return err
		}
		var last int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(max(seq), 0) FROM log`).Scan(&last); err != nil {
			return classify(err)
		}
		seq := last + 1
		done := map[string]bool{}
		newTomb, changed := 0, 0
		codes := []string{}
		for _, p := range persons {
			idx := k.indexOf(p.Kind, p.Canonical)
			if done[string(idx)] {
				continue
			}
			done[string(idx)] = true
			res, err := tx.ExecContext(ctx, `INSERT INTO withdrawn (idx, created) VALUES (?, ?) ON CONFLICT DO NOTHING`, idx, seq)
			if err != nil {
				return classify(err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				newTomb++
			}
			refs, _, err := linksOf(ctx, tx, domains, idx)
			if err != nil {
				return err
			}
			var ids []int64
			for _, d := range domains {
				var id int64
				err := tx.QueryRowContext(ctx, `SELECT link FROM link_index WHERE seg IN `+segsOfDomain+` AND idx = ?`, d.id, idx).Scan(&id)
				if errors.Is(err, sql.ErrNoRows) {
					continue
				}
				if err != nil {
					return classify(err)
				}
				if id > 0 {
					ids = append(ids, id)
				}
			}
			// The group is rewritten without the sealed identifier
			// (secure_delete zeroes the old row's space).
			if err := updateLinks(ctx, tx, ids, func(r *linkRec) {
				r.state, r.sealed, r.changed = LinkWithdrawn, nil, seq
			}); err != nil {
				return err
			}
			for _, r := range refs {
				if r.State == LinkActive {
					// The keyed-index map marks the link withdrawn too (a
					// negated id), so that a run learns it from the map.
					if _, err := tx.ExecContext(ctx, `UPDATE link_index SET link = -link
						WHERE seg IN (SELECT s.id FROM map_segments s JOIN domains d ON d.id = s.domain WHERE d.name = ?)
						AND idx = ? AND link > 0`, r.Domain, idx); err != nil {
						return classify(err)
					}
					changed++
					codes = append(codes, r.Code)
				}
				r.State, r.Identifier = LinkWithdrawn, ""
				out = append(out, r)
			}
		}
		details := make(map[string]any, len(e.Details)+4)
		for key, val := range e.Details {
			details[key] = val
		}
		details["withdrawn_persons"] = len(persons)
		details["tombstones_new"] = newTomb
		details["links_withdrawn"] = changed
		logCodes(details, "codes_withdrawn", codes)
		en := e
		en.Details = details
		if err := v.appendEntry(ctx, tx, k, &en); err != nil {
			return err
		}
		if en.Seq != seq {
			return corruptf("log sequence moved during the transaction")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// maxLoggedCodes bounds the codes listed in one log entry's details; more
// are summarised by count and a SHA-256 digest.
const maxLoggedCodes = 1000

// logCodes returns the details that record a list of codes.
func logCodes(details map[string]any, key string, codes []string) {
	if len(codes) <= maxLoggedCodes {
		details[key] = codes
		return
	}
	details[key] = codes[:maxLoggedCodes]
	details[key+"_count"] = len(codes)
	h := sha256.New()
	for _, c := range codes {
		h.Write([]byte(c))
		h.Write([]byte{'\n'})
	}
	details[key+"_sha256"] = fmt.Sprintf("%x", h.Sum(nil))
}

// Reveal re-identifies: it returns the links with the given codes, in
// domain (or in every domain if domain is ""), with their identifiers
// decrypted. The access is logged first: the entry e (Action "reveal" if
// empty; e.Purpose is required, [ErrPurposeRequired]) is committed, with
// the codes asked for and the counts found, before anything is returned;
// if it cannot be written, nothing is revealed. The vault adds to
// e.Details "domain", "codes", "found", "withdrawn" and "not_found" (the
// codes not found).
//
// A withdrawn person's identifier has been erased ([Vault.Withdraw]): their
// links are returned with State LinkWithdrawn and no Identifier, and no
// program can reveal them any more. Codes not found are simply absent from
// the result (one code may give several links in different domains).
// Codes that contain a run of 11 digits are refused
// ([ErrLooksLikeIdentifier]): they would put an identity number in the log.
func (v *Vault) Reveal(ctx context.Context, codes []string, domain string, e Entry) ([]LinkRef, error) {
	if strings.TrimSpace(e.Purpose) == "" {
		return nil, ErrPurposeRequired
	}
	for i, c := range codes {
		if !validCode(c) {
			return nil, invalidf("code %d: must be 1-%d printable ASCII characters", i+1, maxCodeLen)
		}
		if hasIdentityNumber(c) {
			return nil, ErrLooksLikeIdentifier
		}
	}
	if e.Action == "" {
		e.Action = "reveal"
	}
	var out []LinkRef
	err := v.write(ctx, func(tx *sql.Tx, k *keys) error {
		out = nil
		domains, err := allDomains(ctx, tx)
		if err != nil {
			return err
		}
		if domain != "" {
			var only []domainRow
			for _, d := range domains {
				if d.info.Name == domain {
					only = append(only, d)
				}
			}
			if len(only) == 0 {
				return fmt.Errorf("%w: %q", ErrNoDomain, domain)
			}
			domains = only
		}
		withdrawn := 0
		notFound := []string{}
		for _, c := range codes {
			found := false
			for _, d := range domains {
				l, ok, err := linkByMap(ctx, tx, d.id, true, c)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				r := LinkRef{Domain: d.info.Name, Code: c, Kind: l.kind, State: l.state}
				found = true
				if r.State == LinkActive {
					if r.Identifier, err = k.openLink(r.Domain, c, r.Kind, l.sealed, l.idx); err != nil {
						return err
					}
				} else {
					withdrawn++
				}
				out = append(out, r)
			}
			if !found {
				notFound = append(notFound, c)
			}
		}
		details := make(map[string]any, len(e.Details)+5)
		for key, val := range e.Details {
			details[key] = val
		}
		details["domain"] = domain
		logCodes(details, "codes", codes)
		details["found"] = len(out)
		details["withdrawn"] = withdrawn
		logCodes(details, "not_found", notFound)
		en := e
		en.Details = details
		return v.appendEntry(ctx, tx, k, &en)
	})
	if err != nil {
		for i := range out {
			out[i].Identifier = ""
		}
		return nil, err
	}
	return out, nil
}

// Resolve returns the link with code in domain (which may differ from the
// transaction's domain), with its identifier decrypted if it is active, or
// an error matching [ErrNotFound]. It reads through the transaction, so it
// sees the transaction's own links. It does not log: the entry the
// transaction commits covers it (recoding a dataset from one domain to
// another is one "recode" run).
func (t *Tx) Resolve(domain, code string) (LinkRef, error) {
	if !validCode(code) {
		return LinkRef{}, invalidf("code must be 1-%d printable ASCII characters", maxCodeLen)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return LinkRef{}, ErrTxDone
	}
	if err := t.flush(); err != nil {
		return LinkRef{}, err
	}
	var did int64
	err := t.tx.QueryRowContext(t.ctx, `SELECT id FROM domains WHERE name = ?`, domain).Scan(&did)
	if errors.Is(err, sql.ErrNoRows) {
		return LinkRef{}, fmt.Errorf("%w: %q", ErrNoDomain, domain)
	}
	if err != nil {
		return LinkRef{}, t.fail(err)
	}
	l, ok, err := linkByMap(t.ctx, t.tx, did, true, code)
	if err != nil {
		return LinkRef{}, t.fail(err)
	}
	if !ok {
		return LinkRef{}, fmt.Errorf("%w: %s in domain %s", ErrNotFound, code, domain)
	}
	r := LinkRef{Domain: domain, Code: code, Kind: l.kind, State: l.state}
	if r.State == LinkActive {
		if r.Identifier, err = t.k.openLink(domain, code, r.Kind, l.sealed, l.idx); err != nil {
			return LinkRef{}, err
		}
	}
	return r, nil
}
