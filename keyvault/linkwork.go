package keyvault

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"hash"
)

// linkWork is what working out a new identifier's keyed index and sealed
// identifier takes: an HMAC state of its own, nonces and buffers. Link
// does that work outside the transaction's lock with one from Tx.works,
// so that its callers (the pseudo workers) do it side by side instead of
// one at a time: an HMAC and an XChaCha20-Poly1305 seal, ~1 µs, for each
// new identifier. Under the lock, Tx uses its own (Tx.work).
type linkWork struct {
	mac    hash.Hash
	nonces nonceSource
	// Scratch: the MAC's input and sum, the padded plaintext (cleared
	// after each use), the seal's associated data and the sealed
	// identifier (valid until the next seal).
	in, sum, plain, ad, sealed []byte
}

func newLinkWork(k *keys) *linkWork { return &linkWork{mac: hmac.New(sha256.New, k.index)} }

// index returns the keyed index of (kind, canonical).
func (w *linkWork) index(kind, canonical string) [idxLen]byte {
	w.mac.Reset()
	b := append(w.in[:0], kind...)
	b = append(b, 0)
	b = append(b, canonical...)
	w.mac.Write(b)
	clear(b)
	// Sum through the interface would move a local array to the heap:
	// one allocation per new identifier.
	w.sum = w.mac.Sum(w.sum[:0])
	w.in = b
	return [idxLen]byte(w.sum)
}

// seal returns canonical sealed for a link of kind and code in domain
// (see sealIdentifier), in w.sealed.
func (w *linkWork) seal(aead cipher.AEAD, domain, code, kind, canonical string) []byte {
	w.ad = appendLinkAD(w.ad[:0], domain, code, kind)
	w.sealed, w.plain = sealIdentifier(aead, w.sealed[:0], w.nonces.next(), w.plain, w.ad, canonical)
	return w.sealed
}
