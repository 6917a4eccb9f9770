package numeric

// Mix64 is the 64-bit finaliser of MurmurHash3: neighbouring keys land far apart, for the
// open-addressing tables keyed by integers.
func Mix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
