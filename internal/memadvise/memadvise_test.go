package memadvise

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// The advice reaches the kernel: the mapping that holds a large advised array is marked for huge
// pages ("hg" in its VmFlags), a small array is left alone, and no size fails or panics.
func TestHugePages(t *testing.T) {
	for _, n := range []int{0, 1, 1000} {
		HugePages(make([]int64, n))
	}
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skipf("no transparent huge pages on this system: %v", err)
	}
	big := make([]uint64, 64<<20/8) // 64 MiB
	HugePages(big)
	mid := uintptr(unsafe.Pointer(&big[len(big)/2]))
	if flags := vmFlags(t, mid); !strings.Contains(" "+flags+" ", " hg ") {
		t.Errorf("the 64 MiB array's mapping has VmFlags %q, want hg (MADV_HUGEPAGE)", flags)
	}
	small := make([]uint64, 1<<10) // 8 KiB: too small to hold a huge page
	HugePages(small)
	_ = big[0] + small[0]
}

// vmFlags returns the VmFlags of the mapping of this process that contains addr.
func vmFlags(t *testing.T, addr uintptr) string {
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	inside := false
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			lo, hi, _ := strings.Cut(f[0], "-")
			a, err1 := strconv.ParseUint(lo, 16, 64)
			z, err2 := strconv.ParseUint(hi, 16, 64)
			inside = err1 == nil && err2 == nil && uint64(addr) >= a && uint64(addr) < z
			continue
		}
		if inside && len(f) > 0 && f[0] == "VmFlags:" {
			return strings.Join(f[1:], " ")
		}
	}
	t.Fatalf("no mapping contains %#x", addr)
	return ""
}

// Prefetch is only a hint: it changes nothing it points at, and a nil address (as a stale one)
// neither faults nor panics.
func TestPrefetch(t *testing.T) {
	data := make([]uint64, 1<<16)
	for i := range data {
		data[i] = uint64(i) * 0x9e3779b97f4a7c15
	}
	for i := range data {
		Prefetch(unsafe.Pointer(&data[i]))
	}
	Prefetch(nil)
	for i, v := range data {
		if v != uint64(i)*0x9e3779b97f4a7c15 {
			t.Fatalf("data[%d] = %#x after Prefetch, want %#x", i, v, uint64(i)*0x9e3779b97f4a7c15)
		}
	}
}
