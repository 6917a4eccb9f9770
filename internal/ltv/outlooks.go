package ltv

import (
	"cmp"
	"math"
	"slices"
	"sync"

	"gonum.org/v1/gonum/integrate/quad"
)

// Outlooks returns the outlook over w time units of every row (x, tx, T) of rows, in order (the
// rows' weights are ignored). ok is false for models without a purchase process that can say it.
//
// It equals CustomerOutlook row by row, but shares work between rows: for Pareto/NBD the
// no-purchase curve N(t) depends on (x, T) only, and the rows' P(alive) only moves the level
// 1 - 1/(2 P(alive)) at which it is inverted for the median next purchase, so the curve is
// tabulated once per distinct (x, T) and each row's median solved from the table (see
// pnbdCurve). The rows are visited sorted by (x, T), so only one cell's table is held at a time.
func Outlooks(pm PurchaseModel, rows []RFM, w float64) (out []Outlook, ok bool) {
	return OutlooksGivenAlive(pm, rows, nil, w)
}

// OutlooksGivenAlive is Outlooks with the rows' probabilities of being alive already known
// (alive[i] for rows[i], as a prediction computed them; nil: computed here). For Pareto/NBD,
// whose P(alive) costs a hypergeometric function per row, that is most of the work.
func OutlooksGivenAlive(pm PurchaseModel, rows []RFM, alive []float64, w float64) (out []Outlook, ok bool) {
	aliveOf := func(i int32, r RFM) float64 {
		if alive != nil {
			return alive[i]
		}
		return pm.ProbabilityAlive(r.X, r.Tx, r.T)
	}
	m, isPNBD := pm.(*ParetoNBD)
	if !isPNBD {
		f, ok1 := pm.(aliveFactorizer)
		np, ok2 := pm.(noPurchaser)
		if !ok1 || !ok2 {
			return nil, false // the model says nothing of the sort, whatever the row
		}
		// CustomerOutlook row by row, with the parts that depend on (x, T) only - the survival
		// and the no-purchase probability of a customer alive at T - computed once per pair
		pairs, pairOf := xtPairs(rows)
		survival, noPurchase := make([]float64, len(pairs)), make([]float64, len(pairs))
		parallelFor(len(pairs), 1024, func(lo, hi, _ int) {
			for j := lo; j < hi; j++ {
				survival[j] = f.survivalIfAlive(w, pairs[j].X, pairs[j].T)
				noPurchase[j] = np.noPurchaseIfAlive(w, pairs[j].X, pairs[j].T)
			}
		})
		out = make([]Outlook, len(rows))
		parallelFor(len(rows), 8192, func(lo, hi, _ int) {
			for i := lo; i < hi; i++ {
				r, j := rows[i], pairOf[i]
				pa := aliveOf(int32(i), r)
				out[i] = outlookFrom(pa, survival[j], noPurchase[j],
					func(level float64) float64 { return np.timeToNoPurchase(level, r.X, r.T) })
			}
		})
		return out, true
	}
	// the rows grouped by (x, T), so that each cell's curve is tabulated once (a sort by (x, T)
	// took 0.18 CPU-s of a million rows; a cell is still recognised by its exact x and T below)
	pairs, pairOf := xtPairs(rows)
	order := groupByPair(pairOf, len(pairs))
	out = make([]Outlook, len(rows))
	// blocks of the sorted rows on all workers; a cell split between blocks is tabulated twice,
	// to the same values (the table does not depend on the order of the queries)
	const block = 1024
	pnbdParallel((len(order)+block-1)/block, func(b int) {
		var c pnbdCurve
		var noPurchaseW, survivalW float64
		lo, hi := b*block, min((b+1)*block, len(order))
		for j := lo; j < hi; j++ {
			i := order[j]
			r := rows[i]
			if j == lo || r.X != rows[order[j-1]].X || r.T != rows[order[j-1]].T {
				c.reset(m, r.X, r.T)
				noPurchaseW = c.at(w)
				survivalW = m.survivalIfAlive(w, r.X, r.T)
			}
			pa := aliveOf(i, r)
			out[i] = outlookFrom(pa, survivalW, noPurchaseW, c.solve)
		}
	})
	return out, true
}

// gl8 is the 8-point Gauss-Legendre rule on [-1, 1], computed once.
var gl8 = sync.OnceValue(func() (r struct{ x, w [8]float64 }) {
	quad.Legendre{}.FixedLocations(r.x[:], r.w[:], -1, 1)
	return r
})

