package prefetch

import (
	"testing"
	"unsafe"
)

// TestLine: a prefetch of any address returns, even of one that is not
// mapped (a load there would fault).
func TestLine(t *testing.T) {
	b := make([]byte, 256)
	for _, p := range []uintptr{
		uintptr(unsafe.Pointer(&b[0])),
		uintptr(unsafe.Pointer(&b[0])) + 255,
		0,
		^uintptr(0) - 100,
		^uintptr(0),
	} {
		Line(p)
	}
}

// TestRange: a prefetch of any range returns (the loop ends), whatever its
// alignment and length, at the top of the address space too.
func TestRange(t *testing.T) {
	b := make([]byte, 8192)
	base := uintptr(unsafe.Pointer(&b[0]))
	for _, off := range []uintptr{0, 1, 63, 64, 100} {
		for _, n := range []uintptr{0, 1, 63, 64, 65, 128, 160, 4096} {
			Range(base+off, n)
		}
	}
	Range(0, 64)
	Range(^uintptr(0)-100, 256)
}
