package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pseudokit/pseudokit/keyvault"
	"github.com/pseudokit/pseudokit/pseudo/nid"
)

func TestMain(m *testing.M) {
	keyvault.DefaultKDF = keyvault.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1} // test hook: cheap KDF
	os.Exit(m.Run())
}

type result struct {
	code           int
	stdout, stderr string
}

// pk runs the command line in-process.
func pk(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] }}
	code := Main(args, e)
	return result{code, out.String(), errb.String()}
}

func synthIDs(t *testing.T, n int) []string {
	var ids []string
	for i := 0; len(ids) < n; i++ {
		num, err := nid.Synthetic(time.Date(1950+i%50, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC), (i*37)%500, nid.FNR, true)
		if err == nil {
			ids = append(ids, num.String())
		}
	}
	return ids
}

// setup makes a vault and returns the environment naming it.
func setup(t *testing.T) (dir string, env map[string]string) {
	dir = t.TempDir()
	env = map[string]string{"PSEUDOKIT_VAULT": filepath.Join(dir, "v.vault"), "PSEUDOKIT_PASSPHRASE": "secret words"}
	r := pk(t, env, "", "vault", "init", "--project", "Test")
	require.Equal(t, 0, r.code, r.stderr)
	return dir, env
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	r := pk(t, nil, "", "demo", "--dir", dir)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "40 rows pseudonymised")
	require.Contains(t, r.stdout, "1 invalid (checksum)")
	require.Contains(t, r.stdout, "not named in the rules were kept unchanged: blodtrykk")
	require.FileExists(t, filepath.Join(dir, "participants.pseudo.parquet"))
	// The demo's own vault opens with its passphrase file.
	r = pk(t, nil, "", "vault", "info", "--vault", filepath.Join(dir, "demo.vault"), "--passphrase-file", filepath.Join(dir, "demo.passphrase"))
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "default (keyed codes): 38 links")
}

// TestDemoTempDir: without --dir the demo makes its own folder, and the
// paths it prints are usable (not masked as a long number).
func TestDemoTempDir(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	r := pk(t, nil, "", "demo")
	require.Equal(t, 0, r.code, r.stderr)
	require.NotContains(t, r.stdout, "[number hidden]")
	i := strings.Index(r.stdout, "--vault ")
	require.GreaterOrEqual(t, i, 0, r.stdout)
	vault := strings.Fields(r.stdout[i+len("--vault "):])[0]
	require.FileExists(t, vault)
}

func TestVaultInitAndPassphrase(t *testing.T) {
	dir, env := setup(t)
	r := pk(t, env, "", "vault", "info")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "project:    Test")

	wrong := map[string]string{"PSEUDOKIT_VAULT": env["PSEUDOKIT_VAULT"], "PSEUDOKIT_PASSPHRASE": "nope"}
	r = pk(t, wrong, "", "vault", "info")
	require.Equal(t, ExitWrongPass, r.code)
	require.Contains(t, r.stderr, "pseudokit: error:")
	require.Contains(t, r.stderr, "pseudokit: hint:")

	pf := filepath.Join(dir, "pass")
	require.NoError(t, os.WriteFile(pf, []byte("secret words\n"), 0o600))
	r = pk(t, map[string]string{}, "", "vault", "info", "--vault", env["PSEUDOKIT_VAULT"], "--passphrase-file", pf)
	require.Equal(t, 0, r.code, r.stderr)

	r = pk(t, env, "", "vault", "init", "--project", "Again")
	require.Equal(t, ExitFailure, r.code)
	require.Contains(t, r.stderr, "never overwrites")

	r = pk(t, map[string]string{}, "", "vault", "info", "--vault", env["PSEUDOKIT_VAULT"])
	require.Equal(t, ExitFailure, r.code)
	require.Contains(t, r.stderr, "no terminal")

	notVault := filepath.Join(dir, "x.vault")
	require.NoError(t, os.WriteFile(notVault, []byte("hello, this is not sqlite"), 0o600))
	r = pk(t, env, "", "vault", "info", "--vault", notVault)
	require.Equal(t, ExitVault, r.code, r.stderr)
}

