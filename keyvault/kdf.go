package keyvault

import (
	"sync"
	"time"

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

// builtinKDF is the initial value of DefaultKDF.
var builtinKDF = KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4}

// DefaultKDF are the base Argon2id parameters of new passphrase slots when
// no parameters are given explicitly: time=3, memory=64 MiB, threads=4, the
// second recommended option of RFC 9106.
//
// While DefaultKDF has this value, [Create], [Vault.AddPassphrase] and
// [Vault.ChangePassphrase] do not use it as is: they calibrate the
// parameters on the machine ([CalibrateKDF] with [KDFTarget]) so that one
// unlock takes about 0.5-1 s, never going below [MinKDF].
//
// Tests may lower DefaultKDF (for example to {Time: 1, MemoryKiB: 64,
// Threads: 1}) to make vault creation fast. That is the test hook: any
// value other than the built-in one is used exactly, without calibration,
// and the minimum strength ([MinKDF]) is enforced only on parameters
// passed explicitly (for example [CreateOptions].KDF), which come from user
// input, never on DefaultKDF. Programs must not lower it.
var DefaultKDF = builtinKDF

// KDFTarget is the time one Argon2id evaluation of a new passphrase slot
// should take on the machine that creates it (calibration aims here and
// accepts 0.5-1 s).
const KDFTarget = 750 * time.Millisecond

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

// maxCalibratedMemoryKiB caps the memory calibration may choose on a fast
// machine (1 GiB), so that a slot stays openable on a smaller one.
const maxCalibratedMemoryKiB = 1 << 20

var (
	calibrateOnce sync.Once
	calibrated    KDFParams
)

// newSlotKDF returns the parameters of a new passphrase slot: explicit ones
// (checked against MinKDF), or DefaultKDF exactly if it was changed (the
// test hook), or parameters calibrated once per process.
func newSlotKDF(explicit *KDFParams) (KDFParams, error) {
	var p KDFParams
	switch {
	case explicit != nil:
		p = *explicit
		if err := p.checkMin(); err != nil {
			return p, err
		}
	case DefaultKDF != builtinKDF:
		p = DefaultKDF
	default:
		calibrateOnce.Do(func() { calibrated = CalibrateKDF(KDFTarget) })
		p = calibrated
	}
	return p, p.checkBounds()
}

// CalibrateKDF returns Argon2id parameters that take about target to
// evaluate on this machine. It starts from DefaultKDF's memory and threads,
// measures one and three passes (to separate the fixed cost of allocating
// the memory from the cost of a pass), and chooses the number of passes
// (at least [MinKDF].Time, at most 64); on a machine too slow for that it
// lowers the memory (never below [MinKDF].MemoryKiB), on one too fast it
// raises it (up to 1 GiB). Calibration itself costs about four passes
// (roughly 0.1-0.5 s).
func CalibrateKDF(target time.Duration) KDFParams {
	return calibrate(DefaultKDF, target, measureKDF)
}

// measureKDF times one evaluation of Argon2id with p.
func measureKDF(p KDFParams) time.Duration {
	salt := make([]byte, saltLen)
	start := time.Now()
	k := p.deriveKEK([]byte("pseudokit calibration"), salt)
	d := time.Since(start)
	clear(k)
	return d
}

// calibrate is CalibrateKDF with the measurement as a parameter (tests give
// fake timings). The cost of Argon2id is modelled as (fixed + passes ×
// perPass) × memory / base memory.
func calibrate(base KDFParams, target time.Duration, measure func(KDFParams) time.Duration) KDFParams {
	p := base
	if p.Threads == 0 {
		p.Threads = builtinKDF.Threads
	}
	p.MemoryKiB = max(p.MemoryKiB, MinKDF.MemoryKiB, 8*uint32(p.Threads))
	probe := p
	probe.Time = 1
	d1 := measure(probe)
	probe.Time = 3
	d3 := measure(probe)
	perPass := (d3 - d1) / 2
	if perPass <= 0 { // noise: charge everything to the passes
		perPass = max(d1, time.Nanosecond)
	}
	fixed := max(d1-perPass, 0)
	cost := func(t uint32) time.Duration { return fixed + time.Duration(t)*perPass }
	passes := int64(target-fixed+perPass/2) / int64(perPass)
	switch {
	case passes < int64(MinKDF.Time):
		// Too slow even at the minimum number of passes: less memory.
		p.Time = MinKDF.Time
		scale := float64(target) / float64(cost(p.Time))
		p.MemoryKiB = max(uint32(float64(p.MemoryKiB)*scale), MinKDF.MemoryKiB, 8*uint32(p.Threads))
	case passes > int64(maxKDFTime):
		// Very fast: the most passes allowed, and more memory.
		p.Time = maxKDFTime
		scale := float64(target) / float64(cost(p.Time))
		if scale > 1 {
			p.MemoryKiB = uint32(min(float64(p.MemoryKiB)*scale, maxCalibratedMemoryKiB))
		}
	default:
		p.Time = uint32(passes)
	}
	return p
}
