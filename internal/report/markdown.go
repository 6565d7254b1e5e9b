package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/pseudokit/pseudokit/pseudo/scan"
)

// WriteMarkdown writes the report as Markdown (GitHub flavour).
func (r *Report) WriteMarkdown(w io.Writer) error {
	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("# De-identification report\n\n")
	p("Made by %s on %s. Every figure below can be recomputed from the files with `pseudokit report --verify` on the JSON form of this report.\n\n",
		md(r.Tool), r.Generated.Format("2006-01-02 15:04:05 MST"))

	p("## Summary\n\n")
	verdict := "**All checks passed.**"
	if !r.Passed() {
		verdict = "**Some checks failed: see below before sharing the outputs.**"
	}
	p("%s\n\n| check | result | value | threshold |\n|---|---|---|---|\n", verdict)
	for _, c := range r.Checks {
		p("| %s | %s | %s | %s |\n", md(c.Name), statusWord(c.Status), md(c.Value), md(c.Threshold))
	}

	p("\n## Inputs and outputs\n\n| | file | format | rows | columns | bytes | SHA-256 |\n|---|---|---|---:|---:|---:|---|\n")
	for _, f := range r.Inputs {
		p("| input | %s | %s | %s | %d | %s | `%s` |\n", md(f.Path), f.Format, num(f.Rows), f.Columns, num(f.Bytes), f.SHA256)
	}
	for _, f := range r.Outputs {
		p("| output | %s | %s | %s | %d | %s | `%s` |\n", md(f.Path), f.Format, num(f.Rows), f.Columns, num(f.Bytes), f.SHA256)
	}
	for _, s := range r.Summaries {
		name := s.Path
		if name == "" {
			name = "(this run)"
		}
		p("| %s summary | %s | json | %s | | | `%s` |\n", s.Kind, md(name), num(s.Rows), s.SHA256)
	}

	if len(r.Columns) > 0 {
		p("\n## Columns\n\nRole and kind come from scanning the input (`pseudokit scan`); the technique from the run summary.\n\n")
		p("| file | column | role | kind | technique | values replaced | invalid | in output |\n|---|---|---|---|---|---:|---:|---|\n")
		for _, c := range r.Columns {
			p("| %s | %s | %s | %s | %s | %s | %s | %s |\n", md(c.File), md(c.Column), c.Role, c.Kind, md(c.Technique),
				numOrDash(c.Replaced), numOrDash(c.Invalid), pick(c.InOutput, "yes", "no"))
		}
	}

	p("\n## Methods and parameters\n\n")
	if m := r.Methods.Codes; m != nil {
		p("- **Codes** (scheme %s, domain %s", m.Scheme, md(joinOr(m.Domains, "-")))
		if len(m.DomainKinds) > 0 {
			p("; %s", md(strings.Join(m.DomainKinds, ", ")))
		}
		if m.KeySlots > 0 {
			p("; %d key slot(s)", m.KeySlots)
		}
		p("): %s\n", md(m.Description))
	}
	if r.Methods.FakeNames != "" {
		p("- **Fictitious names**: %s.\n", md(r.Methods.FakeNames))
	}
	if len(r.Methods.Generalisation) > 0 {
		p("- **Generalisation**:")
		for i, g := range r.Methods.Generalisation {
			p("%s %s level %d of %d (%s)", pick(i == 0, "", ";"), md(g.Column), g.Level, g.Height, md(g.Hierarchy))
		}
		p(".\n")
	}
	if r.Methods.Metric != "" {
		p("- **Information loss** (%s): %.4f.\n", md(r.Methods.Metric), r.Methods.Loss)
	}
	p("- **Residual scan**: %s.\n", md(r.Methods.Scanner))

	p("\n## Residual scan of the outputs\n\n")
	if len(r.Residual) == 0 {
		p("No output was given.\n")
	}
	for _, res := range r.Residual {
		p("**%s**: %s. Columns: %s.\n\n", md(res.File), pick(res.Pass, "no direct identifier found", "DIRECT IDENTIFIERS FOUND"), roleCounts(res.Columns))
		if len(res.Findings) > 0 {
			p("| column | kind | values | finding |\n|---|---|---:|---|\n")
			for _, f := range res.Findings {
				p("| %s | %s | %s | %s%s |\n", md(f.Column), f.Kind, num(f.Values), pick(f.Expected, "expected: ", ""), md(f.Note))
			}
			p("\n")
		}
	}

	if len(r.Risk) > 0 {
		p("\n## Re-identification risk\n\n")
		for _, rk := range r.Risk {
			p("Quasi-identifiers: %s. Threshold: k ≥ %d", md(strings.Join(rk.QI, ", ")), rk.K)
			if rk.L > 0 {
				p(", l ≥ %d", rk.L)
			}
			p(".\n\n")
			after := rk.After != nil
			if after {
				p("| measure | before (%s) | after (%s) |\n|---|---:|---:|\n", md(rk.Input), md(rk.Output))
			} else {
				p("| measure | %s |\n|---|---:|\n", md(rk.Input))
			}
			for _, row := range riskRows(rk) {
				if after {
					p("| %s | %s | %s |\n", row[0], row[1], row[2])
				} else {
					p("| %s | %s |\n", row[0], row[1])
				}
			}
			p("\nClass sizes (records in classes of each size):\n\n")
			p("| class size | %s |\n|---|---:%s|\n", pick(after, "before | after", "records"), pick(after, "|---:", ""))
			for i, b := range rk.Before.Sizes {
				line := fmt.Sprintf("| %s | %s", bucketLabel(b), num(b.Records))
				if after && i < len(rk.After.Sizes) {
					line += " | " + num(rk.After.Sizes[i].Records)
				}
				p("%s |\n", line)
			}
			for _, m := range []*Measures{rk.Before, rk.After} {
				if m != nil && len(m.Missing) > 0 {
					p("\nNot in the dataset, so not measured: %s.\n", md(strings.Join(m.Missing, ", ")))
				}
			}
			p("\n")
		}
	}

	if len(r.Utility) > 0 {
		p("\n## Suppression and utility\n\n| input | output | rows in | rows out | removed | of which withdrawn | suppressed | columns dropped | values replaced | rows kept |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, u := range r.Utility {
			p("| %s | %s | %s | %s | %s | %s | %s | %d of %d | %s | %.1f %% |\n", md(u.Input), md(u.Output), num(u.RowsIn), num(u.RowsOut),
				num(u.RowsRemoved), num(u.WithdrawnRows), num(u.Suppressed), u.ColumnsDropped, u.ColumnsIn, num(u.ValuesReplaced), 100*u.RowsKept)
		}
	}

	if v := r.Vault; v != nil {
		p("\n## Identifier-key vault\n\n")
		p("- Project: %s (vault %s, format %s, created %s)\n", md(v.Project), v.VaultID, v.Format, v.Created)
		p("- Retention date: %s\n", pick(v.Retention == "", "none set", v.Retention+pick(v.RetentionPassed, " (passed)", "")))
		p("- Key holders (%d): ", len(v.Holders))
		for i, h := range v.Holders {
			p("%s#%d %s %q (since %s)", pick(i == 0, "", "; "), h.ID, h.Type, md(h.Label), h.Created)
		}
		p("\n- Domains: ")
		for i, d := range v.Domains {
			p("%s%s (%s codes): %s active, %s withdrawn links", pick(i == 0, "", "; "), md(d.Name), d.Scheme, num(int64(d.Active)), num(int64(d.Withdrawn)))
		}
		p("\n- Persons who have withdrawn consent: %d\n", v.WithdrawnPersons)
		p("- Access log: %d entries, head `%s` (%s), %s\n", v.LogEntries, v.LogHead, v.LogHeadAt,
			pick(v.LogVerified, "hash chain and authenticated head verified", "VERIFICATION FAILED: "+md(v.LogProblem)))
		p("\n| action | entries | actors | first | last |\n|---|---:|---:|---|---|\n")
		for _, a := range v.Access {
			p("| %s | %d | %d | %s | %s |\n", md(a.Action), a.Count, a.Actors, a.First, a.Last)
		}
		p("\n**Withdrawals applied**: ")
		if len(v.Withdrawals) == 0 {
			p("none.\n")
		} else {
			p("\n\n| log entry | time | persons | links withdrawn |\n|---:|---|---:|---:|\n")
			for _, wd := range v.Withdrawals {
				p("| %d | %s | %d | %d |\n", wd.Seq, wd.Time, wd.Persons, wd.Links)
			}
		}
		if len(v.Provenance) > 0 {
			p("\n**Provenance**: ")
			for i, pv := range v.Provenance {
				p("%s%s was written by log entry %d (%s, %s, %s)", pick(i == 0, "", "; "), md(pv.File), pv.Seq, md(pv.Action), pv.Time, md(pv.Tool))
			}
			p(".\n")
		}
	}

	p("\n## Reproduce and verify\n\n```sh\n%s\npseudokit report --verify REPORT.json\n```\n", r.Command)
	if len(r.Notes) > 0 {
		p("\n## Notes\n\n")
		for _, n := range r.Notes {
			p("- %s\n", md(n))
		}
	}
	return b.Flush()
}

