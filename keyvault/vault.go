package keyvault

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Scheme is the code scheme of a domain.
type Scheme string

// Code schemes.
const (
	// SchemeKeyed domains derive codes from the identifier with a keyed MAC
	// (the same person always gets the same code); links are recorded with
	// [Tx.Link].
	SchemeKeyed Scheme = "keyed"
	// SchemeRandom domains draw random codes that the vault keeps unique;
	// links are made with [Tx.Assign].
	SchemeRandom Scheme = "random"
)

// DefaultDomain is the domain every vault is created with (keyed).
const DefaultDomain = "default"

// SlotPassphrase is the type of a passphrase key slot. Issue #3 adds
// "age-x25519" and "age-plugin".
const SlotPassphrase = "passphrase"

// LinkActive is the state of a normal link. Issue #4 adds "withdrawn"
// (a tombstone that keeps the keyed index but not the identifier).
const LinkActive = "active"

// LockTimeout bounds how long [Vault.Begin] and other writes wait for a
// vault locked by another writer when their context has no deadline.
var LockTimeout = 2 * time.Minute

// Vault is an open, unlocked vault. Create one with [Create] or [Open] and
// release it with [Vault.Close].
type Vault struct {
	path    string
	db      *sql.DB
	actor   string
	vaultID []byte

	mu      sync.Mutex
	k       *keys // nil once closed
	domains map[string]domainRow
}

type domainRow struct {
	id   int64
	info DomainInfo
}

// DomainInfo describes a domain.
type DomainInfo struct {
	Name    string
	Scheme  Scheme
	Created time.Time
}

// CreateOptions are the settings of a new vault.
type CreateOptions struct {
	Project    string     // project name (required)
	Passphrase []byte     // passphrase of the first key slot (required)
	Label      string     // label of the first key slot (default "passphrase")
	KDF        *KDFParams // Argon2id parameters; nil means DefaultKDF. Explicit values must be at least MinKDF.
	Actor      string     // who creates the vault, recorded in the log (default: the OS user)
	Retention  time.Time  // optional date after which the key should be destroyed
}

// Create makes a new vault file at path, which must not exist yet (it is
// created with O_EXCL and mode 0600; an existing file is never overwritten).
// The new vault has a random project secret wrapped in one passphrase slot,
// the keyed domain "default", and a log with an "init" entry. The returned
// vault is unlocked.
func Create(path string, o CreateOptions) (*Vault, error) {
	if strings.TrimSpace(o.Project) == "" || !validText(o.Project, 256) {
		return nil, invalidf("project name is required (at most 256 bytes of UTF-8)")
	}
	if len(o.Passphrase) == 0 {
		return nil, invalidf("passphrase is empty")
	}
	label := o.Label
	if label == "" {
		label = SlotPassphrase
	}
	if !validText(label, 256) {
		return nil, invalidf("slot label too long or not valid UTF-8")
	}
	kdf := DefaultKDF
	if o.KDF != nil {
		kdf = *o.KDF
		if err := kdf.checkMin(); err != nil {
			return nil, err
		}
	}
	if err := kdf.checkBounds(); err != nil {
		return nil, err
	}
	actor := o.Actor
	if actor == "" {
		actor, _ = identity()
	}
	if !validText(actor, maxActorLen) {
		return nil, invalidf("actor too long or not valid UTF-8")
	}
	if hasIdentityNumber(actor) || hasIdentityNumber(o.Project) {
		return nil, ErrLooksLikeIdentifier
	}

	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keyvault: create: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("keyvault: create: %w", err)
	}
	db, err := openDB(path)
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("keyvault: create: %w", err)
	}
	v := &Vault{path: path, db: db, actor: actor, vaultID: randomBytes(16), domains: map[string]domainRow{}}
	secret := randomBytes(secretLen)
	k := newKeys(secret)
	if err := v.initialize(k, o, label, kdf); err != nil {
		k.wipe()
		db.Close()
		os.Remove(path)
		os.Remove(path + "-journal")
		return nil, fmt.Errorf("keyvault: create: %w", err)
	}
	v.k = k
	return v, nil
}

