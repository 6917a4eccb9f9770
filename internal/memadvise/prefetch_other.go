//go:build !amd64 && !arm64

package memadvise

import "unsafe"

// Prefetch is a no-op where no prefetch instruction is wired up.
func Prefetch(unsafe.Pointer) {}