// riskRows are the rows of the risk table: name, before, after.
func riskRows(rk Risk) [][3]string {
	get := func(f func(m *Measures) string) [3]string {
		var row [3]string
		row[1] = f(rk.Before)
		if rk.After != nil {
			row[2] = f(rk.After)
		}
		return row
	}
	rows := [][3]string{}
	add := func(name string, f func(m *Measures) string) {
		row := get(f)
		row[0] = name
		rows = append(rows, row)
	}
	add("records", func(m *Measures) string { return num(m.Records) })
	add("equivalence classes", func(m *Measures) string { return num(m.Classes) })
	add("smallest class (k)", func(m *Measures) string { return num(m.K) })
	add(fmt.Sprintf("classes smaller than %d", rk.K), func(m *Measures) string { return num(m.ClassesBelow) })
	add(fmt.Sprintf("records in classes smaller than %d", rk.K), func(m *Measures) string { return num(m.RecordsBelow) })
	add("records unique on the quasi-identifiers", func(m *Measures) string { return num(m.SampleUniques) })
	add("average class size", func(m *Measures) string { return fmt.Sprintf("%.2f", m.AverageClassSize) })
	add("highest prosecutor risk (1/k)", func(m *Measures) string { return pctf(m.ProsecutorHighest) })
	add("average prosecutor risk", func(m *Measures) string { return pctf(m.ProsecutorAverage) })
	add(fmt.Sprintf("records at risk (risk > 1/%d)", rk.K), func(m *Measures) string { return pctf(m.RecordsAtRisk) })
	for i, q := range rk.QI {
		add("distinct values of "+md(q), func(m *Measures) string {
			if i < len(m.Distinct) && m.Distinct[i] >= 0 {
				return num(m.Distinct[i])
			}
			return "-"
		})
	}
	if len(rk.Before.Diversity) > 0 {
		for i, d := range rk.Before.Diversity {
			add("distinct l-diversity of "+md(d.Column), func(m *Measures) string {
				if i < len(m.Diversity) {
					return num(m.Diversity[i].DistinctL)
				}
				return "-"
			})
		}
	}
	return rows
}

