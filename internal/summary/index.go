package summary

import (
	"encoding/binary"

	"hash/maphash"
	"math/bits"
	"math/rand/v2"

	"github.com/ltv-operator/ltv-operator/internal/memadvise"
)

// The customer index is an open-addressing hash table of uint64 entries, tag<<32 | (idx+1), where
// tag is the top 32 bits of the id's hash and the home slot is the tag's top bits (so the table
// can grow without rehashing the ids). The table holds no pointers, so the garbage collector
// does not scan it.
//
// Customer IDs are copied into append-only arena chunks; a customer's state holds a reference
// (chunk, offset, length) and the id's first 8 bytes, so that ids of up to 8 bytes are compared
// without leaving the state's cache line, and the state holds no pointer either.

const (
	minTableBits = 10
	arenaChunk   = 1 << 20
	// MaxIDLength is the longest customer ID accepted, in bytes.
	MaxIDLength = 1<<20 - 1
)

type idIndex struct {
	seed   maphash.Seed
	k0, k1 uint64 // random keys of the short ids' hash
	table  []uint64
	bits   uint // len(table) == 1<<bits
	n      int
	chunks [][]byte
}

func newIDIndex() idIndex {
	return idIndex{seed: maphash.MakeSeed(), k0: rand.Uint64(), k1: rand.Uint64() | 1,
		table: make([]uint64, 1<<minTableBits), bits: minTableBits}
}

// hash returns the hash of an id whose idPrefix is pfx. Ids of up to 8 bytes (the usual ones)
// are hashed from their prefix by a multiply with the index's random keys, as wyhash does,
// which costs a fraction of maphash's call; longer ids go to maphash. The table never relies on
// the hash alone: a lookup compares the prefix, the length and the bytes.
func (x *idIndex) hash(id []byte, pfx uint64) uint64 {
	if len(id) <= 8 {
		hi, lo := bits.Mul64(pfx^x.k0, x.k1)
		return hi ^ lo
	}
	return maphash.Bytes(x.seed, id)
}

func (x *idIndex) home(h uint64) uint64 { return h >> (64 - x.bits) }

// idPrefix is the first 8 bytes of an id, zero-padded, as a little-endian number.
func idPrefix(id []byte) uint64 {
	if len(id) >= 8 {
		return binary.LittleEndian.Uint64(id)
	}
	var p uint64
	for i, c := range id {
		p |= uint64(c) << (8 * i)
	}
	return p
}

// sortPrefix turns an idPrefix into a number that orders like the bytes.
func sortPrefix(p uint64) uint64 { return bits.ReverseBytes64(p) }

// idRef locates an id in the arena: chunk<<40 | offset<<20 | length.
type idRef uint64

func (r idRef) len() int { return int(r & (1<<20 - 1)) }

// intern copies id (at most MaxIDLength bytes) into the arena.
func (x *idIndex) intern(id []byte) idRef {
	last := len(x.chunks) - 1
	if last < 0 || len(id) > cap(x.chunks[last])-len(x.chunks[last]) {
		size := arenaChunk
		if last < 0 {
			size = max(4096, len(id)) // small inputs stay small
		} else if c := 2 * cap(x.chunks[last]); c < size {
			size = max(c, len(id))
		}
		x.chunks = append(x.chunks, make([]byte, 0, size))
		last++
	}
	off := len(x.chunks[last])
	x.chunks[last] = append(x.chunks[last], id...)
	return idRef(uint64(last)<<40 | uint64(off)<<20 | uint64(len(id)))
}

// bytes returns the id's bytes (in the arena: do not modify).
func (x *idIndex) bytes(r idRef) []byte { return arenaBytes(x.chunks, r) }

// arenaBytes returns the bytes r refers to in the arena chunks.
func arenaBytes(chunks [][]byte, r idRef) []byte {
	c := chunks[r>>40]
	off := int(r >> 20 & (1<<20 - 1))
	return c[off : off+r.len() : off+r.len()]
}

// insert adds customer idx with hash h (the id must not be present).
func (x *idIndex) insert(h uint64, idx int32) {
	// up to three quarters full: at ten million customers the table stays at 2^24 slots (128 MiB)
	// instead of doubling to 256 MiB, for a slightly longer linear probe
	if (x.n+1)*4 > len(x.table)*3 {
		x.grow()
	}
	x.n++
	mask := uint64(len(x.table) - 1)
	e := h&^(1<<32-1) | uint64(uint32(idx)+1)
	for i := x.home(h); ; i = (i + 1) & mask {
		if x.table[i] == 0 {
			x.table[i] = e
			return
		}
	}
}

func (x *idIndex) grow() {
	old := x.table
	x.bits++
	x.table = make([]uint64, 1<<x.bits)
	memadvise.HugePages(x.table)
	mask := uint64(len(x.table) - 1)
	for _, e := range old {
		if e == 0 {
			continue
		}
		for i := x.home(e); ; i = (i + 1) & mask {
			if x.table[i] == 0 {
				x.table[i] = e
				break
			}
		}
	}
}

// candidate returns the first customer on h's probe sequence whose tag matches, or -1: the
// customer lookup will most likely find (for warming its state; about a quarter of the
// customers are not in their home slot).
func (x *idIndex) candidate(h uint64) int32 {
	mask := uint64(len(x.table) - 1)
	for i := x.home(h); ; i = (i + 1) & mask {
		e := x.table[i]
		if e == 0 {
			return -1
		}
		if e>>32 == h>>32 {
			return int32(uint32(e) - 1)
		}
	}
}

// lookup returns the index of the customer with this id, hash and prefix, or -1.
func (b *Builder) lookup(id []byte, h, pfx uint64) int32 {
	x := &b.ids
	mask := uint64(len(x.table) - 1)
	tag := h >> 32
	for i := x.home(h); ; i = (i + 1) & mask {
		e := x.table[i]
		if e == 0 {
			return -1
		}
		if e>>32 == tag {
			idx := int32(uint32(e) - 1)
			s := b.st(idx)
			if s.pfx == pfx && s.id.len() == len(id) && (len(id) <= 8 || string(x.bytes(s.id)) == string(id)) {
				return idx
			}
		}
	}
}
