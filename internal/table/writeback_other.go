//go:build !linux

package table

import "os"

// startWriteback does nothing where sync_file_range does not exist.
var startWriteback = func(f *os.File, off, n int64) {}
