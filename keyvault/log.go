package keyvault

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// ToolVersion is recorded in every access-log entry. The CLI sets it to its
// version at start-up.
var ToolVersion = "devel"

// timeLayout is the text form of times in the vault: UTC, RFC 3339 with
// milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// now is the clock; tests may replace it.
var now = func() time.Time { return time.Now().UTC() }

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

// Limits on log entry fields.
const (
	maxActorLen   = 256
	maxPurposeLen = 4096
	maxDetailsLen = 64 << 10
	// maxPendingFailed bounds the failed_unlocks table; further failures
	// are counted in the newest row.
	maxPendingFailed = 1000
)

// Entry is one access-log entry.
//
// Callers fill Action, and optionally Actor, Purpose and Details; the vault
// fills the other fields when it appends the entry (values set by the
// caller are ignored) and when it reads entries back.
//
// Details is a JSON object of counts, digests, file names, codes and similar
// facts. The log is readable by anyone who has the file, without any key:
// callers must never put identifiers (identity numbers, names, e-mail
// addresses, ...) into Details, Actor or Purpose. As a safety net the vault
// refuses an Actor or Purpose containing a run of exactly 11 digits
// ([ErrLooksLikeIdentifier]).
type Entry struct {
	Action  string         // what happened: lower case letters, digits and '-', e.g. "pseudonymize"
	Actor   string         // who asked for it (empty: the actor given to Open or Create)
	Purpose string         // why (free text, e.g. a project or case reference)
	Details map[string]any // facts about the action; never identifiers

	Seq         int64     // position in the log, from 1
	Time        time.Time // when the entry was written (UTC, millisecond precision)
	OSUser      string    // operating-system user
	Host        string    // host name
	ToolVersion string    // [ToolVersion] of the program that wrote it
	PrevHash    []byte    // hash of the previous entry (or the genesis value)
	Hash        []byte    // SHA-256 over this entry (see docs/vault-format.md)
}

// logRow is an entry as stored: the text exactly as in the file, so that the
// hash is recomputed over the stored bytes.
type logRow struct {
	seq                                                              int64
	time, osUser, host, actor, action, purpose, details, toolVersion string
	prevHash, hash                                                   []byte
}

const logColumns = `seq, time, os_user, host, actor, action, purpose, details, tool_version, prev_hash, hash`

func (r *logRow) scan(s interface{ Scan(...any) error }) error {
	return s.Scan(&r.seq, &r.time, &r.osUser, &r.host, &r.actor, &r.action, &r.purpose, &r.details,
		&r.toolVersion, &r.prevHash, &r.hash)
}

// computeHash returns SHA-256 over the length-prefixed encoding of the row
// (everything but the hash itself).
func (r *logRow) computeHash() []byte {
	b := make([]byte, 0, 256+len(r.details)+len(r.purpose))
	b = append(b, hashEntry...)
	b = appendU64(b, uint64(r.seq))
	for _, f := range []string{r.time, r.osUser, r.host, r.actor, r.action, r.purpose, r.details, r.toolVersion} {
		b = appendField(b, f)
	}
	b = appendField(b, string(r.prevHash))
	h := sha256.Sum256(b)
	return h[:]
}

func genesisHash(vaultID []byte) []byte {
	h := sha256.Sum256(append([]byte(hashGenesis), vaultID...))
	return h[:]
}

func headMAC(key, vaultID []byte, seq int64, hash []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(macHead))
	m.Write(vaultID)
	m.Write(appendU64(nil, uint64(seq)))
	m.Write(hash)
	return m.Sum(nil)
}

func (r *logRow) entry() (Entry, error) {
	e := Entry{
		Seq: r.seq, OSUser: r.osUser, Host: r.host, Actor: r.actor, Action: r.action,
		Purpose: r.purpose, ToolVersion: r.toolVersion,
		PrevHash: bytes.Clone(r.prevHash), Hash: bytes.Clone(r.hash),
	}
	t, err := parseTime(r.time)
	if err != nil {
		return e, corruptf("log entry %d: bad time", r.seq)
	}
	e.Time = t
	d := json.NewDecoder(strings.NewReader(r.details))
	d.UseNumber()
	if err := d.Decode(&e.Details); err != nil {
		return e, corruptf("log entry %d: bad details", r.seq)
	}
	return e, nil
}

