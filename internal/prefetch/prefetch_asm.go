//go:build amd64 || arm64

package prefetch

// Line starts loading the memory line holding addr into the CPU's caches
// and returns at once. addr need not be valid memory.
//
//go:noescape
func Line(addr uintptr)
