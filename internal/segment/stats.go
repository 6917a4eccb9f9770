package segment

import (
	"cmp"
	"math"
	"slices"

	"github.com/ltv-operator/ltv-operator/internal/numeric"
)

// Percentiles fills ValuePercentile for all customers from PredictedValue: 100 × (the number of
// customers whose PredictedValue is lower than or equal to this customer's) / n. The most
// valuable customer gets 100; equal values get equal percentiles. NaN values (which the models
// never emit) sort below every number.
func Percentiles(customers []Customer) {
	n := len(customers)
	if n == 0 {
		return
	}
	type entry struct {
		v float64
		i int32
	}
	order := make([]entry, n)
	for i := range customers {
		order[i] = entry{customers[i].PredictedValue, int32(i)}
	}
	slices.SortFunc(order, func(a, b entry) int { return cmp.Compare(a.v, b.v) })
	for start := 0; start < n; {
		end := start + 1
		for end < n && cmp.Compare(order[end].v, order[start].v) == 0 {
			end++
		}
		// end customers have a value lower than or equal to this group's.
		p := 100 * float64(end) / float64(n)
		for _, e := range order[start:end] {
			customers[e.i].ValuePercentile = p
		}
		start = end
	}
}

// Aggregates summarises the predicted values of a set of customers (a segment).
type Aggregates struct {
	Customers  int
	AverageLTV float64
	MedianLTV  float64
	TotalLTV   float64
	// ValueShare is TotalLTV / the total over all customers; 0 when that total is <= 0.
	ValueShare float64
}

// Aggregate computes the aggregates of the customers at the indexes members, given each
// customer's predicted value (values) and the total predicted value over all customers (total).
// The median of an even count is the mean of the two middle values. An empty set has all zeros.
// Sums are compensated (Neumaier), so they do not depend on the customers' order beyond the last
// bits.
func Aggregate(values []float64, members []int32, total float64) Aggregates {
	n := len(members)
	if n == 0 {
		return Aggregates{}
	}
	vs := make([]float64, n)
	var s sum
	for i, m := range members {
		vs[i] = values[m]
		s.Add(values[m])
	}
	a := Aggregates{Customers: n, TotalLTV: s.Value()}
	a.AverageLTV = a.TotalLTV / float64(n)
	a.MedianLTV = medianOf(vs)
	if total > 0 {
		a.ValueShare = a.TotalLTV / total
	}
	return a
}

// medianOf is the median of vs, which it reorders (see nthElement): vs[len/2:] then hold the
// larger half.
func medianOf(vs []float64) float64 {
	n := len(vs)
	nthElement(vs, n/2)
	if n%2 == 1 {
		return vs[n/2]
	}
	return slices.Max(vs[:n/2])/2 + vs[n/2]/2
}

// TopShare returns the share of the total predicted value held by the top fraction of customers
// by value (0.2 → the top 20%). With n customers it takes the ⌈fraction·n⌉ most valuable ones
// (computed with a 1e-9 tolerance, so 0.7 of 10 is 7, not 8), at most n. It returns 0 when the
// total is <= 0, when fraction <= 0 or there are no customers.
func TopShare(values []float64, fraction float64) float64 {
	return topShareOf(slices.Clone(values), Sum(values), fraction, 0)
}

// topShareOf is TopShare on vs, a copy of the values that it reorders, whose sum is t; vs[from:]
// already holds the largest len(vs)-from values.
func topShareOf(vs []float64, t, fraction float64, from int) float64 {
	n := len(vs)
	if n == 0 || !(fraction > 0) || !(t > 0) {
		return 0
	}
	k := n
	if x := fraction * float64(n); x < float64(n) {
		k = int(math.Ceil(x - 1e-9))
	}
	if k <= 0 {
		return 0
	}
	if n-k >= from {
		nthElement(vs[from:], n-k-from)
	} else {
		nthElement(vs, n-k)
	}
	var top sum
	for _, v := range vs[n-k:] {
		top.Add(v)
	}
	return top.Value() / t
}

// Overall is Aggregate over every customer and TopShare(values, fraction), from one copy of the
// values (at ten million customers each copy is 80 MB).
func Overall(values []float64, total, fraction float64) (Aggregates, float64) {
	n := len(values)
	if n == 0 {
		return Aggregates{}, 0
	}
	vs := slices.Clone(values)
	t := Sum(values)
	a := Aggregates{Customers: n, TotalLTV: t, AverageLTV: t / float64(n), MedianLTV: medianOf(vs)}
	if total > 0 {
		a.ValueShare = a.TotalLTV / total
	}
	return a, topShareOf(vs, t, fraction, n/2)
}

// Sum is the compensated (Neumaier) sum of values, as Aggregate's totals are computed.
func Sum(values []float64) float64 {
	var s sum
	for _, v := range values {
		s.Add(v)
	}
	return s.Value()
}

// sum is the compensated sum shared by the pure packages.
type sum = numeric.Sum

// SumOf returns the compensated sum of values[i] over the members i.
func SumOf(values []float64, members []int32) float64 {
	var s sum
	for _, i := range members {
		s.Add(values[i])
	}
	return s.Value()
}
