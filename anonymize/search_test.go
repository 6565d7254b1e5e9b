package anonymize

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// synthetic makes n random rows of four quasi-identifiers and a sensitive
// attribute, with hierarchies of different heights (120 transformations).
func synthetic(t testing.TB, seed uint64, n int) (names []string, rows [][]string, hs []*Hierarchy) {
	rng := rand.New(rand.NewPCG(seed, 7))
	names = []string{"age", "job", "code", "sex", "s"}
	jobs := []string{"nurse", "doctor", "clerk", "cook", "pilot", "judge"}
	for range n {
		age := fmt.Sprint(min(39, int(rng.ExpFloat64()*12)))
		code := fmt.Sprintf("%c%c%c", 'a'+rng.IntN(3), 'a'+rng.IntN(3), 'a'+rng.IntN(4))
		sens := fmt.Sprint("s", min(4, int(rng.ExpFloat64()*1.5)))
		rows = append(rows, []string{age, jobs[rng.IntN(len(jobs))], code, []string{"F", "M"}[rng.IntN(2)], sens})
	}
	col := func(j int) []string {
		var vs []string
		for _, r := range rows {
			vs = append(vs, r[j])
		}
		return vs
	}
	age, err := Intervals{Widths: []float64{5, 10, 20}}.Build(col(0))
	require.NoError(t, err)
	job, err := NewHierarchy("job", [][]string{{"nurse", "health", "*"}, {"doctor", "health", "*"}, {"clerk", "office", "*"},
		{"cook", "service", "*"}, {"pilot", "service", "*"}, {"judge", "office", "*"}, {"unused", "office", "*"}}, nil)
	require.NoError(t, err)
	code, err := Mask{Chars: []int{1, 2}}.Build(col(2))
	require.NoError(t, err)
	sex, err := NewHierarchy("sex", [][]string{{"F", "*"}, {"M", "*"}}, nil)
	require.NoError(t, err)
	return names, rows, []*Hierarchy{age, job, code, sex}
}

// naiveEval evaluates a transformation from the rows directly, with its own
// implementation of the criteria and the metrics (ARX's definitions).
type naiveResult struct {
	anonymous  bool
	suppressed int64
	value      float64
	values     map[Metric]float64
}

func naiveEval(rows [][]string, hs []*Hierarchy, levels []int, cfg Config, sensCol int) naiveResult {
	r := naiveEvalAll(rows, hs, levels, cfg, sensCol)
	r.value = r.values[cfg.Metric]
	return r
}

// naiveEvalAll computes every metric at once (cfg.Metric is ignored).
func naiveEvalAll(rows [][]string, hs []*Hierarchy, levels []int, cfg Config, sensCol int) naiveResult {
	n := float64(len(rows))
	nq := len(hs)
	type class struct {
		count int64
		sens  map[string]int64
	}
	classes := map[string]*class{}
	keyOf := func(r []string) string {
		parts := make([]string, nq)
		for i := range nq {
			parts[i], _ = hs[i].Generalize(r[i], levels[i])
		}
		return strings.Join(parts, "\x00")
	}
	keys := make([]string, len(rows))
	for ri, r := range rows {
		k := keyOf(r)
		keys[ri] = k
		c := classes[k]
		if c == nil {
			c = &class{sens: map[string]int64{}}
			classes[k] = c
		}
		c.count++
		c.sens[r[sensCol]]++
	}
	failing := map[string]bool{}
	var S int64
	for k, c := range classes {
		fail := c.count < int64(cfg.K)
		for _, d := range cfg.Diversity {
			var fs []int64
			for _, f := range c.sens {
				fs = append(fs, f)
			}
			switch d.Kind {
			case DistinctDiversity:
				fail = fail || float64(len(fs)) < d.L
			case EntropyDiversity:
				h := 0.0
				for _, f := range fs {
					p := float64(f) / float64(c.count)
					h -= p * math.Log2(p)
				}
				fail = fail || h < math.Log2(d.L)-1e-12
			case RecursiveDiversity:
				slices.Sort(fs)
				slices.Reverse(fs)
				if len(fs) < int(d.L) {
					fail = true
				} else {
					var tail int64
					for _, f := range fs[int(d.L)-1:] {
						tail += f
					}
					fail = fail || !(float64(fs[0]) < d.C*float64(tail))
				}
			}
		}
		if fail {
			failing[k] = true
			S += c.count
		}
	}
	res := naiveResult{suppressed: S, anonymous: S <= int64(math.Floor(cfg.Suppression*n)), values: map[Metric]float64{}}
	var nonFailing int
	var dm float64
	for k, c := range classes {
		if failing[k] {
			dm += n * float64(c.count)
		} else {
			nonFailing++
			dm += float64(c.count * c.count)
		}
	}
	res.values[Discernibility] = dm
	g := float64(nonFailing)
	if S > 0 {
		g++
	}
	res.values[AECS] = n / g
	parts := map[Metric][]float64{}
	for i, h := range hs {
		freq := map[string]float64{}  // original values
		gfreq := map[string]float64{} // generalised values
		for _, r := range rows {
			freq[r[i]]++
			g, _ := h.Generalize(r[i], levels[i])
			gfreq[g]++
		}
		suppFreq := map[string]float64{}
		leavesOf := map[string]int{} // leaves of the hierarchy under each label
		for _, v := range h.Values() {
			gv, _ := h.Generalize(v, levels[i])
			leavesOf[gv]++
		}
		var loss, prec, ent float64
		for ri, r := range rows {
			g, _ := h.Generalize(r[i], levels[i])
			supp := failing[keys[ri]]
			if supp {
				loss++
				prec++
				suppFreq[g]++
			} else {
				loss += float64(leavesOf[g]) / float64(h.Len())
				prec += float64(levels[i]) / float64(h.Levels()-1)
			}
			ent += -math.Log2(freq[r[i]] / gfreq[g])
		}
		lo := n / float64(h.Len())
		parts[Loss] = append(parts[Loss], math.Floor(math.Max(0, (loss-lo)/(n-lo))*1e10)/1e10)
		parts[Precision] = append(parts[Precision], prec/n)
		parts[EntropyMonotonic] = append(parts[EntropyMonotonic], math.Floor(ent*1e10)/1e10)
		for _, c := range suppFreq {
			ent += -c * math.Log2(c/float64(S))
		}
		parts[Entropy] = append(parts[Entropy], math.Floor(ent*1e10)/1e10)
	}
	for m, ps := range parts {
		res.values[m] = m.aggregate(ps)
	}
	return res
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(a)) }

