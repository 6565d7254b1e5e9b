package keyvault

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateOpenInfo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.vault")
	retention := time.Date(2035, 12, 31, 0, 0, 0, 0, time.UTC)
	v, err := Create(path, CreateOptions{Project: "Helseundersøkelse", Passphrase: testPass, Label: "leder", Actor: "alice", Retention: retention})
	require.NoError(t, err)
	require.NoError(t, v.Close())
	require.NoError(t, v.Close(), "Close is idempotent")

	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), st.Mode().Perm())
	var ps int
	db := rawDB(t, path)
	require.NoError(t, db.QueryRow(`PRAGMA page_size`).Scan(&ps))
	db.Close()
	assert.Equal(t, pageSize, ps, "a new vault has pseudokit's page size, not SQLite's default")

	v = reopen(t, path)
	in, err := v.Info()
	require.NoError(t, err)
	assert.Equal(t, "Helseundersøkelse", in.Project)
	assert.Equal(t, FormatVersion, in.FormatVersion)
	assert.Equal(t, FormatMinor, in.FormatMinor)
	assert.Len(t, in.VaultID, 32)
	assert.WithinDuration(t, time.Now(), in.Created, time.Minute)
	assert.True(t, in.Retention.Equal(retention))
	require.Len(t, in.Slots, 1)
	assert.Equal(t, SlotInfo{ID: 1, Type: SlotPassphrase, Label: "leder", Created: in.Slots[0].Created, KDF: testKDF}, in.Slots[0])
	require.Len(t, in.Domains, 1)
	assert.Equal(t, DefaultDomain, in.Domains[0].Name)
	assert.Equal(t, SchemeKeyed, in.Domains[0].Scheme)
	assert.Empty(t, in.Domains[0].Links)
	assert.Equal(t, int64(2), in.LogLastSeq)
	assert.Equal(t, 0, in.PendingFailedUnlocks)

	es, err := v.Entries()
	require.NoError(t, err)
	require.Len(t, es, 2)
	assert.Equal(t, "init", es[0].Action)
	assert.Equal(t, "alice", es[0].Actor)
	assert.Equal(t, "unlock", es[1].Action)
	assert.Equal(t, "tester", es[1].Actor)
	assert.Equal(t, es[0].Hash, es[1].PrevHash)
	assert.Equal(t, ToolVersion, es[1].ToolVersion)
	assert.NotEmpty(t, es[1].OSUser)
	assert.NotEmpty(t, es[1].Host)
	require.NoError(t, v.VerifyLog())
}

func TestCreateNeverOverwrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.vault")
	require.NoError(t, os.WriteFile(path, []byte("precious"), 0o644))
	_, err := Create(path, CreateOptions{Project: "x", Passphrase: testPass})
	require.ErrorIs(t, err, fs.ErrExist)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "precious", string(b))
}

func TestCreateOptions(t *testing.T) {
	weak := KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}
	huge := KDFParams{Time: 3, MemoryKiB: maxKDFMemoryKiB, Threads: 4}
	huge.Time = maxKDFTime + 1
	tests := []struct {
		name string
		o    CreateOptions
		err  error
	}{
		{"no project", CreateOptions{Passphrase: testPass}, ErrInvalid},
		{"no passphrase", CreateOptions{Project: "p"}, ErrInvalid},
		{"explicit weak kdf", CreateOptions{Project: "p", Passphrase: testPass, KDF: &weak}, ErrInvalid},
		{"kdf above bounds", CreateOptions{Project: "p", Passphrase: testPass, KDF: &huge}, ErrInvalid},
		{"identifier in actor", CreateOptions{Project: "p", Passphrase: testPass, Actor: "24928599948"}, ErrLooksLikeIdentifier},
		{"explicit minimum kdf", CreateOptions{Project: "p", Passphrase: testPass, KDF: &MinKDF}, nil},
		{"default kdf lowered by tests", CreateOptions{Project: "p", Passphrase: testPass}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.vault")
			v, err := Create(path, tt.o)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				_, serr := os.Stat(path)
				assert.ErrorIs(t, serr, fs.ErrNotExist, "nothing is left behind")
				return
			}
			require.NoError(t, err)
			v.Close()
		})
	}
}

