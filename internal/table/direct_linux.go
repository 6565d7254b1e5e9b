//go:build linux

package table

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// openDirect creates path for an Output (O_EXCL, mode 0600), with direct
// I/O if the file system allows it; direct tells which.
func openDirect(path string) (f *os.File, direct bool, err error) {
	const flags = os.O_RDWR | os.O_CREATE | os.O_EXCL
	if useDirect && directFS(filepath.Dir(path)) {
		f, err = openWithDirect(path, flags)
		if err == nil {
			return f, true, nil
		}
		if !os.IsExist(err) && !os.IsPermission(err) {
			// EINVAL (tmpfs, some network file systems): a plain file.
			// Linux creates the file before it checks O_DIRECT, so the
			// failed open may have left it (the name is this Output's
			// own: random, and created with O_EXCL).
			os.Remove(path)
		}
	}
	f, err = os.OpenFile(path, flags, 0o600)
	return f, false, err
}

// setDirect turns direct I/O on or off for f.
func setDirect(f *os.File, on bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		if err != nil {
			serr = err
			return
		}
		if on {
			fl |= unix.O_DIRECT
		} else {
			fl &^= unix.O_DIRECT
		}
		_, serr = unix.FcntlInt(fd, unix.F_SETFL, fl)
	})
	if err != nil {
		return err
	}
	return serr
}

// openWithDirect opens path with flags and O_DIRECT. A variable so that
// tests can refuse it as a file system does.
var openWithDirect = func(path string, flags int) (*os.File, error) {
	return os.OpenFile(path, flags|unix.O_DIRECT, 0o600)
}

// directFS reports whether dir is on a local disk file system whose
// direct I/O is known to be fast: ext4 (and ext2/3, same magic), XFS,
// Btrfs and F2FS. On a network file system (NFS, SMB) each direct write
// waits for the server, where the page cache would send many at once;
// FUSE and the rest are left alone too.
func directFS(dir string) bool {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return false
	}
	switch uint32(st.Type) {
	case unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC, unix.F2FS_SUPER_MAGIC:
		return true
	}
	return false
}
