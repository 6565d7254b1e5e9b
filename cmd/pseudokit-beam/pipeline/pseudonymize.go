package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/fileio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/pseudokit/pseudokit/internal/table"
	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/job"
)

func init() {
	register.DoFn3x1[context.Context, fileio.FileMetadata, func(string), error](&pseudonymizeFn{})
	register.DoFn3x1[context.Context, int, func(*string) bool, error](&runSummaryFn{})
	register.DoFn2x0[fileio.FileMetadata, func(fileio.FileMetadata)](&datasetFilesFn{})
	register.Emitter1[string]()
	register.Emitter1[fileio.FileMetadata]()
	register.Iter1[string]()
}

// PseudonymizeOptions configure Pseudonymize.
type PseudonymizeOptions struct {
	// Input is a glob of CSV and Parquet files (local or a scheme such as
	// gs://), or a local directory: every CSV and Parquet file below it
	// (Hive-style partitions). Files whose names start with '_' or '.' are
	// skipped, as Hadoop-style tools do.
	Input string
	// Root is the directory outputs keep paths relative to (default: the
	// glob's directory before its first wildcard).
	Root string
	// Output is the directory the pseudonymised files go to, at the same
	// relative paths.
	Output string
	// Links is the directory the sealed link files go to (one per input,
	// named after it with ".links" added). Keep it apart from Output: it
	// is for `pseudokit vault import` only.
	Links string
	// Rules is the rule file's text (YAML, as for pseudokit pseudonymize).
	Rules string
	// Grant is the path of the job grant (pseudokit vault job --out).
	Grant string
	// Identity is the path, on the workers, of the age identity file that
	// opens the grant. It is read by the workers, never sent with the
	// pipeline.
	Identity string
	// SkipWithdrawn leaves out rows of persons who have withdrawn; without
	// it such rows fail the pipeline.
	SkipWithdrawn bool
	// Workers is the number of goroutines per file (default 1: the runner
	// already processes files in parallel).
	Workers int
	// Summary is where the run summary (JSON) is written (default
	// Output/_pseudokit-run.json).
	Summary string
}

// FileResult is what the pipeline did with one file.
type FileResult struct {
	Job         string         `json:"job"`
	Input       string         `json:"input"`
	Output      string         `json:"output"`
	Links       string         `json:"links"`
	LinkRecords int64          `json:"link_records"`
	Result      *pseudo.Result `json:"result"`
}

// RunSummary is the run summary a pseudonymisation pipeline writes.
type RunSummary struct {
	Job           string       `json:"job"`
	Domain        string       `json:"domain"`
	Files         []FileResult `json:"files"`
	Rows          int64        `json:"rows"`
	LinkRecords   int64        `json:"link_records"`
	WithdrawnRows int64        `json:"withdrawn_rows"`
}

// Pseudonymize adds the pseudonymisation of o.Input to the pipeline.
func Pseudonymize(s beam.Scope, o PseudonymizeOptions) error {
	s = s.Scope("pseudokit.Pseudonymize")
	if o.Input == "" || o.Output == "" || o.Links == "" || o.Grant == "" || o.Identity == "" || o.Rules == "" {
		return fmt.Errorf("pseudonymize needs an input glob, output and links directories, rules, a grant and an identity file")
	}
	if _, err := pseudo.ParseRules(strings.NewReader(o.Rules)); err != nil {
		return err
	}
	if o.Root == "" {
		o.Root = GlobRoot(o.Input)
	}
	if o.Summary == "" {
		o.Summary = join(o.Output, "_pseudokit-run.json")
	}
	files, err := datasetFiles(s, o.Input)
	if err != nil {
		return err
	}
	results := beam.ParDo(s, &pseudonymizeFn{Rules: o.Rules, Grant: o.Grant, Identity: o.Identity, Root: o.Root,
		Output: o.Output, Links: o.Links, SkipWithdrawn: o.SkipWithdrawn, Workers: o.Workers}, files)
	gather(s, results, &runSummaryFn{Path: o.Summary})
	return nil
}

// datasetFiles matches glob (or, for a local directory, every CSV and
// Parquet file below it: Hive-style partitions of any depth), drops
// Hadoop-style hidden files, and reshuffles so the runner can spread the
// files over workers.
func datasetFiles(s beam.Scope, glob string) (beam.PCollection, error) {
	var matched beam.PCollection
	if st, err := os.Stat(glob); err == nil && st.IsDir() && !isRemote(glob) {
		files, err := walkDatasets(glob)
		if err != nil {
			return beam.PCollection{}, err
		}
		matched = beam.CreateList(s, files)
	} else {
		matched = fileio.MatchFiles(s, glob, fileio.MatchEmptyDisallow())
	}
	return beam.Reshuffle(s, beam.ParDo(s, &datasetFilesFn{}, matched)), nil
}