func TestKDFBounds(t *testing.T) {
	tests := []struct {
		p   KDFParams
		ok  bool
		min bool
	}{
		{DefaultKDF, true, false},
		{KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}, true, true},
		{KDFParams{Time: 0, MemoryKiB: 64, Threads: 1}, false, false},
		{KDFParams{Time: 1, MemoryKiB: 64, Threads: 0}, false, false},
		{KDFParams{Time: 1, MemoryKiB: 7, Threads: 1}, false, false},
		{KDFParams{Time: 65, MemoryKiB: 64 * 1024, Threads: 1}, false, true},
		{KDFParams{Time: 3, MemoryKiB: 4*1024*1024 + 1, Threads: 1}, false, true},
		{KDFParams{Time: 64, MemoryKiB: 4 * 1024 * 1024, Threads: 255}, true, true},
		{KDFParams{Time: 2, MemoryKiB: 19*1024 - 1, Threads: 1}, true, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.ok, tt.p.checkBounds() == nil, "bounds %+v", tt.p)
		assert.Equal(t, tt.min, tt.p.checkMin() == nil, "min %+v", tt.p)
	}
}

func TestOpenWrongPassphraseIsRecordedAndFolded(t *testing.T) {
	v, path := newVault(t)
	v.Close()
	for i := 0; i < 2; i++ {
		_, err := Open(path, []byte("wrong"), "mallory")
		require.ErrorIs(t, err, ErrWrongPassphrase)
		assert.NotErrorIs(t, err, ErrCorrupt)
	}
	var n int
	require.NoError(t, rawDB(t, path).QueryRow(`SELECT count(*) FROM failed_unlocks`).Scan(&n))
	assert.Equal(t, 2, n)

	v = reopen(t, path)
	es, err := v.Entries()
	require.NoError(t, err)
	var actions []string
	for _, e := range es {
		actions = append(actions, e.Action)
	}
	assert.Equal(t, []string{"init", "unlock-failed", "unlock-failed", "unlock"}, actions)
	assert.Equal(t, "mallory", es[1].Actor)
	assert.Contains(t, es[1].Details, "failed_at")
	assert.EqualValues(t, "2", es[3].Details["failed_unlocks_folded"].(interface{ String() string }).String())
	in, err := v.Info()
	require.NoError(t, err)
	assert.Equal(t, 0, in.PendingFailedUnlocks)
	require.NoError(t, v.VerifyLog())
}

func TestOpenFailedUnlocksBounded(t *testing.T) {
	v, path := newVault(t)
	v.Close()
	db := rawDB(t, path)
	for i := 0; i < maxPendingFailed; i++ {
		mustExec(t, db, `INSERT INTO failed_unlocks (time, os_user, host, actor, tool_version, reason, attempts) VALUES ('t','u','h','a','v','r',1)`)
	}
	db.Close()
	_, err := Open(path, []byte("wrong"), "")
	require.ErrorIs(t, err, ErrWrongPassphrase)
	db = rawDB(t, path)
	var n, attempts int
	require.NoError(t, db.QueryRow(`SELECT count(*), max(attempts) FROM failed_unlocks`).Scan(&n, &attempts))
	assert.Equal(t, maxPendingFailed, n)
	assert.Equal(t, 2, attempts)
}

func TestOpenNotAVault(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	other := filepath.Join(dir, "other.db")
	db, err := sql.Open("sqlite", other) // a plain SQLite database of another application
	require.NoError(t, err)
	mustExec(t, db, `CREATE TABLE t (x)`)
	db.Close()

	tests := []struct {
		name string
		path string
		err  error
	}{
		{"missing", filepath.Join(dir, "missing"), fs.ErrNotExist},
		{"directory", dir, ErrNotVault},
		{"empty", write("empty", nil), ErrNotVault},
		{"text", write("text", bytes.Repeat([]byte("hello world\n"), 100)), ErrNotVault},
		{"sqlite header only", write("hdr", []byte("SQLite format 3\x00")), ErrNotVault},
		{"other sqlite database", other, ErrNotVault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(tt.path, testPass, "")
			require.ErrorIs(t, err, tt.err)
		})
	}
	// Opening another application's database must not change it.
	db = rawDB(t, other)
	var name string
	require.NoError(t, db.QueryRow(`SELECT name FROM sqlite_schema`).Scan(&name))
	assert.Equal(t, "t", name)
}

