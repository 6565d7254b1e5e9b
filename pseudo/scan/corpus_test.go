package scan

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/nid"
)

// The labelled synthetic corpus in testdata/corpus is made by genCorpus
// (deterministic: same seed, same bytes). Every person is synthetic:
// Norwegian numbers are Test-Norge numbers (month + 80), the other numbers
// are random with valid check digits, names are drawn from name lists.
// Regenerate with: go test ./pseudo/scan -run TestCorpus -update
var update = flag.Bool("update", false, "rewrite the corpus, its labels and the measured figures")

const corpusDir = "testdata/corpus"

// corpusLabels are the true kinds of the corpus: per column its kind, per
// value whether it is a valid identifier of that kind, and the spans of
// identifiers inside free text.
type corpusLabels struct {
	Files []labelFile `json:"files"`
}

type labelFile struct {
	File    string        `json:"file"`
	Rows    int           `json:"rows"`
	Columns []labelColumn `json:"columns"`
}

type labelColumn struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Valid has one character a row: '1' when the value is an identifier
	// of Kind, '0' when not (an invalid number on purpose, or empty). Only
	// for identifier columns.
	Valid string      `json:"valid,omitempty"`
	Spans []labelSpan `json:"spans,omitempty"`
}

type labelSpan struct {
	Row   int  `json:"row"` // 0-based data row
	Kind  Kind `json:"kind"`
	Start int  `json:"start"`
	End   int  `json:"end"`
}

// gen draws synthetic values.
type gen struct {
	r      *rand.Rand
	given  []string
	family []string
}

var (
	// Names not in any shipped list: they measure the recall of names honestly.
	unlistedGiven  = []string{"Sigvald", "Ingebjørg", "Jomar", "Torjus", "Gudveig", "Amund", "Borgny", "Eldrid", "Ottar", "Ragnvald", "Oddny", "Tarald", "Gunvor", "Kolbjørn", "Embla"}
	unlistedFamily = []string{"Nordmann", "Skjeggestad", "Kvernmo", "Fjellstad", "Haugerud", "Brattli", "Sørli", "Ødegaard", "Grimsrud", "Tveitan", "Bjørkli"}
	domains        = []string{"example.no", "eksempel.no", "post.example.com", "uib.example", "online.example.no"}
	municipalities = []string{"Oslo", "Bergen", "Trondheim", "Stavanger", "Bærum", "Kristiansand", "Drammen", "Tromsø", "Sandnes", "Ålesund", "Bodø", "Molde", "Voss", "Lillehammer", "Skien"}
	diagnoses      = []string{"F32", "I10", "J45", "E11", "M54", "K21", "F41", "G43"}
	jobs           = []string{"sykepleier", "lærer", "ingeniør", "pensjonist", "student", "lege", "snekker", "selger", "kokk", "renholder"}
)

func newGen(seed uint64) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, 2024))}
	g.given = append(append([]string(nil), pseudo.GivenNames...), readLines("names/given.txt")...)
	g.family = append(append([]string(nil), pseudo.FamilyNames...), readLines("names/family.txt")...)
	return g
}

func (g *gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *gen) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.r.IntN(10))
	}
	return string(b)
}

func (g *gen) date(from, to int) time.Time {
	y := from + g.r.IntN(to-from+1)
	return time.Date(y, time.Month(1+g.r.IntN(12)), 1+g.r.IntN(28), 0, 0, 0, 0, time.UTC)
}

// nid returns a valid Test-Norge identity number (fødselsnummer or D-number).
func (g *gen) nid() string {
	for {
		b := g.date(1930, 2015)
		ind := g.r.IntN(500)
		if b.Year() >= 2000 {
			ind = 500 + g.r.IntN(500)
		}
		k := nid.FNR
		if g.r.IntN(5) == 0 {
			k = nid.DNumber
		}
		n, err := nid.Synthetic(b, ind, k, true)
		if err == nil {
			return n.String()
		}
	}
}