// TestSearchIsOptimal checks the search against an independent brute force
// over every transformation, for every metric, with and without suppression
// and l-diversity: the search's answer meets the criteria (recounted from
// the rows) and no transformation that does has a lower value.
func TestSearchIsOptimal(t *testing.T) {
	ctx := context.Background()
	divs := map[string][]DiversityCriterion{
		"none":      nil,
		"distinct":  {{Column: "s", Kind: DistinctDiversity, L: 2}},
		"entropy":   {{Column: "s", Kind: EntropyDiversity, L: 2}},
		"recursive": {{Column: "s", Kind: RecursiveDiversity, L: 2, C: 3}},
	}
	checked := 0
	for _, seed := range []uint64{1, 2} {
		names, rows, hs := synthetic(t, seed, 300)
		tab := countRows(t, names, 4, rows)
		for _, supp := range []float64{0, 0.05, 0.2} {
			for _, k := range []int{2, 4} {
				for dname, div := range divs {
					cfg := Config{K: k, Suppression: supp, Diversity: div}
					// Brute force: every transformation, every metric.
					p0, err := NewProblem(tab, hs, cfg)
					require.NoError(t, err)
					all := make([]naiveResult, p0.lat.size)
					for x := range p0.lat.size {
						all[x] = naiveEvalAll(rows, hs, p0.lat.levels(x, nil), cfg, 4)
					}
					for _, m := range Metrics {
						cfg.Metric = m
						name := fmt.Sprintf("seed%d/%s/supp%v/k%d/%s", seed, m, supp, k, dname)
						p, err := NewProblem(tab, hs, cfg)
						require.NoError(t, err, name)
						sol, err := p.Search(ctx)
						require.NoError(t, err, name)
						require.True(t, sol.Optimal, name)
						best := -1
						for x, r := range all {
							if r.anonymous && (best < 0 || r.values[m] < all[best].values[m]-1e-9*math.Max(1, math.Abs(all[best].values[m]))) {
								best = x
							}
						}
						if best < 0 {
							require.False(t, sol.Found, name)
							continue
						}
						require.True(t, sol.Found, "%s: brute force found %v", name, p.lat.levels(int64(best), nil))
						mine := all[p.lat.index(sol.Levels)]
						require.True(t, mine.anonymous, "%s: %v does not meet the criteria", name, sol.Levels)
						require.Equal(t, mine.suppressed, sol.Suppressed, name)
						require.True(t, near(mine.values[m], sol.Value), "%s: value %v, recomputed %v", name, sol.Value, mine.values[m])
						require.True(t, near(all[best].values[m], sol.Value), "%s: search %v = %v, brute force %v = %v",
							name, sol.Levels, sol.Value, p.lat.levels(int64(best), nil), all[best].values[m])
						checked++
					}
				}
			}
		}
	}
	t.Logf("%d searches checked against brute force", checked)
}

