package job

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"sort"

	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
)

// ImportOptions configure Import.
type ImportOptions struct {
	// Actor and Purpose are recorded in the access log.
	Actor, Purpose string
	// Command is the command line recorded in the access log.
	Command string
}

// ImportResult says what Import did.
type ImportResult struct {
	Job    string `json:"job"`
	Domain string `json:"domain"`
	// Files are the link files read, with their SHA-256.
	Files []ImportedFile `json:"files"`
	// Records counts the link records read (a link met in several files
	// counts in each).
	Records int64 `json:"records"`
	// NewLinks and ExistingLinks count the distinct identifiers new to the
	// vault and those it already held.
	NewLinks      int `json:"new_links"`
	ExistingLinks int `json:"existing_links"`
	// LogSeq is the access-log entry of the import.
	LogSeq int64 `json:"log_seq"`
}

// ImportedFile is one link file of an import.
type ImportedFile struct {
	Path    string `json:"path"`
	SHA256  string `json:"sha256"`
	Records int64  `json:"records"`
}

// WithdrawnError reports link records of persons who withdrew after the
// job was granted (or who had no link in the job's domain): their rows are
// in the job's outputs and must be removed (pseudokit withdraw --code, or
// the pipeline's withdraw) before the import can succeed.
type WithdrawnError struct {
	// Codes are the persons' codes in the job's domain, sorted.
	Codes []string
}

func (e *WithdrawnError) Error() string {
	return fmt.Sprintf("%d person(s) in the link files have withdrawn consent; nothing was imported", len(e.Codes))
}

// Is makes errors.Is(err, pseudo.ErrWithdrawn) true.
func (e *WithdrawnError) Is(target error) bool { return target == pseudo.ErrWithdrawn }

// ErrNotGranted is returned for link files of a job the vault's access log
// has no grant for.
var ErrNotGranted = errors.New("the vault never granted this job")

// Import records the links of a job's link files (see package doc) in the
// vault, in one transaction with one access-log entry (action "import"):
// all or nothing. All files must belong to one job of this vault. Every
// record's code is checked against the domain key, so a record that was
// altered or made with another key fails the import, naming the file and
// record number. Importing links the vault already holds changes nothing
// but the log, so a retried import, or files that overlap, are harmless.
func Import(ctx context.Context, v *keyvault.Vault, paths []string, o ImportOptions) (*ImportResult, error) {
	if len(paths) == 0 {
		return nil, errors.New("no link files to import")
	}
	vaultID := v.ID()
	var h LinkHeader
	for i, p := range paths {
		ph, err := headerOf(p)
		if err != nil {
			return nil, err
		}
		switch {
		case ph.VaultID != vaultID:
			return nil, fmt.Errorf("%s: made for another vault (id %s, this is %s)", p, ph.VaultID, vaultID)
		case i > 0 && ph != h:
			return nil, fmt.Errorf("%s: belongs to job %s, but %s to job %s: import one job at a time", p, ph.Job, paths[0], h.Job)
		}
		h = ph
	}
	if err := granted(v, h); err != nil {
		return nil, err
	}
	ident, err := v.JobIdentity(h.Job)
	if err != nil {
		return nil, err
	}
	secret, err := v.DomainSecret(h.Domain)
	if err != nil {
		return nil, err
	}
	coder, err := pseudo.NewCoder(secret)
	clear(secret)
	if err != nil {
		return nil, err
	}
	tx, err := v.Begin(ctx, h.Domain)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	res := &ImportResult{Job: h.Job, Domain: h.Domain}
	withdrawn := map[string]struct{}{}
	// Link files of one job repeat a person once per file they are in;
	// an exact repeat of a record already checked and linked is skipped.
	done := newRepeats()
	for _, p := range paths {
		f := ImportedFile{Path: p}
		err := readFile(p, func(r io.Reader) error {
			var err error
			f.Records, err = ReadLinks(r, ident, func(kind, canonical, code string) error {
				if done.seen(kind, canonical, code) {
					return nil
				}
				k, err := pseudo.ParseKind(kind)
				if err != nil {
					return fmt.Errorf("%w: unknown identifier kind", ErrBadLinkFile)
				}
				if coder.Code(k, canonical) != code {
					return fmt.Errorf("%w: code %s is not the one the domain key gives (altered, or made with another key)", ErrBadLinkFile, code)
				}
				err = tx.Link(kind, canonical, code)
				if errors.Is(err, keyvault.ErrWithdrawn) {
					withdrawn[code] = struct{}{}
					return nil
				}
				if err == nil {
					done.add(kind, canonical, code)
				}
				return err
			})
			return err
		}, &f.SHA256)
		if err != nil {
			return nil, fmt.Errorf("%s: record %d: %w", p, f.Records, err)
		}
		res.Files = append(res.Files, f)
		res.Records += f.Records
	}
	if len(withdrawn) > 0 {
		we := &WithdrawnError{}
		for c := range withdrawn {
			we.Codes = append(we.Codes, c)
		}
		sort.Strings(we.Codes)
		return nil, we
	}
	hashes := make([]string, len(res.Files))
	for i, f := range res.Files {
		hashes[i] = f.SHA256
	}
	e := keyvault.Entry{Action: "import", Actor: o.Actor, Purpose: o.Purpose, Details: map[string]any{
		"job": h.Job, "files": len(paths), "records": res.Records, "file_sha256": hashes, "command": o.Command,
	}}
	if err := tx.Commit(e); err != nil {
		return nil, err
	}
	res.NewLinks, res.ExistingLinks = tx.Counts()
	if res.LogSeq, err = v.LastSeq(); err != nil {
		return nil, err
	}
	return res, nil
}

