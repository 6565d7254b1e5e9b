package keyvault

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// writerMinor is the value this package stores in meta.writer_minor: the
// lowest format minor version a program must implement to write to the
// vault. Format 1.1 introduced it (with the withdrawal tombstones, which a
// writer must respect); a program whose minor version of the file's major
// version is lower refuses to open the vault ([VersionError]).
const writerMinor = 0

// upgrade brings a vault of an older format version (1.0, 1.1, 2.0, 3.0) up to
// FormatVersion.FormatMinor, inside the unlock transaction q (so it
// happens only with a key, and together with a log entry). It re-reads the
// version because another process may have upgraded the file since the
// header was read. Existing links, the secret, the slots and the log chain
// are kept. Every error is typed: a damaged old vault that fails a step
// is [ErrCorrupt] (classify).
func upgrade(ctx context.Context, q queryer, k *keys, vaultID []byte, actor string) error {
	return classify(upgradeSteps(ctx, q, k, vaultID, actor))
}

func upgradeSteps(ctx context.Context, q queryer, k *keys, vaultID []byte, actor string) error {
	var major, minor int64
	if err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'format_version'`).Scan(&major); err != nil {
		return classify(err)
	}
	if err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'format_minor'`).Scan(&minor); err != nil {
		return classify(err)
	}
	if major > FormatVersion || major == FormatVersion && minor >= FormatMinor {
		return nil
	}
	var steps []string
	if major == 1 {
		if minor < 1 {
			// 1.1: the tombstones and the slot-id counter (1.0 never
			// removed slots, so max(id)+1 is the next unused id).
			steps = append(steps, schemaV1Minor[1]...)
			steps = append(steps, `INSERT OR REPLACE INTO meta (key, value) VALUES ('next_slot_id', (SELECT COALESCE(max(id), 0) + 1 FROM slots))`)
		}
		steps = append(steps, relinkV2()...)
	}
	for _, stmt := range steps {
		if _, err := q.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if major < 3 {
		if err := groupLinksV3(ctx, q); err != nil {
			return err
		}
	}
	if major < 4 {
		for _, stmt := range segmentsV4() {
			if _, err := q.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
	}
	for _, stmt := range []string{
		fmt.Sprintf(`PRAGMA user_version = %d`, FormatVersion),
		fmt.Sprintf(`UPDATE meta SET value = %d WHERE key = 'format_version'`, FormatVersion),
		fmt.Sprintf(`INSERT OR REPLACE INTO meta (key, value) VALUES ('writer_minor', %d)`, writerMinor),
		fmt.Sprintf(`UPDATE meta SET value = %d WHERE key = 'format_minor'`, FormatMinor),
	} {
		if _, err := q.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	r, err := newRow(&Entry{Action: "upgrade", Details: map[string]any{
		"from": fmt.Sprintf("%d.%d", major, minor),
		"to":   fmt.Sprintf("%d.%d", FormatVersion, FormatMinor),
	}}, actor)
	if err != nil {
		return err
	}
	return appendRow(ctx, q, k, vaultID, r, false)
}

// relinkV2 returns the statements that turn format 1's links table into
// format 2's table and maps. The rows get ids in code order; the maps are
// filled in their own order, so each is written front to back. (The old
// table is renamed, not copied back, so that the new one's DDL is exactly
// the text of schemaV2, which Open compares.)
func relinkV2() []string {
	out := []string{`ALTER TABLE links RENAME TO links_v1`}
	for _, ddl := range schemaV2 {
		if strings.Contains(ddl, "TABLE links (") || strings.Contains(ddl, "TABLE link_") {
			out = append(out, ddl)
		}
	}
	return append(out,
		`INSERT INTO links (domain, code, kind, idx, sealed, state, created, changed)
			SELECT domain, code, kind, idx, sealed, state, created, changed FROM links_v1 ORDER BY domain, code`,
		`INSERT INTO link_codes (domain, code, link) SELECT domain, code, id FROM links ORDER BY domain, code`,
		`INSERT INTO link_index (domain, idx, link)
			SELECT domain, idx, CASE state WHEN 'withdrawn' THEN -id ELSE id END FROM links ORDER BY domain, idx`,
		`DROP TABLE links_v1`,
	)
}

// segmentsV4 returns the statements that turn format 3's maps into format
// 4's: their domain column becomes a segment, and each domain gets one
// segment with its own id, so no map entry moves. (RENAME COLUMN leaves
// the DDL exactly as schemaV4 has it, which Open compares.)
func segmentsV4() []string {
	out := []string{
		`ALTER TABLE link_codes RENAME COLUMN domain TO seg`,
		`ALTER TABLE link_index RENAME COLUMN domain TO seg`,
	}
	for _, ddl := range schemaV4 {
		if strings.Contains(ddl, "TABLE map_segments (") {
			out = append(out, ddl)
		}
	}
	return append(out, `INSERT INTO map_segments (id, domain) SELECT id, id FROM domains ORDER BY id`)
}

// groupLinksV3 turns format 2's links table into format 3's link_groups,
// keeping every link's id (the maps stay as they are): it reads the rows
// in id order and writes each group once.
func groupLinksV3(ctx context.Context, q queryer) error {
	if _, err := q.ExecContext(ctx, ddlLinkGroups); err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, `SELECT id, domain, code, kind, idx, sealed, state, created, COALESCE(changed, 0) FROM links ORDER BY id`)
	if err != nil {
		return classify(err)
	}
	defer rows.Close()
	var data []byte
	gid := int64(-1)
	write := func() error {
		if gid < 0 {
			return nil
		}
		_, err := q.ExecContext(ctx, `INSERT INTO link_groups (id, data) VALUES (?, ?)`, gid, data)
		return err
	}
	for rows.Next() {
		var r linkRec
		if err := rows.Scan(&r.id, &r.domain, &r.code, &r.kind, &r.idx, &r.sealed, &r.state, &r.created, &r.changed); err != nil {
			return classify(err)
		}
		if r.id <= 0 || r.domain <= 0 || r.created <= 0 || !validCode(r.code) || !validKind(r.kind) || len(r.idx) != idxLen ||
			(r.state != LinkActive && r.state != LinkWithdrawn) || len(r.sealed) > maxSealedLen ||
			(r.state == LinkActive) != (len(r.sealed) > 0) || (r.state == LinkWithdrawn) != (r.changed > 0) {
			return corruptf("link %d is malformed", r.id)
		}
		if g := groupOf(r.id); g != gid {
			if err := write(); err != nil {
				return err
			}
			gid, data = g, data[:0]
		}
		data = appendEntry(data, &r)
	}
	if err := rows.Err(); err != nil {
		return classify(err)
	}
	if err := write(); err != nil {
		return err
	}
	rows.Close()
	_, err = q.ExecContext(ctx, `DROP TABLE links`)
	return err
}

var _ queryer = (*sql.Tx)(nil)
