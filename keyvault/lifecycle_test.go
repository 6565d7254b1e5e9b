package keyvault

import (
	"bytes"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRetention(t *testing.T) {
	v, _ := newVault(t)
	day := time.Date(2031, 12, 31, 0, 0, 0, 0, time.UTC)
	require.NoError(t, v.SetRetention(t.Context(), day, Entry{Purpose: "ethics approval 2025/123"}))
	in, err := v.Info()
	require.NoError(t, err)
	assert.True(t, in.Retention.Equal(day))
	got, err := v.Retention()
	require.NoError(t, err)
	assert.True(t, got.Equal(day), "Retention reads what Info does")
	e := lastEntry(t, v)
	assert.Equal(t, "retention", e.Action)
	assert.Equal(t, "2031-12-31T00:00:00.000Z", e.Details["retention"])
	assert.Equal(t, "", e.Details["previous"])
	require.NoError(t, v.SetRetention(t.Context(), time.Time{}, Entry{}))
	in, err = v.Info()
	require.NoError(t, err)
	assert.True(t, in.Retention.IsZero())
	got, err = v.Retention()
	require.NoError(t, err)
	assert.True(t, got.IsZero())
}

func TestVerify(t *testing.T) {
	v, path := withdrawalVault(t)
	ctx := t.Context()
	_, err := v.Withdraw(ctx, []Person{{"nid", synthNID(2)}}, Entry{Purpose: "x"})
	require.NoError(t, err)
	rep, err := v.Verify(ctx, VerifyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Slots)
	assert.Equal(t, map[string]int{LinkActive: 3, LinkWithdrawn: 1}, rep.Links)
	assert.Equal(t, 1, rep.Tombstones)
	es, err := v.Entries()
	require.NoError(t, err)
	assert.Equal(t, int64(len(es)), rep.LogEntries)
	assert.Len(t, rep.LogHead, 64)

	// An externally kept head hash: found, or not.
	early := es[1].Hash
	rep, err = v.Verify(ctx, VerifyOptions{Head: hexString(early)})
	require.NoError(t, err)
	assert.Equal(t, int64(2), rep.HeadSeq)
	_, err = v.Verify(ctx, VerifyOptions{Head: hexString(bytes.Repeat([]byte{7}, 32))})
	require.ErrorIs(t, err, ErrLogTampered)
	_, err = v.Verify(ctx, VerifyOptions{Head: "xyz"})
	require.ErrorIs(t, err, ErrInvalid)

	// id returns the id of the link with code.
	id := func(t *testing.T, db *sql.DB, code string) int64 { return rawLink(t, db, code).id }
	for _, tt := range []struct {
		name   string
		damage string
		edit   func(t *testing.T, db *sql.DB) // instead of damage
		err    error
	}{
		{"sealed moved to another row", "", func(t *testing.T, db *sql.DB) {
			s := rawLink(t, db, "K1").sealed
			editLink(t, db, "K4", func(r *linkRec) { r.sealed = s })
		}, ErrCorrupt},
		{"index changed", "", func(t *testing.T, db *sql.DB) {
			editLink(t, db, "K1", func(r *linkRec) { r.idx = bytes.Repeat([]byte{9}, idxLen) })
		}, ErrCorrupt},
		{"withdrawn link regains a ciphertext", "", func(t *testing.T, db *sql.DB) {
			editLink(t, db, "K2", func(r *linkRec) { r.state, r.sealed = LinkActive, rawLink(t, db, "K1").sealed })
		}, ErrCorrupt},
		{"tombstone deleted", `DELETE FROM withdrawn`, nil, ErrCorrupt},
		{"unknown state", "", func(t *testing.T, db *sql.DB) {
			// The first entry's flags byte (see appendEntry).
			mustExec(t, db, `UPDATE link_groups SET data = x'0107' || substr(data, 3) WHERE id = 0`)
		}, ErrCorrupt},
		{"link moved to another domain", "", func(t *testing.T, db *sql.DB) {
			editLink(t, db, "K1", func(r *linkRec) { r.domain = 2 })
		}, ErrCorrupt},
		{"code map entry missing", `DELETE FROM link_codes WHERE code = 'K1'`, nil, ErrCorrupt},
		{"code map entry sent to another link", "", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `UPDATE link_codes SET link = ? WHERE code = 'K1'`, id(t, db, "K4"))
		}, ErrCorrupt},
		{"index map entry missing", "", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `DELETE FROM link_index WHERE link = ?`, id(t, db, "K1"))
		}, ErrCorrupt},
		{"extra index map entry", "", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `INSERT INTO link_index VALUES (1, randomblob(32), ?)`, id(t, db, "K1"))
		}, ErrCorrupt},
		{"withdrawn link not marked in the index map", `UPDATE link_index SET link = -link WHERE link < 0`, nil, ErrCorrupt},
		{"active link marked withdrawn in the index map", "", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `UPDATE link_index SET link = -link WHERE link = ?`, id(t, db, "K1"))
		}, ErrCorrupt},
		{"log entry edited", `UPDATE log SET purpose = 'y' WHERE seq = 2`, nil, ErrLogTampered},
		{"log truncated", `DELETE FROM log WHERE seq = (SELECT max(seq) FROM log)`, nil, ErrLogTampered},
		{"age slot recipient broken", `INSERT INTO slots (id, type, label, created, recipient, wrapped) VALUES (9, 'age-x25519', 'x', '2025-01-01T00:00:00.000Z', 'age1broken', x'00')`, nil, ErrCorrupt},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, p := withdrawalVault(t)
			v := reopen(t, p)
			_, err := v.Withdraw(ctx, []Person{{"nid", synthNID(2)}}, Entry{Purpose: "x"})
			require.NoError(t, err)
			if db := rawDB(t, p); tt.edit != nil {
				tt.edit(t, db)
			} else {
				mustExec(t, db, tt.damage)
			}
			_, err = v.Verify(ctx, VerifyOptions{})
			require.ErrorIs(t, err, tt.err)
			assert.NotContains(t, err.Error(), "2492000000")
		})
	}

	// A damaged page of the link table is found by SQLite's integrity
	// check (or the vault is refused on opening).
	var root, pageSize int
	db := rawDB(t, path)
	require.NoError(t, db.QueryRow(`SELECT rootpage FROM sqlite_schema WHERE name = 'link_groups'`).Scan(&root))
	require.NoError(t, db.QueryRow(`PRAGMA page_size`).Scan(&pageSize))
	db.Close()
	v.Close()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	end := root * pageSize
	for i := end - 300; i < end; i++ {
		b[i] ^= 0x5a
	}
	require.NoError(t, os.WriteFile(path, b, 0o600))
	v2, err := Open(path, testPass, "tester")
	if err == nil {
		defer v2.Close()
		_, err = v2.Verify(ctx, VerifyOptions{})
	}
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrCorrupt) || errors.Is(err, ErrLogTampered) || errors.Is(err, ErrNotVault), "%v", err)
}

