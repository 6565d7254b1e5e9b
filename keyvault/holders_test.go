package keyvault

import (
	"context"
	"errors"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/plugin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func openWith(t *testing.T, path string, c Credentials) (*Vault, error) {
	t.Helper()
	v, err := OpenWith(context.Background(), path, c, "tester")
	if err == nil {
		t.Cleanup(func() { v.Close() })
	}
	return v, err
}

func identities(t *testing.T, lines ...string) []age.Identity {
	t.Helper()
	ids, err := ParseIdentities(strings.NewReader(strings.Join(lines, "\n")), nil)
	require.NoError(t, err)
	return ids
}

func lastEntry(t *testing.T, v *Vault) Entry {
	t.Helper()
	es, err := v.Entries()
	require.NoError(t, err)
	return es[len(es)-1]
}

func TestPassphraseHolders(t *testing.T) {
	v, path := newVault(t)
	ctx := t.Context()
	second := []byte("second holder's passphrase")
	si, err := v.AddPassphrase(ctx, second, "deputy", nil, Entry{Purpose: "holiday cover"})
	require.NoError(t, err)
	assert.Equal(t, int64(2), si.ID)
	assert.Equal(t, DefaultKDF, si.KDF, "lowered DefaultKDF is used without calibration")
	e := lastEntry(t, v)
	assert.Equal(t, "holder-add", e.Action)
	assert.Equal(t, "holiday cover", e.Purpose)
	assert.Equal(t, "deputy", e.Details["label"])

	v2, err := openWith(t, path, Credentials{Passphrase: second})
	require.NoError(t, err)
	assert.Equal(t, int64(2), v2.UnlockedWith().ID)
	assert.Equal(t, "deputy", v2.UnlockedWith().Label)
	v2.Close()

	h, err := v.FindHolder("deputy")
	require.NoError(t, err)
	assert.Equal(t, int64(2), h.ID)
	h, err = v.FindHolder("1")
	require.NoError(t, err)
	assert.Equal(t, SlotPassphrase, h.Label)
	_, err = v.FindHolder("nobody")
	require.ErrorIs(t, err, ErrNoSlot)

	// Remove the first holder: the second still opens, the first not;
	// the links are untouched.
	tx, err := v.Begin(ctx, DefaultDomain)
	require.NoError(t, err)
	require.NoError(t, tx.Link("nid", synthNID(1), "K1"))
	commit(t, tx)
	require.NoError(t, v.RemoveHolder(ctx, 1, Entry{Purpose: "left the project"}))
	assert.Equal(t, "holder-remove", lastEntry(t, v).Action)
	_, err = Open(path, testPass, "tester")
	require.ErrorIs(t, err, ErrWrongPassphrase)
	v2, err = openWith(t, path, Credentials{Passphrase: second})
	require.NoError(t, err)
	code, found, err := v2.Lookup(DefaultDomain, "nid", synthNID(1))
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "K1", code)
	v2.Close()

	// The last holder stays; ids are never reused.
	require.ErrorIs(t, v.RemoveHolder(ctx, 2, Entry{}), ErrLastHolder)
	require.ErrorIs(t, v.RemoveHolder(ctx, 7, Entry{}), ErrNoSlot)
	si, err = v.AddPassphrase(ctx, []byte("third"), "third", nil, Entry{})
	require.NoError(t, err)
	assert.Equal(t, int64(3), si.ID)
	require.NoError(t, v.RemoveHolder(ctx, 3, Entry{}))
	si, err = v.AddPassphrase(ctx, []byte("fourth"), "fourth", nil, Entry{})
	require.NoError(t, err)
	assert.Equal(t, int64(4), si.ID, "slot ids are never reused")
	require.NoError(t, v.VerifyLog())
}

