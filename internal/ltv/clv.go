package ltv

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// CLVConfig sets how future purchases become customer lifetime value.
//
// CLV = sum over months m = 1..HorizonMonths of
//
//	GrossMargin * E[spend] * (E[X(m)] - E[X(m-1)]) / (1+d)^m  -  MonthlyRetentionCost * P(alive at the start of month m) / (1+d)^m
//
// where E[X(m)] is the model's conditional expected number of purchases over the first m months,
// i.e. ExpectedPurchases(m*PeriodsPerMonth, x, tx, T) in the data's time unit, d = (1+AnnualDiscountRate)^(1/12) - 1
// is the monthly discount rate, and E[spend] the spend model's expected value per transaction.
//
// Retention cost: every month the business spends MonthlyRetentionCost on each customer it still has;
// the expected cost of month m is that amount times the probability that the customer is alive at the
// start of month m, P(alive at T) * P(survives the first m-1 months | alive at T), paid (like the
// month's margin) at the end of the month and discounted by (1+d)^m. BG/NBD and MBG/NBD compute the
// survival exactly (posterior lambda and p, deaths at purchases); a model that does not provide a
// survival function (see aliveFactorizer) keeps P(alive at T) for every month, which overstates the
// cost of customers who are likely to leave.
type CLVConfig struct {
	HorizonMonths        int
	PeriodsPerMonth      float64 // data time units per month: 365.25/12/7 for weeks, 365.25/12 for days, 1 for months
	AnnualDiscountRate   float64
	GrossMargin          float64
	MonthlyRetentionCost float64
}

// Validate reports a configuration that cannot be computed.
func (c CLVConfig) Validate() error {
	switch {
	case c.HorizonMonths < 1 || c.HorizonMonths > 1200:
		return fmt.Errorf("horizon of %d months is outside 1..1200", c.HorizonMonths)
	case !(c.PeriodsPerMonth > 0) || math.IsInf(c.PeriodsPerMonth, 0):
		return fmt.Errorf("periods per month %g must be positive", c.PeriodsPerMonth)
	case !(c.AnnualDiscountRate > -1) || math.IsInf(c.AnnualDiscountRate, 0):
		return fmt.Errorf("annual discount rate %g must be finite and above -1", c.AnnualDiscountRate)
	case !(c.GrossMargin >= 0) || math.IsInf(c.GrossMargin, 0):
		return fmt.Errorf("gross margin %g must be finite and non-negative", c.GrossMargin)
	case !(c.MonthlyRetentionCost >= 0) || math.IsInf(c.MonthlyRetentionCost, 0):
		return fmt.Errorf("monthly retention cost %g must be finite and non-negative", c.MonthlyRetentionCost)
	}
	return nil
}

// MonthlyDiscountRate is (1+AnnualDiscountRate)^(1/12) - 1.
func (c CLVConfig) MonthlyDiscountRate() float64 {
	return math.Pow(1+c.AnnualDiscountRate, 1.0/12) - 1
}

// CustomerValue is one customer's prediction.
type CustomerValue struct {
	// ExpectedPurchases over the horizon (HorizonMonths*PeriodsPerMonth time units).
	ExpectedPurchases float64
	// ProbabilityAlive at the end of observation.
	ProbabilityAlive float64
	// ExpectedSpend per future transaction.
	ExpectedSpend float64
	// CLV is the discounted margin over the horizon minus discounted retention costs (see CLVConfig).
	CLV float64
}

// clvPrep is the data-dependent work shared by predictions and uncertainty draws: unique rows, their
// (x, T) pairs, per-value tables and the discount factors.
type clvPrep struct {
	cfg      CLVConfig
	unique   []RFM
	index    []int32 // customer -> unique row
	tb       *rowTables
	pairs    []RFM
	pairIdx  []int32   // unique row -> pair
	discount []float64 // discount[m-1] = (1+d)^-m
	sumDisc  float64
	xs       []float64 // distinct x of the unique rows
	uxi      []int32   // unique row -> index into xs
}

func newCLVPrep(cells Cells, cfg CLVConfig, factorized bool) *clvPrep {
	return newCLVPrepWith(cells, cfg, factorized, nil)
}

