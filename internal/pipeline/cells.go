package pipeline

import (
	"runtime"
	"sync"

	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/memadvise"
	"github.com/ltv-operator/ltv-operator/internal/numeric"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// cellsOf collapses the customers into their distinct (x, tx, T) rows, in order of first
// appearance with their counts as weights (as ltv.Compress would), and returns their mean repeat
// spends. The key is the three integers the summary holds (frequency, recency and age in days),
// so no float is hashed and no per-customer row is built: the models, predictions, intervals and
// churn outlooks all work from these cells.
func cellsOf(sum *summary.Summary) (ltv.Cells, []float64) {
	n := sum.Len()
	monetary := make([]float64, n)
	for i := range n {
		monetary[i] = sum.Monetary(i)
	}
	if n < parallelCellsFrom || runtime.GOMAXPROCS(0) < 2 {
		return cellsIn(sum, 0, 1, make([]int32, n)), monetary
	}
	// Two halves of the key space side by side (each reads every customer, keeps its own keys),
	// then merged in order of first appearance: the same cells, in the same order, as one pass.
	var parts [2]ltv.Cells
	index := make([]int32, n) // each part writes its own customers' entries
	var wg sync.WaitGroup
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[p] = cellsIn(sum, p, len(parts), index)
		}()
	}
	wg.Wait()
	return mergeCells(sum, parts[:], index), monetary
}

// parallelCellsFrom is the number of customers from which cellsOf splits its work.
const parallelCellsFrom = 200_000

// cellKey is a customer's cell key: 21 bits each of frequency, recency and age in days (2 million
// days is 5,700 years, more than a summary spans).
func cellKey(sum *summary.Summary, i int) uint64 {
	x, rec, age := sum.RFMDays(i)
	return uint64(uint32(x))<<42 | uint64(uint32(rec))<<21 | uint64(uint32(age))
}

// cellPart is the part of the key space a key belongs to, of parts.
func cellPart(key uint64, parts int) int {
	return int(numeric.Mix64(key|cellUsed) >> 59 % uint64(parts))
}

// cellsIn collapses the customers whose keys are in part p of parts: it sets their entries of index
// to their local cell numbers (the other customers' entries are left alone) and returns the cells
// in order of first appearance with their counts, each row's Tx the first customer's index (a
// float64 holds it exactly; for mergeCells) when parts > 1.
func cellsIn(sum *summary.Summary, p, parts int, index []int32) ltv.Cells {
	n := sum.Len()
	unit := sum.Unit()
	// room for a quarter of the customers up front (1M synthetic customers have ~0.3-0.9M
	// distinct rows, 10M about 2M): fewer copies while it grows, not much unused
	cells := ltv.Cells{Rows: make([]ltv.RFM, 0, n/4/parts+16), Index: index}
	t := newCellTable(n / 4 / parts)
	// The cells' counts are kept apart from their rows until the end: 4 bytes a cell instead of
	// the row's 32 stay in the cache while every customer increments one at random.
	var counts []int32
	var keys [warmCells]uint64
	var mine [warmCells]bool
	for lo := 0; lo < n; lo += warmCells {
		hi := min(lo+warmCells, n)
		// Compute a group's keys and touch their slots first: the loads are independent, so
		// their cache misses overlap instead of being paid one insert after the other.
		for i := lo; i < hi; i++ {
			keys[i-lo] = cellKey(sum, i)
			mine[i-lo] = parts == 1 || cellPart(keys[i-lo], parts) == p
		}
		t.warm(keys[:hi-lo])
		for i := lo; i < hi; i++ {
			if !mine[i-lo] {
				continue
			}
			j, added := t.insert(keys[i-lo], int32(len(cells.Rows)))
			if added {
				x, rec, age := sum.RFMDays(i)
				r := ltv.RFM{X: float64(x), Tx: unit.FromDays(float64(rec)), T: unit.FromDays(float64(age))}
				if parts > 1 {
					r.Tx = float64(i) // the first customer, for mergeCells
				}
				cells.Rows = append(cells.Rows, r)
				counts = append(counts, 0)
			}
			counts[j]++
			index[i] = j
		}
	}
	for j, c := range counts {
		cells.Rows[j].Weight = float64(c)
	}
	return cells
}

// mergeCells merges the parts of cellsIn into the cells of one pass: ordered by their first
// customer, renumbered, Tx restored, and index (the parts' local numbers) mapped to the merged
// ones. Only the merge of the two orders is serial.
func mergeCells(sum *summary.Summary, parts []ltv.Cells, index []int32) ltv.Cells {
	total := 0
	for _, c := range parts {
		total += len(c.Rows)
	}
	unit := sum.Unit()
	out := ltv.Cells{Rows: make([]ltv.RFM, 0, total), Index: index}
	remap := make([][]int32, len(parts))
	pos := make([]int, len(parts))
	for p := range parts {
		remap[p] = make([]int32, len(parts[p].Rows))
	}
	for len(out.Rows) < total {
		best := -1
		for p := range parts {
			if pos[p] < len(parts[p].Rows) && (best < 0 || parts[p].Rows[pos[p]].Tx < parts[best].Rows[pos[best]].Tx) {
				best = p
			}
		}
		remap[best][pos[best]] = int32(len(out.Rows))
		out.Rows = append(out.Rows, parts[best].Rows[pos[best]])
		pos[best]++
	}

	// On every core: each row's Tx back from its first customer, and the customers renumbered (a
	// customer's part follows from its key).
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	n, rows := len(index), len(out.Rows)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := rows * w / workers; j < rows*(w+1)/workers; j++ {
				r := &out.Rows[j]
				_, rec, _ := sum.RFMDays(int(r.Tx))
				r.Tx = unit.FromDays(float64(rec))
			}
			for i := n * w / workers; i < n*(w+1)/workers; i++ {
				index[i] = remap[cellPart(cellKey(sum, i), len(parts))][index[i]]
			}
		}()
	}
	wg.Wait()
	return out
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
		sink += t.keys[numeric.Mix64(k|cellUsed)&t.mask]
	}
	t.sink += sink
}

// insert returns the value of key, inserting val for it when absent.
func (t *cellTable) insert(key uint64, val int32) (int32, bool) {
	key |= cellUsed
	for i := numeric.Mix64(key) & t.mask; ; i = (i + 1) & t.mask {
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
		i := numeric.Mix64(k) & t.mask
		for t.keys[i] != 0 {
			i = (i + 1) & t.mask
		}
		t.keys[i], t.vals[i] = k, vals[j]
	}
}
