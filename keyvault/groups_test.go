package keyvault

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleRecs returns links of group gid as a run writes them, with a
// withdrawn one among them.
func sampleRecs(gid int64) []linkRec {
	var out []linkRec
	for _, slot := range []int64{1, 2, 40, 63} {
		r := linkRec{id: gid<<groupShift | slot, domain: 1 + slot%2, state: LinkActive, created: 3,
			code: testCode('K', int(slot)), kind: "nid", idx: bytes.Repeat([]byte{byte(slot)}, idxLen),
			sealed: bytes.Repeat([]byte{0xa5}, nonceLen+32+16)}
		if slot == 40 {
			r.state, r.sealed, r.changed = LinkWithdrawn, nil, 9
		}
		out = append(out, r)
	}
	return out
}

func encodeRecs(rs []linkRec) []byte {
	var b []byte
	for i := range rs {
		b = appendEntry(b, &rs[i])
	}
	return b
}

func decodeRecs(gid int64, data []byte) ([]linkRec, error) {
	var out []linkRec
	err := eachInGroup(gid, data, func(r *linkRec) error {
		out = append(out, *r)
		return nil
	})
	return out, err
}

func TestGroupRoundTrip(t *testing.T) {
	for _, gid := range []int64{0, 1, 1 << 40} {
		want := sampleRecs(gid)
		got, err := decodeRecs(gid, encodeRecs(want))
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
}

// find decodes exactly the entry asked for, and nothing for an id the
// group lacks (before, between and after its entries).
func TestGroupFind(t *testing.T) {
	rs := sampleRecs(3)
	data := encodeRecs(rs)
	byID := map[int64]linkRec{}
	for _, r := range rs {
		byID[r.id] = r
	}
	for slot := range int64(groupSlots) {
		id := 3<<groupShift | slot
		g := newGroupReader(3, data)
		var r linkRec
		ok, err := g.find(id, &r)
		require.NoError(t, err)
		want, has := byID[id]
		require.Equal(t, has, ok, "slot %d", slot)
		if has {
			assert.Equal(t, want, r)
		}
	}
	g := newGroupReader(3, data[:len(data)-3])
	_, err := g.find(3<<groupShift|63, &linkRec{})
	require.ErrorIs(t, err, ErrCorrupt)
}

// Every malformed group is ErrCorrupt naming the group, never a panic.
func TestGroupMalformed(t *testing.T) {
	good := encodeRecs(sampleRecs(1))
	withdrawn := sampleRecs(1)[2]
	mod := func(f func(r *linkRec)) []byte {
		rs := sampleRecs(1)
		f(&rs[0])
		return encodeRecs(rs)
	}
	for _, tt := range []struct {
		name string
		gid  int64
		data []byte
	}{
		{"empty", 1, nil},
		{"cut short", 1, good[:len(good)-1]},
		{"cut in the header", 1, good[:1]},
		{"entries out of order", 1, append(encodeRecs(sampleRecs(1)[1:2]), encodeRecs(sampleRecs(1)[:1])...)},
		{"a slot twice", 1, append(encodeRecs(sampleRecs(1)[:1]), encodeRecs(sampleRecs(1)[:1])...)},
		{"link id 0", 0, encodeRecs([]linkRec{func() linkRec { r := sampleRecs(0)[0]; r.id = 0; return r }()})},
		{"unknown flags", 1, append([]byte{good[0], 7}, good[2:]...)},
		{"no domain", 1, mod(func(r *linkRec) { r.domain = 0 })},
		{"no creation", 1, mod(func(r *linkRec) { r.created = 0 })},
		{"invalid code", 1, mod(func(r *linkRec) { r.code = "a b" })},
		{"empty kind", 1, mod(func(r *linkRec) { r.kind = "" })},
		{"active without ciphertext", 1, mod(func(r *linkRec) { r.sealed = nil })},
		{"active with a change", 1, mod(func(r *linkRec) { r.changed = 4 })},
		{"withdrawn with ciphertext", 1, func() []byte { r := withdrawn; r.sealed = []byte{1}; return encodeRecs([]linkRec{r}) }()},
		{"withdrawn without change", 1, func() []byte { r := withdrawn; r.changed = 0; return encodeRecs([]linkRec{r}) }()},
		{"oversized ciphertext length", 1, mod(func(r *linkRec) { r.sealed = make([]byte, maxSealedLen+1) })},
		{"trailing garbage", 1, append(good[:len(good):len(good)], 0x3f)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeRecs(tt.gid, tt.data)
			require.ErrorIs(t, err, ErrCorrupt)
			assert.Contains(t, err.Error(), "link group")
		})
	}
}

