package keyvault

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withdrawalVault has a keyed domain "default" and a random domain
// "survey"; person 1 is linked in both, person 2 only in default, person 3
// nowhere, person 4 (name kind) in default.
func withdrawalVault(t *testing.T) (*Vault, string) {
	t.Helper()
	v, path := newVault(t)
	require.NoError(t, v.AddDomain("survey", SchemeRandom))
	tx, err := v.Begin(t.Context(), DefaultDomain)
	require.NoError(t, err)
	require.NoError(t, tx.Link("nid", synthNID(1), "K1"))
	require.NoError(t, tx.Link("nid", synthNID(2), "K2"))
	require.NoError(t, tx.Link("name", "kari nordmann", "K4"))
	commit(t, tx)
	tx, err = v.Begin(t.Context(), "survey")
	require.NoError(t, err)
	_, err = tx.Assign("nid", synthNID(1), "R1")
	require.NoError(t, err)
	commit(t, tx)
	return v, path
}

func TestFindPersonAndCode(t *testing.T) {
	v, _ := withdrawalVault(t)
	refs, withdrawn, err := v.FindPerson("nid", synthNID(1))
	require.NoError(t, err)
	assert.False(t, withdrawn)
	assert.Equal(t, []LinkRef{
		{Domain: DefaultDomain, Code: "K1", Kind: "nid", State: LinkActive},
		{Domain: "survey", Code: "R1", Kind: "nid", State: LinkActive},
	}, refs, "found by the keyed index, nothing decrypted")
	refs, _, err = v.FindPerson("nid", synthNID(3))
	require.NoError(t, err)
	assert.Empty(t, refs)

	refs, err = v.FindCode("R1")
	require.NoError(t, err)
	assert.Equal(t, []LinkRef{
		{Domain: "survey", Code: "R1", Kind: "nid", State: LinkActive, Identifier: synthNID(1)},
		{Domain: DefaultDomain, Code: "K1", Kind: "nid", State: LinkActive, Identifier: synthNID(1)},
	}, refs, "the code's link first, then the person's other links")
	refs, err = v.FindCode("K4")
	require.NoError(t, err)
	assert.Equal(t, []LinkRef{{Domain: DefaultDomain, Code: "K4", Kind: "name", State: LinkActive, Identifier: "kari nordmann"}}, refs)
	_, err = v.FindCode("K9")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = v.FindCode("")
	require.ErrorIs(t, err, ErrInvalid)

	// Neither logs.
	in, err := v.Info()
	require.NoError(t, err)
	assert.Equal(t, "pseudonymize", in.LogLastAction)
}

// A withdrawn link's ciphertext is gone from the vault file itself, not
// only from what its group decodes to, also where the rewritten (shorter)
// group does not cover the old one; the other links keep theirs.
func TestWithdrawErasesTheCiphertext(t *testing.T) {
	v, path := withdrawalVault(t)
	db := rawDB(t, path)
	// R1 (survey, made last) is the group's last entry: the rewritten
	// group is shorter and does not cover its old place.
	links := rawLinks(t, db)
	require.Equal(t, "R1", links[len(links)-1].code)
	gone := [][]byte{rawLink(t, db, "K1").sealed, rawLink(t, db, "R1").sealed}
	kept := rawLink(t, db, "K2").sealed
	db.Close()
	_, err := v.Withdraw(t.Context(), []Person{{"nid", synthNID(1)}}, Entry{Purpose: "request"})
	require.NoError(t, err)
	require.NoError(t, v.Close())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, g := range gone {
		assert.False(t, bytes.Contains(b, g), "a withdrawn link's ciphertext is still in the file")
	}
	assert.True(t, bytes.Contains(b, kept), "another link's ciphertext is in the file")
}

