package keyvault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"filippo.io/age/plugin"
	"golang.org/x/crypto/chacha20poly1305"
)

// Key holders are the key slots: each wraps the same project secret S for
// one holder (a passphrase or an age recipient). Adding or removing a
// holder changes only the slots table, never the link table, and is logged
// in the same transaction. Slot ids are never reused.

// Holders lists the key slots (never their secrets) in id order.
func (v *Vault) Holders() ([]SlotInfo, error) {
	if _, err := v.keys(); err != nil {
		return nil, err
	}
	slots, err := readSlots(context.Background(), v.db)
	if err != nil {
		return nil, err
	}
	out := make([]SlotInfo, len(slots))
	for i := range slots {
		out[i] = slots[i].info()
	}
	return out, nil
}

// FindHolder returns the key slot named by ref: its id (decimal) or its
// label. A label that several slots share must be given as an id. It
// returns an error matching [ErrNoSlot] when nothing matches.
func (v *Vault) FindHolder(ref string) (SlotInfo, error) {
	hs, err := v.Holders()
	if err != nil {
		return SlotInfo{}, err
	}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		for _, h := range hs {
			if h.ID == id {
				return h, nil
			}
		}
		return SlotInfo{}, fmt.Errorf("%w: id %d", ErrNoSlot, id)
	}
	var found []SlotInfo
	for _, h := range hs {
		if h.Label == ref {
			found = append(found, h)
		}
	}
	switch len(found) {
	case 0:
		return SlotInfo{}, fmt.Errorf("%w: label %q", ErrNoSlot, ref)
	case 1:
		return found[0], nil
	}
	return SlotInfo{}, invalidf("%d key slots have the label %q: give the slot id", len(found), ref)
}

// checkLabel validates a slot label: free text of at most 256 bytes, not
// only digits (so that "ID|LABEL" arguments are unambiguous) and without
// anything that looks like an identity number.
func checkLabel(label string) error {
	if !validText(label, 256) || strings.TrimSpace(label) == "" {
		return invalidf("slot label must be 1-256 bytes of UTF-8")
	}
	if _, err := strconv.ParseInt(label, 10, 64); err == nil {
		return invalidf("slot label must not be a number (numbers name slot ids)")
	}
	if hasIdentityNumber(label) {
		return ErrLooksLikeIdentifier
	}
	return nil
}

// holderEntry fills in the action of a holder change and copies details.
func holderEntry(e Entry, action string, details map[string]any) Entry {
	if e.Action == "" {
		e.Action = action
	}
	d := make(map[string]any, len(e.Details)+len(details))
	for k, val := range e.Details {
		d[k] = val
	}
	for k, val := range details {
		d[k] = val
	}
	e.Details = d
	return e
}

// AddPassphrase adds a passphrase key slot and logs a "holder-add" entry
// (e.Action, if set, replaces the action; e.Purpose and e.Details are
// kept). kdf nil means calibrated parameters (see [DefaultKDF]); explicit
// ones must be at least [MinKDF]. label "" means "passphrase". The
// Argon2id work is done before the vault is locked for writing.
func (v *Vault) AddPassphrase(ctx context.Context, passphrase []byte, label string, kdf *KDFParams, e Entry) (SlotInfo, error) {
	if len(passphrase) == 0 {
		return SlotInfo{}, invalidf("passphrase is empty")
	}
	if label == "" {
		label = SlotPassphrase
	}
	if err := checkLabel(label); err != nil {
		return SlotInfo{}, err
	}
	p, err := newSlotKDF(kdf)
	if err != nil {
		return SlotInfo{}, err
	}
	salt := randomBytes(saltLen)
	kek := p.deriveKEK(passphrase, salt)
	defer clear(kek)
	var si SlotInfo
	err = v.write(ctx, func(tx *sql.Tx, k *keys) error {
		id, err := nextSlotID(ctx, tx)
		if err != nil {
			return err
		}
		if err := storePassphraseSlot(ctx, tx, id, v.vaultID, k.secret, kek, salt, label, p); err != nil {
			return err
		}
		si = SlotInfo{ID: id, Type: SlotPassphrase, Label: label, KDF: p, Created: now()}
		en := holderEntry(e, "holder-add", map[string]any{
			"slot": id, "slot_type": SlotPassphrase, "label": label, "kdf": kdfDetails(p),
		})
		return v.appendEntry(ctx, tx, k, &en)
	})
	if err != nil {
		return SlotInfo{}, err
	}
	return si, nil
}