// identity of the running process, computed once.
var (
	identityOnce sync.Once
	osUserName   string
	hostName     string
)

func identity() (string, string) {
	identityOnce.Do(func() {
		if u, err := user.Current(); err == nil && u.Username != "" {
			osUserName = u.Username
		} else if s := os.Getenv("USER"); s != "" {
			osUserName = s
		} else {
			osUserName = "uid:" + strconv.Itoa(os.Getuid())
		}
		if h, err := os.Hostname(); err == nil {
			hostName = h
		} else {
			hostName = "unknown"
		}
	})
	return osUserName, hostName
}

// hasIdentityNumber reports whether s contains a run of exactly 11 ASCII
// digits (the shape of a Norwegian identity number).
func hasIdentityNumber(s string) bool {
	run := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			run++
			continue
		}
		if run == 11 {
			return true
		}
		run = 0
	}
	return false
}

func validAction(s string) bool {
	if len(s) == 0 || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func validText(s string, max int) bool {
	return len(s) <= max && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// newRow validates e and turns it into a row (without seq and hashes).
func newRow(e *Entry, defaultActor string) (*logRow, error) {
	if !validAction(e.Action) {
		return nil, invalidf("log action %q must be lower case letters, digits and '-'", e.Action)
	}
	actor := e.Actor
	if actor == "" {
		actor = defaultActor
	}
	if !validText(actor, maxActorLen) || !validText(e.Purpose, maxPurposeLen) {
		return nil, invalidf("log actor or purpose too long or not valid UTF-8")
	}
	if hasIdentityNumber(actor) || hasIdentityNumber(e.Purpose) {
		return nil, ErrLooksLikeIdentifier
	}
	details := []byte("{}")
	if len(e.Details) > 0 {
		var err error
		details, err = json.Marshal(e.Details)
		if err != nil {
			return nil, invalidf("log details: %v", err)
		}
	}
	if len(details) > maxDetailsLen || !utf8.Valid(details) {
		return nil, invalidf("log details too long")
	}
	osu, host := identity()
	return &logRow{
		time: formatTime(now()), osUser: osu, host: host, actor: actor, action: e.Action,
		purpose: e.Purpose, details: string(details), toolVersion: ToolVersion,
	}, nil
}

// head reads and checks the last log entry: its stored hash must match its
// content and the head MAC in meta must authenticate it. This is what stops
// a new entry from "laundering" a truncated or rewritten log. It returns
// (nil, nil) for an empty log without a head MAC.
func headRow(ctx context.Context, q queryer, k *keys, vaultID []byte) (*logRow, error) {
	var r logRow
	err := r.scan(q.QueryRowContext(ctx, `SELECT `+logColumns+` FROM log ORDER BY seq DESC LIMIT 1`))
	var mac []byte
	merr := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'log_head_mac'`).Scan(&mac)
	if errors.Is(err, sql.ErrNoRows) {
		if errors.Is(merr, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, &LogTamperedError{Seq: 1, Reason: "the log is empty but the vault has a log head"}
	}
	if err != nil {
		return nil, classify(err)
	}
	if errors.Is(merr, sql.ErrNoRows) {
		if d, err := isDestroyed(ctx, q); err == nil && d {
			return nil, ErrDestroyed // another handle destroyed the key
		}
		return nil, &LogTamperedError{Seq: r.seq, Reason: "the log head MAC is missing"}
	}
	if merr != nil {
		return nil, classify(merr)
	}
	if !bytes.Equal(r.computeHash(), r.hash) {
		return nil, &LogTamperedError{Seq: r.seq, Reason: "entry hash does not match its content"}
	}
	if !hmac.Equal(mac, headMAC(k.logMAC, vaultID, r.seq, r.hash)) {
		return nil, &LogTamperedError{Seq: r.seq, Reason: "the log head does not match its MAC (entries deleted after it, or the head rewritten)"}
	}
	return &r, nil
}

// appendRow appends r to the log inside the write transaction q and updates
// the head MAC. genesis allows (only) the very first entry of a new vault.
func appendRow(ctx context.Context, q queryer, k *keys, vaultID []byte, r *logRow, genesis bool) error {
	head, err := headRow(ctx, q, k, vaultID)
	if err != nil {
		return err
	}
	if head == nil {
		if !genesis {
			return &LogTamperedError{Seq: 1, Reason: "the log is empty"}
		}
		r.seq, r.prevHash = 1, genesisHash(vaultID)
	} else {
		r.seq, r.prevHash = head.seq+1, head.hash
	}
	r.hash = r.computeHash()
	if _, err := q.ExecContext(ctx, `INSERT INTO log (`+logColumns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		r.seq, r.time, r.osUser, r.host, r.actor, r.action, r.purpose, r.details, r.toolVersion, r.prevHash, r.hash); err != nil {
		return classify(err)
	}
	_, err = q.ExecContext(ctx, `INSERT OR REPLACE INTO meta (key, value) VALUES ('log_head_mac', ?)`,
		headMAC(k.logMAC, vaultID, r.seq, r.hash))
	return classify(err)
}

// walkChain recomputes the whole chain from the genesis value: seq without
// gaps from 1, prev_hash links, hash matches content. visit, if not nil, is
// called for every entry that verifies. It returns the newest entry's seq
// and hash. It needs no key.
func walkChain(ctx context.Context, q queryer, vaultID []byte, visit func(r *logRow) error) (int64, []byte, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+logColumns+` FROM log ORDER BY seq`)
	if err != nil {
		return 0, nil, classify(err)
	}
	defer rows.Close()
	want := int64(1)
	prev := genesisHash(vaultID)
	var r logRow
	for rows.Next() {
		if err := r.scan(rows); err != nil {
			return 0, nil, classify(err)
		}
		if r.seq != want {
			return 0, nil, &LogTamperedError{Seq: want, Reason: fmt.Sprintf("entry %d is missing (next stored entry is %d)", want, r.seq)}
		}
		if !bytes.Equal(r.prevHash, prev) {
			return 0, nil, &LogTamperedError{Seq: r.seq, Reason: "previous-hash link is broken"}
		}
		h := r.computeHash()
		if !bytes.Equal(h, r.hash) {
			return 0, nil, &LogTamperedError{Seq: r.seq, Reason: "entry hash does not match its content"}
		}
		if visit != nil {
			if err := visit(&r); err != nil {
				return 0, nil, err
			}
		}
		prev = h
		want++
	}
	if err := rows.Err(); err != nil {
		return 0, nil, classify(err)
	}
	if want == 1 {
		return 0, nil, &LogTamperedError{Seq: 1, Reason: "the log is empty"}
	}
	return want - 1, prev, nil
}

// verifyChain recomputes the whole chain and checks the head MAC.
func verifyChain(ctx context.Context, q queryer, k *keys, vaultID []byte) error {
	_, _, err := verifyChainVisit(ctx, q, k, vaultID, nil)
	return err
}

func verifyChainVisit(ctx context.Context, q queryer, k *keys, vaultID []byte, visit func(r *logRow) error) (int64, []byte, error) {
	seq, head, err := walkChain(ctx, q, vaultID, visit)
	if err != nil {
		return 0, nil, err
	}
	var mac []byte
	if err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'log_head_mac'`).Scan(&mac); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil, &LogTamperedError{Seq: seq, Reason: "the log head MAC is missing"}
		}
		return 0, nil, classify(err)
	}
	if !hmac.Equal(mac, headMAC(k.logMAC, vaultID, seq, head)) {
		return 0, nil, &LogTamperedError{Seq: seq, Reason: "the log head does not match its MAC (entries deleted after it, or the chain rewritten)"}
	}
	return seq, head, nil
}

