package keyvault

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testdata/v1.0.vault was written by the format 1.0 code (git history:
// commit 90f693f) with testPass and the test KDF: the default domain with
// three links (K... codes of synthNID-style numbers 24920000001-3), a
// random domain "survey" with one link (R...), six log entries.
func fixture10(t *testing.T) string { return fixture(t, "v1.0.vault") }

// testdata/v1.1.vault was written by the format 1.1 code (commit 5c56ef9)
// with testPass and the test KDF: the default domain with five links
// (synthNID(1..5) -> testCode('K', 1..5)), a random domain "survey" with
// two (synthNID(1..2) -> testCode('R', 1..2)), and synthNID(2) withdrawn
// (a tombstone, two withdrawn links).
func fixture11(t *testing.T) string { return fixture(t, "v1.1.vault") }

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "old.vault")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

// checkUpgraded checks the log entries of an upgrade from version from at
// the end of v's log, and that v verifies.
func checkUpgraded(t *testing.T, v *Vault, from string) *VerifyReport {
	t.Helper()
	in, err := v.Info()
	require.NoError(t, err)
	assert.Equal(t, [2]int{FormatVersion, FormatMinor}, [2]int{in.FormatVersion, in.FormatMinor})
	es, err := v.Entries()
	require.NoError(t, err)
	n := len(es)
	assert.Equal(t, "upgrade", es[n-2].Action)
	assert.Equal(t, from, es[n-2].Details["from"])
	assert.Equal(t, fmt.Sprintf("%d.%d", FormatVersion, FormatMinor), es[n-2].Details["to"])
	assert.Equal(t, "unlock", es[n-1].Action)
	rep, err := v.Verify(t.Context(), VerifyOptions{})
	require.NoError(t, err)
	return rep
}

func TestUpgradeFrom10(t *testing.T) {
	path := fixture10(t)
	in, err := Inspect(path)
	require.NoError(t, err)
	assert.Equal(t, [2]int{1, 0}, [2]int{in.FormatVersion, in.FormatMinor}, "reading without a key does not upgrade")

	v, err := Open(path, testPass, "tester")
	require.NoError(t, err)
	defer v.Close()
	rep := checkUpgraded(t, v, "1.0")
	assert.Equal(t, map[string]int{LinkActive: 4}, rep.Links)

	// Everything of 2.0 works on the upgraded vault.
	refs, err := v.FindCode("RFIXTURE000000001")
	require.NoError(t, err)
	require.Len(t, refs, 2)
	assert.Equal(t, "24920000001", refs[0].Identifier)
	_, err = v.Withdraw(t.Context(), []Person{{"nid", "24920000002"}}, Entry{Purpose: "test"})
	require.NoError(t, err)
	si, err := v.AddPassphrase(t.Context(), []byte("p2"), "second", nil, Entry{})
	require.NoError(t, err)
	assert.Equal(t, int64(2), si.ID)
	_, err = v.Verify(t.Context(), VerifyOptions{})
	require.NoError(t, err)
	v.Close()

	// Opening again does not upgrade again.
	v = reopen(t, path)
	es, err := v.Entries()
	require.NoError(t, err)
	ups := 0
	for _, e := range es {
		if e.Action == "upgrade" {
			ups++
		}
	}
	assert.Equal(t, 1, ups)
}

// A 1.1 vault with a withdrawal upgrades to 2.0: every link keeps its code
// and identifier, the withdrawn person stays refused, and runs go on.
func TestUpgradeFrom11(t *testing.T) {
	path := fixture11(t)
	v, err := Open(path, testPass, "tester")
	require.NoError(t, err)
	defer v.Close()
	rep := checkUpgraded(t, v, "1.1")
	assert.Equal(t, map[string]int{LinkActive: 5, LinkWithdrawn: 2}, rep.Links)
	assert.Equal(t, 1, rep.Tombstones)
	assertCodes(t, v, DefaultDomain, 'K', 1, 2, 3, 4, 5)
	refs, err := v.FindCode(testCode('R', 1))
	require.NoError(t, err)
	require.Len(t, refs, 2, "both domains of the person")
	assert.Equal(t, synthNID(1), refs[0].Identifier)

	// A re-run, a new person and the withdrawn one.
	rerunAfterUpgrade(t, v, []int{1, 3, 4, 5}, 6)
}

// rerunAfterUpgrade runs the default domain again on an upgraded vault
// whose person 2 is withdrawn: the persons stored count as existing,
// person fresh is new, person 2 is refused, and the vault verifies.
func rerunAfterUpgrade(t *testing.T, v *Vault, stored []int, fresh int) {
	t.Helper()
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	for _, i := range append(stored, fresh) {
		require.NoError(t, tx.Link("nid", synthNID(i), testCode('K', i)))
	}
	require.ErrorIs(t, tx.Link("nid", synthNID(2), testCode('K', 2)), ErrWithdrawn)
	n, e := tx.Counts()
	assert.Equal(t, [2]int{1, len(stored)}, [2]int{n, e})
	commit(t, tx)
	_, err = v.Verify(t.Context(), VerifyOptions{})
	require.NoError(t, err)
}