func (v *Vault) initialize(k *keys, o CreateOptions, label string, kdf KDFParams) error {
	ctx := context.Background()
	tx, err := v.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, s := range schemaV1 {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", ApplicationID)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", FormatVersion)); err != nil {
		return err
	}
	created := formatTime(now())
	retention := ""
	if !o.Retention.IsZero() {
		retention = formatTime(o.Retention)
	}
	meta := []struct {
		key   string
		value any
	}{
		{"format_version", int64(FormatVersion)},
		{"format_minor", int64(FormatMinor)},
		{"vault_id", v.vaultID},
		{"project", o.Project},
		{"created", created},
		{"created_by", ToolVersion},
		{"retention", retention},
	}
	for _, m := range meta {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)`, m.key, m.value); err != nil {
			return err
		}
	}
	slotID, err := insertPassphraseSlot(ctx, tx, v.vaultID, k.secret, o.Passphrase, label, kdf)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO domains (name, scheme, created) VALUES (?, ?, ?)`,
		DefaultDomain, string(SchemeKeyed), created); err != nil {
		return err
	}
	r, err := newRow(&Entry{Action: "init", Details: map[string]any{
		"format_version": FormatVersion,
		"slot":           slotID,
		"slot_type":      SlotPassphrase,
		"kdf":            kdfDetails(kdf),
		"domain":         DefaultDomain,
		"retention":      retention,
	}}, v.actor)
	if err != nil {
		return err
	}
	if err := appendRow(ctx, tx, k, v.vaultID, r, true); err != nil {
		return err
	}
	return tx.Commit()
}

func kdfDetails(p KDFParams) map[string]any {
	return map[string]any{"name": kdfArgon2id, "time": p.Time, "memory_kib": p.MemoryKiB, "threads": p.Threads}
}

// Open opens and unlocks the vault at path with a passphrase. actor names
// who is acting (recorded in the log; empty means the OS user).
//
// Open verifies the whole access-log chain and then logs an "unlock" entry
// (folding in any failed unlocks recorded since the last success), so even
// read-only commands write to the vault: every unlock is on record. If the
// entry cannot be written (for example a read-only file), Open fails. Open
// therefore waits for another writer's transaction to end, for at most
// [LockTimeout]; use [OpenContext] to bound the wait otherwise.
//
// Errors: [ErrWrongPassphrase] if no key slot opens (the failure is recorded
// as a pending row, see docs/vault-format.md); [ErrNotVault],
// [ErrUnsupportedVersion], [ErrCorrupt] or [ErrLogTampered] for a file that
// is not a sound vault; an error matching [fs.ErrNotExist] if there is no
// file.
func Open(path string, passphrase []byte, actor string) (*Vault, error) {
	return OpenContext(context.Background(), path, passphrase, actor)
}

