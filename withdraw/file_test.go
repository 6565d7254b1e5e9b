package withdraw

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFilterFileEqualsJob: the vault-less filter writes exactly what a
// withdrawal writes, and its receipt counts the same.
func TestFilterFileEqualsJob(t *testing.T) {
	p := newProject(t)
	codes := []string{p.code(t, p.ids[3]), p.code(t, p.ids[7])}
	for _, src := range []string{p.pseudoCSV, p.pseudoPQ} {
		data, err := os.ReadFile(src)
		require.NoError(t, err)
		copyPath := filepath.Join(t.TempDir(), filepath.Base(src))
		require.NoError(t, os.WriteFile(copyPath, data, 0o600))

		var out bytes.Buffer
		dr, err := FilterFile(t.Context(), copyPath, &out, codes)
		require.NoError(t, err)
		require.Equal(t, int64(60), dr.RowsBefore)
		require.Equal(t, int64(54), dr.RowsAfter)
		require.Equal(t, map[string]int64{codes[0]: 3, codes[1]: 3}, dr.Removed)

		rc, err := (&Job{Vault: p.v, Codes: codes, Datasets: []string{src}, Purpose: "compare"}).Run(t.Context())
		require.NoError(t, err)
		after, err := os.ReadFile(src)
		require.NoError(t, err)
		require.Equal(t, after, out.Bytes(), "same bytes as the withdrawal")
		require.Equal(t, rc.Datasets[0].SHA256After, dr.SHA256After)
		require.Equal(t, rc.Datasets[0].SHA256Before, dr.SHA256Before)
	}
	_, err := FilterFile(t.Context(), p.pseudoCSV, &bytes.Buffer{}, []string{"not a code"})
	require.Error(t, err)
}