// pnbdCurve is Pareto/NBD's P(no purchase in (T, T+t] | alive at T, x, T) for one (x, T) as a
// function of v = log(1 + t/(alpha+T)). Its derivative in t is A'(t) S(t) (the terms in B cancel,
// see noPurchaseIfAlive), so
//
//	N(v) = 1 - ∫_0^v g,  g(v) = k e^{-k v} ((beta+T)/(beta+T+u(v)))^s,  k = r+x, u(v) = (alpha+T)(e^v - 1),
//
// g positive and decreasing. The table holds N at v = 0, h, 2h, ... (extended lazily, never
// beyond v(MaxNextPurchaseFactor (alpha+T))), each step an 8-point Gauss-Legendre integral of g;
// h <= 1/(k + max(1, (alpha+T)/(beta+T))) keeps g within a factor e over a step and the step
// well inside g's region of analyticity (its nearest singularity is at least h away), so each
// step is exact to ~1e-15. Once the rest of the integral is below 1e-18 the table jumps to the
// end. Between table points N is the table value minus one more 8-point integral (at), and for
// the median (solve) the step holding the root gets, once, the degree-16 Chebyshev interpolant
// of g at 16 points, integrated exactly: every row's median in that step is then found by
// safeguarded Newton on that polynomial, without further exp or log.
type pnbdCurve struct {
	k, aT, bT, s, c float64
	h, vmax         float64
	v, n            []float64 // table points and N there
	cheb            []float64 // per step, chebLen coefficients of N's model (NaN first: not built)
}

const (
	chebPoints = 16
	chebLen    = chebPoints + 2 // the antiderivative's coefficients b_0..b_16, then F(-1)
)

// chebCos[k][j] = cos(k pi (j+1/2)/16), the Chebyshev nodes' basis values, computed once.
var chebCos = sync.OnceValue(func() (r [chebPoints][chebPoints]float64) {
	for k := range r {
		for j := range r[k] {
			r[k][j] = math.Cos(float64(k) * math.Pi * (float64(j) + 0.5) / chebPoints)
		}
	}
	return r
})

func (c *pnbdCurve) reset(m *ParetoNBD, x, T float64) {
	c.k, c.aT, c.bT, c.s = m.R+x, m.Alpha+T, m.Beta+T, m.S
	c.c = c.aT / c.bT
	c.h = math.Min(0.5, 1/(c.k+math.Max(1, c.c)))
	c.vmax = math.Log1p(MaxNextPurchaseFactor)
	c.v = append(c.v[:0], 0)
	c.n = append(c.n[:0], 1)
	c.cheb = c.cheb[:0]
}

func (c *pnbdCurve) gAt(v float64) float64 {
	return c.k * math.Exp(-c.k*v-c.s*math.Log1p(c.c*math.Expm1(v)))
}

// integral is ∫_a^b g by the 8-point rule.
func (c *pnbdCurve) integral(a, b float64) float64 {
	q := gl8()
	mid, half := (a+b)/2, (b-a)/2
	s := 0.0
	for i := range q.x {
		s += q.w[i] * c.gAt(mid+half*q.x[i])
	}
	return s * half
}

// extend adds one table point; false when the table already reaches vmax.
func (c *pnbdCurve) extend() bool {
	i := len(c.n) - 1
	a := c.v[i]
	if a >= c.vmax {
		return false
	}
	b := math.Min(float64(i+1)*c.h, c.vmax)
	n := c.n[i]
	if c.gAt(a)*(c.vmax-a) < 1e-18 { // g decreasing: N stays put to the end
		b = c.vmax
	} else {
		n -= c.integral(a, b)
	}
	c.v = append(c.v, b)
	c.n = append(c.n, n)
	c.cheb = append(c.cheb, make([]float64, chebLen)...)
	c.cheb[i*chebLen] = math.NaN()
	return true
}

// at is N at time t (noPurchaseIfAlive(t, x, T)), for 0 <= t <= MaxNextPurchaseFactor (alpha+T).
func (c *pnbdCurve) at(t float64) float64 {
	if !(t > 0) {
		return 1
	}
	v := math.Min(math.Log1p(t/c.aT), c.vmax)
	i := int(v / c.h)
	for len(c.n) <= i+1 && c.extend() {
	}
	i = min(i, len(c.n)-1)
	for c.v[i] > v {
		i--
	}
	return clamp01(c.n[i] - c.integral(c.v[i], v))
}

