package ltv

import (
	"fmt"
	"math"
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
}

func newCLVPrep(rows []RFM, cfg CLVConfig, factorized bool) *clvPrep {
	p := &clvPrep{cfg: cfg}
	p.unique, p.index = Compress(rows)
	if factorized {
		p.tb = newRowTables(p.unique)
		p.pairs, p.pairIdx = xtPairs(p.unique)
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
// draws run serially inside parallel draws.
func (p *clvPrep) terms(pm PurchaseModel, rt *rowTerms, parallel bool) {
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
		run(len(p.pairs), 64, func(lo, hi, _ int) {
			for i := lo; i < hi; i++ {
				x, T := p.pairs[i].X, p.pairs[i].T
				prev, disc, alive := 0.0, 0.0, 0.0
				for m := 1; m <= H; m++ {
					g := f.expectedIfAlive(float64(m)*ppm, x, T)
					if g < prev { // E[X(m)] is non-decreasing; guard against rounding
						g = prev
					}
					disc += (g - prev) * p.discount[m-1]
					prev = g
					if withCost {
						alive += f.survivalIfAlive(float64(m-1)*ppm, x, T) * p.discount[m-1]
					}
				}
				rt.pairExp[i], rt.pairDisc[i], rt.pairAlive[i] = prev, disc, alive
			}
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
		for u := range p.unique {
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
// once per unique (X, T)), spread over GOMAXPROCS goroutines.
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
	_, factorized := pm.(aliveFactorizer)
	p := newCLVPrep(rows, cfg, factorized)
	var rt rowTerms
	p.terms(pm, &rt, true)
	margin, cost := cfg.GrossMargin, cfg.MonthlyRetentionCost
	parallelFor(len(rows), 32768, func(lo, hi, _ int) {
		for i := lo; i < hi; i++ {
			u := p.index[i]
			spend := finiteOr(sm.ExpectedSpend(rows[i].X, monetary[i]), 0)
			out[i] = CustomerValue{
				ExpectedPurchases: rt.expected[u],
				ProbabilityAlive:  rt.pa[u],
				ExpectedSpend:     spend,
				CLV:               margin*spend*rt.discPurchases[u] - cost*rt.discAlive[u],
			}
		}
	})
	return nil
}
