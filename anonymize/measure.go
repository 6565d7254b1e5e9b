package anonymize

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/bits"
	"slices"
)

// A Report measures how identifiable a dataset's records are from their
// quasi-identifiers, and how diverse its sensitive attributes are within
// each equivalence class (the records that share all quasi-identifier
// values). It holds counts and shares only, never values.
type Report struct {
	// Records is the number of records.
	Records int64 `json:"records"`
	// QuasiIdentifiers and Sensitive name the columns measured.
	QuasiIdentifiers []string `json:"quasi_identifiers"`
	Sensitive        []string `json:"sensitive,omitempty"`
	// Classes is the number of equivalence classes.
	Classes int64 `json:"classes"`
	// K is the size of the smallest class: the dataset is k-anonymous for
	// every k up to K.
	K int64 `json:"k"`
	// Threshold is the class size the counts below refer to.
	Threshold int `json:"threshold"`
	// ClassesBelow and RecordsBelow count the classes smaller than
	// Threshold and their records.
	ClassesBelow int64 `json:"classes_below_threshold"`
	RecordsBelow int64 `json:"records_below_threshold"`
	// SampleUniques counts records alone in their class; SampleUniqueShare
	// is their share of all records.
	SampleUniques     int64   `json:"sample_uniques"`
	SampleUniqueShare float64 `json:"sample_unique_share"`
	// AverageClassSize is Records / Classes.
	AverageClassSize float64 `json:"average_class_size"`
	// Distribution counts classes and records by class size.
	Distribution []SizeBucket `json:"class_sizes"`
	// Risk holds the re-identification risk estimates.
	Risk Risk `json:"risk"`
	// Diversity holds one entry per sensitive attribute.
	Diversity []Diversity `json:"diversity,omitempty"`
}

// A SizeBucket counts the classes whose size is between Min and Max
// (Max 0: no upper bound) and the records in them.
type SizeBucket struct {
	Min     int64 `json:"min"`
	Max     int64 `json:"max,omitempty"`
	Classes int64 `json:"classes"`
	Records int64 `json:"records"`
}

// Risk holds re-identification risk estimates under the prosecutor model
// (the attacker knows the person is in the dataset and knows their
// quasi-identifiers) and the marketer model (the attacker tries to
// re-identify as many records as possible). A record's prosecutor risk is 1
// divided by the size of its class.
type Risk struct {
	// ProsecutorHighest is the highest risk of any record: 1/K.
	ProsecutorHighest float64 `json:"prosecutor_highest"`
	// ProsecutorAverage is the average risk over records: Classes/Records.
	ProsecutorAverage float64 `json:"prosecutor_average"`
	// Marketer is the expected share of records an attacker re-identifies
	// by matching every record; with the dataset taken as the whole
	// population it equals Classes/Records.
	Marketer float64 `json:"marketer"`
	// RecordsAtRisk is the share of records whose prosecutor risk exceeds
	// 1/Threshold (those in classes smaller than Threshold).
	RecordsAtRisk float64 `json:"records_at_risk"`
}

// Diversity measures one sensitive attribute within the classes.
type Diversity struct {
	// Column is the sensitive attribute.
	Column string `json:"column"`
	// DistinctL is the smallest number of distinct values in a class: the
	// data are distinct l-diverse for every l up to DistinctL.
	DistinctL int64 `json:"distinct_l"`
	// EntropyL is the smallest exp(entropy) of a class's values (natural
	// logarithm): the data are entropy l-diverse for every l up to it.
	EntropyL float64 `json:"entropy_l"`
	// RecursiveL is the l the recursive measure uses.
	RecursiveL int `json:"recursive_l"`
	// RecursiveC is the largest ratio r1 / (r_l + ... + r_m) over classes
	// (r sorted frequencies; +Inf when a class has fewer than l values):
	// the data are recursive (c,l)-diverse for every c above it.
	RecursiveC Ratio `json:"recursive_c"`
	// ClassesBelowL counts the classes with fewer than Threshold distinct values.
	ClassesBelowL int64 `json:"classes_below_l"`
	// Threshold is the l that ClassesBelowL refers to.
	Threshold int `json:"threshold"`
}