func TestHolderArguments(t *testing.T) {
	v, _ := newVault(t)
	ctx := t.Context()
	for _, tt := range []struct {
		name  string
		label string
		pass  string
		kdf   *KDFParams
		err   error
	}{
		{"numeric label", "12", "p", nil, ErrInvalid},
		{"identity number in label", "key of 24920000001", "p", nil, ErrLooksLikeIdentifier},
		{"blank label", "  ", "p", nil, ErrInvalid},
		{"empty passphrase", "x", "", nil, ErrInvalid},
		{"weak explicit kdf", "x", "p", &KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, ErrInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.AddPassphrase(ctx, []byte(tt.pass), tt.label, tt.kdf, Entry{})
			require.ErrorIs(t, err, tt.err)
			assert.NotContains(t, err.Error(), "24920000001")
		})
	}
	_, err := v.AddRecipient(ctx, "AGE-SECRET-KEY-1XYZ", "", nil, Entry{})
	require.ErrorIs(t, err, ErrInvalid)
	assert.NotContains(t, err.Error(), "XYZ", "a private key pasted as a recipient is not echoed")
	_, err = v.ChangePassphrase(ctx, 9, []byte("x"), nil, Entry{})
	require.ErrorIs(t, err, ErrNoSlot)
}

func TestChangePassphrase(t *testing.T) {
	v, path := newVault(t)
	si, err := v.ChangePassphrase(t.Context(), 1, []byte("new words"), nil, Entry{Purpose: "rotation"})
	require.NoError(t, err)
	assert.Equal(t, int64(1), si.ID)
	assert.Equal(t, "holder-passwd", lastEntry(t, v).Action)
	_, err = Open(path, testPass, "tester")
	require.ErrorIs(t, err, ErrWrongPassphrase)
	v2, err := openWith(t, path, Credentials{Passphrase: []byte("new words")})
	require.NoError(t, err)
	assert.Equal(t, int64(1), v2.UnlockedWith().ID)

	r, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	si, err = v2.AddRecipient(t.Context(), r.Recipient().String(), "", nil, Entry{})
	require.NoError(t, err)
	_, err = v2.ChangePassphrase(t.Context(), si.ID, []byte("x"), nil, Entry{})
	require.ErrorIs(t, err, ErrInvalid, "an age slot has no passphrase")
}

func TestAgeHolders(t *testing.T) {
	x, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	pq, err := age.GenerateHybridIdentity()
	require.NoError(t, err)
	other, err := age.GenerateX25519Identity()
	require.NoError(t, err)

	for _, tt := range []struct {
		name      string
		recipient string
		identity  string
		typ       string
	}{
		{"x25519", x.Recipient().String(), x.String(), SlotAgeX25519},
		{"hybrid", pq.Recipient().String(), pq.String(), SlotAgeHybrid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, path := newVault(t)
			si, err := v.AddRecipient(t.Context(), tt.recipient, "laptop key", nil, Entry{Purpose: "second holder"})
			require.NoError(t, err)
			assert.Equal(t, tt.typ, si.Type)
			assert.Equal(t, tt.recipient, si.Recipient)
			e := lastEntry(t, v)
			assert.Equal(t, "holder-add", e.Action)
			assert.Equal(t, tt.recipient, e.Details["recipient"])
			_, err = v.AddRecipient(t.Context(), tt.recipient, "again", nil, Entry{})
			require.ErrorIs(t, err, ErrInvalid, "one slot per recipient")

			// The identity unlocks; the unlock entry names the slot type.
			v2, err := openWith(t, path, Credentials{Identities: identities(t, "# a comment", "", tt.identity)})
			require.NoError(t, err)
			assert.Equal(t, si.ID, v2.UnlockedWith().ID)
			e = lastEntry(t, v2)
			assert.Equal(t, "unlock", e.Action)
			assert.Equal(t, tt.typ, e.Details["slot_type"])
			secret := append([]byte(nil), v2.k.secret...)
			assert.Equal(t, v.k.secret, secret, "the age slot wraps the same project secret")
			v2.Close()

			// Another identity does not, and the failure is recorded.
			_, err = openWith(t, path, Credentials{Identities: identities(t, other.String())})
			require.ErrorIs(t, err, ErrWrongPassphrase)
			v3 := reopen(t, path)
			es, err := v3.Entries()
			require.NoError(t, err)
			assert.Equal(t, "unlock-failed", es[len(es)-2].Action)
			assert.Equal(t, "no age slot opened", es[len(es)-2].Details["reason"])

			// A passphrase and an identity together: either may open.
			_, err = openWith(t, path, Credentials{Passphrase: []byte("wrong"), Identities: identities(t, tt.identity)})
			require.NoError(t, err)
		})
	}
}

