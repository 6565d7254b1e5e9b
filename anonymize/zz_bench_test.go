package anonymize

import (
	"context"
	"testing"
)

func BenchmarkDebugLDiv(b *testing.B) {
	needAdult(b)
	occ := []DiversityCriterion{{Column: "occupation", Kind: EntropyDiversity, L: 5}}
	p0 := adultProblem(b, without(adultColumns, "occupation"), []string{"occupation"}, Config{K: 1, Suppression: 0.04, Metric: Entropy, Diversity: occ})
	b.ResetTimer()
	for b.Loop() {
		p, _ := NewProblem(p0.t, p0.hs, p0.cfg)
		p.Search(context.Background())
	}
}
