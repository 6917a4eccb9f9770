package ltv

import (
	"cmp"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/ltv-operator/ltv-operator/internal/numeric"
)

// PurchaseModel is a fitted model of repeat purchasing (BG/NBD, MBG/NBD, Pareto/NBD). Times are in
// the data's time unit; x is the number of repeat transactions, tx the time of the last transaction
// since the first, T the time from the first transaction to the end of observation.
type PurchaseModel interface {
	Fit() FitResult
	// ExpectedPurchases is the conditional expected number of transactions in (T, T+t] for a
	// customer with (x, tx, T).
	ExpectedPurchases(t, x, tx, T float64) float64
	// ProbabilityAlive is the probability that a customer with (x, tx, T) is still active at T.
	ProbabilityAlive(x, tx, T float64) float64
	// UnconditionalExpected is E[X(t)] for a new customer over t periods.
	UnconditionalExpected(t float64) float64
	// WithParams returns the same model with other parameters (same order as Fit().ParamNames),
	// for bootstrap draws. The returned model's Fit() carries the new parameters.
	WithParams(params []float64) PurchaseModel
}

// aliveFactorizer is an optional, faster view of a PurchaseModel whose conditional expectation
// factorises as ExpectedPurchases(t, x, tx, T) = ProbabilityAlive(x, tx, T) * expectedIfAlive(t, x, T)
// (true for BG/NBD, MBG/NBD and Pareto/NBD). The part that needs special functions then depends on
// (x, T) only, so predictions compute it once per unique (x, T) instead of once per (x, tx, T).
type aliveFactorizer interface {
	// expectedIfAlive is E[transactions in (T, T+t] | alive at T, x, T].
	expectedIfAlive(t, x, T float64) float64
	// survivalIfAlive is P(still alive at T+t | alive at T, x, T); used for retention costs.
	survivalIfAlive(t, x, T float64) float64
	// probabilityAliveRows sets out[i] to ProbabilityAlive of tb.rows[i], using tb's per-value
	// tables so that a parameter draw costs little per row. It must not retain out or tb.
	probabilityAliveRows(tb *rowTables, out []float64)
}

// rowTables indexes rows by their distinct x values and by the distinct values of their times, so
// that per-row work can use per-value tables (log(alpha+t), per-x constants) computed once per
// parameter vector. Customer data measured in days (or days/7) has few distinct times.
type rowTables struct {
	rows     []RFM
	xs       []float64 // distinct x values
	xi       []int32   // per row: index into xs
	times    []float64 // distinct values of T and Tx
	ti, txi  []int32   // per row: indexes into times
	xWeights []float64 // total row weight per distinct x

	cellsOnce sync.Once
	cellTab   *rowCells // built by cells on first use
}

// rowCells are the distinct (x, time) combinations that the rows of a rowTables use, as (x, T) or
// (x, Tx): a model whose per-row work splits into per-(x, time) parts (Pareto/NBD's J(x, t)) computes
// those once per cell. Cells are ordered by x index, then time.
type rowCells struct {
	xi, ti  []int32 // per cell: indexes into rowTables.xs and rowTables.times
	xStart  []int32 // the cells of xs[j] are xStart[j] .. xStart[j+1]-1
	cT, cTx []int32 // per row: cells of (x, T) and (x, Tx)
}

// cells returns the table's (x, time) cells, building them on first use (safe for concurrent use),
// or nil when there are more cells than rows: then each cell serves fewer than two row lookups on
// average, and per-row work is as cheap as per-cell tables (continuous times, or few rows).
func (tb *rowTables) cells() *rowCells {
	tb.cellsOnce.Do(func() { tb.cellTab = newRowCells(tb, len(tb.rows)) })
	return tb.cellTab
}

