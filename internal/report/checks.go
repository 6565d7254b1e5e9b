package report

import (
	"fmt"
	"strings"
)

// checks judges the figures against the thresholds.
func (r *Report) checks(sums []Summary, o Options) {
	r.Checks = []Check{}
	add := func(name string, st Status, value, threshold string) {
		r.Checks = append(r.Checks, Check{Name: name, Status: st, Value: value, Threshold: threshold})
	}

	// Residual direct identifiers.
	if len(r.Residual) == 0 {
		add("No direct identifier remains in the outputs", NA, "no output given", "none")
	} else {
		bad, expected := 0, 0
		for _, res := range r.Residual {
			for _, f := range res.Findings {
				if f.Expected {
					expected++
				} else {
					bad++
				}
			}
		}
		v := fmt.Sprintf("%d column(s) with direct identifiers", bad)
		if expected > 0 {
			v += fmt.Sprintf("; %d with fictitious names (expected)", expected)
		}
		add("No direct identifier remains in the outputs", pick(bad == 0, Pass, Fail), v, "none")
	}

	// k-anonymity and l-diversity of what is shared.
	if len(r.Risk) == 0 {
		add("k-anonymity on the quasi-identifiers", NA, "no quasi-identifiers given (--qi)", fmt.Sprintf("k ≥ %d", o.K))
	}
	for _, rk := range r.Risk {
		m, which := rk.After, rk.Output
		if m == nil {
			m, which = rk.Before, rk.Input
		}
		add("k-anonymity of "+which+" on "+strings.Join(rk.QI, ", "), pick(m.K >= int64(rk.K), Pass, Fail),
			fmt.Sprintf("k = %d; %d record(s) in classes smaller than %d", m.K, m.RecordsBelow, rk.K), fmt.Sprintf("k ≥ %d", rk.K))
		for _, d := range m.Diversity {
			add(fmt.Sprintf("l-diversity of %s in %s", d.Column, which), pick(d.DistinctL >= int64(rk.L), Pass, Fail),
				fmt.Sprintf("distinct l = %d", d.DistinctL), fmt.Sprintf("l ≥ %d", rk.L))
		}
	}

	// Every column named by the rules.
	if len(sums) == 0 {
		add("Every input column has a rule", NA, "no run summary given (--summary)", "")
	} else {
		var unmentioned []string
		for _, s := range sums {
			unmentioned = append(unmentioned, s.Unmentioned...)
		}
		add("Every input column has a rule", pick(len(unmentioned) == 0, Pass, Warn),
			pick(len(unmentioned) == 0, "all columns named", "kept without a rule: "+strings.Join(unmentioned, ", ")), "")
	}

	// The outputs are what the recorded runs made of the inputs.
	for i, f := range r.Outputs {
		in := ""
		if i < len(r.Inputs) {
			in = r.Inputs[i].SHA256
		}
		path, ok := chain(sums, in, f.SHA256)
		name := "Output " + f.Path + " is what the recorded runs made"
		if i < len(r.Inputs) {
			name += " of " + r.Inputs[i].Path
		}
		switch {
		case ok:
			var kinds []string
			for _, s := range path {
				kinds = append(kinds, s.Kind)
			}
			add(name, Pass, "SHA-256 chain: input → "+strings.Join(kinds, " → ")+" → output", "unbroken chain")
		case len(sums) == 0 && !inProvenance(r.Vault, f.Path):
			add(name, NA, "no run summary given (--summary)", "unbroken chain")
		default:
			v := "no run summary or vault log entry wrote this output"
			for _, s := range sums {
				if s.OutputSHA256 == f.SHA256 {
					v = "a run wrote this output, but the runs do not lead back to the input"
				}
			}
			if inProvenance(r.Vault, f.Path) {
				v = "the vault's log records a run that wrote this output; no run summary links it to the input"
			}
			add(name, Warn, v, "unbroken chain")
		}
	}

	// The vault.
	if r.Vault == nil {
		add("Vault access log verifies", NA, "no vault given (--vault)", "")
	} else {
		v := r.Vault
		add("Vault access log verifies", pick(v.LogVerified, Pass, Fail),
			pick(v.LogVerified, fmt.Sprintf("%d entries, head %s…", v.LogEntries, short(v.LogHead)), v.LogProblem), "hash chain and MAC intact")
		switch {
		case v.Retention == "":
			add("Retention date of the identifier key", Warn, "none set", "a date")
		case v.RetentionPassed:
			add("Retention date of the identifier key", Fail, v.Retention+" has passed: destroy the key", "not passed")
		default:
			add("Retention date of the identifier key", Pass, v.Retention, "not passed")
		}
	}
}

func pick[T any](cond bool, a, b T) T {
	if cond {
		return a
	}
	return b
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func inProvenance(v *Vault, path string) bool {
	if v == nil {
		return false
	}
	for _, p := range v.Provenance {
		if p.File == path {
			return true
		}
	}
	return false
}