// badNID returns an identity number with a wrong check digit.
func (g *gen) badNID() string {
	s := []byte(g.nid())
	for {
		s[10] = '0' + (s[10]-'0'+byte(1+g.r.IntN(9)))%10
		if !nid.Valid(string(s)) {
			return string(s)
		}
	}
}

func (g *gen) given1() string {
	if g.r.IntN(100) < 12 {
		return g.pick(unlistedGiven)
	}
	return g.pick(g.given)
}

func (g *gen) family1() string {
	if g.r.IntN(100) < 12 {
		return g.pick(unlistedFamily)
	}
	return g.pick(g.family)
}

func ascii(s string) string {
	return strings.NewReplacer("æ", "ae", "ø", "o", "å", "aa", "Æ", "Ae", "Ø", "O", "Å", "Aa").Replace(s)
}

func (g *gen) email(given, family string) string {
	local := strings.ToLower(ascii(given))
	switch g.r.IntN(4) {
	case 0:
		local += "." + strings.ToLower(ascii(family))
	case 1:
		local += g.digits(2)
	case 2:
		local = local[:1] + strings.ToLower(ascii(family))
	}
	return local + "@" + g.pick(domains)
}

func (g *gen) phone() string {
	first := "49"[g.r.IntN(2)]
	if g.r.IntN(10) < 3 {
		first = "23567"[g.r.IntN(5)]
	}
	d := string(first) + g.digits(7)
	switch g.r.IntN(7) {
	case 0:
		return d[:3] + " " + d[3:5] + " " + d[5:]
	case 1:
		return "+47 " + d
	case 2:
		return "+47 " + d[:3] + " " + d[3:5] + " " + d[5:]
	case 3:
		return "0047 " + d
	case 4:
		return d[:2] + " " + d[2:4] + " " + d[4:6] + " " + d[6:]
	}
	return d
}

func luhnDigit(d string) byte {
	s := 0
	for i := 0; i < len(d); i++ {
		v := int(d[i] - '0')
		if i%2 == 0 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		s += v
	}
	return byte('0' + (10-s%10)%10)
}

func (g *gen) swedish() string {
	b := g.date(1940, 2010)
	day := b.Day()
	if g.r.IntN(10) == 0 {
		day += 60 // samordningsnummer
	}
	short := fmt.Sprintf("%02d%02d%02d%s", b.Year()%100, int(b.Month()), day, g.digits(3))
	short += string(luhnDigit(short))
	switch g.r.IntN(3) {
	case 0:
		return fmt.Sprintf("%d%s", b.Year(), short[2:])
	case 1:
		return fmt.Sprintf("%d%s-%s", b.Year(), short[2:6], short[6:])
	}
	return short[:6] + "-" + short[6:]
}

func (g *gen) danish() string {
	b := g.date(1940, 2010)
	first := byte('0' + g.r.IntN(4))
	if b.Year() >= 2000 {
		first = '4'
	}
	s := fmt.Sprintf("%02d%02d%02d%c%s", b.Day(), int(b.Month()), b.Year()%100, first, g.digits(3))
	if g.r.IntN(5) == 0 {
		return s
	}
	return s[:6] + "-" + s[6:]
}

func (g *gen) finnish() string {
	b := g.date(1940, 2015)
	sign := "-YX"[g.r.IntN(3)]
	if b.Year() >= 2000 {
		sign = "AB"[g.r.IntN(2)]
	}
	ind := 2 + g.r.IntN(898)
	n := (b.Day()*10000+int(b.Month())*100+b.Year()%100)*1000 + ind
	return fmt.Sprintf("%02d%02d%02d%c%03d%c", b.Day(), int(b.Month()), b.Year()%100, sign, ind, hetuCheck[n%31])
}

func (g *gen) mod11(prefix string, weights []int) (string, bool) {
	s := 0
	for i, w := range weights {
		s += int(prefix[i]-'0') * w
	}
	k := 11 - s%11
	if k == 11 {
		k = 0
	}
	if k == 10 {
		return "", false
	}
	return prefix + string(byte('0'+k)), true
}

