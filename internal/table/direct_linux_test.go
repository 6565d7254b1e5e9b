//go:build linux

package table

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestOutputDirectRefusedAtOpen: where the file system refuses O_DIRECT
// at open (as tmpfs did before Linux 6.6: after creating the file), an
// Output writes through the page cache and leaves no stray file.
func TestOutputDirectRefusedAtOpen(t *testing.T) {
	old := openWithDirect
	t.Cleanup(func() { openWithDirect = old })
	openWithDirect = func(path string, flags int) (*os.File, error) {
		f, err := os.OpenFile(path, flags, 0o600)
		if err != nil {
			return nil, err
		}
		f.Close()
		return nil, &os.PathError{Op: "open", Path: path, Err: syscall.EINVAL}
	}
	writeThroughPageCache(t, t.TempDir())
}

// writeThroughPageCache writes an Output in dir, which must not take
// direct I/O, and checks the file and that nothing else is left in dir.
func writeThroughPageCache(t *testing.T, dir string) {
	path := filepath.Join(dir, "out.csv")
	o, err := CreateOutput(path, nil)
	require.NoError(t, err)
	require.False(t, o.bw.(*directWriter).direct)
	data := outputData(directBuf + 5000)
	writePieces(t, o, data)
	require.NoError(t, o.Commit())
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the output")
}

// TestOutputUsesDirect: where the test's temporary directory is on a
// local disk file system that takes direct I/O, an Output uses it.
func TestOutputUsesDirect(t *testing.T) {
	dir := t.TempDir()
	if !directFS(dir) {
		t.Skip("the temporary directory is not on ext4, XFS, Btrfs or F2FS")
	}
	f, err := os.OpenFile(filepath.Join(dir, "probe"), os.O_RDWR|os.O_CREATE|os.O_EXCL|unix.O_DIRECT, 0o600)
	if err != nil {
		t.Skip("the temporary directory does not take O_DIRECT")
	}
	f.Close()
	o, err := CreateOutput(filepath.Join(dir, "out.csv"), nil)
	require.NoError(t, err)
	defer o.Abort()
	require.True(t, o.bw.(*directWriter).direct)
}

// TestOutputNotDirectOnTmpfs: tmpfs (standing in for the file systems
// left alone, such as NFS) is written through the page cache, even where
// it takes O_DIRECT.
func TestOutputNotDirectOnTmpfs(t *testing.T) {
	base, err := os.MkdirTemp("/dev/shm", "pseudokit-test-")
	if err != nil {
		t.Skip("no /dev/shm here")
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	require.False(t, directFS(base))
	writeThroughPageCache(t, base)
}
