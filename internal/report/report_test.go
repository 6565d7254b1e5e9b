package report

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/nid"
)

var update = flag.Bool("update", false, "rewrite the golden report (and make testdata/raw.csv, out.csv, run.json if raw.csv is missing)")

func TestMain(m *testing.M) {
	keyvault.DefaultKDF = keyvault.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1} // test hook: cheap KDF
	os.Exit(m.Run())
}

// people are synthetic participants: Test-Norge numbers, names from the lists.
type person struct {
	id, given, family, phone string
	year                     int
	sex                      string
	postcode                 string
}

func people(n int) []person {
	r := rand.New(rand.NewPCG(5, 5))
	var out []person
	for len(out) < n {
		y := 1950 + 10*r.IntN(4)
		num, err := nid.Synthetic(time.Date(y+r.IntN(10), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC), r.IntN(500), nid.FNR, true)
		if err != nil {
			continue
		}
		out = append(out, person{
			id: num.String(), given: pseudo.GivenNames[r.IntN(len(pseudo.GivenNames))], family: pseudo.FamilyNames[r.IntN(len(pseudo.FamilyNames))],
			phone: fmt.Sprintf("9%07d", r.IntN(10000000)), year: y, sex: []string{"K", "M"}[r.IntN(2)],
			postcode: []string{"0150", "5003", "7010"}[r.IntN(3)],
		})
	}
	return out
}

// rawCSV is a study dataset with direct identifiers, quasi-identifiers
// (decade of birth, sex, postcode) and a note that sometimes holds a phone number.
func rawCSV(ps []person) string {
	var b strings.Builder
	b.WriteString("fnr;fornavn;etternavn;fodselstiar;kjonn;postnummer;notat;verdi\n")
	for i, p := range ps {
		note := "Ingen merknader i dag"
		if i%7 == 3 {
			note = "Ring pasienten på " + p.phone[:3] + " " + p.phone[3:5] + " " + p.phone[5:]
		}
		fmt.Fprintf(&b, "%s;%s;%s;%d;%s;%s;%s;%d\n", p.id, p.given, p.family, p.year, p.sex, p.postcode, note, 50+i%40)
	}
	return b.String()
}

var testRules = &pseudo.Rules{Version: 1, Columns: []pseudo.ColumnRule{
	{Column: "fnr", Action: pseudo.ActionCode, Kind: pseudo.KindNID, Subject: true},
	{Column: "fornavn", Action: pseudo.ActionFakeName, Part: pseudo.PartGiven},
	{Column: "etternavn", Action: pseudo.ActionFakeName, Part: pseudo.PartFamily},
	{Column: "notat", Action: pseudo.ActionDrop},
	{Column: "fodselstiar", Action: pseudo.ActionKeep},
	{Column: "kjonn", Action: pseudo.ActionKeep},
	{Column: "postnummer", Action: pseudo.ActionKeep},
}}