// TestHeuristic checks that the heuristic search finds transformations
// that meet the criteria, no better than the optimum.
func TestHeuristic(t *testing.T) {
	names, rows, hs := synthetic(t, 3, 400)
	tab := countRows(t, names, 4, rows)
	for _, m := range Metrics {
		for _, budget := range []int{1, 5, 50} {
			cfg := Config{K: 3, Suppression: 0.02, Metric: m}
			opt, err := NewProblem(tab, hs, cfg)
			require.NoError(t, err)
			best, err := opt.Search(context.Background())
			require.NoError(t, err)
			cfg.Heuristic, cfg.Budget = true, budget
			p, err := NewProblem(tab, hs, cfg)
			require.NoError(t, err)
			sol, err := p.Search(context.Background())
			require.NoError(t, err)
			require.False(t, sol.Optimal)
			require.True(t, sol.Found, "%s budget %d", m, budget)
			r := naiveEval(rows, hs, sol.Levels, cfg, 4)
			require.True(t, r.anonymous)
			require.GreaterOrEqual(t, sol.Value, best.Value-1e-9*math.Abs(best.Value), "%s budget %d", m, budget)
		}
	}
	// A lattice over MaxNodes is searched heuristically, unless an
	// exhaustive search is required.
	p, err := NewProblem(tab, hs, Config{K: 2, MaxNodes: 10})
	require.NoError(t, err)
	sol, err := p.Search(context.Background())
	require.NoError(t, err)
	require.False(t, sol.Optimal)
	require.True(t, sol.Found)
	p, err = NewProblem(tab, hs, Config{K: 2, MaxNodes: 10, Exhaustive: true})
	require.NoError(t, err)
	_, err = p.Search(context.Background())
	require.ErrorIs(t, err, ErrLatticeTooLarge)
}

func TestSearchUnreachableAndBounds(t *testing.T) {
	names, rows, hs := synthetic(t, 4, 50)
	tab := countRows(t, names, 4, rows)
	// k larger than the data: nothing meets it.
	p, err := NewProblem(tab, hs, Config{K: 51})
	require.NoError(t, err)
	sol, err := p.Search(context.Background())
	require.NoError(t, err)
	require.False(t, sol.Found)
	// Level bounds are respected.
	p, err = NewProblem(tab, hs, Config{K: 2, MinLevels: []int{1, -1, -1, 1}, MaxLevels: []int{2, 1, -1, -1}})
	require.NoError(t, err)
	require.Equal(t, int64(2*2*4*1), p.LatticeSize())
	sol, err = p.Search(context.Background())
	require.NoError(t, err)
	if sol.Found {
		require.GreaterOrEqual(t, sol.Levels[0], 1)
		require.LessOrEqual(t, sol.Levels[0], 2)
		require.LessOrEqual(t, sol.Levels[1], 1)
		require.Equal(t, 1, sol.Levels[3])
	}
	_, err = p.Evaluate([]int{0, 0, 0, 1})
	require.ErrorContains(t, err, "outside")
	_, err = p.Evaluate([]int{1})
	require.Error(t, err)
	_, err = NewProblem(tab, hs, Config{K: 2, MaxLevels: []int{9}})
	require.ErrorContains(t, err, "level bounds")
	// Bad configurations.
	for _, cfg := range []Config{{K: 0}, {K: 2, Suppression: 1.5}, {K: 2, Metric: "best"},
		{K: 2, Diversity: []DiversityCriterion{{Column: "nope", L: 2}}},
		{K: 2, Diversity: []DiversityCriterion{{Column: "s", Kind: RecursiveDiversity, L: 2}}}} {
		_, err := NewProblem(tab, hs, cfg)
		require.Error(t, err, "%+v", cfg)
	}
	_, err = NewProblem(tab, hs[:3], Config{K: 2})
	require.Error(t, err)
	// A value the hierarchy lacks.
	short, err := NewHierarchy("sex.csv", [][]string{{"F", "*"}}, nil)
	require.NoError(t, err)
	_, err = NewProblem(tab, append(hs[:3:3], short), Config{K: 2})
	require.ErrorIs(t, err, ErrNotCovered)
	// Cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, err = NewProblem(tab, hs, Config{K: 2})
	require.NoError(t, err)
	_, err = p.Search(ctx)
	require.ErrorIs(t, err, context.Canceled)
}

func TestParseMetric(t *testing.T) {
	for in, want := range map[string]Metric{"": Loss, "LOSS": Loss, "dm": Discernibility, "aecs": AECS,
		"entropy": Entropy, "entropy-mono": EntropyMonotonic, "precision": Precision} {
		m, err := ParseMetric(in)
		require.NoError(t, err)
		require.Equal(t, want, m)
	}
	_, err := ParseMetric("utility")
	require.Error(t, err)
}
