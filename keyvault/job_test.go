package keyvault

import (
	"bytes"
	"io"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGrantJob(t *testing.T) {
	v, _ := withdrawalVault(t)
	ctx := t.Context()
	_, err := v.Withdraw(ctx, []Person{{"nid", synthNID(2)}}, Entry{Purpose: "case 7"})
	require.NoError(t, err)

	_, err = v.GrantJob(ctx, DefaultDomain, Entry{})
	require.ErrorIs(t, err, ErrInvalid, "a grant needs a purpose")
	_, err = v.GrantJob(ctx, "survey", Entry{Purpose: "x"})
	require.ErrorIs(t, err, ErrWrongScheme, "random-code domains cannot be granted")
	_, err = v.GrantJob(ctx, "nope", Entry{Purpose: "x"})
	require.Error(t, err)

	g, err := v.GrantJob(ctx, DefaultDomain, Entry{Purpose: "registry extract 2026", Details: map[string]any{"workers": 1}})
	require.NoError(t, err)
	assert.True(t, validJobID(g.Job), g.Job)
	secret, err := v.DomainSecret(DefaultDomain)
	require.NoError(t, err)
	assert.Equal(t, secret, g.DomainSecret)
	assert.Equal(t, []string{"K2"}, g.Withdrawn)
	assert.Equal(t, "Test project", g.Project)
	e := lastEntry(t, v)
	assert.Equal(t, "job", e.Action)
	assert.Equal(t, "registry extract 2026", e.Purpose)
	assert.Equal(t, g.Job, e.Details["job"])
	assert.Equal(t, DefaultDomain, e.Details["domain"])
	assert.NotContains(t, e.Details, "secret")

	// The recipient is the job identity's, and records sealed to it open
	// with that identity only.
	id, err := v.JobIdentity(g.Job)
	require.NoError(t, err)
	assert.Equal(t, g.LinkRecipient, id.Recipient().String())
	r, err := age.ParseX25519Recipient(g.LinkRecipient)
	require.NoError(t, err)
	var sealed bytes.Buffer
	w, err := age.Encrypt(&sealed, r)
	require.NoError(t, err)
	_, err = io.WriteString(w, "link records")
	require.NoError(t, err)
	require.NoError(t, w.Close())
	out, err := age.Decrypt(bytes.NewReader(sealed.Bytes()), id)
	require.NoError(t, err)
	b, err := io.ReadAll(out)
	require.NoError(t, err)
	assert.Equal(t, "link records", string(b))

	// Another job, or the same job id in another vault, has another key.
	g2, err := v.GrantJob(ctx, DefaultDomain, Entry{Purpose: "second"})
	require.NoError(t, err)
	assert.NotEqual(t, g.Job, g2.Job)
	assert.NotEqual(t, g.LinkRecipient, g2.LinkRecipient)
	other, _ := newVault(t)
	oid, err := other.JobIdentity(g.Job)
	require.NoError(t, err)
	assert.NotEqual(t, g.LinkRecipient, oid.Recipient().String())
	_, err = age.Decrypt(bytes.NewReader(sealed.Bytes()), oid)
	require.Error(t, err)

	for _, bad := range []string{"", "J", "K" + g.Job[1:], g.Job + "0", "J" + "ABCDEF0123456789abcdef0123"} {
		_, err := v.JobIdentity(bad)
		assert.ErrorIs(t, err, ErrInvalid, bad)
	}
}

// TestBech32 checks the encoder against BIP 173's example for an empty
// payload and against age's own parser (which verifies the checksum).
func TestBech32(t *testing.T) {
	s, err := bech32Encode("a", nil)
	require.NoError(t, err)
	assert.Equal(t, "a12uel5l", s)
	s, err = bech32Encode("abcdef", []byte{0x00, 0x44, 0x32, 0x14, 0xc7, 0x42, 0x54, 0xb6, 0x35, 0xcf, 0x84, 0x65, 0x3a, 0x56, 0xd7, 0xc6, 0x75, 0xbe, 0x77, 0xdf})
	require.NoError(t, err)
	assert.Equal(t, "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", s)
}
