package ltv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/ltv-operator/ltv-operator/internal/memadvise"
	"gonum.org/v1/gonum/stat/distuv"
)

// IntervalRequest names a subset of customers (indexes into the rows passed to AverageCLVIntervals).
// Members == nil means every customer; an empty non-nil slice is an empty group.
type IntervalRequest struct {
	Name    string
	Members []int32
}

// Interval is an uncertainty interval for a group's average CLV. Point is the average at the fitted
// parameters (equal to the mean of PredictCustomers' CLVs over the group). An empty group has
// Customers == 0 and zero values.
type Interval struct {
	Name      string
	Customers int
	Point     float64
	Low, High float64
}

// DefaultIntervalDraws is the number of parameter draws used when draws <= 0.
const DefaultIntervalDraws = 200

// AverageCLVIntervals returns, for each group, a level (e.g. 0.9) interval of the group's average CLV
// reflecting the uncertainty of the fitted parameters: a parametric bootstrap that draws
// log-parameters of both models from N(log theta_hat, LogCovariance), recomputes the average CLV of
// every group for each draw and takes the (1-level)/2 and (1+level)/2 quantiles of the draws.
//
// The interval reflects the estimation uncertainty of the parameters only, not the randomness of the
// customers' future purchases: it says how well the data pin down the expected average CLV. Both
// models' draws are independent (their likelihoods share no parameters).
//
// All groups share the draws and the expensive per-draw work (special functions per unique (x, T),
// interpolated over T for BG/NBD and MBG/NBD to a relative error below 1e-9; probabilities per unique
// (x, tx, T)); a group then costs one pass over its distinct rows per draw. Draws run in parallel;
// the result depends only on the inputs and seed.
//
// Up to IntervalSampleRows unique rows every draw is evaluated on all unique rows, exactly as the
// point estimate. Pareto/NBD's P(alive) needs a hypergeometric series per row; it is computed once
// per distinct (x, time) cell of the rows (see ParetoNBD.probabilityAliveRows, equal to
// ProbabilityAlive up to rounding) and its horizon sums once per distinct T. Rows with
// continuous times share no cells and are computed one by one.
//
// Beyond IntervalSampleRows unique rows (large data, where the parameters are tight and the average
// is close to linear in them) the interval is the delta method instead, at a cost independent of the
// number of customers: point +- z sd, sd^2 = g' Sigma g with Sigma each model's LogCovariance and g
// the gradient of the group's average with respect to the log-parameters, by central differences
// (14 evaluations for BG/NBD + Gamma-Gamma instead of 200 draws), each on a weighted sample of about
// IntervalSampleRows of the group's rows (see sampleGroups); the point is still the average over
// every row. It agrees with the 200-draw bootstrap within that bootstrap's Monte Carlo error
// (TestDeltaIntervalAgreesWithBootstrap: within 4% of the width of a 4000-draw bootstrap on CDNOW
// and a simulated shop); it is symmetric and does not depend on the seed.
//
// draws <= 0 means DefaultIntervalDraws, level 0
// means 0.9. Parameter draws outside the models' domain (e.g. Gamma-Gamma q <= 1) are redrawn. It
// fails when a model has no LogCovariance (its Hessian was not positive definite), naming the model.
func AverageCLVIntervals(pm PurchaseModel, sm SpendModel, rows []RFM, monetary []float64, cfg CLVConfig,
	groups []IntervalRequest, draws int, seed int64, level float64) ([]Interval, error) {
	if err := validateRFM("CLV interval", rows); err != nil {
		return nil, err
	}
	out, _, err := clvIntervals(pm, sm, NewCells(rows), monetary, cfg, groups, draws, seed, level, false)
	return out, err
}

// CustomerBounds are every customer's bounds of predicted CLV (indexes as the rows), see CLVIntervals.
type CustomerBounds struct {
	Low, High []float64
}

