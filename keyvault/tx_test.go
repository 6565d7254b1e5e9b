package keyvault

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func commit(t *testing.T, tx *Tx) {
	t.Helper()
	require.NoError(t, tx.Commit(Entry{Action: "pseudonymize", Purpose: "test run"}))
}

func TestLink(t *testing.T) {
	v, path := newVault(t)
	ctx := t.Context()
	tx, err := v.Begin(ctx, DefaultDomain)
	require.NoError(t, err)
	assert.Equal(t, DefaultDomain, tx.Domain().Name)

	a, b, c := synthNID(1), synthNID(2), synthNID(3)
	steps := []struct {
		name                  string
		kind, canonical, code string
		err                   error
	}{
		{"new", "nid", a, "KAAAA", nil},
		{"new second", "nid", b, "KBBBB", nil},
		{"same again", "nid", a, "KAAAA", nil},
		{"same identifier other kind is another person", "text", a, "KCCCC", nil},
		{"identifier with a different code", "nid", a, "KZZZZ", ErrConflict},
		{"bad kind", "NID", c, "KDDDD", ErrInvalid},
		{"kind with NUL", "n\x00d", c, "KDDDD", ErrInvalid},
		{"empty identifier", "nid", "", "KDDDD", ErrInvalid},
		{"empty code", "nid", c, "", ErrInvalid},
		{"code with space", "nid", c, "K DD", ErrInvalid},
		{"Assign in keyed domain", "", "", "", ErrWrongScheme},
	}
	for _, s := range steps {
		var err error
		if s.name == "Assign in keyed domain" {
			_, err = tx.Assign("nid", c, "RAAAA")
		} else {
			err = tx.Link(s.kind, s.canonical, s.code)
		}
		if s.err == nil {
			require.NoError(t, err, s.name)
		} else {
			require.ErrorIs(t, err, s.err, s.name)
			assert.NotContains(t, err.Error(), a, "errors never contain the identifier")
			assert.NotContains(t, err.Error(), c, "errors never contain the identifier")
		}
	}
	newLinks, existing := tx.Counts()
	assert.Equal(t, 3, newLinks)
	assert.Equal(t, 0, existing, "a repeat within the run is not an existing link")
	commit(t, tx)
	require.ErrorIs(t, tx.Link("nid", c, "KDDDD"), ErrTxDone)
	require.ErrorIs(t, tx.Commit(Entry{Action: "x"}), ErrTxDone)
	require.ErrorIs(t, tx.Rollback(), ErrTxDone)

	// A second run: everything already known, now from the file.
	v.Close()
	v = reopen(t, path)
	tx, err = v.Begin(ctx, DefaultDomain)
	require.NoError(t, err)
	require.NoError(t, tx.Link("nid", a, "KAAAA"))
	require.NoError(t, tx.Link("nid", b, "KBBBB"))
	require.ErrorIs(t, tx.Link("nid", b, "KAAAA"), ErrConflict)
	require.NoError(t, tx.Link("nid", c, "KCCCC2"))
	newLinks, existing = tx.Counts()
	assert.Equal(t, 1, newLinks)
	assert.Equal(t, 2, existing)
	commit(t, tx)

	for _, l := range []struct{ kind, id, code string }{{"nid", a, "KAAAA"}, {"nid", b, "KBBBB"}, {"text", a, "KCCCC"}, {"nid", c, "KCCCC2"}} {
		code, found, err := v.Lookup(DefaultDomain, l.kind, l.id)
		require.NoError(t, err)
		assert.True(t, found)
		assert.Equal(t, l.code, code)
	}
	_, found, err := v.Lookup(DefaultDomain, "name", a)
	require.NoError(t, err)
	assert.False(t, found)
	_, _, err = v.Lookup("nope", "nid", a)
	assert.ErrorIs(t, err, ErrNoDomain)

	in, err := v.Info()
	require.NoError(t, err)
	assert.Equal(t, map[string]int{LinkActive: 4}, in.Domains[0].Links)

	es, err := v.Entries()
	require.NoError(t, err)
	last := es[len(es)-1]
	assert.Equal(t, "pseudonymize", last.Action)
	assert.Equal(t, "test run", last.Purpose)
	assert.Equal(t, map[string]any{"domain": "default", "links_new": jsonNum("1"), "links_existing": jsonNum("2")}, last.Details)
	require.NoError(t, v.VerifyLog())
}

