package report

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo/scan"
)

// A Mismatch is a figure of a report that the files no longer give.
type Mismatch struct {
	// Item names the figure, as a path into the report's JSON form
	// ("outputs[0].sha256", "risk[0].after.k").
	Item string `json:"item"`
	// Reported and Found are the report's value and the recomputed one.
	Reported string `json:"reported"`
	Found    string `json:"found"`
}

// String says what differs, for people.
func (m Mismatch) String() string {
	return fmt.Sprintf("%s: report says %s, found %s", m.Item, m.Reported, m.Found)
}

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Vault, if set, is the project's unlocked vault: the report's vault
	// section is checked against it (the log must still contain the
	// reported head, and the figures drawn from the log up to it must be
	// the same). Without it that section is not checked.
	Vault *keyvault.Vault
}

// Verification is the outcome of Verify.
type Verification struct {
	// Mismatches are the figures that differ; none means the report holds.
	Mismatches []Mismatch `json:"mismatches"`
	// Checked and Skipped name what was and was not recomputed.
	Checked []string `json:"checked"`
	Skipped []string `json:"skipped,omitempty"`
}

// maxMismatches bounds the mismatches listed.
const maxMismatches = 100

// Verify recomputes every figure of a report from the files it names:
// it re-hashes and re-reads the inputs, outputs and summaries, re-runs the
// residual scan and the risk measurement, and compares. Paths are taken as
// the report gives them (relative to the working directory of the run that
// made it).
func Verify(ctx context.Context, r *Report, o VerifyOptions) (*Verification, error) {
	v := &Verification{Mismatches: []Mismatch{}}
	p := r.Parameters
	// Summary files must be unchanged; the report's copies are used below
	// (in-process results exist only there).
	for _, s := range r.Summaries {
		if s.Path == "" {
			continue
		}
		b, err := os.ReadFile(s.Path)
		if err != nil {
			v.add("summary "+s.Path, s.SHA256, "unreadable: "+err.Error())
			continue
		}
		h := sha256.Sum256(b)
		if got := hex.EncodeToString(h[:]); got != s.SHA256 {
			v.add("summary "+s.Path+" sha256", s.SHA256, got)
		}
	}
	v.Checked = append(v.Checked, fmt.Sprintf("%d summary file(s) re-hashed", len(p.Summaries)))
	// The files themselves, first: a changed file is named even when it can
	// no longer be read as a dataset.
	for _, group := range []struct {
		name  string
		files []File
	}{{"inputs", r.Inputs}, {"outputs", r.Outputs}} {
		for i, f := range group.files {
			got, err := table.FileSHA256(f.Path)
			if err != nil {
				got = "unreadable: " + err.Error()
			}
			if got != f.SHA256 {
				v.add(fmt.Sprintf("%s[%d].sha256 (%s)", group.name, i, f.Path), f.SHA256, got)
			}
		}
	}
	comma := byte(0)
	if p.Delimiter != "" {
		comma = p.Delimiter[0]
	}
	again, err := Build(ctx, Options{
		Inputs: p.Inputs, Outputs: p.Outputs, QI: p.QI, K: p.K, Sensitive: p.Sensitive, L: p.L,
		Scan:    scan.FileOptions{Options: scan.Options{SampleSize: p.SampleSize}, Format: p.Format, Comma: comma, Encoding: p.Encoding},
		Command: r.Command, Tool: r.Tool, Now: r.Generated,
		Summaries: p.Summaries, given: r.Summaries, hasGiven: true,
	})
	if err != nil {
		if len(v.Mismatches) > 0 { // a changed file that no longer reads
			v.add("recomputation", "possible", err.Error())
			return v, nil
		}
		return nil, err
	}
	v.Checked = append(v.Checked, fmt.Sprintf("%d input(s) and %d output(s) re-hashed, re-counted and re-scanned", len(p.Inputs), len(p.Outputs)))
	if len(p.QI) > 0 {
		v.Checked = append(v.Checked, "k, class sizes and risk re-measured on "+strings.Join(p.QI, ", "))
	}
	a, b := figures(r), figures(again)
	diff("", a, b, v)

	switch {
	case r.Vault == nil:
	case o.Vault == nil:
		v.Skipped = append(v.Skipped, "the vault section (give --vault to check it)")
	default:
		if err := verifyVault(ctx, r.Vault, again.Outputs, o.Vault, v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (v *Verification) add(item, reported, found string) {
	if len(v.Mismatches) < maxMismatches {
		v.Mismatches = append(v.Mismatches, Mismatch{item, reported, found})
	}
}

// figures is the report's JSON form without what Verify does not
// recompute from the datasets: the generation time, the checks (derived
// from the figures) and the vault (checked against the vault).
func figures(r *Report) any {
	c := *r
	c.Generated = r.Generated.Truncate(0)
	c.Checks = nil
	c.Vault = nil
	b, err := json.Marshal(&c)
	if err != nil {
		panic(err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		panic(err)
	}
	delete(m, "generated")
	delete(m, "checks")
	// Read from the vault (checked with the vault section).
	if meth, ok := m["methods"].(map[string]any); ok {
		if codes, ok := meth["codes"].(map[string]any); ok {
			delete(codes, "domain_schemes")
			delete(codes, "key_slots")
		}
	}
	return m
}

// diff compares two JSON values and records the leaves that differ.
func diff(path string, a, b any, v *Verification) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			v.add(path, short64(a), short64(b))
			return
		}
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			p := k
			if path != "" {
				p = path + "." + k
			}
			diff(p, x[k], y[k], v)
		}
	case []any:
		y, ok := b.([]any)
		if !ok {
			v.add(path, short64(a), short64(b))
			return
		}
		if len(x) != len(y) {
			v.add(path+" (entries)", fmt.Sprint(len(x)), fmt.Sprint(len(y)))
		}
		for i := 0; i < min(len(x), len(y)); i++ {
			diff(fmt.Sprintf("%s[%d]", path, i), x[i], y[i], v)
		}
	default:
		if fmt.Sprint(a) != fmt.Sprint(b) {
			v.add(path, short64(a), short64(b))
		}
	}
}