func (g *gen) org() string {
	for {
		if s, ok := g.mod11(string("89"[g.r.IntN(2)])+g.digits(7), orgWeights[:]); ok {
			if g.r.IntN(3) == 0 {
				return s[:3] + " " + s[3:6] + " " + s[6:]
			}
			return s
		}
	}
}

func (g *gen) account() string {
	for {
		if s, ok := g.mod11(fmt.Sprint(1000+g.r.IntN(9000))+g.digits(6), accountWeights[:]); ok {
			switch g.r.IntN(3) {
			case 0:
				return s[:4] + "." + s[4:6] + "." + s[6:]
			case 1:
				return s[:4] + " " + s[4:6] + " " + s[6:]
			}
			return s
		}
	}
}

// text builds free text from a template: literal parts and {slots}. Slots
// of identifier kinds are labelled; the others are decoys (dates, amounts,
// blood pressures, municipalities).
func (g *gen) text(tmpl string, row int, spans *[]labelSpan) string {
	var b strings.Builder
	for tmpl != "" {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			break
		}
		b.WriteString(tmpl[:i])
		j := strings.IndexByte(tmpl, '}')
		slot := tmpl[i+1 : j]
		tmpl = tmpl[j+1:]
		var v string
		var k Kind
		switch slot {
		case "nid":
			v, k = g.nid(), NID
		case "phone":
			v, k = g.phone(), Phone
		case "email":
			v, k = g.email(g.given1(), g.family1()), Email
		case "full":
			v, k = g.given1()+" "+g.family1(), Name
		case "given":
			v, k = g.given1(), Name
		case "family":
			v, k = g.family1(), Name
		case "se":
			v, k = g.swedish(), SwedishPNR
		case "dk":
			v, k = g.danish(), DanishCPR
		case "fi":
			v, k = g.finnish(), FinnishHETU
		case "org":
			v, k = g.org(), OrgNumber
		case "account":
			v, k = g.account(), BankAccount
		case "date":
			d := g.date(2020, 2025)
			v = fmt.Sprintf("%02d.%02d.%d", d.Day(), int(d.Month()), d.Year())
		case "time":
			v = fmt.Sprintf("%02d.%02d", 8+g.r.IntN(8), 15*g.r.IntN(4))
		case "bp":
			v = fmt.Sprintf("%d/%d", 100+g.r.IntN(70), 60+g.r.IntN(40))
		case "amount":
			v = fmt.Sprintf("%d %03d", 1+g.r.IntN(99), g.r.IntN(1000))
		case "n":
			v = fmt.Sprint(1 + g.r.IntN(12))
		case "n2":
			v = fmt.Sprint(10 + g.r.IntN(90))
		case "ref":
			v = fmt.Sprintf("%d-%04d", 2018+g.r.IntN(8), g.r.IntN(10000))
		case "municipality":
			v = g.pick(municipalities)
		default:
			panic("unknown slot " + slot)
		}
		if k != "" {
			*spans = append(*spans, labelSpan{Row: row, Kind: k, Start: b.Len(), End: b.Len() + len(v)})
		}
		b.WriteString(v)
	}
	return b.String()
}

var notes = []string{
	"Ingen merknader.",
	"Oppfølging om {n} mnd.",
	"Flyttet, ny adresse mottatt.",
	"Pasienten ringte fra {phone} og ba om ny time.",
	"Pårørende {full} kan nås på {phone}.",
	"Fødselsnummer {nid} oppgitt på skjema, kontrollert.",
	"Svar sendt til {email} {date}.",
	"{given} møtte ikke til avtalt time.",
	"Samtale med dr. {family} om videre behandling.",
	"Blodtrykk {bp} mmHg, puls {n2}.",
	"Faktura på kr {amount} betalt fra konto {account}.",
	"Arbeidsgiver org.nr. {org}, kontaktperson {full}.",
	"Tidligere registrert i Sverige med personnummer {se}.",
	"Time flyttet til {date} kl {time}.",
	"Patient called from {phone}; spoke with {full}.",
	"Referanse {ref} i journalsystemet.",
	"Dosering økt til {n2} mg x 2, kontroll om {n} uker.",
	"Mor: {full}, tlf {phone}, e-post {email}.",
	"D-nummer {nid} registrert ved innleggelse.",
	"Henvist fra fastlege {full} i {municipality}.",
	"Dansk CPR-nummer {dk} fra tidligere opphold.",
	"Finsk henkilötunnus {fi} oppgitt.",
	"Snakket med {given} {family} om prøvesvar.",
	"Ny kontroll {date}, ta med medisinliste.",
}

