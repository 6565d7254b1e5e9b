package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/plugin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// with returns a copy of env with the given changes ("" deletes).
func with(env map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// logEntries reads the access log as JSON objects.
func logEntries(t *testing.T, env map[string]string, args ...string) []map[string]any {
	t.Helper()
	r := pk(t, env, "", append([]string{"vault", "log", "--json"}, args...)...)
	require.Equal(t, 0, r.code, r.stderr)
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		out = append(out, m)
	}
	return out
}

func TestVaultHoldersCLI(t *testing.T) {
	dir, env := setup(t)
	vault := env["PSEUDOKIT_VAULT"]

	// A second passphrase holder.
	r := pk(t, with(env, "PSEUDOKIT_NEW_PASSPHRASE", "deputy words"), "", "vault", "add-holder", "--passphrase", "--label", "deputy", "--purpose", "cover")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, `added key slot #2 passphrase "deputy"`)
	deputy := with(env, "PSEUDOKIT_PASSPHRASE", "deputy words")
	r = pk(t, deputy, "", "vault", "holders")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `* #2 passphrase "deputy"`)
	assert.Contains(t, r.stdout, `  #1 passphrase "passphrase"`)

	// An age holder: the identity file unlocks every command, no passphrase needed.
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	idFile := filepath.Join(dir, "key.txt")
	require.NoError(t, os.WriteFile(idFile, []byte("# created by age-keygen\n"+id.String()+"\n"), 0o600))
	recFile := filepath.Join(dir, "recipients.txt")
	require.NoError(t, os.WriteFile(recFile, []byte("# data manager\n"+id.Recipient().String()+"\n"), 0o600))
	r = pk(t, env, "", "vault", "add-holder", "--recipients-file", recFile, "--label", "data manager")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "#3 age-x25519")
	noPass := map[string]string{"PSEUDOKIT_VAULT": vault}
	r = pk(t, noPass, "", "vault", "info", "--identity", idFile)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "key slots:  3")
	assert.Contains(t, r.stdout, `#3 age-x25519 "data manager"`)
	assert.Contains(t, r.stdout, "last access before this one:")
	r = pk(t, with(noPass, "PSEUDOKIT_IDENTITY", idFile), "", "vault", "holders", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"unlocked_with":true`)

	// Another identity does not open it (exit 3, with a hint).
	other, _ := age.GenerateX25519Identity()
	otherFile := filepath.Join(dir, "other.txt")
	require.NoError(t, os.WriteFile(otherFile, []byte(other.String()+"\n"), 0o600))
	r = pk(t, noPass, "", "vault", "info", "--identity", otherFile)
	require.Equal(t, ExitWrongPass, r.code, r.stderr)
	assert.Contains(t, r.stderr, "no key slot is wrapped to this identity")
	badFile := filepath.Join(dir, "bad.txt")
	require.NoError(t, os.WriteFile(badFile, []byte("AGE-SECRET-KEY-1NOTAKEY\n"), 0o600))
	r = pk(t, noPass, "", "vault", "info", "--identity", badFile)
	require.Equal(t, ExitUsage, r.code, r.stderr)
	assert.NotContains(t, r.stderr, "NOTAKEY")

	// Usage errors.
	for _, args := range [][]string{
		{"vault", "add-holder"},
		{"vault", "add-holder", "--passphrase", "--recipient", id.Recipient().String()},
		{"vault", "add-holder", "--recipient", "age1garbage"},
		{"vault", "add-holder", "--recipient", id.String()},
		{"vault", "add-holder", "--recipient", id.Recipient().String()}, // already a holder
		{"vault", "remove-holder"},
		{"vault", "remove-holder", "nobody"},
		{"vault", "frobnicate"},
	} {
		r := pk(t, env, "", args...)
		require.Equal(t, ExitUsage, r.code, "%v: %s", args, r.stderr)
		assert.NotContains(t, r.stderr, id.String())
	}

	// A plugin that is not installed (a YubiKey's, say): a clear error.
	yk := plugin.EncodeRecipient("pktestmissing", []byte("0123456789abcdef0123456789abcdef"))
	r = pk(t, with(env, "PATH", t.TempDir()), "", "vault", "add-holder", "--recipient", yk)
	require.Equal(t, ExitFailure, r.code, r.stderr)
	assert.Contains(t, r.stderr, `age plugin "pktestmissing" is not installed`)

	// Remove holders; the last one stays.
	r = pk(t, env, "", "vault", "remove-holder", "deputy", "--purpose", "left")
	require.Equal(t, 0, r.code, r.stderr)
	r = pk(t, deputy, "", "vault", "info")
	require.Equal(t, ExitWrongPass, r.code)
	r = pk(t, env, "", "vault", "remove-holder", "1")
	require.Equal(t, 0, r.code, r.stderr)
	r = pk(t, noPass, "", "vault", "remove-holder", "3", "--identity", idFile)
	require.Equal(t, ExitRefused, r.code, r.stderr)
	assert.Contains(t, r.stderr, "last key holder")

	// passwd needs a passphrase slot: add one, change it.
	r = pk(t, with(noPass, "PSEUDOKIT_NEW_PASSPHRASE", "first"), "", "vault", "add-holder", "--passphrase", "--identity", idFile)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "#4 passphrase", "slot ids are never reused")
	r = pk(t, noPass, "", "vault", "passwd", "--identity", idFile)
	require.Equal(t, ExitUsage, r.code, "the identity's slot has no passphrase")
	pf := filepath.Join(dir, "newpass")
	require.NoError(t, os.WriteFile(pf, []byte("second\n"), 0o600))
	r = pk(t, with(noPass, "PSEUDOKIT_PASSPHRASE", "first"), "", "vault", "passwd", "--new-passphrase-file", pf)
	require.Equal(t, 0, r.code, r.stderr)
	r = pk(t, with(noPass, "PSEUDOKIT_PASSPHRASE", "first"), "", "vault", "info")
	require.Equal(t, ExitWrongPass, r.code)
	r = pk(t, with(noPass, "PSEUDOKIT_PASSPHRASE", "second"), "", "vault", "info")
	require.Equal(t, 0, r.code, r.stderr)

	actions := map[string]int{}
	for _, e := range logEntries(t, with(noPass, "PSEUDOKIT_PASSPHRASE", "second")) {
		actions[e["action"].(string)]++
	}
	assert.Equal(t, 3, actions["holder-add"])
	assert.Equal(t, 2, actions["holder-remove"])
	assert.Equal(t, 1, actions["holder-passwd"])
	assert.Positive(t, actions["unlock-failed"])
}

func TestVaultLogAndVerifyCLI(t *testing.T) {
	_, env := setup(t)
	r := pk(t, env, "", "vault", "domain", "add", "survey", "--random")
	require.Equal(t, 0, r.code, r.stderr)
	r = pk(t, env, "", "vault", "domain", "list")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "default\tkeyed\t")
	assert.Contains(t, r.stdout, "survey\trandom\t")
	r = pk(t, env, "", "vault", "domain", "add", "survey")
	require.Equal(t, ExitUsage, r.code, r.stderr)

	es := logEntries(t, env)
	require.GreaterOrEqual(t, len(es), 5)
	assert.Equal(t, "init", es[0]["action"])
	for _, k := range []string{"seq", "time", "os_user", "host", "actor", "action", "purpose", "details", "tool_version", "prev_hash", "hash"} {
		assert.Contains(t, es[0], k)
	}
	assert.Equal(t, es[0]["hash"], es[1]["prev_hash"])
	only := logEntries(t, env, "--action", "domain-add")
	require.Len(t, only, 1)
	assert.Equal(t, "survey", only[0]["details"].(map[string]any)["domain"])
	assert.Empty(t, logEntries(t, env, "--since", "2999-01-01"))
	assert.Empty(t, logEntries(t, env, "--until", "2000-01-01"))
	assert.Empty(t, logEntries(t, env, "--actor", "nobody"))
	r = pk(t, env, "", "vault", "log", "--as", "auditor", "--action", "unlock")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "unlock")
	last := logEntries(t, env)
	assert.Equal(t, "auditor", last[len(last)-2]["actor"], "reading the log is itself on record")
	r = pk(t, env, "", "vault", "log", "--since", "yesterday")
	require.Equal(t, ExitUsage, r.code)

	r = pk(t, env, "", "vault", "verify")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "hash chain and MAC ok")
	head := strings.Fields(strings.SplitN(r.stdout[strings.Index(r.stdout, "log head:"):], "\n", 2)[0])[2]
	r = pk(t, env, "", "vault", "verify", "--head", head, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"HeadSeq"`)

	// Tampering is detected (exit 5).
	db := rawVaultDB(t, env["PSEUDOKIT_VAULT"])
	_, err := db.Exec(`UPDATE log SET purpose = 'edited' WHERE seq = 2`)
	require.NoError(t, err)
	db.Close()
	r = pk(t, env, "", "vault", "verify")
	require.Equal(t, ExitVault, r.code, r.stderr)
	assert.Contains(t, r.stderr, "access log integrity check failed at entry 2")
}