// short64 renders a JSON value for a mismatch line.
func short64(x any) string {
	if x == nil {
		return "nothing"
	}
	b, _ := json.Marshal(x)
	s := string(b)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// verifyVault checks the report's vault section against the vault.
func verifyVault(ctx context.Context, rv *Vault, outputs []File, kv *keyvault.Vault, v *Verification) error {
	if _, err := kv.Verify(ctx, keyvault.VerifyOptions{Head: rv.LogHead}); err != nil {
		v.add("vault.log_head", rv.LogHead, "not in the vault's verified log: "+err.Error())
		return nil
	}
	v.Checked = append(v.Checked, "the vault's log verified and still contains the reported head")
	entries, err := kv.Entries()
	if err != nil {
		return err
	}
	entries = slices.DeleteFunc(entries, func(e keyvault.Entry) bool { return e.Seq > rv.LogEntries })
	now := &Vault{}
	logFigures(now, entries, outputs)
	in, err := kv.Info()
	if err != nil {
		return err
	}
	now.Project, now.VaultID = in.Project, in.VaultID
	now.Holders, now.Domains = []Holder{}, []Domain{}
	for _, s := range in.Slots {
		now.Holders = append(now.Holders, Holder{ID: s.ID, Type: s.Type, Label: s.Label, Created: s.Created.UTC().Format("2006-01-02")})
	}
	if !in.Retention.IsZero() {
		now.Retention = in.Retention.Format("2006-01-02")
	}
	pick := func(x *Vault) any {
		b, _ := json.Marshal(map[string]any{
			"project": x.Project, "vault_id": x.VaultID, "holders": x.Holders, "retention": x.Retention,
			"access": x.Access, "withdrawals": x.Withdrawals, "provenance": x.Provenance,
		})
		var m any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		dec.Decode(&m)
		return m
	}
	diff("vault", pick(rv), pick(now), v)
	v.Checked = append(v.Checked, "the vault's holders, retention, access summary, withdrawals and provenance (log up to the reported head)")
	return nil
}
