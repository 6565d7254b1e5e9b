package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/scan"
)

// FormatVersion is the version of the report's JSON form.
const FormatVersion = 1

// Options say what a report covers.
type Options struct {
	// Inputs are the raw datasets (CSV or Parquet) and Outputs the
	// de-identified ones; Inputs[i] and Outputs[i] are compared when both
	// exist.
	Inputs, Outputs []string
	// Summaries are run-summary JSON files: what `pseudokit pseudonymize
	// --summary` writes (pseudo.Result), or an anonymisation summary with
	// suppressed records and generalisation levels.
	Summaries []string
	// Results are run results handed over in process (by a command that
	// writes a report of its own run); they count as summaries.
	Results []*pseudo.Result
	// Vault, if set, is the project's unlocked vault: its holders,
	// retention, access log and withdrawals are reported (never a key).
	Vault *keyvault.Vault
	// QI are the quasi-identifiers measured before and after; K is the
	// threshold for k-anonymity (default 5).
	QI []string
	K  int
	// Sensitive are attributes whose l-diversity within the classes is
	// measured; L is its threshold (default 2).
	Sensitive []string
	L         int
	// Scan configures reading the datasets (format, delimiter, encoding,
	// sample size).
	Scan scan.FileOptions
	// Command is the command line that reproduces the report.
	Command string
	// Tool is the program and version, e.g. "pseudokit 0.1.0".
	Tool string
	// Now is the generation time (default time.Now); it is the report's
	// only time-dependent field.
	Now time.Time

	// given replaces Summaries and Results (Verify uses the report's copies).
	given    []Summary
	hasGiven bool
}

// Report is a de-identification report: what went in and came out, what
// was done to each column and with which parameters, proof that no direct
// identifier remains, the re-identification risk before and after, and
// the state of the vault. It holds names of files and columns, digests,
// counts and parameters, never a value of a dataset.
type Report struct {
	Format int `json:"format"`
	// Tool is the program and version that made the report.
	Tool string `json:"tool"`
	// Generated is when the report was made: the only field that differs
	// between two reports on the same inputs.
	Generated time.Time `json:"generated"`
	// Command reproduces the report.
	Command string `json:"command"`
	// Parameters are the options the report was made with (for --verify).
	Parameters Parameters `json:"parameters"`
	// Checks are the pass/fail results against the thresholds.
	Checks []Check `json:"checks"`
	// Inputs, Outputs and Summaries describe the files.
	Inputs    []File    `json:"inputs"`
	Outputs   []File    `json:"outputs"`
	Summaries []Summary `json:"summaries,omitempty"`
	// Columns says, for every input column, its role and what was done.
	Columns []Column `json:"columns"`
	// Methods are the techniques and their parameters.
	Methods Methods `json:"methods"`
	// Residual is the scan of the outputs for direct identifiers.
	Residual []Residual `json:"residual"`
	// Risk compares the re-identification risk before and after.
	Risk []Risk `json:"risk,omitempty"`
	// Utility says what was lost.
	Utility []Utility `json:"utility,omitempty"`
	// Vault is the state of the identifier-key vault, if one was given.
	Vault *Vault `json:"vault,omitempty"`
	// Notes are remarks on how figures were obtained.
	Notes []string `json:"notes,omitempty"`
}

// Parameters are what the report was made from.
type Parameters struct {
	Inputs     []string `json:"inputs"`
	Outputs    []string `json:"outputs"`
	Summaries  []string `json:"summaries,omitempty"`
	QI         []string `json:"qi,omitempty"`
	K          int      `json:"k"`
	Sensitive  []string `json:"sensitive,omitempty"`
	L          int      `json:"l"`
	SampleSize int      `json:"sample_size"`
	Format     string   `json:"format,omitempty"`
	Delimiter  string   `json:"delimiter,omitempty"`
	Encoding   string   `json:"encoding,omitempty"`
	// InProcessResults counts run results handed over in process (not
	// files; --verify cannot re-read them).
	InProcessResults int `json:"in_process_results,omitempty"`
}

// Status is the outcome of a check.
type Status string