var answers = []string{
	"Fornøyd med oppfølgingen.",
	"Lang ventetid på telefon.",
	"Trenger mer informasjon om behandlingen.",
	"Veldig bra, takk for hjelpen!",
	"Kunne vært bedre, men greit nok.",
	"Savner kveldstimer på legekontoret.",
	"Appen fungerer dårlig på mobil.",
	"Ingen kommentarer.",
}

type corpusFile struct {
	name  string
	comma rune
	cols  []labelColumn
	rows  [][]string
}

func (f *corpusFile) col(name string, k Kind) int {
	f.cols = append(f.cols, labelColumn{Name: name, Kind: k})
	return len(f.cols) - 1
}

// genCorpus makes the corpus: four files, 400 rows.
func genCorpus() ([]*corpusFile, corpusLabels) {
	g := newGen(6)
	var files []*corpusFile

	// participants.csv: a study's participant list, semicolon-separated.
	p := &corpusFile{name: "participants.csv", comma: ';'}
	cFnr, cGiven, cFamily := p.col("fnr", NID), p.col("fornavn", Name), p.col("etternavn", Name)
	cBirth, cSex, cPost := p.col("fodselsdato", BirthDate), p.col("kjonn", Sex), p.col("postnummer", Postcode)
	cMun, cJob, cMail, cMob, cNote := p.col("kommune", Municipality), p.col("yrke", Occupation), p.col("epost", Email), p.col("mobil", Phone), p.col("merknad", FreeText)
	valid := map[int]*strings.Builder{cFnr: {}, cMail: {}, cMob: {}}
	for row := 0; row < 120; row++ {
		r := make([]string, len(p.cols))
		given, family := g.given1(), g.family1()
		r[cGiven], r[cFamily] = given, family
		if g.r.IntN(30) == 0 {
			r[cFnr] = g.badNID() // a typo: not an identity number
			valid[cFnr].WriteByte('0')
		} else {
			r[cFnr] = g.nid()
			valid[cFnr].WriteByte('1')
		}
		b := g.date(1935, 2005)
		r[cBirth] = fmt.Sprintf("%02d.%02d.%d", b.Day(), int(b.Month()), b.Year())
		r[cSex] = []string{"K", "M"}[g.r.IntN(2)]
		r[cPost] = fmt.Sprintf("%04d", 1+g.r.IntN(9990))
		r[cMun] = g.pick(municipalities)
		r[cJob] = g.pick(jobs)
		r[cMail] = g.email(given, family)
		valid[cMail].WriteByte('1')
		r[cMob] = g.phone()
		valid[cMob].WriteByte('1')
		if g.r.IntN(3) > 0 {
			r[cNote] = g.text(g.pick(notes), row, &p.cols[cNote].Spans)
		}
		p.rows = append(p.rows, r)
	}
	for c, v := range valid {
		p.cols[c].Valid = v.String()
	}
	files = append(files, p)

	// visits.csv: visits of patients (D-numbers and fødselsnummer), with decoys.
	v := &corpusFile{name: "visits.csv", comma: ','}
	cPid, cDate, cAge, cDiag := v.col("pasient_id", NID), v.col("besoksdato", Date), v.col("alder", Age), v.col("diagnose", Other)
	cBP, cLab, cAmount, cNotat := v.col("blodtrykk", Other), v.col("lab_ref", Other), v.col("egenandel", Other), v.col("notat", FreeText)
	pv := &strings.Builder{}
	for row := 0; row < 120; row++ {
		r := make([]string, len(v.cols))
		r[cPid] = g.nid()
		pv.WriteByte('1')
		d := g.date(2021, 2024)
		r[cDate] = d.Format("2006-01-02")
		r[cAge] = fmt.Sprint(18 + g.r.IntN(70))
		r[cDiag] = g.pick(diagnoses)
		r[cBP] = fmt.Sprintf("%d/%d", 100+g.r.IntN(70), 60+g.r.IntN(40))
		r[cLab] = g.digits(11) // random: not identity numbers (but see the measured precision)
		r[cAmount] = fmt.Sprint(100 + g.r.IntN(400))
		if g.r.IntN(2) == 0 {
			r[cNotat] = g.text(g.pick(notes), row, &v.cols[cNotat].Spans)
		}
		v.rows = append(v.rows, r)
	}
	v.cols[cPid].Valid = pv.String()
	files = append(files, v)

	// nordic.csv: Nordic identity numbers, organisations, accounts, phones.
	n := &corpusFile{name: "nordic.csv", comma: ','}
	cSE, cDK, cFI, cOrg := n.col("personnummer_se", SwedishPNR), n.col("cpr", DanishCPR), n.col("hetu", FinnishHETU), n.col("orgnr", OrgNumber)
	cAcc, cTel, cCode, cNum := n.col("kontonummer", BankAccount), n.col("telefon", Phone), n.col("kode", PseudonymCode), n.col("antall", Other)
	vs := map[int]*strings.Builder{cSE: {}, cDK: {}, cFI: {}, cOrg: {}, cAcc: {}, cTel: {}}
	coder, _ := pseudo.NewCoder(bytes.Repeat([]byte{7}, 32))
	for row := 0; row < 80; row++ {
		r := make([]string, len(n.cols))
		r[cSE], r[cDK], r[cFI], r[cOrg], r[cAcc], r[cTel] = g.swedish(), g.danish(), g.finnish(), g.org(), g.account(), g.phone()
		for _, b := range vs {
			b.WriteByte('1')
		}
		r[cCode] = coder.Code(pseudo.KindNID, g.nid())
		r[cNum] = fmt.Sprint(g.r.IntN(100000))
		n.rows = append(n.rows, r)
	}
	for c, b := range vs {
		n.cols[c].Valid = b.String()
	}
	files = append(files, n)

	// survey.csv: survey answers keyed by pseudokit codes.
	s := &corpusFile{name: "survey.csv", comma: ','}
	cID, cYear, cKj, cPn, cScore, cSvar, cKomm := s.col("respondent", PseudonymCode), s.col("fodselsaar", BirthYear), s.col("kjonn", Sex), s.col("postnr", Postcode), s.col("score", Other), s.col("svar", Text), s.col("kommentar", FreeText)
	for row := 0; row < 80; row++ {
		r := make([]string, len(s.cols))
		r[cID] = coder.Code(pseudo.KindNID, g.nid())
		r[cYear] = fmt.Sprint(1940 + g.r.IntN(65))
		r[cKj] = []string{"mann", "kvinne"}[g.r.IntN(2)]
		r[cPn] = fmt.Sprintf("%04d", 1+g.r.IntN(9990))
		r[cScore] = fmt.Sprint(1 + g.r.IntN(7))
		r[cSvar] = g.pick(answers)
		if g.r.IntN(4) == 0 {
			r[cKomm] = g.text(g.pick(notes), row, &s.cols[cKomm].Spans)
		} else {
			r[cKomm] = g.pick(answers)
		}
		s.rows = append(s.rows, r)
	}
	files = append(files, s)

	var labels corpusLabels
	for _, f := range files {
		labels.Files = append(labels.Files, labelFile{File: f.name, Rows: len(f.rows), Columns: f.cols})
	}
	return files, labels
}

