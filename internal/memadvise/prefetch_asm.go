//go:build amd64 || arm64

package memadvise

import "unsafe"

// Prefetch asks the processor to bring the cache line at addr into its caches without waiting
// for it (a hint: any address is allowed, nothing is read).
//
//go:noescape
func Prefetch(addr unsafe.Pointer)