// walkDatasets lists the CSV and Parquet files below dir.
func walkDatasets(dir string) ([]fileio.FileMetadata, error) {
	var out []fileio.FileMetadata
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && (strings.HasPrefix(d.Name(), "_") || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if _, err := table.FormatOf(p, ""); err != nil {
			return nil // not a dataset file (_SUCCESS, .crc, README)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, fileio.FileMetadata{Path: p, Size: info.Size(), LastModified: info.ModTime()})
		return nil
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("%s: no CSV or Parquet files", dir)
	}
	return out, err
}

type datasetFilesFn struct{}

func (datasetFilesFn) ProcessElement(m fileio.FileMetadata, emit func(fileio.FileMetadata)) {
	base := path.Base(strings.ReplaceAll(m.Path, "\\", "/"))
	if strings.HasPrefix(base, "_") || strings.HasPrefix(base, ".") {
		return
	}
	emit(m)
}

// gather brings every result to one worker, where fn writes them out.
func gather(s beam.Scope, results beam.PCollection, fn any) {
	grouped := beam.GroupByKey(s, beam.AddFixedKey(s, results))
	beam.ParDo0(s, fn, grouped)
}

type pseudonymizeFn struct {
	Rules, Grant, Identity, Root, Output, Links string
	SkipWithdrawn                               bool
	Workers                                     int

	rules *pseudo.Rules
	grant *keyvault.Grant
}

func (f *pseudonymizeFn) Setup(ctx context.Context) error {
	var err error
	if f.rules, err = pseudo.ParseRules(strings.NewReader(f.Rules)); err != nil {
		return err
	}
	f.grant, err = openGrant(ctx, f.Grant, f.Identity)
	if err != nil {
		return err
	}
	if f.rules.Domain == "" {
		f.rules.Domain = keyvault.DefaultDomain
	}
	if f.rules.Domain != f.grant.Domain {
		return fmt.Errorf("the rules' domain %s is not the grant's domain %s", f.rules.Domain, f.grant.Domain)
	}
	return nil
}

// openGrant reads the grant file with the worker's identity file.
func openGrant(ctx context.Context, grantPath, identityPath string) (*keyvault.Grant, error) {
	idf, err := os.Open(identityPath)
	if err != nil {
		return nil, fmt.Errorf("worker identity: %w", err)
	}
	ids, err := keyvault.ParseIdentities(idf, nil)
	idf.Close()
	if err != nil {
		return nil, fmt.Errorf("worker identity %s: %w", identityPath, err)
	}
	data, err := readFile(ctx, grantPath)
	if err != nil {
		return nil, fmt.Errorf("grant: %w", err)
	}
	g, err := job.ReadGrant(strings.NewReader(string(data)), ids...)
	if err != nil {
		return nil, fmt.Errorf("grant %s: %w", grantPath, err)
	}
	return g, nil
}

func (f *pseudonymizeFn) Teardown() {
	if f.grant != nil {
		clear(f.grant.DomainSecret)
	}
}

func (f *pseudonymizeFn) ProcessElement(ctx context.Context, m fileio.FileMetadata, emit func(string)) error {
	t, err := newFileTask(ctx, f.Root, f.Output, m.Path)
	if err != nil {
		return err
	}
	defer t.close()
	linksPath := join(f.Links, t.rel+".links")
	links, commitLinks, cleanLinks, err := stageOut(ctx, linksPath)
	if err != nil {
		return err
	}
	defer cleanLinks()

	lo, err := table.CreateOutput(links, nil)
	if err != nil {
		return err
	}
	defer lo.Abort()
	lw, err := job.NewLinkWriter(lo, f.grant)
	if err != nil {
		return err
	}
	workers := f.Workers
	if workers <= 0 {
		workers = 1
	}
	res, err := (&pseudo.FileJob{Grant: f.grant, Linker: lw, Rules: f.rules, In: t.in, Out: t.out,
		SkipWithdrawn: f.SkipWithdrawn, Workers: workers}).Run(ctx)
	if cerr := lw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", t.rel, err)
	}
	// The links are in place before the output is: an output whose links
	// are missing must never exist.
	if err := lo.Sync(); err != nil {
		return err
	}
	if err := lo.Commit(); err != nil {
		return err
	}
	if err := commitLinks(); err != nil {
		return err
	}
	if err := t.commit(); err != nil {
		return err
	}
	b, err := json.Marshal(FileResult{Job: f.grant.Job, Input: t.rel, Output: t.outPath, Links: linksPath, LinkRecords: lw.Records(), Result: res})
	if err != nil {
		return err
	}
	emit(string(b))
	return nil
}

type runSummaryFn struct {
	Path string
}

func (f *runSummaryFn) ProcessElement(ctx context.Context, _ int, results func(*string) bool) error {
	var sum RunSummary
	var r string
	for results(&r) {
		var fr FileResult
		if err := json.Unmarshal([]byte(r), &fr); err != nil {
			return err
		}
		sum.Files = append(sum.Files, fr)
		sum.Rows += fr.Result.Rows
		sum.LinkRecords += fr.LinkRecords
		sum.WithdrawnRows += fr.Result.WithdrawnRows
		sum.Domain, sum.Job = fr.Result.Domain, fr.Job
	}
	sort.Slice(sum.Files, func(i, j int) bool { return sum.Files[i].Input < sum.Files[j].Input })
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(ctx, f.Path, append(b, '\n'))
}
