package crashtest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/pseudokit/pseudokit/benchmarks/synth"
	"github.com/pseudokit/pseudokit/keyvault"
)

const pass = "crash test passphrase"

// build compiles pseudokit once for the test.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pseudokit")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/pseudokit")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

func pk(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "PSEUDOKIT_PASSPHRASE="+pass)
	return cmd
}

func digest(t *testing.T, path string) [32]byte {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(b)
}

// vaultState opens the vault, verifies its log and returns the number of
// active links and log entries.
func vaultState(t *testing.T, path string) (links, entries int) {
	t.Helper()
	keyvault.DefaultKDF = keyvault.MinKDF
	v, err := keyvault.Open(path, []byte(pass), "crashtest")
	require.NoError(t, err, "the vault opens after a kill")
	defer v.Close()
	require.NoError(t, v.VerifyLog(), "the log chain is intact after a kill")
	in, err := v.Info()
	require.NoError(t, err)
	for _, d := range in.Domains {
		links += d.Links[keyvault.LinkActive]
	}
	return links, int(in.LogLastSeq)
}

// killAt starts cmd and kills it with SIGKILL after d; it reports whether
// the command had already finished.
func killAt(t *testing.T, cmd *exec.Cmd, d time.Duration) (finished bool) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, stderr.String())
		return true
	case <-time.After(d):
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return false
	}
}

