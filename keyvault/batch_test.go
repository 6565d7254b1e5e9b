package keyvault

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noBulk turns bulk runs off (bulkMaps), to test how a batch is written
// into the maps directly (as after a bulk run ends).
func noBulk(t *testing.T) {
	old := bulkMaps
	bulkMaps = false
	t.Cleanup(func() { bulkMaps = old })
}

// smallBatches makes Tx.Link write every n links, to test batch boundaries.
func smallBatches(t *testing.T, n int) {
	old := linkBatch
	linkBatch = n
	t.Cleanup(func() { linkBatch = old })
}

// storedVault returns a vault whose default domain links synthNID(i) to
// KS<i> for i < n.
func storedVault(t *testing.T, n int) (*Vault, string) {
	v, path := newVault(t)
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, tx.Link("nid", synthNID(i), fmt.Sprintf("KS%d", i)))
	}
	commit(t, tx)
	return v, path
}

// A conflict with a stored link fails the transaction, every later call
// returns it, Commit rolls back. An identifier stored with another code is
// found when the batch is written; a code stored for someone else when the
// batch is written into the maps: at once outside a bulk run, else when
// the run reads its maps (Resolve, Counts, Commit).
func TestConflictAtFlushFailsTx(t *testing.T) {
	smallBatches(t, 4)
	for _, c := range []struct {
		name   string
		bulk   bool
		id     int
		code   string
		want   error
		atOnce bool // found when the batch is written
	}{
		{"identifier linked to another code", true, 1, "KZ", ErrConflict, true},
		{"code of someone else", true, 100, "KS2", ErrCodeTaken, false},
		{"identifier linked to another code, no bulk run", false, 1, "KZ", ErrConflict, true},
		{"code of someone else, no bulk run", false, 100, "KS2", ErrCodeTaken, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !c.bulk {
				noBulk(t)
			}
			v, path := storedVault(t, 10)
			before := snapshot(t, path)

			// Found by Commit.
			tx, err := v.Begin(t.Context(), DefaultDomain)
			require.NoError(t, err)
			require.NoError(t, tx.Link("nid", synthNID(c.id), c.code), "queued")
			err = tx.Commit(Entry{Action: "pseudonymize"})
			require.ErrorIs(t, err, c.want)
			assert.NotContains(t, err.Error(), synthNID(c.id))
			require.ErrorIs(t, tx.Link("nid", synthNID(50), "K50"), ErrTxDone)
			require.ErrorIs(t, tx.Rollback(), ErrTxDone)
			assert.True(t, bytes.Equal(before, snapshot(t, path)), "nothing committed")

			// Found while the Link that fills the batch returns; later
			// calls fail.
			tx, err = v.Begin(t.Context(), DefaultDomain)
			require.NoError(t, err)
			require.NoError(t, tx.Link("nid", synthNID(c.id), c.code))
			require.NoError(t, tx.Link("nid", synthNID(200), "K200"))
			require.NoError(t, tx.Link("nid", synthNID(201), "K201"))
			require.NoError(t, tx.Link("nid", synthNID(202), "K202"), "the batch is written in the background")
			waitWritten(tx)
			if c.atOnce {
				require.ErrorIs(t, tx.Link("nid", synthNID(203), "K203"), c.want)
			} else {
				require.NoError(t, tx.Link("nid", synthNID(203), "K203"), "not found yet")
			}
			_, err = tx.Resolve(DefaultDomain, "KS3")
			require.ErrorIs(t, err, c.want)
			require.ErrorIs(t, tx.Commit(Entry{Action: "pseudonymize"}), c.want)
			assert.True(t, bytes.Equal(before, snapshot(t, path)), "nothing committed")

			// Found by Counts (which pseudo calls before Commit).
			tx, err = v.Begin(t.Context(), DefaultDomain)
			require.NoError(t, err)
			require.NoError(t, tx.Link("nid", synthNID(c.id), c.code))
			tx.Counts()
			require.ErrorIs(t, tx.Commit(Entry{Action: "pseudonymize"}), c.want)
			assert.True(t, bytes.Equal(before, snapshot(t, path)), "nothing committed")

			code, found, err := v.Lookup(DefaultDomain, "nid", synthNID(c.id))
			require.NoError(t, err)
			assert.Equal(t, c.id < 10, found)
			if found {
				assert.Equal(t, fmt.Sprintf("KS%d", c.id), code)
			}
		})
	}
}

