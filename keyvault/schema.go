package keyvault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

const (
	// ApplicationID is the SQLite application_id of a vault file
	// (ASCII "PSKV"), stored at offset 68 of the file header.
	ApplicationID = 0x50534B56

	// FormatVersion is the major format version this package writes and the
	// highest it reads. It is stored in the SQLite header (user_version) and
	// in meta.format_version. Version 2 stores links in an append-only
	// table with two narrow maps, by code and by keyed index (version 1
	// had one table by code with an index by keyed index); a version 1
	// vault is upgraded at its first unlock (see upgrade.go). Version 3
	// stores the links of that table packed 64 to a row (link_groups).
	// Version 4 splits each domain's entries in the two maps into
	// segments (map_segments), so that a large run appends its entries
	// as a segment of their own (see docs/vault-format.md).
	FormatVersion = 4

	// FormatMinor is the minor format version this package writes. Minor
	// versions only add things older readers of the same major version can
	// safely ignore; see docs/vault-format.md for the rules.
	FormatMinor = 0

	// lastMinorV1 is the last minor version of format 1. Minor 1 added
	// the withdrawal tombstones (table withdrawn), slot-id counter, age key
	// slots and destruction records.
	lastMinorV1 = 1

	// lastMinorV2 is the last minor version of format 2.
	lastMinorV2 = 0

	// lastMinorV3 is the last minor version of format 3.
	lastMinorV3 = 0
)

// schemaV1 is the DDL of format version 1.0, and schemaV1Minor[m] what
// minor version m added to it. This package no longer writes format 1: it
// checks a version 1 file against them before upgrading it.
var schemaV1 = []string{
	ddlMeta,
	ddlSlots,
	ddlDomains,
	`CREATE TABLE links (
	domain  INTEGER NOT NULL REFERENCES domains(id),
	code    TEXT NOT NULL,
	kind    TEXT NOT NULL,
	idx     BLOB NOT NULL,
	sealed  BLOB,
	state   TEXT NOT NULL,
	created INTEGER NOT NULL,
	changed INTEGER,
	PRIMARY KEY (domain, code),
	UNIQUE (domain, idx)
) WITHOUT ROWID`,
	ddlLog,
	ddlFailedUnlocks,
}

var schemaV1Minor = [][]string{
	1: {ddlWithdrawn},
}

// schemaV2 is the DDL of format version 2.0. This package no longer
// writes format 2: it checks a version 2 file against it before upgrading
// it.
//
// A link is a row of links, whose id only grows, and an entry in each of
// two maps to that id: link_codes by code and link_index by keyed index,
// both unique per domain. Each map is a narrow B-tree of its own, so a run
// writes each batch of new links to each map in that map's order and
// appends the rows to links: every tree is walked in order. In format 1
// the keyed index was an index of the links table, and SQLite updated it
// in the table's order (by code), one random page of a tree far larger
// than the page cache per new link once a vault holds millions of links.
var schemaV2 = []string{
	ddlMeta,
	ddlSlots,
	ddlDomains,
	`CREATE TABLE links (
	id      INTEGER PRIMARY KEY,
	domain  INTEGER NOT NULL REFERENCES domains(id),
	code    TEXT NOT NULL,
	kind    TEXT NOT NULL,
	idx     BLOB NOT NULL,
	sealed  BLOB,
	state   TEXT NOT NULL,
	created INTEGER NOT NULL,
	changed INTEGER
)`,
	ddlLinkCodes, ddlLinkIndex, ddlLog, ddlFailedUnlocks, ddlWithdrawn,
}

// schemaV2Minor[m] is the DDL that minor version m added to version 2.
var schemaV2Minor = [][]string{}

// schemaV3 is the DDL of format version 3.0: format 2 with its links
// table replaced by link_groups. Group g holds the links with ids 64g to
// 64g+63, each encoded as docs/vault-format.md describes (see groups.go);
// the maps are those of format 2. This package no longer writes format 3:
// it checks a version 3 file against it before upgrading it.
var schemaV3 = []string{
	ddlMeta,
	ddlSlots,
	ddlDomains,
	ddlLinkGroups,
	ddlLinkCodes, ddlLinkIndex, ddlLog, ddlFailedUnlocks, ddlWithdrawn,
}

// schemaV3Minor[m] is the DDL that minor version m added to version 3.
var schemaV3Minor = [][]string{}