func TestPseudonymizeCLI(t *testing.T) {
	dir, env := setup(t)
	ids := synthIDs(t, 3)
	bad := ids[2][:10] + string('0'+(ids[2][10]-'0'+1)%10)
	in := filepath.Join(dir, "in.csv")
	csv := "\ufefffnr;fornavn;etternavn;notat;alder\r\n" + ids[0] + ";Kari;Hansen;x;41\r\n" + ids[1] + ";Ola;Berg;y;52\r\n" + bad + ";Per;Lie;z;33\r\n"
	require.NoError(t, os.WriteFile(in, []byte(csv), 0o600))
	out := filepath.Join(dir, "out.csv")

	// Invalid number: exit 4, file/row/column named, value not, no output.
	r := pk(t, env, "", "pseudonymize", "--id", "fnr", "--name", "fornavn,etternavn", "--drop", "notat", in, out)
	require.Equal(t, ExitInvalidInput, r.code, r.stderr)
	require.Contains(t, r.stderr, `in.csv: row 3 (line 4), column "fnr"`)
	require.NotContains(t, r.stderr+r.stdout, bad[:6])
	require.NoFileExists(t, out)

	r = pk(t, env, "", "pseudonymize", "--id", "fnr", "--name", "fornavn,etternavn", "--drop", "notat", "--invalid", "flag", "--summary", filepath.Join(dir, "s.json"), in, out)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "3 rows pseudonymised")
	require.Contains(t, r.stderr, "kept unchanged: alder")
	got, _ := os.ReadFile(out)
	lines := strings.Split(string(got), "\r\n")
	require.Equal(t, "\ufefffnr;fnr_invalid;fornavn;etternavn;alder", lines[0])
	require.True(t, strings.HasSuffix(lines[3], ";checksum;Per;Lie;33") || strings.Contains(lines[3], ";checksum;"), lines[3])
	for _, id := range ids {
		require.NotContains(t, string(got), id)
		require.NotContains(t, r.stderr+r.stdout, id)
	}
	var sum map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "s.json"))
	require.NoError(t, json.Unmarshal(b, &sum))
	require.EqualValues(t, 2, sum["new_links"])

	// stdin -> stdout, CSV -> Parquet -> CSV gives the same codes.
	r = pk(t, env, csv, "pseudonymize", "--id", "fnr", "--keep", "fornavn,etternavn,notat,alder", "--invalid", "null", "--from", "csv", "--to", "parquet", "-", "-")
	require.Equal(t, 0, r.code, r.stderr)
	require.True(t, strings.HasPrefix(r.stdout, "PAR1"))
	pq := filepath.Join(dir, "mid.parquet")
	require.NoError(t, os.WriteFile(pq, []byte(r.stdout), 0o600))
	r = pk(t, env, "", "pseudonymize", "--keep", "fnr", pq, "-", "--to", "csv", "--quiet")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, strings.Split(lines[1], ";")[0], strings.Split(strings.Split(r.stdout, "\n")[1], ",")[0])
	require.Empty(t, r.stderr)
}

func TestUsageErrors(t *testing.T) {
	_, env := setup(t)
	for _, args := range [][]string{
		{"pseudonymize", "a.csv"},
		{"pseudonymize", "a.csv", "b.csv"},
		{"pseudonymize", "--rules", "r.yaml", "--id", "fnr", "a.csv", "b.csv"},
		{"pseudonymize", "--code", "x", "a.csv", "b.csv"},
		{"pseudonymize", "--bogus"},
		{"vault"},
		{"vault", "init"},
		{"nonsense"},
	} {
		r := pk(t, env, "", args...)
		require.Equal(t, ExitUsage, r.code, "%v: %s", args, r.stderr)
		require.Contains(t, r.stderr, "pseudokit: error:", args)
	}
	r := pk(t, env, "", "pseudonymize", "--id", "fnr", "missing.csv", "b.csv")
	require.Equal(t, ExitFailure, r.code)
	require.Contains(t, r.stderr, "missing.csv")
}

