package pseudo

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"

	"golang.org/x/crypto/hkdf"
)

// CodeLen is the length of a code's text form: a scheme character, 16
// payload characters (80 bits) and a check character.
const CodeLen = 18

// Scheme characters: the first character of every code names how it was made,
// so the scheme can evolve without ambiguity.
const (
	// SchemeKeyed marks a keyed code (version 1): HMAC-SHA256 under the domain's code key.
	SchemeKeyed = 'K'
	// SchemeRandom marks a random code (version 1): 80 random bits, linked only through the vault.
	SchemeRandom = 'R'
)

// alphabet is Crockford's base32 alphabet: no I, L, O or U, so a code read
// aloud or from paper is hard to get wrong, and case does not matter.
const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// decode maps an input byte to its value in alphabet, or -1. Crockford's
// aliases (O for 0, I and L for 1) and lower case are accepted.
var decode = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = int8(i)
		if c := alphabet[i]; c >= 'A' && c <= 'Z' {
			t[c+'a'-'A'] = int8(i)
		}
	}
	t['O'], t['o'] = 0, 0
	t['I'], t['i'], t['L'], t['l'] = 1, 1, 1, 1
	return t
}()

// ErrInvalidCode is returned (wrapped) by ParseCode for text that is not a code.
var ErrInvalidCode = errors.New("not a valid pseudokit code")

// Key derivation labels (HKDF-SHA256 info) below a domain secret; see docs/design.md.
const (
	labelCodeKey     = "pseudokit/v1/code"
	labelFakeNameKey = "pseudokit/v1/fake-name"
)

// deriveKey derives a 32-byte key from secret with HKDF-SHA256 and the given label.
func deriveKey(secret []byte, label string) []byte {
	k := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, nil, []byte(label)), k); err != nil {
		panic("pseudo: hkdf: " + err.Error()) // cannot happen for 32 bytes
	}
	return k
}

// A Coder derives keyed codes for one pseudonymisation domain. The same
// (kind, canonical identifier) always gives the same code under the same
// domain secret, and unrelated codes under any other.
//
// A Coder is not safe for concurrent use; use Clone for each goroutine.
type Coder struct {
	key []byte
	mac hash.Hash
	buf []byte
	sum []byte
}

// NewCoder returns a Coder for the domain whose secret is domainSecret
// (from keyvault's Vault.DomainSecret). The secret must be at least 16 bytes.
func NewCoder(domainSecret []byte) (*Coder, error) {
	if len(domainSecret) < 16 {
		return nil, errors.New("pseudo: domain secret too short")
	}
	key := deriveKey(domainSecret, labelCodeKey)
	return &Coder{key: key, mac: hmac.New(sha256.New, key)}, nil
}

// Clone returns an independent Coder with the same key, for use in another goroutine.
func (c *Coder) Clone() *Coder {
	return &Coder{key: c.key, mac: hmac.New(sha256.New, c.key)}
}

// Code returns the keyed code of the canonical identifier of the given kind.
// The canonical form must come from Kind.Canonical.
func (c *Coder) Code(kind Kind, canonical string) string {
	var out [CodeLen]byte
	c.AppendCode(out[:0], kind, canonical)
	return string(out[:])
}

// AppendCode appends the keyed code to dst and returns the extended slice.
// It does not allocate when dst has room; it is the hot path of a run.
func (c *Coder) AppendCode(dst []byte, kind Kind, canonical string) []byte {
	c.mac.Reset()
	c.buf = append(c.buf[:0], 'K', '1')
	c.buf = append(c.buf, kind...)
	c.buf = append(c.buf, 0)
	c.buf = append(c.buf, canonical...)
	c.mac.Write(c.buf)
	c.sum = c.mac.Sum(c.sum[:0])
	return appendCode(dst, SchemeKeyed, c.sum[:10])
}

// RandomCode returns a new random code (scheme R). It is unique with
// overwhelming probability; the vault enforces uniqueness.
func RandomCode() (string, error) {
	var p [10]byte
	if _, err := rand.Read(p[:]); err != nil {
		return "", fmt.Errorf("pseudo: random code: %w", err)
	}
	return string(appendCode(nil, SchemeRandom, p[:])), nil
}

// appendCode appends scheme, the 80-bit payload in base32 and the check character.
func appendCode(dst []byte, scheme byte, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, scheme)
	// 10 bytes = 80 bits = 16 groups of 5 bits, big-endian.
	var acc uint64
	bits := 0
	for _, b := range payload[:10] {
		acc = acc<<8 | uint64(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			dst = append(dst, alphabet[(acc>>uint(bits))&31])
		}
	}
	return append(dst, alphabet[checkValue(dst[start:])])
}

// checkValue computes the Luhn mod 32 check value of s, whose characters
// are all in alphabet. It detects every single-character substitution and
// most transpositions of adjacent characters.
func checkValue(s []byte) int {
	const n = 32
	factor, sum := 2, 0
	for i := len(s) - 1; i >= 0; i-- {
		a := factor * int(decode[s[i]])
		sum += a/n + a%n
		factor = 3 - factor
	}
	return (n - sum%n) % n
}

// ParseCode checks the text form of a code and returns it in canonical form
// (upper case, no separators). It accepts lower case, hyphens and spaces,
// and Crockford's aliases O, I and L. The error never repeats the input.
func ParseCode(s string) (string, error) {
	out := make([]byte, 0, CodeLen)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' || c == ' ' {
			continue
		}
		v := decode[c]
		if v < 0 {
			return "", fmt.Errorf("%w: character %d is not in the code alphabet", ErrInvalidCode, i+1)
		}
		if len(out) == CodeLen {
			return "", fmt.Errorf("%w: longer than %d characters", ErrInvalidCode, CodeLen)
		}
		out = append(out, alphabet[v])
	}
	if len(out) != CodeLen {
		return "", fmt.Errorf("%w: %d characters, expected %d", ErrInvalidCode, len(out), CodeLen)
	}
	if out[0] != SchemeKeyed && out[0] != SchemeRandom {
		return "", fmt.Errorf("%w: unknown scheme", ErrInvalidCode)
	}
	if alphabet[checkValue(out[:CodeLen-1])] != out[CodeLen-1] {
		return "", fmt.Errorf("%w: check character does not match (mistyped?)", ErrInvalidCode)
	}
	return string(out), nil
}
