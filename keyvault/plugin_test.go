package keyvault

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"filippo.io/age"
	"filippo.io/age/plugin"
	"golang.org/x/crypto/chacha20poly1305"
)

// The test plugin "pktest" stands in for a hardware-token plugin such as
// age-plugin-yubikey: the test binary, run through a symbolic link named
// age-plugin-pktest, speaks the real age plugin protocol (package
// filippo.io/age/plugin). Its recipient and identity both carry a 32-byte
// symmetric key (a toy: a real token keeps its key inside); with
// PKTEST_PIN set, unwrapping first asks the client for that PIN, like a
// token does.

const testPluginName = "pktest"

type symRecipient struct{ key []byte }

func (r *symRecipient) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	aead, err := chacha20poly1305.NewX(r.key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	rand.Read(nonce)
	return []*age.Stanza{{
		Type: testPluginName,
		Args: []string{base64.RawStdEncoding.EncodeToString(nonce)},
		Body: aead.Seal(nil, nonce, fileKey, nil),
	}}, nil
}

type symIdentity struct {
	key []byte
	p   *plugin.Plugin
}

func (i *symIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	if want := os.Getenv("PKTEST_PIN"); want != "" {
		pin, err := i.p.RequestValue("Enter the PIN of the pktest token", true)
		if err != nil {
			return nil, err
		}
		if pin != want {
			return nil, errors.New("wrong PIN")
		}
	}
	aead, err := chacha20poly1305.NewX(i.key)
	if err != nil {
		return nil, err
	}
	for _, s := range stanzas {
		if s.Type != testPluginName || len(s.Args) != 1 {
			continue
		}
		nonce, err := base64.RawStdEncoding.DecodeString(s.Args[0])
		if err != nil || len(nonce) != aead.NonceSize() {
			continue
		}
		if fk, err := aead.Open(nil, nonce, s.Body, nil); err == nil {
			return fk, nil
		}
	}
	return nil, age.ErrIncorrectIdentity
}

// runTestPlugin is main() of age-plugin-pktest.
func runTestPlugin() int {
	p, err := plugin.New(testPluginName)
	if err != nil {
		return 1
	}
	fs := flag.NewFlagSet("age-plugin-pktest", flag.ContinueOnError)
	p.RegisterFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	p.HandleRecipient(func(data []byte) (age.Recipient, error) {
		if len(data) != 32 {
			return nil, errors.New("bad pktest recipient")
		}
		return &symRecipient{key: data}, nil
	})
	p.HandleIdentity(func(data []byte) (age.Identity, error) {
		if len(data) != 32 {
			return nil, errors.New("bad pktest identity")
		}
		return &symIdentity{key: data, p: p}, nil
	})
	return p.Main()
}

// installTestPlugin puts age-plugin-pktest on the PATH and returns a new
// recipient and the matching identity line.
func installTestPlugin(t *testing.T) (recipient, identity string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the test plugin is a symbolic link to the test binary")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(exe, filepath.Join(dir, "age-plugin-"+testPluginName)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	key := make([]byte, 32)
	rand.Read(key)
	return plugin.EncodeRecipient(testPluginName, key), plugin.EncodeIdentity(testPluginName, key)
}