// CLVIntervals is AverageCLVIntervals plus every customer's level interval of predicted CLV, from
// the same parameter uncertainty and the same method:
//
//   - up to IntervalSampleRows unique rows, the (1-level)/2 and (1+level)/2 quantiles (type 7, as
//     the groups) of the customer's CLV over the same parameter draws. The draws' row terms are kept
//     per unique row (unique rows x draws, at most IntervalSampleRows x draws, about 52 MB at 200
//     draws with a retention cost, half without) and the quantiles are computed once per distinct
//     cell (unique row, clamped mean spend): cells x draws, never customers x draws;
//   - beyond, the delta method per customer: CLV +- z sd with sd^2 = g' Sigma g summed over both
//     models, g the gradient of the customer's CLV with respect to the log-parameters. With
//     Sigma = L L' (Cholesky), g' Sigma g = sum_k (g . L_k)^2, and g . L_k is the derivative along
//     the column L_k, taken by central differences of a tenth of that column (a tenth of a standard
//     error, as AverageCLVIntervals' delta method) on every unique row: 2 evaluations of the row
//     terms per purchase parameter, whatever the number of customers, and three sums per unique row
//     (and per distinct x for the spend model). Without a retention cost the CLV cannot be negative
//     and the lower bound is clipped at 0.
//
// Beyond IntervalSampleRows the groups' intervals come from the same passes: a group's average is
// the mean of its customers' CLVs, so its derivative along each column L_k is the mean of theirs,
// over every row (AverageCLVIntervals estimates it on a sample instead); the two agree within the
// sample's error.
//
// Like the groups' intervals, the bounds reflect the parameters' estimation uncertainty only, not
// the randomness of the customer's own future purchases (which is far wider for one customer).
func CLVIntervals(pm PurchaseModel, sm SpendModel, rows []RFM, monetary []float64, cfg CLVConfig,
	groups []IntervalRequest, draws int, seed int64, level float64) ([]Interval, *CustomerBounds, error) {
	if err := validateRFM("CLV interval", rows); err != nil {
		return nil, nil, err
	}
	return clvIntervals(pm, sm, NewCells(rows), monetary, cfg, groups, draws, seed, level, true)
}

// CellIntervals is CLVIntervals for customers already collapsed into cells (see PredictCellValues).
func CellIntervals(pm PurchaseModel, sm SpendModel, cells Cells, monetary []float64, cfg CLVConfig,
	groups []IntervalRequest, draws int, seed int64, level float64) ([]Interval, *CustomerBounds, error) {
	if err := validateRFM("CLV interval", cells.Rows); err != nil {
		return nil, nil, err
	}
	return clvIntervals(pm, sm, cells, monetary, cfg, groups, draws, seed, level, true)
}

func clvIntervals(pm PurchaseModel, sm SpendModel, cells Cells, monetary []float64, cfg CLVConfig,
	groups []IntervalRequest, draws int, seed int64, level float64, perCustomer bool) ([]Interval, *CustomerBounds, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("CLV interval: %w", err)
	}
	n := len(cells.Index)
	if len(monetary) != n {
		return nil, nil, fmt.Errorf("CLV interval: rows and monetary differ in length (%d, %d)", n, len(monetary))
	}
	_, factorized := pm.(aliveFactorizer)
	return intervalsOn(pm, sm, newCLVPrep(cells, cfg, factorized), nil, monetary, cfg, groups, draws, seed, level, perCustomer)
}