func (f *corpusFile) csv() []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Comma = f.comma
	var header []string
	for _, c := range f.cols {
		header = append(header, c.Name)
	}
	w.Write(header)
	w.WriteAll(f.rows)
	return b.Bytes()
}

// TestCorpus checks that the committed corpus is what genCorpus makes, then
// measures precision and recall on it and compares the figures with
// testdata/corpus/metrics.golden and docs/scan.md.
func TestCorpus(t *testing.T) {
	files, labels := genCorpus()
	lb, err := json.MarshalIndent(labels, "", " ")
	require.NoError(t, err)
	lb = append(lb, '\n')
	if *update {
		require.NoError(t, os.MkdirAll(corpusDir, 0o755))
		for _, f := range files {
			require.NoError(t, os.WriteFile(filepath.Join(corpusDir, f.name), f.csv(), 0o644))
		}
		require.NoError(t, os.WriteFile(filepath.Join(corpusDir, "labels.json"), lb, 0o644))
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(corpusDir, f.name))
		require.NoError(t, err)
		require.Equal(t, string(f.csv()), string(got), "%s differs from what genCorpus makes: run with -update", f.name)
	}
	got, err := os.ReadFile(filepath.Join(corpusDir, "labels.json"))
	require.NoError(t, err)
	require.Equal(t, string(lb), string(got))

	m := measure(t, labels)
	table := m.table()
	golden := filepath.Join(corpusDir, "metrics.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(table), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), table, "measured figures changed: run with -update and update docs/scan.md")
	doc, err := os.ReadFile("../../docs/scan.md")
	require.NoError(t, err)
	require.Contains(t, string(doc), table, "docs/scan.md must state the measured figures (testdata/corpus/metrics.golden)")

	// The promises.
	require.GreaterOrEqual(t, m.ids.recall(), 0.99, "recall of identity and other identifier numbers, whole values")
	require.GreaterOrEqual(t, m.textIDs.recall(), 0.99, "recall of identifier numbers in free text")
	require.GreaterOrEqual(t, m.columns.recall(), 0.99, "recall of direct-identifier columns")
}

