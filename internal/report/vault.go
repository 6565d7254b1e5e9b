package report

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pseudokit/pseudokit/keyvault"
)

// Vault is the state of the identifier-key vault: who holds the key, how
// long it may be kept, what the access log says, and whether it verifies.
// It names no person of the study and no key.
type Vault struct {
	Project string `json:"project"`
	VaultID string `json:"vault_id"`
	Format  string `json:"format"`
	Created string `json:"created"`
	// Retention is the date after which the key must be destroyed ("" if none).
	Retention        string   `json:"retention,omitempty"`
	RetentionPassed  bool     `json:"retention_passed,omitempty"`
	Holders          []Holder `json:"holders"`
	Domains          []Domain `json:"domains"`
	WithdrawnPersons int      `json:"withdrawn_persons"`
	// LogEntries is the number of access-log entries up to LogHead, the hex
	// hash of the newest entry when the report was made.
	LogEntries int64  `json:"log_entries"`
	LogHead    string `json:"log_head"`
	LogHeadAt  string `json:"log_head_time"`
	// LogVerified is true when the hash chain and its authenticated head
	// verified; LogProblem says what failed otherwise.
	LogVerified bool   `json:"log_verified"`
	LogProblem  string `json:"log_problem,omitempty"`
	// Access counts the log entries by action.
	Access []Access `json:"access"`
	// Withdrawals are the withdrawal entries.
	Withdrawals []Withdrawal `json:"withdrawals"`
	// Provenance links outputs to the log entries that wrote them.
	Provenance []Provenance `json:"provenance"`
}

// A Holder is a key slot (who can unlock the vault), never its secret.
type Holder struct {
	ID      int64  `json:"id"`
	Type    string `json:"type"`
	Label   string `json:"label"`
	Created string `json:"created"`
}

// A Domain is a pseudonymisation domain with its link counts.
type Domain struct {
	Name      string `json:"name"`
	Scheme    string `json:"scheme"`
	Active    int    `json:"active_links"`
	Withdrawn int    `json:"withdrawn_links"`
}

// Access counts the log entries of one action.
type Access struct {
	// Action is the log action ("unlock", "pseudonymize", "reveal", ...).
	Action string `json:"action"`
	// Count is the number of entries; Actors the distinct actors (name and
	// OS user) that wrote them.
	Count  int `json:"count"`
	Actors int `json:"actors"`
	// First and Last are the times of the first and last entry (UTC).
	First string `json:"first"`
	Last  string `json:"last"`
}

// A Withdrawal is a log entry recording withdrawn consent (counts only).
type Withdrawal struct {
	// Seq and Time identify the log entry.
	Seq  int64  `json:"seq"`
	Time string `json:"time"`
	// Persons is the number of persons withdrawn, Links the links changed.
	Persons int64 `json:"persons"`
	Links   int64 `json:"links_withdrawn"`
}

// Provenance ties an output file to the log entry of the run that wrote it
// (the entry's output_sha256 is the file's digest).
type Provenance struct {
	File string `json:"file"`
	// Seq, Action, Time and Tool describe the log entry.
	Seq    int64  `json:"seq"`
	Action string `json:"action"`
	Time   string `json:"time"`
	Tool   string `json:"tool"`
}

const dateTime = "2006-01-02 15:04:05Z"

// vaultStatus reads the vault's summary and access log. Only the entries up
// to the head seen now are used, so that the figures can be recomputed
// later from the same (append-only) log.
func vaultStatus(ctx context.Context, v *keyvault.Vault, outputs []File, now time.Time) (*Vault, error) {
	in, err := v.Info()
	if err != nil {
		return nil, err
	}
	entries, err := v.Entries()
	if err != nil {
		return nil, err
	}
	st := &Vault{
		Project: in.Project, VaultID: in.VaultID, Format: fmt.Sprintf("%d.%d", in.FormatVersion, in.FormatMinor),
		Created: in.Created.UTC().Format(dateTime), WithdrawnPersons: in.WithdrawnPersons,
		Holders: []Holder{}, Domains: []Domain{},
	}
	if !in.Retention.IsZero() {
		st.Retention = in.Retention.Format("2006-01-02")
		st.RetentionPassed = now.After(in.Retention)
	}
	for _, s := range in.Slots {
		st.Holders = append(st.Holders, Holder{ID: s.ID, Type: s.Type, Label: s.Label, Created: s.Created.UTC().Format("2006-01-02")})
	}
	for _, d := range in.Domains {
		st.Domains = append(st.Domains, Domain{Name: d.Name, Scheme: string(d.Scheme), Active: d.Links[keyvault.LinkActive], Withdrawn: d.Links[keyvault.LinkWithdrawn]})
	}
	if len(entries) > 0 {
		last := entries[len(entries)-1]
		st.LogEntries, st.LogHead, st.LogHeadAt = last.Seq, hex.EncodeToString(last.Hash), last.Time.UTC().Format(dateTime)
	}
	if err := v.VerifyLog(); err != nil {
		st.LogProblem = err.Error()
	} else {
		st.LogVerified = true
	}
	logFigures(st, entries, outputs)
	return st, nil
}

// logFigures fills in the access summary, withdrawals and provenance from
// the log entries.
func logFigures(st *Vault, entries []keyvault.Entry, outputs []File) {
	st.Access, st.Withdrawals, st.Provenance = []Access{}, []Withdrawal{}, []Provenance{}
	byAction := map[string]*Access{}
	actors := map[string]map[string]bool{}
	for _, e := range entries {
		a := byAction[e.Action]
		t := e.Time.UTC().Format(dateTime)
		if a == nil {
			a = &Access{Action: e.Action, First: t}
			byAction[e.Action] = a
			actors[e.Action] = map[string]bool{}
		}
		a.Count++
		a.Last = t
		actors[e.Action][e.Actor+"\x00"+e.OSUser] = true
		if e.Action == "withdraw" {
			st.Withdrawals = append(st.Withdrawals, Withdrawal{Seq: e.Seq, Time: t, Persons: number(e.Details["withdrawn_persons"]), Links: number(e.Details["links_withdrawn"])})
		}
		if out, _ := e.Details["output_sha256"].(string); out != "" {
			for _, f := range outputs {
				if f.SHA256 == out {
					st.Provenance = append(st.Provenance, Provenance{File: f.Path, Seq: e.Seq, Action: e.Action, Time: t, Tool: e.ToolVersion})
				}
			}
		}
	}
	for k, a := range byAction {
		a.Actors = len(actors[k])
		st.Access = append(st.Access, *a)
	}
	slices.SortFunc(st.Access, func(a, b Access) int { return strings.Compare(a.Action, b.Action) })
}

// number reads a count from a log entry's details (a JSON number, read
// with UseNumber).
func number(v any) int64 {
	switch x := v.(type) {
	case json.Number:
		n, _ := x.Int64()
		return n
	case float64:
		return int64(x)
	case int64:
		return x
	case int:
		return int64(x)
	}
	return 0
}