func TestAgeSlotIsBound(t *testing.T) {
	x, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	v1, p1 := newVault(t)
	_, err = v1.AddRecipient(t.Context(), x.Recipient().String(), "", nil, Entry{})
	require.NoError(t, err)
	v2, p2 := newVault(t)
	_, err = v2.AddRecipient(t.Context(), x.Recipient().String(), "", nil, Entry{})
	require.NoError(t, err)
	v1.Close()
	v2.Close()
	// Moving a slot to another vault (or another id) makes it fail: the
	// vault id, slot id and type are bound into the payload.
	var w1 []byte
	require.NoError(t, rawDB(t, p1).QueryRow(`SELECT wrapped FROM slots WHERE id = 2`).Scan(&w1))
	mustExec(t, rawDB(t, p2), `UPDATE slots SET wrapped = ? WHERE id = 2`, w1)
	_, err = openWith(t, p2, Credentials{Identities: identities(t, x.String())})
	require.ErrorIs(t, err, ErrWrongPassphrase)
	mustExec(t, rawDB(t, p1), `UPDATE slots SET id = 5 WHERE id = 2`)
	_, err = openWith(t, p1, Credentials{Identities: identities(t, x.String())})
	require.ErrorIs(t, err, ErrWrongPassphrase)
}

// Anyone who knows a holder's public recipient can wrap a secret of their
// own choosing to it. Such a planted slot must not take precedence over the
// real one.
func TestPlantedAgeSlotIsNotPreferred(t *testing.T) {
	x, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	v, path := newVault(t)
	_, err = v.AddRecipient(t.Context(), x.Recipient().String(), "", nil, Entry{})
	require.NoError(t, err)
	vaultID := append([]byte(nil), v.vaultID...)
	v.Close()
	forged := randomBytes(secretLen)
	wrapped, err := wrapAge(x.Recipient(), forged, vaultID, 0, SlotAgeX25519)
	require.NoError(t, err)
	mustExec(t, rawDB(t, path), `INSERT INTO slots (id, type, label, created, recipient, wrapped) VALUES (0, ?, 'planted', '2025-01-01T00:00:00.000Z', ?, ?)`,
		SlotAgeX25519, x.Recipient().String(), wrapped)
	v2, err := openWith(t, path, Credentials{Identities: identities(t, x.String())})
	require.NoError(t, err)
	assert.Equal(t, int64(2), v2.UnlockedWith().ID)
	rep, err := v2.Verify(t.Context(), VerifyOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, rep.Slots)
}