func TestUpgradeNeedsTheKey(t *testing.T) {
	path := fixture10(t)
	_, err := Open(path, []byte("wrong"), "tester")
	require.ErrorIs(t, err, ErrWrongPassphrase)
	db := rawDB(t, path)
	var minor int
	require.NoError(t, db.QueryRow(`SELECT value FROM meta WHERE key = 'format_minor'`).Scan(&minor))
	assert.Equal(t, 0, minor, "a failed unlock does not upgrade")
}

func TestWriterMinor(t *testing.T) {
	_, path := newVault(t)
	mustExec(t, rawDB(t, path), `UPDATE meta SET value = 7 WHERE key = 'writer_minor'`)
	_, err := Open(path, testPass, "tester")
	require.ErrorIs(t, err, ErrUnsupportedVersion)
	var ve *VersionError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, 7, ve.WriterMinor)
	assert.Contains(t, err.Error(), fmt.Sprintf("%d.7 needs a newer program", FormatVersion))
}

func TestCalibrate(t *testing.T) {
	base := builtinKDF
	for _, tt := range []struct {
		name           string
		fixed, perPass time.Duration // at base memory
		want           KDFParams
	}{
		{"typical laptop", 40 * time.Millisecond, 50 * time.Millisecond, KDFParams{Time: 14, MemoryKiB: 64 * 1024, Threads: 4}},
		{"fast server", 10 * time.Millisecond, 20 * time.Millisecond, KDFParams{Time: 37, MemoryKiB: 64 * 1024, Threads: 4}},
		{"very fast", 0, 2 * time.Millisecond, KDFParams{Time: 64, MemoryKiB: 384000, Threads: 4}},
		{"extremely fast: memory capped", 0, 10 * time.Microsecond, KDFParams{Time: 64, MemoryKiB: 1 << 20, Threads: 4}},
		{"slow", 50 * time.Millisecond, 300 * time.Millisecond, KDFParams{Time: 2, MemoryKiB: 64 * 1024, Threads: 4}},
		{"slower: less memory", 100 * time.Millisecond, 700 * time.Millisecond, KDFParams{Time: 2, MemoryKiB: 32768, Threads: 4}},
		{"very slow: floor", time.Second, 5 * time.Second, KDFParams{Time: 2, MemoryKiB: MinKDF.MemoryKiB, Threads: 4}},
		{"noisy timer", 0, 0, KDFParams{Time: 64, MemoryKiB: 1 << 20, Threads: 4}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var probes []uint32
			got := calibrate(base, KDFTarget, func(p KDFParams) time.Duration {
				probes = append(probes, p.Time)
				return (tt.fixed + time.Duration(p.Time)*tt.perPass) * time.Duration(p.MemoryKiB) / time.Duration(base.MemoryKiB)
			})
			assert.Equal(t, tt.want, got)
			assert.Equal(t, []uint32{1, 3}, probes)
			require.NoError(t, got.checkBounds())
			if tt.perPass < time.Second {
				require.NoError(t, got.checkMin())
			}
			if tt.perPass >= time.Millisecond && tt.perPass < time.Second {
				model := (tt.fixed + time.Duration(got.Time)*tt.perPass) * time.Duration(got.MemoryKiB) / time.Duration(base.MemoryKiB)
				assert.InDelta(t, KDFTarget.Seconds(), model.Seconds(), 0.25, "predicted %s", model)
			}
		})
	}
}

func TestNewSlotKDF(t *testing.T) {
	p, err := newSlotKDF(nil)
	require.NoError(t, err)
	assert.Equal(t, testKDF, p, "a lowered DefaultKDF is used as is: no calibration in tests")
	_, err = newSlotKDF(&KDFParams{Time: 1, MemoryKiB: 1024, Threads: 1})
	require.ErrorIs(t, err, ErrInvalid)
	p, err = newSlotKDF(&MinKDF)
	require.NoError(t, err)
	assert.Equal(t, MinKDF, p)
}

// TestCalibrateKDFReal measures Argon2id on this machine (one 64 MiB pass
// and one check of the result).
func TestCalibrateKDFReal(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("measures real Argon2id timings")
	}
	saved := DefaultKDF
	DefaultKDF = builtinKDF
	defer func() { DefaultKDF = saved }()
	p := CalibrateKDF(KDFTarget)
	require.NoError(t, p.checkMin())
	require.NoError(t, p.checkBounds())
	d := measureKDF(p)
	t.Logf("calibrated %+v: %s", p, d)
	// Generous bounds: the machine is shared with other work.
	assert.Less(t, d, 4*time.Second)
}

// A file of a newer minor version with an extra table (that this program
// may ignore: writer_minor not raised) opens and verifies.
func TestNewerMinorWithExtraTable(t *testing.T) {
	_, path := newVault(t)
	db := rawDB(t, path)
	mustExec(t, db, `CREATE TABLE future (x)`)
	mustExec(t, db, `UPDATE meta SET value = ? WHERE key = 'format_minor'`, FormatMinor+1)
	db.Close()
	v := reopen(t, path)
	_, err := v.Verify(t.Context(), VerifyOptions{})
	require.NoError(t, err)
	in, err := v.Info()
	require.NoError(t, err)
	assert.Equal(t, FormatMinor+1, in.FormatMinor, "never downgraded")
}

