package withdraw

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Text renders the receipt for people: what was done, to which files, with
// digests before and after, and which log entry records it.
func (rc *Receipt) Text() string {
	var b strings.Builder
	title := "Withdrawal receipt"
	if rc.DryRun {
		title += " (DRY RUN: nothing was changed)"
	}
	fmt.Fprintf(&b, "%s\n%s\n\n", title, strings.Repeat("=", len(title)))
	fmt.Fprintf(&b, "Time:     %s\n", rc.Time.Format("2006-01-02 15:04:05 MST"))
	if rc.Actor != "" {
		fmt.Fprintf(&b, "Actor:    %s\n", rc.Actor)
	}
	if rc.OSUser != "" {
		fmt.Fprintf(&b, "OS user:  %s\n", rc.OSUser)
	}
	fmt.Fprintf(&b, "Purpose:  %s\n", rc.Purpose)
	if rc.LogSeq > 0 {
		fmt.Fprintf(&b, "Vault log entry: #%d (verify with 'pseudokit vault log' and 'pseudokit vault verify')\n", rc.LogSeq)
	}
	fmt.Fprintf(&b, "Tool:     %s\n\nPersons (by code):\n", rc.Tool)
	for _, p := range rc.Persons {
		fmt.Fprintf(&b, "  %s  %d row(s) removed", p.Code, p.RowsRemoved)
		if len(p.Codes) > 1 {
			fmt.Fprintf(&b, "  (codes in all domains: %s)", strings.Join(p.Codes, ", "))
		}
		b.WriteString("\n")
	}
	b.WriteString("\nDatasets:\n")
	for _, d := range rc.Datasets {
		fmt.Fprintf(&b, "  %s (%s)\n    rows: %d before, %d after, %d removed\n    sha256 before: %s\n    sha256 after:  %s\n",
			d.Path, d.Format, d.RowsBefore, d.RowsAfter, d.RowsBefore-d.RowsAfter, d.SHA256Before, d.SHA256After)
		codes := make([]string, 0, len(d.Removed))
		for c := range d.Removed {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		for _, c := range codes {
			fmt.Fprintf(&b, "    removed %d row(s) of %s\n", d.Removed[c], c)
		}
	}
	return b.String()
}

// WriteFiles writes the receipt as PREFIX.json and PREFIX.txt (mode 0600,
// never over an existing file).
func (rc *Receipt) WriteFiles(prefix string) error {
	j, err := json.MarshalIndent(rc, "", "  ")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{prefix + ".json", append(j, '\n')}, {prefix + ".txt", []byte(rc.Text())}} {
		fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = fh.Write(f.data)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
