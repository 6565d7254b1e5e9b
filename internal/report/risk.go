package report

import (
	"context"
	"fmt"
	"slices"

	"github.com/pseudokit/pseudokit/anonymize"
	"github.com/pseudokit/pseudokit/internal/csvio"
	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/scan"
)

// risk measures the quasi-identifiers of each input and its output with
// package anonymize (equivalence classes, k, risk, l-diversity).
func (r *Report) risk(ctx context.Context, o Options, ins, outs []*scan.Report) error {
	if len(o.QI) == 0 {
		return nil
	}
	pairs := max(len(ins), len(outs))
	for i := 0; i < pairs; i++ {
		rk := Risk{QI: o.QI, K: o.K}
		if len(o.Sensitive) > 0 {
			rk.L = o.L
		}
		var err error
		if i < len(ins) {
			rk.Input = ins[i].File
			if rk.Before, err = measure(ctx, o, ins[i]); err != nil {
				return err
			}
		}
		if i < len(outs) {
			rk.Output = outs[i].File
			if rk.After, err = measure(ctx, o, outs[i]); err != nil {
				return err
			}
		}
		if rk.Before == nil && rk.After != nil { // only an output: it is the dataset measured
			rk.Input, rk.Output, rk.Before, rk.After = rk.Output, "", rk.After, nil
		}
		r.Risk = append(r.Risk, rk)
	}
	r.Notes = append(r.Notes, "k, class sizes and risk are computed by package anonymize over every record: "+
		"the prosecutor risk of a record is 1 / the size of its equivalence class (records sharing all quasi-identifier values).")
	return nil
}

// measure counts the classes of one dataset on the quasi-identifiers it has.
func measure(ctx context.Context, o Options, s *scan.Report) (*Measures, error) {
	var qi, missing, sens []string
	for _, c := range o.QI {
		if s.Column(c) != nil {
			qi = append(qi, c)
		} else {
			missing = append(missing, c)
		}
	}
	for _, c := range o.Sensitive {
		if s.Column(c) != nil && !slices.Contains(qi, c) {
			sens = append(sens, c)
		}
	}
	if len(qi) == 0 {
		m := &Measures{Records: s.Rows, Classes: min(s.Rows, 1), K: s.Rows, Missing: missing}
		for range o.QI {
			m.Distinct = append(m.Distinct, -1)
		}
		return m, nil
	}
	enc, err := pseudo.ParseEncoding(o.Scan.Encoding)
	if err != nil {
		return nil, err
	}
	in := anonymize.Input{Path: s.File, Format: o.Scan.Format, Comma: o.Scan.Comma, Encoding: csvEncoding(enc)}
	t, err := anonymize.Count(ctx, in, qi, sens)
	if err != nil {
		return nil, fmt.Errorf("measuring %s: %w", s.File, err)
	}
	a := t.Report(anonymize.ReportOptions{K: o.K, L: o.L})
	m := &Measures{
		Records: a.Records, Classes: a.Classes, K: a.K, ClassesBelow: a.ClassesBelow, RecordsBelow: a.RecordsBelow,
		SampleUniques: a.SampleUniques, AverageClassSize: a.AverageClassSize,
		ProsecutorHighest: a.Risk.ProsecutorHighest, ProsecutorAverage: a.Risk.ProsecutorAverage, RecordsAtRisk: a.Risk.RecordsAtRisk,
		Missing: missing,
	}
	for _, c := range o.QI {
		d := int64(-1)
		if i := slices.Index(qi, c); i >= 0 {
			d = int64(len(t.Values[i]))
		}
		m.Distinct = append(m.Distinct, d)
	}
	for _, b := range a.Distribution {
		m.Sizes = append(m.Sizes, SizeBucket{Min: b.Min, Max: b.Max, Classes: b.Classes, Records: b.Records})
	}
	for _, d := range a.Diversity {
		m.Diversity = append(m.Diversity, Diversity{Column: d.Column, DistinctL: d.DistinctL, EntropyL: round(d.EntropyL), ClassesBelowL: d.ClassesBelowL})
	}
	m.AverageClassSize = round(m.AverageClassSize)
	m.ProsecutorHighest = round(m.ProsecutorHighest)
	m.ProsecutorAverage = round(m.ProsecutorAverage)
	m.RecordsAtRisk = round(m.RecordsAtRisk)
	return m, nil
}

// round keeps six decimals, so that figures compare equal after a round
// trip through JSON and across platforms.
func round(x float64) float64 {
	const f = 1e6
	if x != x || x > 1e12 || x < -1e12 {
		return x
	}
	if x < 0 {
		return -float64(int64(-x*f+0.5)) / f
	}
	return float64(int64(x*f+0.5)) / f
}

func csvEncoding(e pseudo.Encoding) csvio.Encoding {
	switch e {
	case pseudo.Latin1:
		return csvio.Latin1
	case pseudo.Windows1252:
		return csvio.Windows1252
	}
	return csvio.UTF8
}
