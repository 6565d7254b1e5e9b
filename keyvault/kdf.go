package keyvault

import (
	"golang.org/x/crypto/argon2"
)

// KDFParams are the Argon2id parameters of a passphrase key slot. They are
// stored in the slot (with a random per-slot salt), so they can be raised for
// new slots without affecting existing ones.
type KDFParams struct {
	Time      uint32 // number of passes
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // degree of parallelism
}

// DefaultKDF are the Argon2id parameters used by [Create] when
// [CreateOptions].KDF is nil: time=3, memory=64 MiB, threads=4, the second
// recommended option of RFC 9106.
//
// Tests may lower DefaultKDF (for example to {Time: 1, MemoryKiB: 64,
// Threads: 1}) to make vault creation fast. That is the test hook: the
// minimum strength ([MinKDF]) is enforced only on parameters passed
// explicitly in [CreateOptions].KDF, which come from user input, never on
// DefaultKDF. Programs must not lower it.
var DefaultKDF = KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}

// MinKDF is the weakest Argon2id setting [Create] accepts when parameters are
// requested explicitly: time ≥ 2, memory ≥ 19 MiB (the OWASP minimum for
// Argon2id), threads ≥ 1.
var MinKDF = KDFParams{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}

// Upper bounds for key-derivation parameters. Open refuses a file whose
// stored parameters exceed them (a hostile file could otherwise make the
// program allocate unbounded memory or spin for hours), and Create refuses
// to write such parameters. They are variables only so that the fuzz tests
// can make them small; programs must not change them.
var (
	maxKDFMemoryKiB uint32 = 4 * 1024 * 1024 // 4 GiB
	maxKDFTime      uint32 = 64
)

const (
	kdfArgon2id = "argon2id"
	saltLen     = 32
	keyLen      = 32
)

// checkBounds rejects parameters that are malformed or exceed the upper
// bounds. It does not enforce MinKDF.
func (p KDFParams) checkBounds() error {
	switch {
	case p.Time == 0:
		return invalidf("kdf time must be at least 1")
	case p.Threads == 0:
		return invalidf("kdf threads must be at least 1")
	case p.MemoryKiB < 8*uint32(p.Threads):
		return invalidf("kdf memory must be at least 8 KiB per thread")
	case p.Time > maxKDFTime:
		return invalidf("kdf time %d exceeds the limit %d", p.Time, maxKDFTime)
	case p.MemoryKiB > maxKDFMemoryKiB:
		return invalidf("kdf memory %d KiB exceeds the limit %d KiB", p.MemoryKiB, maxKDFMemoryKiB)
	}
	return nil
}

// checkMin rejects parameters weaker than MinKDF.
func (p KDFParams) checkMin() error {
	if p.Time < MinKDF.Time || p.MemoryKiB < MinKDF.MemoryKiB || p.Threads < MinKDF.Threads {
		return invalidf("kdf parameters time=%d memory=%d KiB are weaker than the minimum time=%d memory=%d KiB",
			p.Time, p.MemoryKiB, MinKDF.Time, MinKDF.MemoryKiB)
	}
	return nil
}

// deriveKEK derives the slot's key-encryption key from the passphrase.
func (p KDFParams) deriveKEK(passphrase, salt []byte) []byte {
	return argon2.IDKey(passphrase, salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
}
