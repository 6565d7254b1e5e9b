package cli

import (
	"bytes"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/pseudokit/pseudokit/keyvault"
	"golang.org/x/text/encoding/charmap"
	_ "modernc.org/sqlite"
)

// fullWriter fails like a full disk.
type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

// TestBadInputs is the catalogue of docs/bad-inputs.md: every bad input
// gets a clear error and its own exit code, names no identifier, leaves the
// input and the vault byte for byte as they were and leaves no output.
func TestBadInputs(t *testing.T) {
	ids := synthIDs(t, 3)
	latin, _ := charmap.ISO8859_1.NewEncoder().String("fnr;navn\n" + ids[0] + ";Åse Ødegård\n")
	huge := "fnr;notat\n" + ids[0] + ";" + strings.Repeat("x", 65<<20) + "\n"
	tests := []struct {
		name     string
		file     string // input file name
		content  string
		args     []string // extra flags
		out      string   // output path ("" = out.csv in the temp dir)
		code     int
		contains string
	}{
		{name: "empty file", file: "in.csv", content: "", code: ExitInvalidInput, contains: "empty file"},
		{name: "ragged row", file: "in.csv", content: "fnr;navn\n" + ids[0] + ";A\n" + ids[1] + "\n", code: ExitInvalidInput, contains: "row 2 (line 3)"},
		{name: "bare quote", file: "in.csv", content: "fnr;navn\n" + ids[0] + ";A\"B\n", code: ExitInvalidInput, contains: "line 2"},
		{name: "unterminated quote", file: "in.csv", content: "fnr;navn\n" + ids[0] + ";\"A\n", code: ExitInvalidInput, contains: "line 2"},
		{name: "wrong encoding", file: "in.csv", content: latin, code: ExitInvalidInput, contains: "windows-1252"},
		{name: "duplicate column names", file: "in.csv", content: "fnr;navn;navn\n" + ids[0] + ";A;B\n", code: ExitInvalidInput, contains: "duplicate column name"},
		{name: "empty column name", file: "in.csv", content: "fnr;;navn\n" + ids[0] + ";A;B\n", code: ExitInvalidInput, contains: "empty column name"},
		{name: "missing column", file: "in.csv", content: "id;navn\n" + ids[0] + ";A\n", code: ExitInvalidInput, contains: `rule for column "fnr": column not in the input`},
		{name: "invalid identity number", file: "in.csv", content: "fnr;navn\n" + ids[0][:10] + "x;A\n", code: ExitInvalidInput, contains: `row 1 (line 2), column "fnr"`},
		{name: "lost leading zero", file: "in.csv", content: "fnr;navn\n1234567890;A\n", code: ExitInvalidInput, contains: "leading zero"},
		{name: "field over 64 MiB", file: "in.csv", content: huge, code: ExitInvalidInput, contains: "field too long"},
		{name: "invalid Parquet", file: "in.parquet", content: "PAR1 this is not parquet PAR1", code: ExitInvalidInput, contains: "not a valid Parquet file"},
		{name: "unknown format", file: "in.xlsx", content: "x", code: ExitFailure, contains: "cannot tell the format"},
		{name: "output directory missing", file: "in.csv", content: "fnr;navn\n" + ids[0] + ";A\n", out: "nodir/out.csv", code: ExitFailure, contains: "cannot write"},
		{name: "output is a directory", file: "in.csv", content: "fnr;navn\n" + ids[0] + ";A\n", out: "adir.csv", code: ExitFailure, contains: "is a directory"},
		{name: "output is the input", file: "in.csv", content: "fnr;navn\n" + ids[0] + ";A\n", out: "in.csv", code: ExitFailure, contains: "same file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, env := setup(t)
			in := filepath.Join(dir, tt.file)
			require.NoError(t, os.WriteFile(in, []byte(tt.content), 0o600))
			out := filepath.Join(dir, "out.csv")
			if tt.out != "" {
				out = filepath.Join(dir, tt.out)
			}
			if tt.name == "output is a directory" {
				require.NoError(t, os.Mkdir(out, 0o700))
			}
			linksBefore, logBefore := vaultState(t, env)
			args := append([]string{"pseudonymize", "--id", "fnr", "--keep", "navn"}, tt.args...)
			if strings.Contains(tt.content, "notat") {
				args = []string{"pseudonymize", "--id", "fnr", "--drop", "notat"}
			}
			r := pk(t, env, "", append(args, in, out)...)
			require.Equal(t, tt.code, r.code, r.stderr)
			require.Contains(t, r.stderr, tt.contains)
			require.True(t, strings.HasPrefix(r.stderr, "pseudokit: error: "), r.stderr)
			require.LessOrEqual(t, len(r.stderr), 1000, "a message, not a dump")
			for _, id := range ids {
				require.NotContains(t, r.stderr+r.stdout, id[:6], "no identifier in messages")
			}
			got, _ := os.ReadFile(in)
			require.Equal(t, tt.content, string(got), "input unchanged")
			requireOnlyUnlocks(t, env, linksBefore, logBefore)
			if tt.out == "" {
				require.NoFileExists(t, out)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				require.False(t, strings.HasSuffix(e.Name(), ".tmp"), "temporary file left: %s", e.Name())
			}
		})
	}
}

