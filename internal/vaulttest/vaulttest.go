// Package vaulttest helps tests compare vaults.
package vaulttest

import (
	"database/sql"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the vault's storage engine, opened read-only
)

// Links returns the links of the vault file at path as comparable rows:
// domain, code, keyed index (hex) and state, sorted, read from the vault's
// two maps (the links themselves are packed). Two copies of one vault
// share their keys, so equal rows mean equal links, identifiers and their
// kinds included (the keyed index is a MAC of both), without decrypting
// anything.
func Links(tb testing.TB, path string) []string {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT d.name, c.code, hex(i.idx), CASE WHEN i.link < 0 THEN 'withdrawn' ELSE 'active' END
		FROM link_codes c JOIN link_index i ON abs(i.link) = c.link
		JOIN map_segments s ON s.id = c.seg JOIN domains d ON d.id = s.domain ORDER BY 1, 2`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d, c, idx, s string
		if err := rows.Scan(&d, &c, &idx, &s); err != nil {
			tb.Fatal(err)
		}
		out = append(out, strings.Join([]string{d, c, idx, s}, " "))
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}
