package memadvise

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// A large advised array that is then written is backed by huge pages when the system allows
// them (AnonHugePages grows); the advice never fails or panics, whatever the size.
func TestHugePages(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 1 << 20} {
		HugePages(make([]int64, n))
	}
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skipf("transparent huge pages are not available here (%q, %v)", mode, err)
	}
	before := anonHuge(t)
	s := make([]uint64, 64<<20/8) // 64 MiB
	HugePages(s)
	for i := range s {
		s[i] = uint64(i)
	}
	after := anonHuge(t)
	if after-before < 16<<20 {
		t.Errorf("AnonHugePages grew by %d bytes after writing 64 MiB of advised memory, want at least 16 MiB", after-before)
	}
	_ = s[len(s)-1]
}

func anonHuge(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		t.Skipf("no smaps_rollup: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "AnonHugePages:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no AnonHugePages in smaps_rollup")
	return 0
}