// schemaV4 is the DDL of format version 4.0: format 3 with the maps'
// first column a segment of a domain (map_segments) instead of the
// domain. A domain's map entries are those of its segments; a large run
// appends its entries as a new segment, whose id is larger than every
// other, so that SQLite appends them to the end of each map's tree
// instead of inserting them among the entries already there (see
// docs/vault-format.md). The maps' DDL is format 3's with the column
// renamed, as the upgrade's ALTER TABLE ... RENAME COLUMN leaves it.
var schemaV4 = []string{
	ddlMeta,
	ddlSlots,
	ddlDomains,
	ddlLinkGroups,
	`CREATE TABLE map_segments (
	id     INTEGER PRIMARY KEY,
	domain INTEGER NOT NULL REFERENCES domains(id)
)`,
	`CREATE TABLE link_codes (
	seg INTEGER NOT NULL,
	code   TEXT NOT NULL,
	link   INTEGER NOT NULL,
	PRIMARY KEY (seg, code)
) WITHOUT ROWID`,
	`CREATE TABLE link_index (
	seg INTEGER NOT NULL,
	idx    BLOB NOT NULL,
	link   INTEGER NOT NULL,
	PRIMARY KEY (seg, idx)
) WITHOUT ROWID`,
	ddlLog, ddlFailedUnlocks, ddlWithdrawn,
}

// schemaV4Minor[m] is the DDL that minor version m adds to version 4.
var schemaV4Minor = [][]string{}

// The tables that format 2 keeps unchanged from format 1, format 3 from
// format 2, and format 4 from format 3.
const (
	ddlLinkGroups = `CREATE TABLE link_groups (
	id   INTEGER PRIMARY KEY,
	data BLOB NOT NULL
)`
	ddlLinkCodes = `CREATE TABLE link_codes (
	domain INTEGER NOT NULL,
	code   TEXT NOT NULL,
	link   INTEGER NOT NULL,
	PRIMARY KEY (domain, code)
) WITHOUT ROWID`
	ddlLinkIndex = `CREATE TABLE link_index (
	domain INTEGER NOT NULL,
	idx    BLOB NOT NULL,
	link   INTEGER NOT NULL,
	PRIMARY KEY (domain, idx)
) WITHOUT ROWID`
	ddlMeta = `CREATE TABLE meta (
	key   TEXT PRIMARY KEY NOT NULL,
	value BLOB
)`
	ddlSlots = `CREATE TABLE slots (
	id          INTEGER PRIMARY KEY,
	type        TEXT NOT NULL,
	label       TEXT NOT NULL,
	created     TEXT NOT NULL,
	kdf         TEXT,
	kdf_time    INTEGER,
	kdf_memory  INTEGER,
	kdf_threads INTEGER,
	kdf_salt    BLOB,
	recipient   TEXT,
	wrapped     BLOB NOT NULL
)`
	ddlDomains = `CREATE TABLE domains (
	id      INTEGER PRIMARY KEY,
	name    TEXT NOT NULL UNIQUE,
	scheme  TEXT NOT NULL,
	created TEXT NOT NULL
)`
	ddlLog = `CREATE TABLE log (
	seq          INTEGER PRIMARY KEY,
	time         TEXT NOT NULL,
	os_user      TEXT NOT NULL,
	host         TEXT NOT NULL,
	actor        TEXT NOT NULL,
	action       TEXT NOT NULL,
	purpose      TEXT NOT NULL,
	details      TEXT NOT NULL,
	tool_version TEXT NOT NULL,
	prev_hash    BLOB NOT NULL,
	hash         BLOB NOT NULL
)`
	ddlFailedUnlocks = `CREATE TABLE failed_unlocks (
	id           INTEGER PRIMARY KEY,
	time         TEXT NOT NULL,
	os_user      TEXT NOT NULL,
	host         TEXT NOT NULL,
	actor        TEXT NOT NULL,
	tool_version TEXT NOT NULL,
	reason       TEXT NOT NULL,
	attempts     INTEGER NOT NULL
)`
	ddlWithdrawn = `CREATE TABLE withdrawn (
	idx     BLOB PRIMARY KEY NOT NULL,
	created INTEGER NOT NULL
) WITHOUT ROWID`
)

// lastMinor returns the highest minor version of major this package
// knows.
func lastMinor(major int) int {
	switch major {
	case 1:
		return lastMinorV1
	case 2:
		return lastMinorV2
	case 3:
		return lastMinorV3
	}
	return FormatMinor
}

// schemaFor returns the DDL of format version major.minor (minor is
// clamped to the last minor version of major this package knows).
func schemaFor(major, minor int) []string {
	base, minors := schemaV4, schemaV4Minor
	switch major {
	case 1:
		base, minors = schemaV1, schemaV1Minor
	case 2:
		base, minors = schemaV2, schemaV2Minor
	case 3:
		base, minors = schemaV3, schemaV3Minor
	}
	out := append([]string(nil), base...)
	for m := 1; m <= minor && m < len(minors); m++ {
		out = append(out, minors[m]...)
	}
	return out
}

// pageSize is the SQLite page size of a new vault. Larger pages make the
// link B-trees shallower and let the 16 MiB page cache hold more of their
// upper levels. Measured with format 1 against SQLite's default of 4096
// (BenchmarkLinkInsert, fresh vault): 143k -> 187k new links/s at 200,000
// links, 73k -> 82k at 1,000,000 (8192 bytes: 178k and 81k). 32 KiB
// against 16 KiB with format 2.0 (2026-12-03, runs in turn, fresh vaults):
// 3M rows from 3M persons faster in 6 of 6 pairs, 36.1 -> 32.9 s and 53.7
// -> 49.7 CPU s (means of the last 4), with less system time (fewer pages
// read and spilled); 1M persons 8.04 -> 7.82 s (3 of 4 pairs faster);
// BenchmarkLookup ~30 us either way. 64 KiB was no better than 32. Vaults
// made with another page size work as before: SQLite reads the size from
// the file.
const pageSize = 32768