// testdata/v2.0.vault was written by the format 2.0 code (commit d932091,
// 4 KiB pages to keep it small) with testPass and the test KDF: the default
// domain with 70 links (synthNID(1..70) -> testCode('K', 1..70)), so two
// groups once upgraded; a random domain "survey" with two
// (synthNID(1..2) -> testCode('R', 1..2)); and synthNID(2) withdrawn.
func fixture20(t *testing.T) string { return fixture(t, "v2.0.vault") }

// A 2.0 vault upgrades to 3.0 keeping every link's id, code, identifier
// and state; runs go on where its ids ended.
func TestUpgradeFrom20(t *testing.T) {
	path := fixture20(t)
	// Read without a key: still 2.0, its links counted from its table.
	in, err := Inspect(path)
	require.NoError(t, err)
	assert.Equal(t, [2]int{2, 0}, [2]int{in.FormatVersion, in.FormatMinor})
	require.Len(t, in.Domains, 2)
	assert.Equal(t, map[string]int{LinkActive: 69, LinkWithdrawn: 1}, in.Domains[0].Links)
	assert.Equal(t, map[string]int{LinkActive: 1, LinkWithdrawn: 1}, in.Domains[1].Links)

	v, err := Open(path, testPass, "tester")
	require.NoError(t, err)
	defer v.Close()
	rep := checkUpgraded(t, v, "2.0")
	// The same counts, now from the keyed-index map.
	in, err = v.Info()
	require.NoError(t, err)
	assert.Equal(t, map[string]int{LinkActive: 69, LinkWithdrawn: 1}, in.Domains[0].Links)
	assert.Equal(t, map[string]int{LinkActive: 1, LinkWithdrawn: 1}, in.Domains[1].Links)
	assert.Equal(t, map[string]int{LinkActive: 70, LinkWithdrawn: 2}, rep.Links)
	assert.Equal(t, 1, rep.Tombstones)
	links := rawLinks(t, rawDB(t, path))
	require.Len(t, links, 72)
	for i, r := range links {
		assert.Equal(t, int64(i+1), r.id, "ids kept")
	}
	checkFixtureLinks(t, v)
	assert.Greater(t, rawLink(t, rawDB(t, path), testCode('K', 71)).id, int64(72))
}

// checkFixtureLinks checks the links of the 2.0 fixture (and the 3.0 one,
// made from it) after an upgrade: codes, identifiers, the withdrawn
// person, and a run that goes on where its ids ended.
func checkFixtureLinks(t *testing.T, v *Vault) {
	t.Helper()
	assertCodes(t, v, DefaultDomain, 'K', 1, 3, 64, 70)
	refs, err := v.FindCode(testCode('R', 1))
	require.NoError(t, err)
	require.Len(t, refs, 2)
	assert.Equal(t, synthNID(1), refs[0].Identifier)
	codes, err := v.WithdrawnCodes("")
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{testCode('K', 2), testCode('R', 2)}, codes)
	rerunAfterUpgrade(t, v, []int{1, 70}, 71)
}

// testdata/v3.0.vault is testdata/v2.0.vault opened once by the format 3.0
// code (commit dbaf53f^, the last to write format 3): the same links, ids
// and tombstone, and log entries for the upgrade to 3.0 and the unlock.
func fixture30(t *testing.T) string { return fixture(t, "v3.0.vault") }

// A 3.0 vault upgrades to 4.0 without moving a map entry: each domain gets
// one segment (with the domain's id), and runs go on where its ids ended,
// in a new segment once they are large enough.
func TestUpgradeFrom30(t *testing.T) {
	path := fixture30(t)
	in, err := Inspect(path)
	require.NoError(t, err)
	assert.Equal(t, [2]int{3, 0}, [2]int{in.FormatVersion, in.FormatMinor}, "reading without a key does not upgrade")
	require.Len(t, in.Domains, 2)
	assert.Equal(t, map[string]int{LinkActive: 69, LinkWithdrawn: 1}, in.Domains[0].Links)
	assert.Equal(t, map[string]int{LinkActive: 1, LinkWithdrawn: 1}, in.Domains[1].Links)
	before := rawLinks(t, rawDB(t, path))

	v, err := Open(path, testPass, "tester")
	require.NoError(t, err)
	defer v.Close()
	rep := checkUpgraded(t, v, "3.0")
	in, err = v.Info()
	require.NoError(t, err)
	assert.Equal(t, map[string]int{LinkActive: 69, LinkWithdrawn: 1}, in.Domains[0].Links)
	assert.Equal(t, map[string]int{LinkActive: 1, LinkWithdrawn: 1}, in.Domains[1].Links)
	assert.Equal(t, map[string]int{LinkActive: 70, LinkWithdrawn: 2}, rep.Links)
	db := rawDB(t, path)
	assert.Equal(t, before, rawLinks(t, db), "links kept")
	assert.Equal(t, []string{"1 default", "2 survey"}, segmentNames(t, db))
	checkFixtureLinks(t, v)
}
