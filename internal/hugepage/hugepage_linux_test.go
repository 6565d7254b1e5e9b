//go:build linux

package hugepage

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestMakeResident checks that every page of a table from Make is in
// memory when Make returns, so that using it faults no more.
func TestMakeResident(t *testing.T) {
	s := Make[byte](6 << 20)
	p := uintptr(unsafe.Pointer(&s[0]))
	// mincore wants a page-aligned start: begin at the first byte's page.
	back := int(p % pageSize)
	pages := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(&s[0]), -back)), back+len(s))
	vec := make([]byte, (len(pages)+pageSize-1)/pageSize)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&pages[0])), uintptr(len(pages)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		t.Skipf("mincore: %v", errno)
	}
	for i, v := range vec {
		if v&1 == 0 {
			t.Fatalf("page %d of %d not resident after Make", i, len(vec))
		}
	}
}

// TestMakeAdvises checks that a table of several huge pages is marked for
// them (VmFlags "hg" in /proc/self/smaps) where the kernel has
// transparent huge pages.
func TestMakeAdvises(t *testing.T) {
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || strings.Contains(string(b), "[never]") {
		t.Skip("no transparent huge pages here")
	}
	s := Make[byte](8 << 20)
	addr := uint64(uintptr(unsafe.Pointer(&s[len(s)/2])))
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	in := false
	for _, line := range strings.Split(string(smaps), "\n") {
		if lo, hi, ok := mapping(line); ok {
			in = lo <= addr && addr < hi
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			if !strings.Contains(line+" ", " hg ") {
				t.Fatalf("the table's mapping is not advised for huge pages: %s", line)
			}
			return
		}
	}
	t.Fatal("the table's mapping is not in /proc/self/smaps")
}

// mapping parses the address range of an smaps header line
// ("7f00-7f80 rw-p ...").
func mapping(line string) (lo, hi uint64, ok bool) {
	r, _, _ := strings.Cut(line, " ")
	a, b, found := strings.Cut(r, "-")
	if !found {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseUint(a, 16, 64)
	hi, err2 := strconv.ParseUint(b, 16, 64)
	return lo, hi, err1 == nil && err2 == nil
}
