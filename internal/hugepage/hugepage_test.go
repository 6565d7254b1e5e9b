package hugepage

import (
	"testing"
	"unsafe"
)

func TestMake(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 3 << 20 / 8, 5<<20/8 + 3} {
		s := Make[uint64](n)
		if len(s) != n || cap(s) != n {
			t.Fatalf("Make(%d): len %d cap %d", n, len(s), cap(s))
		}
		for i, v := range s {
			if v != 0 {
				t.Fatalf("Make(%d)[%d] = %d, want 0", n, i, v)
			}
		}
	}
	type pair struct{ A, B uint32 }
	if s := Make[pair](7); len(s) != 7 || s[6] != (pair{}) {
		t.Fatalf("Make[pair](7) = %v", s)
	} else if s[6].A != 0 || s[6].B != 0 {
		t.Fatalf("Make[pair](7)[6] = %v, want zero", s[6])
	}
	if s := Make[struct{}](10); len(s) != 10 {
		t.Fatalf("Make[struct{}](10): len %d", len(s))
	}
}

// TestTouch checks that touch leaves zeroed memory zero, to its last byte.
func TestTouch(t *testing.T) {
	buf := make([]byte, 3*pageSize+10)
	touch(unsafe.Pointer(&buf[0]), uintptr(len(buf)))
	for i, b := range buf {
		if b != 0 {
			t.Fatalf("byte %d is %d after touch", i, b)
		}
	}
}