// newCLVPrepWith is newCLVPrep with the cells' row tables when they are known already (tb, built
// by newRowTables from these very rows; nil when not).
func newCLVPrepWith(cells Cells, cfg CLVConfig, factorized bool, tb *rowTables) *clvPrep {
	p := &clvPrep{cfg: cfg}
	p.unique, p.index = cells.Rows, cells.Index
	if tb != nil {
		// the tables number the distinct x the same way, in order of first appearance
		p.uxi, p.xs = tb.xi, tb.xs
	} else {
		xd := newDistinctIndex(64)
		p.uxi = make([]int32, len(p.unique))
		for u, r := range p.unique {
			p.uxi[u] = xd.add(r.X)
		}
		p.xs = xd.values
	}
	if factorized {
		if tb == nil {
			tb = newRowTables(p.unique)
		}
		p.tb = tb
		p.pairs, p.pairIdx = xtPairs(p.unique)
		sortPairs(p.pairs, p.pairIdx)
	}
	d := cfg.MonthlyDiscountRate()
	p.discount = make([]float64, cfg.HorizonMonths)
	for m := range p.discount {
		p.discount[m] = math.Pow(1+d, -float64(m+1))
		p.sumDisc += p.discount[m]
	}
	return p
}

// rowTerms are the purchase-model quantities of the unique rows: probability alive, expected purchases
// over the horizon, discounted expected purchases sum_m (E[X(m)]-E[X(m-1)])/(1+d)^m, and discounted
// expected alive months sum_m P(alive at start of month m)/(1+d)^m.
type rowTerms struct {
	pa, expected, discPurchases, discAlive []float64
	// scratch for the factorized path, per pair
	pairExp, pairDisc, pairAlive []float64
}

func (rt *rowTerms) ensure(nUnique, nPairs int) {
	grow := func(s []float64, n int) []float64 {
		if cap(s) < n {
			return make([]float64, n)
		}
		return s[:n]
	}
	rt.pa = grow(rt.pa, nUnique)
	rt.expected = grow(rt.expected, nUnique)
	rt.discPurchases = grow(rt.discPurchases, nUnique)
	rt.discAlive = grow(rt.discAlive, nUnique)
	rt.pairExp = grow(rt.pairExp, nPairs)
	rt.pairDisc = grow(rt.pairDisc, nPairs)
	rt.pairAlive = grow(rt.pairAlive, nPairs)
}

// terms fills rt for model pm. parallel spreads the work over the CPUs (predictions); uncertainty
// draws run serially inside parallel draws. approximate lets models interpolate the per-(x, T) sums
// (relative error about 1e-9; see pairTermsInterpolated), for uncertainty draws.
func (p *clvPrep) terms(pm PurchaseModel, rt *rowTerms, parallel, approximate bool) {
	run := func(n, minChunk int, fn func(lo, hi, wk int)) {
		if parallel {
			parallelFor(n, minChunk, fn)
		} else if n > 0 {
			fn(0, n, 0)
		}
	}
	ppm := p.cfg.PeriodsPerMonth
	H := p.cfg.HorizonMonths
	withCost := p.cfg.MonthlyRetentionCost != 0
	if f, ok := pm.(aliveFactorizer); ok && p.tb != nil {
		rt.ensure(len(p.unique), len(p.pairs))
		pt, hasBatch := pm.(pairTermer)
		run(len(p.pairs), 64, func(lo, hi, _ int) {
			if hasBatch {
				pt.pairTerms(p.pairs[lo:hi], ppm, p.discount, withCost, approximate,
					rt.pairExp[lo:hi], rt.pairDisc[lo:hi], rt.pairAlive[lo:hi])
				return
			}
			pairTermsDirect(f, p.pairs[lo:hi], ppm, p.discount, withCost, rt.pairExp[lo:hi], rt.pairDisc[lo:hi], rt.pairAlive[lo:hi])
		})
		if parallel && len(p.unique) > 65536 {
			// probabilityAliveRows is serial; split the rows into per-CPU table views.
			parallelFor(len(p.unique), 65536, func(lo, hi, _ int) {
				sub := &rowTables{rows: p.tb.rows[lo:hi], xs: p.tb.xs, xi: p.tb.xi[lo:hi], times: p.tb.times,
					ti: p.tb.ti[lo:hi], txi: p.tb.txi[lo:hi]}
				f.probabilityAliveRows(sub, rt.pa[lo:hi])
			})
		} else {
			f.probabilityAliveRows(p.tb, rt.pa)
		}
		run(len(p.unique), 65536, func(lo, hi, _ int) {
			for u := lo; u < hi; u++ {
				j := p.pairIdx[u]
				pa := rt.pa[u]
				rt.expected[u] = pa * rt.pairExp[j]
				rt.discPurchases[u] = pa * rt.pairDisc[j]
				if withCost {
					rt.discAlive[u] = pa * rt.pairAlive[j]
				} else {
					rt.discAlive[u] = 0
				}
			}
		})
		return
	}
	rt.ensure(len(p.unique), 0)
	run(len(p.unique), 256, func(lo, hi, _ int) {
		for u := lo; u < hi; u++ {
			r := p.unique[u]
			pa := finiteOr(pm.ProbabilityAlive(r.X, r.Tx, r.T), 0)
			prev, disc := 0.0, 0.0
			for m := 1; m <= H; m++ {
				e := finiteOr(pm.ExpectedPurchases(float64(m)*ppm, r.X, r.Tx, r.T), prev)
				if e < prev {
					e = prev
				}
				disc += (e - prev) * p.discount[m-1]
				prev = e
			}
			rt.pa[u], rt.expected[u], rt.discPurchases[u] = pa, prev, disc
			rt.discAlive[u] = pa * p.sumDisc
		}
	})
}