func TestWithdraw(t *testing.T) {
	v, path := withdrawalVault(t)
	ctx := t.Context()
	persons := []Person{{"nid", synthNID(1)}, {"nid", synthNID(3)}, {"nid", synthNID(1)}}
	refs, err := v.Withdraw(ctx, persons, Entry{Purpose: "request 2025-17", Details: map[string]any{"persons": []string{"K1", "?"}}})
	require.NoError(t, err)
	assert.Equal(t, []LinkRef{
		{Domain: DefaultDomain, Code: "K1", Kind: "nid", State: LinkWithdrawn},
		{Domain: "survey", Code: "R1", Kind: "nid", State: LinkWithdrawn},
	}, refs)
	e := lastEntry(t, v)
	assert.Equal(t, "withdraw", e.Action)
	assert.Equal(t, "request 2025-17", e.Purpose)
	assert.Equal(t, jsonNumber("2"), e.Details["tombstones_new"])
	assert.Equal(t, jsonNumber("2"), e.Details["links_withdrawn"])
	assert.Equal(t, []any{"K1", "R1"}, e.Details["codes_withdrawn"])
	assert.Equal(t, []any{"K1", "?"}, e.Details["persons"], "the caller's details are kept")

	// The sealed identifiers are gone from the file; idx and code remain.
	db := rawDB(t, path)
	n := 0
	for _, r := range rawLinks(t, db) {
		if r.state == LinkWithdrawn && r.sealed == nil && r.changed == e.Seq {
			n++
		}
	}
	assert.Equal(t, 2, n)
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM withdrawn`).Scan(&n))
	assert.Equal(t, 2, n)

	for _, p := range []int{1, 3} {
		w, err := v.Withdrawn("nid", synthNID(p))
		require.NoError(t, err)
		assert.True(t, w, "person %d", p)
	}
	w, err := v.Withdrawn("nid", synthNID(2))
	require.NoError(t, err)
	assert.False(t, w)
	_, w, err = v.FindPerson("nid", synthNID(3))
	require.NoError(t, err)
	assert.True(t, w, "a tombstone exists for a person without links")

	// FindCode and Reveal cannot give the identifier back.
	refs, err = v.FindCode("K1")
	require.NoError(t, err)
	for _, r := range refs {
		assert.Equal(t, LinkWithdrawn, r.State)
		assert.Empty(t, r.Identifier)
	}
	refs, err = v.Reveal(ctx, []string{"K1", "K2"}, "", Entry{Purpose: "audit"})
	require.NoError(t, err)
	assert.Equal(t, []LinkRef{
		{Domain: DefaultDomain, Code: "K1", Kind: "nid", State: LinkWithdrawn},
		{Domain: DefaultDomain, Code: "K2", Kind: "nid", State: LinkActive, Identifier: synthNID(2)},
	}, refs)

	codes, err := v.WithdrawnCodes("")
	require.NoError(t, err)
	assert.Equal(t, []string{"K1", "R1"}, codes)
	codes, err = v.WithdrawnCodes("survey")
	require.NoError(t, err)
	assert.Equal(t, []string{"R1"}, codes)
	_, err = v.WithdrawnCodes("nope")
	require.ErrorIs(t, err, ErrNoDomain)

	// Every domain refuses the withdrawn persons, also where they had no
	// link, with Link and Assign.
	require.NoError(t, v.AddDomain("followup", SchemeRandom))
	for _, tt := range []struct {
		domain string
		person int
	}{{DefaultDomain, 1}, {DefaultDomain, 3}, {"survey", 3}, {"followup", 1}, {"followup", 3}} {
		tx, err := v.Begin(ctx, tt.domain)
		require.NoError(t, err)
		if tt.domain == DefaultDomain {
			err = tx.Link("nid", synthNID(tt.person), "KNEW")
		} else {
			_, err = tx.Assign("nid", synthNID(tt.person), "RNEW")
		}
		require.ErrorIs(t, err, ErrWithdrawn, "%s person %d", tt.domain, tt.person)
		assert.NotContains(t, err.Error(), synthNID(tt.person))
		require.NoError(t, tx.Link("nid", synthNID(5), fmt.Sprintf("K5%s", tt.domain)), "others are still linked")
		require.NoError(t, tx.Rollback())
	}

	// Idempotent: a second withdrawal changes nothing but the log.
	before := snapshotLinks(t, path)
	refs2, err := v.Withdraw(ctx, persons[:2], Entry{Purpose: "again"})
	require.NoError(t, err)
	assert.Len(t, refs2, 2)
	assert.Equal(t, before, snapshotLinks(t, path))
	e = lastEntry(t, v)
	assert.Equal(t, jsonNumber("0"), e.Details["tombstones_new"])
	assert.Equal(t, jsonNumber("0"), e.Details["links_withdrawn"])

	// An empty list only logs.
	_, err = v.Withdraw(ctx, nil, Entry{Purpose: "nothing"})
	require.NoError(t, err)
	rep, err := v.Verify(ctx, VerifyOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{LinkActive: 2, LinkWithdrawn: 2}, rep.Links)
	assert.Equal(t, 2, rep.Tombstones)

	// Info counts them.
	in, err := v.Info()
	require.NoError(t, err)
	assert.Equal(t, 2, in.WithdrawnPersons)
	assert.Equal(t, 1, in.Domains[0].Links[LinkWithdrawn])
}

func snapshotLinks(t *testing.T, path string) string {
	t.Helper()
	var b strings.Builder
	for _, r := range rawLinks(t, rawDB(t, path)) {
		fmt.Fprintln(&b, r.domain, r.code, r.state, hex.EncodeToString(r.sealed), r.changed)
	}
	return b.String()
}

func TestWithdrawIsAllOrNothing(t *testing.T) {
	v, path := withdrawalVault(t)
	before := snapshotLinks(t, path)
	_, err := v.Withdraw(t.Context(), []Person{{"nid", synthNID(1)}}, Entry{Purpose: "case 24920000001"})
	require.ErrorIs(t, err, ErrLooksLikeIdentifier)
	_, err = v.Withdraw(t.Context(), []Person{{"nid", synthNID(2)}, {"NID!", "x"}}, Entry{Purpose: "x"})
	require.ErrorIs(t, err, ErrInvalid)
	assert.Equal(t, before, snapshotLinks(t, path))
	w, err := v.Withdrawn("nid", synthNID(1))
	require.NoError(t, err)
	assert.False(t, w)
}

func TestReveal(t *testing.T) {
	v, path := withdrawalVault(t)
	ctx := t.Context()
	_, err := v.Reveal(ctx, []string{"K1"}, "", Entry{})
	require.ErrorIs(t, err, ErrPurposeRequired)
	_, err = v.Reveal(ctx, []string{synthNID(1)}, "", Entry{Purpose: "x"})
	require.ErrorIs(t, err, ErrLooksLikeIdentifier, "an identity number given as a code is not logged")

	refs, err := v.Reveal(ctx, []string{"R1", "K2", "NOPE"}, "", Entry{Purpose: "case 17", Actor: "dpo"})
	require.NoError(t, err)
	assert.Equal(t, []LinkRef{
		{Domain: "survey", Code: "R1", Kind: "nid", State: LinkActive, Identifier: synthNID(1)},
		{Domain: DefaultDomain, Code: "K2", Kind: "nid", State: LinkActive, Identifier: synthNID(2)},
	}, refs)
	e := lastEntry(t, v)
	assert.Equal(t, "reveal", e.Action)
	assert.Equal(t, "dpo", e.Actor)
	assert.Equal(t, []any{"R1", "K2", "NOPE"}, e.Details["codes"])
	assert.Equal(t, []any{"NOPE"}, e.Details["not_found"])
	assert.Equal(t, jsonNumber("2"), e.Details["found"])

	refs, err = v.Reveal(ctx, []string{"R1"}, DefaultDomain, Entry{Purpose: "x"})
	require.NoError(t, err)
	assert.Empty(t, refs, "restricted to a domain")
	_, err = v.Reveal(ctx, []string{"R1"}, "nope", Entry{Purpose: "x"})
	require.ErrorIs(t, err, ErrNoDomain)

	// The log never holds an identifier.
	es, err := v.Entries()
	require.NoError(t, err)
	for _, e := range es {
		assert.NotContains(t, fmt.Sprint(e.Details, e.Purpose, e.Actor), "2492000000")
	}

	// If the entry cannot be written, nothing is revealed.
	mustExec(t, rawDB(t, path), `UPDATE meta SET value = randomblob(32) WHERE key = 'log_head_mac'`)
	refs, err = v.Reveal(ctx, []string{"K2"}, "", Entry{Purpose: "x"})
	require.ErrorIs(t, err, ErrLogTampered)
	assert.Nil(t, refs)
}

func TestManyCodesAreSummarisedInTheLog(t *testing.T) {
	v, _ := newVault(t)
	codes := make([]string, maxLoggedCodes+5)
	for i := range codes {
		codes[i] = fmt.Sprintf("C%d", i)
	}
	_, err := v.Reveal(t.Context(), codes, "", Entry{Purpose: "bulk"})
	require.NoError(t, err)
	e := lastEntry(t, v)
	assert.Len(t, e.Details["codes"], maxLoggedCodes)
	assert.Equal(t, jsonNumber(fmt.Sprint(len(codes))), e.Details["codes_count"])
	assert.Len(t, e.Details["codes_sha256"], 64)
}

func TestTxResolve(t *testing.T) {
	v, _ := withdrawalVault(t)
	tx, err := v.Begin(t.Context(), "survey")
	require.NoError(t, err)
	defer tx.Rollback()
	r, err := tx.Resolve(DefaultDomain, "K2")
	require.NoError(t, err)
	assert.Equal(t, LinkRef{Domain: DefaultDomain, Code: "K2", Kind: "nid", State: LinkActive, Identifier: synthNID(2)}, r)
	_, err = tx.Resolve(DefaultDomain, "K9")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = tx.Resolve("nope", "K9")
	require.ErrorIs(t, err, ErrNoDomain)
	// It sees the transaction's own links.
	_, err = tx.Assign("nid", synthNID(2), "R2")
	require.NoError(t, err)
	r, err = tx.Resolve("survey", "R2")
	require.NoError(t, err)
	assert.Equal(t, synthNID(2), r.Identifier)
}

// No error of the new operations contains the identifier.
func TestErrorsNeverContainIdentifiers(t *testing.T) {
	v, path := withdrawalVault(t)
	id := synthNID(1)
	ctx := context.Background()
	// Damage the sealed identifier so that decryption fails, then make
	// every operation that touches the person fail.
	editLink(t, rawDB(t, path), "K1", func(r *linkRec) {
		r.sealed = bytes.Repeat([]byte{7}, len(r.sealed))
	})
	var errs []error
	_, err := v.FindCode("K1")
	errs = append(errs, err)
	_, err = v.Reveal(ctx, []string{"K1"}, "", Entry{Purpose: "x"})
	errs = append(errs, err)
	_, err = v.Verify(ctx, VerifyOptions{})
	errs = append(errs, err)
	_, err = v.Withdraw(ctx, []Person{{"nid", id}}, Entry{Purpose: id})
	errs = append(errs, err)
	_, err = v.Withdraw(ctx, []Person{{"nid", strings.Repeat(id, 400)}}, Entry{})
	errs = append(errs, err)
	_, _, err = v.FindPerson("NID", id)
	errs = append(errs, err)
	_, err = v.Withdrawn("nid", "")
	errs = append(errs, err)
	tx, err := v.Begin(ctx, DefaultDomain)
	require.NoError(t, err)
	r, err := tx.Resolve(DefaultDomain, "K1")
	errs = append(errs, err)
	tx.Rollback()
	assert.Empty(t, r.Identifier)
	// Conflicts with stored links are found when the batch is written.
	for _, l := range []struct{ id, code string }{{synthNID(2), "K1"}, {id, "K7"}} {
		tx, err := v.Begin(ctx, DefaultDomain)
		require.NoError(t, err)
		require.NoError(t, tx.Link("nid", l.id, l.code))
		errs = append(errs, tx.Commit(Entry{Action: "pseudonymize"}))
	}
	for i, err := range errs {
		require.Error(t, err, "case %d", i)
		assert.NotContains(t, err.Error(), id, "case %d", i)
		assert.NotContains(t, err.Error(), synthNID(2), "case %d", i)
	}
	assert.ErrorIs(t, errs[0], ErrCorrupt)
	assert.ErrorIs(t, errs[2], ErrCorrupt)
}
