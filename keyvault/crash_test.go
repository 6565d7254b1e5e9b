package keyvault

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The crash and concurrency tests run the test binary itself as a child
// process that writes to a vault (the usual Go pattern): TestMain sees
// helperEnv and calls runHelper instead of the tests.
const (
	helperEnv     = "PSEUDOKIT_KEYVAULT_HELPER"
	helperPath    = "PSEUDOKIT_KEYVAULT_PATH"
	helperBatches = "PSEUDOKIT_KEYVAULT_BATCHES" // 0: until killed
	linksPerBatch = 200
)

// runHelper is the child's main: mode "writer" opens the vault and commits
// batches of linksPerBatch new links, each with its "pseudonymize" entry,
// printing "committed N" after each commit.
func runHelper(mode string) int {
	if mode != "writer" {
		fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
		return 2
	}
	batches, _ := strconv.Atoi(os.Getenv(helperBatches))
	v, err := Open(os.Getenv(helperPath), testPass, "helper")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer v.Close()
	fmt.Println("ready")
	pid := os.Getpid()
	ctx := context.Background()
	for b := 1; batches == 0 || b <= batches; b++ {
		tx, err := v.Begin(ctx, DefaultDomain)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for i := 0; i < linksPerBatch; i++ {
			n := b*linksPerBatch + i
			if err := tx.Link("text", fmt.Sprintf("person %d/%d", pid, n), fmt.Sprintf("C%d-%d", pid, n)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		if err := tx.Commit(Entry{Action: "pseudonymize", Details: map[string]any{"batch": b}}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("committed", b)
	}
	return 0
}

func helperCmd(t *testing.T, path string, batches int) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=writer", helperPath+"="+path, helperBatches+"="+strconv.Itoa(batches))
	cmd.Stderr = os.Stderr
	return cmd
}

// checkConsistent opens the vault (rolling back a hot journal), verifies
// everything and checks that the links are exactly those of the committed
// runs. It returns the number of committed runs.
func checkConsistent(t *testing.T, path string) int {
	t.Helper()
	v, err := Open(path, testPass, "checker")
	require.NoError(t, err, "the vault opens after the crash")
	defer v.Close()
	rep, err := v.Verify(t.Context(), VerifyOptions{})
	require.NoError(t, err)
	var runs int
	require.NoError(t, v.db.QueryRow(`SELECT count(*) FROM log WHERE action = 'pseudonymize'`).Scan(&runs))
	require.Equal(t, runs*linksPerBatch, rep.Links[LinkActive], "links are exactly those of committed runs")
	return runs
}

// TestCrashAtRandomPoints kills a writing process with SIGKILL at random
// moments and checks each time that the vault is as before or as after
// each transaction, never in between.
func TestCrashAtRandomPoints(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("needs processes and SIGKILL")
	}
	kills := 30
	if raceEnabled {
		kills = 22 // the race detector makes every child slow to start
	}
	if testing.Short() {
		kills = 8
	}
	_, path := newVault(t)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	start := time.Now()
	killedMidRun, hotJournals := 0, 0
	for i := 0; i < kills; i++ {
		cmd := helperCmd(t, path, 0)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		lines := make(chan string, 1000)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill at a random moment: sometimes while it unlocks, mostly
		// while it writes batches.
		var delay time.Duration
		if i%4 == 0 {
			delay = time.Duration(rng.IntN(30)) * time.Millisecond
		} else {
			<-lines // "ready"
			delay = time.Duration(rng.IntN(150)) * time.Millisecond
		}
		time.Sleep(delay)
		require.NoError(t, cmd.Process.Kill()) // SIGKILL on Unix
		cmd.Wait()
		seen := 0
		for l := range lines {
			if n, ok := strings.CutPrefix(l, "committed "); ok {
				seen, _ = strconv.Atoi(n)
			}
		}
		if seen > 0 {
			killedMidRun++
		}
		if _, err := os.Stat(path + "-journal"); err == nil {
			hotJournals++
		}
		runs := checkConsistent(t, path)
		assert.GreaterOrEqual(t, runs, seen, "every run the child reported committed is in the vault")
	}
	t.Logf("%d kills (%d after at least one commit, %d left a journal to roll back) in %s",
		kills, killedMidRun, hotJournals, time.Since(start).Round(time.Millisecond))
	assert.Positive(t, killedMidRun)
}

// TestConcurrentProcesses runs two writing processes at once: no link is
// lost and the vault stays sound.
func TestConcurrentProcesses(t *testing.T) {
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("needs processes")
	}
	_, path := newVault(t)
	const batches = 15
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		cmd := helperCmd(t, path, batches)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = cmd.Run()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	runs := checkConsistent(t, path)
	assert.Equal(t, 2*batches, runs)
}
