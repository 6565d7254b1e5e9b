package anonymize

import (
	"fmt"
	"math"
	"strings"
)

// A Metric measures the information a transformation loses; lower is
// better. The definitions are ARX's (version 3), so that the same problem
// has the same optimum in both; docs/anonymize.md gives the formulas.
type Metric string

// The metrics.
const (
	// Loss is ARX's "Loss" (Iyengar's general loss metric, ARX
	// MetricMDNMLoss with the default factor 0.5 and geometric mean): per
	// attribute, the average over records of (leaves under the record's
	// generalised value) / (values in the hierarchy), normalised to [0,1];
	// a suppressed record counts 1. Attributes are combined by the geometric
	// mean of (value+1), minus 1.
	Loss Metric = "loss"
	// Precision is Sweeney's precision (ARX MetricMDNMPrecision): per
	// attribute, level / height for unsuppressed records and 1 for
	// suppressed ones, averaged over records; arithmetic mean over attributes.
	Precision Metric = "precision"
	// Discernibility is the discernibility metric (ARX
	// MetricSDNMDiscernability): the sum of |E|^2 over unsuppressed classes
	// E plus |D|·|E| over suppressed ones.
	Discernibility Metric = "discernibility"
	// AECS is the average equivalence class size (ARX MetricSDAECS):
	// records / classes, the suppressed records counting as one class.
	AECS Metric = "aecs"
	// Entropy is the non-uniform entropy (ARX MetricMDNUNMEntropy, the
	// non-monotonic variant ARX uses by default): per attribute, the sum over
	// records of -log2 P(original value | generalised value), plus for
	// suppressed records the entropy of their generalised values; summed
	// over attributes.
	Entropy Metric = "entropy"
	// EntropyMonotonic is the monotonic non-uniform entropy (ARX
	// MetricMDNUEntropy): Entropy without the term for suppressed records.
	EntropyMonotonic Metric = "entropy-monotonic"
)

// Metrics lists the metrics.
var Metrics = []Metric{Loss, Precision, Discernibility, AECS, Entropy, EntropyMonotonic}

// ParseMetric returns the metric named s (case does not matter; "" is Loss).
func ParseMetric(s string) (Metric, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return Loss, nil
	}
	switch s {
	case "dm", "discernability":
		return Discernibility, nil
	case "average-class-size", "average_class_size":
		return AECS, nil
	case "entropy-mono", "entropy_monotonic":
		return EntropyMonotonic, nil
	}
	for _, m := range Metrics {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown metric %q (want loss, precision, discernibility, aecs, entropy or entropy-monotonic)", s)
}

// levelBased reports whether a lower bound of m follows from the levels
// alone (the metric without suppression), so that nodes can be ordered and
// pruned without grouping the data.
func (m Metric) levelBased() bool {
	return m == Loss || m == Precision || m == Entropy || m == EntropyMonotonic
}

// monotonic reports whether m never decreases under generalisation when at
// most maxOut records may be suppressed; then the optimum is a minimal
// anonymous node.
func (m Metric) monotonic(maxOut int64) bool {
	return m == EntropyMonotonic || maxOut == 0
}

// floorDigits cuts a value to 10 decimal places, as ARX does before
// comparing information loss (Metric.round).
func floorDigits(v float64) float64 { return math.Floor(v*1e10) / 1e10 }

// geometricMean combines values as ARX's ILMultiDimensionalGeometricMean
// does (weights 1), in the same order of operations.
func geometricMean(vs []float64) float64 {
	r := 1.0
	for _, v := range vs {
		r *= math.Pow(v+1, 1/float64(len(vs)))
	}
	return r - 1
}

func arithmeticMean(vs []float64) float64 {
	s := 0.0
	for _, v := range vs {
		s += v
	}
	return s / float64(len(vs))
}

func sum(vs []float64) float64 {
	s := 0.0
	for _, v := range vs {
		s += v
	}
	return s
}

// aggregate combines per-attribute values the way m does.
func (m Metric) aggregate(vs []float64) float64 {
	switch m {
	case Loss:
		return geometricMean(vs)
	case Precision:
		return arithmeticMean(vs)
	}
	return sum(vs)
}

// log2 is ARX's log2: ln(x)/ln(2).
func log2(x float64) float64 { return math.Log(x) / math.Ln2 }