// newRowCells returns the cells of tb's rows, or nil when there are more than maxCells.
func newRowCells(tb *rowTables, maxCells int) *rowCells {
	if len(tb.times) > maxCells { // every distinct time is in some cell
		return nil
	}
	if len(tb.xs)*len(tb.times) <= denseCellsMax {
		return newRowCellsDense(tb, maxCells)
	}
	return newRowCellsHashed(tb, maxCells)
}

// newRowCellsHashed is newRowCells with the cells in a hash table (any number of x and times).
func newRowCellsHashed(tb *rowTables, maxCells int) *rowCells {
	n := len(tb.rows)
	c := &rowCells{cT: make([]int32, n), cTx: make([]int32, n)}
	tab := newHashTable[uint64](min(n/4, maxCells) + 16)
	key := func(j, k int32) uint64 { return uint64(uint32(j))<<32 | uint64(uint32(k)) }
	for i := range tb.rows {
		kT := key(tb.xi[i], tb.ti[i])
		kx := key(tb.xi[i], tb.txi[i])
		c.cT[i], _ = tab.insert(kT, numeric.Mix64(kT))
		c.cTx[i], _ = tab.insert(kx, numeric.Mix64(kx))
		if len(tab.keys) > maxCells {
			return nil
		}
	}
	// Renumber the cells by x index, then time.
	order := make([]int32, len(tab.keys))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		ka, kb := tab.keys[a], tab.keys[b]
		if c := cmp.Compare(ka>>32, kb>>32); c != 0 {
			return c
		}
		return cmp.Compare(tb.times[uint32(ka)], tb.times[uint32(kb)])
	})
	rank := make([]int32, len(order))
	c.xi = make([]int32, len(order))
	c.ti = make([]int32, len(order))
	c.xStart = make([]int32, len(tb.xs)+1)
	for r, id := range order {
		rank[id] = int32(r)
		k := tab.keys[id]
		c.xi[r], c.ti[r] = int32(k>>32), int32(uint32(k))
		c.xStart[c.xi[r]+1]++
	}
	for j := range tb.xs {
		c.xStart[j+1] += c.xStart[j]
	}
	for i := range c.cT {
		c.cT[i], c.cTx[i] = rank[c.cT[i]], rank[c.cTx[i]]
	}
	return c
}

// denseCellsMax bounds the (x, time) grid that newRowCellsDense marks (16 MiB of int32): with day
// or week times a grid of every distinct x and time is small (146 x 2,000 at a million customers)
// and marking it costs two cache-resident writes a row, where a hash table of the cells cost two
// random inserts (0.2 CPU-s at a million rows).
const denseCellsMax = 1 << 22

// newRowCellsDense is newRowCells on the grid of every distinct x and time; the cells and their
// numbering are the same.
func newRowCellsDense(tb *rowTables, maxCells int) *rowCells {
	n, nt := len(tb.rows), len(tb.times)
	grid := make([]int32, len(tb.xs)*nt) // cell number + 1 of (x, time); 0 when unused
	for i := range tb.rows {
		row := int(tb.xi[i]) * nt
		grid[row+int(tb.ti[i])] = 1
		grid[row+int(tb.txi[i])] = 1
	}
	// the times' indexes in the order of their values
	byValue := make([]int32, nt)
	for i := range byValue {
		byValue[i] = int32(i)
	}
	slices.SortFunc(byValue, func(a, b int32) int { return cmp.Compare(tb.times[a], tb.times[b]) })
	c := &rowCells{xStart: make([]int32, len(tb.xs)+1)}
	for j := range tb.xs {
		c.xStart[j] = int32(len(c.xi))
		for _, t := range byValue {
			if g := &grid[j*nt+int(t)]; *g != 0 {
				c.xi = append(c.xi, int32(j))
				c.ti = append(c.ti, t)
				*g = int32(len(c.xi))
				if len(c.xi) > maxCells {
					return nil
				}
			}
		}
	}
	c.xStart[len(tb.xs)] = int32(len(c.xi))
	c.cT, c.cTx = make([]int32, n), make([]int32, n)
	for i := range tb.rows {
		row := int(tb.xi[i]) * nt
		c.cT[i] = grid[row+int(tb.ti[i])] - 1
		c.cTx[i] = grid[row+int(tb.txi[i])] - 1
	}
	return c
}

