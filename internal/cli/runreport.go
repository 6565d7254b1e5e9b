package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	reportpkg "github.com/pseudokit/pseudokit/internal/report"
	"github.com/pseudokit/pseudokit/keyvault"
)

// runReportSpec is what --report FILE on pseudonymize, anonymize and withdraw
// does: a de-identification report of the run just made, in the formats
// the file names say (.html, .md, .json; the flag may be repeated).
type runReportSpec struct {
	paths   []string
	inputs  []string
	outputs []string
	results []any // run summaries (pseudo.Result, anonymize.Summary), kept beside the report
	qi      []string
	k       int
	vault   *keyvault.Vault
	command string
}

func (r *runReportSpec) write(ctx context.Context, e *Env) error {
	if len(r.paths) == 0 {
		return nil
	}
	formats := make([]string, len(r.paths))
	for i, p := range r.paths {
		f, err := reportFormat(p, "")
		if err != nil {
			return err
		}
		formats[i] = f
	}
	// The run's summary is kept beside the report, so that 'report --verify'
	// can re-read everything the report was made from.
	var summaries []string
	for i, res := range r.results {
		p := strings.TrimSuffix(r.paths[0], filepath.Ext(r.paths[0])) + ".summary.json"
		if i > 0 {
			p = fmt.Sprintf("%s.summary-%d.json", strings.TrimSuffix(r.paths[0], filepath.Ext(r.paths[0])), i+1)
		}
		if err := writeJSON(p, res); err != nil {
			return err
		}
		summaries = append(summaries, p)
	}
	rep, err := reportpkg.Build(ctx, reportpkg.Options{
		Inputs: r.inputs, Outputs: r.outputs, Summaries: summaries,
		Vault: r.vault, QI: r.qi, K: r.k, Command: r.command, Tool: "pseudokit " + Version,
	})
	if err != nil {
		return fmt.Errorf("the run succeeded, but its report could not be made: %w", err)
	}
	for i, p := range r.paths {
		if err := writeReport(e, rep, p, formats[i]); err != nil {
			return err
		}
	}
	for _, c := range rep.Checks {
		if c.Status == reportpkg.Fail {
			fmt.Fprintf(e.Stderr, "pseudokit: report check failed: %s: %s\n", c.Name, c.Value)
		}
	}
	return nil
}
