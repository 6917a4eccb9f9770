package pipeline

import (
	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/memadvise"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// cellsOf collapses the customers into their distinct (x, tx, T) rows, in order of first
// appearance with their counts as weights (as ltv.Compress would), and returns their mean repeat
// spends. The key is the three integers the summary holds (frequency, recency and age in days),
// so no float is hashed and no per-customer row is built: the models, predictions, intervals and
// churn outlooks all work from these cells.
func cellsOf(sum *summary.Summary) (ltv.Cells, []float64) {
	n := sum.Len()
	unit := sum.Unit()
	// room for a quarter of the customers up front (1M synthetic customers have ~0.3-0.9M
	// distinct rows, 10M about 2M): fewer copies while it grows, not much unused
	cells := ltv.Cells{Rows: make([]ltv.RFM, 0, n/4+16), Index: make([]int32, n)}
	monetary := make([]float64, n)
	t := newCellTable(n / 4)
	var keys [warmCells]uint64
	for lo := 0; lo < n; lo += warmCells {
		hi := min(lo+warmCells, n)
		// Compute a group's keys and touch their slots first: the loads are independent, so
		// their cache misses overlap instead of being paid one insert after the other.
		for i := lo; i < hi; i++ {
			x, rec, age := sum.RFMDays(i)
			// 21 bits each: 2 million days is 5,700 years, more than a summary spans
			keys[i-lo] = uint64(uint32(x))<<42 | uint64(uint32(rec))<<21 | uint64(uint32(age))
		}
		t.warm(keys[:hi-lo])
		for i := lo; i < hi; i++ {
			j, added := t.insert(keys[i-lo], int32(len(cells.Rows)))
			if added {
				x, rec, age := sum.RFMDays(i)
				cells.Rows = append(cells.Rows, ltv.RFM{X: float64(x), Tx: unit.FromDays(float64(rec)), T: unit.FromDays(float64(age))})
			}
			cells.Rows[j].Weight++
			cells.Index[i] = j
			monetary[i] = sum.Monetary(i)
		}
	}
	return cells, monetary
}

// cellTable maps 63-bit keys to cell numbers: open addressing over two parallel slices (keys with
// bit 63 set, 0 when free; values), up to three quarters full, without the pointers and the
// per-entry overhead of a map: 12 bytes a slot.
type cellTable struct {
	keys []uint64
	vals []int32
	n    int
	mask uint64
	sink uint64 // keeps warm's loads
}

const cellUsed = 1 << 63

func newCellTable(capacity int) *cellTable {
	size := 1024
	for size*3 < 4*capacity {
		size *= 2
	}
	t := &cellTable{}
	t.alloc(size)
	return t
}

func (t *cellTable) alloc(size int) {
	t.keys, t.vals = make([]uint64, size), make([]int32, size)
	memadvise.HugePages(t.keys)
	memadvise.HugePages(t.vals)
	t.mask = uint64(size - 1)
}

// warmCells is how many keys cellsOf looks up together.
const warmCells = 128

// warm loads the home slots of keys.
func (t *cellTable) warm(keys []uint64) {
	var sink uint64
	for _, k := range keys {
		sink += t.keys[mix(k|cellUsed)&t.mask]
	}
	t.sink += sink
}

// insert returns the value of key, inserting val for it when absent.
func (t *cellTable) insert(key uint64, val int32) (int32, bool) {
	key |= cellUsed
	for i := mix(key) & t.mask; ; i = (i + 1) & t.mask {
		switch t.keys[i] {
		case key:
			return t.vals[i], false
		case 0:
			t.keys[i], t.vals[i] = key, val
			if t.n++; 4*t.n > 3*len(t.keys) {
				t.grow()
			}
			return val, true
		}
	}
}

func (t *cellTable) grow() {
	keys, vals := t.keys, t.vals
	t.alloc(2 * len(keys))
	for j, k := range keys {
		if k == 0 {
			continue
		}
		i := mix(k) & t.mask
		for t.keys[i] != 0 {
			i = (i + 1) & t.mask
		}
		t.keys[i], t.vals[i] = k, vals[j]
	}
}

// mix is a 64-bit finaliser (from MurmurHash3): neighbouring keys land far apart.
func mix(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}