func newRowTables(rows []RFM) *rowTables {
	return newRowTablesUpTo(rows, math.MaxInt)
}

// newRowTablesUpTo is newRowTables, or nil as soon as the rows have more than maxTimes distinct times
// (checked first on the first rows, so that continuous times cost little).
func newRowTablesUpTo(rows []RFM, maxTimes int) *rowTables {
	if maxTimes < math.MaxInt {
		head := rows[:min(len(rows), 4096)]
		td := newDistinctIndex(2 * len(head))
		for _, r := range head {
			td.add(r.T)
			td.add(r.Tx)
		}
		if len(td.values) > maxTimes || len(td.values) > len(head) {
			return nil
		}
	}
	tb := &rowTables{rows: rows, xi: make([]int32, len(rows)), ti: make([]int32, len(rows)), txi: make([]int32, len(rows))}
	xd := newDistinctIndex(64)
	td := newDistinctIndex(min(1024, maxTimes))
	for i, r := range rows {
		tb.xi[i] = xd.add(r.X)
		tb.ti[i] = td.add(r.T)
		tb.txi[i] = td.add(r.Tx)
		if len(td.values) > maxTimes {
			return nil
		}
	}
	tb.xs, tb.times = xd.values, td.values
	tb.xWeights = make([]float64, len(tb.xs))
	for i, r := range rows {
		tb.xWeights[tb.xi[i]] += rowWeight(r)
	}
	return tb
}

// rowWeight is the weight of an input row: Weight when positive, else 1 (a per-customer row).
func rowWeight(r RFM) float64 {
	if r.Weight > 0 {
		return r.Weight
	}
	return 1
}

type rfmKey struct {
	x     float64
	tx, t int64
}

func keyOf(r RFM) rfmKey {
	// +0 turns -0 into +0 so that both hash alike.
	return rfmKey{x: r.X + 0, tx: int64(math.Round(r.Tx * 1e9)), t: int64(math.Round(r.T * 1e9))}
}

func (k rfmKey) hash() uint64 {
	return numeric.Mix64(math.Float64bits(k.x)*0x9e3779b97f4a7c15 ^ uint64(k.tx)*0xc2b2ae3d27d4eb4f ^ uint64(k.t)*0x165667b19e3779f9)
}

// hashTable assigns dense ids to distinct keys in order of insertion (open addressing, linear
// probing). It is several times faster than a Go map for the millions of lookups of Compress.
type hashTable[K comparable] struct {
	slots []hashSlot // id+1, 0 = empty
	keys  []K
	mask  uint64
}

type hashSlot struct {
	h  uint64
	id int32
}

func newHashTable[K comparable](capacity int) *hashTable[K] {
	n := 16
	for n < 2*capacity {
		n *= 2
	}
	return &hashTable[K]{slots: make([]hashSlot, n), mask: uint64(n - 1), keys: make([]K, 0, capacity)}
}

// insert returns the id of k (hash h), adding it when new.
func (t *hashTable[K]) insert(k K, h uint64) (id int32, added bool) {
	if 2*(len(t.keys)+1) > len(t.slots) {
		t.grow()
	}
	i := h & t.mask
	for {
		s := t.slots[i]
		if s.id == 0 {
			id = int32(len(t.keys))
			t.slots[i] = hashSlot{h: h, id: id + 1}
			t.keys = append(t.keys, k)
			return id, true
		}
		if s.h == h && t.keys[s.id-1] == k {
			return s.id - 1, false
		}
		i = (i + 1) & t.mask
	}
}