// OpenContext is [Open] with a context bounding the wait for the vault's
// write lock.
func OpenContext(ctx context.Context, path string, passphrase []byte, actor string) (*Vault, error) {
	if actor == "" {
		actor, _ = identity()
	}
	if !validText(actor, maxActorLen) {
		return nil, invalidf("actor too long or not valid UTF-8")
	}
	if hasIdentityNumber(actor) {
		return nil, ErrLooksLikeIdentifier
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("keyvault: open: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("keyvault: open %s: %w", path, ErrNotVault)
	}
	db, err := openDB(path)
	if err != nil {
		return nil, fmt.Errorf("keyvault: open: %w", err)
	}
	v := &Vault{path: path, db: db, actor: actor, domains: map[string]domainRow{}}
	if err := v.unlock(ctx, passphrase); err != nil {
		db.Close()
		return nil, err
	}
	return v, nil
}

// readHeader checks application id, format version and schema, and reads
// the vault id.
func (v *Vault) readHeader(ctx context.Context, q queryer) error {
	var appID, userVersion int64
	if err := q.QueryRowContext(ctx, `PRAGMA application_id`).Scan(&appID); err != nil {
		return classify(err)
	}
	if appID != ApplicationID {
		return ErrNotVault
	}
	if err := q.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&userVersion); err != nil {
		return classify(err)
	}
	if userVersion > FormatVersion {
		return &VersionError{Found: int(userVersion), Supported: FormatVersion}
	}
	if userVersion < 1 {
		return corruptf("format version %d", userVersion)
	}
	var major, minor int64
	if err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'format_version'`).Scan(&major); err != nil {
		return classify(err)
	}
	if err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'format_minor'`).Scan(&minor); err != nil {
		return classify(err)
	}
	if major != userVersion {
		return corruptf("format version in meta (%d) differs from the file header (%d)", major, userVersion)
	}
	if minor < 0 || minor > 1<<20 {
		return corruptf("format minor version %d", minor)
	}
	if err := checkSchema(ctx, q, int(minor)); err != nil {
		return classify(err)
	}
	var id []byte
	if err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'vault_id'`).Scan(&id); err != nil {
		return classify(err)
	}
	if len(id) != 16 {
		return corruptf("vault id has %d bytes", len(id))
	}
	v.vaultID = id
	return nil
}

func (v *Vault) unlock(ctx context.Context, passphrase []byte) error {
	// Read-only phase: header, schema and slots, in one read transaction.
	slots, err := func() ([]slotRow, error) {
		tx, err := v.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return nil, classify(err)
		}
		defer tx.Rollback()
		if err := v.readHeader(ctx, tx); err != nil {
			return nil, err
		}
		var mode string
		if err := tx.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			return nil, classify(err)
		}
		if !strings.EqualFold(mode, "delete") {
			return nil, corruptf("journal mode %q (a vault uses the rollback journal)", mode)
		}
		return readSlots(ctx, tx)
	}()
	if err != nil {
		return fmt.Errorf("keyvault: open %s: %w", v.path, err)
	}
	var secret []byte
	var slotID int64
	for _, s := range slots {
		if s.typ != SlotPassphrase {
			continue // age slots: issue #3
		}
		if secret, err = s.openPassphrase(v.vaultID, passphrase); err == nil {
			slotID = s.id
			break
		}
	}
	if secret == nil {
		recordFailedUnlock(v.db, v.actor, "no passphrase slot opened")
		return fmt.Errorf("keyvault: open %s: %w", v.path, ErrWrongPassphrase)
	}
	k := newKeys(secret)
	err = v.writeKeys(ctx, k, func(tx *sql.Tx) error {
		if err := verifyChain(ctx, tx, k, v.vaultID); err != nil {
			return err
		}
		folded, err := foldFailedUnlocks(ctx, tx, k, v.vaultID)
		if err != nil {
			return err
		}
		r, err := newRow(&Entry{Action: "unlock", Details: map[string]any{
			"slot":                  slotID,
			"slot_type":             SlotPassphrase,
			"failed_unlocks_folded": folded,
		}}, v.actor)
		if err != nil {
			return err
		}
		return appendRow(ctx, tx, k, v.vaultID, r, false)
	})
	if err != nil {
		k.wipe()
		return fmt.Errorf("keyvault: open %s: %w", v.path, err)
	}
	v.k = k
	return nil
}

// keys returns the unlocked keys or ErrClosed.
func (v *Vault) keys() (*keys, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.k == nil {
		return nil, ErrClosed
	}
	return v.k, nil
}

// beginWrite starts a BEGIN IMMEDIATE transaction, waiting for the write
// lock until ctx is done (or LockTimeout if ctx has no deadline).
func (v *Vault) beginWrite(ctx context.Context) (*sql.Tx, error) {
	waitCtx := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithTimeout(ctx, LockTimeout)
		defer cancel()
	}
	for {
		// Each attempt itself waits up to busy_timeout inside SQLite.
		tx, err := v.db.BeginTx(ctx, nil)
		if err == nil {
			return tx, nil
		}
		if !isBusy(err) {
			return nil, classify(err)
		}
		select {
		case <-waitCtx.Done():
			return nil, fmt.Errorf("%w: %v", ErrBusy, waitCtx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// write runs fn in a write transaction with the unlocked keys and commits.
func (v *Vault) write(ctx context.Context, fn func(tx *sql.Tx, k *keys) error) error {
	k, err := v.keys()
	if err != nil {
		return err
	}
	return v.writeKeys(ctx, k, func(tx *sql.Tx) error { return fn(tx, k) })
}

func (v *Vault) writeKeys(ctx context.Context, k *keys, fn func(tx *sql.Tx) error) error {
	tx, err := v.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return classify(err)
	}
	return nil
}

// Close wipes the project secret and derived keys from memory (best effort)
// and closes the file. Further use of the vault returns [ErrClosed].
func (v *Vault) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.k == nil {
		return nil
	}
	v.k.wipe()
	v.k = nil
	return v.db.Close()
}

// Path returns the file name the vault was opened with.
func (v *Vault) Path() string { return v.path }

// DomainSecret returns the 32-byte secret of a domain, derived from the
// project secret with HKDF-SHA256 and the label "pseudokit/v1/domain/" +
// domain. The caller should zero it when done. Handing out the secret is not
// logged by itself: the pseudonymisation run that uses it is logged when its
// [Tx] commits.
func (v *Vault) DomainSecret(domain string) ([]byte, error) {
	k, err := v.keys()
	if err != nil {
		return nil, err
	}
	if _, err := v.domain(domain); err != nil {
		return nil, err
	}
	return deriveKey(k.secret, labelDomainPrefix+domain), nil
}

// validDomainName: 1-64 bytes of lower-case ASCII letters, digits, '.', '_'
// and '-', starting with a letter or digit.
func validDomainName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '.' || c == '_' || c == '-')
		if !ok {
			return false
		}
	}
	return true
}

// AddDomain creates a new domain with the given code scheme and logs a
// "domain-add" entry. Domain names are 1-64 characters of a-z, 0-9, '.',
// '_' and '-', starting with a letter or digit; a domain cannot be renamed
// or change scheme.
func (v *Vault) AddDomain(name string, scheme Scheme) error {
	if !validDomainName(name) {
		return invalidf("domain name %q: use 1-64 characters a-z 0-9 . _ -", name)
	}
	if scheme != SchemeKeyed && scheme != SchemeRandom {
		return invalidf("domain scheme %q: must be %q or %q", scheme, SchemeKeyed, SchemeRandom)
	}
	ctx := context.Background()
	return v.write(ctx, func(tx *sql.Tx, k *keys) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM domains WHERE name = ?`, name).Scan(&n); err != nil {
			return classify(err)
		}
		if n > 0 {
			return fmt.Errorf("%w: %s", ErrDomainExists, name)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO domains (name, scheme, created) VALUES (?, ?, ?)`,
			name, string(scheme), formatTime(now())); err != nil {
			return err
		}
		r, err := newRow(&Entry{Action: "domain-add", Details: map[string]any{"domain": name, "scheme": string(scheme)}}, v.actor)
		if err != nil {
			return err
		}
		return appendRow(ctx, tx, k, v.vaultID, r, false)
	})
}

func scanDomain(s interface{ Scan(...any) error }) (domainRow, error) {
	var d domainRow
	var scheme, created string
	if err := s.Scan(&d.id, &d.info.Name, &scheme, &created); err != nil {
		return d, err
	}
	d.info.Scheme = Scheme(scheme)
	if d.info.Scheme != SchemeKeyed && d.info.Scheme != SchemeRandom {
		return d, corruptf("domain has unknown scheme %q", scheme)
	}
	t, err := parseTime(created)
	if err != nil {
		return d, corruptf("domain has a bad creation time")
	}
	d.info.Created = t
	return d, nil
}

// domain returns the domain row, from the cache or the file (another
// process may have added it). Domains are never removed or changed.
func (v *Vault) domain(name string) (domainRow, error) {
	v.mu.Lock()
	d, ok := v.domains[name]
	closed := v.k == nil
	v.mu.Unlock()
	if closed {
		return d, ErrClosed
	}
	if ok {
		return d, nil
	}
	d, err := scanDomain(v.db.QueryRow(`SELECT id, name, scheme, created FROM domains WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("%w: %q", ErrNoDomain, name)
	}
	if err != nil {
		return d, classify(err)
	}
	v.mu.Lock()
	v.domains[name] = d
	v.mu.Unlock()
	return d, nil
}

