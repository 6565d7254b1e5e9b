//go:build !amd64

package prefetch

// Range starts loading the memory lines that hold the n bytes from addr
// (at least the line holding addr) and returns at once: one call for an
// object that spans several lines.
func Range(addr, n uintptr) {
	end := addr + n
	for p := addr &^ 63; ; p += 64 {
		Line(p)
		if p+64 >= end || p+64 < p {
			return
		}
	}
}
