//go:build !linux

package memadvise

func advise([]byte) {}
