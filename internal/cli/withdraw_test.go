package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWithdrawCLI(t *testing.T) {
	dir, env := setup(t)
	ids := synthIDs(t, 4)
	raw := filepath.Join(dir, "raw.csv")
	var b strings.Builder
	b.WriteString("fnr;svar\r\n")
	for i := 0; i < 12; i++ {
		b.WriteString(ids[i%4] + ";" + string(rune('a'+i)) + "\r\n")
	}
	require.NoError(t, os.WriteFile(raw, []byte(b.String()), 0o600))
	pq := filepath.Join(dir, "p.parquet")
	r := pk(t, env, "", "pseudonymize", "--id", "fnr", "--keep", "svar", raw, pq)
	require.Equal(t, 0, r.code, r.stderr)

	list := filepath.Join(dir, "persons.txt")
	require.NoError(t, os.WriteFile(list, []byte("# withdrawn\n"+ids[1]+"\n"), 0o600))

	r = pk(t, env, "", "withdraw", "--from-file", list, raw, pq)
	require.Equal(t, ExitUsage, r.code, "purpose is required")

	r = pk(t, env, "", "withdraw", "--from-file", list, "--purpose", "case 17", "--dry-run", "--receipt", filepath.Join(dir, "dry"), raw, pq)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "DRY RUN")
	got, _ := os.ReadFile(raw)
	require.Equal(t, b.String(), string(got))

	r = pk(t, env, "", "withdraw", "--from-file", list, "--purpose", "case 17", "--receipt", filepath.Join(dir, "rc"), raw, pq)
	require.Equal(t, 0, r.code, r.stderr)
	var rc map[string]any
	j, err := os.ReadFile(filepath.Join(dir, "rc.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(j, &rc))
	ds := rc["datasets"].([]any)
	require.Len(t, ds, 2)
	for _, d := range ds {
		m := d.(map[string]any)
		require.EqualValues(t, 12, m["rows_before"])
		require.EqualValues(t, 9, m["rows_after"])
	}
	for _, id := range ids {
		require.NotContains(t, r.stdout+r.stderr+string(j), id)
	}
	got, _ = os.ReadFile(raw)
	require.NotContains(t, string(got), ids[1])
	require.Contains(t, string(got), ids[0])

	r = pk(t, env, "", "withdraw", "--verify", raw, pq)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "verified")

	// The original raw file still holds the person: verify says so (exit 6).
	old := filepath.Join(dir, "old.csv")
	require.NoError(t, os.WriteFile(old, []byte(b.String()), 0o600))
	r = pk(t, env, "", "withdraw", "--verify", old)
	require.Equal(t, ExitRefused, r.code, r.stdout)
	require.Contains(t, r.stdout, "3 row(s) of withdrawn persons REMAIN")

	// A later pseudonymisation meeting the person refuses (exit 6), or skips.
	r = pk(t, env, "", "pseudonymize", "--id", "fnr", "--keep", "svar", old, filepath.Join(dir, "again.csv"))
	require.Equal(t, ExitRefused, r.code, r.stderr)
	require.Contains(t, r.stderr, "3 row(s) belong to persons who have withdrawn consent")
	r = pk(t, env, "", "pseudonymize", "--id", "fnr", "--keep", "svar", "--skip-withdrawn", old, filepath.Join(dir, "again.csv"))
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "3 row(s) of persons who have withdrawn consent were left out")
}