// study makes a raw dataset in dir, pseudonymises it with a new vault and
// writes the run summary. It returns the vault (open) and the paths.
func study(t *testing.T, dir string, n int) (v *keyvault.Vault, raw, out, sum string, ps []person) {
	t.Helper()
	ps = people(n)
	raw, out, sum = filepath.Join(dir, "raw.csv"), filepath.Join(dir, "out.csv"), filepath.Join(dir, "run.json")
	require.NoError(t, os.WriteFile(raw, []byte(rawCSV(ps)), 0o600))
	v, err := keyvault.Create(filepath.Join(t.TempDir(), "study.vault"), keyvault.CreateOptions{Project: "Study A", Passphrase: []byte("pw"),
		Retention: time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	t.Cleanup(func() { v.Close() })
	res, err := (&pseudo.FileJob{Vault: v, Rules: testRules, In: raw, Out: out, Actor: "tester"}).Run(context.Background())
	require.NoError(t, err)
	b, err := json.MarshalIndent(res, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(sum, b, 0o600))
	return v, raw, out, sum, ps
}

var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestBuildWithVault(t *testing.T) {
	dir := t.TempDir()
	v, raw, out, sum, _ := study(t, dir, 60)
	ctx := context.Background()
	r, err := Build(ctx, Options{Inputs: []string{raw}, Outputs: []string{out}, Summaries: []string{sum}, Vault: v,
		QI: []string{"fodselstiar", "kjonn"}, K: 2, Sensitive: []string{"verdi"}, L: 2, Command: "pseudokit report ...", Tool: "pseudokit test", Now: fixedNow})
	require.NoError(t, err)

	status := map[string]Status{}
	for _, c := range r.Checks {
		status[strings.SplitN(c.Name, " of ", 2)[0]] = c.Status
	}
	require.Equal(t, Pass, status["No direct identifier remains in the outputs"], r.Checks)
	require.Equal(t, Pass, status["k-anonymity"], r.Checks)
	require.Equal(t, Warn, status["Every input column has a rule"]) // verdi
	require.Equal(t, Pass, status["Output "+out+" is what the recorded runs made"], r.Checks)
	require.Equal(t, Pass, status["Vault access log verifies"])
	require.Equal(t, Pass, status["Retention date"])
	require.Equal(t, Pass, status["l-diversity"])

	require.Len(t, r.Inputs, 1)
	require.EqualValues(t, 60, r.Inputs[0].Rows)
	require.Len(t, r.Outputs, 1)
	col := map[string]Column{}
	for _, c := range r.Columns {
		col[c.Column] = c
	}
	require.Equal(t, "code nid", col["fnr"].Technique)
	require.EqualValues(t, 60, col["fnr"].Replaced)
	require.Equal(t, "fake-name", col["fornavn"].Technique)
	require.Equal(t, "drop", col["notat"].Technique)
	require.False(t, col["notat"].InOutput)
	require.Equal(t, "free-text", string(col["notat"].Kind))
	require.Equal(t, "kept (not named in the rules)", col["verdi"].Technique)

	require.True(t, r.Residual[0].Pass)
	require.Len(t, r.Residual[0].Findings, 2) // the fictitious names
	for _, f := range r.Residual[0].Findings {
		require.True(t, f.Expected)
	}
	require.NotNil(t, r.Methods.Codes)
	require.Equal(t, 1, r.Methods.Codes.KeySlots)
	require.Len(t, r.Risk, 1)
	require.EqualValues(t, 60, r.Risk[0].Before.Records)
	require.GreaterOrEqual(t, r.Risk[0].After.K, int64(2))

	require.NotNil(t, r.Vault)
	require.Equal(t, "Study A", r.Vault.Project)
	require.True(t, r.Vault.LogVerified)
	require.Equal(t, "2099-12-31", r.Vault.Retention)
	require.Len(t, r.Vault.Provenance, 1)
	require.Equal(t, out, r.Vault.Provenance[0].File)

	// Verify: everything matches, vault included.
	var buf bytes.Buffer
	require.NoError(t, r.WriteJSON(&buf))
	back, err := ReadJSON(&buf)
	require.NoError(t, err)
	res, err := Verify(ctx, back, VerifyOptions{Vault: v})
	require.NoError(t, err)
	require.Empty(t, res.Mismatches)
	require.Empty(t, res.Skipped)

	// A withdrawal after the report does not change the figures up to its head.
	_, err = v.Withdraw(ctx, []keyvault.Person{{Kind: "nid", Canonical: people(1)[0].id}}, keyvault.Entry{Purpose: "test"})
	require.NoError(t, err)
	res, err = Verify(ctx, back, VerifyOptions{Vault: v})
	require.NoError(t, err)
	require.Empty(t, res.Mismatches)

	// A new report shows the withdrawal.
	r2, err := Build(ctx, Options{Outputs: []string{out}, Vault: v, Now: fixedNow})
	require.NoError(t, err)
	require.Len(t, r2.Vault.Withdrawals, 1)
	require.EqualValues(t, 1, r2.Vault.Withdrawals[0].Persons)
	require.Equal(t, 1, r2.Vault.WithdrawnPersons)
}

func TestVerifyFindsChanges(t *testing.T) {
	dir := t.TempDir()
	_, raw, out, sum, _ := study(t, dir, 30)
	ctx := context.Background()
	r, err := Build(ctx, Options{Inputs: []string{raw}, Outputs: []string{out}, Summaries: []string{sum}, QI: []string{"kjonn"}, Now: fixedNow})
	require.NoError(t, err)
	res, err := Verify(ctx, r, VerifyOptions{})
	require.NoError(t, err)
	require.Empty(t, res.Mismatches)

	// An output with a row fewer: hash, rows, k all differ.
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(b), "\n")
	require.NoError(t, os.WriteFile(out, []byte(strings.Join(lines[:len(lines)-2], "")), 0o600))
	res, err = Verify(ctx, r, VerifyOptions{})
	require.NoError(t, err)
	var items []string
	for _, m := range res.Mismatches {
		items = append(items, m.Item)
	}
	require.Contains(t, items, "outputs[0].rows")
	require.Contains(t, items, "outputs[0].sha256")
	require.Contains(t, items, "risk[0].after.records")
	require.Contains(t, strings.Join(items, " "), "outputs[0].sha256 (")

	// A changed summary file is named.
	require.NoError(t, os.WriteFile(sum, []byte("{}"), 0o600))
	res, err = Verify(ctx, r, VerifyOptions{})
	require.NoError(t, err)
	require.Contains(t, res.Mismatches[0].Item, "summary")

	// An output that no longer reads at all is a mismatch, not an error.
	require.NoError(t, os.WriteFile(out, []byte("a,b\n1\n"), 0o600))
	res, err = Verify(ctx, r, VerifyOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, res.Mismatches)
}

// TestNoIdentifierInReport: a report over a dataset with synthetic
// identity numbers (and names and phone numbers) contains none of them, in
// any format.
func TestNoIdentifierInReport(t *testing.T) {
	dir := t.TempDir()
	v, raw, out, sum, ps := study(t, dir, 40)
	r, err := Build(context.Background(), Options{Inputs: []string{raw}, Outputs: []string{out}, Summaries: []string{sum}, Vault: v,
		QI: []string{"fodselstiar", "kjonn", "postnummer"}, Sensitive: []string{"verdi"}, Now: fixedNow})
	require.NoError(t, err)
	var all bytes.Buffer
	require.NoError(t, r.WriteJSON(&all))
	require.NoError(t, r.WriteMarkdown(&all))
	require.NoError(t, r.WriteHTML(&all))
	text := all.String()
	for _, p := range ps {
		for _, form := range []string{p.id, p.id[:6] + " " + p.id[6:], p.id[:6] + "-" + p.id[6:], strings.TrimLeft(p.id, "0"), p.id[:6], p.phone, p.phone[:3] + " " + p.phone[3:5]} {
			require.NotContains(t, text, form)
		}
		require.NotContains(t, text, p.given+" "+p.family)
	}
	// Nor any eleven-digit run at all, digests and ids (hex) aside.
	text = regexp.MustCompile(`[0-9a-f]{32,}`).ReplaceAllString(text, "<hex>")
	digits := 0
	for _, c := range text {
		if c >= '0' && c <= '9' {
			digits++
			require.Less(t, digits, 11, "a run of 11 digits in the report")
		} else {
			digits = 0
		}
	}
}

func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	_, raw, out, sum, _ := study(t, dir, 30)
	build := func() string {
		r, err := Build(context.Background(), Options{Inputs: []string{raw}, Outputs: []string{out}, Summaries: []string{sum}, QI: []string{"kjonn", "postnummer"}, Now: fixedNow})
		require.NoError(t, err)
		var b bytes.Buffer
		require.NoError(t, r.WriteJSON(&b))
		require.NoError(t, r.WriteMarkdown(&b))
		require.NoError(t, r.WriteHTML(&b))
		return b.String()
	}
	require.Equal(t, build(), build())
}

