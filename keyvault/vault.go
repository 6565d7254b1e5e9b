package keyvault

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
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

// SlotPassphrase is the type of a passphrase key slot (Argon2id). The age
// slot types are [SlotAgeX25519], [SlotAgeHybrid] and [SlotAgePlugin].
const SlotPassphrase = "passphrase"

// Link states.
const (
	// LinkActive is the state of a normal link.
	LinkActive = "active"
	// LinkWithdrawn is the state of a link of a person who has withdrawn
	// ([Vault.Withdraw]): the keyed index and the code remain, the sealed
	// identifier is erased, and the person cannot be linked again.
	LinkWithdrawn = "withdrawn"
)

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
	major   int // format version of the file when it was opened (after an upgrade: the new one)
	minor   int

	mu      sync.Mutex
	k       *keys // nil once closed
	domains map[string]domainRow
	slot    SlotInfo // the slot this handle was unlocked with (zero for Create: the first slot)
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
	KDF        *KDFParams // Argon2id parameters; nil means calibrated (see DefaultKDF). Explicit values must be at least MinKDF.
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
	kdf, err := newSlotKDF(o.KDF)
	if err != nil {
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
	v := &Vault{path: path, db: db, actor: actor, vaultID: randomBytes(16), major: FormatVersion, minor: FormatMinor, domains: map[string]domainRow{}}
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
	for _, s := range schemaFor(FormatVersion, FormatMinor) {
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
		{"writer_minor", int64(writerMinor)},
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
	v.slot = SlotInfo{ID: slotID, Type: SlotPassphrase, Label: label, KDF: kdf}
	if err := insertDomain(ctx, tx, DefaultDomain, SchemeKeyed, created); err != nil {
		return err
	}
	r, err := newRow(&Entry{Action: "init", Details: map[string]any{
		"format_version": FormatVersion,
		"format_minor":   FormatMinor,
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
	return OpenWith(ctx, path, Credentials{Passphrase: passphrase}, actor)
}

// Credentials are what a key holder unlocks a vault with: a passphrase,
// age identities (see [ParseIdentities]), or both.
type Credentials struct {
	// Passphrase is tried on every passphrase slot (in id order). It is
	// tried even when empty if there are no Identities.
	Passphrase []byte
	// Identities are tried on every age slot (in id order): X25519 and
	// hybrid identities on the native age slots, a plugin identity only on
	// slots of its plugin (each try runs the plugin, which may ask for a
	// PIN or a touch of a hardware token).
	Identities []age.Identity
}

// OpenWith is [Open] with any credentials: a passphrase or age identities.
// It behaves exactly like Open (the unlock is logged, failures are recorded
// as pending rows); the "unlock" entry names the slot and its type. An age
// plugin that is not installed or fails gives an error naming the plugin
// (exit code 1 in the CLI), not [ErrWrongPassphrase]. A vault whose key has
// been destroyed gives [ErrDestroyed].
func OpenWith(ctx context.Context, path string, c Credentials, actor string) (*Vault, error) {
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
	if err := v.unlock(ctx, c); err != nil {
		db.Close()
		return nil, err
	}
	return v, nil
}

// checkFileFormat checks the SQLite header's file format numbers (bytes 18
// and 19): a vault is written with 1 (rollback journal); 2 (WAL) is
// refused later with the journal mode. A larger write number makes SQLite
// open the file read-only, which would surface as a baffling "readonly
// database" error in the middle of the unlock.
func checkFileFormat(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("keyvault: %w", err)
	}
	defer f.Close()
	var h [20]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return corruptf("short file header")
	}
	if h[18] < 1 || h[18] > 2 || h[19] < 1 || h[19] > 2 {
		return corruptf("SQLite file format numbers %d and %d (a vault has 1 and 1)", h[18], h[19])
	}
	return nil
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
	if err := checkFileFormat(v.path); err != nil {
		return err
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
	var wm int64
	if err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'writer_minor'`).Scan(&wm); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return classify(err)
	}
	if wm > int64(lastMinor(int(major))) {
		return &VersionError{Found: int(userVersion), Supported: FormatVersion, WriterMinor: int(wm), SupportedMinor: lastMinor(int(major))}
	}
	if err := checkSchema(ctx, q, int(major), int(minor)); err != nil {
		return classify(err)
	}
	v.major, v.minor = int(major), int(minor)
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

func (v *Vault) unlock(ctx context.Context, c Credentials) error {
	// Read-only phase: header, schema, slots and the log head, in one read
	// transaction.
	var headSeq int64
	var headHash, headMACValue []byte
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
		if destroyed, err := isDestroyed(ctx, tx); err != nil {
			return nil, err
		} else if destroyed {
			return nil, ErrDestroyed
		}
		// Best effort: a missing or odd head is reported by verifyChain.
		if tx.QueryRowContext(ctx, `SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1`).Scan(&headSeq, &headHash) != nil ||
			tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'log_head_mac'`).Scan(&headMACValue) != nil {
			headMACValue = nil
		}
		return readSlots(ctx, tx)
	}()
	if err != nil {
		return fmt.Errorf("keyvault: open %s: %w", v.path, err)
	}

	// Try the slots. A candidate secret is accepted at once if it
	// authenticates the log head: anyone who knows an age recipient (a
	// public key) could plant a slot wrapping a secret of their choosing,
	// and such a slot must not be preferred. If no candidate
	// authenticates the head, the first one is used and the chain
	// verification below reports the tampered log.
	tryPassphrase := len(c.Identities) == 0 || len(c.Passphrase) > 0
	var secret, fallback []byte
	var used, fallbackSlot *slotRow
	var slotErr error
	for i := range slots {
		s := &slots[i]
		var cand []byte
		var err error
		switch {
		case s.typ == SlotPassphrase && tryPassphrase:
			cand, err = s.openPassphrase(v.vaultID, c.Passphrase)
		case isAgeSlot(s.typ) && len(c.Identities) > 0:
			cand, err = s.openAge(v.vaultID, c.Identities)
		default:
			continue // unknown slot types are skipped
		}
		if err != nil {
			if !errors.Is(err, errSlotNotOpened) && slotErr == nil {
				slotErr = err
			}
			continue
		}
		if headMACValue == nil || secretMatchesHead(cand, v.vaultID, headSeq, headHash, headMACValue) {
			secret, used = cand, s
			break
		}
		if fallback == nil {
			fallback, fallbackSlot = cand, s
		} else {
			clear(cand)
		}
	}
	if secret == nil && fallback != nil {
		secret, used = fallback, fallbackSlot
	} else if fallback != nil {
		clear(fallback)
	}
	if secret == nil {
		reason := "no passphrase slot opened"
		switch {
		case slotErr != nil:
			reason = "age plugin failed"
		case len(c.Identities) > 0 && tryPassphrase:
			reason = "no key slot opened"
		case len(c.Identities) > 0:
			reason = "no age slot opened"
		}
		recordFailedUnlock(v.db, v.actor, reason)
		if slotErr != nil {
			return fmt.Errorf("keyvault: open %s: %w", v.path, slotErr)
		}
		return fmt.Errorf("keyvault: open %s: %w", v.path, ErrWrongPassphrase)
	}
	k := newKeys(secret)
	err = v.writeKeys(ctx, k, func(tx *sql.Tx) error {
		// The unlock writes to these tables (and every later write
		// appends to the log): writing into a damaged B-tree can lose
		// rows that were still readable, so their structure is checked
		// first. They are small; the link tables are left to Verify.
		for _, t := range []string{"log", "meta", "failed_unlocks"} {
			if err := sqliteCheck(ctx, tx, "quick_check("+t+")", "table "+t); err != nil {
				return err
			}
		}
		if err := verifyChain(ctx, tx, k, v.vaultID); err != nil {
			return err
		}
		if err := upgrade(ctx, tx, k, v.vaultID, v.actor); err != nil {
			return err
		}
		folded, err := foldFailedUnlocks(ctx, tx, k, v.vaultID)
		if err != nil {
			return err
		}
		r, err := newRow(&Entry{Action: "unlock", Details: map[string]any{
			"slot":                  used.id,
			"slot_type":             used.typ,
			"failed_unlocks_folded": folded,
		}}, v.actor)
		if err != nil {
			return err
		}
		return appendRow(ctx, tx, k, v.vaultID, r, false)
	})
	if err != nil {
		k.wipe()
		// classify: a damaged file that fails any step of the unlock
		// transaction is ErrCorrupt, not a bare SQLite error.
		return fmt.Errorf("keyvault: open %s: %w", v.path, classify(err))
	}
	v.k = k
	v.slot = used.info()
	if v.major < FormatVersion || v.minor < FormatMinor { // upgraded
		v.major, v.minor = FormatVersion, FormatMinor
	}
	return nil
}

// secretMatchesHead reports whether secret authenticates the log head.
func secretMatchesHead(secret, vaultID []byte, seq int64, hash, mac []byte) bool {
	key := deriveKey(secret, labelLogMAC)
	defer clear(key)
	return hmac.Equal(mac, headMAC(key, vaultID, seq, hash))
}

// isDestroyed reports whether the vault's key has been destroyed.
func isDestroyed(ctx context.Context, q queryer) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM meta WHERE key = 'destroyed'`).Scan(&n); err != nil {
		return false, classify(err)
	}
	return n > 0, nil
}

// UnlockedWith describes the key slot this handle was unlocked with (for a
// vault made by [Create], its first slot).
func (v *Vault) UnlockedWith() SlotInfo { return v.slot }

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
	return beginImmediate(ctx, v.db.BeginTx)
}

// beginImmediate is beginWrite with the BeginTx of a pool or of one
// connection.
func beginImmediate(ctx context.Context, begin func(context.Context, *sql.TxOptions) (*sql.Tx, error)) (*sql.Tx, error) {
	waitCtx := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithTimeout(ctx, LockTimeout)
		defer cancel()
	}
	for {
		// Each attempt itself waits up to busy_timeout inside SQLite.
		tx, err := begin(ctx, nil)
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
		if err := insertDomain(ctx, tx, name, scheme, formatTime(now())); err != nil {
			return err
		}
		r, err := newRow(&Entry{Action: "domain-add", Details: map[string]any{"domain": name, "scheme": string(scheme)}}, v.actor)
		if err != nil {
			return err
		}
		return appendRow(ctx, tx, k, v.vaultID, r, false)
	})
}

// insertDomain adds a domain and its first map segment.
func insertDomain(ctx context.Context, tx *sql.Tx, name string, scheme Scheme, created string) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO domains (name, scheme, created) VALUES (?, ?, ?)`, name, string(scheme), created)
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	_, err = addSegment(ctx, tx, id)
	return err
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
