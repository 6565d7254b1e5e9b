//go:build linux

package hugepage

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// advise asks for huge pages for the aligned huge pages within
// [p, p+size). An error (a kernel without transparent huge pages) is
// ignored: it is only a hint.
func advise(p unsafe.Pointer, size uintptr) {
	start := (uintptr(p) + Size - 1) &^ (Size - 1)
	end := (uintptr(p) + size) &^ (Size - 1)
	if end <= start {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Add(p, start-uintptr(p))), end-start)
	unix.Madvise(b, unix.MADV_HUGEPAGE)
}