// A Ratio is a number that may be infinite; JSON shows infinity as null.
type Ratio float64

// MarshalJSON implements json.Marshaler.
func (r Ratio) MarshalJSON() ([]byte, error) {
	if math.IsInf(float64(r), 0) || math.IsNaN(float64(r)) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(r))
}

// ReportOptions configure [Table.Report].
type ReportOptions struct {
	// K is the class size below which classes and records are counted as
	// at risk (default 5).
	K int
	// L is the l for the diversity counts and the recursive measure
	// (default 2).
	L int
}

// groupKeys packs codes of the columns of t.Codes selected by cols into
// keys and groups equal keys: classOf gives the class of each entry and
// sizes the records of each class.
func groupKeys(t *Table, cols []int, code func(col int, e int) uint32, widths []uint) (classOf []int32, sizes []int64) {
	n := t.Len()
	classOf = make([]int32, n)
	var total uint
	for _, w := range widths {
		total += w
	}
	if total <= 64 {
		kt := newKeyTable(n / 4)
		for e := range n {
			var k uint64
			var s uint
			for i, c := range cols {
				k |= uint64(code(c, e)) << s
				s += widths[i]
			}
			ci, added := kt.insert(k, int32(len(sizes)))
			if added {
				sizes = append(sizes, 0)
			}
			sizes[ci] += t.Counts[e]
			classOf[e] = ci
		}
		return classOf, sizes
	}
	m := make(map[string]int32, n/4)
	var buf []byte
	for e := range n {
		buf = buf[:0]
		for _, c := range cols {
			buf = binary.AppendUvarint(buf, uint64(code(c, e)))
		}
		ci, ok := m[string(buf)]
		if !ok {
			ci = int32(len(sizes))
			m[string(buf)] = ci
			sizes = append(sizes, 0)
		}
		sizes[ci] += t.Counts[e]
		classOf[e] = ci
	}
	return classOf, sizes
}

func widthFor(n int) uint { return uint(max(bits.Len(uint(max(n-1, 0))), 1)) }

// Report measures the table's classes (combinations of its
// quasi-identifiers) and the diversity of its sensitive attributes.
func (t *Table) Report(o ReportOptions) *Report {
	o = o.withDefaults()
	cols := make([]int, t.QI)
	widths := make([]uint, t.QI)
	for i := range cols {
		cols[i] = i
		widths[i] = widthFor(len(t.Values[i]))
	}
	var classOf []int32
	sizes := t.Counts // without sensitive attributes the combinations are the classes
	if len(t.Columns) > t.QI {
		classOf, sizes = groupKeys(t, cols, func(c, e int) uint32 { return t.Codes[c][e] }, widths)
	}
	r := sizesReport(t.Columns[:t.QI], sizes, t.Rows, o)
	for j := t.QI; j < len(t.Columns); j++ {
		r.Sensitive = append(r.Sensitive, t.Columns[j])
		d := diversity(t, j, classOf, len(sizes), o.L)
		r.Diversity = append(r.Diversity, d)
	}
	return r
}

// withDefaults fills in the default K and L.
func (o ReportOptions) withDefaults() ReportOptions {
	if o.K <= 0 {
		o.K = 5
	}
	if o.L <= 0 {
		o.L = 2
	}
	return o
}

// sizesReport measures classes of the quasi-identifiers qi from their
// sizes, over records records.
func sizesReport(qi []string, sizes []int64, records int64, o ReportOptions) *Report {
	r := measureSizes(sizes, records, o.withDefaults().K)
	r.QuasiIdentifiers = append([]string(nil), qi...)
	return r
}