func TestOpenDamagedVault(t *testing.T) {
	tests := []struct {
		name   string
		damage string
		err    error
	}{
		{"newer major version", fmt.Sprintf(`PRAGMA user_version = %d`, FormatVersion+1), ErrUnsupportedVersion},
		{"meta version differs", `UPDATE meta SET value = 7 WHERE key = 'format_version'`, ErrCorrupt},
		{"kdf memory above 4 GiB", `UPDATE slots SET kdf_memory = 4194305`, ErrCorrupt},
		{"kdf time above 64", `UPDATE slots SET kdf_time = 65`, ErrCorrupt},
		{"kdf threads out of range", `UPDATE slots SET kdf_threads = 300`, ErrCorrupt},
		{"unknown kdf", `UPDATE slots SET kdf = 'scrypt'`, ErrCorrupt},
		{"short salt", `UPDATE slots SET kdf_salt = x'00'`, ErrCorrupt},
		{"kdf params of wrong type", `UPDATE slots SET kdf_time = 'a lot'`, ErrCorrupt},
		{"trigger added", `CREATE TRIGGER t AFTER INSERT ON log BEGIN DELETE FROM log; END`, ErrCorrupt},
		{"extra table", `CREATE TABLE extra (x)`, ErrCorrupt},
		{"table missing", `DROP TABLE failed_unlocks`, ErrCorrupt},
		{"vault id changed", `UPDATE meta SET value = randomblob(16) WHERE key = 'vault_id'`, ErrWrongPassphrase},
		{"wrapped secret changed", `UPDATE slots SET wrapped = randomblob(72)`, ErrWrongPassphrase},
		{"slot id changed", `UPDATE slots SET id = 2`, ErrWrongPassphrase},
		{"log entry deleted", `DELETE FROM log WHERE seq = 2`, ErrLogTampered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, path := newVault(t)
			v := reopen(t, path) // two log entries
			v.Close()
			db := rawDB(t, path)
			mustExec(t, db, tt.damage)
			db.Close()
			start := time.Now()
			_, err := Open(path, testPass, "")
			require.ErrorIs(t, err, tt.err)
			if tt.err == ErrUnsupportedVersion {
				var ve *VersionError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, FormatVersion+1, ve.Found)
			}
			assert.Less(t, time.Since(start), 10*time.Second)
		})
	}
}

// TestOpenDamagedHeader damages the SQLite file header itself: the open
// fails with ErrCorrupt (not a bare SQLite error) and leaves the file as it
// was.
func TestOpenDamagedHeader(t *testing.T) {
	tests := []struct {
		name   string
		offset int
		value  byte
		err    error
	}{
		// A read format above 2 lets SQLite read the file but not
		// write it: without the check, the unlock failed half-way
		// with "attempt to write a readonly database".
		{"read format 58", 18, 58, ErrCorrupt},
		{"read format 3", 18, 3, ErrCorrupt},
		{"read format 0", 18, 0, ErrCorrupt},
		{"write format 3", 19, 3, ErrNotVault}, // SQLite: "file is not a database"
		{"write format 0", 19, 0, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, path := newVault(t)
			v.Close()
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			b[tt.offset] = tt.value
			require.NoError(t, os.WriteFile(path, b, 0o600))
			_, err = Open(path, testPass, "")
			require.ErrorIs(t, err, tt.err)
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, b, after, "a failed open changed the file")
		})
	}
}

func TestKeyHierarchy(t *testing.T) {
	v, path := newVault(t)
	secret := bytes.Clone(v.k.secret)
	require.Len(t, secret, 32)
	want := func(label string) []byte {
		k, err := hkdf.Key(sha256.New, secret, nil, label, 32)
		require.NoError(t, err)
		return k
	}
	assert.Equal(t, want("pseudokit/v1/link-seal"), v.k.seal)
	assert.Equal(t, want("pseudokit/v1/link-index"), v.k.index)
	assert.Equal(t, want("pseudokit/v1/log-mac"), v.k.logMAC)

	d, err := v.DomainSecret(DefaultDomain)
	require.NoError(t, err)
	assert.Equal(t, want("pseudokit/v1/domain/default"), d)

	require.NoError(t, v.AddDomain("study-b", SchemeKeyed))
	d2, err := v.DomainSecret("study-b")
	require.NoError(t, err)
	assert.NotEqual(t, d, d2)
	_, err = v.DomainSecret("nope")
	require.ErrorIs(t, err, ErrNoDomain)

	v.Close()
	v = reopen(t, path)
	again, err := v.DomainSecret(DefaultDomain)
	require.NoError(t, err)
	assert.Equal(t, d, again, "the domain secret survives reopening")
}