func TestLinksAreSealedAndIndexed(t *testing.T) {
	v, path := newVault(t)
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	ids := []string{"24928599948", "kari nordmann", "kari@example.org", strings.Repeat("x", 100)}
	for i, id := range ids {
		require.NoError(t, tx.Link("k", id, fmt.Sprintf("C%d", i)))
	}
	commit(t, tx)

	db := rawDB(t, path)
	type row struct {
		code, kind string
		idx, seal  []byte
		created    int64
	}
	var rows []row
	for _, l := range rawLinks(t, db) {
		rows = append(rows, row{l.code, l.kind, l.idx, l.sealed, l.created})
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.code, b.code) })
	require.Len(t, rows, len(ids))
	in, err := v.Info()
	require.NoError(t, err)
	for i, r := range rows {
		m := hmac.New(sha256.New, v.k.index)
		m.Write([]byte("k\x00" + ids[i]))
		assert.Equal(t, m.Sum(nil), r.idx, "keyed index")
		assert.Equal(t, in.LogLastSeq, r.created, "created is the seq of the run's log entry")
		assert.Zero(t, (len(r.seal)-nonceLen-16)%sealPad, "padded")
		got, err := openIdentifier(v.k.aead, r.seal, appendLinkAD(nil, DefaultDomain, r.code, r.kind))
		require.NoError(t, err)
		assert.Equal(t, ids[i], got)
		// The associated data binds the row: another code or domain fails.
		_, err = openIdentifier(v.k.aead, r.seal, appendLinkAD(nil, DefaultDomain, "C9", r.kind))
		assert.Error(t, err)
		_, err = openIdentifier(v.k.aead, r.seal, appendLinkAD(nil, "other", r.code, r.kind))
		assert.Error(t, err)
	}
	assert.Len(t, rows[0].seal, nonceLen+32+16)
	assert.Len(t, rows[3].seal, nonceLen+128+16)
}

func TestPadding(t *testing.T) {
	for _, s := range []string{"a", strings.Repeat("b", 31), strings.Repeat("c", 32), "\x80", "x\x00"} {
		p := appendPadded(nil, s)
		assert.Zero(t, len(p)%sealPad)
		u, err := unpad(p)
		require.NoError(t, err)
		assert.Equal(t, s, string(u))
	}
	_, err := unpad(make([]byte, 32))
	assert.Error(t, err)
}

func TestAssign(t *testing.T) {
	v, _ := newVault(t)
	require.NoError(t, v.AddDomain("survey", SchemeRandom))
	tx, err := v.Begin(t.Context(), "survey")
	require.NoError(t, err)
	defer tx.Rollback()
	code, err := tx.Assign("nid", synthNID(1), "R1")
	require.NoError(t, err)
	assert.Equal(t, "R1", code)
	code, err = tx.Assign("nid", synthNID(1), "R2")
	require.NoError(t, err)
	assert.Equal(t, "R1", code, "existing code is returned")
	_, err = tx.Assign("nid", synthNID(2), "R1")
	require.ErrorIs(t, err, ErrCodeTaken)
	assert.NotContains(t, err.Error(), synthNID(2))
	code, err = tx.Assign("nid", synthNID(2), "R3")
	require.NoError(t, err)
	assert.Equal(t, "R3", code)
	commit(t, tx)

	tx, err = v.Begin(t.Context(), "survey")
	require.NoError(t, err)
	code, err = tx.Assign("nid", synthNID(2), "R9")
	require.NoError(t, err)
	assert.Equal(t, "R3", code, "existing code from the file")
	_, err = tx.Assign("nid", synthNID(4), "R3")
	require.ErrorIs(t, err, ErrCodeTaken)
	n, e := tx.Counts()
	assert.Equal(t, 0, n)
	assert.Equal(t, 1, e)
	require.NoError(t, tx.Rollback())

	// The default domain is keyed and a random domain keeps its own codes.
	_, found, err := v.Lookup(DefaultDomain, "nid", synthNID(1))
	require.NoError(t, err)
	assert.False(t, found)
}