func (t *hashTable[K]) grow() {
	old := t.slots
	t.slots = make([]hashSlot, 2*len(old))
	t.mask = uint64(len(t.slots) - 1)
	for _, s := range old {
		if s.id == 0 {
			continue
		}
		i := s.h & t.mask
		for t.slots[i].id != 0 {
			i = (i + 1) & t.mask
		}
		t.slots[i] = s
	}
}

// Cells are per-customer rows collapsed into their distinct (X, Tx, T) values: customer i has the
// row Rows[Index[i]], and a row's Weight is its number of customers. Models, predictions and
// intervals work on the distinct rows; only what differs per customer (the spend) is per customer.
type Cells struct {
	Rows  []RFM
	Index []int32
}

// NewCells collapses per-customer rows (see Compress).
func NewCells(rows []RFM) Cells {
	u, idx := Compress(rows)
	return Cells{Rows: u, Index: idx}
}

// Compress collapses per-customer rows into unique (X, Tx, T) rows (Tx and T compared after rounding
// to 1e-9) whose Weight is the total weight of the rows merged into them (an input row's weight is its
// Weight when positive, else 1, so per-customer rows give counts). It returns the unique rows, in
// order of first appearance and carrying the first appearance's values, and for each input index the
// index of its unique row. Large inputs are split by hash across the CPUs.
func Compress(rows []RFM) (unique []RFM, index []int32) {
	n := len(rows)
	index = make([]int32, n)
	parts := workers()
	if n < 200000 {
		parts = 1
	}
	hashes := make([]uint64, n)
	parallelFor(n, 65536, func(lo, hi, _ int) {
		for i := lo; i < hi; i++ {
			hashes[i] = keyOf(rows[i]).hash()
		}
	})
	type partition struct {
		first   []int32 // first row of each local unique key
		weights []float64
	}
	ps := make([]partition, parts)
	parallelFor(parts, 1, func(lo, hi, _ int) {
		for p := lo; p < hi; p++ {
			tab := newHashTable[rfmKey](n / parts / 3)
			pt := &ps[p]
			for i, h := range hashes {
				if parts > 1 && int((h>>40)%uint64(parts)) != p {
					continue
				}
				id, added := tab.insert(keyOf(rows[i]), h)
				if added {
					pt.first = append(pt.first, int32(i))
					pt.weights = append(pt.weights, 0)
				}
				pt.weights[id] += rowWeight(rows[i])
				index[i] = id
			}
		}
	})
	if parts == 1 {
		unique = make([]RFM, len(ps[0].first))
		for j, i := range ps[0].first {
			unique[j] = rows[i]
			unique[j].Weight = ps[0].weights[j]
		}
		return unique, index
	}
	// Merge the partitions by first appearance and renumber.
	total := 0
	for _, pt := range ps {
		total += len(pt.first)
	}
	unique = make([]RFM, 0, total)
	remap := make([][]int32, parts)
	pos := make([]int, parts)
	for p := range ps {
		remap[p] = make([]int32, len(ps[p].first))
	}
	for len(unique) < total {
		best := -1
		for p := range ps {
			if pos[p] < len(ps[p].first) && (best < 0 || ps[p].first[pos[p]] < ps[best].first[pos[best]]) {
				best = p
			}
		}
		j := pos[best]
		remap[best][j] = int32(len(unique))
		u := rows[ps[best].first[j]]
		u.Weight = ps[best].weights[j]
		unique = append(unique, u)
		pos[best]++
	}
	parallelFor(n, 65536, func(lo, hi, _ int) {
		for i := lo; i < hi; i++ {
			p := int((hashes[i] >> 40) % uint64(parts))
			index[i] = remap[p][index[i]]
		}
	})
	return unique, index
}