// TestBadVaults: wrong passphrase, a file that is not a vault, a damaged
// vault and a full disk, each with its exit code and nothing changed.
func TestBadVaults(t *testing.T) {
	dir, env := setup(t)
	ids := synthIDs(t, 2)
	in := filepath.Join(dir, "in.csv")
	require.NoError(t, os.WriteFile(in, []byte("fnr;navn\n"+ids[0]+";A\n"), 0o600))
	run := func(env map[string]string, args ...string) result {
		return pk(t, env, "", append([]string{"pseudonymize", "--id", "fnr", "--keep", "navn"}, args...)...)
	}
	wrong := map[string]string{"PSEUDOKIT_VAULT": env["PSEUDOKIT_VAULT"], "PSEUDOKIT_PASSPHRASE": "not it"}
	r := run(wrong, in, filepath.Join(dir, "o.csv"))
	require.Equal(t, ExitWrongPass, r.code, r.stderr)
	require.Contains(t, r.stderr, "wrong passphrase")

	other := filepath.Join(dir, "other.db")
	require.NoError(t, os.WriteFile(other, []byte("SQLite format 3\x00"+strings.Repeat("\x00", 4000)), 0o600))
	r = run(map[string]string{"PSEUDOKIT_VAULT": other, "PSEUDOKIT_PASSPHRASE": "x"}, in, filepath.Join(dir, "o.csv"))
	require.Equal(t, ExitVault, r.code, r.stderr)

	// Tampered: someone edits an access-log entry with a SQLite tool.
	tampered := filepath.Join(dir, "tampered.vault")
	b, _ := os.ReadFile(env["PSEUDOKIT_VAULT"])
	require.NoError(t, os.WriteFile(tampered, b, 0o600))
	db, err := sql.Open("sqlite", tampered)
	require.NoError(t, err)
	_, err = db.Exec(`UPDATE log SET actor = 'someone else' WHERE seq = 1`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	r = run(map[string]string{"PSEUDOKIT_VAULT": tampered, "PSEUDOKIT_PASSPHRASE": env["PSEUDOKIT_PASSPHRASE"]}, in, filepath.Join(dir, "o.csv"))
	require.Equal(t, ExitVault, r.code, r.stderr)
	require.Contains(t, r.stderr, "access log")
	require.NoFileExists(t, filepath.Join(dir, "o.csv"))

	// Disk full while writing standard output.
	linksBefore, logBefore := vaultState(t, env)
	var errb bytes.Buffer
	e := &Env{Stdin: strings.NewReader(""), Stdout: fullWriter{}, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	code := Main([]string{"pseudonymize", "--id", "fnr", "--keep", "navn", "--to", "csv", in, "-"}, e)
	require.Equal(t, ExitFailure, code, errb.String())
	require.True(t, errors.Is(syscall.ENOSPC, syscall.ENOSPC))
	require.Contains(t, errb.String(), "no space left on device")
	requireOnlyUnlocks(t, env, linksBefore, logBefore)
}

// vaultState returns the vault's number of links and its log actions.
func vaultState(t *testing.T, env map[string]string) (links int, actions []string) {
	t.Helper()
	v, err := keyvault.Open(env["PSEUDOKIT_VAULT"], []byte(env["PSEUDOKIT_PASSPHRASE"]), "test")
	require.NoError(t, err)
	defer v.Close()
	in, err := v.Info()
	require.NoError(t, err)
	for _, d := range in.Domains {
		for _, n := range d.Links {
			links += n
		}
	}
	es, err := v.Entries()
	require.NoError(t, err)
	for _, e := range es {
		actions = append(actions, e.Action)
	}
	return links, actions
}

// requireOnlyUnlocks checks that a failed run changed nothing in the vault
// but the access log's record of the unlocks (every access is logged, even
// one whose action then fails).
func requireOnlyUnlocks(t *testing.T, env map[string]string, links int, actions []string) {
	t.Helper()
	l, a := vaultState(t, env)
	require.Equal(t, links, l, "no link added")
	require.Equal(t, actions, a[:len(actions)], "the log only grows")
	for _, x := range a[len(actions):] {
		require.Equal(t, "unlock", x, "a failed run logs its unlock, nothing else")
	}
}