func hexString(b []byte) string { return hex.EncodeToString(b) }

func TestDestroy(t *testing.T) {
	v, path := withdrawalVault(t)
	ctx := t.Context()
	x, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	_, err = v.AddRecipient(ctx, x.Recipient().String(), "", nil, Entry{})
	require.NoError(t, err)
	_, err = v.Withdraw(ctx, []Person{{"nid", synthNID(2)}}, Entry{Purpose: "x"})
	require.NoError(t, err)
	other := reopen(t, path) // another handle, open during the destruction

	// Collect every secret-bearing blob to look for it in the file later.
	var blobs [][]byte
	for _, r := range rawLinks(t, rawDB(t, path)) {
		blobs = append(blobs, r.idx)
		if r.sealed != nil {
			blobs = append(blobs, r.sealed)
		}
	}
	for _, q := range []string{`SELECT wrapped FROM slots`, `SELECT value FROM meta WHERE key = 'log_head_mac'`} {
		rows, err := rawDB(t, path).Query(q)
		require.NoError(t, err)
		for rows.Next() {
			var b []byte
			require.NoError(t, rows.Scan(&b))
			blobs = append(blobs, b)
		}
		rows.Close()
	}
	require.Len(t, blobs, 2+3+4+1)

	_, err = v.Destroy(ctx, Entry{})
	require.ErrorIs(t, err, ErrPurposeRequired)
	rep, err := v.Destroy(ctx, Entry{Purpose: "retention period over (REK 2019/99)", Action: "ignored"})
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Slots)
	assert.Equal(t, 4, rep.Links)
	assert.Equal(t, 1, rep.Tombstones)
	assert.Len(t, rep.FinalHash, 64)
	_, err = v.Info()
	require.ErrorIs(t, err, ErrClosed, "the handle is closed")
	require.NoError(t, v.Close())

	// Nothing decryptable is left in the file.
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	for i, b := range blobs {
		assert.False(t, bytes.Contains(raw, b), "blob %d is still in the file", i)
	}
	matches, _ := filepath.Glob(path + "-*")
	assert.Empty(t, matches)

	// The other handle can no longer write.
	require.ErrorIs(t, other.Append(Entry{Action: "export"}), ErrDestroyed)
	_, err = other.Withdraw(ctx, []Person{{"nid", synthNID(1)}}, Entry{Purpose: "x"})
	require.ErrorIs(t, err, ErrDestroyed)
	other.Close()

	// It cannot be opened, with any key; a failed attempt is not recorded.
	_, err = Open(path, testPass, "tester")
	require.ErrorIs(t, err, ErrDestroyed)
	_, err = OpenWith(ctx, path, Credentials{Identities: []age.Identity{x}}, "tester")
	require.ErrorIs(t, err, ErrDestroyed)

	// Anyone can verify it without a key.
	vr, err := VerifyFile(ctx, path, VerifyOptions{Head: rep.FinalHash})
	require.NoError(t, err)
	assert.True(t, vr.Destroyed)
	assert.Equal(t, rep.Seq, vr.LogEntries)
	assert.Equal(t, rep.FinalHash, vr.LogHead)
	assert.Equal(t, rep.Seq, vr.HeadSeq)
	in, err := Inspect(path)
	require.NoError(t, err)
	assert.False(t, in.Destroyed.IsZero())
	assert.Equal(t, rep.FinalHash, in.LogFinalHash)
	assert.Empty(t, in.Slots)
	assert.Equal(t, "destroy", in.LogLastAction)
	es, err := ReadLog(path)
	require.NoError(t, err)
	last := es[len(es)-1]
	assert.Equal(t, "destroy", last.Action)
	assert.Equal(t, "retention period over (REK 2019/99)", last.Purpose)
	assert.Equal(t, jsonNumber("4"), last.Details["links_removed"])

	for _, tt := range []struct {
		name   string
		damage string
		err    error
	}{
		{"entry edited", `UPDATE log SET purpose = 'other' WHERE seq = 3`, ErrLogTampered},
		{"destroy entry removed", `DELETE FROM log WHERE action = 'destroy'`, ErrLogTampered},
		{"entry appended", `INSERT INTO log SELECT seq + 1, time, os_user, host, actor, 'unlock', purpose, details, tool_version, hash, hash FROM log WHERE action = 'destroy'`, ErrLogTampered},
		{"slot planted", `INSERT INTO slots (id, type, label, created, wrapped) VALUES (1, 'passphrase', 'x', 'x', x'00')`, ErrCorrupt},
		{"link left", `INSERT INTO link_groups VALUES (0, x'01')`, ErrCorrupt},
		{"code map entry left", `INSERT INTO link_codes VALUES (1, 'K1', 1)`, ErrCorrupt},
		{"keyed index entry left", `INSERT INTO link_index VALUES (1, x'00', 1)`, ErrCorrupt},
		{"head MAC left", `INSERT INTO meta VALUES ('log_head_mac', x'00')`, ErrCorrupt},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "copy.vault")
			require.NoError(t, os.WriteFile(p, raw, 0o600))
			mustExec(t, rawDB(t, p), tt.damage)
			_, err := VerifyFile(ctx, p, VerifyOptions{})
			require.ErrorIs(t, err, tt.err)
		})
	}
	// A different expected head is refused.
	_, err = VerifyFile(ctx, path, VerifyOptions{Head: hexString(bytes.Repeat([]byte{1}, 32))})
	require.ErrorIs(t, err, ErrLogTampered)

	// A live vault is not verified keyless.
	_, live := newVault(t)
	_, err = VerifyFile(ctx, live, VerifyOptions{})
	require.ErrorIs(t, err, ErrNotDestroyed)
}

func TestAccessors(t *testing.T) {
	v, _ := newVault(t)
	in, err := v.Info()
	require.NoError(t, err)
	assert.Equal(t, in.VaultID, v.ID())
	seq, err := v.LastSeq()
	require.NoError(t, err)
	assert.Equal(t, in.LogLastSeq, seq)
	p, err := v.Project()
	require.NoError(t, err)
	assert.Equal(t, in.Project, p)
	require.NoError(t, v.Append(Entry{Action: "test", Purpose: "x"}))
	seq2, err := v.LastSeq()
	require.NoError(t, err)
	assert.Equal(t, seq+1, seq2)
}
