package keyvault

import (
	"database/sql"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallSegments lets a bulk run of n new links make a segment.
func smallSegments(t *testing.T, n int) {
	old := segmentMin
	segmentMin = n
	t.Cleanup(func() { segmentMin = old })
}

// segmentsOf returns how many map entries each segment of domain holds
// (by keyed index), in segment order.
func segmentsOf(t *testing.T, db *sql.DB, domain string) []int {
	t.Helper()
	rows, err := db.Query(`SELECT (SELECT count(*) FROM link_index i WHERE i.seg = s.id)
		FROM map_segments s JOIN domains d ON d.id = s.domain WHERE d.name = ? ORDER BY s.id`, domain)
	require.NoError(t, err)
	defer rows.Close()
	var out []int
	for rows.Next() {
		var n int
		require.NoError(t, rows.Scan(&n))
		out = append(out, n)
	}
	require.NoError(t, rows.Err())
	return out
}

// segmentNames returns every segment as "id domain", in id order.
func segmentNames(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var out []string
	rows, err := db.Query(`SELECT s.id || ' ' || d.name FROM map_segments s JOIN domains d ON d.id = s.domain ORDER BY s.id`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// segmentVault returns a vault whose runs write batches of 16 links and
// make a segment from 50 new links, and its raw database.
func segmentVault(t *testing.T) (*Vault, *sql.DB) {
	smallBatches(t, 16)
	smallSegments(t, 50)
	v, path := newVault(t)
	db := rawDB(t, path)
	t.Cleanup(func() { db.Close() })
	return v, db
}

// linkRun links synthNID(i) to testCode(prefix, i) for each i in one
// transaction and returns its counts; an error from Link or Commit is
// returned, with the transaction rolled back.
func linkRun(t *testing.T, v *Vault, prefix byte, ids ...int) (newLinks, existing int, err error) {
	t.Helper()
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	for _, i := range ids {
		if err := tx.Link("nid", synthNID(i), testCode(prefix, i)); err != nil {
			tx.Rollback()
			return 0, 0, err
		}
	}
	newLinks, existing = tx.Counts()
	if err := tx.Commit(Entry{Action: "pseudonymize"}); err != nil {
		return 0, 0, err
	}
	return newLinks, existing, nil
}

func span(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// A large bulk run into a domain that holds links appends its entries as
// a segment of its own; every look-up, write, withdrawal and check sees
// the domain's entries in all its segments as one map.
func TestSegments(t *testing.T) {
	v, db := segmentVault(t)

	n, e, err := linkRun(t, v, 'K', span(0, 100)...)
	require.NoError(t, err)
	assert.Equal(t, [2]int{100, 0}, [2]int{n, e})
	assert.Equal(t, []int{100}, segmentsOf(t, db, DefaultDomain), "a first run into an empty domain appends to its segment")

	// 100 new (a segment) and 30 stored.
	n, e, err = linkRun(t, v, 'K', append(span(100, 200), span(0, 30)...)...)
	require.NoError(t, err)
	assert.Equal(t, [2]int{100, 30}, [2]int{n, e})
	assert.Equal(t, []int{100, 100}, segmentsOf(t, db, DefaultDomain))

	// Too few new links for a segment: they go to the newest.
	n, e, err = linkRun(t, v, 'K', append(span(200, 220), 5, 150)...)
	require.NoError(t, err)
	assert.Equal(t, [2]int{20, 2}, [2]int{n, e})
	assert.Equal(t, []int{100, 120}, segmentsOf(t, db, DefaultDomain))

	// Outside a bulk run: probed in every segment first.
	noBulk(t)
	n, e, err = linkRun(t, v, 'K', span(180, 260)...)
	require.NoError(t, err)
	assert.Equal(t, [2]int{40, 40}, [2]int{n, e})
	bulkMaps = true
	assert.Equal(t, []int{100, 160}, segmentsOf(t, db, DefaultDomain))

	// Conflicts with links in either segment fail the run: in a bulk run
	// without the stored-index filter (the old segments' codes scanned at
	// the end) or with it (scanned with it), or outside a bulk run.
	for _, mode := range []struct {
		bulk  bool
		ratio int64
	}{{true, 0}, {true, math.MaxInt64}, {false, filterRatio}} {
		bulk := mode.bulk
		bulkMaps = bulk
		oldRatio := filterRatio
		filterRatio = mode.ratio
		for _, tc := range []struct {
			name string
			ids  []int
			code func(i int) string
			want error
		}{
			{"identifier in the first segment, another code", span(5, 6), func(i int) string { return testCode('X', i) }, ErrConflict},
			{"identifier in the second segment, another code", span(150, 151), func(i int) string { return testCode('X', i) }, ErrConflict},
			{"code of the first segment for a new identifier", span(1000, 1060), func(i int) string {
				if i == 1030 {
					return testCode('K', 7)
				}
				return testCode('N', i)
			}, ErrCodeTaken},
			{"code of the second segment for a new identifier", span(1000, 1060), func(i int) string {
				if i == 1059 {
					return testCode('K', 170)
				}
				return testCode('N', i)
			}, ErrCodeTaken},
		} {
			tx, err := v.Begin(t.Context(), DefaultDomain)
			require.NoError(t, err)
			for _, i := range tc.ids {
				if err = tx.Link("nid", synthNID(i), tc.code(i)); err != nil {
					break
				}
			}
			if err == nil {
				err = tx.Commit(Entry{Action: "pseudonymize"})
			} else {
				tx.Rollback()
			}
			require.ErrorIs(t, err, tc.want, "%+v: %s", mode, tc.name)
			assert.Equal(t, []int{100, 160}, segmentsOf(t, db, DefaultDomain), "%+v: %s: rolled back", mode, tc.name)
		}
		filterRatio = oldRatio
	}
	bulkMaps = true

	// Look-ups in both segments.
	for _, i := range []int{3, 150, 255} {
		code, found, err := v.Lookup(DefaultDomain, "nid", synthNID(i))
		require.NoError(t, err)
		assert.True(t, found)
		assert.Equal(t, testCode('K', i), code)
		refs, err := v.FindCode(testCode('K', i))
		require.NoError(t, err)
		require.Len(t, refs, 1)
		assert.Equal(t, synthNID(i), refs[0].Identifier)
	}
	_, err = v.Withdraw(t.Context(), []Person{{"nid", synthNID(3)}, {"nid", synthNID(150)}}, Entry{Purpose: "test"})
	require.NoError(t, err)
	codes, err := v.WithdrawnCodes(DefaultDomain)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{testCode('K', 150), testCode('K', 3)}, codes)
	in, err := v.Info()
	require.NoError(t, err)
	assert.Equal(t, map[string]int{LinkActive: 258, LinkWithdrawn: 2}, in.Domains[0].Links)
	_, _, err = linkRun(t, v, 'K', 150)
	require.ErrorIs(t, err, ErrWithdrawn)
	rep, err := v.Verify(t.Context(), VerifyOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{LinkActive: 258, LinkWithdrawn: 2}, rep.Links)

	// A domain has at most maxSegments.
	next := 2000
	for range maxSegments + 2 {
		_, _, err := linkRun(t, v, 'K', span(next, next+60)...)
		require.NoError(t, err)
		next += 60
	}
	segs := segmentsOf(t, db, DefaultDomain)
	assert.Len(t, segs, maxSegments)
	total := 0
	for _, n := range segs {
		total += n
	}
	assert.Equal(t, 260+(maxSegments+2)*60, total)
	_, err = v.Verify(t.Context(), VerifyOptions{})
	require.NoError(t, err)
}

// A large first run into a domain whose segment is not the vault's last
// moves the domain to a new segment, the last, and drops the empty one;
// a small one stays where it is.
func TestSegmentOfEmptyDomain(t *testing.T) {
	v, db := segmentVault(t)
	require.NoError(t, v.AddDomain("later", SchemeKeyed))
	require.NoError(t, v.AddDomain("small", SchemeKeyed))
	require.NoError(t, v.AddDomain("last", SchemeKeyed))
	run := func(domain string, ids []int) {
		tx, err := v.Begin(t.Context(), domain)
		require.NoError(t, err)
		for _, i := range ids {
			require.NoError(t, tx.Link("nid", synthNID(i), testCode('K', i)))
		}
		commit(t, tx)
	}
	run(DefaultDomain, span(0, 60))
	run("small", span(0, 10))
	run("last", span(0, 60))
	assert.Equal(t, []string{"2 later", "3 small", "5 default", "6 last"}, segmentNames(t, db), "last was last until default moved")
	assert.Equal(t, []int{60}, segmentsOf(t, db, DefaultDomain))
	assert.Equal(t, []int{10}, segmentsOf(t, db, "small"))
	assert.Equal(t, []int{60}, segmentsOf(t, db, "last"))
	_, err := v.Verify(t.Context(), VerifyOptions{})
	require.NoError(t, err)
}

// Assign, in a random domain of several segments, refuses a candidate
// code that an older segment holds.
func TestAssignAcrossSegments(t *testing.T) {
	v, path := newVault(t)
	require.NoError(t, v.AddDomain("survey", SchemeRandom))
	tx, err := v.Begin(t.Context(), "survey")
	require.NoError(t, err)
	c, err := tx.Assign("nid", synthNID(1), "R1")
	require.NoError(t, err)
	assert.Equal(t, "R1", c)
	commit(t, tx)
	db := rawDB(t, path)
	defer db.Close()
	mustExec(t, db, `INSERT INTO map_segments (id, domain) VALUES (9, (SELECT id FROM domains WHERE name = 'survey'))`)

	tx, err = v.Begin(t.Context(), "survey")
	require.NoError(t, err)
	assert.Equal(t, []int64{2, 9}, tx.segs)
	_, err = tx.Assign("nid", synthNID(2), "R1")
	require.ErrorIs(t, err, ErrCodeTaken)
	c, err = tx.Assign("nid", synthNID(2), "R2")
	require.NoError(t, err)
	assert.Equal(t, "R2", c)
	c, err = tx.Assign("nid", synthNID(1), "R3")
	require.NoError(t, err)
	assert.Equal(t, "R1", c, "found in the older segment")
	commit(t, tx)
	assert.Equal(t, []int{1, 1}, segmentsOf(t, db, "survey"))
	_, err = v.Verify(t.Context(), VerifyOptions{})
	require.NoError(t, err)
}

// Verify finds a key in two segments of a domain, an entry in a segment
// that does not exist, a segment of no domain, and a domain without one.
func TestVerifySegments(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage string
	}{
		{"keyed index in two segments", `INSERT INTO link_index SELECT 5, idx, link FROM link_index WHERE seg = 1 LIMIT 1`},
		{"code in two segments", `INSERT INTO link_codes SELECT 5, code, link FROM link_codes WHERE seg = 1 LIMIT 1`},
		{"entry moved to a segment that does not exist", `UPDATE link_index SET seg = 7 WHERE idx = (SELECT idx FROM link_index LIMIT 1)`},
		{"segment of no domain", `INSERT INTO map_segments (id, domain) VALUES (6, 42)`},
		{"domain without a segment", `DELETE FROM map_segments WHERE id = 5`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, path := storedVault(t, 20)
			db := rawDB(t, path)
			defer db.Close()
			mustExec(t, db, `INSERT INTO map_segments (id, domain) VALUES (5, 1)`)
			_, err := v.Verify(t.Context(), VerifyOptions{})
			require.NoError(t, err, "an empty segment is sound")
			if tc.name == "domain without a segment" {
				mustExec(t, db, `DELETE FROM map_segments WHERE id = 1`)
				mustExec(t, db, `UPDATE link_index SET seg = 5`)
				mustExec(t, db, `UPDATE link_codes SET seg = 5`)
				_, err := v.Verify(t.Context(), VerifyOptions{})
				require.NoError(t, err, "entries in a domain's only segment")
			}
			mustExec(t, db, tc.damage)
			_, err = v.Verify(t.Context(), VerifyOptions{})
			require.ErrorIs(t, err, ErrCorrupt)
			assert.NotContains(t, fmt.Sprint(err), synthNID(1)[:6])
		})
	}
}

// Compact merges a domain's segments into one, keeping every link, its
// state and the log; a key in two segments is damage and changes nothing.
func TestCompact(t *testing.T) {
	v, db := segmentVault(t)
	old := mergeChunk
	mergeChunk = 7 // many chunks a segment
	t.Cleanup(func() { mergeChunk = old })
	for _, wave := range [][]int{span(0, 100), span(100, 170), span(170, 260)} {
		_, _, err := linkRun(t, v, 'K', wave...)
		require.NoError(t, err)
	}
	require.NoError(t, v.AddDomain("survey", SchemeKeyed))
	require.Equal(t, []int{100, 70, 90}, segmentsOf(t, db, DefaultDomain))
	_, err := v.Withdraw(t.Context(), []Person{{"nid", synthNID(120)}}, Entry{Purpose: "test"})
	require.NoError(t, err)

	_, err = v.Compact(t.Context(), "nope", Entry{})
	require.ErrorIs(t, err, ErrNoDomain)
	rep, err := v.Compact(t.Context(), "", Entry{Purpose: "after wave 3"})
	require.NoError(t, err)
	assert.Equal(t, CompactReport{Domains: 1, Segments: 3, Links: 260}, rep)
	assert.Equal(t, []int{260}, segmentsOf(t, db, DefaultDomain))
	assert.Equal(t, []string{"4 survey", "5 default"}, segmentNames(t, db))
	es, err := v.Entries()
	require.NoError(t, err)
	last := es[len(es)-1]
	assert.Equal(t, "compact", last.Action)
	assert.Equal(t, "after wave 3", last.Purpose)
	rv, err := v.Verify(t.Context(), VerifyOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{LinkActive: 259, LinkWithdrawn: 1}, rv.Links)
	for _, i := range []int{0, 99, 100, 169, 259} {
		refs, err := v.FindCode(testCode('K', i))
		require.NoError(t, err)
		require.Len(t, refs, 1, "code %d", i)
		assert.Equal(t, synthNID(i), refs[0].Identifier)
	}
	codes, err := v.WithdrawnCodes(DefaultDomain)
	require.NoError(t, err)
	assert.Equal(t, []string{testCode('K', 120)}, codes)
	n, e, err := linkRun(t, v, 'K', append(span(0, 20), span(300, 310)...)...)
	require.NoError(t, err)
	assert.Equal(t, [2]int{10, 20}, [2]int{n, e})

	rep, err = v.Compact(t.Context(), DefaultDomain, Entry{})
	require.NoError(t, err)
	assert.Equal(t, CompactReport{}, rep, "one segment: nothing to merge")

	// Damage: a code in two segments.
	mustExec(t, db, `INSERT INTO map_segments (id, domain) VALUES (9, 1)`)
	mustExec(t, db, `INSERT INTO link_codes SELECT 9, code, link FROM link_codes WHERE seg = 5 LIMIT 1`)
	before := segmentNames(t, db)
	_, err = v.Compact(t.Context(), "", Entry{})
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Equal(t, before, segmentNames(t, db), "unchanged")
}