func TestWithdrawnLinksRefuse(t *testing.T) {
	v, path := newVault(t)
	require.NoError(t, v.AddDomain("survey", SchemeRandom))
	for _, d := range []string{DefaultDomain, "survey"} {
		tx, err := v.Begin(t.Context(), d)
		require.NoError(t, err)
		require.NoError(t, tx.Link("nid", synthNID(7), "X7"))
		commit(t, tx)
	}
	// Simulate an issue #4 tombstone.
	db := rawDB(t, path)
	for _, code := range []string{"X7"} {
		for _, r := range rawLinks(t, db) {
			if r.code == code {
				require.NoError(t, updateLinks(t.Context(), db, []int64{r.id}, func(r *linkRec) {
					r.state, r.sealed, r.changed = LinkWithdrawn, nil, 1
				}))
			}
		}
	}
	mustExec(t, db, `UPDATE link_index SET link = -link`)

	// Link writes in batches and finds the withdrawn link (which Withdraw
	// would have given a tombstone, checked at once: TestWithdrawnIsSynchronous)
	// when it writes the batch.
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	require.NoError(t, tx.Link("nid", synthNID(7), "X7"))
	require.ErrorIs(t, tx.Commit(Entry{Action: "pseudonymize"}), ErrWithdrawn)
	tx, err = v.Begin(t.Context(), "survey")
	require.NoError(t, err)
	_, err = tx.Assign("nid", synthNID(7), "R7")
	require.ErrorIs(t, err, ErrWithdrawn)
	require.NoError(t, tx.Rollback())
	in, err := v.Info()
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"withdrawn": 1}, in.Domains[0].Links)
}

// evictingTx returns a vault and a transaction in its default domain whose
// seen-set holds 1,024 identifiers at most, written in batches of 256.
func evictingTx(t *testing.T) (*Vault, *Tx) {
	boundSeen(t, 1024)
	smallBatches(t, 256)
	v, _ := newVault(t)
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	t.Cleanup(func() { tx.Rollback() })
	return v, tx
}

// With more identifiers than the seen-set holds, repeats whose entry was
// evicted are checked in the file: no error, exact counts, and a
// conflicting code is still refused.
func TestSeenSetIsBounded(t *testing.T) {
	_, tx := evictingTx(t)
	const n = 5000
	for range 2 {
		for i := range n {
			require.NoError(t, tx.Link("nid", synthNID(i), testCode('K', i)))
		}
		assert.LessOrEqual(t, tx.seen.len(), maxSeen)
	}
	nNew, e := tx.Counts()
	assert.Equal(t, [2]int{n, 0}, [2]int{nNew, e}, "found in the file, but inserted by this run")
	// Every repeat not in the seen-set was known as one (seenSet.gone) and
	// looked up before the INSERT, so no INSERT skipped a row.
	assert.Empty(t, tx.stmts[insIdxRetSQL], "no INSERT ... RETURNING")
	err := tx.Link("nid", synthNID(0), testCode('K', 1))
	if err == nil { // not in the seen-set: found when its batch is written
		err = tx.Commit(Entry{Action: "pseudonymize"})
	}
	require.ErrorIs(t, err, ErrConflict)
}

