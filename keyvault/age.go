package keyvault

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"filippo.io/age"
	"filippo.io/age/plugin"
)

// Key slot types.
const (
	// SlotAgeX25519 is a key slot wrapped to an age X25519 recipient
	// ("age1..."), opened with the matching identity ("AGE-SECRET-KEY-1...").
	SlotAgeX25519 = "age-x25519"
	// SlotAgeHybrid is a key slot wrapped to an age post-quantum hybrid
	// (ML-KEM-768 + X25519) recipient ("age1pq1..."), opened with the
	// matching identity ("AGE-SECRET-KEY-PQ-1...").
	SlotAgeHybrid = "age-hybrid"
	// SlotAgePlugin is a key slot wrapped to an age plugin recipient
	// ("age1NAME1...", for example "age1yubikey1..." for a YubiKey through
	// age-plugin-yubikey), opened with the plugin's identity
	// ("AGE-PLUGIN-NAME-1..."). Wrapping and unwrapping run the program
	// age-plugin-NAME, which must be on the PATH.
	SlotAgePlugin = "age-plugin"
)

func isAgeSlot(typ string) bool {
	return typ == SlotAgeX25519 || typ == SlotAgeHybrid || typ == SlotAgePlugin
}

// ParseRecipient parses an age recipient string and returns the recipient
// with the type of key slot it makes: "age1..." ([SlotAgeX25519]),
// "age1pq1..." ([SlotAgeHybrid]) or "age1NAME1..." for the age plugin NAME
// ([SlotAgePlugin]; ui, which may be nil, receives the plugin's messages
// and requests when it runs). The error does not repeat the string.
func ParseRecipient(s string, ui *plugin.ClientUI) (age.Recipient, string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(strings.ToLower(s), "age1") || len(s) > 4096 {
		return nil, "", invalidf("not an age recipient (want age1...)")
	}
	if strings.HasPrefix(strings.ToLower(s), "age1pq1") {
		r, err := age.ParseHybridRecipient(s)
		if err != nil {
			return nil, "", invalidf("malformed age post-quantum recipient")
		}
		return r, SlotAgeHybrid, nil
	}
	if r, err := age.ParseX25519Recipient(s); err == nil {
		return r, SlotAgeX25519, nil
	}
	if _, _, err := plugin.ParseRecipient(s); err != nil {
		return nil, "", invalidf("malformed age recipient")
	}
	r, err := plugin.NewRecipient(s, uiOrDefault(ui))
	if err != nil {
		return nil, "", invalidf("malformed age plugin recipient")
	}
	return r, SlotAgePlugin, nil
}

// ParseIdentities reads an age identity file: one identity per line,
// blank lines and lines starting with '#' ignored (the format age-keygen
// and age plugins such as age-plugin-yubikey write). It accepts X25519
// ("AGE-SECRET-KEY-1..."), post-quantum hybrid ("AGE-SECRET-KEY-PQ-1...")
// and plugin identities ("AGE-PLUGIN-NAME-1..."); ui (may be nil) handles
// a plugin's requests, such as a PIN or a touch of a hardware token.
// Errors name the line, never its content.
func ParseIdentities(r io.Reader, ui *plugin.ClientUI) ([]age.Identity, error) {
	const limit = 1 << 20
	lr := &io.LimitedReader{R: r, N: limit + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 4096), limit)
	var ids []age.Identity
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !utf8.ValidString(line) {
			return nil, invalidf("identity file line %d: not UTF-8", n)
		}
		var id age.Identity
		var err error
		switch {
		case strings.HasPrefix(line, "AGE-SECRET-KEY-PQ-1"):
			id, err = age.ParseHybridIdentity(line)
		case strings.HasPrefix(line, "AGE-SECRET-KEY-1"):
			id, err = age.ParseX25519Identity(line)
		case strings.HasPrefix(line, "AGE-PLUGIN-"):
			id, err = plugin.NewIdentity(line, uiOrDefault(ui))
		default:
			err = errors.New("unknown")
		}
		if err != nil {
			// Never quote the line: it is a private key.
			return nil, invalidf("identity file line %d: not an age identity (want AGE-SECRET-KEY-1..., AGE-SECRET-KEY-PQ-1... or AGE-PLUGIN-...)", n)
		}
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil || lr.N == 0 {
		return nil, invalidf("identity file is unreadable or longer than 1 MiB")
	}
	if len(ids) == 0 {
		return nil, invalidf("identity file holds no identity")
	}
	return ids, nil
}