var bucketBounds = [][2]int64{{1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}, {6, 10}, {11, 20}, {21, 50}, {51, 100}, {101, 1000}, {1001, 0}}

// measureSizes computes the class-size measures from the class sizes.
func measureSizes(sizes []int64, records int64, k int) *Report {
	r := &Report{Records: records, Classes: int64(len(sizes)), Threshold: k}
	for _, b := range bucketBounds {
		r.Distribution = append(r.Distribution, SizeBucket{Min: b[0], Max: b[1]})
	}
	for _, s := range sizes {
		if r.K == 0 || s < r.K {
			r.K = s
		}
		if s < int64(k) {
			r.ClassesBelow++
			r.RecordsBelow += s
		}
		if s == 1 {
			r.SampleUniques++
		}
		for i := range r.Distribution {
			b := &r.Distribution[i]
			if s >= b.Min && (b.Max == 0 || s <= b.Max) {
				b.Classes++
				b.Records += s
				break
			}
		}
	}
	if records > 0 {
		n := float64(records)
		r.SampleUniqueShare = float64(r.SampleUniques) / n
		r.AverageClassSize = n / float64(len(sizes))
		r.Risk = Risk{
			ProsecutorHighest: 1 / float64(r.K),
			ProsecutorAverage: float64(len(sizes)) / n,
			Marketer:          float64(len(sizes)) / n,
			RecordsAtRisk:     float64(r.RecordsBelow) / n,
		}
	}
	return r
}

// classDist collects, for column j, each class's frequencies of values.
func classDist(t *Table, j int, classOf []int32, classes int) [][]int64 {
	kt := newKeyTable(t.Len())
	var freq []int64
	var owner []int32
	for e, c := range classOf {
		k := uint64(uint32(c))<<32 | uint64(t.Codes[j][e])
		i, added := kt.insert(k, int32(len(freq)))
		if added {
			freq = append(freq, 0)
			owner = append(owner, c)
		}
		freq[i] += t.Counts[e]
	}
	out := make([][]int64, classes)
	for i, f := range freq {
		out[owner[i]] = append(out[owner[i]], f)
	}
	return out
}

// diversity measures sensitive column j within the classes.
func diversity(t *Table, j int, classOf []int32, classes int, l int) Diversity {
	d := Diversity{Column: t.Columns[j], RecursiveL: l, Threshold: l, EntropyL: math.Inf(1)}
	first := true
	for _, fs := range classDist(t, j, classOf, classes) {
		if len(fs) == 0 {
			continue
		}
		n := int64(len(fs))
		if first || n < d.DistinctL {
			d.DistinctL = n
		}
		first = false
		if n < int64(l) {
			d.ClassesBelowL++
		}
		d.EntropyL = math.Min(d.EntropyL, math.Exp(entropy(fs)))
		d.RecursiveC = Ratio(math.Max(float64(d.RecursiveC), recursiveRatio(fs, l)))
	}
	if first {
		d.EntropyL = 0
	}
	return d
}

// entropy is the Shannon entropy (natural logarithm) of the frequencies.
func entropy(fs []int64) float64 {
	var total int64
	for _, f := range fs {
		total += f
	}
	h := 0.0
	for _, f := range fs {
		if f > 0 {
			p := float64(f) / float64(total)
			h -= p * math.Log(p)
		}
	}
	return h
}

// recursiveRatio returns r1 / (r_l + ... + r_m) for the frequencies sorted
// in decreasing order, +Inf if there are fewer than l of them. A class is
// recursive (c,l)-diverse iff c exceeds the ratio.
func recursiveRatio(fs []int64, l int) float64 {
	if len(fs) < l || l < 1 {
		return math.Inf(1)
	}
	s := slices.Clone(fs)
	slices.SortFunc(s, func(a, b int64) int { return int(min(max(b-a, -1), 1)) })
	var tail int64
	for _, f := range s[l-1:] {
		tail += f
	}
	return float64(s[0]) / float64(tail)
}