// storePassphraseSlot stores (or replaces) passphrase slot id with a KEK
// already derived from the passphrase and salt.
func storePassphraseSlot(ctx context.Context, q queryer, id int64, vaultID, secret, kek, salt []byte, label string, p KDFParams) error {
	aead, err := chacha20poly1305.NewX(kek)
	if err != nil {
		return err
	}
	nonce := randomBytes(nonceLen)
	wrapped := aead.Seal(nonce, nonce, secret, slotAD(vaultID, id, SlotPassphrase))
	_, err = q.ExecContext(ctx, `INSERT OR REPLACE INTO slots (id, type, label, created, kdf, kdf_time, kdf_memory, kdf_threads, kdf_salt, recipient, wrapped)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
		id, SlotPassphrase, label, formatTime(now()), kdfArgon2id, int64(p.Time), int64(p.MemoryKiB), int64(p.Threads), salt, wrapped)
	return err
}

// AddRecipient adds a key slot wrapped to an age recipient ("age1...",
// "age1pq1..." or a plugin's "age1NAME1...", see [ParseRecipient]) and
// logs a "holder-add" entry. For a plugin recipient the plugin program
// age-plugin-NAME runs to wrap the secret (ui, which may be nil, handles
// its messages). label "" means the slot type. The recipient is a public
// key: it is stored in clear and recorded in the log.
func (v *Vault) AddRecipient(ctx context.Context, recipient, label string, ui *plugin.ClientUI, e Entry) (SlotInfo, error) {
	r, typ, err := ParseRecipient(recipient, ui)
	if err != nil {
		return SlotInfo{}, err
	}
	recipient = strings.TrimSpace(recipient)
	if label == "" {
		label = typ
	}
	if err := checkLabel(label); err != nil {
		return SlotInfo{}, err
	}
	var si SlotInfo
	err = v.write(ctx, func(tx *sql.Tx, k *keys) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM slots WHERE recipient = ?`, recipient).Scan(&n); err != nil {
			return classify(err)
		}
		if n > 0 {
			return invalidf("the recipient already has a key slot")
		}
		id, err := nextSlotID(ctx, tx)
		if err != nil {
			return err
		}
		wrapped, err := wrapAge(r, k.secret, v.vaultID, id, typ)
		if err != nil {
			var nf *plugin.NotFoundError
			if errors.As(err, &nf) {
				return fmt.Errorf("age plugin %q is not installed (age-plugin-%s must be on the PATH): %w", nf.Name, nf.Name, err)
			}
			return fmt.Errorf("wrapping the key for the recipient: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO slots (id, type, label, created, kdf, kdf_time, kdf_memory, kdf_threads, kdf_salt, recipient, wrapped)
			VALUES (?, ?, ?, ?, NULL, NULL, NULL, NULL, NULL, ?, ?)`, id, typ, label, formatTime(now()), recipient, wrapped); err != nil {
			return err
		}
		si = SlotInfo{ID: id, Type: typ, Label: label, Recipient: recipient, Created: now()}
		if typ == SlotAgePlugin {
			si.Plugin = pluginName(recipient)
		}
		en := holderEntry(e, "holder-add", map[string]any{
			"slot": id, "slot_type": typ, "label": label, "recipient": recipient,
		})
		return v.appendEntry(ctx, tx, k, &en)
	})
	if err != nil {
		return SlotInfo{}, err
	}
	return si, nil
}

// RemoveHolder deletes key slot id and logs a "holder-remove" entry, in
// one transaction. The link table is not touched: the other slots wrap the
// same secret. It refuses ([ErrLastHolder]) to remove the last slot of a
// type this program can open. With secure_delete the wrapped secret is
// overwritten in the file, but a holder (or anyone with a copy of the file
// and the removed passphrase or identity) who already had the secret keeps
// it: see the threat model in docs/vault-format.md.
func (v *Vault) RemoveHolder(ctx context.Context, id int64, e Entry) error {
	return v.write(ctx, func(tx *sql.Tx, k *keys) error {
		slots, err := readSlots(ctx, tx)
		if err != nil {
			return err
		}
		var target *slotRow
		usable := 0
		for i := range slots {
			if slots[i].id == id {
				target = &slots[i]
			}
			if slots[i].typ == SlotPassphrase || isAgeSlot(slots[i].typ) {
				usable++
			}
		}
		if target == nil {
			return fmt.Errorf("%w: id %d", ErrNoSlot, id)
		}
		if (target.typ == SlotPassphrase || isAgeSlot(target.typ)) && usable <= 1 {
			return ErrLastHolder
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM slots WHERE id = ?`, id); err != nil {
			return err
		}
		en := holderEntry(e, "holder-remove", map[string]any{
			"slot": id, "slot_type": target.typ, "label": target.label, "slots_left": len(slots) - 1,
		})
		return v.appendEntry(ctx, tx, k, &en)
	})
}

// ChangePassphrase replaces the passphrase of passphrase slot id (same id
// and label, new salt and, with kdf nil, freshly calibrated parameters) and
// logs a "holder-passwd" entry. The old passphrase no longer opens this
// file; a copy of the file made before still opens with it.
func (v *Vault) ChangePassphrase(ctx context.Context, id int64, passphrase []byte, kdf *KDFParams, e Entry) (SlotInfo, error) {
	if len(passphrase) == 0 {
		return SlotInfo{}, invalidf("passphrase is empty")
	}
	p, err := newSlotKDF(kdf)
	if err != nil {
		return SlotInfo{}, err
	}
	salt := randomBytes(saltLen)
	kek := p.deriveKEK(passphrase, salt)
	defer clear(kek)
	var si SlotInfo
	err = v.write(ctx, func(tx *sql.Tx, k *keys) error {
		var typ, label string
		err := tx.QueryRowContext(ctx, `SELECT type, label FROM slots WHERE id = ?`, id).Scan(&typ, &label)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: id %d", ErrNoSlot, id)
		}
		if err != nil {
			return classify(err)
		}
		if typ != SlotPassphrase {
			return invalidf("slot %d is a %s slot, not a passphrase slot", id, typ)
		}
		if err := storePassphraseSlot(ctx, tx, id, v.vaultID, k.secret, kek, salt, label, p); err != nil {
			return err
		}
		si = SlotInfo{ID: id, Type: SlotPassphrase, Label: label, KDF: p, Created: now()}
		en := holderEntry(e, "holder-passwd", map[string]any{"slot": id, "label": label, "kdf": kdfDetails(p)})
		return v.appendEntry(ctx, tx, k, &en)
	})
	if err != nil {
		return SlotInfo{}, err
	}
	return si, nil
}

// appendEntry validates e and appends it inside the write transaction q.
func (v *Vault) appendEntry(ctx context.Context, q queryer, k *keys, e *Entry) error {
	r, err := newRow(e, v.actor)
	if err != nil {
		return err
	}
	if err := appendRow(ctx, q, k, v.vaultID, r, false); err != nil {
		return err
	}
	e.Seq, e.Hash = r.seq, r.hash
	return nil
}
