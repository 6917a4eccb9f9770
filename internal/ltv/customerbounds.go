package ltv

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/ltv-operator/ltv-operator/internal/memadvise"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// drawStore keeps what a customer's CLV needs from every parameter draw of the bootstrap (see
// CLVIntervals): the purchase terms per unique row and the spend per distinct x (affine spend
// models) or the drawn spend model itself. Layout [row*draws + draw], so a cell's draws are
// contiguous. Each draw writes its own column, so parallel draws do not race.
type drawStore struct {
	draws          int
	linear         bool
	disc, alive    []float64 // unique rows x draws; alive only with a retention cost
	spendA, spendB []float64 // distinct x x draws (affine spend)
	spend          []SpendModel
}

func newDrawStore(prep *clvPrep, draws int, linear, withCost bool) *drawStore {
	s := &drawStore{draws: draws, linear: linear, disc: make([]float64, len(prep.unique)*draws)}
	if withCost {
		s.alive = make([]float64, len(prep.unique)*draws)
	}
	if linear {
		s.spendA = make([]float64, len(prep.xs)*draws)
		s.spendB = make([]float64, len(prep.xs)*draws)
	} else {
		s.spend = make([]SpendModel, draws)
	}
	return s
}

// keep stores draw k (0-based).
func (s *drawStore) keep(k int, rt *rowTerms, sm SpendModel, spendA, spendB []float64) {
	d := s.draws
	for u, v := range rt.discPurchases {
		s.disc[u*d+k] = v
	}
	if s.alive != nil {
		for u, v := range rt.discAlive {
			s.alive[u*d+k] = v
		}
	}
	if s.linear {
		for j := range spendA {
			s.spendA[j*d+k], s.spendB[j*d+k] = spendA[j], spendB[j]
		}
	} else {
		s.spend[k] = sm
	}
}

// bounds computes every customer's quantiles of CLV over the stored draws, once per distinct cell
// (unique row, clamped mean spend): customers are ordered by cell and each run shares its bounds.
func (s *drawStore) bounds(prep *clvPrep, monetary []float64, cfg CLVConfig, level float64) *CustomerBounds {
	n := len(prep.index)
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := cmp.Compare(prep.index[a], prep.index[b]); c != 0 {
			return c
		}
		return cmp.Compare(clampMonetary(monetary[a]), clampMonetary(monetary[b]))
	})
	var starts []int32 // first position in order of each cell
	for p := 0; p < n; p++ {
		if p == 0 || prep.index[order[p]] != prep.index[order[p-1]] ||
			clampMonetary(monetary[order[p]]) != clampMonetary(monetary[order[p-1]]) {
			starts = append(starts, int32(p))
		}
	}
	starts = append(starts, int32(n))
	out := &CustomerBounds{Low: make([]float64, n), High: make([]float64, n)}
	lo, hi := (1-level)/2, (1+level)/2
	d := s.draws
	margin, cost := cfg.GrossMargin, cfg.MonthlyRetentionCost
	parallelFor(len(starts)-1, 64, func(c0, c1, _ int) {
		v := make([]float64, d)
		for c := c0; c < c1; c++ {
			first := order[starts[c]]
			u := int(prep.index[first])
			xi := int(prep.uxi[u])
			m := clampMonetary(monetary[first])
			for k := 0; k < d; k++ {
				var spend float64
				if s.linear {
					spend = s.spendA[xi*d+k] + s.spendB[xi*d+k]*m
				} else {
					spend = finiteOr(s.spend[k].ExpectedSpend(prep.xs[xi], m), 0)
				}
				v[k] = margin * spend * s.disc[u*d+k]
				if s.alive != nil {
					v[k] -= cost * s.alive[u*d+k]
				}
			}
			slices.Sort(v)
			l, h := quantileSorted(v, lo), quantileSorted(v, hi)
			for p := starts[c]; p < starts[c+1]; p++ {
				out.Low[order[p]], out.High[order[p]] = l, h
			}
		}
	})
	return out
}

// logCholesky is the lower Cholesky factor of fr's LogCovariance (symmetrized).
func logCholesky(fr FitResult) (*mat.TriDense, error) {
	k := len(fr.Params)
	if k == 0 {
		return nil, fmt.Errorf("CLV interval: %s: model has no parameters", fr.Model)
	}
	if len(fr.LogCovariance) != k {
		return nil, fmt.Errorf("CLV interval: %s: no parameter covariance (the likelihood's Hessian was not positive definite)", fr.Model)
	}
	cov := mat.NewSymDense(k, nil)
	for i := 0; i < k; i++ {
		for j := i; j < k; j++ {
			cov.SetSym(i, j, (fr.LogCovariance[i][j]+fr.LogCovariance[j][i])/2)
		}
	}
	var chol mat.Cholesky
	if !chol.Factorize(cov) {
		return nil, fmt.Errorf("CLV interval: %s: parameter covariance is not positive definite", fr.Model)
	}
	var l mat.TriDense
	chol.LTo(&l)
	return &l, nil
}