// storedTx begins a transaction on storedVault(t, n) and returns it with
// the vault's path and a snapshot of the file before it.
func storedTx(t *testing.T, n int) (tx *Tx, path string, before []byte) {
	v, path := storedVault(t, n)
	before = snapshot(t, path)
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	return tx, path, before
}

// waitWritten waits for the batch being written in the background.
func waitWritten(tx *Tx) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.wait()
}

// Two new identifiers with the same code in one batch.
func TestCodeTakenWithinBatch(t *testing.T) {
	v, path := newVault(t)
	before := snapshot(t, path)
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	require.NoError(t, tx.Link("nid", synthNID(1), "KSAME"))
	require.NoError(t, tx.Link("nid", synthNID(2), "KSAME"))
	require.ErrorIs(t, tx.Commit(Entry{Action: "pseudonymize"}), ErrCodeTaken)
	assert.True(t, bytes.Equal(before, snapshot(t, path)))
}

// Two new identifiers with the same code in a batch written with INSERT ...
// RETURNING (an earlier batch skipped a stored link): the first is
// inserted, the second is refused.
func TestCodeTakenWithinReturningBatch(t *testing.T) {
	smallBatches(t, 4)
	noBulk(t)
	tx, path, before := storedTx(t, 10)
	skipOneBatch(t, tx)
	require.NoError(t, tx.Link("nid", synthNID(200), "KA"))
	require.NoError(t, tx.Link("nid", synthNID(201), "KSAME"))
	require.NoError(t, tx.Link("nid", synthNID(202), "KSAME"))
	require.NoError(t, tx.Link("nid", synthNID(203), "KB"))
	waitWritten(tx)
	require.ErrorIs(t, tx.Commit(Entry{Action: "pseudonymize"}), ErrCodeTaken)
	assert.True(t, bytes.Equal(before, snapshot(t, path)))
}

// Counts are exact across batch boundaries, on a first run, on a re-run
// (where the probes come first) and on a mixed run.
func TestCountsAcrossBatches(t *testing.T) {
	smallBatches(t, 8)
	const stored = 50
	v, _ := storedVault(t, stored)
	in, err := v.Info()
	require.NoError(t, err)
	require.Equal(t, map[string]int{LinkActive: stored}, in.Domains[0].Links)

	for _, c := range []struct {
		name             string
		from, to         int // synthNID(from..to-1); KS codes
		wantNew, wantOld int
	}{
		{"re-run", 0, stored, 0, stored},
		{"re-run of a part", 3, 20, 0, 17},
		{"new ones after old ones", 40, 61, 11, 10},
		{"one batch exactly", 100, 108, 8, 0},
		{"one more than a batch", 200, 209, 9, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			tx, err := v.Begin(t.Context(), DefaultDomain)
			require.NoError(t, err)
			for rep := 0; rep < 2; rep++ { // repeats count once
				for i := c.from; i < c.to; i++ {
					require.NoError(t, tx.Link("nid", synthNID(i), fmt.Sprintf("KS%d", i)))
				}
			}
			n, e := tx.Counts()
			assert.Equal(t, c.wantNew, n, "new")
			assert.Equal(t, c.wantOld, e, "existing")
			require.NoError(t, tx.Rollback())
		})
	}

	// A new link written by Counts and met again after its entry was
	// evicted from the seen set is not counted again; Commit records the
	// same counts.
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	require.NoError(t, tx.Link("nid", synthNID(1), "KS1"))
	require.NoError(t, tx.Link("nid", synthNID(1000), "KS1000"))
	n, e := tx.Counts()
	assert.Equal(t, [2]int{1, 1}, [2]int{n, e})
	tx.seen = seenSet{} // as if evicted
	require.NoError(t, tx.Link("nid", synthNID(1000), "KS1000"))
	require.ErrorIs(t, tx.Link("nid", synthNID(1000), "KS1001"), ErrConflict)
	require.NoError(t, tx.Commit(Entry{Action: "pseudonymize"}))
	n, e = tx.Counts()
	assert.Equal(t, [2]int{1, 1}, [2]int{n, e})
	es, err := v.Entries()
	require.NoError(t, err)
	last := es[len(es)-1]
	assert.Equal(t, jsonNumber("1"), last.Details["links_new"])
	assert.Equal(t, jsonNumber("1"), last.Details["links_existing"])
	in, err = v.Info()
	require.NoError(t, err)
	assert.Equal(t, map[string]int{LinkActive: stored + 1}, in.Domains[0].Links)
}

