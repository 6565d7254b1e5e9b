package job

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"

	"filippo.io/age"

	"github.com/pseudokit/pseudokit/keyvault"
)

// fuzzIdentity is a fixed key, so that seeds sealed to it stay valid.
const fuzzIdentity = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"

// FuzzReadLinks: any bytes as a link file give records or an error, never a
// panic; a valid file reads back what was written.
func FuzzReadLinks(f *testing.F) {
	id, err := age.ParseX25519Identity(fuzzIdentity)
	if err != nil {
		f.Fatal(err)
	}
	g := &keyvault.Grant{Job: "J00000000000000000000000000", VaultID: "00", Domain: "default", LinkRecipient: id.Recipient().String()}
	var b bytes.Buffer
	lw, _ := NewLinkWriter(&b, g)
	lw.Link("nid", "12345678901", "K1")
	lw.Link("email", "a\nb\"c@d", "K2")
	lw.Close()
	f.Add(b.Bytes())
	f.Add([]byte("pseudokit-links/1 00 J0 default\n"))
	f.Add([]byte("pseudokit-links/1 00 J0 default\nage-encryption.org/v1\n-> X25519 abc\n--- def\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		if _, err := ReadLinkHeader(br); err != nil {
			return
		}
		var n int64
		got, err := ReadLinks(br, id, func(kind, canonical, code string) error {
			n++
			if kind == "" || canonical == "" || code == "" {
				t.Fatal("empty field accepted")
			}
			return nil
		})
		if err == nil && got != n {
			t.Fatalf("read %d records, called back %d times", got, n)
		}
	})
}

// FuzzReadGrant: any bytes as a grant file give a checked grant or an
// error, never a panic.
func FuzzReadGrant(f *testing.F) {
	id, err := age.ParseX25519Identity(fuzzIdentity)
	if err != nil {
		f.Fatal(err)
	}
	g := &keyvault.Grant{Job: "J00000000000000000000000000", VaultID: "00", Domain: "default",
		DomainSecret: bytes.Repeat([]byte{1}, 32), LinkRecipient: id.Recipient().String(), Withdrawn: []string{"K1"}}
	var b bytes.Buffer
	if err := WriteGrant(&b, g, id.Recipient()); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte("age-encryption.org/v1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ReadGrant(bytes.NewReader(data), id)
		if err != nil {
			return
		}
		if len(got.DomainSecret) != 32 || got.Domain == "" || got.Job == "" {
			t.Fatalf("an unchecked grant was accepted: %+v", got)
		}
	})
}

// FuzzDecodeRecord: the fast decoder of link records agrees with
// encoding/json on every line, valid or not.
func FuzzDecodeRecord(f *testing.F) {
	for _, r := range []record{
		{"nid", "K1", "12345678901"},
		{"email", "K2", `a"b\c@d`},
		{"name", "K3", "Kari\nNordmann <&>"},
		{"name", "K4", "Åse Ørnulf"},
		{"name", "K5", "\xff\xfe"},
	} {
		b, _ := json.Marshal(r)
		f.Add(b)
	}
	f.Add([]byte(`{"k":"a","c":"b","i":"c"} `))
	f.Add([]byte(`{"k":"a","c":"b","i":"c","x":1}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var fast, slow record
		errFast := decodeRecord(line, &fast)
		errSlow := json.Unmarshal(line, &slow)
		if (errFast == nil) != (errSlow == nil) || fast != slow {
			t.Fatalf("decodeRecord %+v (%v), encoding/json %+v (%v)", fast, errFast, slow, errSlow)
		}
	})
}
