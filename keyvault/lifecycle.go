package keyvault

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"time"
)

// SetRetention sets the retention date (after which the key should be
// destroyed with [Vault.Destroy]), or clears it with the zero time, and
// logs a "retention" entry with the old and new dates.
func (v *Vault) SetRetention(ctx context.Context, t time.Time, e Entry) error {
	val := ""
	if !t.IsZero() {
		val = formatTime(t)
	}
	return v.write(ctx, func(tx *sql.Tx, k *keys) error {
		var old string
		if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'retention'`).Scan(&old); err != nil {
			return classify(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'retention'`, val); err != nil {
			return err
		}
		en := holderEntry(e, "retention", map[string]any{"retention": val, "previous": old})
		return v.appendEntry(ctx, tx, k, &en)
	})
}

// DestroyReport describes a destruction ([Vault.Destroy]).
type DestroyReport struct {
	VaultID string    // the vault's id (hex)
	Time    time.Time // when the key was destroyed
	// Seq and FinalHash identify the "destroy" entry, the last of the log
	// (FinalHash is its hex SHA-256 chain hash). Keep them outside the
	// vault (in the project's records): with them anyone can check later
	// that the log of the destroyed vault is the one that was destroyed
	// ([VerifyOptions].Head).
	Seq       int64
	FinalHash string
	// What was removed.
	Slots, Links, Tombstones int
}