// Links queued by Link are visible to Assign and Resolve in the same
// transaction.
func TestQueuedLinksVisible(t *testing.T) {
	v, _ := newVault(t)
	require.NoError(t, v.AddDomain("survey", SchemeRandom))
	tx, err := v.Begin(t.Context(), "survey")
	require.NoError(t, err)
	require.NoError(t, tx.Link("nid", synthNID(1), "R1"))
	r, err := tx.Resolve("survey", "R1")
	require.NoError(t, err)
	assert.Equal(t, synthNID(1), r.Identifier)
	require.NoError(t, tx.Link("nid", synthNID(2), "R2"))
	_, err = tx.Assign("nid", synthNID(3), "R2")
	require.ErrorIs(t, err, ErrCodeTaken, "the queued R2 is in the file before Assign looks")
	code, err := tx.Assign("nid", synthNID(3), "R3")
	require.NoError(t, err)
	assert.Equal(t, "R3", code)
	n, e := tx.Counts()
	assert.Equal(t, [2]int{3, 0}, [2]int{n, e})
	commit(t, tx)
}

// A withdrawn link without a tombstone is damage (Verify reports it; Withdraw
// always writes both): Link cannot see it from memory, and the batch write
// fails the transaction, so nothing is committed.
func TestWithdrawnLinkWithoutTombstoneFailsTx(t *testing.T) {
	smallBatches(t, 2)
	v, path := storedVault(t, 10)
	db := rawDB(t, path)
	editLink(t, db, "KS3", func(r *linkRec) { r.state, r.sealed, r.changed = LinkWithdrawn, nil, 1 })
	mustExec(t, db, `UPDATE link_index SET link = -link WHERE link = ?`, rawLink(t, db, "KS3").id)
	before := snapshot(t, path)
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	require.NoError(t, tx.Link("nid", synthNID(3), "KS3"))
	require.NoError(t, tx.Link("nid", synthNID(4), "KS4"))
	waitWritten(tx)
	err = tx.Link("nid", synthNID(5), "KS5")
	require.ErrorIs(t, err, ErrWithdrawn)
	require.ErrorIs(t, err, ErrCorrupt)
	assert.NotContains(t, err.Error(), synthNID(3))
	require.ErrorIs(t, tx.Commit(Entry{Action: "pseudonymize"}), ErrWithdrawn)
	assert.True(t, bytes.Equal(before, snapshot(t, path)))
}

// With a tombstone, Link refuses the person itself, in every domain.
func TestWithdrawnIsSynchronous(t *testing.T) {
	smallBatches(t, 2)
	v, _ := storedVault(t, 10)
	_, err := v.Withdraw(t.Context(), []Person{{"nid", synthNID(3)}, {"nid", synthNID(7)}, {"nid", synthNID(99)}}, Entry{Purpose: "test"})
	require.NoError(t, err)
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	var refused []int
	for i := range 12 {
		code := fmt.Sprintf("KS%d", i)
		if i >= 10 {
			code = fmt.Sprintf("KN%d", i)
		}
		if err := tx.Link("nid", synthNID(i), code); err != nil {
			require.ErrorIs(t, err, ErrWithdrawn)
			refused = append(refused, i)
		}
	}
	require.ErrorIs(t, tx.Link("nid", synthNID(99), "KN99"), ErrWithdrawn, "a tombstone without a link")
	assert.Equal(t, []int{3, 7}, refused)
	n, e := tx.Counts()
	assert.Equal(t, [2]int{2, 8}, [2]int{n, e})
	commit(t, tx)
}