// TestGoldenMarkdown compares the Markdown report over testdata (made by
// study once, committed; regenerate with -update) with report.golden.md.
func TestGoldenMarkdown(t *testing.T) {
	if _, err := os.Stat("testdata/raw.csv"); err != nil && *update {
		dir := t.TempDir()
		_, raw, out, sum, _ := study(t, dir, 60)
		for _, f := range []string{raw, out, sum} {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join("testdata", filepath.Base(f)), b, 0o644))
		}
	}
	r, err := Build(context.Background(), Options{
		Inputs: []string{"testdata/raw.csv"}, Outputs: []string{"testdata/out.csv"}, Summaries: []string{"testdata/run.json"},
		QI: []string{"fodselstiar", "kjonn", "postnummer"}, K: 3, Sensitive: []string{"verdi"},
		Command: "pseudokit report --input testdata/raw.csv --output testdata/out.csv --summary testdata/run.json --qi fodselstiar,kjonn,postnummer --k 3 --sensitive verdi --out report.md",
		Tool:    "pseudokit test", Now: fixedNow,
	})
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, r.WriteMarkdown(&b))
	golden := filepath.Join("testdata", "report.golden.md")
	if *update {
		require.NoError(t, os.WriteFile(golden, b.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), b.String())
}

func TestHTMLSelfContained(t *testing.T) {
	r, err := Build(context.Background(), Options{
		Inputs: []string{"testdata/raw.csv"}, Outputs: []string{"testdata/out.csv"}, Summaries: []string{"testdata/run.json"},
		QI: []string{"fodselstiar", "kjonn"}, Now: fixedNow,
	})
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, r.WriteHTML(&b))
	h := b.String()
	require.True(t, strings.HasPrefix(h, "<!DOCTYPE html>"))
	require.Equal(t, 2, strings.Count(h, "<svg"))
	require.NotContains(t, h, "<script")
	require.NotContains(t, h, "http://")
	require.NotContains(t, h, "https://")
	require.NotContains(t, h, "src=")
	require.Contains(t, h, "@media print")
}

