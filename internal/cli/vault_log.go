package cli

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pseudokit/pseudokit/keyvault"
)

// logEntryJSON is the form of an access-log entry in 'vault log --json'.
type logEntryJSON struct {
	Seq         int64          `json:"seq"`
	Time        string         `json:"time"`
	OSUser      string         `json:"os_user"`
	Host        string         `json:"host"`
	Actor       string         `json:"actor"`
	Action      string         `json:"action"`
	Purpose     string         `json:"purpose"`
	Details     map[string]any `json:"details"`
	ToolVersion string         `json:"tool_version"`
	PrevHash    string         `json:"prev_hash"`
	Hash        string         `json:"hash"`
}

// logFilter selects entries by time, action and actor.
type logFilter struct {
	since, until time.Time // until is exclusive; zero: no bound
	actions      map[string]bool
	actor        string
}

func (f *logFilter) match(e *keyvault.Entry) bool {
	if !f.since.IsZero() && e.Time.Before(f.since) {
		return false
	}
	if !f.until.IsZero() && !e.Time.Before(f.until) {
		return false
	}
	if len(f.actions) > 0 && !f.actions[e.Action] {
		return false
	}
	return f.actor == "" || e.Actor == f.actor
}

// parseBound parses a --since/--until value: a date (the whole day: until
// is inclusive of it) or an RFC 3339 time.
func parseBound(s string, until bool) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		if until {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want a date like 2025-03-01 or a time like 2025-03-01T12:00:00Z")
	}
	return t.UTC(), nil
}

func runVaultLog(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "vault log", "[--since DATE] [--until DATE] [--action A,B] [--actor NAME] [--json] [flags]")
	var vf vaultFlags
	vf.addUnlock(fs)
	fs.StringVar(&vf.actor, "as", "", "who reads the log, for the access log (the OS user is recorded too)")
	since := fs.String("since", "", "only entries at or after `DATE` (YYYY-MM-DD or RFC 3339, UTC)")
	until := fs.String("until", "", "only entries up to `DATE` (a date includes that whole day)")
	actions := fs.StringSlice("action", nil, "only these `ACTIONS` (e.g. reveal,lookup,unlock)")
	actor := fs.String("actor", "", "only entries whose actor is `NAME`")
	asJSON := fs.Bool("json", false, "one JSON object per line, every field (hashes in hex)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("vault log takes no arguments")
	}
	var f logFilter
	var err error
	if *since != "" {
		if f.since, err = parseBound(*since, false); err != nil {
			return usagef("--since: %v", err)
		}
	}
	if *until != "" {
		if f.until, err = parseBound(*until, true); err != nil {
			return usagef("--until: %v", err)
		}
	}
	if len(*actions) > 0 {
		f.actions = map[string]bool{}
		for _, a := range *actions {
			f.actions[strings.TrimSpace(a)] = true
		}
	}
	f.actor = *actor

	var entries []keyvault.Entry
	in, destroyed, err := destroyedInfo(e, &vf)
	if err != nil {
		return err
	}
	if destroyed {
		// No key exists any more: verify the chain against the recorded
		// final hash, then read it.
		if _, err := keyvault.VerifyFile(ctx, in.Path, keyvault.VerifyOptions{}); err != nil {
			return vaultErr(err)
		}
		fmt.Fprintf(e.Stderr, "pseudokit: the vault's key was destroyed %s; the log verifies up to the destruction entry %s\n",
			in.Destroyed.Format(time.RFC3339), in.LogFinalHash)
		if entries, err = keyvault.ReadLog(in.Path); err != nil {
			return vaultErr(err)
		}
	} else {
		// Opening verifies the chain and its MAC, and logs this reading.
		v, err := vf.open(ctx, e)
		if err != nil {
			return err
		}
		defer v.Close()
		if entries, err = v.Entries(); err != nil {
			return vaultErr(err)
		}
	}
	w := e.Stdout
	for i := range entries {
		en := &entries[i]
		if !f.match(en) {
			continue
		}
		if *asJSON {
			b, err := json.Marshal(logEntryJSON{
				Seq: en.Seq, Time: en.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"), OSUser: en.OSUser, Host: en.Host,
				Actor: en.Actor, Action: en.Action, Purpose: en.Purpose, Details: en.Details, ToolVersion: en.ToolVersion,
				PrevHash: hex.EncodeToString(en.PrevHash), Hash: hex.EncodeToString(en.Hash),
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%s\n", b)
			continue
		}
		details, _ := json.Marshal(en.Details)
		line := fmt.Sprintf("%5d  %s  %-14s %s (%s@%s)", en.Seq, en.Time.UTC().Format("2006-01-02 15:04:05Z"), en.Action, en.Actor, en.OSUser, en.Host)
		if en.Purpose != "" {
			line += fmt.Sprintf("  purpose: %q", en.Purpose)
		}
		if string(details) != "{}" && string(details) != "null" {
			line += "  " + string(details)
		}
		fmt.Fprintln(w, line)
	}
	return nil
}

func runVaultVerify(ctx context.Context, e *Env, args []string) error {
	fs := newFlags(e, "vault verify", "[--head HASH] [--json] [flags]")
	var vf vaultFlags
	vf.add(fs)
	head := fs.String("head", "", "a log entry `HASH` kept outside the vault (an earlier 'verify' or the destruction record): fail unless the log contains it")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("vault verify takes no arguments")
	}
	opts := keyvault.VerifyOptions{Head: *head}
	in, destroyed, err := destroyedInfo(e, &vf)
	if err != nil {
		return err
	}
	var rep *keyvault.VerifyReport
	if destroyed {
		rep, err = keyvault.VerifyFile(ctx, in.Path, opts)
	} else {
		v, oerr := vf.open(ctx, e)
		if oerr != nil {
			return oerr
		}
		defer v.Close()
		rep, err = v.Verify(ctx, opts)
	}
	if err != nil {
		return vaultErr(err)
	}
	if *asJSON {
		b, _ := json.MarshalIndent(rep, "", "  ")
		fmt.Fprintf(e.Stdout, "%s\n", b)
		return nil
	}
	w := e.Stdout
	fmt.Fprintln(w, "file:       SQLite integrity check ok, schema ok")
	if destroyed {
		fmt.Fprintln(w, "key:        DESTROYED: no key slot, no link, no tombstone, no log MAC remain")
		fmt.Fprintf(w, "log:        %d entries, unbroken hash chain ending in the recorded destruction entry\n", rep.LogEntries)
		fmt.Fprintln(w, "note:       without a key the chain is not authenticated: compare the head below with the one recorded at destruction (--head)")
	} else {
		fmt.Fprintf(w, "key slots:  %d\n", rep.Slots)
		fmt.Fprintf(w, "links:      %d active (each decrypts and matches its index), %d withdrawn (no identifier; %d tombstones)\n",
			rep.Links[keyvault.LinkActive], rep.Links[keyvault.LinkWithdrawn], rep.Tombstones)
		fmt.Fprintf(w, "log:        %d entries, hash chain and MAC ok\n", rep.LogEntries)
	}
	if rep.HeadSeq > 0 {
		fmt.Fprintf(w, "expected:   found at entry %d\n", rep.HeadSeq)
	}
	fmt.Fprintf(w, "log head:   %s (keep it elsewhere to detect a rollback later: --head)\n", rep.LogHead)
	return nil
}
