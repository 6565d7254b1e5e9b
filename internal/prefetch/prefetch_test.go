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
		1<<47 - 64,
		^uintptr(0),
	} {
		Line(p)
	}
}
