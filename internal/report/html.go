package report

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"strings"
	"unicode/utf8"
)

// WriteHTML writes the report as one self-contained HTML page (inline CSS
// and SVG charts, no scripts, no external resources), readable on screen
// and on paper.
func (r *Report) WriteHTML(w io.Writer) error {
	return pageTemplate.Execute(w, r)
}

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"num":       num,
	"numOrDash": numOrDash,
	"pct":       pctf,
	"status":    func(s Status) string { return string(s) },
	"statusWord": func(s Status) string {
		switch s {
		case Pass:
			return "pass"
		case Fail:
			return "fail"
		case Warn:
			return "warning"
		}
		return "n/a"
	},
	"join":        strings.Join,
	"riskRows":    riskRows,
	"bucketLabel": bucketLabel,
	"roleCounts":  roleCounts,
	"sizesChart":  sizesChart,
	"columnChart": columnChart,
	"time":        func(r *Report) string { return r.Generated.Format("2006-01-02 15:04:05 MST") },
	"yesno":       func(b bool) string { return pick(b, "yes", "no") },
	"i64":         func(n int) int64 { return int64(n) },
	"counts": func(r *Report) [4]int {
		var c [4]int
		for _, k := range r.Checks {
			switch k.Status {
			case Pass:
				c[0]++
			case Fail:
				c[1]++
			case Warn:
				c[2]++
			default:
				c[3]++
			}
		}
		return c
	},
}).Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="{{.Tool}}">
<title>De-identification report</title>
<style>
:root { --ink:#1d2330; --muted:#5b6475; --line:#d9dee7; --soft:#f4f6f9; --pass:#1e7b45; --pass-bg:#e5f4ea; --fail:#b42318; --fail-bg:#fdecea; --warn:#8a5a00; --warn-bg:#fff4d6; --na:#5b6475; --na-bg:#eef0f3; --accent:#2f5fa7; }
* { box-sizing: border-box; }
body { font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); margin: 0; background: #fff; }
main { max-width: 1040px; margin: 0 auto; padding: 32px 40px 48px; }
h1 { font-size: 28px; margin: 0 0 4px; letter-spacing: -0.01em; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 8px; }
p.sub { color: var(--muted); margin: 0 0 20px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.hash { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 11px; color: var(--muted); word-break: break-all; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 12px; font-size: 13.5px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; color: #333b4a; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr { page-break-inside: avoid; }
.verdict { display: flex; gap: 18px; align-items: center; border-radius: 10px; padding: 18px 22px; margin: 18px 0 6px; border: 1px solid; }
.verdict.ok { background: var(--pass-bg); border-color: #b7dfc4; }
.verdict.bad { background: var(--fail-bg); border-color: #f4c1bb; }
.verdict .big { font-size: 22px; font-weight: 700; }
.verdict.ok .big { color: var(--pass); } .verdict.bad .big { color: var(--fail); }
.verdict .tally { color: var(--muted); }
.badge { display: inline-block; min-width: 62px; text-align: center; border-radius: 999px; padding: 1px 9px; font-size: 12px; font-weight: 600; letter-spacing: .02em; }
.badge.pass { color: var(--pass); background: var(--pass-bg); } .badge.fail { color: var(--fail); background: var(--fail-bg); }
.badge.warn { color: var(--warn); background: var(--warn-bg); } .badge.na { color: var(--na); background: var(--na-bg); }
.role { font-size: 12px; font-weight: 600; border-radius: 4px; padding: 0 6px; }
.role.direct { color: var(--fail); background: var(--fail-bg); } .role.quasi { color: var(--warn); background: var(--warn-bg); }
.role.pseudonym { color: var(--accent); background: #e7eefb; } .role.other { color: var(--na); background: var(--na-bg); }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
.card h3 { margin-top: 0; }
ul.plain { padding-left: 18px; margin: 6px 0; } ul.plain li { margin: 4px 0; }
.muted { color: var(--muted); }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
svg text { font-family: -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
footer { margin-top: 40px; color: var(--muted); font-size: 12.5px; border-top: 1px solid var(--line); padding-top: 10px; }
@media print { main { padding: 0; max-width: none; } h2 { page-break-after: avoid; } .grid { grid-template-columns: 1fr 1fr; } .verdict, .badge, .role { -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
@media (max-width: 760px) { .grid { grid-template-columns: 1fr; } main { padding: 20px; } }
</style>
</head>
<body>
<main>
<h1>De-identification report</h1>
<p class="sub">Made by {{.Tool}} on {{time .}}. Every figure can be recomputed from the files: <code>pseudokit report --verify</code> on the JSON form of this report.</p>

{{$c := counts .}}
<section class="verdict {{if .Passed}}ok{{else}}bad{{end}}">
  <div class="big">{{if .Passed}}✓ All checks passed{{else}}✗ {{index $c 1}} check(s) failed{{end}}</div>
  <div class="tally">{{index $c 0}} passed · {{index $c 1}} failed · {{index $c 2}} warning(s) · {{index $c 3}} not applicable</div>
</section>
<table>
<tr><th>Check</th><th>Result</th><th>Value</th><th>Threshold</th></tr>
{{range .Checks}}<tr><td>{{.Name}}</td><td><span class="badge {{if eq (status .Status) "n/a"}}na{{else}}{{status .Status}}{{end}}">{{statusWord .Status}}</span></td><td>{{.Value}}</td><td class="muted">{{.Threshold}}</td></tr>
{{end}}</table>

<h2>Inputs and outputs</h2>
<table>
<tr><th></th><th>File</th><th>Format</th><th class="n">Rows</th><th class="n">Columns</th><th class="n">Bytes</th><th>SHA-256</th></tr>
{{range .Inputs}}<tr><td>input</td><td>{{.Path}}</td><td>{{.Format}}</td><td class="n">{{num .Rows}}</td><td class="n">{{.Columns}}</td><td class="n">{{num .Bytes}}</td><td class="hash">{{.SHA256}}</td></tr>
{{end}}{{range .Outputs}}<tr><td>output</td><td>{{.Path}}</td><td>{{.Format}}</td><td class="n">{{num .Rows}}</td><td class="n">{{.Columns}}</td><td class="n">{{num .Bytes}}</td><td class="hash">{{.SHA256}}</td></tr>
{{end}}{{range .Summaries}}<tr><td>{{.Kind}} summary</td><td>{{if .Path}}{{.Path}}{{else}}(this run){{end}}</td><td>json</td><td class="n">{{num .Rows}}</td><td></td><td></td><td class="hash">{{.SHA256}}</td></tr>
{{end}}</table>

{{if .Columns}}
<h2>Columns</h2>
<div class="grid">
<div>{{columnChart .}}</div>
<div class="muted" style="align-self:center">Role and kind come from scanning the input with <code>pseudokit scan</code>: <span class="role direct">direct</span> identifiers must be coded, replaced or removed; <span class="role quasi">quasi</span>-identifiers identify in combination and are measured with k-anonymity. The technique comes from the run summary.</div>
</div>
<table>
<tr><th>File</th><th>Column</th><th>Role</th><th>Kind</th><th>Technique</th><th class="n">Replaced</th><th class="n">Invalid</th><th>In output</th></tr>
{{range .Columns}}<tr><td>{{.File}}</td><td><code>{{.Column}}</code></td><td><span class="role {{.Role}}">{{.Role}}</span></td><td>{{.Kind}}</td><td>{{.Technique}}</td><td class="n">{{numOrDash .Replaced}}</td><td class="n">{{numOrDash .Invalid}}</td><td>{{yesno .InOutput}}</td></tr>
{{end}}</table>
{{end}}

<h2>Methods and parameters</h2>
<ul class="plain">
{{with .Methods.Codes}}<li><strong>Codes</strong> (scheme {{.Scheme}}, domain {{join .Domains ", "}}{{if .DomainKinds}}; {{join .DomainKinds ", "}}{{end}}{{if .KeySlots}}; {{.KeySlots}} key slot(s){{end}}): {{.Description}}</li>{{end}}
{{with .Methods.FakeNames}}<li><strong>Fictitious names</strong>: {{.}}.</li>{{end}}
{{if .Methods.Generalisation}}<li><strong>Generalisation</strong>: {{range $i, $g := .Methods.Generalisation}}{{if $i}}; {{end}}{{$g.Column}} level {{$g.Level}} of {{$g.Height}} ({{$g.Hierarchy}}){{end}}.</li>{{end}}
{{with .Methods.Metric}}<li><strong>Information loss</strong> ({{.}}): {{printf "%.4f" $.Methods.Loss}}.</li>{{end}}
<li><strong>Residual scan</strong>: {{.Methods.Scanner}}.</li>
</ul>

<h2>Residual scan of the outputs</h2>
{{if not .Residual}}<p class="muted">No output was given.</p>{{end}}
{{range .Residual}}
<h3>{{.File}} <span class="badge {{if .Pass}}pass{{else}}fail{{end}}">{{if .Pass}}no direct identifier{{else}}identifiers found{{end}}</span></h3>
<p class="muted">Columns: {{roleCounts .Columns}}.</p>
{{if .Findings}}<table><tr><th>Column</th><th>Kind</th><th class="n">Values</th><th>Finding</th></tr>
{{range .Findings}}<tr><td><code>{{.Column}}</code></td><td>{{.Kind}}</td><td class="n">{{num .Values}}</td><td>{{if .Expected}}<span class="badge pass">expected</span> {{end}}{{.Note}}</td></tr>
{{end}}</table>{{end}}
{{end}}

{{if .Risk}}
<h2>Re-identification risk</h2>
{{range .Risk}}
<p>Quasi-identifiers: <strong>{{join .QI ", "}}</strong>. Threshold: k ≥ {{.K}}{{if .L}}, l ≥ {{.L}}{{end}}. A record's prosecutor risk is 1 / the size of its equivalence class.</p>
<div class="grid">
<div>
<table>
<tr><th>Measure</th><th class="n">{{if .After}}Before{{else}}Value{{end}}</th>{{if .After}}<th class="n">After</th>{{end}}</tr>
{{$after := .After}}{{range riskRows .}}<tr><td>{{index . 0}}</td><td class="n">{{index . 1}}</td>{{if $after}}<td class="n">{{index . 2}}</td>{{end}}</tr>
{{end}}</table>
<p class="muted">Before: {{.Input}}{{if .Output}}; after: {{.Output}}{{end}}.</p>
</div>
<div>{{sizesChart .}}</div>
</div>
{{end}}
{{end}}

{{if .Utility}}
<h2>Suppression and utility</h2>
<table>
<tr><th>Input → output</th><th class="n">Rows in</th><th class="n">Rows out</th><th class="n">Removed</th><th class="n">Withdrawn</th><th class="n">Suppressed</th><th class="n">Columns dropped</th><th class="n">Values replaced</th><th class="n">Rows kept</th></tr>
{{range .Utility}}<tr><td>{{.Input}} → {{.Output}}</td><td class="n">{{num .RowsIn}}</td><td class="n">{{num .RowsOut}}</td><td class="n">{{num .RowsRemoved}}</td><td class="n">{{num .WithdrawnRows}}</td><td class="n">{{num .Suppressed}}</td><td class="n">{{.ColumnsDropped}} of {{.ColumnsIn}}</td><td class="n">{{num .ValuesReplaced}}</td><td class="n">{{pct .RowsKept}}</td></tr>
{{end}}</table>
{{end}}

{{with .Vault}}
<h2>Identifier-key vault</h2>
<div class="grid">
<div class="card">
<h3>Key and retention</h3>
<ul class="plain">
<li>Project <strong>{{.Project}}</strong>, vault <span class="mono">{{.VaultID}}</span>, format {{.Format}}, created {{.Created}}</li>
<li>Retention date: {{if .Retention}}<strong>{{.Retention}}</strong>{{if .RetentionPassed}} <span class="badge fail">passed</span>{{end}}{{else}}<span class="badge warn">none set</span>{{end}}</li>
<li>Persons who have withdrawn consent: {{.WithdrawnPersons}}</li>
{{range .Domains}}<li>Domain <strong>{{.Name}}</strong> ({{.Scheme}} codes): {{num (i64 .Active)}} active, {{num (i64 .Withdrawn)}} withdrawn links</li>{{end}}
</ul>
<h3>Key holders ({{len .Holders}})</h3>
<ul class="plain">{{range .Holders}}<li>#{{.ID}} {{.Type}} “{{.Label}}” (since {{.Created}})</li>{{end}}</ul>
</div>
<div class="card">
<h3>Access log <span class="badge {{if .LogVerified}}pass{{else}}fail{{end}}">{{if .LogVerified}}verified{{else}}not verified{{end}}</span></h3>
<p class="muted">{{.LogEntries}} entries; head <span class="hash">{{.LogHead}}</span> ({{.LogHeadAt}}).{{if .LogProblem}} {{.LogProblem}}{{end}}</p>
<table><tr><th>Action</th><th class="n">Entries</th><th class="n">Actors</th><th>Last</th></tr>
{{range .Access}}<tr><td>{{.Action}}</td><td class="n">{{.Count}}</td><td class="n">{{.Actors}}</td><td>{{.Last}}</td></tr>
{{end}}</table>
</div>
</div>
<h3>Withdrawals applied</h3>
{{if .Withdrawals}}<table><tr><th class="n">Log entry</th><th>Time</th><th class="n">Persons</th><th class="n">Links withdrawn</th></tr>
{{range .Withdrawals}}<tr><td class="n">{{.Seq}}</td><td>{{.Time}}</td><td class="n">{{.Persons}}</td><td class="n">{{.Links}}</td></tr>
{{end}}</table>{{else}}<p class="muted">None.</p>{{end}}
{{if .Provenance}}<h3>Provenance</h3><ul class="plain">{{range .Provenance}}<li>{{.File}} was written by log entry {{.Seq}} ({{.Action}}, {{.Time}}, {{.Tool}})</li>{{end}}</ul>{{end}}
{{end}}

<h2>Reproduce and verify</h2>
<pre>{{.Command}}
pseudokit report --verify REPORT.json</pre>
{{if .Notes}}<h2>Notes</h2><ul class="plain">{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<footer>This report holds file and column names, digests, counts and parameters. It contains no value of any dataset and no key.</footer>
</main>
</body>
</html>
`

// sizesChart draws the share of records by class size, before and after,
// as grouped bars; sizes below the threshold k are shaded.
func sizesChart(rk Risk) template.HTML {
	const w, h, left, bottom, top = 460.0, 250.0, 44.0, 44.0, 28.0
	before := rk.Before.Sizes
	var after []SizeBucket
	if rk.After != nil {
		after = rk.After.Sizes
	}
	// Leave out the empty buckets of large classes (but show those up to k).
	n := 0
	for i, bk := range before {
		if bk.Records > 0 || i < len(after) && after[i].Records > 0 || bk.Max != 0 && bk.Max <= int64(rk.K) {
			n = i + 1
		}
	}
	n = min(len(before), max(n+1, 5))
	if n == 0 {
		return ""
	}
	share := func(bs []SizeBucket, i int, total int64) float64 {
		if i >= len(bs) || total == 0 {
			return 0
		}
		return float64(bs[i].Records) / float64(total)
	}
	maxShare := 0.0
	for i := 0; i < n; i++ {
		maxShare = max(maxShare, share(before, i, rk.Before.Records))
		if rk.After != nil {
			maxShare = max(maxShare, share(after, i, rk.After.Records))
		}
	}
	if maxShare == 0 {
		maxShare = 1
	}
	// Round the axis up to a multiple of 10 %.
	axis := float64(int(maxShare*10+0.999)) / 10
	plotW, plotH := w-left-10, h-bottom-top
	slot := plotW / float64(n)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-label="Share of records by equivalence-class size">`, w, h)
	fmt.Fprintf(&b, `<text x="%.0f" y="16" font-size="13" font-weight="600" fill="#1d2330">Records by equivalence-class size</text>`, left)
	// Shade the sizes below k.
	below := 0
	for _, bk := range before[:n] {
		if bk.Max != 0 && bk.Max < int64(rk.K) {
			below++
		}
	}
	if below > 0 {
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#fdecea"/>`, left, top, slot*float64(below), plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" fill="#b42318" text-anchor="end">classes below k = %d</text>`, left+slot*float64(below)-4, top+12, rk.K)
	}
	for t := 0; t <= 4; t++ {
		v := axis * float64(t) / 4
		y := top + plotH - plotH*v/axis
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#d9dee7" stroke-width="1"/>`, left, left+plotW, y, y)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" fill="#5b6475" text-anchor="end">%.0f%%</text>`, left-6, y+3.5, 100*v)
	}
	bar := slot * 0.36
	if rk.After == nil {
		bar = slot * 0.6
	}
	for i := 0; i < n; i++ {
		x := left + slot*float64(i) + slot*0.5
		draw := func(s float64, dx float64, color string) {
			bh := plotH * s / axis
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" rx="1.5"/>`, x+dx, top+plotH-bh, bar, bh, color)
		}
		if rk.After != nil {
			draw(share(before, i, rk.Before.Records), -bar, "#9aa8bf")
			draw(share(after, i, rk.After.Records), 0, "#2f7d5a")
		} else {
			draw(share(before, i, rk.Before.Records), -bar/2, "#2f5fa7")
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" fill="#5b6475" text-anchor="middle">%s</text>`, x, top+plotH+14, html.EscapeString(shortBucket(before[i])))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10.5" fill="#5b6475" text-anchor="middle">class size</text>`, left+plotW/2, h-12)
	if rk.After != nil {
		lx := left + plotW - 150
		fmt.Fprintf(&b, `<rect x="%.1f" y="6" width="10" height="10" fill="#9aa8bf"/><text x="%.1f" y="15" font-size="11" fill="#1d2330">before</text>`, lx, lx+14)
		fmt.Fprintf(&b, `<rect x="%.1f" y="6" width="10" height="10" fill="#2f7d5a"/><text x="%.1f" y="15" font-size="11" fill="#1d2330">after</text>`, lx+70, lx+84)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func shortBucket(b SizeBucket) string {
	switch {
	case b.Max == 0:
		return fmt.Sprintf("%d+", b.Min)
	case b.Min == b.Max:
		return fmt.Sprint(b.Min)
	}
	return fmt.Sprintf("%d-%d", b.Min, b.Max)
}

// columnChart draws what happened to the input columns as one stacked bar.
func columnChart(r *Report) template.HTML {
	type seg struct {
		label, color string
		n            int
	}
	segs := []seg{{"coded", "#2f5fa7", 0}, {"fictitious names", "#6f8fd0", 0}, {"dropped", "#b42318", 0},
		{"generalised", "#2f7d5a", 0}, {"kept", "#9aa8bf", 0}, {"kept, no rule", "#d08a00", 0}, {"unknown", "#d9dee7", 0}}
	for _, c := range r.Columns {
		t := c.Technique
		if i := strings.LastIndex(t, "→ "); i >= 0 { // what the last run did
			t = t[i+len("→ "):]
		}
		switch {
		case strings.HasPrefix(t, "code"):
			segs[0].n++
		case t == "fake-name":
			segs[1].n++
		case t == "drop" || t == "not in the output":
			segs[2].n++
		case strings.HasPrefix(t, "generalised"):
			segs[3].n++
		case t == "keep":
			segs[4].n++
		case strings.HasPrefix(t, "kept"):
			segs[5].n++
		default:
			segs[6].n++
		}
	}
	total := len(r.Columns)
	if total == 0 {
		return ""
	}
	const w, barY, barH = 460.0, 30.0, 26.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f 130" width="100%%" role="img" aria-label="What was done to the columns">`, w)
	b.WriteString(`<text x="0" y="16" font-size="13" font-weight="600" fill="#1d2330">What was done to the input columns</text>`)
	x := 0.0
	for _, s := range segs {
		if s.n == 0 {
			continue
		}
		sw := w * float64(s.n) / float64(total)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.0f" width="%.1f" height="%.0f" fill="%s"/>`, x, barY, sw, barH, s.color)
		if sw > 18 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" fill="#fff" text-anchor="middle" font-weight="600">%d</text>`, x+sw/2, barY+17.5, s.n)
		}
		x += sw
	}
	lx, ly := 0.0, barY+barH+22
	for _, s := range segs {
		if s.n == 0 {
			continue
		}
		label := fmt.Sprintf("%s (%d)", s.label, s.n)
		width := 26 + 5.9*float64(utf8.RuneCountInString(label))
		if lx+width > w {
			lx, ly = 0, ly+20
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="%s"/><text x="%.1f" y="%.1f" font-size="11" fill="#1d2330">%s</text>`, lx, ly-9, s.color, lx+14, ly, html.EscapeString(label))
		lx += width
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