func TestDomains(t *testing.T) {
	v, _ := newVault(t)
	require.NoError(t, v.AddDomain("survey-2024", SchemeRandom))
	require.NoError(t, v.AddDomain("registry", SchemeKeyed))
	tests := []struct {
		name   string
		scheme Scheme
		err    error
	}{
		{"registry", SchemeKeyed, ErrDomainExists},
		{"default", SchemeRandom, ErrDomainExists},
		{"", SchemeKeyed, ErrInvalid},
		{"Upper", SchemeKeyed, ErrInvalid},
		{"-dash", SchemeKeyed, ErrInvalid},
		{"with space", SchemeKeyed, ErrInvalid},
		{"a/b", SchemeKeyed, ErrInvalid},
		{string(bytes.Repeat([]byte("a"), 65)), SchemeKeyed, ErrInvalid},
		{"fine", "sequential", ErrInvalid},
	}
	for _, tt := range tests {
		assert.ErrorIs(t, v.AddDomain(tt.name, tt.scheme), tt.err, "%q", tt.name)
	}
	ds, err := v.Domains()
	require.NoError(t, err)
	var names []string
	for _, d := range ds {
		names = append(names, d.Name+":"+string(d.Scheme))
	}
	assert.Equal(t, []string{"default:keyed", "survey-2024:random", "registry:keyed"}, names)
	d, err := v.Domain("survey-2024")
	require.NoError(t, err)
	assert.Equal(t, SchemeRandom, d.Scheme)
	_, err = v.Domain("missing")
	assert.ErrorIs(t, err, ErrNoDomain)

	es, err := v.Entries()
	require.NoError(t, err)
	last := es[len(es)-1]
	assert.Equal(t, "domain-add", last.Action)
	assert.Equal(t, "registry", last.Details["domain"])
}

func TestDomainAddedByOtherHandle(t *testing.T) {
	v1, path := newVault(t)
	v2 := reopen(t, path)
	require.NoError(t, v2.AddDomain("late", SchemeRandom))
	d, err := v1.Domain("late")
	require.NoError(t, err)
	assert.Equal(t, SchemeRandom, d.Scheme)
}

func TestClosedVault(t *testing.T) {
	v, _ := newVault(t)
	k := v.k
	require.NoError(t, v.Close())
	for _, b := range [][]byte{k.secret, k.seal, k.index, k.logMAC} {
		assert.Equal(t, make([]byte, len(b)), b, "key material is zeroed")
	}
	_, err := v.Info()
	assert.ErrorIs(t, err, ErrClosed)
	_, err = v.DomainSecret(DefaultDomain)
	assert.ErrorIs(t, err, ErrClosed)
	_, err = v.Begin(t.Context(), DefaultDomain)
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, v.Append(Entry{Action: "x"}), ErrClosed)
	_, _, err = v.Lookup(DefaultDomain, "nid", synthNID(1))
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, v.VerifyLog(), ErrClosed)
	assert.ErrorIs(t, v.AddDomain("x", SchemeKeyed), ErrClosed)
	_, err = v.Domain(DefaultDomain)
	assert.ErrorIs(t, err, ErrClosed)
}

func TestErrorsAreTyped(t *testing.T) {
	ve := &VersionError{Found: 9, Supported: 1}
	assert.ErrorIs(t, ve, ErrUnsupportedVersion)
	assert.Contains(t, ve.Error(), "9")
	le := &LogTamperedError{Seq: 4, Reason: "x"}
	assert.ErrorIs(t, le, ErrLogTampered)
	assert.Contains(t, le.Error(), "entry 4")
	assert.False(t, errors.Is(le, ErrCorrupt))
}

func TestOddPathNames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "we?ird#name%20 x.vault")
	v, err := Create(path, CreateOptions{Project: "p", Passphrase: testPass})
	require.NoError(t, err)
	v.Close()
	_, err = os.Stat(path)
	require.NoError(t, err, "the file has exactly the given name")
	v = reopen(t, path)
	require.NoError(t, v.VerifyLog())
}
