package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLeakCorpus runs adversarial inputs (identity numbers in every column,
// in headers, in file names, in malformed rows and in rule files) through
// every command, on success and failure paths, and asserts that no
// identifier reaches stdout, stderr, the access log, reports, receipts or a
// leftover temporary file. (reveal, lookup's own input and export-subject's
// output file show identifiers by design and are checked only for their
// messages.)
func TestLeakCorpus(t *testing.T) {
	dir, env := setup(t)
	ids := synthIDs(t, 6)
	forms := func(id string) []string { return []string{id, id[:6] + " " + id[6:], id[:6] + "-" + id[6:]} }
	// A dataset whose file name, header and free text hold identifiers.
	data := filepath.Join(dir, "deltakere-"+ids[0]+".csv")
	header := "fnr;navn;notat;" + ids[1]
	rows := []string{
		ids[2] + ";Kari Hansen;ring " + ids[3] + " eller kari@example.no;x",
		ids[4][:6] + " " + ids[4][6:] + ";Ola Berg;pårørende " + ids[5] + ";y",
	}
	require.NoError(t, os.WriteFile(data, []byte(header+"\n"+strings.Join(rows, "\n")+"\n"), 0o600))
	bad := filepath.Join(dir, "bad-"+ids[0]+".csv")
	require.NoError(t, os.WriteFile(bad, []byte(header+"\n"+rows[0]+"\n"+ids[3]+";\"unterminated\n"), 0o600))
	rules := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rules, []byte("version: 1\ncolumns:\n  fnr: {action: code, kind: nid, subject: true}\n  navn: fake-name\n  notat: redact\n  \""+ids[1]+"\": drop\n"), 0o600))
	badRules := filepath.Join(dir, "bad-rules.yaml")
	require.NoError(t, os.WriteFile(badRules, []byte("version: 1\ncolumns:\n  \""+ids[2]+"\": {action: codes}\n"), 0o600))
	out := filepath.Join(dir, "out-"+ids[0]+".csv")
	list := filepath.Join(dir, "withdrawn.txt")
	require.NoError(t, os.WriteFile(list, []byte(ids[4]+"\n"), 0o600))
	idFile := filepath.Join(dir, "ids.txt")
	require.NoError(t, os.WriteFile(idFile, []byte(ids[2]+"\n"), 0o600))
	rep := filepath.Join(dir, "report.json")

	var all strings.Builder
	run := func(stdin string, args ...string) result {
		r := pk(t, env, stdin, args...)
		all.WriteString(r.stdout + r.stderr)
		return r
	}
	run("", "pseudonymize", "--rules", badRules, data, out) // bad rule file
	run("", "pseudonymize", "--rules", rules, bad, out)     // malformed row
	run("", "pseudonymize", "--id", ids[1], data, out)      // an identifier as a column name
	require.Equal(t, 0, run("", "pseudonymize", "--rules", rules, "--report", rep, "--report", filepath.Join(dir, "r.html"), data, out).code)
	run("", "scan", data, out)
	run("", "scan", "--json", data)
	run("", "report", "--verify", rep)
	run("", "kcheck", "--qi", "navn", out)
	run("", "id", ids[0], ids[1][:10])
	run(ids[2]+"\n", "lookup", "--purpose", "access request")
	run("", "withdraw", "--from-file", list, "--purpose", "request 1", "--dry-run", "--receipt", filepath.Join(dir, "dry"), data, out)
	run("", "withdraw", "--from-file", list, "--purpose", "request 1", "--receipt", filepath.Join(dir, "rc"), data, out, bad) // fails: bad dataset
	require.Equal(t, 0, run("", "withdraw", "--from-file", list, "--purpose", "request 1", "--receipt", filepath.Join(dir, "rc"), data, out).code)
	run("", "withdraw", "--verify", data, out)
	run("", "export-subject", "--purpose", "portability", "--out", filepath.Join(dir, "subject.json"), "-", data, out)
	run("", "recode", "--from", "default", "--to", "nope", out, filepath.Join(dir, "recoded.csv"))
	run("", "vault", "info")
	run("", "vault", "verify")
	logJSON := run("", "vault", "log", "--json")

	var files strings.Builder
	for _, f := range []string{rep, filepath.Join(dir, "r.html"), filepath.Join(dir, "report.summary.json"), out,
		filepath.Join(dir, "dry.json"), filepath.Join(dir, "dry.txt"), filepath.Join(dir, "rc.json"), filepath.Join(dir, "rc.txt")} {
		b, err := os.ReadFile(f)
		require.NoError(t, err, f)
		files.Write(b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		require.False(t, strings.HasSuffix(e.Name(), ".tmp"), "temporary file left: %s", e.Name())
	}
	for i, id := range ids {
		for _, f := range forms(id) {
			require.NotContains(t, all.String(), f, "an identifier in a command's output or messages")
			require.NotContains(t, logJSON.stdout, f, "an identifier in the access log")
			if i > 1 {
				// Reports and receipts name the files and columns they
				// verify, as given (docs: never put identifiers in file or
				// column names); values never appear.
				require.NotContains(t, files.String(), f, "an identifier in a report, receipt or output")
			}
		}
	}
}
