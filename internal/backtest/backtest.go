// Package backtest scores predictions against what customers actually did in a holdout window:
// totals and their relative error, per-customer error (MAE, RMSE) and rank quality (the share of
// the actual value captured by the predicted top 10% and 20%, Spearman's rank correlation). It is
// pure computation over two slices and imports nothing from Kubernetes or the models.
package backtest

import (
	"cmp"
	"math"
	"slices"

	"github.com/ltv-operator/ltv-operator/internal/numeric"
)

// Metrics compare predicted with actual values over a group of customers.
type Metrics struct {
	Customers int
	// Predicted and Actual are the group's totals (compensated sums).
	Predicted, Actual float64
	// RelativeError is (Predicted - Actual) / Actual; NaN when Actual is 0.
	RelativeError float64
	// MAE and RMSE are the mean absolute and root mean squared per-customer errors.
	MAE, RMSE float64
	// Top10Capture and Top20Capture are the shares of Actual held by the customers with the 10%
	// and 20% highest predictions; NaN when Actual <= 0.
	Top10Capture, Top20Capture float64
	// Spearman is the rank correlation of predicted and actual (average ranks for ties); NaN
	// when either side is constant or there are fewer than two customers.
	Spearman float64
}

// Score computes the metrics over the customers at the indexes members (nil: every customer).
func Score(predicted, actual []float64, members []int32) Metrics {
	p, a := pick(predicted, members), pick(actual, members)
	n := len(p)
	m := Metrics{Customers: n, RelativeError: math.NaN(), Top10Capture: math.NaN(), Top20Capture: math.NaN(), Spearman: math.NaN()}
	if n == 0 {
		return m
	}
	var sp, sa, sAbs, sSq Sum
	for i := range p {
		d := p[i] - a[i]
		sp.Add(p[i])
		sa.Add(a[i])
		sAbs.Add(math.Abs(d))
		sSq.Add(d * d)
	}
	m.Predicted, m.Actual = sp.Value(), sa.Value()
	m.MAE = sAbs.Value() / float64(n)
	m.RMSE = math.Sqrt(sSq.Value() / float64(n))
	if m.Actual != 0 {
		m.RelativeError = (m.Predicted - m.Actual) / m.Actual
	}
	if m.Actual > 0 {
		m.Top10Capture = Capture(p, a, 0.1)
		m.Top20Capture = Capture(p, a, 0.2)
	}
	m.Spearman = Spearman(p, a)
	return m
}

func pick(v []float64, members []int32) []float64 {
	if members == nil {
		return v
	}
	out := make([]float64, len(members))
	for i, j := range members {
		out[i] = v[j]
	}
	return out
}

// Capture is the share of the total actual value held by the fraction (0.1: 10%) of customers with
// the highest predictions: exactly fraction·n customers, where a group of equal predictions that
// straddles the cut counts in proportion (its actual value times the share of the group inside),
// so the answer does not depend on the customers' order. NaN when the total actual is <= 0.
func Capture(predicted, actual []float64, fraction float64) float64 {
	n := len(predicted)
	var total Sum
	for _, v := range actual {
		total.Add(v)
	}
	t := total.Value()
	if n == 0 || !(t > 0) {
		return math.NaN()
	}
	order := byPrediction(predicted)
	k := fraction * float64(n)
	var top Sum
	taken := 0.0
	for start := 0; start < n && taken < k; {
		end := start + 1
		for end < n && predicted[order[end]] == predicted[order[start]] {
			end++
		}
		var g Sum
		for _, i := range order[start:end] {
			g.Add(actual[i])
		}
		size := float64(end - start)
		share := math.Min(1, (k-taken)/size)
		top.Add(share * g.Value())
		taken += share * size
		start = end
	}
	return top.Value() / t
}

// byPrediction returns the indexes ordered by prediction, highest first (index order on ties).
func byPrediction(predicted []float64) []int32 {
	order := make([]int32, len(predicted))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(x, y int32) int { return cmp.Compare(predicted[y], predicted[x]) })
	return order
}

// Spearman is Pearson's correlation of the average ranks of x and y.
func Spearman(x, y []float64) float64 {
	if len(x) < 2 {
		return math.NaN()
	}
	return pearson(ranks(x), ranks(y))
}

// ranks are 1-based ranks, ties sharing their average rank.
func ranks(v []float64) []float64 {
	n := len(v)
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(v[a], v[b]) })
	r := make([]float64, n)
	for start := 0; start < n; {
		end := start + 1
		for end < n && v[order[end]] == v[order[start]] {
			end++
		}
		avg := float64(start+end+1) / 2 // ranks start+1 .. end
		for _, i := range order[start:end] {
			r[i] = avg
		}
		start = end
	}
	return r
}

func pearson(x, y []float64) float64 {
	n := float64(len(x))
	var sx, sy Sum
	for i := range x {
		sx.Add(x[i])
		sy.Add(y[i])
	}
	mx, my := sx.Value()/n, sy.Value()/n
	var cxy, cxx, cyy Sum
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		cxy.Add(dx * dy)
		cxx.Add(dx * dx)
		cyy.Add(dy * dy)
	}
	if cxx.Value() <= 0 || cyy.Value() <= 0 {
		return math.NaN()
	}
	return cxy.Value() / math.Sqrt(cxx.Value()*cyy.Value())
}

// Decile is one tenth of the customers by prediction.
type Decile struct {
	// Decile is 1 for the highest predictions, 10 for the lowest.
	Decile    int
	Customers int
	// Predicted and Actual are the decile's means per customer.
	Predicted, Actual float64
}

// Deciles splits the customers into ten groups of (nearly) equal size by prediction, highest
// first, and averages predicted and actual in each; ties are split in index order. Fewer than
// ten customers give fewer groups.
func Deciles(predicted, actual []float64) []Decile {
	n := len(predicted)
	order := byPrediction(predicted)
	var out []Decile
	for d := 0; d < 10; d++ {
		lo, hi := d*n/10, (d+1)*n/10
		if hi == lo {
			continue
		}
		var sp, sa Sum
		for _, i := range order[lo:hi] {
			sp.Add(predicted[i])
			sa.Add(actual[i])
		}
		c := float64(hi - lo)
		out = append(out, Decile{Decile: d + 1, Customers: hi - lo, Predicted: sp.Value() / c, Actual: sa.Value() / c})
	}
	return out
}

// Sum is the compensated sum used for every total.
type Sum = numeric.Sum