// Batches that mix new identifiers with repeats whose seen entry was
// evicted store every new link once, under its own code, and count the
// repeats as nothing: the vault verifies, and each identifier finds its code.
func TestEvictedRepeatsAmongNewLinks(t *testing.T) {
	v, tx := evictingTx(t)
	const n = 3000
	for i := range n {
		require.NoError(t, tx.Link("nid", synthNID(i), testCode('K', i)))
	}
	// New identifiers between repeats, codes in the opposite order to
	// the identifiers, so that dropping the repeats moves the code order.
	for i := range n {
		require.NoError(t, tx.Link("nid", synthNID(n+i), testCode('Z', n-i)))
		require.NoError(t, tx.Link("nid", synthNID(n-1-i), testCode('K', n-1-i)))
	}
	nNew, e := tx.Counts()
	assert.Equal(t, [2]int{2 * n, 0}, [2]int{nNew, e})
	assert.Empty(t, tx.stmts[insIdxRetSQL], "no INSERT ... RETURNING")
	require.NoError(t, tx.Commit(Entry{Action: "pseudonymize"}))
	rep, err := v.Verify(t.Context(), VerifyOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{LinkActive: 2 * n}, rep.Links)
	for _, i := range []int{0, 1, n - 1, n, n + 1, 2*n - 1} {
		code, found, err := v.Lookup(DefaultDomain, "nid", synthNID(i))
		require.NoError(t, err)
		require.True(t, found, i)
		want := testCode('K', i)
		if i >= n {
			want = testCode('Z', 2*n-i)
		}
		assert.Equal(t, want, code, i)
	}
}

// A re-run with more identifiers than the seen-set holds counts each
// stored identifier once, however often it is met after its entry was
// evicted, through Link and through Assign.
func TestExistingCountedOnce(t *testing.T) {
	boundSeen(t, 1024)
	smallBatches(t, 256)
	v, _ := newVault(t)
	const n = 3000
	for _, domain := range []string{DefaultDomain, "survey"} {
		if domain != DefaultDomain {
			require.NoError(t, v.AddDomain(domain, SchemeRandom))
		}
		tx, err := v.Begin(t.Context(), domain)
		require.NoError(t, err)
		for i := range n {
			if domain == DefaultDomain {
				require.NoError(t, tx.Link("nid", synthNID(i), testCode('K', i)))
			} else {
				_, err := tx.Assign("nid", synthNID(i), testCode('R', i))
				require.NoError(t, err)
			}
		}
		require.NoError(t, tx.Commit(Entry{Action: "pseudonymize"}))

		tx, err = v.Begin(t.Context(), domain)
		require.NoError(t, err)
		for range 3 {
			for i := range n {
				if domain == DefaultDomain {
					require.NoError(t, tx.Link("nid", synthNID(i), testCode('K', i)))
				} else {
					c, err := tx.Assign("nid", synthNID(i), "unused")
					require.NoError(t, err)
					require.Equal(t, testCode('R', i), c)
				}
			}
		}
		nNew, e := tx.Counts()
		assert.Equal(t, [2]int{0, n}, [2]int{nNew, e}, domain)
		require.NoError(t, tx.Rollback())
	}
}

// An identifier queued twice in one batch (its seen entry evicted in
// between) is stored once, and refused if its codes differ.
func TestRepeatInOneBatch(t *testing.T) {
	v, _ := newVault(t)
	for _, tc := range []struct {
		name, code string
		err        error
	}{{"same code", "K1", nil}, {"other code", "K2", ErrConflict}} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := v.Begin(t.Context(), DefaultDomain)
			require.NoError(t, err)
			defer tx.Rollback()
			require.NoError(t, tx.Link("nid", synthNID(2), "K0"))
			tx.mu.Lock()
			idx, sk := tx.index("nid", synthNID(1)), tx.key("nid", synthNID(1))
			seal := func(code string) []byte {
				return tx.work.seal(tx.k.aead, DefaultDomain, code, "nid", synthNID(1))
			}
			require.NoError(t, tx.queue(idx, sk, "nid", "K1", seal("K1"), false))
			require.NoError(t, tx.queue(idx, sk, "nid", tc.code, seal(tc.code), true))
			err = tx.flush()
			tx.mu.Unlock()
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			nNew, e := tx.Counts()
			assert.Equal(t, [2]int{2, 0}, [2]int{nNew, e})
			assert.Empty(t, tx.stmts[insIdxRetSQL], "no INSERT ... RETURNING")
			require.NoError(t, tx.Commit(Entry{Action: "pseudonymize"}))
			code, found, err := v.Lookup(DefaultDomain, "nid", synthNID(1))
			require.NoError(t, err)
			assert.True(t, found)
			assert.Equal(t, "K1", code)
		})
	}
}