// intervalsOn is clvIntervals on a prepared set of rows (newCLVPrep of the cells, for pm) and,
// when not nil, the row terms at the fitted parameters (else they are computed, interpolated as
// the draws').
func intervalsOn(pm PurchaseModel, sm SpendModel, prep *clvPrep, rt0 *rowTerms, monetary []float64, cfg CLVConfig,
	groups []IntervalRequest, draws int, seed int64, level float64, perCustomer bool) ([]Interval, *CustomerBounds, error) {
	n := len(prep.index)
	if draws <= 0 {
		draws = DefaultIntervalDraws
	}
	if level == 0 {
		level = 0.9
	}
	if !(level > 0 && level < 1) {
		return nil, nil, fmt.Errorf("CLV interval: level %g is outside (0, 1)", level)
	}
	for _, g := range groups {
		for _, i := range g.Members {
			if i < 0 || int(i) >= n {
				return nil, nil, fmt.Errorf("CLV interval: group %q: customer index %d out of range", g.Name, i)
			}
		}
	}

	rng := rand.New(rand.NewPCG(uint64(seed), 0x6c74762d696e7476))
	pDraws, err := drawLogNormal(pm.Fit(), draws, rng, func([]float64) bool { return true })
	if err != nil {
		return nil, nil, err
	}
	sDraws, err := drawLogNormal(sm.Fit(), draws, rng, func(p []float64) bool {
		return sm.Fit().Model != "GammaGamma" || p[1] > 1
	})
	if err != nil {
		return nil, nil, err
	}

	_, linear := sm.(linearSpender)
	gs := buildGroups(prep, groups, monetary, linear, n)

	// Column 0 is the point estimate, columns 1..draws the draws.
	values := make([][]float64, len(groups))
	for g := range values {
		values[g] = make([]float64, draws+1)
	}
	// The point estimate, on every unique row.
	if rt0 == nil {
		rt0 = &rowTerms{}
		prep.terms(pm, rt0, true, true)
	}
	spendA0 := make([]float64, len(prep.xs))
	spendB0 := make([]float64, len(prep.xs))
	fillSpend(sm, linear, prep.xs, spendA0, spendB0)
	for g := range gs {
		values[g][0] = gs[g].average(prep, rt0, sm, spendA0, spendB0, cfg)
	}
	if len(prep.unique) > IntervalSampleRows {
		if !perCustomer {
			out, err := deltaIntervals(pm, sm, prep, rt0, gs, groups, values, linear, spendA0, spendB0, cfg, level, rng)
			return out, nil, err
		}
		points := make([]float64, len(gs))
		for g := range gs {
			points[g] = values[g][0]
		}
		return deltaBounds(pm, sm, prep, rt0, gs, groups, points, monetary, linear, spendA0, spendB0, cfg, level)
	}
	var store *drawStore
	if perCustomer {
		store = newDrawStore(prep, draws, linear, cfg.MonthlyRetentionCost != 0)
	}
	eval := func(k int, rt *rowTerms, spendA, spendB []float64) {
		p, s := pm.WithParams(pDraws[k-1]), sm.WithParams(sDraws[k-1])
		prep.terms(p, rt, false, true)
		fillSpend(s, linear, prep.xs, spendA, spendB)
		for g := range gs {
			values[g][k] = gs[g].average(prep, rt, s, spendA, spendB, cfg)
		}
		if store != nil {
			store.keep(k-1, rt, s, spendA, spendB)
		}
	}
	nw := workers()
	next := make(chan int, draws)
	for k := 1; k <= draws; k++ {
		next <- k
	}
	close(next)
	var wg sync.WaitGroup
	for w := 0; w < nw; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rt rowTerms
			spendA := make([]float64, len(prep.xs))
			spendB := make([]float64, len(prep.xs))
			for k := range next {
				eval(k, &rt, spendA, spendB)
			}
		}()
	}
	wg.Wait()

	out := make([]Interval, len(groups))
	lo, hi := (1-level)/2, (1+level)/2
	for g := range groups {
		out[g] = Interval{Name: groups[g].Name, Customers: gs[g].customers}
		if gs[g].customers == 0 {
			continue
		}
		v := values[g]
		for k, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, nil, fmt.Errorf("CLV interval: group %q: average CLV is not finite in draw %d", groups[g].Name, k)
			}
		}
		out[g].Point = v[0]
		d := append([]float64(nil), v[1:]...)
		sort.Float64s(d)
		out[g].Low, out[g].High = quantileSorted(d, lo), quantileSorted(d, hi)
	}
	if store == nil {
		return out, nil, nil
	}
	return out, store.bounds(prep, monetary, cfg, level), nil
}

