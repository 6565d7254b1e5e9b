package keyvault

import (
	"context"
	"database/sql"
	"errors"

	"golang.org/x/crypto/chacha20poly1305"
)

// slotRow is a key slot as stored.
type slotRow struct {
	id                         int64
	typ, label, created        string
	kdf                        sql.NullString
	kdfTime, kdfMem, kdfThread sql.NullInt64
	salt                       []byte
	recipient                  sql.NullString
	wrapped                    []byte
}

func readSlots(ctx context.Context, q queryer) ([]slotRow, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, type, label, created, kdf, kdf_time, kdf_memory, kdf_threads, kdf_salt, recipient, wrapped FROM slots ORDER BY id`)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []slotRow
	for rows.Next() {
		var s slotRow
		if err := rows.Scan(&s.id, &s.typ, &s.label, &s.created, &s.kdf, &s.kdfTime, &s.kdfMem, &s.kdfThread,
			&s.salt, &s.recipient, &s.wrapped); err != nil {
			return nil, classify(err)
		}
		if err := s.check(); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	return out, nil
}

// params returns the slot's KDF parameters (zero if they are out of range).
func (s *slotRow) params() KDFParams {
	if s.kdfTime.Int64 < 0 || s.kdfTime.Int64 > 1<<32-1 || s.kdfMem.Int64 < 0 || s.kdfMem.Int64 > 1<<32-1 ||
		s.kdfThread.Int64 < 0 || s.kdfThread.Int64 > 255 {
		return KDFParams{}
	}
	return KDFParams{Time: uint32(s.kdfTime.Int64), MemoryKiB: uint32(s.kdfMem.Int64), Threads: uint8(s.kdfThread.Int64)}
}

// maxAgeSlotLen bounds the wrapped secret of an age slot (an age file of
// 32 bytes plus the associated data: a few hundred bytes for X25519,
// about 1.3 KiB for hybrid recipients; plugins may add more).
const maxAgeSlotLen = 64 << 10

// check validates a stored slot before any work is done on it, so that a
// hostile file cannot ask for unbounded memory or time. Slots of unknown
// types are skipped by unlock and left alone here.
func (s *slotRow) check() error {
	if isAgeSlot(s.typ) {
		if s.kdf.Valid || !s.recipient.Valid || s.recipient.String == "" || len(s.recipient.String) > 4096 {
			return corruptf("slot %d: malformed age slot", s.id)
		}
		if len(s.wrapped) == 0 || len(s.wrapped) > maxAgeSlotLen {
			return corruptf("slot %d: wrapped secret has %d bytes", s.id, len(s.wrapped))
		}
		return nil
	}
	if s.typ != SlotPassphrase {
		return nil
	}
	if s.kdf.String != kdfArgon2id {
		return corruptf("slot %d: unknown kdf %q", s.id, s.kdf.String)
	}
	p := s.params()
	if p == (KDFParams{}) {
		return corruptf("slot %d: kdf parameters out of range", s.id)
	}
	if err := p.checkBounds(); err != nil {
		return corruptf("slot %d: %v", s.id, err)
	}
	if len(s.salt) < 16 || len(s.salt) > 64 {
		return corruptf("slot %d: salt has %d bytes", s.id, len(s.salt))
	}
	if len(s.wrapped) != nonceLen+secretLen+chacha20poly1305.Overhead {
		return corruptf("slot %d: wrapped secret has %d bytes", s.id, len(s.wrapped))
	}
	return nil
}

func (s *slotRow) info() SlotInfo {
	si := SlotInfo{ID: s.id, Type: s.typ, Label: s.label, Recipient: s.recipient.String}
	if s.typ == SlotAgePlugin {
		si.Plugin = pluginName(s.recipient.String)
	}
	si.Created, _ = parseTime(s.created)
	if s.typ == SlotPassphrase {
		si.KDF = s.params()
	}
	return si
}

// slotAD is the associated data binding a wrapped secret to its vault, slot
// id and slot type: "pseudokit/v1/slot" 0x00 || vault id || uint64 id || type.
func slotAD(vaultID []byte, id int64, typ string) []byte {
	ad := append([]byte(adSlot), vaultID...)
	ad = appendU64(ad, uint64(id))
	return append(ad, typ...)
}

var errSlotNotOpened = errors.New("slot did not open")

// openPassphrase unwraps the project secret with a passphrase.
func (s *slotRow) openPassphrase(vaultID, passphrase []byte) ([]byte, error) {
	kek := s.params().deriveKEK(passphrase, s.salt)
	defer clear(kek)
	aead, err := chacha20poly1305.NewX(kek)
	if err != nil {
		return nil, err
	}
	secret, err := aead.Open(nil, s.wrapped[:nonceLen], s.wrapped[nonceLen:], slotAD(vaultID, s.id, s.typ))
	if err != nil {
		return nil, errSlotNotOpened
	}
	return secret, nil
}

// nextSlotID reserves the id of a new slot inside the write transaction q.
// Ids are never reused: meta.next_slot_id counts up (format 1.1; a 1.0
// vault never deleted slots, so max(id)+1 is right for it).
func nextSlotID(ctx context.Context, q queryer) (int64, error) {
	var id int64
	if err := q.QueryRowContext(ctx, `SELECT max(
		COALESCE((SELECT max(id) FROM slots), 0) + 1,
		COALESCE((SELECT value FROM meta WHERE key = 'next_slot_id'), 1))`).Scan(&id); err != nil {
		return 0, classify(err)
	}
	if _, err := q.ExecContext(ctx, `INSERT OR REPLACE INTO meta (key, value) VALUES ('next_slot_id', ?)`, id+1); err != nil {
		return 0, err
	}
	return id, nil
}

// insertPassphraseSlot wraps secret under a new passphrase slot. The slot id
// is chosen first because it is part of the associated data.
func insertPassphraseSlot(ctx context.Context, q queryer, vaultID, secret, passphrase []byte, label string, p KDFParams) (int64, error) {
	id, err := nextSlotID(ctx, q)
	if err != nil {
		return 0, err
	}
	salt := randomBytes(saltLen)
	kek := p.deriveKEK(passphrase, salt)
	defer clear(kek)
	return id, storePassphraseSlot(ctx, q, id, vaultID, secret, kek, salt, label, p)
}
