// Package memadvise tells the kernel and the processor how large, randomly accessed arrays will
// be used: huge pages for their TLB reach, prefetches for their cache misses.
package memadvise

import "unsafe"

// hugePage is the size of a transparent huge page on x86-64 and arm64 (4 KiB base pages).
const hugePage = 2 << 20

// minHugeBytes is the smallest array worth advising: it must hold whole huge pages.
const minHugeBytes = 4 << 20

// HugePages asks the kernel to back the whole 2 MiB pages inside s's backing array (up to its
// capacity) with transparent huge pages, where the system allows it ("madvise" mode, the usual
// default). Arrays that are read at random - a hash table, per-customer state looked up row by
// row - then cost one TLB entry per 2 MiB instead of one per 4 KiB: at ten million customers
// most row lookups otherwise miss the TLB. Call it right after allocating, before the array is
// touched. Small arrays, other systems and a refusal are ignored: it is advice.
func HugePages[T any](s []T) {
	var zero T
	size := uintptr(cap(s)) * unsafe.Sizeof(zero)
	if size < minHugeBytes {
		return
	}
	base := unsafe.Pointer(unsafe.SliceData(s[:cap(s)]))
	start := uintptr(base)
	lo := (start + hugePage - 1) &^ (hugePage - 1)
	hi := (start + size) &^ (hugePage - 1)
	if hi <= lo {
		return
	}
	advise(unsafe.Slice((*byte)(unsafe.Add(base, lo-start)), hi-lo))
}
