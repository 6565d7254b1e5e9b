package hugepage

import "unsafe"

// Size is the size of a huge page on the platforms that have them here.
const Size = 2 << 20

// pageSize is the smallest page size of the supported platforms: touching
// a word every pageSize bytes faults in every page.
const pageSize = 4 << 10

// Make returns make([]T, n), with its memory advised as huge pages (if at
// least one aligned huge page lies within it) and faulted in.
func Make[T any](n int) []T {
	s := make([]T, n)
	size := uintptr(n) * unsafe.Sizeof(*new(T))
	if size == 0 {
		return s
	}
	p := unsafe.Pointer(unsafe.SliceData(s))
	if size >= Size {
		advise(p, size)
	}
	touch(p, size)
	return s
}

// touch writes a zero byte in every page of [p, p+size), which is zeroed
// memory no one else holds yet.
func touch(p unsafe.Pointer, size uintptr) {
	for off := uintptr(0); off < size; off += pageSize {
		*(*byte)(unsafe.Add(p, off)) = 0
	}
}