// TestKillDuringPseudonymize kills pseudonymise runs at random points: the
// input never changes, the vault always opens and verifies with either all
// or none of the run's links, and the output is either absent or complete.
func TestKillDuringPseudonymize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary many times")
	}
	bin := build(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	f, err := os.Create(in)
	require.NoError(t, err)
	g, err := synth.New(synth.Options{Rows: 100_000, Persons: 20_000, Seed: 3})
	require.NoError(t, err)
	require.NoError(t, g.WriteCSV(f))
	require.NoError(t, f.Close())
	inSum := digest(t, in)

	// A fresh vault, and a copy of it (same secret, same codes) for the
	// reference: an uninterrupted run, which also gives the timing.
	vault := filepath.Join(dir, "v.vault")
	out, err := pk(bin, "vault", "init", "--vault", vault, "--project", "crash", "--kdf-time", "2", "--kdf-memory", "19").CombinedOutput()
	require.NoError(t, err, string(out))
	refVault := filepath.Join(dir, "ref.vault")
	args := func(v, out string) []string {
		return []string{"pseudonymize", "--vault", v, "--id", "fnr", "--name", "first_name,last_name", "--code", "email:email", "--quiet", in, out}
	}
	ref := filepath.Join(dir, "ref.csv")
	// The fastest of three runs: one slowed by other work on the machine
	// (the other packages' tests) would put most kill times after the
	// runs' end.
	var full time.Duration
	for i := range 3 {
		require.NoError(t, os.WriteFile(refVault, must(os.ReadFile(vault)), 0o600))
		start := time.Now()
		out, err = pk(bin, args(refVault, ref)...).CombinedOutput()
		require.NoError(t, err, string(out))
		if d := time.Since(start); i == 0 || d < full {
			full = d
		}
	}
	refSum := digest(t, ref)
	refLinks, _ := vaultState(t, refVault)
	require.Greater(t, refLinks, 39_000) // about 20,000 persons x (fnr, email)

	rng := rand.New(rand.NewPCG(1, 2))
	killed, completed := 0, 0
	for i := 0; i < 25; i++ {
		o := filepath.Join(dir, fmt.Sprintf("out%d.csv", i))
		_, entriesBefore := vaultState(t, vault)
		d := time.Duration(rng.Int64N(int64(full) * 3 / 2))
		if killAt(t, pk(bin, args(vault, o)...), d) {
			completed++
		} else {
			killed++
		}
		require.Equal(t, inSum, digest(t, in), "input unchanged")
		links, entries := vaultState(t, vault)
		require.Contains(t, []int{0, refLinks}, links, "all or none of a run's links")
		require.GreaterOrEqual(t, entries, entriesBefore)
		if _, err := os.Stat(o); err == nil {
			require.Equal(t, refSum, digest(t, o), "an output that exists is complete")
			require.Equal(t, refLinks, links, "an output exists only after its links are committed")
		}
	}
	t.Logf("%d runs killed at random points, %d completed before the kill (full run %s)", killed, completed, full)
	require.Greater(t, killed, 5)
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
	t.Logf("%d temporary files left by killed runs (never renamed into place)", len(leftovers))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestKillDuringWithdraw kills withdrawals at random points: each dataset
// is either exactly as before or exactly as after, the vault opens and
// verifies, and no dataset is replaced before the vault records the
// withdrawal.
func TestKillDuringWithdraw(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary many times")
	}
	bin := build(t)
	dir := t.TempDir()
	raw := filepath.Join(dir, "raw.csv")
	f, err := os.Create(raw)
	require.NoError(t, err)
	g, err := synth.New(synth.Options{Rows: 100_000, Persons: 5_000, Seed: 4})
	require.NoError(t, err)
	require.NoError(t, g.WriteCSV(f))
	require.NoError(t, f.Close())
	vault := filepath.Join(dir, "v.vault")
	out, err := pk(bin, "vault", "init", "--vault", vault, "--project", "crash", "--kdf-time", "2", "--kdf-memory", "19").CombinedOutput()
	require.NoError(t, err, string(out))
	pq := filepath.Join(dir, "p.parquet")
	out, err = pk(bin, "pseudonymize", "--vault", vault, "--id", "fnr", "--drop", "first_name,last_name,email", "--quiet", raw, pq).CombinedOutput()
	require.NoError(t, err, string(out))
	// Withdraw the persons of the first 30 rows.
	var ids []string
	for _, line := range strings.Split(string(must(os.ReadFile(raw))), "\n")[1:31] {
		ids = append(ids, strings.SplitN(line, ",", 2)[0])
	}
	list := filepath.Join(dir, "persons.txt")
	require.NoError(t, os.WriteFile(list, []byte(strings.Join(ids, "\n")), 0o600))

	snapshot := func(suffix string) {
		for _, p := range []string{raw, pq, vault} {
			require.NoError(t, os.WriteFile(p+suffix, must(os.ReadFile(p)), 0o600))
		}
	}
	restore := func(suffix string) {
		for _, p := range []string{raw, pq, vault} {
			require.NoError(t, os.WriteFile(p, must(os.ReadFile(p+suffix)), 0o600))
		}
	}
	snapshot(".orig")
	before := map[string][32]byte{raw: digest(t, raw), pq: digest(t, pq)}
	args := []string{"withdraw", "--vault", vault, "--from-file", list, "--purpose", "crash test", "--quiet", "--receipt", filepath.Join(dir, "rc"), raw, pq}
	// The fastest of three full runs: one slowed by other work on the
	// machine (the other packages' tests) would put most kill times after
	// the runs' end.
	var full time.Duration
	for i := range 3 {
		restore(".orig")
		start := time.Now()
		out, err = pk(bin, args...).CombinedOutput()
		require.NoError(t, err, string(out))
		if d := time.Since(start); i == 0 || d < full {
			full = d
		}
	}
	after := map[string][32]byte{raw: digest(t, raw), pq: digest(t, pq)}
	require.NotEqual(t, before[raw], after[raw])
	withdrawnState := func() bool {
		keyvault.DefaultKDF = keyvault.MinKDF
		v, err := keyvault.Open(vault, []byte(pass), "crashtest")
		require.NoError(t, err)
		defer v.Close()
		require.NoError(t, v.VerifyLog())
		w, err := v.Withdrawn("nid", ids[0])
		require.NoError(t, err)
		return w
	}

	rng := rand.New(rand.NewPCG(3, 4))
	killed := 0
	for i := 0; i < 20; i++ {
		restore(".orig")
		os.Remove(filepath.Join(dir, "rc.json"))
		os.Remove(filepath.Join(dir, "rc.txt"))
		if !killAt(t, pk(bin, args...), time.Duration(rng.Int64N(int64(full)*3/2))) {
			killed++
		}
		replaced := 0
		for _, p := range []string{raw, pq} {
			d := digest(t, p)
			require.True(t, d == before[p] || d == after[p], "%s is either as before or as after", filepath.Base(p))
			if d == after[p] {
				replaced++
			}
		}
		if replaced > 0 {
			require.True(t, withdrawnState(), "a dataset is replaced only after the vault records the withdrawal")
		} else {
			withdrawnState() // opens and verifies either way
		}
	}
	t.Logf("%d withdrawals killed at random points (full run %s)", killed, full)
	require.Greater(t, killed, 5)
}