// skipOneBatch fills a batch of 4 (see smallBatches) with one link stored
// before (storedVault's first) and three new ones, and waits until it is
// written: the plain INSERT skips one row, so the next batch is written
// with RETURNING.
func skipOneBatch(t *testing.T, tx *Tx) {
	t.Helper()
	require.NoError(t, tx.Link("nid", synthNID(0), "KS0"))
	for i := 100; i < 103; i++ {
		require.NoError(t, tx.Link("nid", synthNID(i), fmt.Sprintf("KN%d", i)))
	}
	waitWritten(tx)
	require.True(t, tx.skipped, "the next batch is written with RETURNING")
}

// After a batch that skipped rows, the next is inserted with RETURNING:
// counts and conflicts come out the same.
func TestInsertReturningPath(t *testing.T) {
	smallBatches(t, 4)
	noBulk(t)
	v, _ := storedVault(t, 10)
	for _, conflict := range []bool{false, true} {
		tx, err := v.Begin(t.Context(), DefaultDomain)
		require.NoError(t, err)
		skipOneBatch(t, tx)
		// Batch 2, with RETURNING: three new and one stored.
		for i := 103; i < 106; i++ {
			require.NoError(t, tx.Link("nid", synthNID(i), fmt.Sprintf("KN%d", i)))
		}
		code := "KS1"
		if conflict {
			code = "KZ"
		}
		require.NoError(t, tx.Link("nid", synthNID(1), code))
		waitWritten(tx)
		if conflict {
			require.ErrorIs(t, tx.Link("nid", synthNID(300), "KN300"), ErrConflict)
			require.NoError(t, tx.Rollback())
			continue
		}
		assert.True(t, tx.skipped)
		// Batch 3, with RETURNING: all new, so the next is plain again.
		for i := 106; i < 110; i++ {
			require.NoError(t, tx.Link("nid", synthNID(i), fmt.Sprintf("KN%d", i)))
		}
		waitWritten(tx)
		assert.False(t, tx.skipped)
		n, e := tx.Counts()
		assert.Equal(t, [2]int{10, 2}, [2]int{n, e})
		require.NoError(t, tx.Rollback())
	}
}

// Several goroutines link in one transaction while batches are written in
// the background (small batches: many hand-overs), with Counts and
// Resolve in between; the counts and the file come out exact.
func TestParallelLinkSmallBatches(t *testing.T) {
	smallBatches(t, 8)
	v, _ := storedVault(t, 100)
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 400 { // 0-99 stored, 100-399 new; each goroutine all of them
				j := (i + 100*g) % 400
				assert.NoError(t, tx.Link("nid", synthNID(j), fmt.Sprintf("KS%d", j)))
				if i%97 == 0 {
					tx.Counts()
					_, err := tx.Resolve(DefaultDomain, "KS5")
					assert.NoError(t, err)
				}
			}
		}()
	}
	wg.Wait()
	n, e := tx.Counts()
	assert.Equal(t, [2]int{300, 100}, [2]int{n, e})
	commit(t, tx)
	in, err := v.Info()
	require.NoError(t, err)
	assert.Equal(t, map[string]int{LinkActive: 400}, in.Domains[0].Links)
}

// The probes and look-ups search a map's B-tree (its primary key), in
// every segment of the domain, never scan it.
func TestProbePlans(t *testing.T) {
	v, path := storedVault(t, 10)
	v.Close()
	db := rawDB(t, path)
	defer db.Close()
	plan := func(q string, args ...any) []string {
		var plan []string
		rows, err := db.Query("EXPLAIN QUERY PLAN "+q, args...)
		require.NoError(t, err)
		for rows.Next() {
			var id, parent, notused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &notused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Err())
		return plan
	}
	for _, segs := range [][]int64{{1}, {1, 3, 4}} {
		for kind, want := range map[int]string{
			probeCodeSQL:    "SEARCH link_codes USING PRIMARY KEY (seg=? AND code=?)",
			probeOldCodeSQL: "SEARCH link_codes USING PRIMARY KEY (seg=? AND code=?)",
			probeIdxSQL:     "SEARCH link_index USING PRIMARY KEY (seg=? AND idx=?)",
		} {
			if kind == probeOldCodeSQL && len(segs) == 1 {
				continue
			}
			tx := &Tx{domain: domainRow{id: 1}, segs: segs}
			q := tx.statementSQL(kind, 8)
			assert.Contains(t, plan(q, make([]any, 9)...), want, q)
		}
	}
	for _, m := range []struct{ table, key string }{{"link_index", "idx"}, {"link_codes", "code"}} {
		q := `SELECT link FROM ` + m.table + ` WHERE seg IN ` + segsOfDomain + ` AND ` + m.key + ` = ?`
		assert.Contains(t, plan(q, 1, "x"), "SEARCH "+m.table+" USING PRIMARY KEY (seg=? AND "+m.key+"=?)", q)
	}
}