// twoLinkVault returns setup's directory and environment after a run
// that links two persons from the directory's in.csv.
func twoLinkVault(t *testing.T) (string, map[string]string) {
	dir, env := setup(t)
	in := filepath.Join(dir, "in.csv")
	ids := synthIDs(t, 2)
	require.NoError(t, os.WriteFile(in, []byte("fnr,x\n"+ids[0]+",1\n"+ids[1]+",2\n"), 0o600))
	r := pk(t, env, "", "pseudonymize", "--id", "fnr", "--keep", "x", in, filepath.Join(dir, "out.csv"))
	require.Equal(t, 0, r.code, r.stderr)
	return dir, env
}

func TestRetentionAndDestroyCLI(t *testing.T) {
	dir, env := twoLinkVault(t)

	r := pk(t, env, "", "vault", "retention", "2001-01-31", "--purpose", "REK 2000/1")
	require.Equal(t, 0, r.code, r.stderr)
	r = pk(t, env, "", "vault", "info")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "retention date 2001-01-31 has passed")
	assert.Contains(t, r.stdout, "retention:  2001-01-31 (passed")
	r = pk(t, env, "", "vault", "retention", "31.01.2001")
	require.Equal(t, ExitUsage, r.code)

	r = pk(t, env, "", "vault", "destroy", "--yes")
	require.Equal(t, ExitUsage, r.code, "a purpose is required")
	r = pk(t, env, "", "vault", "destroy", "--purpose", "retention over")
	require.Equal(t, ExitUsage, r.code, "no terminal: --yes is required")
	receipt := filepath.Join(dir, "destroyed.json")
	r = pk(t, env, "", "vault", "destroy", "--purpose", "retention over", "--yes", "--receipt", receipt)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "removed:    1 key slots, 2 links")
	var rec destructionRecord
	b, err := os.ReadFile(receipt)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rec))
	assert.Len(t, rec.LogHash, 64)

	// Without a key (there is none): info, verify and log still work.
	noKey := map[string]string{"PSEUDOKIT_VAULT": env["PSEUDOKIT_VAULT"]}
	r = pk(t, noKey, "", "vault", "info")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "DESTROYED:")
	r = pk(t, noKey, "", "vault", "verify", "--head", rec.LogHash)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "DESTROYED: no key slot, no link")
	assert.Contains(t, r.stdout, "expected:   found at entry")
	es := logEntries(t, noKey, "--action", "destroy")
	require.Len(t, es, 1)
	assert.Equal(t, "retention over", es[0]["purpose"])
	for _, args := range [][]string{
		{"pseudonymize", "--id", "fnr", "--keep", "x", filepath.Join(dir, "in.csv"), filepath.Join(dir, "again.csv")},
		{"reveal", "--purpose", "x", withCheck(t, "K0000000000000000")},
	} {
		r = pk(t, env, "", args...)
		require.Equal(t, ExitVault, r.code, "%v: %s", args, r.stderr)
		assert.Contains(t, r.stderr, "destroyed")
	}
}

func TestCompactCLI(t *testing.T) {
	_, env := twoLinkVault(t)
	r := pk(t, env, "", "vault", "compact")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "nothing to compact")

	// A second segment, as a large run makes (runs here are small).
	db := rawVaultDB(t, env["PSEUDOKIT_VAULT"])
	_, err := db.Exec(`INSERT INTO map_segments (id, domain) VALUES (7, 1)`)
	require.NoError(t, err)
	db.Close()
	r = pk(t, env, "", "vault", "compact", "--domain", "default", "--purpose", "after wave 2")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "merged 2 map segments of 1 domain(s), 2 links")
	r = pk(t, env, "", "vault", "log", "--action", "compact")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "after wave 2")
	r = pk(t, env, "", "vault", "verify")
	require.Equal(t, 0, r.code, r.stderr)

	r = pk(t, env, "", "vault", "compact", "--domain", "nope")
	assert.NotEqual(t, 0, r.code)
	assert.Contains(t, r.stderr, "nope")
	r = pk(t, env, "", "vault", "compact", "extra")
	assert.Equal(t, ExitUsage, r.code)
}