// foldFailedUnlocks moves the pending failed-unlock rows into the chain as
// "unlock-failed" entries, inside the write transaction q. It returns the
// number of rows folded.
func foldFailedUnlocks(ctx context.Context, q queryer, k *keys, vaultID []byte) (int, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, time, os_user, host, actor, tool_version, reason, attempts FROM failed_unlocks ORDER BY id`)
	if err != nil {
		return 0, classify(err)
	}
	type pending struct {
		id                                             int64
		time, osUser, host, actor, toolVersion, reason string
		attempts                                       int64
	}
	var ps []pending
	for rows.Next() {
		var p pending
		if err := rows.Scan(&p.id, &p.time, &p.osUser, &p.host, &p.actor, &p.toolVersion, &p.reason, &p.attempts); err != nil {
			rows.Close()
			return 0, classify(err)
		}
		ps = append(ps, p)
	}
	if err := rows.Err(); err != nil {
		return 0, classify(err)
	}
	rows.Close()
	for _, p := range ps {
		// The pending row is unauthenticated: sanitise what goes into the
		// chain, and keep the attempt's own user/host/actor.
		clip := func(s string, n int) string {
			if !validText(s, n) {
				return "(invalid)"
			}
			return s
		}
		details, _ := json.Marshal(map[string]any{
			"failed_at":    clip(p.time, 64),
			"reason":       clip(p.reason, 256),
			"attempts":     p.attempts,
			"tool_version": clip(p.toolVersion, 256),
		})
		r := &logRow{
			time: formatTime(now()), osUser: clip(p.osUser, 256), host: clip(p.host, 256),
			actor: clip(p.actor, maxActorLen), action: "unlock-failed", purpose: "",
			details: string(details), toolVersion: ToolVersion,
		}
		if err := appendRow(ctx, q, k, vaultID, r, false); err != nil {
			return 0, err
		}
	}
	if len(ps) > 0 {
		if _, err := q.ExecContext(ctx, `DELETE FROM failed_unlocks`); err != nil {
			return 0, err
		}
	}
	return len(ps), nil
}

// recordFailedUnlock stores an unauthenticated pending row for a failed
// unlock (best effort: a read-only file simply keeps no record).
func recordFailedUnlock(db *sql.DB, actor, reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return
	}
	defer tx.Rollback()
	osu, host := identity()
	if !validText(actor, maxActorLen) || hasIdentityNumber(actor) {
		actor = "(invalid)"
	}
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM failed_unlocks`).Scan(&n); err != nil {
		return
	}
	if n >= maxPendingFailed {
		_, err = tx.ExecContext(ctx, `UPDATE failed_unlocks SET attempts = attempts + 1, time = ?
			WHERE id = (SELECT max(id) FROM failed_unlocks)`, formatTime(now()))
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO failed_unlocks (time, os_user, host, actor, tool_version, reason, attempts)
			VALUES (?,?,?,?,?,?,1)`, formatTime(now()), osu, host, actor, ToolVersion, reason)
	}
	if err == nil {
		tx.Commit()
	}
}

// Append writes one access-log entry for an action that changes no links
// (for example an export, a look-up session or a policy decision). The
// entry is committed durably before Append returns; if it cannot be
// written, the caller must not perform the action.
func (v *Vault) Append(e Entry) error {
	return v.AppendContext(context.Background(), e)
}

// AppendContext is [Vault.Append] with a context bounding the wait for the
// vault's write lock.
func (v *Vault) AppendContext(ctx context.Context, e Entry) error {
	return v.write(ctx, func(tx *sql.Tx, k *keys) error {
		r, err := newRow(&e, v.actor)
		if err != nil {
			return err
		}
		return appendRow(ctx, tx, k, v.vaultID, r, false)
	})
}

// Entries returns all access-log entries in order. It does not verify the
// chain; call [Vault.VerifyLog] for that.
func (v *Vault) Entries() ([]Entry, error) {
	if _, err := v.keys(); err != nil {
		return nil, err
	}
	return readEntries(context.Background(), v.db)
}

// VerifyLog recomputes the access-log hash chain and checks the
// authenticated head. It detects an edited, deleted, inserted or reordered
// entry and a truncated log, returning a [*LogTamperedError] (matching
// [ErrLogTampered]) that names the first entry that does not verify.
// It cannot detect the replacement of the whole file by an older copy; see
// docs/vault-format.md.
func (v *Vault) VerifyLog() error {
	k, err := v.keys()
	if err != nil {
		return err
	}
	ctx := context.Background()
	tx, err := v.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return classify(err)
	}
	defer tx.Rollback()
	return verifyChain(ctx, tx, k, v.vaultID)
}
