//go:build !linux

package table

import (
	"errors"
	"os"
)

// openDirect creates path for an Output (O_EXCL, mode 0600). Direct I/O
// is Linux's here: elsewhere the file is written through the page cache.
func openDirect(path string) (*os.File, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	return f, false, err
}

// setDirect is never called with direct I/O off.
func setDirect(f *os.File, on bool) error {
	if on {
		return errors.New("direct I/O is not supported here")
	}
	return nil
}
