package backtest

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// Without ties, the metrics equal the textbook definitions computed the plain way.
func TestScoreWithoutTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 257
	p, a := make([]float64, n), make([]float64, n)
	for i := range p {
		p[i] = rng.ExpFloat64() * 50
		a[i] = math.Max(0, p[i]+rng.NormFloat64()*30)
	}
	m := Score(p, a, nil)

	var sp, sa, sabs, ssq float64
	for i := range p {
		sp += p[i]
		sa += a[i]
		sabs += math.Abs(p[i] - a[i])
		ssq += (p[i] - a[i]) * (p[i] - a[i])
	}
	near := func(name string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.12g, want %.12g", name, got, want)
		}
	}
	near("predicted", m.Predicted, sp, 1e-9)
	near("actual", m.Actual, sa, 1e-9)
	near("relative error", m.RelativeError, (sp-sa)/sa, 1e-12)
	near("MAE", m.MAE, sabs/float64(n), 1e-12)
	near("RMSE", m.RMSE, math.Sqrt(ssq/float64(n)), 1e-12)

	// Capture: sort by prediction, take ⌊0.1 n⌋ customers plus the fractional share of the next.
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(x, y int) bool { return p[idx[x]] > p[idx[y]] })
	for _, f := range []float64{0.1, 0.2} {
		k := f * float64(n)
		top := 0.0
		for j := 0; j < int(k); j++ {
			top += a[idx[j]]
		}
		top += (k - math.Floor(k)) * a[idx[int(k)]]
		got := m.Top10Capture
		if f == 0.2 {
			got = m.Top20Capture
		}
		near("capture", got, top/sa, 1e-12)
	}

	// Spearman without ties: 1 - 6 Σd² / (n(n²-1)).
	rank := func(v []float64) []int {
		o := make([]int, n)
		for i := range o {
			o[i] = i
		}
		sort.Slice(o, func(x, y int) bool { return v[o[x]] < v[o[y]] })
		r := make([]int, n)
		for k, i := range o {
			r[i] = k + 1
		}
		return r
	}
	rp, ra := rank(p), rank(a)
	// a has ties at 0 (clamped); use p against a strictly increasing transform of p instead.
	d2 := 0.0
	for i := range rp {
		d := float64(rp[i] - ra[i])
		d2 += d * d
	}
	hasTies := false
	seen := map[float64]bool{}
	for _, v := range a {
		if seen[v] {
			hasTies = true
		}
		seen[v] = true
	}
	if !hasTies {
		near("spearman", m.Spearman, 1-6*d2/(float64(n)*(float64(n*n)-1)), 1e-12)
	}
	// A strictly increasing transform has rank correlation 1, a decreasing one -1.
	q := make([]float64, n)
	for i := range p {
		q[i] = math.Exp(p[i] / 100)
	}
	near("spearman monotone", Spearman(p, q), 1, 1e-12)
	for i := range q {
		q[i] = -q[i]
	}
	near("spearman antitone", Spearman(p, q), -1, 1e-12)
}

// With a tie group straddling the cut, the capture is the mean over every order of the tied
// customers (checked by enumerating all 4! orders).
func TestCaptureTiesAverageOverOrders(t *testing.T) {
	p := []float64{9, 5, 5, 5, 5, 1, 1, 1, 0, 0}
	a := []float64{10, 1, 7, 3, 20, 2, 2, 0, 4, 1}
	total := 0.0
	for _, v := range a {
		total += v
	}
	tied := []int{1, 2, 3, 4}
	var perms [][]int
	var permute func([]int, int)
	permute = func(s []int, k int) {
		if k == len(s) {
			perms = append(perms, append([]int(nil), s...))
			return
		}
		for i := k; i < len(s); i++ {
			s[k], s[i] = s[i], s[k]
			permute(s, k+1)
			s[k], s[i] = s[i], s[k]
		}
	}
	permute(tied, 0)
	// The top 20% of 10 customers is 2: customer 0 plus one tied customer.
	mean := 0.0
	for _, o := range perms {
		mean += (a[0] + a[o[0]]) / total
	}
	mean /= float64(len(perms))
	if got := Capture(p, a, 0.2); math.Abs(got-mean) > 1e-12 {
		t.Errorf("capture = %v, want the mean over orders %v", got, mean)
	}
	// Ties share ranks: Spearman of a constant is undefined.
	if got := Spearman(p, make([]float64, len(p))); !math.IsNaN(got) {
		t.Errorf("spearman against a constant = %v, want NaN", got)
	}
}

func TestScoreMembersAndEmpty(t *testing.T) {
	p := []float64{1, 2, 3, 4}
	a := []float64{0, 2, 5, 1}
	m := Score(p, a, []int32{1, 2})
	if m.Customers != 2 || m.Predicted != 5 || m.Actual != 7 || m.MAE != 1 {
		t.Errorf("members {1,2}: %+v", m)
	}
	e := Score(p, a, []int32{})
	if e.Customers != 0 || !math.IsNaN(e.RelativeError) || !math.IsNaN(e.Top10Capture) {
		t.Errorf("empty group: %+v", e)
	}
	d := Deciles(p, a)
	if len(d) != 4 || d[0].Predicted != 4 || d[0].Actual != 1 || d[3].Predicted != 1 {
		t.Errorf("deciles of 4: %+v", d)
	}
}

// The compensated sum of many cents is the exact decimal sum, where naive summation drifts.
func TestSumCompensated(t *testing.T) {
	var s Sum
	naive := 0.0
	for i := 0; i < 1_000_000; i++ {
		s.Add(0.01)
		naive += 0.01
	}
	if got := s.Value(); got != 10000 {
		t.Errorf("compensated sum of 1e6 × 0.01 = %.17g, want 10000", got)
	}
	if naive == 10000 {
		t.Log("naive summation happened to be exact")
	}
}
