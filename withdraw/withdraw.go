package withdraw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"sort"
	"strings"
	"time"

	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo"
	"github.com/pseudokit/pseudokit/pseudo/nid"
)

// ErrNoPurpose is returned when a withdrawal has no stated purpose.
var ErrNoPurpose = errors.New("a withdrawal needs a purpose (e.g. the case reference of the request)")

// Job is one withdrawal: the persons and the datasets to remove them from.
type Job struct {
	// Vault is the project's unlocked vault.
	Vault *keyvault.Vault
	// IDs are the withdrawn persons' identity numbers.
	IDs []string
	// Codes are codes of withdrawn persons (any domain), for participants
	// who know their code but not how it was made.
	Codes []string
	// Datasets are the files to remove the persons from (CSV or Parquet),
	// rewritten in place.
	Datasets []string
	// Purpose says why (required), e.g. "withdrawal request 2026-117".
	Purpose string
	// Actor is who carries it out, for the log and the receipt.
	Actor string
	// DryRun reports what would be removed and changes no dataset and no
	// link. (Reading the vault is still logged: it is an access.)
	DryRun bool
	// Now returns the time (default time.Now).
	Now func() time.Time
	// Progress, if set, is called while a dataset is filtered with its path,
	// the rows read of it so far and the share of it read (0 to 1).
	Progress func(dataset string, rows int64, done float64)
}

// Receipt is the proof of a withdrawal. It names persons by code only.
type Receipt struct {
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor,omitempty"`
	OSUser  string    `json:"os_user,omitempty"`
	Purpose string    `json:"purpose"`
	DryRun  bool      `json:"dry_run,omitempty"`
	// Persons are the withdrawn persons, each by one code (see Person).
	Persons []Person `json:"persons"`
	// Datasets says what happened to each dataset.
	Datasets []DatasetReceipt `json:"datasets"`
	// LogSeq is the sequence number of the vault's access-log entry that
	// records this withdrawal (0 for a dry run).
	LogSeq int64 `json:"log_seq,omitempty"`
	// Tool is the tool version.
	Tool string `json:"tool"`
}

// Person is a withdrawn person as the receipt shows them.
type Person struct {
	// Code is the person's code in the vault's default domain (or the code
	// they gave), the name the receipt uses for them.
	Code string `json:"code"`
	// Codes are all the person's codes, one per domain where they have a link.
	Codes []string `json:"codes"`
	// RowsRemoved is the number of rows removed over all datasets.
	RowsRemoved int64 `json:"rows_removed"`
}

// DatasetReceipt is what happened to one dataset.
type DatasetReceipt struct {
	Path         string `json:"path"`
	Format       string `json:"format"`
	SHA256Before string `json:"sha256_before"`
	SHA256After  string `json:"sha256_after"`
	RowsBefore   int64  `json:"rows_before"`
	RowsAfter    int64  `json:"rows_after"`
	// Removed counts removed rows per person (by Person.Code).
	Removed map[string]int64 `json:"removed,omitempty"`
}

// matcher decides whether a field belongs to a withdrawn person, and whom.
type matcher struct {
	codes map[string]int // code -> person index
	ids   map[string]int // canonical identity number -> person index
}

// match returns the person a field identifies, or -1.
func (m *matcher) match(f []byte) int {
	f = bytes.TrimSpace(f)
	switch {
	case len(f) == pseudo.CodeLen:
		if p, ok := m.codes[string(f)]; ok {
			return p
		}
		if up := bytes.ToUpper(f); !bytes.Equal(up, f) {
			if p, ok := m.codes[string(up)]; ok {
				return p
			}
		}
	case len(f) >= 11 && len(f) <= 14 && len(m.ids) > 0:
		if n, err := nid.ParseBytes(f); err == nil {
			var buf [11]byte
			if p, ok := m.ids[string(n.Append(buf[:0]))]; ok {
				return p
			}
		}
	}
	return -1
}