// FuzzGroup decodes arbitrary group data: it never panics, fails only with
// ErrCorrupt, and what it accepts encodes back to the same bytes.
func FuzzGroup(f *testing.F) {
	f.Add(int64(1), encodeRecs(sampleRecs(1)))
	f.Add(int64(0), encodeRecs(sampleRecs(0)[1:]))
	f.Add(int64(5), []byte{})
	f.Fuzz(func(t *testing.T, gid int64, data []byte) {
		if gid < 0 || gid > 1<<50 {
			return
		}
		got, err := decodeRecs(gid, data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		for _, r := range got {
			if groupOf(r.id) != gid {
				t.Fatalf("link %d decoded in group %d", r.id, gid)
			}
		}
		if re := encodeRecs(got); !bytes.Equal(re, data) {
			// Uvarints have one shortest form; longer ones decode too.
			again, err := decodeRecs(gid, re)
			if err != nil || len(again) != len(got) {
				t.Fatalf("re-encoding does not decode alike: %v", err)
			}
		}
	})
}

// Links fill groups across runs and single inserts: a run that starts in
// the middle of the last group adds to it, Assign adds one link at a time
// across a group boundary, and every link reads back.
func TestGroupsAcrossRuns(t *testing.T) {
	smallBatches(t, 16)
	v, path := newVault(t)
	require.NoError(t, v.AddDomain("survey", SchemeRandom))
	link := func(from, to int) {
		tx, err := v.Begin(t.Context(), DefaultDomain)
		require.NoError(t, err)
		for i := from; i < to; i++ {
			require.NoError(t, tx.Link("nid", synthNID(i), testCode('K', i)))
		}
		commit(t, tx)
	}
	link(0, 100)  // ids 1-100: groups 0 and 1
	link(50, 130) // 50 existing, 30 new: group 1 continued, group 2
	tx, err := v.Begin(t.Context(), "survey")
	require.NoError(t, err)
	for i := range 70 { // one at a time, across the end of group 2
		code, err := tx.Assign("nid", synthNID(i), testCode('R', i))
		require.NoError(t, err)
		require.Equal(t, testCode('R', i), code)
	}
	commit(t, tx)
	link(130, 131)

	links := rawLinks(t, rawDB(t, path))
	require.Len(t, links, 201)
	groups := map[int64]int{}
	for i, r := range links {
		if i > 0 {
			require.Greater(t, r.id, links[i-1].id)
		}
		groups[groupOf(r.id)]++
	}
	// A link's id is given before the map tells it exists, so a run that
	// meets stored links leaves gaps; still no group is left half used
	// except the last.
	last := groupOf(links[len(links)-1].id)
	for g := int64(0); g < last; g++ {
		assert.GreaterOrEqual(t, groups[g], 32, "group %d", g)
	}
	rep, err := v.Verify(t.Context(), VerifyOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{LinkActive: 201}, rep.Links)
	for i := range 131 {
		assertCodes(t, v, DefaultDomain, 'K', i)
	}
	refs, err := v.FindCode(testCode('R', 69))
	require.NoError(t, err)
	require.Len(t, refs, 2)
	assert.Equal(t, synthNID(69), refs[0].Identifier)
	assert.Equal(t, synthNID(69), refs[1].Identifier)
}

// The longest identifier a link may have fits a group entry and reads back,
// in a batch and through Assign; one byte more is refused before anything
// is sealed.
func TestLongestIdentifier(t *testing.T) {
	v, _ := newVault(t)
	require.NoError(t, v.AddDomain("survey", SchemeRandom))
	long := strings.Repeat("x", maxCanonicalLen)
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	require.NoError(t, tx.Link("text", long, "KLONG"))
	require.ErrorIs(t, tx.Link("text", long+"x", "KLONGER"), ErrInvalid)
	commit(t, tx)
	tx, err = v.Begin(t.Context(), "survey")
	require.NoError(t, err)
	_, err = tx.Assign("text", long, "RLONG")
	require.NoError(t, err)
	commit(t, tx)
	refs, err := v.FindCode("KLONG")
	require.NoError(t, err)
	require.Len(t, refs, 2)
	assert.Equal(t, long, refs[0].Identifier)
	assert.Equal(t, long, refs[1].Identifier)
	_, err = v.Verify(t.Context(), VerifyOptions{})
	require.NoError(t, err)
}
