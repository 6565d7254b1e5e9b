package table

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// outputData is n bytes of text, different at every offset, so that a
// block written twice or out of place shows.
func outputData(n int) []byte {
	rng := rand.New(rand.NewPCG(7, 8))
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(rng.IntN(26))
	}
	return b
}

// writePieces writes data to o in pieces of random sizes, from 1 byte to
// several buffers.
func writePieces(t *testing.T, o *Output, data []byte) {
	rng := rand.New(rand.NewPCG(1, 2))
	for len(data) > 0 {
		n := min(len(data), 1+rng.IntN(3*directBuf/2))
		if rng.IntN(4) > 0 {
			n = min(len(data), 1+rng.IntN(70000))
		}
		got, err := o.Write(data[:n])
		require.NoError(t, err)
		require.Equal(t, n, got)
		data = data[n:]
	}
}

// TestOutputDirect: whatever the sizes of the writes, the committed file
// holds exactly the bytes written, and the digest is theirs, with direct
// I/O and without, and for sizes at and around buffer and block
// boundaries.
func TestOutputDirect(t *testing.T) {
	for _, direct := range []bool{true, false} {
		for _, n := range []int{0, 1, directAlign - 1, directAlign, directBuf, directBuf + 1, 3*directBuf + directAlign + 17} {
			old := useDirect
			useDirect = direct
			path := filepath.Join(t.TempDir(), "out.csv")
			o, err := CreateOutput(path, nil)
			require.NoError(t, err)
			data := outputData(n)
			writePieces(t, o, data)
			require.NoError(t, o.Commit())
			useDirect = old
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			require.True(t, bytes.Equal(data, got), "direct %v, %d bytes: the file differs", direct, n)
			want, err := FileSHA256(path)
			require.NoError(t, err)
			require.Equal(t, want, o.SHA256())
			entries, err := os.ReadDir(filepath.Dir(path))
			require.NoError(t, err)
			require.Len(t, entries, 1, "no temporary file left")
		}
	}
}

// TestOutputDirectRefused: a file system that takes O_DIRECT at open but
// refuses a write (EINVAL), after part of it or at once, gets the rest
// through the page cache, each byte once.
func TestOutputDirectRefused(t *testing.T) {
	old := writeDirect
	t.Cleanup(func() { writeDirect = old })
	for _, after := range []int{0, directAlign, 2*directBuf + 3*directAlign} {
		written := 0
		writeDirect = func(f *os.File, b []byte) (int, error) {
			n := min(len(b), max(after-written, 0))
			n, err := f.Write(b[:n])
			written += n
			if err == nil && n < len(b) {
				err = &os.PathError{Op: "write", Path: f.Name(), Err: syscall.EINVAL}
			}
			return n, err
		}
		path := filepath.Join(t.TempDir(), "out.csv")
		o, err := CreateOutput(path, nil)
		require.NoError(t, err)
		data := outputData(4*directBuf + 100)
		writePieces(t, o, data)
		require.NoError(t, o.Commit())
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data, got), "refused after %d bytes: the file differs", after)
	}
}

// TestOutputDirectError: any other error of a direct write fails the
// write and leaves no file.
func TestOutputDirectError(t *testing.T) {
	old := writeDirect
	t.Cleanup(func() { writeDirect = old })
	full := errors.New("no space left on device (test)")
	writeDirect = func(f *os.File, b []byte) (int, error) { return 0, full }
	dir := t.TempDir()
	o, err := CreateOutput(filepath.Join(dir, "out.csv"), nil)
	require.NoError(t, err)
	_, err = o.Write(outputData(directBuf + 1))
	if o.bw.(*directWriter).direct {
		require.ErrorIs(t, err, full)
	} else {
		require.NoError(t, err) // no direct I/O on this file system: nothing to refuse
	}
	o.Abort()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)
}