// resolve turns the job's IDs and codes into persons and a matcher.
func (j *Job) resolve() (*matcher, []Person, []keyvault.Person, error) {
	m := &matcher{codes: map[string]int{}, ids: map[string]int{}}
	var persons []Person
	var vps []keyvault.Person
	domains, err := j.Vault.Domains()
	if err != nil {
		return nil, nil, nil, err
	}
	seen := map[string]int{} // canonical id -> person
	add := func(canon, label string, refs []keyvault.LinkRef) {
		if p, ok := seen[canon]; ok && canon != "" {
			for _, r := range refs {
				m.codes[r.Code] = p
			}
			return
		}
		p := len(persons)
		if canon != "" {
			seen[canon] = p
			m.ids[canon] = p
			vps = append(vps, keyvault.Person{Kind: string(pseudo.KindNID), Canonical: canon})
		}
		per := Person{Code: label}
		for _, r := range refs {
			m.codes[r.Code] = p
			per.Codes = append(per.Codes, r.Code)
		}
		persons = append(persons, per)
	}
	for i, raw := range j.IDs {
		n, err := nid.Parse(raw)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("identity number %d of %d: %w", i+1, len(j.IDs), err)
		}
		canon := n.String()
		refs, _, err := j.Vault.FindPerson(string(pseudo.KindNID), canon)
		if err != nil {
			return nil, nil, nil, err
		}
		// Keyed domains: the code a dataset would hold even where the vault
		// has no link (a dataset made elsewhere with the same key).
		for _, d := range domains {
			if d.Scheme != keyvault.SchemeKeyed {
				continue
			}
			secret, err := j.Vault.DomainSecret(d.Name)
			if err != nil {
				return nil, nil, nil, err
			}
			c, err := pseudo.NewCoder(secret)
			clear(secret)
			if err != nil {
				return nil, nil, nil, err
			}
			code := c.Code(pseudo.KindNID, canon)
			if !hasCode(refs, code) {
				refs = append(refs, keyvault.LinkRef{Domain: d.Name, Code: code, Kind: string(pseudo.KindNID)})
			}
		}
		add(canon, labelCode(refs), refs)
	}
	for i, raw := range j.Codes {
		code, err := pseudo.ParseCode(raw)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("code %d of %d: %w", i+1, len(j.Codes), err)
		}
		refs, err := j.Vault.FindCode(code)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("code %s: %w", code, err)
		}
		canon := ""
		for _, r := range refs {
			if r.Identifier != "" && r.Kind == string(pseudo.KindNID) {
				canon = r.Identifier
			}
		}
		if canon == "" {
			// The person is already withdrawn (identifier erased) or is known
			// by another kind of identifier: match by codes only.
			for _, r := range refs {
				if r.Identifier != "" {
					vps = append(vps, keyvault.Person{Kind: r.Kind, Canonical: r.Identifier})
					break
				}
			}
		}
		add(canon, code, refs)
	}
	for i := range persons {
		sort.Strings(persons[i].Codes)
	}
	return m, persons, vps, nil
}

func hasCode(refs []keyvault.LinkRef, code string) bool {
	for _, r := range refs {
		if r.Code == code {
			return true
		}
	}
	return false
}

// labelCode picks the code a receipt names a person by: their code in the
// default domain when there is one.
func labelCode(refs []keyvault.LinkRef) string {
	for _, r := range refs {
		if r.Domain == keyvault.DefaultDomain {
			return r.Code
		}
	}
	if len(refs) > 0 {
		return refs[0].Code
	}
	return ""
}

// Run carries out the withdrawal, all or nothing.
func (j *Job) Run(ctx context.Context) (*Receipt, error) {
	if strings.TrimSpace(j.Purpose) == "" {
		return nil, ErrNoPurpose
	}
	if len(j.IDs)+len(j.Codes) == 0 {
		return nil, errors.New("no persons: give identity numbers or codes")
	}
	now := time.Now
	if j.Now != nil {
		now = j.Now
	}
	m, persons, vps, err := j.resolve()
	if err != nil {
		return nil, err
	}
	rc := &Receipt{Time: now().UTC(), Actor: j.Actor, OSUser: osUser(), Purpose: j.Purpose, DryRun: j.DryRun, Persons: persons, Tool: keyvault.ToolVersion}
	var staged []*staged
	defer func() {
		for _, s := range staged {
			s.abort()
		}
	}()
	seenPath := map[string]bool{}
	for _, path := range j.Datasets {
		if seenPath[path] {
			return nil, fmt.Errorf("%s: named twice", path)
		}
		seenPath[path] = true
		s, err := filterFile(ctx, path, m, len(persons), j.DryRun, j.Progress)
		if err != nil {
			return nil, err
		}
		staged = append(staged, s)
		dr := s.receipt
		dr.Removed = map[string]int64{}
		for p, n := range s.removed {
			if n > 0 {
				dr.Removed[persons[p].Code] += n
				rc.Persons[p].RowsRemoved += n
			}
		}
		rc.Datasets = append(rc.Datasets, dr)
	}
	entry := keyvault.Entry{Action: "withdraw", Actor: j.Actor, Purpose: j.Purpose, Details: rc.logDetails()}
	if j.DryRun {
		entry.Action = "withdraw-dry-run"
		if err := j.Vault.AppendContext(ctx, entry); err != nil {
			return nil, err
		}
		return rc, nil
	}
	if _, err := j.Vault.Withdraw(ctx, vps, entry); err != nil {
		return nil, err
	}
	rc.LogSeq = lastSeq(j.Vault)
	var errs []error
	for _, s := range staged {
		if err := s.commit(); err != nil {
			errs = append(errs, err)
		}
	}
	staged = nil
	if len(errs) > 0 {
		return rc, fmt.Errorf("the vault records the withdrawal, but replacing datasets failed (run the withdrawal again): %w", errors.Join(errs...))
	}
	return rc, nil
}

// logDetails is what the access log records: codes, counts and digests.
func (rc *Receipt) logDetails() map[string]any {
	codes := make([]string, len(rc.Persons))
	for i, p := range rc.Persons {
		codes[i] = p.Code
	}
	var ds []map[string]any
	for _, d := range rc.Datasets {
		ds = append(ds, map[string]any{"sha256_before": d.SHA256Before, "sha256_after": d.SHA256After,
			"rows_before": d.RowsBefore, "rows_after": d.RowsAfter, "removed": d.Removed})
	}
	return map[string]any{"persons": codes, "datasets": ds}
}

func lastSeq(v *keyvault.Vault) int64 {
	seq, err := v.LastSeq()
	if err != nil {
		return 0
	}
	return seq
}

func osUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}