func bucketLabel(b SizeBucket) string {
	switch {
	case b.Max == 0:
		return fmt.Sprintf("%d or more", b.Min)
	case b.Min == b.Max:
		return fmt.Sprint(b.Min)
	}
	return fmt.Sprintf("%d-%d", b.Min, b.Max)
}

func statusWord(s Status) string {
	switch s {
	case Pass:
		return "✅ pass"
	case Fail:
		return "❌ FAIL"
	case Warn:
		return "⚠️ warning"
	}
	return "– n/a"
}

func roleCounts(m map[scan.Role]int) string {
	var parts []string
	for _, r := range []scan.Role{scan.Direct, scan.Quasi, scan.Pseudonym, scan.OtherRole} {
		if m[r] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[r], r))
		}
	}
	return joinOr(parts, "none")
}

// md escapes text for a Markdown table cell.
func md(s string) string {
	s = strings.ReplaceAll(s, "\\", "\\\\")
	s = strings.ReplaceAll(s, "|", "\\|")
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "<", "&lt;")
	return s
}

// num formats a count with thin groups: 12 345.
func num(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func numOrDash(n int64) string {
	if n == 0 {
		return "-"
	}
	return num(n)
}

func pctf(x float64) string { return fmt.Sprintf("%.1f %%", 100*x) }