// PredictCustomers computes every customer's prediction into out (len(out) == len(rows)). rows are
// per-customer summaries (X, Tx, T; Weight ignored) and monetary their mean repeat spends. The
// purchase part is computed once per unique (X, Tx, T) (for BG/NBD and MBG/NBD the special functions
// once per unique (X, T); for Pareto/NBD once per distinct (X, time) cell), spread over GOMAXPROCS
// goroutines.
func PredictCustomers(pm PurchaseModel, sm SpendModel, rows []RFM, monetary []float64, cfg CLVConfig, out []CustomerValue) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("CLV: %w", err)
	}
	if len(monetary) != len(rows) || len(out) != len(rows) {
		return fmt.Errorf("CLV: rows, monetary and out differ in length (%d, %d, %d)", len(rows), len(monetary), len(out))
	}
	if err := validateRFM("CLV", rows); err != nil {
		return err
	}
	v, err := PredictCellValues(pm, sm, NewCells(rows), monetary, cfg)
	if err != nil {
		return err
	}
	for i := range out {
		out[i] = v.Value(i)
	}
	return nil
}

// CellValues are the predictions of customers collapsed into cells, stored as compactly as
// they are computed: probability alive and expected purchases per cell, the value per customer,
// the expected spend worked out when asked (8 bytes a customer instead of a CustomerValue's 32).
type CellValues struct {
	index           []int32
	x               []float64 // per cell
	alive, expected []float64 // per cell
	clv             []float64 // per customer
	spend           SpendModel
	monetary        []float64

	// What Intervals reuses, until it has run: the models, the cells prepared for them and the
	// row terms at the fitted parameters.
	purchase PurchaseModel
	cells    Cells
	cfg      CLVConfig
	prep     *clvPrep
	terms    *rowTerms
}

// Len is the number of customers.
func (v *CellValues) Len() int { return len(v.clv) }

// CLV returns every customer's value (shared: read-only).
func (v *CellValues) CLV() []float64 { return v.clv }

// CellAlive returns each cell's probability of being alive (shared: read-only).
func (v *CellValues) CellAlive() []float64 { return v.alive }

// ProbabilityAlive returns customer i's probability of being alive.
func (v *CellValues) ProbabilityAlive(i int) float64 { return v.alive[v.index[i]] }

// Value returns customer i's prediction.
func (v *CellValues) Value(i int) CustomerValue {
	u := v.index[i]
	return CustomerValue{
		ExpectedPurchases: v.expected[u],
		ProbabilityAlive:  v.alive[u],
		ExpectedSpend:     finiteOr(v.spend.ExpectedSpend(v.x[u], v.monetary[i]), 0),
		CLV:               v.clv[i],
	}
}