// uiOrDefault returns ui, or a UI that refuses every request (a plugin that
// needs a PIN then fails instead of hanging).
func uiOrDefault(ui *plugin.ClientUI) *plugin.ClientUI {
	if ui != nil {
		return ui
	}
	return &plugin.ClientUI{}
}

// pluginName returns the plugin name of an "age1NAME1..." recipient, or "".
func pluginName(recipient string) string {
	name, _, err := plugin.ParseRecipient(recipient)
	if err != nil {
		return ""
	}
	return name
}

// agePayload is what an age slot encrypts: S || slot AD, so that the slot
// is bound to its vault, id and type like a passphrase slot.
func agePayload(secret, vaultID []byte, id int64, typ string) []byte {
	return append(bytes.Clone(secret), slotAD(vaultID, id, typ)...)
}

// wrapAge encrypts the secret to r as an age file (binary, not armoured).
func wrapAge(r age.Recipient, secret, vaultID []byte, id int64, typ string) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, err
	}
	p := agePayload(secret, vaultID, id, typ)
	defer clear(p)
	if _, err := w.Write(p); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if buf.Len() > maxAgeSlotLen {
		return nil, invalidf("the recipient's wrapped key has %d bytes (at most %d)", buf.Len(), maxAgeSlotLen)
	}
	return buf.Bytes(), nil
}

// identitiesFor returns the identities worth trying on slot s: plugin
// identities only for plugin slots of the same plugin (each try runs the
// plugin, which may ask for a PIN or a touch), native ones only for native
// slots.
func identitiesFor(s *slotRow, ids []age.Identity) []age.Identity {
	var out []age.Identity
	want := ""
	if s.typ == SlotAgePlugin {
		want = pluginName(s.recipient.String)
		if want == "" {
			return nil
		}
	}
	for _, id := range ids {
		p, isPlugin := id.(*plugin.Identity)
		switch {
		case s.typ == SlotAgePlugin && isPlugin && p.Name() == want:
			out = append(out, id)
		case s.typ != SlotAgePlugin && !isPlugin:
			out = append(out, id)
		}
	}
	return out
}

// openAge unwraps an age slot with identities. It returns errSlotNotOpened
// if no identity matches; other errors (a plugin that is missing or
// fails) are returned as they are.
func (s *slotRow) openAge(vaultID []byte, ids []age.Identity) ([]byte, error) {
	ids = identitiesFor(s, ids)
	if len(ids) == 0 {
		return nil, errSlotNotOpened
	}
	rd, err := age.Decrypt(bytes.NewReader(s.wrapped), ids...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) || errors.Is(err, age.ErrIncorrectIdentity) {
			return nil, errSlotNotOpened
		}
		var nf *plugin.NotFoundError
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("age plugin %q is not installed (age-plugin-%s must be on the PATH): %w", nf.Name, nf.Name, err)
		}
		if s.typ == SlotAgePlugin {
			return nil, fmt.Errorf("age plugin: %w", err)
		}
		return nil, errSlotNotOpened // a damaged slot looks like a wrong key
	}
	p, err := io.ReadAll(io.LimitReader(rd, 4096))
	if err != nil {
		return nil, errSlotNotOpened
	}
	defer clear(p)
	ad := slotAD(vaultID, s.id, s.typ)
	if len(p) != secretLen+len(ad) || !bytes.Equal(p[secretLen:], ad) {
		return nil, errSlotNotOpened
	}
	return bytes.Clone(p[:secretLen]), nil
}
