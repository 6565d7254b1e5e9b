package keyvault

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/pseudokit/pseudokit/internal/cputime"
)

// BenchmarkLinkInsert measures recording new links (keyed domain) inside one
// transaction, including the commit of the run.
func BenchmarkLinkInsert(b *testing.B) {
	tx, ids, codes := benchTx(b)
	timeLinks(b, tx, ids, codes)
}

// BenchmarkLinkInsertStored measures a run into a domain that already
// holds b.N links (written before the timer starts), including the
// commit: b.N identifiers, one in 16 of them stored, the others new. A
// bulk run into a non-empty domain (spill.go, filter.go). In "progress"
// the run is told, as pseudo.FileJob tells it, the share of its input
// read so far (Tx.Progress: a reader 4 batches ahead of the links).
func BenchmarkLinkInsertStored(b *testing.B) {
	for _, progress := range []bool{false, true} {
		b.Run(map[bool]string{false: "probes-until-they-pay", true: "progress"}[progress], func(b *testing.B) {
			tx, ids, codes := benchTx(b)
			linkAll(b, tx, ids, codes)
			tx, err := tx.v.Begin(context.Background(), DefaultDomain)
			if err != nil {
				b.Fatal(err)
			}
			for i := range ids {
				if i%16 != 0 {
					ids[i], codes[i] = synthNID(b.N+i), testCode('K', b.N+i)
				}
			}
			if progress {
				tx.Progress(min(1, float64(4*linkBatch)/float64(len(ids))))
			}
			timeLinks(b, tx, ids, codes)
		})
	}
}

// timeLinks times linkAll, with its links/s and CPU a link.
func timeLinks(b *testing.B, tx *Tx, ids, codes []string) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Process()
	linkAll(b, tx, ids, codes)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "links/s")
	b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/link")
}

// linkAll links ids to codes in tx and commits it.
func linkAll(b *testing.B, tx *Tx, ids, codes []string) {
	for i := range ids {
		if err := tx.Link("nid", ids[i], codes[i]); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(Entry{Action: "pseudonymize"}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLookup measures finding one person's code by identifier in a
// domain of 100,000 links.
func BenchmarkLookup(b *testing.B) {
	v, _ := newVault(b)
	tx, err := v.Begin(context.Background(), DefaultDomain)
	if err != nil {
		b.Fatal(err)
	}
	const n = 100000
	for i := 0; i < n; i++ {
		if err := tx.Link("nid", synthNID(i), testCode('K', i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(Entry{Action: "pseudonymize"}); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = synthNID(i * 7919 % n)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		code, found, err := v.Lookup(DefaultDomain, "nid", ids[i%n])
		if err != nil || !found || code == "" {
			b.Fatal(found, err)
		}
	}
}

// BenchmarkLinkExisting measures a re-run: every identifier is already
// linked (from the file, not the per-transaction set).
func BenchmarkLinkExisting(b *testing.B) {
	v, _ := newVault(b)
	ctx := context.Background()
	const n = 100000
	ids, codes := make([]string, n), make([]string, n)
	for i := range ids {
		ids[i], codes[i] = synthNID(i), testCode('K', i)
	}
	tx, err := v.Begin(ctx, DefaultDomain)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := tx.Link("nid", ids[i], codes[i]); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(Entry{Action: "pseudonymize"}); err != nil {
		b.Fatal(err)
	}
	tx, err = v.Begin(ctx, DefaultDomain)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % n
		if err := tx.Link("nid", ids[j], codes[j]); err != nil {
			b.Fatal(err)
		}
		if j == n-1 {
			tx.seen = seenSet{}
		}
	}
}

// BenchmarkLinkRepeat measures an identifier met again in the same run
// (most calls of Link when persons recur in a dataset): 200,000 distinct
// identifiers, each linked once before the timer starts.
func BenchmarkLinkRepeat(b *testing.B) {
	v, _ := newVault(b)
	tx, err := v.Begin(context.Background(), DefaultDomain)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	const n = 200000
	ids, codes := make([]string, n), make([]string, n)
	for i := range ids {
		ids[i], codes[i] = synthNID(i), testCode('K', i)
		if err := tx.Link("nid", ids[i], codes[i]); err != nil {
			b.Fatal(err)
		}
	}
	// Write the queued links first, so the timed loop does not share the
	// cores with the batch writer (with -benchtime 200000x it did: 1.3 µs).
	tx.mu.Lock()
	err = tx.flush()
	tx.mu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	// Visit them in a scattered order, as rows of a dataset do.
	perm := rand.New(rand.NewPCG(1, 2)).Perm(n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := perm[i%n]
		if err := tx.Link("nid", ids[j], codes[j]); err != nil {
			b.Fatal(err)
		}
	}
}

// benchTx returns a transaction in a new vault's default domain, and b.N
// identifiers with their codes.
func benchTx(b *testing.B) (tx *Tx, ids, codes []string) {
	v, _ := newVault(b)
	tx, err := v.Begin(context.Background(), DefaultDomain)
	if err != nil {
		b.Fatal(err)
	}
	ids = make([]string, b.N)
	codes = make([]string, b.N)
	for i := range ids {
		ids[i], codes[i] = synthNID(i), testCode('K', i)
	}
	return tx, ids, codes
}

// BenchmarkLinkEvicted measures a run with more identifiers than the
// seen-set holds (its bound lowered to 2^16): b.N new identifiers, and
// after each a repeat of one met at random before, so that most repeats
// come back after their entry was evicted. An op is the two Link calls;
// links/s counts both.
func BenchmarkLinkEvicted(b *testing.B) {
	boundSeen(b, 1<<16)
	tx, ids, codes := benchTx(b)
	rnd := uint64(0x9e3779b97f4a7c15)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := tx.Link("nid", ids[i], codes[i]); err != nil {
			b.Fatal(err)
		}
		rnd ^= rnd << 13
		rnd ^= rnd >> 7
		rnd ^= rnd << 17
		j := int(rnd % uint64(i+1))
		if err := tx.Link("nid", ids[j], codes[j]); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(Entry{Action: "pseudonymize"}); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "links/s")
}

// BenchmarkAssign measures recording new links in a random-code domain,
// where each link is written at once (Assign must know whether its
// candidate code is free), including the commit of the run.
func BenchmarkAssign(b *testing.B) {
	v, _ := newVault(b)
	if err := v.AddDomain("survey", SchemeRandom); err != nil {
		b.Fatal(err)
	}
	tx, err := v.Begin(context.Background(), "survey")
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, b.N)
	codes := make([]string, b.N)
	for i := range ids {
		ids[i], codes[i] = synthNID(i), testCode('R', i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tx.Assign("nid", ids[i], codes[i]); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(Entry{Action: "pseudonymize"}); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "links/s")
}
