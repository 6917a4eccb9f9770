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
	m, isPNBD := pm.(*ParetoNBD)
	if !isPNBD {
		out = make([]Outlook, len(rows))
		for i, r := range rows {
			if out[i], ok = CustomerOutlook(pm, r.X, r.Tx, r.T, w); !ok {
				return nil, false
			}
		}
		return out, true
	}
	order := make([]int32, len(rows))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		ra, rb := &rows[a], &rows[b]
		if c := cmp.Compare(ra.X, rb.X); c != 0 {
			return c
		}
		return cmp.Compare(ra.T, rb.T)
	})
	out = make([]Outlook, len(rows))
	var c pnbdCurve
	var noPurchaseW float64
	for j, i := range order {
		r := rows[i]
		if j == 0 || r.X != rows[order[j-1]].X || r.T != rows[order[j-1]].T {
			c.reset(m, r.X, r.T)
			noPurchaseW = c.at(w)
		}
		pa := m.ProbabilityAlive(r.X, r.Tx, r.T)
		o := Outlook{
			AliveAfter:   pa * m.survivalIfAlive(w, r.X, r.T),
			NoPurchase:   1 - pa + pa*noPurchaseW,
			NextPurchase: math.NaN(),
		}
		if pa > MinAliveForNextPurchase {
			o.NextPurchase = c.solve(1 - 1/(2*pa))
		}
		out[i] = o
	}
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
//	N(v) = 1 - ∫_0^v g,  g(v) = k e^{-k v} ((beta+T)/(beta+T+u(v)))^s,  k = r+x, u(v) = (alpha+T)(e^v - 1).
//
// The table holds N at v = 0, h, 2h, ... (extended lazily, never beyond v(MaxNextPurchaseFactor
// (alpha+T))), each step an 8-point Gauss-Legendre integral of g; h <= 1/(k + max(1, (alpha+T)/
// (beta+T))) keeps g within a factor e over a step and the step well inside g's region of
// analyticity, so each step is exact to rounding (~1e-15). Between table points N is the table
// value minus one more 8-point integral, and the median is found by safeguarded Newton steps
// (N' = -g is exact), starting from the cubic Hermite interpolant of the step.
type pnbdCurve struct {
	k, aT, bT, s, c float64
	h, vmax         float64
	n, g            []float64 // N and g at v = i h (the last point may be vmax)
}

func (c *pnbdCurve) reset(m *ParetoNBD, x, T float64) {
	c.k, c.aT, c.bT, c.s = m.R+x, m.Alpha+T, m.Beta+T, m.S
	c.c = c.aT / c.bT
	c.h = math.Min(0.5, 1/(c.k+math.Max(1, c.c)))
	c.vmax = math.Log1p(MaxNextPurchaseFactor)
	c.n = append(c.n[:0], 1)
	c.g = append(c.g[:0], c.gAt(0))
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

func (c *pnbdCurve) vAt(i int) float64 { return math.Min(float64(i)*c.h, c.vmax) }

// extend adds one table point; false when the table already reaches vmax.
func (c *pnbdCurve) extend() bool {
	i := len(c.n) - 1
	a := c.vAt(i)
	if a >= c.vmax {
		return false
	}
	b := c.vAt(i + 1)
	c.n = append(c.n, c.n[i]-c.integral(a, b))
	c.g = append(c.g, c.gAt(b))
	return true
}

// nAt is N(v) for v in table step i.
func (c *pnbdCurve) nAt(i int, v float64) float64 {
	return c.n[i] - c.integral(c.vAt(i), v)
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
	return clamp01(c.nAt(i, v))
}

func clamp01(v float64) float64 { return math.Min(math.Max(v, 0), 1) }

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
	lo, hi := c.vAt(i), c.vAt(i+1)
	// cubic Hermite on the step in s in [0, 1]: start from its root by a few Newton steps
	d := hi - lo
	n0, n1, d0, d1 := c.n[i]-n, c.n[i+1]-n, -c.g[i]*d, -c.g[i+1]*d
	s := n0 / (n0 - n1)
	for it := 0; it < 4; it++ {
		s2, s3 := s*s, s*s*s
		f := (2*s3-3*s2+1)*n0 + (s3-2*s2+s)*d0 + (-2*s3+3*s2)*n1 + (s3-s2)*d1
		df := (6*s2-6*s)*n0 + (3*s2-4*s+1)*d0 + (-6*s2+6*s)*n1 + (3*s2-2*s)*d1
		if !(df < 0) {
			break
		}
		s = math.Min(math.Max(s-f/df, 0), 1)
	}
	v := lo + s*d
	// safeguarded Newton on the exact N; [a, b] brackets the root
	a, b := lo, hi
	for it := 0; it < 50; it++ {
		f := c.nAt(i, v) - n
		if f == 0 {
			break
		}
		if f > 0 {
			a = v
		} else {
			b = v
		}
		step := f / c.gAt(v) // N' = -g
		nv := v + step
		if !(nv > a && nv < b) {
			nv = (a + b) / 2
		}
		if math.Abs(nv-v) <= 1e-14*math.Max(1, v) || b-a <= 1e-15*math.Max(1, b) {
			v = nv
			break
		}
		v = nv
	}
	return c.aT * math.Expm1(v)
}