// counts of a binary classification.
type counts struct{ tp, fp, fn int }

func (c counts) precision() float64 {
	if c.tp+c.fp == 0 {
		return 1
	}
	return float64(c.tp) / float64(c.tp+c.fp)
}

func (c counts) recall() float64 {
	if c.tp+c.fn == 0 {
		return 1
	}
	return float64(c.tp) / float64(c.tp+c.fn)
}

type metrics struct {
	ids, textIDs, columns counts // aggregated
	perKind               map[string]*counts
	kindRight, kindTotal  int
}

func (m *metrics) kind(name string) *counts {
	if m.perKind[name] == nil {
		m.perKind[name] = &counts{}
	}
	return m.perKind[name]
}

var isNumberKind = map[Kind]bool{NID: true, SwedishPNR: true, DanishCPR: true, FinnishHETU: true, OrgNumber: true, BankAccount: true}

func measure(t *testing.T, labels corpusLabels) *metrics {
	m := &metrics{perKind: map[string]*counts{}}
	for _, lf := range labels.Files {
		f, err := os.Open(filepath.Join(corpusDir, lf.File))
		require.NoError(t, err)
		r := csv.NewReader(f)
		if strings.HasPrefix(lf.File, "participants") {
			r.Comma = ';'
		}
		recs, err := r.ReadAll()
		f.Close()
		require.NoError(t, err)
		recs = recs[1:]

		// Columns, through the whole pipeline (CSV reader, Arrow batches).
		rep, err := File(context.Background(), filepath.Join(corpusDir, lf.File), FileOptions{})
		require.NoError(t, err)
		for ci, lc := range lf.Columns {
			got := rep.Columns[ci]
			require.Equal(t, lc.Name, got.Column)
			m.kindTotal++
			if got.Kind == lc.Kind {
				m.kindRight++
			} else {
				t.Logf("%s %s: labelled %s, classified %s (%s)", lf.File, lc.Name, lc.Kind, got.Kind, got.Reason)
			}
			truth, pred := lc.Kind.Role() == Direct, got.Role == Direct
			switch {
			case truth && pred:
				m.columns.tp++
			case pred:
				m.columns.fp++
			case truth:
				m.columns.fn++
			}
		}

		// Whole values: every cell of every column that is not free text.
		for ci, lc := range lf.Columns {
			if lc.Kind == FreeText || lc.Kind == Text {
				continue
			}
			for row, rec := range recs {
				truth := Kind("")
				if lc.Valid != "" && lc.Valid[row] == '1' {
					truth = lc.Kind
				}
				pred := Kind("")
				if set := valueKinds(strings.TrimSpace(rec[ci])); set != 0 {
					pred = bestKind(set)
				}
				if truth == pred && truth == "" {
					continue
				}
				if truth == pred {
					m.kind("values: "+string(truth)).tp++
				} else {
					if truth != "" {
						m.kind("values: "+string(truth)).fn++
					}
					if pred != "" {
						m.kind("values: "+string(pred)).fp++
					}
				}
				// Aggregated over identifier numbers: found as any number kind.
				tn, pn := isNumberKind[truth], isNumberKind[pred]
				switch {
				case tn && pn:
					m.ids.tp++
				case pn:
					m.ids.fp++
				case tn:
					m.ids.fn++
				}
			}
		}

		// Free text: Find against the labelled spans (a match counts when it
		// overlaps a labelled span of the same kind).
		for ci, lc := range lf.Columns {
			if lc.Kind != FreeText && lc.Kind != Text {
				continue
			}
			byRow := map[int][]labelSpan{}
			for _, s := range lc.Spans {
				byRow[s.Row] = append(byRow[s.Row], s)
			}
			for row, rec := range recs {
				found := Find(rec[ci])
				truths := byRow[row]
				hit := make([]bool, len(truths))
				for _, f := range found {
					ok := false
					for i, s := range truths {
						if group(s.Kind) == group(f.Kind) && f.Start < s.End && s.Start < f.End {
							ok, hit[i] = true, true
						}
					}
					c := m.kind("text: " + group(f.Kind))
					if ok {
						c.tp++
					} else {
						c.fp++
						t.Logf("false %s in %s %s row %d: %q", f.Kind, lf.File, lc.Name, row, Shape(rec[ci][f.Start:f.End]))
					}
					if isNumberKind[f.Kind] {
						if ok {
							m.textIDs.tp++
						} else {
							m.textIDs.fp++
						}
					}
				}
				for i, s := range truths {
					if !hit[i] {
						m.kind("text: "+group(s.Kind)).fn++
						if isNumberKind[s.Kind] {
							m.textIDs.fn++
						}
						if s.Kind != Name {
							t.Logf("missed %s in %s %s row %d: %q", s.Kind, lf.File, lc.Name, row, Shape(rec[ci][s.Start:s.End]))
						}
					}
				}
			}
		}
	}
	return m
}

// group names the kind groups reported for free text.
func group(k Kind) string {
	if isNumberKind[k] {
		return "identifier numbers"
	}
	return string(k)
}

// table formats the figures as the Markdown table docs/scan.md quotes.
func (m *metrics) table() string {
	var b strings.Builder
	b.WriteString("| measured on the corpus | true | found | precision | recall |\n|---|---:|---:|---:|---:|\n")
	row := func(name string, c counts) {
		fmt.Fprintf(&b, "| %s | %d | %d | %.3f | %.3f |\n", name, c.tp+c.fn, c.tp+c.fp, c.precision(), c.recall())
	}
	row("identifier numbers, whole values (any number kind)", m.ids)
	var keys []string
	for k := range m.perKind {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.HasPrefix(k, "values: ") {
			row(k, *m.perKind[k])
		}
	}
	for _, k := range keys {
		if strings.HasPrefix(k, "text: ") {
			row(k, *m.perKind[k])
		}
	}
	row("direct-identifier columns", m.columns)
	fmt.Fprintf(&b, "| columns of exactly the labelled kind | %d | %d | | %.3f |\n", m.kindTotal, m.kindRight, float64(m.kindRight)/float64(m.kindTotal))
	return b.String()
}
