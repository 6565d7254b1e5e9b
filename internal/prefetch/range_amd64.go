package prefetch

// Range starts loading the memory lines that hold the n bytes from addr
// (at least the line holding addr) and returns at once: one call for an
// object that spans several lines.
//
//go:noescape
func Range(addr, n uintptr)