// drawLogNormal draws parameter vectors exp(N(log theta_hat, LogCovariance)), redrawing those that
// valid rejects or that are not positive and finite.
func drawLogNormal(fr FitResult, n int, rng *rand.Rand, valid func([]float64) bool) ([][]float64, error) {
	l, err := logCholesky(fr)
	if err != nil {
		return nil, err
	}
	k := len(fr.Params)
	mu := make([]float64, k)
	for i, v := range fr.Params {
		mu[i] = math.Log(v)
	}
	out := make([][]float64, 0, n)
	z := make([]float64, k)
	for attempts := 0; len(out) < n; attempts++ {
		if attempts > 20*n+100 {
			return nil, fmt.Errorf("CLV interval: %s: too many parameter draws outside the model's domain", fr.Model)
		}
		for i := range z {
			z[i] = rng.NormFloat64()
		}
		p := make([]float64, k)
		ok := true
		for i := 0; i < k; i++ {
			s := mu[i]
			for j := 0; j <= i; j++ {
				s += l.At(i, j) * z[j]
			}
			p[i] = math.Exp(s)
			if !(p[i] > 0) || math.IsInf(p[i], 0) {
				ok = false
			}
		}
		if ok && valid(p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// groupEntry is a group's share of one unique row: how many of its customers have that row and, for
// affine spend models, the sum of their (clamped) mean spends; for other spend models one entry per
// customer with its own monetary value.
type groupEntry struct {
	u    int32 // unique row
	xi   int32 // its distinct x (clvPrep.xs)
	cnt  float64
	sumM float64
}

type groupAgg struct {
	entries   []groupEntry
	customers int
}

func buildGroups(prep *clvPrep, groups []IntervalRequest, monetary []float64, linear bool, n int) []groupAgg {
	out := make([]groupAgg, len(groups))
	// Groups side by side, each worker with its own slots, taking the next group when done with
	// one: the first (often every customer, as many as all the others together) keeps a worker
	// while the others share the rest.
	var next atomic.Int64
	parallelFor(min(len(groups), workers()), 1, func(_, _, _ int) {
		slot := make([]int32, len(prep.unique)) // unique row -> entry index + 1 within the current group
		for g := int(next.Add(1) - 1); g < len(groups); g = int(next.Add(1) - 1) {
			out[g] = buildGroup(prep, groups[g], monetary, linear, n, slot)
		}
	})
	return out
}

// buildGroup is one group of buildGroups; slot is all zero on entry and on return.
func buildGroup(prep *clvPrep, req IntervalRequest, monetary []float64, linear bool, n int, slot []int32) groupAgg {
	members := req.Members
	all := members == nil
	count := len(members)
	if all {
		count = n
	}
	if all && linear {
		return buildEveryone(prep, monetary, n)
	}
	agg := groupAgg{customers: count, entries: make([]groupEntry, 0, min(count, len(prep.unique)))}
	for k := 0; k < count; k++ {
		i := k
		if !all {
			i = int(members[k])
		}
		u := prep.index[i]
		m := clampMonetary(monetary[i])
		if !linear {
			agg.entries = append(agg.entries, groupEntry{u: u, xi: prep.uxi[u], cnt: 1, sumM: m})
			continue
		}
		if s := slot[u]; s > 0 {
			agg.entries[s-1].cnt++
			agg.entries[s-1].sumM += m
			continue
		}
		agg.entries = append(agg.entries, groupEntry{u: u, xi: prep.uxi[u], cnt: 1, sumM: m})
		slot[u] = int32(len(agg.entries))
	}
	for _, e := range agg.entries {
		slot[e.u] = 0
	}
	return agg
}

// buildEveryone is buildGroup for the group of every customer with an affine spend: an entry
// per unique row, in the rows' order (the order of their first customers when the cells come
// from the pipeline, as buildGroup's entries would be), filled straight from each customer's row
// number with the next customers' entries fetched ahead.
func buildEveryone(prep *clvPrep, monetary []float64, n int) groupAgg {
	entries := make([]groupEntry, len(prep.unique))
	for u := range entries {
		entries[u] = groupEntry{u: int32(u), xi: prep.uxi[u]}
	}
	const ahead = 16
	for i := range n {
		if j := i + ahead; j < n {
			memadvise.Prefetch(unsafe.Pointer(&entries[prep.index[j]]))
		}
		e := &entries[prep.index[i]]
		e.cnt++
		e.sumM += clampMonetary(monetary[i])
	}
	kept := entries[:0]
	for _, e := range entries {
		if e.cnt > 0 {
			kept = append(kept, e)
		}
	}
	return groupAgg{customers: n, entries: kept}
}

// average is the group's mean CLV for the row terms rt and spend model s.
func (g *groupAgg) average(prep *clvPrep, rt *rowTerms, s SpendModel, spendA, spendB []float64, cfg CLVConfig) float64 {
	if g.customers == 0 {
		return 0
	}
	_, linear := s.(linearSpender)
	var revenue, cost float64
	for _, e := range g.entries {
		var spend float64
		if linear {
			spend = spendA[e.xi]*e.cnt + spendB[e.xi]*e.sumM
		} else {
			spend = finiteOr(s.ExpectedSpend(prep.xs[e.xi], e.sumM), 0) * e.cnt
		}
		revenue += rt.discPurchases[e.u] * spend
		cost += rt.discAlive[e.u] * e.cnt
	}
	return (cfg.GrossMargin*revenue - cfg.MonthlyRetentionCost*cost) / float64(g.customers)
}

// deltaIntervals is the large-data interval (see AverageCLVIntervals): the delta method on the
// log-parameters, point +- z sd with sd^2 = g' Sigma g summed over both models, g the gradient of
// the group's average with respect to the log-parameters by central differences of a tenth of a
// standard error, each evaluated on sampleGroups' weighted sample of the group's rows. values[g][0]
// holds the point estimates.
func deltaIntervals(pm PurchaseModel, sm SpendModel, prep *clvPrep, rt0 *rowTerms, gs []groupAgg, groups []IntervalRequest,
	values [][]float64, linear bool, spendA0, spendB0 []float64, cfg CLVConfig, level float64, rng *rand.Rand) ([]Interval, error) {
	pf, sf := pm.Fit(), sm.Fit()
	for _, f := range []FitResult{pf, sf} {
		if len(f.LogCovariance) != len(f.Params) || len(f.Params) == 0 {
			return nil, fmt.Errorf("CLV interval: %s: no parameter covariance (the likelihood's Hessian was not positive definite)", f.Model)
		}
	}
	sub, sgs := sampleGroups(prep, rt0, gs, sm, linear, spendA0, spendB0, cfg, IntervalSampleRows, rng)
	var rtB rowTerms
	sub.terms(pm, &rtB, true, true)
	aB, bB := make([]float64, len(sub.xs)), make([]float64, len(sub.xs))
	fillSpend(sm, linear, sub.xs, aB, bB)

	np, ns := len(pf.Params), len(sf.Params)
	// derivative[g][j]: purchase log-parameters first, then spend ones
	derivative := make([][]float64, len(gs))
	for g := range derivative {
		derivative[g] = make([]float64, np+ns)
	}
	step := func(f FitResult, j int) float64 { return 0.1 * math.Sqrt(f.LogCovariance[j][j]) }
	shifted := func(f FitResult, j int, h float64) []float64 {
		p := append([]float64(nil), f.Params...)
		p[j] = math.Exp(math.Log(p[j]) + h)
		return p
	}
	var firstErr error
	var mu sync.Mutex
	parallelFor(np+ns, 1, func(lo, hi, _ int) {
		var rt rowTerms
		a, b := make([]float64, len(sub.xs)), make([]float64, len(sub.xs))
		for j := lo; j < hi; j++ {
			var avg [2][]float64
			for side, sign := range []float64{1, -1} {
				avg[side] = make([]float64, len(sgs))
				if j < np {
					h := sign * step(pf, j)
					sub.terms(pm.WithParams(shifted(pf, j, h)), &rt, false, true)
					for g := range sgs {
						avg[side][g] = sgs[g].average(sub, &rt, sm, aB, bB, cfg)
					}
				} else {
					h := sign * step(sf, j-np)
					p := shifted(sf, j-np, h)
					if sf.Model == "GammaGamma" && !(p[1] > 1) {
						mu.Lock()
						firstErr = fmt.Errorf("CLV interval: GammaGamma: q is within a tenth of a standard error of 1")
						mu.Unlock()
						return
					}
					s := sm.WithParams(p)
					fillSpend(s, linear, sub.xs, a, b)
					for g := range sgs {
						avg[side][g] = sgs[g].average(sub, &rtB, s, a, b, cfg)
					}
				}
			}
			var h float64
			if j < np {
				h = step(pf, j)
			} else {
				h = step(sf, j-np)
			}
			for g := range sgs {
				derivative[g][j] = (avg[0][g] - avg[1][g]) / (2 * h)
			}
		}
	})
	if firstErr != nil {
		return nil, firstErr
	}
	z := distuv.UnitNormal.Quantile((1 + level) / 2)
	out := make([]Interval, len(groups))
	for g := range groups {
		out[g] = Interval{Name: groups[g].Name, Customers: gs[g].customers}
		if gs[g].customers == 0 {
			continue
		}
		d := derivative[g]
		var v float64
		for i := 0; i < np; i++ {
			for j := 0; j < np; j++ {
				v += d[i] * pf.LogCovariance[i][j] * d[j]
			}
		}
		for i := 0; i < ns; i++ {
			for j := 0; j < ns; j++ {
				v += d[np+i] * sf.LogCovariance[i][j] * d[np+j]
			}
		}
		point := values[g][0]
		sd := math.Sqrt(math.Max(v, 0))
		if math.IsNaN(point) || math.IsInf(point, 0) || math.IsNaN(sd) || math.IsInf(sd, 0) {
			return nil, fmt.Errorf("CLV interval: group %q: average CLV or its standard error is not finite", groups[g].Name)
		}
		out[g].Point, out[g].Low, out[g].High = point, point-z*sd, point+z*sd
	}
	return out, nil
}

// fillSpend sets the affine spend coefficients of the distinct x values (linear spend models).
func fillSpend(s SpendModel, linear bool, xs, a, b []float64) {
	if ls, ok := s.(linearSpender); ok && linear {
		for j, x := range xs {
			a[j], b[j] = ls.spendCoefficients(x)
		}
	}
}

// IntervalSampleRows is the number of unique rows per group above which AverageCLVIntervals
// evaluates its draws on a sample (see sampleGroups). A variable for tests.
var IntervalSampleRows = 16384

// sampleGroups makes the interval's cost independent of the number of customers. The delta method
// needs how a group's average changes with the parameters, and only that change is estimated on a
// sample of each group's entries (unique rows): Poisson sampling with inclusion probabilities
// proportional to the entry's contribution to the point estimate (its discounted margin plus its
// discounted retention cost; plus a floor of 1% of the mean, so that every entry may be drawn),
// about size entries per group, each weighted by 1/probability (Horvitz-Thompson: unbiased). A
// parameter change moves every row's value by a similar fraction (the parameters are shared), so
// the change is nearly proportional to the contribution and the sample estimates it closely: its
// error is that of a mean of about size relative changes, about 1/sqrt(size) of the interval's
// width (under 1% at 16384). The result is a prep over the sampled rows and each group's sampled
// entries, weights folded into their counts (and spend sums, for affine spend models).
func sampleGroups(prep *clvPrep, rt *rowTerms, gs []groupAgg, sm SpendModel, linear bool, spendA, spendB []float64,
	cfg CLVConfig, size int, rng *rand.Rand) (*clvPrep, []groupAgg) {
	subIdx := make(map[int32]int32) // full unique row -> sampled row
	var subRows []RFM
	type pick struct {
		e groupEntry
		w float64
	}
	picks := make([][]pick, len(gs))
	contrib := func(e groupEntry) float64 {
		var spend float64
		if linear {
			spend = spendA[e.xi]*e.cnt + spendB[e.xi]*e.sumM
		} else {
			spend = finiteOr(sm.ExpectedSpend(prep.xs[e.xi], e.sumM), 0) * e.cnt
		}
		return math.Abs(cfg.GrossMargin*rt.discPurchases[e.u]*spend) + math.Abs(cfg.MonthlyRetentionCost*rt.discAlive[e.u]*e.cnt)
	}
	for g := range gs {
		entries := gs[g].entries
		if len(entries) <= size {
			for _, e := range entries {
				picks[g] = append(picks[g], pick{e, 1})
			}
			continue
		}
		c := make([]float64, len(entries))
		var total float64
		for i, e := range entries {
			c[i] = finiteOr(contrib(e), 0)
			total += c[i]
		}
		floor := 0.01 * total / float64(len(entries))
		if !(floor > 0) {
			floor = 1
		}
		total += floor * float64(len(entries))
		for i, e := range entries {
			pi := math.Min(1, float64(size)*(c[i]+floor)/total)
			if rng.Float64() < pi {
				picks[g] = append(picks[g], pick{e, 1 / pi})
			}
		}
	}
	for _, pg := range picks {
		for _, p := range pg {
			if _, ok := subIdx[p.e.u]; !ok {
				subIdx[p.e.u] = int32(len(subRows))
				subRows = append(subRows, prep.unique[p.e.u])
			}
		}
	}
	sub := newCLVPrep(NewCells(subRows), prep.cfg, prep.tb != nil)
	out := make([]groupAgg, len(gs))
	for g, pg := range picks {
		agg := groupAgg{customers: gs[g].customers, entries: make([]groupEntry, len(pg))}
		for i, p := range pg {
			u := sub.index[subIdx[p.e.u]]
			e := groupEntry{u: u, xi: sub.uxi[u], cnt: p.e.cnt * p.w, sumM: p.e.sumM}
			if linear {
				e.sumM *= p.w
			}
			agg.entries[i] = e
		}
		out[g] = agg
	}
	return sub, out
}

// quantileSorted is the linearly interpolated (type 7) quantile of sorted values.
func quantileSorted(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	h := q * float64(len(v)-1)
	i := int(math.Floor(h))
	if i >= len(v)-1 {
		return v[len(v)-1]
	}
	return v[i] + (h-float64(i))*(v[i+1]-v[i])
}
