// Package vaulttest helps tests compare vaults.
package vaulttest

import (
	"database/sql"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the vault's storage engine, opened read-only
)

// Links returns the links of the vault file at path as comparable rows:
// domain, code, kind, keyed index (hex) and state, sorted. Two copies of one
// vault share their keys, so equal rows mean equal links, identifiers
// included (the keyed index is a MAC of the identifier), without
// decrypting anything.
func Links(tb testing.TB, path string) []string {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT d.name, l.code, l.kind, hex(l.idx), l.state FROM links l JOIN domains d ON d.id = l.domain ORDER BY 1, 2`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d, c, k, idx, s string
		if err := rows.Scan(&d, &c, &k, &idx, &s); err != nil {
			tb.Fatal(err)
		}
		out = append(out, strings.Join([]string{d, c, k, idx, s}, " "))
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}