// PredictCellValues computes the customers' predictions (see PredictCustomers) as CellValues,
// which keep cells.Index and monetary.
func PredictCellValues(pm PurchaseModel, sm SpendModel, cells Cells, monetary []float64, cfg CLVConfig) (*CellValues, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("CLV: %w", err)
	}
	n := len(cells.Index)
	if len(monetary) != n {
		return nil, fmt.Errorf("CLV: rows, monetary and out differ in length (%d, %d, %d)", n, len(monetary), n)
	}
	if err := validateRFM("CLV", cells.Rows); err != nil {
		return nil, err
	}
	_, factorized := pm.(aliveFactorizer)
	p := newCLVPrepWith(cells, cfg, factorized, fittedTables(pm, cells.Rows))
	var rt rowTerms
	p.terms(pm, &rt, true, false)
	v := &CellValues{index: cells.Index, alive: rt.pa, expected: rt.expected, clv: make([]float64, n),
		spend: sm, monetary: monetary, x: make([]float64, len(cells.Rows)),
		purchase: pm, cells: cells, cfg: cfg, prep: p, terms: &rt}
	for u, r := range cells.Rows {
		v.x[u] = r.X
	}
	margin, cost := cfg.GrossMargin, cfg.MonthlyRetentionCost
	parallelFor(n, 32768, func(lo, hi, _ int) {
		for i := lo; i < hi; i++ {
			u := p.index[i]
			spend := finiteOr(sm.ExpectedSpend(v.x[u], monetary[i]), 0)
			v.clv[i] = margin*spend*rt.discPurchases[u] - cost*rt.discAlive[u]
		}
	})
	return v, nil
}

// fittedTables returns the row tables pm was fitted on when they are those of rows (the same
// rows, not a copy): the predictions on the cells a model was fitted on need not build them again.
func fittedTables(pm PurchaseModel, rows []RFM) *rowTables {
	m, ok := pm.(*betaGeo)
	if !ok || m.tables == nil || len(m.tables.rows) != len(rows) || len(rows) == 0 || &m.tables.rows[0] != &rows[0] {
		return nil
	}
	return m.tables
}

// Intervals is CellIntervals for these predictions' models, cells and configuration. The first
// call reuses what the predictions prepared (the cells' tables and the exact row terms at the
// fitted parameters, so the points and the bounds' centres are the predictions themselves) and
// then lets it go; a later call prepares it again.
func (v *CellValues) Intervals(groups []IntervalRequest, draws int, seed int64, level float64) ([]Interval, *CustomerBounds, error) {
	prep, terms := v.prep, v.terms
	v.prep, v.terms = nil, nil
	if prep == nil {
		_, factorized := v.purchase.(aliveFactorizer)
		prep = newCLVPrep(v.cells, v.cfg, factorized)
	}
	return intervalsOn(v.purchase, v.spend, prep, terms, v.monetary, v.cfg, groups, draws, seed, level, true)
}