func headerOf(path string) (LinkHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return LinkHeader{}, err
	}
	defer f.Close()
	h, err := ReadLinkHeader(bufio.NewReaderSize(f, maxHeader))
	if err != nil {
		return LinkHeader{}, fmt.Errorf("%s: %w", path, err)
	}
	return h, nil
}

// readFile opens path, skips its header line and hands the rest to fn,
// hashing the whole file into *digest.
func readFile(path string, fn func(io.Reader) error, digest *string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sum := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(f, sum), 64<<10)
	if _, err := ReadLinkHeader(br); err != nil {
		return err
	}
	if err := fn(br); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return err
	}
	*digest = hex.EncodeToString(sum.Sum(nil))
	return nil
}

// granted checks that the access log records a grant of h.Job in h.Domain.
func granted(v *keyvault.Vault, h LinkHeader) error {
	es, err := v.Entries()
	if err != nil {
		return err
	}
	for _, e := range es {
		if e.Action == "job" && e.Details["job"] == h.Job && e.Details["domain"] == h.Domain {
			return nil
		}
	}
	return fmt.Errorf("%w: job %s in domain %s", ErrNotGranted, h.Job, h.Domain)
}

// repeats remembers records already checked and linked, by a 128-bit keyed
// hash of the whole record (kind, identifier and code: a record that
// differs in any of them is checked on its own), up to maxRepeats of them.
type repeats struct {
	h0, h1 maphash.Seed
	m      map[[2]uint64]struct{}
}

const maxRepeats = 1 << 20

func newRepeats() *repeats {
	return &repeats{h0: maphash.MakeSeed(), h1: maphash.MakeSeed(), m: map[[2]uint64]struct{}{}}
}

func (r *repeats) key(kind, canonical, code string) [2]uint64 {
	var k [2]uint64
	for i, seed := range []maphash.Seed{r.h0, r.h1} {
		var h maphash.Hash
		h.SetSeed(seed)
		h.WriteString(kind)
		h.WriteByte(0)
		h.WriteString(canonical)
		h.WriteByte(0)
		h.WriteString(code)
		k[i] = h.Sum64()
	}
	return k
}

func (r *repeats) seen(kind, canonical, code string) bool {
	_, ok := r.m[r.key(kind, canonical, code)]
	return ok
}

func (r *repeats) add(kind, canonical, code string) {
	if len(r.m) >= maxRepeats {
		clear(r.m) // repeats then cost a check and a Link call, nothing more
	}
	r.m[r.key(kind, canonical, code)] = struct{}{}
}