// A re-run whose first batch is larger than a statement probes a sample
// first and, finding most links stored, probes before it inserts: no
// INSERT skips a row. A first run in a domain with other people's links
// inserts first.
func TestFirstBatchProbesSample(t *testing.T) {
	noBulk(t) // a bulk run probes every batch
	v, _ := storedVault(t, 1000)
	for _, rerun := range []bool{true, false} {
		tx, err := v.Begin(t.Context(), DefaultDomain)
		require.NoError(t, err)
		for i := range 1000 {
			id, code := synthNID(i), fmt.Sprintf("KS%d", i)
			if !rerun {
				id, code = synthNID(5000+i), fmt.Sprintf("KN%d", i)
			}
			require.NoError(t, tx.Link("nid", id, code))
		}
		for i := range 10 {
			// Codes that sort first: the last statement holds stored links.
			require.NoError(t, tx.Link("nid", synthNID(9000+i), fmt.Sprintf("KA%d", i)))
		}
		n, e := tx.Counts()
		if rerun {
			assert.Equal(t, [2]int{10, 1000}, [2]int{n, e})
		} else {
			assert.Equal(t, [2]int{1010, 0}, [2]int{n, e})
		}
		assert.False(t, tx.skipped, "no INSERT skipped a stored link")
		require.NoError(t, tx.Rollback())
	}
}

// Batches that mix stored and new identifiers take the insert path (the
// run starts without a sample probe: small batches) and skip the stored
// ones, first with a plain INSERT and a probe, then with RETURNING; the
// batch is reordered between the three trees. Every link ends up in all
// three, consistent (Verify), and is found by identifier and by code.
func TestMixedBatchesVerify(t *testing.T) {
	for _, bulk := range []bool{true, false} {
		t.Run(fmt.Sprintf("bulk=%v", bulk), func(t *testing.T) {
			if !bulk {
				noBulk(t)
			}
			testMixedBatchesVerify(t)
		})
	}
}

func testMixedBatchesVerify(t *testing.T) {
	smallBatches(t, 64)
	v, _ := storedVault(t, 100)
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	ids := map[string]string{} // identifier -> code
	for i := range 300 {
		j := 1000 + i // new
		if i%3 == 0 {
			j = i / 3 // stored
		}
		id, code := synthNID(j), fmt.Sprintf("KS%d", j)
		ids[id] = code
		require.NoError(t, tx.Link("nid", id, code))
	}
	n, e := tx.Counts()
	assert.Equal(t, [2]int{200, 100}, [2]int{n, e})
	commit(t, tx)
	rep, err := v.Verify(t.Context(), VerifyOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{LinkActive: 300}, rep.Links)
	for id, code := range ids {
		got, found, err := v.Lookup(DefaultDomain, "nid", id)
		require.NoError(t, err)
		require.True(t, found)
		assert.Equal(t, code, got)
	}
	refs, err := v.FindCode("KS1050")
	require.NoError(t, err)
	require.Len(t, refs, 1)
	assert.Equal(t, synthNID(1050), refs[0].Identifier)
}

// Batches handed over after one that fails are not written: with one
// batch sorted while another is written, the failure still reaches every
// later call as itself, and nothing is committed.
func TestBatchesAfterFailureNotWritten(t *testing.T) {
	smallBatches(t, 4)
	tx, path, before := storedTx(t, 10)
	require.NoError(t, tx.Link("nid", synthNID(1), "KZ"), "queued")
	var linkErr error
	for i := 300; i < 400 && linkErr == nil; i++ {
		linkErr = tx.Link("nid", synthNID(i), fmt.Sprintf("K%d", i))
	}
	waitWritten(tx)
	if linkErr == nil {
		linkErr = tx.Link("nid", synthNID(400), "K400")
	}
	require.ErrorIs(t, linkErr, ErrConflict)
	tx.mu.Lock()
	handed, turn := tx.handed, tx.turn
	tx.mu.Unlock()
	assert.Equal(t, handed, turn, "every batch handed over had its turn")
	require.ErrorIs(t, tx.Commit(Entry{Action: "pseudonymize"}), ErrConflict)
	assert.True(t, bytes.Equal(before, snapshot(t, path)), "nothing committed")
}