// The statuses.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Warn Status = "warn"
	// NA means the check could not be made (no vault, no quasi-identifiers).
	NA Status = "n/a"
)

// A Check is one pass/fail line of the summary.
type Check struct {
	Name      string `json:"name"`
	Status    Status `json:"status"`
	Value     string `json:"value"`
	Threshold string `json:"threshold,omitempty"`
}

// A File describes a dataset file.
type File struct {
	Path    string `json:"path"`
	Format  string `json:"format"`
	SHA256  string `json:"sha256"`
	Bytes   int64  `json:"bytes"`
	Rows    int64  `json:"rows"`
	Columns int    `json:"columns"`
}

// A Summary is a run summary read from a file or handed over in process.
type Summary struct {
	Path   string `json:"path,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// Kind is "pseudonymize" or "anonymize".
	Kind         string `json:"kind"`
	Domain       string `json:"domain,omitempty"`
	InputSHA256  string `json:"input_sha256,omitempty"`
	OutputSHA256 string `json:"output_sha256,omitempty"`
	Rows         int64  `json:"rows"`
	// WithdrawnRows were left out for persons who withdrew consent.
	WithdrawnRows int64 `json:"withdrawn_rows,omitempty"`
	// Suppressed records (anonymisation).
	Suppressed int64 `json:"suppressed,omitempty"`
	// NewLinks and ExistingLinks are the vault's link counts of the run.
	NewLinks      int      `json:"new_links,omitempty"`
	ExistingLinks int      `json:"existing_links,omitempty"`
	Unmentioned   []string `json:"unmentioned,omitempty"`
	// Columns are the run's column counts (pseudonymisation).
	Columns []pseudo.ColumnSummary `json:"columns,omitempty"`
	// Levels are the generalisation levels (anonymisation); Metric and
	// Loss its information-loss metric.
	Levels []Generalisation `json:"levels,omitempty"`
	Metric string           `json:"metric,omitempty"`
	Loss   float64          `json:"loss,omitempty"`
	// Dropped, Kept and Sensitive name the columns an anonymisation
	// dropped, kept, or kept as sensitive attributes.
	Dropped   []string `json:"dropped,omitempty"`
	Kept      []string `json:"kept,omitempty"`
	Sensitive []string `json:"sensitive,omitempty"`
}

// Generalisation is the level an anonymisation chose for a quasi-identifier.
type Generalisation struct {
	Column    string `json:"column"`
	Level     int    `json:"level"`
	Height    int    `json:"height"`
	Hierarchy string `json:"hierarchy"`
}

// A Column is one input column: how the scanner classified it and what the
// run did to it.
type Column struct {
	File   string    `json:"file"`
	Column string    `json:"column"`
	Role   scan.Role `json:"role"`
	Kind   scan.Kind `json:"kind"`
	// Technique is what was done: "code nid", "fake-name given", "drop",
	// "keep", "kept (not named in the rules)", "generalised level 2 of 4",
	// or "unknown" without a run summary.
	Technique string `json:"technique"`
	// Replaced, Empty and Invalid count values from the run summary.
	Replaced int64 `json:"replaced,omitempty"`
	Empty    int64 `json:"empty,omitempty"`
	Invalid  int64 `json:"invalid,omitempty"`
	// InOutput tells whether the column is in the matching output.
	InOutput bool `json:"in_output"`
}

// Methods are the techniques and their parameters (never a key).
type Methods struct {
	// Codes describes the code scheme when columns were coded.
	Codes *CodeScheme `json:"codes,omitempty"`
	// FakeNames describes fictitious names when used.
	FakeNames string `json:"fake_names,omitempty"`
	// Generalisation lists the levels chosen by an anonymisation.
	Generalisation []Generalisation `json:"generalisation,omitempty"`
	// Metric and Loss are the anonymisation's information-loss metric.
	Metric string  `json:"metric,omitempty"`
	Loss   float64 `json:"loss,omitempty"`
	// Scanner describes how the residual scan works.
	Scanner string `json:"scanner"`
}

// CodeScheme describes pseudokit codes.
type CodeScheme struct {
	Scheme      string   `json:"scheme"`
	Description string   `json:"description"`
	Domains     []string `json:"domains"`
	DomainKinds []string `json:"domain_schemes,omitempty"`
	KeySlots    int      `json:"key_slots,omitempty"`
}

// Residual is the scan of one output for direct identifiers.
type Residual struct {
	File string `json:"file"`
	// Pass is true when no column holds direct identifiers other than
	// expected fictitious names, and no stray identifier was found.
	Pass bool `json:"pass"`
	// Findings are the columns with direct identifiers or stray ones.
	Findings []Finding `json:"findings,omitempty"`
	// Columns counts the output's columns by role.
	Columns map[scan.Role]int `json:"columns"`
}

// A Finding is a column of an output that holds identifiers.
type Finding struct {
	Column string    `json:"column"`
	Kind   scan.Kind `json:"kind"`
	Values int64     `json:"values"`
	// Expected marks fictitious names written by fake-name: names by form,
	// but not the persons'.
	Expected bool   `json:"expected,omitempty"`
	Note     string `json:"note"`
}

// Risk compares the re-identification risk of an input and its output on
// the quasi-identifiers.
type Risk struct {
	Input  string    `json:"input"`
	Output string    `json:"output,omitempty"`
	QI     []string  `json:"qi"`
	K      int       `json:"k_threshold"`
	L      int       `json:"l_threshold,omitempty"`
	Before *Measures `json:"before"`
	After  *Measures `json:"after,omitempty"`
}

// Measures are the risk figures of one dataset.
type Measures struct {
	Records           int64   `json:"records"`
	Classes           int64   `json:"classes"`
	K                 int64   `json:"k"`
	ClassesBelow      int64   `json:"classes_below_k"`
	RecordsBelow      int64   `json:"records_below_k"`
	SampleUniques     int64   `json:"sample_uniques"`
	AverageClassSize  float64 `json:"average_class_size"`
	ProsecutorHighest float64 `json:"prosecutor_risk_highest"`
	ProsecutorAverage float64 `json:"prosecutor_risk_average"`
	RecordsAtRisk     float64 `json:"records_at_risk"`
	// Distinct counts the distinct values of each quasi-identifier, in the
	// order of the report's QI (-1: not in the dataset).
	Distinct []int64 `json:"distinct_values"`
	// Sizes counts classes and records by class size.
	Sizes []SizeBucket `json:"class_sizes"`
	// Diversity of the sensitive attributes.
	Diversity []Diversity `json:"diversity,omitempty"`
	// Missing lists quasi-identifiers not in the dataset.
	Missing []string `json:"missing_qi,omitempty"`
}

// A SizeBucket counts the classes of sizes Min..Max (Max 0: no bound).
type SizeBucket struct {
	Min     int64 `json:"min"`
	Max     int64 `json:"max,omitempty"`
	Classes int64 `json:"classes"`
	Records int64 `json:"records"`
}

// Diversity is the l-diversity of a sensitive attribute.
type Diversity struct {
	Column        string  `json:"column"`
	DistinctL     int64   `json:"distinct_l"`
	EntropyL      float64 `json:"entropy_l"`
	ClassesBelowL int64   `json:"classes_below_l"`
}

// Utility says what one input lost on the way to its output.
type Utility struct {
	Input          string  `json:"input"`
	Output         string  `json:"output"`
	RowsIn         int64   `json:"rows_in"`
	RowsOut        int64   `json:"rows_out"`
	RowsRemoved    int64   `json:"rows_removed"`
	WithdrawnRows  int64   `json:"withdrawn_rows,omitempty"`
	Suppressed     int64   `json:"suppressed,omitempty"`
	ColumnsIn      int     `json:"columns_in"`
	ColumnsOut     int     `json:"columns_out"`
	ColumnsDropped int     `json:"columns_dropped"`
	ValuesReplaced int64   `json:"values_replaced"`
	RowsKept       float64 `json:"rows_kept"`
}

// Build makes the report: it reads (and hashes) every input and output,
// scans them, measures the quasi-identifiers and reads the vault.
func Build(ctx context.Context, o Options) (*Report, error) {
	if o.K <= 0 {
		o.K = 5
	}
	if o.L <= 0 {
		o.L = 2
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Scan.SampleSize <= 0 {
		o.Scan.SampleSize = scan.DefaultSampleSize
	}
	if len(o.Inputs)+len(o.Outputs) == 0 {
		return nil, errors.New("report: no input or output dataset")
	}
	r := &Report{
		Format:    FormatVersion,
		Tool:      o.Tool,
		Generated: o.Now.UTC().Truncate(time.Second),
		Command:   o.Command,
		Parameters: Parameters{
			Inputs: o.Inputs, Outputs: o.Outputs, Summaries: o.Summaries, QI: o.QI, K: o.K,
			Sensitive: o.Sensitive, L: o.L, SampleSize: o.Scan.SampleSize, Format: o.Scan.Format,
			Encoding: o.Scan.Encoding, InProcessResults: len(o.Results),
		},
		Inputs:  []File{},
		Outputs: []File{},
	}
	if o.Scan.Comma != 0 {
		r.Parameters.Delimiter = string(o.Scan.Comma)
	}
	ins, err := scanAll(ctx, o.Inputs, o.Scan)
	if err != nil {
		return nil, err
	}
	outs, err := scanAll(ctx, o.Outputs, o.Scan)
	if err != nil {
		return nil, err
	}
	for _, s := range ins {
		r.Inputs = append(r.Inputs, fileOf(s))
	}
	for _, s := range outs {
		r.Outputs = append(r.Outputs, fileOf(s))
	}
	sums := o.given
	if !o.hasGiven {
		if sums, err = readSummaries(o.Summaries); err != nil {
			return nil, err
		}
		for _, res := range o.Results {
			sums = append(sums, summaryOf(res))
		}
	}
	r.Summaries = sums
	r.columns(ins, outs, sums)
	r.methods(sums, o.Vault)
	r.residual(outs, sums)
	if err := r.risk(ctx, o, ins, outs); err != nil {
		return nil, err
	}
	r.utility(ins, outs, sums)
	if o.Vault != nil {
		v, err := vaultStatus(ctx, o.Vault, r.Outputs, o.Now)
		if err != nil {
			return nil, err
		}
		r.Vault = v
	}
	r.checks(sums, o)
	return r, nil
}

func scanAll(ctx context.Context, paths []string, o scan.FileOptions) ([]*scan.Report, error) {
	var out []*scan.Report
	for _, p := range paths {
		if p == "-" {
			return nil, errors.New("report: datasets must be files (they are read again by --verify)")
		}
		s, err := scan.File(ctx, p, o)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func fileOf(s *scan.Report) File {
	return File{Path: s.File, Format: s.Format, SHA256: s.SHA256, Bytes: s.Bytes, Rows: s.Rows, Columns: len(s.Columns)}
}

// readSummaries reads run-summary JSON files.
func readSummaries(paths []string) ([]Summary, error) {
	var out []Summary
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		s, err := parseSummary(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		h := sha256.Sum256(b)
		s.Path, s.SHA256 = p, hex.EncodeToString(h[:])
		out = append(out, s)
	}
	return out, nil
}

// ErrSummary reports a run summary that cannot be read.
var ErrSummary = errors.New("not a pseudokit run summary")

// parseSummary reads a pseudonymisation summary (pseudo.Result) or an
// anonymisation summary (suppressed records, generalisation levels).
func parseSummary(b []byte) (Summary, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return Summary{}, fmt.Errorf("%w: %v", ErrSummary, err)
	}
	if _, ok := raw["output_sha256"]; ok {
		if _, ok := raw["columns"]; ok {
			var res pseudo.Result
			if err := json.Unmarshal(b, &res); err != nil {
				return Summary{}, fmt.Errorf("%w: %v", ErrSummary, err)
			}
			if _, anon := raw["suppressed"]; !anon {
				return summaryOf(&res), nil
			}
		}
	}
	if _, ok := raw["quasi_identifiers"]; ok {
		return parseAnonymize(b)
	}
	// Another anonymisation summary: the fields of anonymize.Solution, at
	// the top level or under "solution", with optional file digests.
	var a struct {
		InputSHA256  string           `json:"input_sha256"`
		OutputSHA256 string           `json:"output_sha256"`
		Rows         int64            `json:"rows"`
		Records      int64            `json:"records"`
		Suppressed   *int64           `json:"suppressed"`
		Metric       string           `json:"metric"`
		Value        float64          `json:"value"`
		Attributes   []Generalisation `json:"attributes"`
		Solution     *struct {
			Records    int64            `json:"records"`
			Suppressed int64            `json:"suppressed"`
			Metric     string           `json:"metric"`
			Value      float64          `json:"value"`
			Attributes []Generalisation `json:"attributes"`
		} `json:"solution"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return Summary{}, fmt.Errorf("%w: %v", ErrSummary, err)
	}
	if a.Solution != nil {
		sup := a.Solution.Suppressed
		a.Suppressed, a.Records, a.Metric, a.Value, a.Attributes = &sup, a.Solution.Records, a.Solution.Metric, a.Solution.Value, a.Solution.Attributes
	}
	if a.Suppressed == nil {
		return Summary{}, fmt.Errorf("%w (want the JSON of 'pseudokit pseudonymize --summary' or of an anonymisation)", ErrSummary)
	}
	rows := a.Rows
	if rows == 0 {
		rows = a.Records
	}
	return Summary{Kind: "anonymize", InputSHA256: a.InputSHA256, OutputSHA256: a.OutputSHA256, Rows: rows,
		Suppressed: *a.Suppressed, Levels: a.Attributes, Metric: a.Metric, Loss: a.Value}, nil
}

