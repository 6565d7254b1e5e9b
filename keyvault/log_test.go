package keyvault

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logVault makes a vault with entries 1..6: init, unlock, and four appended
// entries.
func logVault(t testing.TB) (*Vault, string) {
	v, path := newVault(t)
	v.Close()
	v = reopen(t, path)
	for i, a := range []string{"export", "lookup", "policy", "export"} {
		require.NoError(t, v.Append(Entry{Action: a, Purpose: "REK 2024/1234", Details: map[string]any{"n": i, "file": "data.csv"}}))
	}
	return v, path
}

func readRows(t testing.TB, db *sql.DB) []logRow {
	rows, err := db.Query(`SELECT ` + logColumns + ` FROM log ORDER BY seq`)
	require.NoError(t, err)
	defer rows.Close()
	var out []logRow
	for rows.Next() {
		var r logRow
		require.NoError(t, r.scan(rows))
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestAppendAndVerify(t *testing.T) {
	v, _ := logVault(t)
	require.NoError(t, v.VerifyLog())
	es, err := v.Entries()
	require.NoError(t, err)
	require.Len(t, es, 6)
	for i, e := range es {
		assert.Equal(t, int64(i+1), e.Seq)
		assert.Len(t, e.Hash, 32)
		if i > 0 {
			assert.Equal(t, es[i-1].Hash, e.PrevHash)
		}
	}
	assert.Equal(t, "policy", es[4].Action)
	assert.Equal(t, map[string]any{"n": jsonNum("2"), "file": "data.csv"}, es[4].Details)
	assert.Equal(t, "REK 2024/1234", es[4].Purpose)
	assert.Equal(t, "tester", es[4].Actor)
	assert.Equal(t, 0, es[4].Time.Nanosecond()%1e6, "millisecond precision")
	assert.Equal(t, "UTC", es[4].Time.Location().String())

	require.NoError(t, v.Append(Entry{Action: "note", Actor: "bob"}))
	es, err = v.Entries()
	require.NoError(t, err)
	assert.Equal(t, "bob", es[6].Actor)
	assert.Equal(t, map[string]any{}, es[6].Details)
}

func TestAppendValidation(t *testing.T) {
	v, _ := newVault(t)
	tests := []struct {
		name string
		e    Entry
		err  error
	}{
		{"no action", Entry{}, ErrInvalid},
		{"upper-case action", Entry{Action: "Export"}, ErrInvalid},
		{"action with space", Entry{Action: "ex port"}, ErrInvalid},
		{"identity number in purpose", Entry{Action: "export", Purpose: "request about 24928599948"}, ErrLooksLikeIdentifier},
		{"identity number in actor", Entry{Action: "export", Actor: "24928599948"}, ErrLooksLikeIdentifier},
		{"purpose not UTF-8", Entry{Action: "export", Purpose: "\xff"}, ErrInvalid},
		{"purpose too long", Entry{Action: "export", Purpose: strings.Repeat("x", maxPurposeLen+1)}, ErrInvalid},
		{"details not JSON", Entry{Action: "export", Details: map[string]any{"f": func() {}}}, ErrInvalid},
		{"details too long", Entry{Action: "export", Details: map[string]any{"s": strings.Repeat("x", maxDetailsLen)}}, ErrInvalid},
		{"12 digits are not an identity number", Entry{Action: "export", Purpose: "order 123456789012"}, nil},
		{"10 digits are not an identity number", Entry{Action: "export", Purpose: "case 1234567890"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Append(tt.e)
			if tt.err == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.err)
			}
		})
	}
	require.NoError(t, v.VerifyLog())
}

func TestLogTampering(t *testing.T) {
	rehash := func(t *testing.T, db *sql.DB, from int) {
		rows := readRows(t, db)
		for i := from; i < len(rows); i++ {
			if i > 0 {
				rows[i].prevHash = rows[i-1].hash
			}
			rows[i].hash = rows[i].computeHash()
			mustExec(t, db, `UPDATE log SET prev_hash = ?, hash = ? WHERE seq = ?`, rows[i].prevHash, rows[i].hash, rows[i].seq)
		}
	}
	tests := []struct {
		name   string
		damage func(t *testing.T, db *sql.DB)
		seq    int64
	}{
		{"edit purpose", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `UPDATE log SET purpose = 'REK 2024/1235' WHERE seq = 4`)
		}, 4},
		{"edit details", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `UPDATE log SET details = '{"file":"data.csv","n":9}' WHERE seq = 3`)
		}, 3},
		{"edit time", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `UPDATE log SET time = '2020-01-01T00:00:00.000Z' WHERE seq = 2`)
		}, 2},
		{"edit head", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `UPDATE log SET actor = 'someone else' WHERE seq = 6`)
		}, 6},
		{"edit and rehash the rest of the chain", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `UPDATE log SET actor = 'someone else' WHERE seq = 3`)
			rehash(t, db, 2)
		}, 6},
		{"delete middle entry", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `DELETE FROM log WHERE seq = 3`)
		}, 3},
		{"delete first entry", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `DELETE FROM log WHERE seq = 1`)
		}, 1},
		{"delete middle entry and renumber", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `DELETE FROM log WHERE seq = 3`)
			mustExec(t, db, `UPDATE log SET seq = seq - 1 WHERE seq > 3`)
			rehash(t, db, 2)
		}, 5},
		{"truncate", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `DELETE FROM log WHERE seq >= 5`)
		}, 4},
		{"truncate everything", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `DELETE FROM log`)
		}, 1},
		{"reorder", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `UPDATE log SET seq = 100 WHERE seq = 3`)
			mustExec(t, db, `UPDATE log SET seq = 3 WHERE seq = 4`)
			mustExec(t, db, `UPDATE log SET seq = 4 WHERE seq = 100`)
		}, 3},
		{"swap contents", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `UPDATE log SET action = CASE seq WHEN 3 THEN 'lookup' ELSE 'export' END WHERE seq IN (3, 4)`)
		}, 3},
		{"forged entry appended", func(t *testing.T, db *sql.DB) {
			rows := readRows(t, db)
			r := rows[len(rows)-1]
			r.seq++
			r.action = "forged"
			r.prevHash = r.hash
			r.hash = r.computeHash()
			mustExec(t, db, `INSERT INTO log (`+logColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
				r.seq, r.time, r.osUser, r.host, r.actor, r.action, r.purpose, r.details, r.toolVersion, r.prevHash, r.hash)
		}, 7},
		{"head MAC removed", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `DELETE FROM meta WHERE key = 'log_head_mac'`)
		}, 6},
		{"head MAC replaced", func(t *testing.T, db *sql.DB) {
			mustExec(t, db, `UPDATE meta SET value = randomblob(32) WHERE key = 'log_head_mac'`)
		}, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, path := logVault(t)
			db := rawDB(t, path)
			tt.damage(t, db)

			err := v.VerifyLog()
			require.ErrorIs(t, err, ErrLogTampered)
			var le *LogTamperedError
			require.ErrorAs(t, err, &le)
			assert.Equal(t, tt.seq, le.Seq, le.Reason)

			// Appending must not launder the damage.
			err = v.Append(Entry{Action: "note"})
			if err == nil {
				require.ErrorIs(t, v.VerifyLog(), ErrLogTampered, "damage is still visible after an append")
			} else {
				require.ErrorIs(t, err, ErrLogTampered)
			}
			v.Close()
			_, err = Open(path, testPass, "")
			require.ErrorIs(t, err, ErrLogTampered)
		})
	}
}