func TestHostileNamesEscaped(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.csv")
	require.NoError(t, os.WriteFile(p, []byte("\"<script>alert(1)</script>\",\"a|b\"\n1,2\n"), 0o600))
	r, err := Build(context.Background(), Options{Inputs: []string{p}, Now: fixedNow})
	require.NoError(t, err)
	var h, m bytes.Buffer
	require.NoError(t, r.WriteHTML(&h))
	require.NoError(t, r.WriteMarkdown(&m))
	require.NotContains(t, h.String(), "<script>")
	require.NotContains(t, m.String(), "<script>")
	require.Contains(t, m.String(), `a\|b`)
}

func TestParseSummaries(t *testing.T) {
	s, err := parseSummary([]byte(`{"tool":"pseudokit","input_sha256":"aa","output_sha256":"bb","rows_in":10,"rows_out":8,"suppressed":2,
		"dropped":["notat"],"kept":["verdi"],"quasi_identifiers":[{"column":"alder","hierarchy":"intervals 5,10","level":1,"height":3}],
		"target":{"k":5,"metric":"loss"},"search":{"value":0.25}}`))
	require.NoError(t, err)
	require.Equal(t, "anonymize", s.Kind)
	require.EqualValues(t, 2, s.Suppressed)
	require.Equal(t, []Generalisation{{Column: "alder", Level: 1, Height: 3, Hierarchy: "intervals 5,10"}}, s.Levels)
	require.Equal(t, 0.25, s.Loss)

	s, err = parseSummary([]byte(`{"solution":{"suppressed":3,"records":9,"metric":"aecs","value":2}}`))
	require.NoError(t, err)
	require.EqualValues(t, 3, s.Suppressed)

	_, err = parseSummary([]byte(`{"hello":1}`))
	require.ErrorIs(t, err, ErrSummary)
	_, err = parseSummary([]byte(`not json`))
	require.ErrorIs(t, err, ErrSummary)
}

