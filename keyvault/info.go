package keyvault

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"
)

// Info summarises a vault.
type Info struct {
	Path                 string
	Project              string
	FormatVersion        int    // major format version
	FormatMinor          int    // minor format version
	VaultID              string // random id of this vault (hex)
	Created              time.Time
	CreatedBy            string    // tool version that created the vault
	Retention            time.Time // zero if none was set
	Slots                []SlotInfo
	Domains              []DomainStats
	WithdrawnPersons     int   // withdrawal tombstones (persons who have withdrawn)
	LogLastSeq           int64 // sequence number of the newest log entry
	LogLastTime          time.Time
	LogLastAction        string // action of the newest log entry (the last access)
	LogLastActor         string // actor of the newest log entry
	PendingFailedUnlocks int    // failed unlocks not yet folded into the log

	// Destroyed is the time the key was destroyed ([Vault.Destroy]); zero
	// for a live vault. LogFinalHash is then the hex SHA-256 hash of the
	// destruction entry, the last of the log.
	Destroyed    time.Time
	LogFinalHash string
}

// SlotInfo describes a key slot (never its secret).
type SlotInfo struct {
	ID        int64
	Type      string // SlotPassphrase, SlotAgeX25519, SlotAgeHybrid or SlotAgePlugin
	Label     string
	Created   time.Time // when the slot was written (a passphrase change rewrites it)
	KDF       KDFParams // for passphrase slots
	Recipient string    // for age slots: the recipient (a public key)
	Plugin    string    // for age plugin slots: the plugin name (age-plugin-NAME)
}

// DomainStats is a domain with its number of links per state.
type DomainStats struct {
	DomainInfo
	Links map[string]int // state (LinkActive, LinkWithdrawn) -> count
}

// Info reads a summary of the vault. It does not write a log entry (it
// reveals no identifiers).
func (v *Vault) Info() (Info, error) {
	if _, err := v.keys(); err != nil {
		return Info{}, err
	}
	ctx := context.Background()
	tx, err := v.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Info{}, classify(err)
	}
	defer tx.Rollback()
	return readInfo(ctx, tx, v.path, v.vaultID)
}

// Inspect reads the summary of the vault at path without a key and without
// writing to it (no log entry). It shows only what the file reveals to
// anyone who has it (docs/vault-format.md, threat model), and nothing it
// shows is authenticated. It is how a destroyed vault is described (Info's
// Destroyed is set); for a live vault prefer [Vault.Info] after unlocking.
func Inspect(path string) (Info, error) {
	db, vaultID, err := openKeyless(path)
	if err != nil {
		return Info{}, err
	}
	defer db.Close()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Info{}, classify(err)
	}
	defer tx.Rollback()
	in, err := readInfo(ctx, tx, path, vaultID)
	if err != nil {
		return in, fmt.Errorf("keyvault: inspect %s: %w", path, err)
	}
	return in, nil
}

// openKeyless opens the vault file at path for reading without a key: it
// checks the header and the schema and returns the vault id.
func openKeyless(path string) (*sql.DB, []byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("keyvault: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("keyvault: %s: %w", path, ErrNotVault)
	}
	db, err := openDB(path)
	if err != nil {
		return nil, nil, fmt.Errorf("keyvault: %w", err)
	}
	v := &Vault{path: path, db: db}
	ctx := context.Background()
	err = func() error {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return classify(err)
		}
		defer tx.Rollback()
		return v.readHeader(ctx, tx)
	}()
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("keyvault: %s: %w", path, err)
	}
	return db, v.vaultID, nil
}

func readInfo(ctx context.Context, tx *sql.Tx, path string, vaultID []byte) (Info, error) {
	var in Info
	in.Path = path
	in.VaultID = hex.EncodeToString(vaultID)
	var created, retention string
	for _, m := range []struct {
		key string
		dst any
	}{
		{"project", &in.Project}, {"format_version", &in.FormatVersion}, {"format_minor", &in.FormatMinor},
		{"created", &created}, {"created_by", &in.CreatedBy}, {"retention", &retention},
	} {
		if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, m.key).Scan(m.dst); err != nil {
			return in, fmt.Errorf("meta %s: %w", m.key, classify(err))
		}
	}
	var err error
	if in.Created, err = parseTime(created); err != nil {
		return in, corruptf("bad creation time")
	}
	if retention != "" {
		if in.Retention, err = parseTime(retention); err != nil {
			return in, corruptf("bad retention time")
		}
	}
	var destroyed string
	if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'destroyed'`).Scan(&destroyed); err == nil {
		if in.Destroyed, err = parseTime(destroyed); err != nil {
			return in, corruptf("bad destruction time")
		}
		var h []byte
		if err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'log_final_hash'`).Scan(&h); err != nil {
			return in, corruptf("destroyed vault without a final log hash")
		}
		in.LogFinalHash = hex.EncodeToString(h)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return in, classify(err)
	}
	slots, err := readSlots(ctx, tx)
	if err != nil {
		return in, err
	}
	for _, s := range slots {
		in.Slots = append(in.Slots, s.info())
	}
	domains, err := listDomains(ctx, tx)
	if err != nil {
		return in, err
	}
	byName := map[string]int{}
	for i, d := range domains {
		in.Domains = append(in.Domains, DomainStats{DomainInfo: d, Links: map[string]int{}})
		byName[d.Name] = i
	}
	// Formats 3 and 4 count the keyed-index map, which marks withdrawn
	// links (Verify checks that it matches the links): by segment in 4,
	// by domain in 3; an older file, read before its upgrade, its links
	// table.
	q := `SELECT d.name, CASE WHEN i.link < 0 THEN 'withdrawn' ELSE 'active' END, count(*)
		FROM link_index i JOIN map_segments s ON s.id = i.seg JOIN domains d ON d.id = s.domain
		GROUP BY s.domain, i.link < 0`
	switch in.FormatVersion {
	case 3:
		q = `SELECT d.name, CASE WHEN i.link < 0 THEN 'withdrawn' ELSE 'active' END, count(*)
		FROM link_index i JOIN domains d ON d.id = i.domain GROUP BY i.domain, i.link < 0`
	case 1, 2:
		q = `SELECT d.name, l.state, count(*) FROM links l JOIN domains d ON d.id = l.domain GROUP BY l.domain, l.state`
	}
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return in, classify(err)
	}
	for rows.Next() {
		var name, state string
		var n int
		if err := rows.Scan(&name, &state, &n); err != nil {
			rows.Close()
			return in, classify(err)
		}
		in.Domains[byName[name]].Links[state] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return in, classify(err)
	}
	if hasTable(ctx, tx, "withdrawn") {
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM withdrawn`).Scan(&in.WithdrawnPersons); err != nil {
			return in, classify(err)
		}
	}
	var last string
	if err := tx.QueryRowContext(ctx, `SELECT seq, time, action, actor FROM log ORDER BY seq DESC LIMIT 1`).Scan(
		&in.LogLastSeq, &last, &in.LogLastAction, &in.LogLastActor); err != nil {
		return in, classify(err)
	}
	if in.LogLastTime, err = parseTime(last); err != nil {
		return in, corruptf("bad log time")
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM failed_unlocks`).Scan(&in.PendingFailedUnlocks); err != nil {
		return in, classify(err)
	}
	return in, nil
}

// hasTable reports whether the schema has the table (a 1.0 vault read
// without upgrading it has no table withdrawn).
func hasTable(ctx context.Context, q queryer, name string) bool {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, name).Scan(&n)
	return err == nil && n == 1
}
