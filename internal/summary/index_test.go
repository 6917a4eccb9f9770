package summary

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Sequential short ids (the usual c0000001, c0000002, ...) spread over the table's home slots
// like random ones: no home slot of a table sized for them gets more than a handful, and distinct
// ids of up to 8 bytes never share a hash.
func TestShortIDHashSpreadsSequentialIDs(t *testing.T) {
	x := newIDIndex()
	const n, bitsUsed = 1 << 20, 21 // the table a million customers get
	slots := make([]uint8, 1<<bitsUsed)
	seen := make(map[uint64]string, n)
	for i := range n {
		id := []byte(fmt.Sprintf("c%07d", i))
		h := x.hash(id, idPrefix(id))
		if other, dup := seen[h]; dup {
			t.Fatalf("ids %q and %q share the hash %#x", other, id, h)
		}
		seen[h] = string(id)
		slots[h>>(64-bitsUsed)]++
	}
	// With n balls in 2n bins, the fullest bin holds about 8 (the expected maximum of a Poisson(0.5)
	// over 2M bins); a weak mix of sequential ids piles dozens into some.
	most := uint8(0)
	for _, c := range slots {
		most = max(most, c)
	}
	if most > 12 {
		t.Errorf("the fullest home slot holds %d of %d sequential ids, want at most 12", most, n)
	}
}

// asciiNoNUL agrees with a byte-by-byte check on ids of every length up to 40, with a NUL or a
// non-ASCII byte at every position.
func TestASCIINoNULMatchesByteCheck(t *testing.T) {
	direct := func(b []byte) bool {
		for _, c := range b {
			if c == 0 || c > 127 {
				return false
			}
		}
		return true
	}
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 41 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(1 + r.IntN(126))
		}
		if !asciiNoNUL(b) {
			t.Fatalf("%q: asciiNoNUL = false, want true", b)
		}
		for pos := range n {
			for _, bad := range []byte{0, 0x80, 0xc3, 0xff} {
				c := append([]byte(nil), b...)
				c[pos] = bad
				if got, want := asciiNoNUL(c), direct(c); got != want {
					t.Fatalf("%q: asciiNoNUL = %v, want %v", c, got, want)
				}
			}
		}
	}
}