// Domain returns the description of one domain, or an error matching
// [ErrNoDomain].
func (v *Vault) Domain(name string) (DomainInfo, error) {
	d, err := v.domain(name)
	return d.info, err
}

// Domains lists all domains in creation order.
func (v *Vault) Domains() ([]DomainInfo, error) {
	if _, err := v.keys(); err != nil {
		return nil, err
	}
	return listDomains(context.Background(), v.db)
}

func listDomains(ctx context.Context, q queryer) ([]DomainInfo, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, name, scheme, created FROM domains ORDER BY id`)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []DomainInfo
	for rows.Next() {
		d, err := scanDomain(rows)
		if err != nil {
			return nil, classify(err)
		}
		out = append(out, d.info)
	}
	return out, classify(rows.Err())
}

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
	LogLastSeq           int64 // sequence number of the newest log entry
	LogLastTime          time.Time
	PendingFailedUnlocks int // failed unlocks not yet folded into the log
}

// SlotInfo describes a key slot (never its secret).
type SlotInfo struct {
	ID        int64
	Type      string // "passphrase" (issue #3 adds "age-x25519", "age-plugin")
	Label     string
	Created   time.Time
	KDF       KDFParams // for passphrase slots
	Recipient string    // for age slots (issue #3)
}

// DomainStats is a domain with its number of links per state.
type DomainStats struct {
	DomainInfo
	Links map[string]int // state ("active", later "withdrawn") -> count
}

// Info reads a summary of the vault. It does not write a log entry (it
// reveals no identifiers).
func (v *Vault) Info() (Info, error) {
	var in Info
	if _, err := v.keys(); err != nil {
		return in, err
	}
	ctx := context.Background()
	tx, err := v.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return in, classify(err)
	}
	defer tx.Rollback()
	in.Path = v.path
	in.VaultID = hex.EncodeToString(v.vaultID)
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
	if in.Created, err = parseTime(created); err != nil {
		return in, corruptf("bad creation time")
	}
	if retention != "" {
		if in.Retention, err = parseTime(retention); err != nil {
			return in, corruptf("bad retention time")
		}
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
	rows, err := tx.QueryContext(ctx, `SELECT d.name, l.state, count(*) FROM links l JOIN domains d ON d.id = l.domain GROUP BY l.domain, l.state`)
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
	var last string
	if err := tx.QueryRowContext(ctx, `SELECT seq, time FROM log ORDER BY seq DESC LIMIT 1`).Scan(&in.LogLastSeq, &last); err != nil {
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