func TestID(t *testing.T) {
	ids := synthIDs(t, 2)
	r := pk(t, nil, "", "id", ids[0], ids[1][:10], "hello")
	require.Equal(t, ExitInvalidInput, r.code)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3)
	require.True(t, strings.HasPrefix(lines[0], "1\tvalid\tfnr\tsynthetic:test-norge\tborn "), lines[0])
	require.True(t, strings.HasPrefix(lines[1], "2\tinvalid\t"), lines[1])
	require.True(t, strings.HasPrefix(lines[2], "3\tinvalid\tcharacters"), lines[2])
	require.NotContains(t, r.stdout, ids[0])

	r = pk(t, nil, ids[0]+"\n"+ids[1]+"\n", "id", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var obj map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.Split(r.stdout, "\n")[1]), &obj))
	require.Equal(t, float64(2), obj["line"])
	require.Equal(t, true, obj["valid"])
	require.Equal(t, "fnr", obj["kind"])
}

func TestHideNumbers(t *testing.T) {
	for in, want := range map[string]string{
		"/data/10876636315.csv: row 3":   "/data/[number hidden].csv: row 3",
		`column "108766 36315" missing`:  `column "[number hidden]" missing`,
		"org 912 345 678, row 12,345":    "org [number hidden], row 12,345",
		"retention 2031-12-31 15:04:05":  "retention 2031-12-31 15:04:05",
		"K8KPPDGKF88B16DM9X row 1234567": "K8KPPDGKF88B16DM9X row 1234567",
		"code K123456789012345X ok":      "code K123456789012345X ok",
		"a 10876636315,10876636316 b":    "a [number hidden],[number hidden] b",
	} {
		require.Equal(t, want, hideNumbers(in))
	}
}

// TestNoIdentifierInMessages: identity numbers in headers, file names and
// malformed rows never reach stdout or stderr, on success or failure.
func TestNoIdentifierInMessages(t *testing.T) {
	dir, env := setup(t)
	ids := synthIDs(t, 3)
	named := filepath.Join(dir, ids[0]+".csv")                                       // an identifier in the file name
	content := "fnr;" + ids[1] + ";navn\n" + ids[2] + ";x;A\n" + ids[2] + ";\"bad\n" // and in a header, and a malformed row
	require.NoError(t, os.WriteFile(named, []byte(content), 0o600))
	for _, args := range [][]string{
		{"pseudonymize", "--id", "fnr", named, filepath.Join(dir, "o.csv")},                      // fails: malformed row
		{"pseudonymize", "--id", ids[1], named, filepath.Join(dir, "o.csv")},                     // rule names the header
		{"pseudonymize", "--id", "fnr", "--drop", "missing", named, filepath.Join(dir, "o.csv")}, // missing column
		{"id", ids[0], ids[1][:10]},
	} {
		r := pk(t, env, "", args...)
		for _, id := range ids {
			require.NotContains(t, r.stdout+r.stderr, id, "%v", args)
			require.NotContains(t, r.stdout+r.stderr, id[:6]+" "+id[6:], "%v", args)
		}
	}
	good := filepath.Join(dir, ids[0]+"-ok.csv")
	require.NoError(t, os.WriteFile(good, []byte("fnr;"+ids[1]+"\n"+ids[2]+";x\n"), 0o600))
	r := pk(t, env, "", "pseudonymize", "--id", "fnr", good, filepath.Join(dir, ids[0]+"-out.csv"))
	require.Equal(t, 0, r.code, r.stderr)
	for _, id := range ids {
		require.NotContains(t, r.stdout+r.stderr, id)
	}
}

func TestRedactCLI(t *testing.T) {
	dir, env := setup(t)
	ids := synthIDs(t, 2)
	in := filepath.Join(dir, "in.csv")
	require.NoError(t, os.WriteFile(in, []byte("fnr;notat\n"+ids[0]+";\"Ringte "+ids[1]+", svar til ola.nordmann@example.no\"\n"), 0o600))
	out := filepath.Join(dir, "out.csv")
	r := pk(t, env, "", "pseudonymize", "--id", "fnr", "--redact", "notat", in, out)
	require.Equal(t, 0, r.code, r.stderr)
	got, _ := os.ReadFile(out)
	for _, id := range ids {
		require.NotContains(t, string(got), id)
	}
	require.NotContains(t, string(got), "ola.nordmann")
	require.Contains(t, string(got), "[EMAIL]")
	require.Regexp(t, `;Ringte K[0-9A-Z]{17}, svar til \[EMAIL\]`, string(got))
}