// Destroy crypto-shreds the vault: it removes every key slot (so the
// project secret can never be unwrapped again), every link (codes,
// sealed identifiers, keyed indexes) and every withdrawal tombstone, so
// that codes can never be linked back to persons. It requires a purpose
// ([ErrPurposeRequired]).
//
// In one transaction it verifies the log, folds pending failed unlocks,
// appends a "destroy" entry (e.Action is ignored) authenticated like every
// other entry, deletes the rows (secure_delete overwrites them in the
// file), removes the log-head MAC (its key is gone) and stores the
// destruction time and the destroy entry's hash (meta destroyed and
// log_final_hash). Then it wipes the keys from memory, compacts the file
// (VACUUM) and closes the handle. What remains is the project name,
// dates, domain names and the access log, which [VerifyFile] checks without
// a key; see docs/vault-format.md for what this does and does not prove,
// and for copies (backups, snapshots, the journal) that must be destroyed
// too.
//
// If the compaction fails after the commit, the key is nevertheless
// destroyed; the error says so.
func (v *Vault) Destroy(ctx context.Context, e Entry) (*DestroyReport, error) {
	if strings.TrimSpace(e.Purpose) == "" {
		return nil, ErrPurposeRequired
	}
	rep := &DestroyReport{VaultID: hex.EncodeToString(v.vaultID)}
	err := v.write(ctx, func(tx *sql.Tx, k *keys) error {
		if err := verifyChain(ctx, tx, k, v.vaultID); err != nil {
			return err
		}
		if _, err := foldFailedUnlocks(ctx, tx, k, v.vaultID); err != nil {
			return err
		}
		for _, c := range []struct {
			q   string
			dst *int
		}{
			{`SELECT count(*) FROM slots`, &rep.Slots},
			{`SELECT count(*) FROM link_index`, &rep.Links}, // one entry a link
			{`SELECT count(*) FROM withdrawn`, &rep.Tombstones},
		} {
			if err := tx.QueryRowContext(ctx, c.q).Scan(c.dst); err != nil {
				return classify(err)
			}
		}
		var retention string
		if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'retention'`).Scan(&retention); err != nil {
			return classify(err)
		}
		rep.Time = now()
		en := holderEntry(e, "", map[string]any{
			"slots_removed":      rep.Slots,
			"links_removed":      rep.Links,
			"tombstones_removed": rep.Tombstones,
			"retention":          retention,
		})
		en.Action = "destroy"
		if err := v.appendEntry(ctx, tx, k, &en); err != nil {
			return err
		}
		rep.Seq, rep.FinalHash = en.Seq, hex.EncodeToString(en.Hash)
		for _, q := range []string{
			`DELETE FROM link_groups`, `DELETE FROM link_codes`, `DELETE FROM link_index`,
			`DELETE FROM withdrawn`, `DELETE FROM slots`, `DELETE FROM failed_unlocks`,
			`DELETE FROM meta WHERE key = 'log_head_mac'`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('destroyed', ?), ('log_final_hash', ?)`,
			formatTime(rep.Time), en.Hash); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	v.mu.Lock()
	if v.k != nil {
		v.k.wipe()
		v.k = nil
	}
	v.mu.Unlock()
	_, verr := v.db.ExecContext(ctx, `VACUUM`)
	cerr := v.db.Close()
	if err := errors.Join(verr, cerr); err != nil {
		return rep, fmt.Errorf("keyvault: the key is destroyed, but compacting the file failed (run the destruction's VACUUM again with any SQLite tool): %w", err)
	}
	return rep, nil
}

// VerifyOptions adjust [Vault.Verify] and [VerifyFile].
type VerifyOptions struct {
	// Head, if not empty, is the hex hash of a log entry kept outside the
	// vault (for example the FinalHash of a destruction, or the last hash
	// shown by 'pseudokit vault verify' at an earlier audit). Verification
	// fails unless the chain contains it: this detects a vault replaced by
	// an older copy, or a log rewritten by someone holding the key, up to
	// that entry.
	Head string
}

// VerifyReport is the result of a successful verification.
type VerifyReport struct {
	Destroyed  bool           // the key has been destroyed (VerifyFile)
	Slots      int            // key slots checked (structure; the unlocking slot opened)
	Links      map[string]int // links per state; active ones decrypted and matched to their index
	Tombstones int            // withdrawal tombstones
	LogEntries int64          // entries in the verified chain
	LogHead    string         // hex hash of the newest entry
	HeadSeq    int64          // seq of the entry matching VerifyOptions.Head (0 if none was given)
}

// integrityCheck runs SQLite's full integrity check and the foreign-key
// check.
func integrityCheck(ctx context.Context, q queryer) error {
	if err := sqliteCheck(ctx, q, "integrity_check", "SQLite integrity check"); err != nil {
		return err
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_check`).Scan(&n); err != nil {
		return classify(err)
	}
	if n > 0 {
		return corruptf("%d rows refer to a missing domain", n)
	}
	return nil
}

// sqliteCheck runs one of SQLite's check pragmas (integrity_check or
// quick_check, with their optional table argument) and turns what it
// reports into ErrCorrupt. Its messages name pages, cells and rowids, never
// a stored value.
func sqliteCheck(ctx context.Context, q queryer, pragma, what string) error {
	rows, err := q.QueryContext(ctx, `PRAGMA `+pragma)
	if err != nil {
		return classify(err)
	}
	var msgs []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return classify(err)
		}
		msgs = append(msgs, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return classify(err)
	}
	if len(msgs) != 1 || msgs[0] != "ok" {
		if len(msgs) > 5 {
			msgs = append(msgs[:5], "...")
		}
		return corruptf("%s: %s", what, strings.Join(msgs, "; "))
	}
	return nil
}

// headCheck returns a visit function for walkChain that records the seq of
// the entry whose hash is want (hex).
func headCheck(want string, seq *int64) (func(*logRow) error, error) {
	if want == "" {
		return nil, nil
	}
	h, err := hex.DecodeString(strings.TrimSpace(want))
	if err != nil || len(h) != idxLen {
		return nil, invalidf("the expected log head must be 64 hex digits")
	}
	return func(r *logRow) error {
		if bytes.Equal(r.hash, h) {
			*seq = r.seq
		}
		return nil
	}, nil
}

// Verify checks everything that can be checked with the key: SQLite's
// integrity check, the schema, every key slot's structure, that every
// active link decrypts under its row's associated data and matches its
// keyed index, that withdrawn links have no sealed identifier and have a
// tombstone, and the access-log chain with its MAC (and opts.Head). It
// returns the first problem as an error matching [ErrCorrupt] or
// [ErrLogTampered]; errors name domains, codes and log entries, never
// identifiers. Verify writes nothing (opening the vault was logged).
func (v *Vault) Verify(ctx context.Context, opts VerifyOptions) (*VerifyReport, error) {
	rep := &VerifyReport{Links: map[string]int{}}
	err := v.readTx(ctx, func(tx *sql.Tx, k *keys) error {
		if err := integrityCheck(ctx, tx); err != nil {
			return err
		}
		if err := checkSchema(ctx, tx, v.major, v.minor); err != nil {
			return classify(err)
		}
		slots, err := readSlots(ctx, tx)
		if err != nil {
			return err
		}
		known := 0
		for i := range slots {
			s := &slots[i]
			if isAgeSlot(s.typ) {
				if _, typ, err := ParseRecipient(s.recipient.String, nil); err != nil || typ != s.typ {
					return corruptf("slot %d: the recipient is not a valid %s recipient", s.id, s.typ)
				}
			}
			if s.typ == SlotPassphrase || isAgeSlot(s.typ) {
				known++
			}
		}
		if known == 0 {
			return corruptf("no key slot this program can open")
		}
		rep.Slots = len(slots)
		tomb := map[string]bool{}
		trows, err := tx.QueryContext(ctx, `SELECT idx FROM withdrawn`)
		if err != nil {
			return classify(err)
		}
		for trows.Next() {
			var b []byte
			if err := trows.Scan(&b); err != nil {
				trows.Close()
				return classify(err)
			}
			if len(b) != idxLen {
				trows.Close()
				return corruptf("a withdrawal tombstone has a %d-byte index", len(b))
			}
			tomb[string(b)] = true
		}
		trows.Close()
		if err := trows.Err(); err != nil {
			return classify(err)
		}
		rep.Tombstones = len(tomb)
		if err := verifyLinks(ctx, tx, k, tomb, rep.Links); err != nil {
			return err
		}
		visit, err := headCheck(opts.Head, &rep.HeadSeq)
		if err != nil {
			return err
		}
		seq, head, err := verifyChainVisit(ctx, tx, k, v.vaultID, visit)
		if err != nil {
			return err
		}
		rep.LogEntries, rep.LogHead = seq, hex.EncodeToString(head)
		if opts.Head != "" && rep.HeadSeq == 0 {
			return &LogTamperedError{Seq: seq, Reason: "the log does not contain the expected entry hash (an older copy of the vault, or a rewritten log)"}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// destroyedMeta are the meta keys a destroyed vault may hold.
var destroyedMeta = map[string]bool{
	"format_version": true, "format_minor": true, "writer_minor": true, "vault_id": true, "project": true,
	"created": true, "created_by": true, "retention": true, "next_slot_id": true,
	"destroyed": true, "log_final_hash": true,
}

// VerifyFile verifies a destroyed vault without any key (there is none
// left): SQLite's integrity check and schema; that nothing decryptable
// remains (no key slot, no link, no tombstone, no pending failed unlock,
// no log-head MAC, no meta value beyond the documented ones); and that the
// access log is an unbroken hash chain from the vault's genesis value whose
// last entry is the "destroy" entry with the hash recorded at destruction
// (meta log_final_hash) and, if given, opts.Head.
//
// The chain and the recorded hash are not keyed: someone with write access
// to the file could rewrite the whole log consistently. Only a comparison
// with a hash kept elsewhere (opts.Head, for example the FinalHash of the
// destruction report) proves the log unchanged since. A vault that still
// has its key gives [ErrNotDestroyed]: verify it with [Vault.Verify].
func VerifyFile(ctx context.Context, path string, opts VerifyOptions) (*VerifyReport, error) {
	db, vaultID, err := openKeyless(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, classify(err)
	}
	defer tx.Rollback()
	rep := &VerifyReport{Links: map[string]int{}}
	err = func() error {
		if err := integrityCheck(ctx, tx); err != nil {
			return err
		}
		if d, err := isDestroyed(ctx, tx); err != nil {
			return err
		} else if !d {
			return ErrNotDestroyed
		}
		rep.Destroyed = true
		var major int
		if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&major); err != nil {
			return classify(err)
		}
		links := "links"
		if major >= 3 {
			links = "link_groups"
		}
		counts := []struct{ q, what string }{
			{`SELECT count(*) FROM slots`, "key slots"},
			{`SELECT count(*) FROM ` + links, "links"},
			{`SELECT count(*) FROM withdrawn`, "withdrawal tombstones"},
			{`SELECT count(*) FROM failed_unlocks`, "pending failed unlocks"},
		}
		if major >= 2 { // destroyed by a format 1 program: no maps
			counts = append(counts,
				struct{ q, what string }{`SELECT count(*) FROM link_codes`, "link codes"},
				struct{ q, what string }{`SELECT count(*) FROM link_index`, "keyed index entries"})
		}
		for _, c := range counts {
			var n int
			if err := tx.QueryRowContext(ctx, c.q).Scan(&n); err != nil {
				return classify(err)
			}
			if n > 0 {
				return corruptf("the destroyed vault still holds %d %s", n, c.what)
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT key FROM meta`)
		if err != nil {
			return classify(err)
		}
		for rows.Next() {
			var key string
			if err := rows.Scan(&key); err != nil {
				rows.Close()
				return classify(err)
			}
			if !destroyedMeta[key] {
				rows.Close()
				return corruptf("the destroyed vault still holds meta %q", key)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return classify(err)
		}
		var final []byte
		if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'log_final_hash'`).Scan(&final); err != nil {
			return corruptf("the destroyed vault has no final log hash")
		}
		visit, err := headCheck(opts.Head, &rep.HeadSeq)
		if err != nil {
			return err
		}
		var lastAction string
		seq, head, err := walkChain(ctx, tx, vaultID, func(r *logRow) error {
			lastAction = r.action
			if visit != nil {
				return visit(r)
			}
			return nil
		})
		if err != nil {
			return err
		}
		rep.LogEntries, rep.LogHead = seq, hex.EncodeToString(head)
		if lastAction != "destroy" || !bytes.Equal(head, final) {
			return &LogTamperedError{Seq: seq, Reason: "the last entry is not the recorded destruction entry"}
		}
		if opts.Head != "" && rep.HeadSeq == 0 {
			return &LogTamperedError{Seq: seq, Reason: "the log does not contain the expected entry hash"}
		}
		return nil
	}()
	if err != nil {
		return nil, fmt.Errorf("keyvault: verify %s: %w", path, err)
	}
	return rep, nil
}

// ReadLog returns the access-log entries of the vault at path without a key
// and without writing to it. The entries are not verified: call
// [VerifyFile] (destroyed vault) or open the vault and call [Vault.Verify]
// first. It is how the log of a destroyed vault is read.
func ReadLog(path string) ([]Entry, error) {
	db, _, err := openKeyless(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return readEntries(context.Background(), db)
}

func readEntries(ctx context.Context, q queryer) ([]Entry, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+logColumns+` FROM log ORDER BY seq`)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var r logRow
		if err := r.scan(rows); err != nil {
			return nil, classify(err)
		}
		e, err := r.entry()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, classify(rows.Err())
}

// verifySegments reads the map segments and checks that each belongs to
// one of the domains of names and that each domain has one. It returns
// the domain of each segment. (That a key is in at most one segment of
// its domain follows from verifyLinks: the maps' entries, by domain,
// must be the links' as multisets.)
func verifySegments(ctx context.Context, tx *sql.Tx, names map[int64]string) (map[int64]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, domain FROM map_segments`)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	segDomain := map[int64]int64{}
	has := map[int64]bool{}
	for rows.Next() {
		var id, d int64
		if err := rows.Scan(&id, &d); err != nil {
			return nil, classify(err)
		}
		if _, ok := names[d]; !ok {
			return nil, corruptf("map segment %d belongs to no domain", id)
		}
		segDomain[id], has[d] = d, true
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	for id, name := range names {
		if !has[id] {
			return nil, corruptf("domain %s has no map segment", name)
		}
	}
	return segDomain, nil
}

// verifyLinks checks every link (well formed; an active one decrypts and
// matches its keyed index; a withdrawn one has no ciphertext and a
// tombstone), counts them by state into n, and checks that each map has
// exactly one entry for each link, pointing to it, and nothing else. It
// compares the maps with the links as multisets: the sum of a keyed hash
// of every (domain, key, link) that the links imply against the same sum
// over each map, with equal counts. Ids are unique, so equal multisets
// are equal sets; a mismatch by chance has probability ~2^-64, and the
// hash key is new for every call. That reads each table once in its own
// order instead of probing both maps for every link.
func verifyLinks(ctx context.Context, tx *sql.Tx, k *keys, tomb map[string]bool, n map[string]int) error {
	domains, err := allDomains(ctx, tx)
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, d := range domains {
		names[d.id] = d.info.Name
	}
	// The maps' entries name a segment of a domain (format 4).
	segDomain, err := verifySegments(ctx, tx, names)
	if err != nil {
		return err
	}
	seed := maphash.MakeSeed()
	entry := func(domain int64, key []byte, link int64) uint64 {
		var h maphash.Hash
		h.SetSeed(seed)
		var b [2 * binary.MaxVarintLen64]byte
		h.Write(binary.AppendVarint(binary.AppendVarint(b[:0], domain), link))
		h.Write(key)
		return h.Sum64()
	}
	var wantCodes, wantIndex uint64
	links := 0
	err = eachLink(ctx, tx, func(r *linkRec) error {
		dom, ok := names[r.domain]
		if !ok {
			return corruptf("link %d belongs to no domain", r.id)
		}
		switch r.state {
		case LinkActive:
			if _, err := k.openLink(dom, r.code, r.kind, r.sealed, r.idx); err != nil {
				return err
			}
			wantIndex += entry(r.domain, r.idx, r.id)
		case LinkWithdrawn:
			if !tomb[string(r.idx)] {
				return corruptf("withdrawn link %s in domain %s has no tombstone", r.code, dom)
			}
			wantIndex += entry(r.domain, r.idx, -r.id) // negated while withdrawn
		}
		wantCodes += entry(r.domain, []byte(r.code), r.id)
		n[r.state]++
		links++
		return nil
	})
	if err != nil {
		return err
	}
	for _, m := range []struct {
		name, query string
		want        uint64
	}{
		{"by code", `SELECT seg, CAST(code AS BLOB), link FROM link_codes`, wantCodes},
		{"by keyed index", `SELECT seg, idx, link FROM link_index`, wantIndex},
	} {
		rows, err := tx.QueryContext(ctx, m.query)
		if err != nil {
			return classify(err)
		}
		var got uint64
		entries := 0
		for rows.Next() {
			var seg, link int64
			var key []byte
			if err := rows.Scan(&seg, &key, &link); err != nil {
				rows.Close()
				return classify(err)
			}
			domain, ok := segDomain[seg]
			if !ok {
				rows.Close()
				return corruptf("the map %s has an entry in segment %d, which does not exist", m.name, seg)
			}
			got += entry(domain, key, link)
			entries++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return classify(err)
		}
		if entries != links || got != m.want {
			return corruptf("the map %s does not match the links (%d links, %d entries)", m.name, links, entries)
		}
	}
	return nil
}