// validateRFM checks the rows a purchase model is fitted on or predicts for.
func validateRFM(model string, rows []RFM) error {
	for i, r := range rows {
		if !(r.X >= 0) || !(r.Tx >= 0) || !(r.T >= 0) || math.IsInf(r.X, 0) || math.IsInf(r.T, 0) ||
			math.IsNaN(r.Weight) || math.IsInf(r.Weight, 0) || r.Weight < 0 {
			return fmt.Errorf("%s: row %d: invalid summary (x=%g, tx=%g, T=%g, weight=%g)", model, i, r.X, r.Tx, r.T, r.Weight)
		}
		if r.Tx > r.T*(1+1e-12)+1e-9 {
			return fmt.Errorf("%s: row %d: time of last transaction %g is after the end of observation %g", model, i, r.Tx, r.T)
		}
	}
	return nil
}

// workers is the number of goroutines used by the parallel loops.
func workers() int {
	n := runtime.GOMAXPROCS(0)
	if n < 1 {
		n = 1
	}
	return n
}

// parallelFor splits [0, n) into at most workers() contiguous chunks of at least minChunk items and
// runs fn on each chunk concurrently; worker is the chunk number (0-based, < workers()).
func parallelFor(n, minChunk int, fn func(lo, hi, worker int)) {
	w := workers()
	if minChunk < 1 {
		minChunk = 1
	}
	if max := (n + minChunk - 1) / minChunk; max < w {
		w = max
	}
	if w <= 1 {
		if n > 0 {
			fn(0, n, 0)
		}
		return
	}
	var wg sync.WaitGroup
	for k := 0; k < w; k++ {
		lo, hi := n*k/w, n*(k+1)/w
		wg.Add(1)
		go func(lo, hi, k int) {
			defer wg.Done()
			fn(lo, hi, k)
		}(lo, hi, k)
	}
	wg.Wait()
}

// distinctIndex maps the distinct values of a float64 sequence to small integer indexes.
type distinctIndex struct {
	values []float64
	tab    *hashTable[float64]
}

func newDistinctIndex(capacity int) *distinctIndex {
	return &distinctIndex{tab: newHashTable[float64](capacity)}
}

func (d *distinctIndex) add(v float64) int32 {
	v += 0 // -0 -> +0
	id, added := d.tab.insert(v, numeric.Mix64(math.Float64bits(v)))
	if added {
		d.values = append(d.values, v)
	}
	return id
}

// xtPairs groups unique rows by (x, T) (T compared after rounding to 1e-9): the part of a prediction
// that does not depend on tx. It returns the distinct pairs (as RFM rows with Tx = 0) and for every
// row the index of its pair.
func xtPairs(rows []RFM) (pairs []RFM, index []int32) {
	index = make([]int32, len(rows))
	tab := newHashTable[rfmKey](len(rows)/8 + 16)
	for i, r := range rows {
		k := rfmKey{x: r.X + 0, t: int64(math.Round(r.T * 1e9))}
		j, added := tab.insert(k, k.hash())
		if added {
			pairs = append(pairs, RFM{X: r.X, T: r.T})
		}
		index[i] = j
	}
	return pairs, index
}

// softplus returns log(1+exp(z)) and the logistic sigmoid 1/(1+exp(-z)) without overflow.
//
// With e = exp(-|z|) <= 1, log1p(e) is a three-term series below 1e-4 (error < 3e-17) and log(1+e)
// above (absolute error ~1e-16 against a value >= 1e-4): as accurate as math.Log1p for likelihood
// sums and several times faster.
func softplus(z float64) (sp, sig float64) {
	az := math.Abs(z)
	e := math.Exp(-az)
	var l float64
	if e < 1e-4 {
		l = e * (1 - e*(0.5-e/3))
	} else {
		l = math.Log(1 + e)
	}
	if z > 0 {
		return z + l, 1 / (1 + e)
	}
	return l, e / (1 + e)
}

// logistic returns 1/(1+exp(z)), the probability whose logit-complement is z.
func logistic(z float64) float64 {
	if z > 0 {
		e := math.Exp(-z)
		return e / (1 + e)
	}
	return 1 / (1 + math.Exp(z))
}