func snapshot(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func TestRollbackLeavesFileUnchanged(t *testing.T) {
	v, path := newVault(t)
	before := snapshot(t, path)

	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	for i := 0; i < 5000; i++ {
		require.NoError(t, tx.Link("nid", synthNID(i), testCode('K', i)))
	}
	require.NoError(t, tx.Rollback())
	assert.True(t, bytes.Equal(before, snapshot(t, path)), "rollback leaves the file byte for byte unchanged")

	// A context that ends abandons the transaction the same way.
	ctx, cancel := context.WithCancel(t.Context())
	tx, err = v.Begin(ctx, DefaultDomain)
	require.NoError(t, err)
	require.NoError(t, tx.Link("nid", synthNID(1), "K1"))
	cancel()
	require.Eventually(t, func() bool { return errors.Is(tx.Link("nid", synthNID(2), "K2"), ErrTxDone) }, 5*time.Second, 10*time.Millisecond)
	assert.Error(t, tx.Commit(Entry{Action: "pseudonymize"}))
	assert.True(t, bytes.Equal(before, snapshot(t, path)))

	// A commit whose log entry is refused commits nothing.
	tx, err = v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	require.NoError(t, tx.Link("nid", synthNID(1), "K1"))
	require.ErrorIs(t, tx.Commit(Entry{Action: "pseudonymize", Purpose: "case 24928599948"}), ErrLooksLikeIdentifier)
	require.ErrorIs(t, tx.Commit(Entry{Action: "pseudonymize"}), ErrTxDone)
	assert.True(t, bytes.Equal(before, snapshot(t, path)))
	_, found, err := v.Lookup(DefaultDomain, "nid", synthNID(1))
	require.NoError(t, err)
	assert.False(t, found)

	matches, _ := filepath.Glob(path + "-*")
	assert.Empty(t, matches, "no journal is left behind")
}

func TestConcurrentHandles(t *testing.T) {
	v1, path := newVault(t)
	v2 := reopen(t, path)
	const runs, perRun = 6, 300
	var wg sync.WaitGroup
	errs := make(chan error, 2*runs)
	for h, v := range []*Vault{v1, v2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < runs; r++ {
				tx, err := v.Begin(context.Background(), DefaultDomain)
				if err != nil {
					errs <- err
					return
				}
				for i := 0; i < perRun; i++ {
					n := (h*runs+r)*perRun + i
					if err := tx.Link("nid", synthNID(n), testCode('K', n)); err != nil {
						errs <- err
						tx.Rollback()
						return
					}
					// Both handles also meet a shared identifier.
					if err := tx.Link("nid", "shared", "KSHARED"); err != nil {
						errs <- err
						tx.Rollback()
						return
					}
				}
				if err := tx.Commit(Entry{Action: "pseudonymize"}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	in, err := v1.Info()
	require.NoError(t, err)
	assert.Equal(t, 2*runs*perRun+1, in.Domains[0].Links[LinkActive], "no link lost")
	require.NoError(t, v1.VerifyLog())
	require.NoError(t, v2.VerifyLog())
	es, err := v2.Entries()
	require.NoError(t, err)
	assert.Len(t, es, 2+2*runs) // init, the unlock of v2, the runs
}

func TestParallelLinkInOneTx(t *testing.T) {
	v, _ := newVault(t)
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				assert.NoError(t, tx.Link("nid", synthNID(i), testCode('K', i)))
			}
		}()
	}
	wg.Wait()
	n, e := tx.Counts()
	assert.Equal(t, 500, n)
	assert.Equal(t, 0, e)
	commit(t, tx)
}

// Two goroutines link the same identifiers with different codes at once
// (Link works out new ones outside the lock): for each identifier exactly
// one call wins, the other gets ErrConflict, and the run commits the
// winners.
func TestParallelLinkConflict(t *testing.T) {
	v, _ := newVault(t)
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	const n = 3000
	var errs [2][n]error
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				errs[g][i] = tx.Link("nid", synthNID(i), testCode(byte('A'+g), i))
			}
		}()
	}
	wg.Wait()
	won := make([]int, n)
	for i := range n {
		switch {
		case errs[0][i] == nil && errors.Is(errs[1][i], ErrConflict):
			won[i] = 0
		case errs[1][i] == nil && errors.Is(errs[0][i], ErrConflict):
			won[i] = 1
		default:
			t.Fatalf("identifier %d: %v, %v", i, errs[0][i], errs[1][i])
		}
	}
	nNew, e := tx.Counts()
	assert.Equal(t, [2]int{n, 0}, [2]int{nNew, e})
	commit(t, tx)
	for _, i := range []int{0, 1, n / 2, n - 1} {
		code, found, err := v.Lookup(DefaultDomain, "nid", synthNID(i))
		require.NoError(t, err)
		require.True(t, found)
		assert.Equal(t, testCode(byte('A'+won[i]), i), code)
	}
}

