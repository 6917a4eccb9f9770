package segment

import "slices"

// nthElement reorders v so that v[k] is the value a sort would put there, with no larger value
// before it and no smaller one after it: a median or a top share in linear time instead of a
// sort of every customer's value. Hoare partitioning around a median of three; a range that
// keeps partitioning badly is sorted instead, which bounds the worst case by a sort's.
func nthElement(v []float64, k int) {
	lo, hi := 0, len(v)-1
	budget := 64
	for hi-lo > 16 {
		if budget--; budget == 0 {
			slices.Sort(v[lo : hi+1])
			return
		}
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		pivot := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		// v[lo..j] <= pivot <= v[i..hi], and v[j+1..i-1] == pivot
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return
		}
	}
	slices.Sort(v[lo : hi+1])
}