// parseAnonymize reads the summary `pseudokit anonymize --summary` writes.
func parseAnonymize(b []byte) (Summary, error) {
	var a struct {
		InputSHA256      string   `json:"input_sha256"`
		OutputSHA256     string   `json:"output_sha256"`
		RowsIn           int64    `json:"rows_in"`
		Suppressed       int64    `json:"suppressed"`
		Dropped          []string `json:"dropped"`
		Kept             []string `json:"kept"`
		Sensitive        []string `json:"sensitive"`
		QuasiIdentifiers []struct {
			Column    string `json:"column"`
			Hierarchy string `json:"hierarchy"`
			Level     int    `json:"level"`
			Height    int    `json:"height"`
		} `json:"quasi_identifiers"`
		Target struct {
			Metric string `json:"metric"`
		} `json:"target"`
		Search *struct {
			Value float64 `json:"value"`
		} `json:"search"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return Summary{}, fmt.Errorf("%w: %v", ErrSummary, err)
	}
	s := Summary{Kind: "anonymize", InputSHA256: a.InputSHA256, OutputSHA256: a.OutputSHA256, Rows: a.RowsIn,
		Suppressed: a.Suppressed, Dropped: a.Dropped, Kept: a.Kept, Sensitive: a.Sensitive, Metric: a.Target.Metric}
	if a.Search != nil {
		s.Loss = a.Search.Value
	}
	for _, q := range a.QuasiIdentifiers {
		s.Levels = append(s.Levels, Generalisation{Column: q.Column, Level: q.Level, Height: q.Height, Hierarchy: q.Hierarchy})
	}
	return s, nil
}

func summaryOf(res *pseudo.Result) Summary {
	return Summary{Kind: "pseudonymize", Domain: res.Domain, InputSHA256: res.InputSHA256, OutputSHA256: res.OutputSHA256,
		Rows: res.Rows, WithdrawnRows: res.WithdrawnRows, NewLinks: res.NewLinks, ExistingLinks: res.ExistingLinks,
		Unmentioned: res.Unmentioned, Columns: res.Columns}
}

// pair returns the output scanned for input i (same index), or nil.
func pair(outs []*scan.Report, i int) *scan.Report {
	if i < len(outs) {
		return outs[i]
	}
	return nil
}

func (r *Report) columns(ins, outs []*scan.Report, sums []Summary) {
	r.Columns = []Column{}
	for i, in := range ins {
		out := pair(outs, i)
		outSHA := ""
		if out != nil {
			outSHA = out.SHA256
		}
		related, _ := chain(sums, in.SHA256, outSHA)
		for _, c := range in.Columns {
			col := Column{File: in.File, Column: c.Column, Role: c.Role, Kind: c.Kind, Technique: "unknown (no run summary)"}
			if out != nil && out.Column(c.Column) != nil {
				col.InOutput = true
			}
			var steps []string
			for _, s := range related {
				t := step(s, c.Column)
				if t != "" && (len(steps) == 0 || steps[len(steps)-1] != t) {
					steps = append(steps, t)
				}
				for _, cs := range s.Columns {
					if cs.Column == c.Column && cs.Action != pseudo.ActionKeep && cs.Action != pseudo.ActionDrop {
						col.Replaced, col.Empty = cs.Values, cs.Empty
						for _, n := range cs.Invalid {
							col.Invalid += n
						}
					}
				}
			}
			switch {
			case len(steps) > 0:
				col.Technique = strings.Join(steps, " → ")
			case len(related) == 0 && out != nil && !col.InOutput:
				col.Technique = "not in the output"
			}
			r.Columns = append(r.Columns, col)
		}
	}
}

// step says what one run did to a column ("" if the run did not see it).
func step(s Summary, column string) string {
	if s.Kind == "pseudonymize" {
		if slices.Contains(s.Unmentioned, column) {
			return "kept (not named in the rules)"
		}
		for _, cs := range s.Columns {
			if cs.Column != column {
				continue
			}
			switch cs.Action {
			case pseudo.ActionCode:
				return "code " + string(cs.Kind)
			case pseudo.ActionFakeName:
				return "fake-name"
			}
			return string(cs.Action)
		}
		return ""
	}
	for _, g := range s.Levels {
		if g.Column == column {
			return fmt.Sprintf("generalised, level %d of %d (%s)", g.Level, g.Height, g.Hierarchy)
		}
	}
	switch {
	case slices.Contains(s.Dropped, column):
		return "drop"
	case slices.Contains(s.Kept, column):
		return "keep"
	case slices.Contains(s.Sensitive, column):
		return "keep (sensitive attribute)"
	}
	return ""
}

// chain returns the runs that lead from the input (by digest) to the
// output, in order, and whether they connect; when they do not, it returns
// the runs that touch either file, in the order given.
func chain(sums []Summary, in, out string) ([]Summary, bool) {
	var path []Summary
	var walk func(at string, used []bool) bool
	walk = func(at string, used []bool) bool {
		if at == out && len(path) > 0 {
			return true
		}
		for i, s := range sums {
			if used[i] || s.InputSHA256 != at || s.OutputSHA256 == "" {
				continue
			}
			used[i] = true
			path = append(path, s)
			if walk(s.OutputSHA256, used) {
				return true
			}
			path = path[:len(path)-1]
			used[i] = false
		}
		return false
	}
	if in != "" && out != "" && walk(in, make([]bool, len(sums))) {
		return path, true
	}
	var touch []Summary
	for _, s := range sums {
		if in != "" && s.InputSHA256 == in || out != "" && s.OutputSHA256 == out {
			touch = append(touch, s)
		}
	}
	return touch, false
}

func (r *Report) methods(sums []Summary, v *keyvault.Vault) {
	m := Methods{Scanner: "pseudokit scan: every value checked for Norwegian, Swedish, Danish and Finnish identity numbers, " +
		"e-mail addresses, Norwegian phone, organisation and account numbers, and names inside text; names and " +
		"quasi-identifiers classified on a sample (docs/scan.md states precision and recall)"}
	var domains []string
	coded, faked := false, false
	for _, s := range sums {
		if s.Domain != "" && !slices.Contains(domains, s.Domain) {
			domains = append(domains, s.Domain)
		}
		for _, c := range s.Columns {
			coded = coded || c.Action == pseudo.ActionCode
			faked = faked || c.Action == pseudo.ActionFakeName
		}
		m.Generalisation = append(m.Generalisation, s.Levels...)
		if s.Metric != "" {
			m.Metric, m.Loss = s.Metric, s.Loss
		}
	}
	if coded {
		cs := &CodeScheme{
			Scheme: "K1",
			Description: "keyed code, version 1: 'K', then the first 80 bits of HMAC-SHA256 under a key derived (HKDF-SHA256) " +
				"from the domain's secret, over the identifier's kind and canonical form, in Crockford base32 (16 characters), " +
				"then a Luhn mod 32 check character; 18 characters. Domains with random codes use 'R' and 80 random bits. " +
				"The key is in the vault and is never written to a report.",
			Domains: domains,
		}
		if v != nil {
			for _, d := range domains {
				if di, err := v.Domain(d); err == nil {
					cs.DomainKinds = append(cs.DomainKinds, d+": "+string(di.Scheme))
				}
			}
			if h, err := v.Holders(); err == nil {
				cs.KeySlots = len(h)
			}
		}
		m.Codes = cs
	}
	if faked {
		m.FakeNames = fmt.Sprintf("fictitious names chosen by HMAC-SHA256 of the person's identifier under a domain key from "+
			"shipped lists of %d given names and %d surnames: the same person gets the same fictitious name", len(pseudo.GivenNames), len(pseudo.FamilyNames))
	}
	r.Methods = m
}

func (r *Report) residual(outs []*scan.Report, sums []Summary) {
	r.Residual = []Residual{}
	for _, out := range outs {
		res := Residual{File: out.File, Pass: true, Columns: map[scan.Role]int{}}
		fakes := map[string]bool{}
		for _, s := range sums {
			if s.OutputSHA256 == out.SHA256 {
				for _, c := range s.Columns {
					if c.Action == pseudo.ActionFakeName {
						fakes[c.Column] = true
					}
				}
			}
		}
		for _, c := range out.Columns {
			res.Columns[c.Role]++
			if c.Role == scan.Direct {
				f := Finding{Column: c.Column, Kind: c.Kind, Values: c.Matching, Note: c.Reason}
				if c.Kind == scan.Name && fakes[c.Column] {
					f.Expected, f.Note = true, "fictitious names written by fake-name (the run summary says so)"
				} else {
					res.Pass = false
				}
				res.Findings = append(res.Findings, f)
				continue
			}
			for _, k := range []scan.Kind{scan.NID, scan.FinnishHETU, scan.SwedishPNR, scan.Email} {
				if n := c.Identifiers[k]; n > 0 {
					res.Pass = false
					res.Findings = append(res.Findings, Finding{Column: c.Column, Kind: k, Values: n,
						Note: fmt.Sprintf("%d value(s) are or contain a %s in a column classified as %s", n, k.Description(), c.Kind)})
				}
			}
		}
		r.Residual = append(r.Residual, res)
	}
}

func (r *Report) utility(ins, outs []*scan.Report, sums []Summary) {
	for i, in := range ins {
		out := pair(outs, i)
		if out == nil {
			continue
		}
		u := Utility{Input: in.File, Output: out.File, RowsIn: in.Rows, RowsOut: out.Rows, ColumnsIn: len(in.Columns), ColumnsOut: len(out.Columns)}
		u.RowsRemoved = in.Rows - out.Rows
		for _, c := range in.Columns {
			if out.Column(c.Column) == nil {
				u.ColumnsDropped++
			}
		}
		related, _ := chain(sums, in.SHA256, out.SHA256)
		for _, s := range related {
			u.WithdrawnRows += s.WithdrawnRows
			u.Suppressed += s.Suppressed
			for _, c := range s.Columns {
				u.ValuesReplaced += c.Values
			}
		}
		if in.Rows > 0 {
			u.RowsKept = float64(out.Rows) / float64(in.Rows)
		}
		r.Utility = append(r.Utility, u)
	}
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadJSON reads a report written by WriteJSON.
func ReadJSON(rd io.Reader) (*Report, error) {
	var r Report
	dec := json.NewDecoder(rd)
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("not a pseudokit report: %v", err)
	}
	if r.Format != FormatVersion {
		return nil, fmt.Errorf("report format %d: this program reads format %d", r.Format, FormatVersion)
	}
	return &r, nil
}

// Passed reports whether every check passed or could not be made (none failed).
func (r *Report) Passed() bool {
	for _, c := range r.Checks {
		if c.Status == Fail {
			return false
		}
	}
	return true
}

func joinOr(xs []string, none string) string {
	if len(xs) == 0 {
		return none
	}
	return strings.Join(xs, ", ")
}
