package keyvault

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"

	"golang.org/x/crypto/chacha20poly1305"
)

// HKDF info labels of the key hierarchy (docs/design.md).
const (
	labelDomainPrefix = "pseudokit/v1/domain/"
	labelLinkSeal     = "pseudokit/v1/link-seal"
	labelLinkIndex    = "pseudokit/v1/link-index"
	labelLogMAC       = "pseudokit/v1/log-mac"
)

// Domain-separation prefixes of the other hashes and associated data.
const (
	adSlot      = "pseudokit/v1/slot\x00"
	hashEntry   = "pseudokit/v1/log-entry\x00"
	hashGenesis = "pseudokit/v1/log-genesis\x00"
	macHead     = "pseudokit/v1/log-head\x00"
)

const (
	secretLen = 32
	nonceLen  = chacha20poly1305.NonceSizeX // 24
	idxLen    = sha256.Size
	sealPad   = 32 // sealed identifiers are padded to a multiple of this
)

// deriveKey derives a 32-byte key from the project secret with HKDF-SHA256
// (empty salt) and the given info label.
func deriveKey(secret []byte, label string) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, label, keyLen)
	if err != nil { // only for absurd lengths
		panic(err)
	}
	return k
}

// keys holds the secrets of an unlocked vault.
type keys struct {
	secret []byte // project secret S
	seal   []byte
	index  []byte
	logMAC []byte
	aead   cipher.AEAD // XChaCha20-Poly1305 under seal
}

func newKeys(secret []byte) *keys {
	k := &keys{
		secret: secret,
		seal:   deriveKey(secret, labelLinkSeal),
		index:  deriveKey(secret, labelLinkIndex),
		logMAC: deriveKey(secret, labelLogMAC),
	}
	aead, err := chacha20poly1305.NewX(k.seal)
	if err != nil {
		panic(err) // key length is fixed
	}
	k.aead = aead
	return k
}

// wipe zeroes the key material (best effort: the AEAD keeps its own copy of
// the sealing key, which Go gives no way to erase).
func (k *keys) wipe() {
	for _, b := range [][]byte{k.secret, k.seal, k.index, k.logMAC} {
		clear(b)
	}
	k.aead = nil
}

// linkAD is the associated data of a sealed identifier:
// domain || 0x00 || code || 0x00 || kind.
func appendLinkAD(dst []byte, domain, code, kind string) []byte {
	dst = append(dst, domain...)
	dst = append(dst, 0)
	dst = append(dst, code...)
	dst = append(dst, 0)
	dst = append(dst, kind...)
	return dst
}

// appendPadded appends canonical padded ISO/IEC 7816-4 style (0x80 then
// zeros) to a multiple of sealPad bytes, so that the ciphertext length only
// reveals the identifier length in steps of sealPad.
func appendPadded(dst []byte, canonical string) []byte {
	dst = append(dst, canonical...)
	dst = append(dst, 0x80)
	for len(dst)%sealPad != 0 {
		dst = append(dst, 0)
	}
	return dst
}

func unpad(p []byte) ([]byte, error) {
	for i := len(p) - 1; i >= 0; i-- {
		switch p[i] {
		case 0:
			continue
		case 0x80:
			return p[:i], nil
		}
		break
	}
	return nil, errors.New("bad padding")
}

// sealIdentifier appends nonce || XChaCha20-Poly1305(padded canonical) with
// associated data ad to dst. nonce must be nonceLen random bytes. plainBuf is
// scratch space for the padded plaintext; it is returned (zeroed) for reuse.
func sealIdentifier(aead cipher.AEAD, dst, nonce, plainBuf, ad []byte, canonical string) (sealed, scratch []byte) {
	dst = append(dst, nonce...)
	plain := appendPadded(plainBuf[:0], canonical)
	dst = aead.Seal(dst, nonce, plain, ad)
	clear(plain)
	return dst, plain
}

// openIdentifier reverses sealIdentifier.
func openIdentifier(aead cipher.AEAD, sealed, ad []byte) (string, error) {
	if len(sealed) < nonceLen+aead.Overhead() {
		return "", errors.New("sealed identifier too short")
	}
	plain, err := aead.Open(nil, sealed[:nonceLen], sealed[nonceLen:], ad)
	if err != nil {
		return "", err
	}
	defer clear(plain)
	p, err := unpad(plain)
	if err != nil {
		return "", err
	}
	return string(p), nil
}

// nonceSource hands out random nonces, reading crypto/rand in blocks.
type nonceSource struct {
	buf []byte
	off int
}

func (n *nonceSource) next() []byte {
	if n.off+nonceLen > len(n.buf) {
		if n.buf == nil {
			n.buf = make([]byte, 256*nonceLen)
		}
		rand.Read(n.buf) // never fails (Go ≥ 1.24 crashes the program instead)
		n.off = 0
	}
	b := n.buf[n.off : n.off+nonceLen]
	n.off += nonceLen
	return b
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func appendU32(dst []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(dst, v) }
func appendU64(dst []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(dst, v) }

// appendField appends a length-prefixed (uint32 big-endian) byte string.
func appendField(dst []byte, s string) []byte {
	dst = appendU32(dst, uint32(len(s)))
	return append(dst, s...)
}
