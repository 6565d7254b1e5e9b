//go:build linux

package table

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing bytes [off, off+n) of f
// to disk, without waiting for it (sync_file_range with
// SYNC_FILE_RANGE_WRITE). It is only a hint: durability still comes from
// the fsync in Output.Sync, which then has less left to write.
var startWriteback = func(f *os.File, off, n int64) {
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE) })
	}
}