func TestResidualFindsLeftIdentifiers(t *testing.T) {
	dir := t.TempDir()
	ps := people(20)
	p := filepath.Join(dir, "leak.csv")
	var b strings.Builder
	b.WriteString("kode,antall,kommentar\n")
	for i, x := range ps {
		c := "ok"
		if i == 3 {
			c = "fnr " + x.id
		}
		fmt.Fprintf(&b, "K%d,%d,%s\n", i, i, c)
	}
	b.WriteString("K99," + ps[0].id + ",ok\n") // a stray number in a count column
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o600))
	r, err := Build(context.Background(), Options{Outputs: []string{p}, Now: fixedNow})
	require.NoError(t, err)
	require.False(t, r.Residual[0].Pass)
	require.False(t, r.Passed())
	var cols []string
	for _, f := range r.Residual[0].Findings {
		cols = append(cols, f.Column)
	}
	require.ElementsMatch(t, []string{"antall"}, cols[:1])
	require.Contains(t, cols, "kommentar")
}

// TestChainOfRuns: raw -> pseudonymize -> anonymize -> shared; the report
// follows the SHA-256 chain and tells each column's techniques in order.
func TestChainOfRuns(t *testing.T) {
	dir := t.TempDir()
	_, raw, out, sum, _ := study(t, dir, 40)
	// A hand-made "anonymisation": keep the decade and sex, drop the rest.
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	var shared strings.Builder
	shared.WriteString("fodselstiar;kjonn\n")
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i == 0 {
			continue
		}
		f := strings.Split(line, ";")
		fmt.Fprintf(&shared, "%s-%s;%s\n", f[3][:3], "9", f[4])
	}
	anon := filepath.Join(dir, "shared.csv")
	require.NoError(t, os.WriteFile(anon, []byte(shared.String()), 0o600))
	inSum, outSum := sha(t, out), sha(t, anon)
	anonJSON := filepath.Join(dir, "anon.json")
	require.NoError(t, os.WriteFile(anonJSON, []byte(`{"input_sha256":"`+inSum+`","output_sha256":"`+outSum+`","rows_in":40,"rows_out":40,"suppressed":0,
		"dropped":["fnr","fornavn","etternavn","postnummer","verdi"],"kept":[],"sensitive":[],
		"quasi_identifiers":[{"column":"fodselstiar","hierarchy":"groups decades.csv","level":1,"height":2},{"column":"kjonn","hierarchy":"sex.csv","level":0,"height":1}],
		"target":{"k":5,"metric":"loss"},"search":{"value":0.125}}`), 0o600))
	r, err := Build(context.Background(), Options{Inputs: []string{raw}, Outputs: []string{anon}, Summaries: []string{anonJSON, sum},
		QI: []string{"fodselstiar", "kjonn"}, Now: fixedNow})
	require.NoError(t, err)
	tech := map[string]string{}
	for _, c := range r.Columns {
		tech[c.Column] = c.Technique
	}
	require.Equal(t, "code nid → drop", tech["fnr"])
	require.Equal(t, "keep → generalised, level 1 of 2 (groups decades.csv)", tech["fodselstiar"])
	require.Equal(t, "drop", tech["notat"])
	var chainCheck Check
	for _, c := range r.Checks {
		if strings.HasPrefix(c.Name, "Output ") {
			chainCheck = c
		}
	}
	require.Equal(t, Pass, chainCheck.Status)
	require.Equal(t, "SHA-256 chain: input → pseudonymize → anonymize → output", chainCheck.Value)
	require.Equal(t, "loss", r.Methods.Metric)
	require.Len(t, r.Methods.Generalisation, 2)
	require.True(t, r.Residual[0].Pass)
}

func sha(t *testing.T, path string) string {
	s, err := table.FileSHA256(path)
	require.NoError(t, err)
	return s
}