// alongColumn returns exp(log params + h L[:, k]).
func alongColumn(params []float64, l *mat.TriDense, k int, h float64) []float64 {
	p := make([]float64, len(params))
	for i, v := range params {
		p[i] = math.Exp(math.Log(v) + h*l.At(i, k))
	}
	return p
}

// deltaBounds is CLVIntervals' per-customer delta method (see there), and the groups' intervals
// from the same passes: a group's average is the mean of its customers' CLVs, so its derivative
// along a direction is the mean of theirs, summed over every unique row with the group's entries
// (groupAgg.average of the derivative terms) instead of on a sample. points are the groups'
// averages at the fitted parameters; rt0, spendA0 and spendB0 the terms there.
func deltaBounds(pm PurchaseModel, sm SpendModel, prep *clvPrep, rt0 *rowTerms, gs []groupAgg, groups []IntervalRequest, points []float64,
	monetary []float64, linear bool, spendA0, spendB0 []float64, cfg CLVConfig, level float64) ([]Interval, *CustomerBounds, error) {
	pf, sf := pm.Fit(), sm.Fit()
	lp, err := logCholesky(pf)
	if err != nil {
		return nil, nil, err
	}
	ls, err := logCholesky(sf)
	if err != nil {
		return nil, nil, err
	}
	const h = 0.1
	nu, nx := len(prep.unique), len(prep.xs)
	withCost := cfg.MonthlyRetentionCost != 0
	// Per unique row: sum_k dP_k^2, dP_k dL_k, dL_k^2 over the purchase directions, P the discounted
	// purchases and L the discounted alive months.
	pp := make([]float64, nu)
	var pl, ll []float64 // only with a retention cost (else dL is 0)
	if withCost {
		pl, ll = make([]float64, nu), make([]float64, nu)
	}
	// Per group: sum_k (derivative of its average along direction k)^2.
	groupVar := make([]float64, len(gs))
	// One rowTerms serves both sides of a difference (the + side's two sums are copied out first
	// and then turned into the derivatives): at a million distinct rows a second one would hold
	// another ~30 MB.
	var rt rowTerms
	plusP := make([]float64, nu)
	var plusL []float64
	if withCost {
		plusL = make([]float64, nu)
	}
	for k := range pf.Params {
		prep.terms(pm.WithParams(alongColumn(pf.Params, lp, k, h)), &rt, true, true)
		copy(plusP, rt.discPurchases)
		if withCost {
			copy(plusL, rt.discAlive)
		}
		prep.terms(pm.WithParams(alongColumn(pf.Params, lp, k, -h)), &rt, true, true)
		parallelFor(nu, 65536, func(lo, hi, _ int) {
			for u := lo; u < hi; u++ {
				dp := (plusP[u] - rt.discPurchases[u]) / (2 * h)
				plusP[u] = dp
				pp[u] += dp * dp
				if withCost {
					dl := (plusL[u] - rt.discAlive[u]) / (2 * h)
					plusL[u] = dl
					pl[u] += dp * dl
					ll[u] += dl * dl
				}
			}
		})
		// Without a retention cost rt.discAlive is zero, as the derivative of L.
		deriv := rowTerms{discPurchases: plusP, discAlive: rt.discAlive}
		if withCost {
			deriv.discAlive = plusL
		}
		addGroupVariances(groupVar, gs, func(g *groupAgg) float64 { return g.average(prep, &deriv, sm, spendA0, spendB0, cfg) })
	}
	// Spend directions: per distinct x the sums of dA^2, dA dB, dB^2 (affine spend), else the
	// shifted models for a direct difference per customer.
	var aa, ab, bb []float64
	var shifted [][2]SpendModel
	if linear {
		aa, ab, bb = make([]float64, nx), make([]float64, nx), make([]float64, nx)
	}
	aP, bP, aM, bM := make([]float64, nx), make([]float64, nx), make([]float64, nx), make([]float64, nx)
	for k := range sf.Params {
		var pair [2]SpendModel
		for side, sign := range []float64{1, -1} {
			p := alongColumn(sf.Params, ls, k, sign*h)
			if sf.Model == "GammaGamma" && !(p[1] > 1) {
				return nil, nil, fmt.Errorf("CLV interval: GammaGamma: q is within a tenth of a standard error of 1")
			}
			pair[side] = sm.WithParams(p)
		}
		fillSpend(pair[0], linear, prep.xs, aP, bP)
		fillSpend(pair[1], linear, prep.xs, aM, bM)
		addGroupVariances(groupVar, gs, func(g *groupAgg) float64 {
			return (g.average(prep, rt0, pair[0], aP, bP, cfg) - g.average(prep, rt0, pair[1], aM, bM, cfg)) / (2 * h)
		})
		if !linear {
			shifted = append(shifted, pair)
			continue
		}
		for j := 0; j < nx; j++ {
			da, db := (aP[j]-aM[j])/(2*h), (bP[j]-bM[j])/(2*h)
			aa[j] += da * da
			ab[j] += da * db
			bb[j] += db * db
		}
	}
	z := distuv.UnitNormal.Quantile((1 + level) / 2)
	margin, cost := cfg.GrossMargin, cfg.MonthlyRetentionCost
	n := len(prep.index)
	// Each customer reads its unique row's figures at random: packed side by side, that is one
	// cache miss per customer instead of one per array (at ten million customers, over ~2M rows).
	type rowFigures struct {
		p, pp float64 // discounted purchases, sum_k dP_k^2
		xi    int32
	}
	type costFigures struct{ l, pl, ll float64 }
	figs := make([]rowFigures, nu)
	var costs []costFigures
	if withCost {
		costs = make([]costFigures, nu)
	}
	parallelFor(nu, 65536, func(lo, hi, _ int) {
		for u := lo; u < hi; u++ {
			figs[u] = rowFigures{p: rt0.discPurchases[u], pp: pp[u], xi: prep.uxi[u]}
			if withCost {
				costs[u] = costFigures{l: rt0.discAlive[u], pl: pl[u], ll: ll[u]}
			}
		}
	})
	out := &CustomerBounds{Low: make([]float64, n), High: make([]float64, n)}
	parallelFor(n, 32768, func(lo, hi, _ int) {
		const ahead = 16
		for i := lo; i < hi; i++ {
			if j := i + ahead; j < hi {
				memadvise.Prefetch(unsafe.Pointer(&figs[prep.index[j]]))
			}
			u := prep.index[i]
			f := figs[u]
			xi := f.xi
			x, m := prep.xs[xi], clampMonetary(monetary[i])
			var spend, ds2 float64
			if linear {
				spend = spendA0[xi] + spendB0[xi]*m
				ds2 = aa[xi] + 2*m*ab[xi] + m*m*bb[xi]
			} else {
				spend = finiteOr(sm.ExpectedSpend(x, m), 0)
				for _, pair := range shifted {
					d := (finiteOr(pair[0].ExpectedSpend(x, m), 0) - finiteOr(pair[1].ExpectedSpend(x, m), 0)) / (2 * h)
					ds2 += d * d
				}
			}
			P, L, cross, alive := f.p, 0.0, 0.0, 0.0
			if withCost {
				c := costs[u]
				L, cross, alive = c.l, c.pl, c.ll
			}
			v := margin*spend*P - cost*L
			variance := margin*margin*spend*spend*f.pp - 2*margin*cost*spend*cross + cost*cost*alive + margin*margin*P*P*ds2
			sd := math.Sqrt(math.Max(variance, 0))
			l, hgh := v-z*sd, v+z*sd
			if !withCost {
				l = math.Max(l, 0)
			}
			out.Low[i], out.High[i] = l, hgh
		}
	})
	ivs := make([]Interval, len(groups))
	for g := range groups {
		ivs[g] = Interval{Name: groups[g].Name, Customers: gs[g].customers}
		if gs[g].customers == 0 {
			continue
		}
		point, sd := points[g], math.Sqrt(math.Max(groupVar[g], 0))
		if math.IsNaN(point) || math.IsInf(point, 0) || math.IsNaN(sd) || math.IsInf(sd, 0) {
			return nil, nil, fmt.Errorf("CLV interval: group %q: average CLV or its standard error is not finite", groups[g].Name)
		}
		ivs[g].Point, ivs[g].Low, ivs[g].High = point, point-z*sd, point+z*sd
	}
	return ivs, out, nil
}

// addGroupVariances adds each group's squared derivative along one direction (derivative
// computes it) to groupVar, the groups side by side.
func addGroupVariances(groupVar []float64, gs []groupAgg, derivative func(g *groupAgg) float64) {
	parallelFor(len(gs), 1, func(lo, hi, _ int) {
		for g := lo; g < hi; g++ {
			d := derivative(&gs[g])
			groupVar[g] += d * d
		}
	})
}
