package keyvault

import (
	"context"
	"database/sql"
	"fmt"
)

// writerMinor is the value this package stores in meta.writer_minor: the
// lowest format minor version a program must implement to write to the
// vault. Minor 1 introduced it (together with the withdrawal tombstones,
// which a writer must respect); a program whose FormatMinor is lower
// refuses to open the vault ([VersionError]).
const writerMinor = 1

// upgrade brings a vault of an older minor version of format 1 up to
// FormatMinor, inside the unlock transaction q (so it happens only with a
// key, and together with a log entry). It re-reads the minor version
// because another process may have upgraded the file since the header was
// read. Upgrades only add: existing rows, the secret, the slots and the
// log chain are kept.
func upgrade(ctx context.Context, q queryer, k *keys, vaultID []byte, actor string) error {
	var minor int64
	if err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'format_minor'`).Scan(&minor); err != nil {
		return classify(err)
	}
	if minor >= FormatMinor {
		return nil
	}
	for m := int(minor) + 1; m <= FormatMinor; m++ {
		for _, ddl := range schemaV1Minor[m] {
			if _, err := q.ExecContext(ctx, ddl); err != nil {
				return err
			}
		}
	}
	// 1.1: the slot-id counter (1.0 never removed slots, so max(id)+1 is
	// the next unused id) and the writer minor version.
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{`INSERT OR REPLACE INTO meta (key, value) VALUES ('next_slot_id', (SELECT COALESCE(max(id), 0) + 1 FROM slots))`, nil},
		{`INSERT OR REPLACE INTO meta (key, value) VALUES ('writer_minor', ?)`, []any{int64(writerMinor)}},
		{`UPDATE meta SET value = ? WHERE key = 'format_minor'`, []any{int64(FormatMinor)}},
	} {
		if _, err := q.ExecContext(ctx, stmt.sql, stmt.args...); err != nil {
			return err
		}
	}
	r, err := newRow(&Entry{Action: "upgrade", Details: map[string]any{
		"from": fmt.Sprintf("%d.%d", FormatVersion, minor),
		"to":   fmt.Sprintf("%d.%d", FormatVersion, FormatMinor),
	}}, actor)
	if err != nil {
		return err
	}
	return appendRow(ctx, q, k, vaultID, r, false)
}

var _ queryer = (*sql.Tx)(nil)
