//go:build !linux

package hugepage

import "unsafe"

// advise does nothing where transparent huge pages are not asked for.
func advise(p unsafe.Pointer, size uintptr) {}