func TestNoIdentifierInFile(t *testing.T) {
	v, path := newVault(t)
	require.NoError(t, v.AddDomain("survey", SchemeRandom))
	secrets := []string{"24928599948", "01010112345", "kari nordmann", "ola.nordmann@example.org", "+4791234567"}
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	for i, s := range secrets {
		require.NoError(t, tx.Link("k", s, fmt.Sprintf("KCODE%d", i)))
		// A conflict's error text must not carry the identifier either.
		err := tx.Link("k", s, "KOTHER")
		require.Error(t, err)
		assert.NotContains(t, err.Error(), s)
	}
	// Look at every file next to the vault while the transaction is open.
	scan := func(when string) {
		files, _ := filepath.Glob(path + "*")
		require.NotEmpty(t, files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			require.NoError(t, err)
			for _, s := range secrets {
				assert.False(t, bytes.Contains(b, []byte(s)), "%s: %s contains an identifier", when, filepath.Base(f))
			}
		}
	}
	scan("during a transaction")
	commit(t, tx)
	tx, err = v.Begin(t.Context(), "survey")
	require.NoError(t, err)
	for i, s := range secrets {
		_, err := tx.Assign("k", s, fmt.Sprintf("R%d", i))
		require.NoError(t, err)
	}
	commit(t, tx)
	for _, s := range secrets {
		_, _, err := v.Lookup("survey", "k", s)
		require.NoError(t, err)
	}
	scan("after commit")
	require.NoError(t, v.Close())
	scan("after close")
}

func jsonNum(s string) any { return jsonNumber(s) }

// TestSeenKey checks that the per-transaction key of an identifier tells
// apart identifiers that differ in kind, in value or only in where kind
// ends and value begins.
func TestSeenKey(t *testing.T) {
	v, _ := newVault(t)
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	defer tx.Rollback()
	pairs := [][2]string{{"nid", "x"}, {"ni", "dx"}, {"nidx", ""}, {"nid", "y"}, {"text", "x"}, {"nid", "x\x00"}}
	keys := map[seenKey][2]string{}
	for _, p := range pairs {
		k := tx.key(p[0], p[1])
		if q, dup := keys[k]; dup {
			t.Fatalf("%q and %q share a key", p, q)
		}
		keys[k] = p
		assert.Equal(t, k, tx.key(p[0], p[1]), "the key of an identifier is stable within the transaction")
	}
}