func clamp01(v float64) float64 { return math.Min(math.Max(v, 0), 1) }

// model returns step i's Chebyshev model: b_0..b_16 of the antiderivative G of g's interpolant
// in s in [-1, 1] (v = mid + half s), and G(-1); N(v) = n_i - half (G(s) - G(-1)).
func (c *pnbdCurve) model(i int) []float64 {
	m := c.cheb[i*chebLen : (i+1)*chebLen]
	if !math.IsNaN(m[0]) {
		return m
	}
	mid, half := (c.v[i]+c.v[i+1])/2, (c.v[i+1]-c.v[i])/2
	cs := chebCos()
	var g [chebPoints]float64
	for j := range g {
		g[j] = c.gAt(mid + half*cs[1][j]) // nodes cos(pi (j+1/2)/16)
	}
	var a [chebPoints + 2]float64 // g ~ a_0/2 + sum a_k T_k
	for k := 0; k < chebPoints; k++ {
		s := 0.0
		for j := range g {
			s += g[j] * cs[k][j]
		}
		a[k] = 2 * s / chebPoints
	}
	// ∫ (a_0/2 + sum a_k T_k) ds = sum_{k>=1} (a_{k-1} - a_{k+1})/(2k) T_k (+ const); a_0 enters
	// as a full a_0 in k = 1 (a_0/2 T_0 integrates to a_0/2 T_1).
	m[0] = 0
	for k := 1; k <= chebPoints; k++ {
		prev := a[k-1]
		m[k] = (prev - a[k+1]) / (2 * float64(k))
	}
	m[chebLen-1] = 0
	m[chebLen-1] = chebEval(m[:chebPoints+1], -1)
	return m
}

// chebEvalDeriv is sum_k b_k T_k(s) and its derivative in s.
func chebEvalDeriv(b []float64, s float64) (f, df float64) {
	// T_k' = k U_{k-1}; Clenshaw for both
	var b1, b2, d1, d2 float64
	for k := len(b) - 1; k >= 1; k-- {
		b1, b2 = 2*s*b1-b2+b[k], b1
		d1, d2 = 2*s*d1-d2+float64(k)*b[k], d1
	}
	return s*b1 - b2 + b[0], d1
}

// solve is timeToNoPurchase(n, x, T): the t with N(t) = n, NaN when N stays above n up to
// MaxNextPurchaseFactor (alpha+T).
func (c *pnbdCurve) solve(n float64) float64 {
	if !(n > 0 && n < 1) {
		return math.NaN()
	}
	for clamp01(c.n[len(c.n)-1]) > n {
		if !c.extend() {
			return math.NaN()
		}
	}
	// the first table point at or below n; N is non-increasing and N(0) = 1 > n
	j, _ := slices.BinarySearchFunc(c.n, n, func(e, t float64) int { return -cmp.Compare(e, t) })
	i := j - 1 // n(i) > n >= n(i+1)
	m := c.model(i)
	b, g1 := m[:chebPoints+1], m[chebLen-1]
	half := (c.v[i+1] - c.v[i]) / 2
	// f(s) = n_i - half (G(s) - G(-1)) - n, decreasing; safeguarded Newton on [lo, hi]
	lo, hi := -1.0, 1.0
	f0, f1 := c.n[i]-n, c.n[i+1]-n
	s := -1 + 2*f0/(f0-f1)
	for it := 0; it < 60; it++ {
		G, dG := chebEvalDeriv(b, s)
		f := c.n[i] - half*(G-g1) - n
		if f == 0 {
			break
		}
		if f > 0 {
			lo = s
		} else {
			hi = s
		}
		ns := s + f/(half*dG)
		if !(ns > lo && ns < hi) {
			ns = (lo + hi) / 2
		}
		done := math.Abs(ns-s) <= 1e-15 || hi-lo <= 1e-15
		s = ns
		if done {
			break
		}
	}
	return c.aT * math.Expm1(c.v[i]+half*(s+1))
}

// groupByPair returns the row indexes grouped by pair (a counting sort: pairs in the order of
// their index, which xtPairs gives in order of first appearance; rows in their order within a
// pair).
func groupByPair(pairOf []int32, pairs int) []int32 {
	next := make([]int32, pairs+1)
	for _, j := range pairOf {
		next[j+1]++
	}
	for j := range pairs {
		next[j+1] += next[j]
	}
	order := make([]int32, len(pairOf))
	for i, j := range pairOf {
		order[next[j]] = int32(i)
		next[j]++
	}
	return order
}