func TestPseudonymizeReport(t *testing.T) {
	dir, env := setup(t)
	ids := synthIDs(t, 3)
	in := filepath.Join(dir, "in.csv")
	require.NoError(t, os.WriteFile(in, []byte("fnr;alder;notat\n"+ids[0]+";41;ring "+ids[1]+"\n"+ids[2]+";52;ok\n"), 0o600))
	out := filepath.Join(dir, "out.csv")
	rep := filepath.Join(dir, "r.json")
	r := pk(t, env, "", "pseudonymize", "--id", "fnr", "--keep", "alder", "--redact", "notat", "--report", rep, "--report", filepath.Join(dir, "r.html"), in, out)
	require.Equal(t, 0, r.code, r.stderr)
	b, err := os.ReadFile(rep)
	require.NoError(t, err)
	h, err := os.ReadFile(filepath.Join(dir, "r.html"))
	require.NoError(t, err)
	for _, id := range ids {
		require.NotContains(t, string(b)+string(h), id)
	}
	r = pk(t, env, "", "report", "--verify", rep)
	require.Equal(t, 0, r.code, r.stdout+r.stderr)
	// Tamper with the output: verify fails with exit 4.
	ob, _ := os.ReadFile(out)
	require.NoError(t, os.WriteFile(out, append(ob, "x;1;y\n"...), 0o600))
	r = pk(t, env, "", "report", "--verify", rep)
	require.Equal(t, ExitInvalidInput, r.code, r.stdout+r.stderr)
}

func TestHideInJSON(t *testing.T) {
	in := `{"file":"/d/10876636315.csv","bytes":123456789012,"risk":0.5731509656,"cols":["108766 36315"]}`
	out := hideInJSON(in)
	require.Equal(t, `{"file":"/d/[number hidden].csv","bytes":123456789012,"risk":0.5731509656,"cols":["[number hidden]"]}`, out)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &v))
}

func TestProgressOnTerminalOnly(t *testing.T) {
	dir, env := setup(t)
	ids := synthIDs(t, 5)
	var b strings.Builder
	b.WriteString("fnr,x\n")
	for i := 0; i < 40000; i++ {
		b.WriteString(ids[i%5] + ",1\n")
	}
	in := filepath.Join(dir, "in.csv")
	require.NoError(t, os.WriteFile(in, []byte(b.String()), 0o600))
	old := progressEvery
	progressEvery = 0
	defer func() { progressEvery = old }()
	out := filepath.Join(dir, "o.csv")
	for _, cmd := range [][]string{
		{"pseudonymize", "--id", "fnr", "--keep", "x", in, out},
		{"kcheck", "--qi", "x", in},
		{"scan", in},
		{"withdraw", "--id", ids[0], "--purpose", "test", "--dry-run", out},
		{"withdraw", "--verify", out},
		{"recode", "--from", "default", "--to", "partner", "--column", "fnr", out, filepath.Join(dir, "r.csv")},
	} {
		if cmd[0] == "recode" {
			var o, errb bytes.Buffer
			e := &Env{Stdin: strings.NewReader(""), Stdout: &o, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
			require.Equal(t, 0, Main([]string{"vault", "domain", "add", "partner"}, e), errb.String())
		}
		name := cmd[0]
		if cmd[1] == "--verify" {
			name += " --verify"
		}
		t.Run(name, func(t *testing.T) {
			run := func(terminal bool, extra ...string) string {
				var o, errb bytes.Buffer
				e := &Env{Stdin: strings.NewReader(""), Stdout: &o, Stderr: &errb, Getenv: func(k string) string { return env[k] }, Terminal: terminal}
				args := append(append([]string(nil), cmd...), extra...) // flags may follow the arguments
				require.Equal(t, 0, Main(args, e), errb.String())
				return errb.String()
			}
			got := run(true)
			require.Contains(t, got, "\r\033[K")
			require.Regexp(t, `\d+% +ETA`, got, "the file's size gives a percentage and an ETA")
			if cmd[0] != "kcheck" && cmd[0] != "scan" && cmd[1] != "--verify" {
				require.Contains(t, got, "\r\033[Kpseudokit: ", "the line is cleared before the summary")
			}
			if cmd[0] == "withdraw" {
				require.Contains(t, got, "\033[Ko.csv: ", "each dataset's line names it")
			}
			require.NotContains(t, run(false), "\r", "no progress when stderr is not a terminal")
			require.NotContains(t, run(true, "--quiet"), "\r", "no progress with --quiet")
		})
	}
}