// synchronous is the SQLite synchronous setting. It is a variable only so
// that the fuzz tests can turn fsync off; programs must not change it.
var synchronous = "FULL"

// dsn returns the database/sql data source name for the vault at path.
// mode=rw makes SQLite refuse to create a missing file.
func dsn(path string) (string, error) {
	uri, err := fileURI(path)
	if err != nil {
		return "", err
	}
	return uri + "?mode=rw" +
		"&_txlock=immediate" +
		"&_pragma=busy_timeout(10000)" +
		"&_pragma=synchronous(" + synchronous + ")" +
		"&_pragma=secure_delete(ON)" +
		"&_pragma=foreign_keys(ON)" +
		"&_pragma=trusted_schema(OFF)" +
		"&_pragma=cell_size_check(ON)" +
		"&_pragma=temp_store(MEMORY)" +
		"&_pragma=cache_size(-16384)" +
		// Only an empty file takes it (Create); SQLite fixes the size when
		// a write transaction first starts, so it cannot be set inside
		// Create's transaction.
		"&_pragma=page_size(" + strconv.Itoa(pageSize) + ")", nil
}

// fileURI turns a file name into an SQLite "file:" URI (absolute path,
// with '%', '?' and '#' escaped).
func fileURI(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	abs = filepath.ToSlash(abs)
	if !strings.HasPrefix(abs, "/") { // Windows drive letter
		abs = "/" + abs
	}
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return "file:" + r.Replace(abs), nil
}

func openDB(path string) (*sql.DB, error) {
	name, err := dsn(path)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", name)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(2)
	return db, nil
}

type schemaObject struct{ typ, name, tbl, sql string }

var (
	expectedSchemaMu sync.Mutex
	expectedSchema   = map[[2]int]map[string]schemaObject{}
)

// wantSchema returns the sqlite_schema rows that the DDL of version
// major.minor produces, computed once per version in an in-memory
// database so that it always matches the DDL.
func wantSchema(major, minor int) (map[string]schemaObject, error) {
	minor = min(minor, lastMinor(major))
	expectedSchemaMu.Lock()
	defer expectedSchemaMu.Unlock()
	if m, ok := expectedSchema[[2]int{major, minor}]; ok {
		return m, nil
	}
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, s := range schemaFor(major, minor) {
		if _, err := db.Exec(s); err != nil {
			return nil, err
		}
	}
	m, err := readSchema(context.Background(), db)
	if err != nil {
		return nil, err
	}
	expectedSchema[[2]int{major, minor}] = m
	return m, nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func readSchema(ctx context.Context, q queryer) (map[string]schemaObject, error) {
	rows, err := q.QueryContext(ctx, `SELECT type, name, tbl_name, COALESCE(sql, '') FROM sqlite_schema`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]schemaObject{}
	for rows.Next() {
		var o schemaObject
		if err := rows.Scan(&o.typ, &o.name, &o.tbl, &o.sql); err != nil {
			return nil, err
		}
		m[o.name] = o
	}
	return m, rows.Err()
}

// checkSchema verifies that the file's schema is exactly the one of its
// format version major.minor. If the file has a newer minor version than
// this package, extra tables and indexes are tolerated; triggers and views
// never are.
func checkSchema(ctx context.Context, q queryer, major, minor int) error {
	want, err := wantSchema(major, minor)
	if err != nil {
		return err
	}
	got, err := readSchema(ctx, q)
	if err != nil {
		return err
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			return corruptf("schema object %q is missing", name)
		}
		if g != w {
			return corruptf("schema object %q differs from format version %d.%d", name, major, min(minor, lastMinor(major)))
		}
	}
	for name, g := range got {
		if _, ok := want[name]; ok {
			continue
		}
		if minor <= lastMinor(major) || (g.typ != "table" && g.typ != "index") {
			return corruptf("unexpected schema object %q (%s)", name, g.typ)
		}
	}
	return nil
}

// sqliteCode returns the primary SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}

func isBusy(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
}

// classify turns an error met while reading vault content into a typed one:
// damaged or unexpected content becomes ErrCorrupt, lock contention ErrBusy;
// I/O, permission and context errors are returned unchanged.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	for _, typed := range typedErrors {
		if errors.Is(err, typed) {
			return err
		}
	}
	switch sqliteCode(err) {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return fmt.Errorf("%w: %v", ErrBusy, err)
	case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY,
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_AUTH, sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_ABORT:
		return err
	case sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("%w: %v", ErrNotVault, err)
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}