func TestParseIdentities(t *testing.T) {
	x, _ := age.GenerateX25519Identity()
	pq, _ := age.GenerateHybridIdentity()
	pl := plugin.EncodeIdentity("yubikey", []byte("some token data"))
	ids, err := ParseIdentities(strings.NewReader("# created: today\n"+x.String()+"\n\n"+pq.String()+"\r\n"+pl+"\n"), nil)
	require.NoError(t, err)
	require.Len(t, ids, 3)
	assert.IsType(t, &age.X25519Identity{}, ids[0])
	assert.IsType(t, &age.HybridIdentity{}, ids[1])
	require.IsType(t, &plugin.Identity{}, ids[2])
	assert.Equal(t, "yubikey", ids[2].(*plugin.Identity).Name())

	secretLine := "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQ"
	for _, bad := range []string{"", "# only a comment\n", "garbage\n", secretLine + "\n", "age1notanidentity\n"} {
		_, err := ParseIdentities(strings.NewReader(bad), nil)
		require.ErrorIs(t, err, ErrInvalid, "%q", bad)
		assert.NotContains(t, err.Error(), "QQQQ", "the error never quotes a private key")
	}

	for _, tt := range []struct {
		r   string
		typ string
	}{
		{x.Recipient().String(), SlotAgeX25519},
		{pq.Recipient().String(), SlotAgeHybrid},
		{plugin.EncodeRecipient("yubikey", []byte("token")), SlotAgePlugin},
	} {
		_, typ, err := ParseRecipient(tt.r, nil)
		require.NoError(t, err)
		assert.Equal(t, tt.typ, typ)
	}
	for _, bad := range []string{"", "age1", "age1qqqqq", "ssh-ed25519 AAAA", x.String()} {
		_, _, err := ParseRecipient(bad, nil)
		require.ErrorIs(t, err, ErrInvalid, "%q", bad)
	}
}

func TestAgePlugin(t *testing.T) {
	recipient, identity := installTestPlugin(t)
	v, path := newVault(t)
	si, err := v.AddRecipient(t.Context(), recipient, "token", nil, Entry{Purpose: "hardware token"})
	require.NoError(t, err)
	assert.Equal(t, SlotAgePlugin, si.Type)
	assert.Equal(t, testPluginName, si.Plugin)
	in, err := v.Info()
	require.NoError(t, err)
	assert.Equal(t, testPluginName, in.Slots[1].Plugin)

	// Unlock through the plugin, which asks for a PIN like a token.
	t.Setenv("PKTEST_PIN", "123456")
	var prompts []string
	ui := &plugin.ClientUI{RequestValue: func(name, prompt string, secret bool) (string, error) {
		prompts = append(prompts, name+": "+prompt)
		return "123456", nil
	}}
	ids, err := ParseIdentities(strings.NewReader(identity+"\n"), ui)
	require.NoError(t, err)
	v2, err := openWith(t, path, Credentials{Identities: ids})
	require.NoError(t, err)
	assert.Equal(t, si.ID, v2.UnlockedWith().ID)
	assert.Equal(t, []string{"pktest: Enter the PIN of the pktest token"}, prompts)
	assert.Equal(t, SlotAgePlugin, lastEntry(t, v2).Details["slot_type"])
	v2.Close()

	// A wrong PIN is a plugin failure (not a wrong passphrase), recorded
	// as a failed unlock.
	ui.RequestValue = func(string, string, bool) (string, error) { return "000000", nil }
	_, err = openWith(t, path, Credentials{Identities: ids})
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrWrongPassphrase)
	assert.Contains(t, err.Error(), "wrong PIN")

	// Without the plugin program: a clear error naming it.
	t.Setenv("PATH", t.TempDir())
	_, err = openWith(t, path, Credentials{Identities: ids})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `age plugin "pktest" is not installed`)
	var nf *plugin.NotFoundError
	assert.True(t, errors.As(err, &nf))
	_, err = v.AddRecipient(t.Context(), plugin.EncodeRecipient("pktest", make([]byte, 32)), "", nil, Entry{})
	assert.ErrorAs(t, err, &nf)

	// Identities of another plugin are not even tried on this slot (no
	// program runs, so no error but "wrong key").
	other := plugin.EncodeIdentity("othertoken", []byte("x"))
	_, err = openWith(t, path, Credentials{Identities: identities(t, other)})
	require.ErrorIs(t, err, ErrWrongPassphrase)

	v3 := reopen(t, path)
	es, err := v3.Entries()
	require.NoError(t, err)
	reasons := map[any]int{}
	for _, e := range es {
		if e.Action == "unlock-failed" {
			reasons[e.Details["reason"]]++
		}
	}
	assert.Equal(t, map[any]int{"age plugin failed": 2, "no age slot opened": 1}, reasons)
}