// Batches grow to twice linkBatch once the vault holds bigVault links,
// and the links of either size are all stored.
func TestBatchesGrowWithVault(t *testing.T) {
	smallBatches(t, 4)
	old := bigVault
	bigVault = 10
	t.Cleanup(func() { bigVault = old })
	v, _ := storedVault(t, 6) // links 1-6: below bigVault
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	// 6 stored + 4 handed = 10: the first batch has 4 links, the next
	// ones 8.
	for i := 6; i < 30; i++ {
		require.NoError(t, tx.Link("nid", synthNID(i), fmt.Sprintf("KS%d", i)))
	}
	tx.mu.Lock()
	handed, queued := tx.handed, len(tx.pend)
	tx.mu.Unlock()
	assert.Equal(t, 3, handed, "batches of 4, 8, 8")
	assert.Equal(t, 4, queued, "the rest waits for a batch of 8")
	commit(t, tx)
	for i := range 30 {
		code, found, err := v.Lookup(DefaultDomain, "nid", synthNID(i))
		require.NoError(t, err)
		require.True(t, found, "link %d", i)
		assert.Equal(t, fmt.Sprintf("KS%d", i), code)
	}
}

// TestSortBatch: sortBatch orders a batch as a plain sort by keyed index
// does and gives the code order a plain sort by code does, with keys that
// share their first 8 bytes, equal keys, codes shorter than 8 bytes and
// codes that differ only past a zero byte.
func TestSortBatch(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 7, 100, 5000} {
		ps := make([]pendingLink, n)
		for i := range ps {
			for j := range ps[i].idx {
				ps[i].idx[j] = byte(rnd.IntN(256))
			}
			if rnd.IntN(3) == 0 { // a shared 8-byte prefix
				copy(ps[i].idx[:8], "samepref")
			}
			if i > 0 && rnd.IntN(10) == 0 { // an equal key
				ps[i].idx = ps[rnd.IntN(i)].idx
			}
			ps[i].code = []string{"", "K", "K\x00", "K\x00\x01", "KS12345678", "KS1234567", "KS12345679"}[rnd.IntN(7)] + fmt.Sprint(rnd.IntN(50))
			ps[i].link = int64(i)
		}
		want := slices.Clone(ps)
		slices.SortStableFunc(want, func(a, b pendingLink) int { return bytes.Compare(a.idx[:], b.idx[:]) })
		links := map[int64]bool{}
		got := slices.Clone(ps)
		byCode := sortBatch(got)
		for i := range got {
			require.Equal(t, want[i].idx, got[i].idx, "n %d position %d", n, i)
			links[got[i].link] = true
		}
		require.Len(t, links, n, "each link once")
		require.Len(t, byCode, n)
		seen := map[int32]bool{}
		for j, i := range byCode {
			seen[i] = true
			if j > 0 {
				require.LessOrEqual(t, got[byCode[j-1]].code, got[i].code, "n %d code position %d", n, j)
			}
		}
		require.Len(t, seen, n, "a permutation")
	}
}

// BenchmarkSortBatch sorts a batch of linkBatch links with random keyed
// indexes and codes like keyed ones.
func BenchmarkSortBatch(b *testing.B) {
	rnd := rand.New(rand.NewPCG(1, 2))
	ps := make([]pendingLink, linkBatch)
	for i := range ps {
		for j := range ps[i].idx {
			ps[i].idx[j] = byte(rnd.IntN(256))
		}
		ps[i].code = fmt.Sprintf("K%015x", rnd.Uint64())
	}
	work := make([]pendingLink, len(ps))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		copy(work, ps)
		sortBatch(work)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ps)), "ns/link")
}