// sortPairs orders the (x, T) pairs by x, then T (runs of one x for interpolation), and renumbers idx.
func sortPairs(pairs []RFM, idx []int32) {
	order := make([]int32, len(pairs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int {
		a, b := pairs[i], pairs[j]
		if c := cmp.Compare(a.X, b.X); c != 0 {
			return c
		}
		return cmp.Compare(a.T, b.T)
	})
	sorted := make([]RFM, len(pairs))
	newPos := make([]int32, len(pairs))
	for k, i := range order {
		sorted[k] = pairs[i]
		newPos[i] = int32(k)
	}
	copy(pairs, sorted)
	for u, j := range idx {
		idx[u] = newPos[j]
	}
}

// pairTermer is an optional batch form of the per-(x, T) sums of rowTerms, so that a model can use
// its own shortcuts (betaGeo interpolates when approximate).
type pairTermer interface {
	pairTerms(pairs []RFM, ppm float64, discount []float64, withCost, approximate bool, expected, disc, alive []float64)
}

// pairTermsDirect computes for each (x, T) pair, from the model's alive-conditional functions,
// the expected purchases over the horizon (len(discount) months of ppm periods), the discounted
// expected purchases sum_m (G(m)-G(m-1)) discount[m-1] and, when withCost, the discounted survival
// sum_m S(m-1) discount[m-1].
func pairTermsDirect(f aliveFactorizer, pairs []RFM, ppm float64, discount []float64, withCost bool, expected, disc, alive []float64) {
	for i, pr := range pairs {
		x, T := pr.X, pr.T
		prev, d, a := 0.0, 0.0, 0.0
		for m := 1; m <= len(discount); m++ {
			g := f.expectedIfAlive(float64(m)*ppm, x, T)
			if g < prev { // E[X(m)] is non-decreasing; guard against rounding
				g = prev
			}
			d += (g - prev) * discount[m-1]
			prev = g
			if withCost {
				a += f.survivalIfAlive(float64(m-1)*ppm, x, T) * discount[m-1]
			}
		}
		expected[i], disc[i], alive[i] = prev, d, a
	}
}

// pairTermsInterpolated is pairTermsDirect for pairs sorted by (x, T), interpolating over T within
// each run of one x. The sums are analytic functions of u = log(shift+T) whose singularities lie at
// imaginary distance pi from the real axis when the model's conditional expectations have the form
// E_p[h(p t/(shift+T))] (BG/NBD: shift = alpha), so a Chebyshev interpolant in u with N nodes errs by
// about rho^-N, rho = h + sqrt(h^2+1), h = 2 pi/(u_max-u_min). N is chosen for 1e-9 (the bound is
// pessimistic: tests measure below 1e-10) and the run is
// computed directly when that needs as many evaluations as the run has pairs.
func pairTermsInterpolated(f aliveFactorizer, shift float64, pairs []RFM, ppm float64, discount []float64, withCost bool, expected, disc, alive []float64) {
	for lo := 0; lo < len(pairs); {
		hi := lo + 1
		for hi < len(pairs) && pairs[hi].X == pairs[lo].X {
			hi++
		}
		run := pairs[lo:hi]
		e, d, a := expected[lo:hi], disc[lo:hi], alive[lo:hi]
		lo = hi
		umin, umax := math.Log(shift+run[0].T), math.Log(shift+run[len(run)-1].T)
		span := umax - umin
		n := len(run)
		nodes := n
		if span > 0 {
			h := 2 * math.Pi / span
			rho := h + math.Sqrt(h*h+1)
			nodes = int(math.Ceil(math.Log(1e9)/math.Log(rho))) + 2
		}
		if !(span > 0) || nodes >= n || nodes > 96 {
			pairTermsDirect(f, run, ppm, discount, withCost, e, d, a)
			continue
		}
		mid, half := (umax+umin)/2, span/2
		at := make([]RFM, nodes)
		for j := range at {
			xi := math.Cos(math.Pi * (float64(j) + 0.5) / float64(nodes))
			at[j] = RFM{X: run[0].X, T: math.Max(math.Exp(mid+half*xi)-shift, 0)}
		}
		fe, fd, fa := make([]float64, nodes), make([]float64, nodes), make([]float64, nodes)
		pairTermsDirect(f, at, ppm, discount, withCost, fe, fd, fa)
		ce, cd, ca := chebCoefficients(fe), chebCoefficients(fd), chebCoefficients(fa)
		for i, pr := range run {
			xi := (math.Log(shift+pr.T) - mid) / half
			e[i] = math.Max(chebEval(ce, xi), 0)
			d[i] = math.Max(chebEval(cd, xi), 0)
			if withCost {
				a[i] = math.Max(chebEval(ca, xi), 0)
			} else {
				a[i] = 0
			}
		}
	}
}

// chebCoefficients returns the Chebyshev coefficients of the interpolant through values at the
// first-kind nodes cos(pi (j+1/2)/n), with the first coefficient halved.
func chebCoefficients(values []float64) []float64 {
	n := len(values)
	c := make([]float64, n)
	for k := range c {
		var s float64
		for j, v := range values {
			s += v * math.Cos(math.Pi*float64(k)*(float64(j)+0.5)/float64(n))
		}
		c[k] = 2 * s / float64(n)
	}
	c[0] /= 2
	return c
}

// chebEval evaluates sum_k c[k] T_k(x) by Clenshaw's recurrence.
func chebEval(c []float64, x float64) float64 {
	var b1, b2 float64
	for k := len(c) - 1; k >= 1; k-- {
		b1, b2 = 2*x*b1-b2+c[k], b1
	}
	return x*b1 - b2 + c[0]
}
