package keyvault

import (
	"bytes"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// domainState is what a run left in one domain: its links and both maps,
// each map entry with the code of the link it points to. (Link ids may
// differ: a bulk run writes the repeats it set aside last.)
type domainState struct {
	links []string // code, kind, idx, state
	index []string // idx -> code of the link
	codes []string // code -> code of the link
}

func readDomainState(t *testing.T, db *sql.DB, domain string) domainState {
	t.Helper()
	var id int64
	require.NoError(t, db.QueryRow(`SELECT id FROM domains WHERE name = ?`, domain).Scan(&id))
	var s domainState
	code := map[int64]string{}
	for _, r := range rawLinks(t, db) {
		if r.domain == id {
			s.links = append(s.links, fmt.Sprintf("%s %s %x %s", r.code, r.kind, r.idx, r.state))
			code[r.id] = r.code
		}
	}
	for _, m := range []struct {
		q   string
		out *[]string
	}{
		{`SELECT hex(idx), link FROM link_index WHERE seg IN ` + segsOfDomain + ` ORDER BY idx`, &s.index},
		{`SELECT code, link FROM link_codes WHERE seg IN ` + segsOfDomain + ` ORDER BY code`, &s.codes},
	} {
		rows, err := db.Query(m.q, id)
		require.NoError(t, err)
		for rows.Next() {
			var k string
			var l int64
			require.NoError(t, rows.Scan(&k, &l))
			c, ok := code[l]
			require.True(t, ok, "map entry to a link %d not in the domain", l)
			*m.out = append(*m.out, k+" "+c)
		}
		require.NoError(t, rows.Err())
	}
	slices.Sort(s.links)
	return s
}

// TestBulkMatchesBatches runs the same links into two empty domains of one
// vault, once with deferred maps and once without, and compares what is
// stored: the same links with the same ids, the same map entries, the
// same counts. Small batches and a small seen-set make the runs cross
// batches, drop twins and meet repeats whose seen entry was evicted
// (which ends the bulk run half-way).
func TestBulkMatchesBatches(t *testing.T) {
	tests := []struct {
		name            string
		batch, seen     int
		links, distinct int
		deferCap        int  // maxDeferred
		bulkAtEnd       bool // still a bulk run before Commit
		flagAll         bool // the seen-set's filter takes every identifier for evicted
	}{
		{"one partial batch", 64, 1 << 12, 10, 10, 100, true, false},
		{"many batches, no repeats", 16, 1 << 12, 200, 200, 100, true, false},
		{"repeats the seen-set holds", 16, 1 << 12, 300, 90, 100, true, false},
		{"repeats of evicted identifiers, set aside", 16, 64, 600, 250, 10000, true, false},
		{"more repeats than a bulk run holds: spilled", 16, 64, 3000, 900, 32, true, false},
		{"more batches than maxSpillRuns", 1, 1 << 12, maxSpillRuns*3/2 + 50, maxSpillRuns*3/2 + 50, 100, false, false},
		{"every identifier taken for a repeat: all new", 16, 1 << 12, 500, 200, 10000, true, true},
		{"every identifier taken for a repeat, spilled", 16, 1 << 12, 500, 200, 32, true, true},
		{"every identifier taken for a repeat, some met twice", 16, 64, 600, 250, 10000, true, true},
	}
	// Into a domain that holds links, probes alone (filterRatio 0), the
	// stored-index filter after the first batch (math.MaxInt64), and
	// probes until the filter pays (the default: in most cases here
	// within the run).
	// The bulk run's entries go to a segment of their own (segMin 1) or
	// to the domain's one.
	variants := []struct {
		name   string
		stored bool
		ratio  int64
		segMin int
	}{
		{"", false, filterRatio, segmentMin},
		{", a third stored before, probes only", true, 0, segmentMin},
		{", a third stored before, filter after the first batch", true, math.MaxInt64, segmentMin},
		{", a third stored before, filter when it pays", true, filterRatio, segmentMin},
		{", a third stored before, a segment of its own", true, filterRatio, 1},
	}
	for _, vr := range variants {
		for _, tt := range tests {
			t.Run(tt.name+vr.name, func(t *testing.T) {
				old := filterRatio
				filterRatio = vr.ratio
				t.Cleanup(func() { filterRatio = old })
				smallSegments(t, vr.segMin)
				testBulkMatchesBatches(t, tt.batch, tt.seen, tt.links, tt.distinct, tt.deferCap, tt.bulkAtEnd, tt.flagAll, vr.stored)
			})
		}
	}
}

// testBulkMatchesBatches is one case of TestBulkMatchesBatches: with stored,
// every third identifier (p % 3 == 0) is linked, with its code, by a run
// before the two compared.
func testBulkMatchesBatches(t *testing.T, batch, seen, links, distinct, deferCap int, bulkAtEnd, flagAll, stored bool) {
	tt := struct {
		batch, seen, links, distinct, deferCap int
		bulkAtEnd, flagAll                     bool
	}{batch, seen, links, distinct, deferCap, bulkAtEnd, flagAll}
	{
		{
			smallBatches(t, tt.batch)
			boundSeen(t, tt.seen)
			oldCap := maxDeferred
			maxDeferred = tt.deferCap
			t.Cleanup(func() { maxDeferred = oldCap })
			v, path := newVault(t)
			var counts [2][2]int
			for i, bulk := range []bool{true, false} {
				domain := []string{"bulk", "batches"}[i]
				require.NoError(t, v.AddDomain(domain, SchemeKeyed))
				if stored {
					tx, err := v.Begin(t.Context(), domain)
					require.NoError(t, err)
					for p := 0; p < tt.distinct; p += 3 {
						require.NoError(t, tx.Link("nid", synthNID(p), testCode('K', p)))
					}
					commit(t, tx)
				}
				old := bulkMaps
				bulkMaps = bulk
				tx, err := v.Begin(t.Context(), domain)
				bulkMaps = old
				require.NoError(t, err)
				assert.Equal(t, bulk, tx.bulk)
				assert.Equal(t, bulk && stored, tx.stored)
				if tt.flagAll {
					tx.seen.gone = make([]uint64, goneWords)
					for i := range tx.seen.gone {
						tx.seen.gone[i] = ^uint64(0)
					}
				}
				for j := range tt.links {
					p := (j * 7919) % tt.distinct // repeats spread over the run
					require.NoError(t, tx.Link("nid", synthNID(p), testCode('K', p)))
				}
				waitWritten(tx)
				if bulk && stored && tx.bulk && tx.spill != nil && len(tx.spill.idxRuns) > 0 {
					switch filterRatio {
					case 0:
						assert.Nil(t, tx.filter, "probes only")
					case math.MaxInt64:
						assert.NotNil(t, tx.filter, "filter after the first batch")
					}
				}
				if bulk {
					assert.Equal(t, tt.bulkAtEnd, tx.bulk, "bulk run still on before Commit")
					if tt.seen < tt.distinct || tt.flagAll {
						spilled := tx.spill != nil && len(tx.spill.repeatRuns) > 0
						assert.True(t, len(tx.deferred) > 0 || spilled, "repeats of evicted identifiers were set aside")
						assert.Equal(t, tt.deferCap < 100, spilled, "repeats spilled")
					}
				}
				counts[i][0], counts[i][1] = tx.Counts()
				assert.False(t, tx.bulk)
				commit(t, tx)
			}
			storedN := 0
			if stored {
				storedN = (tt.distinct + 2) / 3
			}
			assert.Equal(t, [2]int{tt.distinct - storedN, storedN}, counts[0])
			assert.Equal(t, counts[1], counts[0])
			_, err := v.Verify(t.Context(), VerifyOptions{})
			require.NoError(t, err)
			v.Close()
			db := rawDB(t, path)
			defer db.Close()
			wantSegs := 1
			if stored && segmentMin == 1 && !flagAll { // (all repeats: nothing spilled, nothing to load)
				wantSegs = 2
			}
			assert.Len(t, segmentsOf(t, db, "bulk"), wantSegs)
			got := readDomainState(t, db, "bulk")
			want := readDomainState(t, db, "batches")
			assert.Len(t, got.links, tt.distinct)
			assert.Equal(t, want, got)
		}
	}
}

// The spill file is unlinked at once, and gone after Commit and Rollback.
func TestBulkSpillFileRemoved(t *testing.T) {
	smallBatches(t, 8)
	spills := func(dir string) []string {
		m, err := filepath.Glob(filepath.Join(dir, ".pseudokit-maps-*"))
		require.NoError(t, err)
		return m
	}
	for _, end := range []string{"commit", "rollback"} {
		t.Run(end, func(t *testing.T) {
			v, path := newVault(t)
			dir := filepath.Dir(path)
			before := snapshot(t, path)
			tx, err := v.Begin(t.Context(), DefaultDomain)
			require.NoError(t, err)
			for i := range 50 {
				require.NoError(t, tx.Link("nid", synthNID(i), testCode('K', i)))
			}
			waitWritten(tx)
			require.NotNil(t, tx.spill, "batches were spilled")
			if os.PathSeparator == '/' {
				assert.Empty(t, spills(dir), "unlinked while in use")
			}
			if end == "commit" {
				commit(t, tx)
				assertCodes(t, v, DefaultDomain, 'K', 0, 17, 49)
			} else {
				require.NoError(t, tx.Rollback())
				v.Close()
				assert.True(t, bytes.Equal(before, snapshot(t, path)), "rollback left the file as it was")
			}
			assert.Empty(t, spills(dir))
		})
	}
}

// Every run starts as a bulk run; one into a domain that holds links
// probes each batch for them (stored).
func TestBulkStoredDomain(t *testing.T) {
	v, _ := storedVault(t, 5)
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	assert.True(t, tx.bulk)
	assert.True(t, tx.stored, "the domain holds links")
	require.NoError(t, tx.Rollback())
	require.NoError(t, v.AddDomain("other", SchemeKeyed))
	tx, err = v.Begin(t.Context(), "other")
	require.NoError(t, err)
	assert.True(t, tx.bulk)
	assert.False(t, tx.stored, "an empty domain of a vault with links elsewhere")
	require.NoError(t, tx.Rollback())
}

// Two identifiers given one code in different batches of a bulk run: the
// merge finds it, Commit fails with ErrCodeTaken and the file is as before.
func TestBulkCodeTakenAcrossBatches(t *testing.T) {
	smallBatches(t, 4)
	v, path := newVault(t)
	before := snapshot(t, path)
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	require.True(t, tx.bulk)
	for i := range 20 {
		code := testCode('K', i)
		if i == 13 {
			code = testCode('K', 2)
		}
		require.NoError(t, tx.Link("nid", synthNID(i), code))
	}
	err = tx.Commit(Entry{Action: "pseudonymize"})
	require.ErrorIs(t, err, ErrCodeTaken)
	assert.NotContains(t, err.Error(), synthNID(13))
	assert.True(t, strings.Contains(err.Error(), testCode('K', 2)), "names the code: %v", err)
	assert.True(t, bytes.Equal(before, snapshot(t, path)))
}

// The merge gives every spilled entry once, in key order, for both maps.
func TestSpillMerge(t *testing.T) {
	s, err := newMapSpill(filepath.Join(t.TempDir(), "v"))
	require.NoError(t, err)
	defer s.close()
	rnd := rand.New(rand.NewPCG(1, 2))
	var all []pendingLink
	for run := range 7 {
		ps := make([]pendingLink, 1+rnd.IntN(300))
		for i := range ps {
			for j := range ps[i].idx {
				ps[i].idx[j] = byte(rnd.IntN(256))
			}
			ps[i].code = fmt.Sprintf("K%0*d", 1+rnd.IntN(20), rnd.IntN(1e6))
			ps[i].link = int64(len(all) + i + 1)
		}
		byCode := sortBatch(ps)
		require.NoError(t, s.add(ps, byCode, func(c string) uint64 { return uint64(len(c)) }), "run %d", run)
		all = append(all, ps...)
	}
	for _, codes := range []bool{false, true} {
		runs := s.idxRuns
		key := func(p pendingLink) string { return string(p.idx[:]) }
		if codes {
			runs = s.codeRuns
			key = func(p pendingLink) string { return p.code }
		}
		var want, got []string
		for _, p := range all {
			h := uint64(len(p.code))
			if codes {
				h = 0 // code runs keep no hash
			}
			want = append(want, fmt.Sprintf("%x %d %d", key(p), p.link, h))
		}
		slices.Sort(want)
		require.NoError(t, s.merge(runs, codes, func(e *spillEntry) error {
			h := e.hash
			if codes {
				h = 0
			}
			got = append(got, fmt.Sprintf("%x %d %d", e.key, e.link, h))
			return nil
		}))
		assert.Equal(t, want, got, "codes %v", codes)
	}
}

// A repeat of an evicted identifier with another code than its first
// link: the merge finds it by the code's hash (ErrConflict), and the file
// is left as it was.
func TestBulkRepeatConflict(t *testing.T) {
	smallBatches(t, 16)
	boundSeen(t, 64)
	v, path := newVault(t)
	before := snapshot(t, path)
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	for j := range 20 {
		require.NoError(t, tx.Link("nid", synthNID(j), testCode('A', j)))
	}
	for j := range 2000 {
		require.NoError(t, tx.Link("nid", synthNID(100+j), testCode('F', j)))
	}
	deferred := 0
	for j := range 20 {
		if err := tx.Link("nid", synthNID(j), testCode('B', j)); err != nil {
			require.ErrorIs(t, err, ErrConflict, "found in the seen-set")
		} else {
			deferred++
		}
	}
	require.Positive(t, deferred, "some went to the merge")
	waitWritten(tx)
	require.True(t, tx.bulk)
	err = tx.Commit(Entry{Action: "pseudonymize"})
	require.ErrorIs(t, err, ErrConflict)
	assert.NotContains(t, err.Error(), synthNID(3))
	assert.True(t, bytes.Equal(before, snapshot(t, path)))
}
