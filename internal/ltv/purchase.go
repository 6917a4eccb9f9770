package ltv

import (
	"fmt"
	"math"
	"runtime"
	"sync"
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
}

func newRowTables(rows []RFM) *rowTables {
	tb := &rowTables{rows: rows, xi: make([]int32, len(rows)), ti: make([]int32, len(rows)), txi: make([]int32, len(rows))}
	xd := newDistinctIndex(64)
	td := newDistinctIndex(1024)
	for i, r := range rows {
		tb.xi[i] = xd.add(r.X)
		tb.ti[i] = td.add(r.T)
		tb.txi[i] = td.add(r.Tx)
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
	return rfmKey{x: r.X, tx: int64(math.Round(r.Tx * 1e9)), t: int64(math.Round(r.T * 1e9))}
}

// Compress collapses per-customer rows into unique (X, Tx, T) rows (Tx and T compared after rounding
// to 1e-9) whose Weight is the total weight of the rows merged into them (an input row's weight is its
// Weight when positive, else 1, so per-customer rows give counts). It returns the unique rows, in
// order of first appearance and carrying the first appearance's values, and for each input index the
// index of its unique row.
func Compress(rows []RFM) (unique []RFM, index []int32) {
	index = make([]int32, len(rows))
	seen := make(map[rfmKey]int32, len(rows)/4+16)
	for i, r := range rows {
		k := keyOf(r)
		j, ok := seen[k]
		if !ok {
			j = int32(len(unique))
			seen[k] = j
			u := r
			u.Weight = 0
			unique = append(unique, u)
		}
		unique[j].Weight += rowWeight(r)
		index[i] = j
	}
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
	pos    map[float64]int32
}

func newDistinctIndex(capacity int) *distinctIndex {
	return &distinctIndex{pos: make(map[float64]int32, capacity)}
}

func (d *distinctIndex) add(v float64) int32 {
	if i, ok := d.pos[v]; ok {
		return i
	}
	i := int32(len(d.values))
	d.values = append(d.values, v)
	d.pos[v] = i
	return i
}

// pairKey identifies a unique (x, T) pair: the part of a prediction that does not depend on tx.
type pairKey struct {
	x float64
	t int64
}

// xtPairs groups unique rows by (x, T). It returns the distinct pairs (as RFM rows with Tx = 0) and
// for every row the index of its pair.
func xtPairs(rows []RFM) (pairs []RFM, index []int32) {
	index = make([]int32, len(rows))
	seen := make(map[pairKey]int32, len(rows)/8+16)
	for i, r := range rows {
		k := pairKey{x: r.X, t: int64(math.Round(r.T * 1e9))}
		j, ok := seen[k]
		if !ok {
			j = int32(len(pairs))
			seen[k] = j
			pairs = append(pairs, RFM{X: r.X, T: r.T})
		}
		index[i] = j
	}
	return pairs, index
}

// softplus returns log(1+exp(z)) and the logistic sigmoid 1/(1+exp(-z)) without overflow.
func softplus(z float64) (sp, sig float64) {
	if z > 0 {
		e := math.Exp(-z)
		return z + math.Log1p(e), 1 / (1 + e)
	}
	e := math.Exp(z)
	return math.Log1p(e), e / (1 + e)
}

// logistic returns 1/(1+exp(z)), the probability whose logit-complement is z.
func logistic(z float64) float64 {
	if z > 0 {
		e := math.Exp(-z)
		return e / (1 + e)
	}
	return 1 / (1 + math.Exp(z))
}
