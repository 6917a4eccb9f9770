package ltv

import (
	"fmt"
	"math"
)

// SpendModel predicts a customer's expected spend per future transaction.
type SpendModel interface {
	Fit() FitResult
	// ExpectedSpend is the expected value of a future transaction of a customer with x repeat
	// transactions whose mean repeat spend is monetary. Negative or missing (NaN) monetary values
	// count as 0; the result is finite and non-negative.
	ExpectedSpend(x, monetary float64) float64
	// WithParams returns the same model with other parameters (same order as Fit().ParamNames).
	WithParams(params []float64) SpendModel
}

// linearSpender is an optional view of a SpendModel whose prediction is affine in the customer's mean
// spend: ExpectedSpend(x, m) = intercept + slope*max(m, 0) with coefficients depending on x only.
// Uncertainty intervals then aggregate customers' spends once instead of once per draw.
type linearSpender interface {
	spendCoefficients(x float64) (intercept, slope float64)
}

func clampMonetary(m float64) float64 {
	if !(m > 0) || math.IsInf(m, 0) {
		return 0
	}
	return m
}

// gammaGamma is the Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and
// CLV: using iso-value curves for customer base analysis"; Fader & Hardie 2013 note "The Gamma-Gamma
// model of monetary value"): transaction values z ~ Gamma(p, nu), nu ~ Gamma(q, gamma) across customers.
// The note calls gamma "gamma" in the paper's text and v in lifetimes; here the parameter is "gamma".
type gammaGamma struct {
	fit      FitResult
	p, q, g  float64
	fallback float64 // population mean repeat spend, used only when q <= 1 (see ExpectedSpend)
}

var gammaGammaNames = []string{"p", "q", "gamma"}

func (m *gammaGamma) Fit() FitResult { return m.fit }

func (m *gammaGamma) WithParams(params []float64) SpendModel {
	if len(params) != 3 {
		panic(fmt.Sprintf("ltv: Gamma-Gamma needs 3 parameters, got %d", len(params)))
	}
	for i, v := range params {
		if !(v > 0) || math.IsInf(v, 0) {
			panic(fmt.Sprintf("ltv: Gamma-Gamma: parameter %s = %g is not positive and finite", gammaGammaNames[i], v))
		}
	}
	n := &gammaGamma{fit: m.fit, p: params[0], q: params[1], g: params[2], fallback: m.fallback}
	n.fit.Params = append([]float64(nil), params...)
	return n
}

// spendCoefficients: E[Z | x, zbar] = (q-1)/(px+q-1) * p gamma/(q-1) + px/(px+q-1) * zbar
// = (p gamma + p x zbar)/(p x + q - 1). When q <= 1 the population mean is infinite; the model then
// falls back to the customer's own mean (x > 0) or the observed population mean (x = 0).
func (m *gammaGamma) spendCoefficients(x float64) (float64, float64) {
	if !(x > 0) {
		x = 0
	}
	den := m.p*x + m.q - 1
	if !(m.q > 1) || !(den > 0) {
		if x > 0 {
			return 0, 1
		}
		return m.fallback, 0
	}
	return m.p * m.g / den, m.p * x / den
}

// ExpectedSpend is the Gamma-Gamma conditional expectation (p gamma + p x m)/(p x + q - 1), with m the
// customer's mean repeat spend (clamped at 0); for x = 0 it is the population mean p gamma/(q-1).
func (m *gammaGamma) ExpectedSpend(x, monetary float64) float64 {
	a, b := m.spendCoefficients(x)
	return a + b*clampMonetary(monetary)
}

// ggData holds the repeat buyers used for fitting, grouped by distinct x.
type ggData struct {
	x, z, w  []float64 // per row: frequency, mean spend, weight (w nil: every weight is 1)
	xs, wx   []float64 // distinct x, total weight per distinct x
	sumW     float64
	sumWLogZ float64 // sum w log z
	sumWXLZ  float64 // sum w x log z
}

func (d *ggData) weight(i int) float64 {
	if d.w == nil {
		return 1
	}
	return d.w[i]
}

// subsample keeps every stride-th row with its weight multiplied by stride, so that the total weight
// and the likelihood's curvature match the full data's.
func (d *ggData) subsample(target int) *ggData {
	stride := len(d.x) / target
	if stride < 2 {
		return d
	}
	s := &ggData{}
	xd := newDistinctIndex(64)
	var xi []int32
	for i := 0; i < len(d.x); i += stride {
		w := d.weight(i) * float64(stride)
		s.x, s.z, s.w = append(s.x, d.x[i]), append(s.z, d.z[i]), append(s.w, w)
		xi = append(xi, xd.add(d.x[i]))
	}
	s.finish(xd, xi)
	return s
}

// finish computes the per-x weights and the data constants.
func (d *ggData) finish(xd *distinctIndex, xi []int32) {
	d.xs = xd.values
	d.wx = make([]float64, len(d.xs))
	d.sumW, d.sumWLogZ, d.sumWXLZ = 0, 0, 0
	for i := range d.x {
		w, x := d.weight(i), d.x[i]
		d.wx[xi[i]] += w
		d.sumW += w
		lz := math.Log(d.z[i])
		d.sumWLogZ += w * lz
		d.sumWXLZ += w * x * lz
	}
}

// ggObjective is the negative log-likelihood of the Gamma-Gamma model over log-parameters,
//
//	ll = sum_i w_i [lnGamma(p x+q) - lnGamma(p x) - lnGamma(q) + q ln gamma + (p x-1) ln z + p x ln x - (p x+q) ln(gamma + x z)],
//
// the log of the density of the mean spend z of x transactions (the note's likelihood, with every
// term). The Gamma functions are computed once per distinct x; a row costs one log and one division.
func ggObjective(d *ggData) objective { return ggLikelihood(d).objective() }

// ggLikelihood is ggObjective with the analytic Hessian too: over (p, q, gamma) the rows add
// only sums of w x/u^2 and w/u^2 (u = gamma + x z) to the gradient's, the rest is per distinct x.
func ggLikelihood(d *ggData) hessianObjective {
	parts := make([][6]float64, workers())
	return func(lt, grad []float64, hess [][]float64) float64 {
		p, q, g := math.Exp(lt[0]), math.Exp(lt[1]), math.Exp(lt[2])
		if !(p > 0 && q > 0 && g > 0) || math.IsInf(p+q+g, 0) {
			return math.Inf(1)
		}
		for i := range parts {
			parts[i] = [6]float64{}
		}
		withHess := hess != nil
		withGrad := grad != nil || withHess
		parallelFor(len(d.x), 32768, func(lo, hi, wk int) {
			// sum w x L, sum w L, sum w x/u, sum w/u, sum w x/u^2, sum w/u^2
			var s1, s2, s3, s4, s5, s6 float64
			for i := lo; i < hi; i++ {
				x, w := d.x[i], d.weight(i)
				u := g + x*d.z[i]
				l := math.Log(u)
				inv := w / u
				s1 += w * x * l
				s2 += w * l
				s3 += x * inv
				s4 += inv
				if withHess {
					inv2 := inv / u
					s5 += x * inv2
					s6 += inv2
				}
			}
			parts[wk] = [6]float64{s1, s2, s3, s4, s5, s6}
		})
		var s [6]float64
		for _, pt := range parts {
			for j := range s {
				s[j] += pt[j]
			}
		}
		lgq, _ := math.Lgamma(q)
		lg := math.Log(g)
		ll := -(p*s[0] + q*s[1]) + p*d.sumWXLZ - d.sumWLogZ + d.sumW*(q*lg-lgq)
		var gp, gq float64
		var hpp, hpq, hqq float64
		psiQ := 0.0
		if withGrad {
			psiQ = digamma(q)
		}
		for j, x := range d.xs {
			wx := d.wx[j]
			l1, _ := math.Lgamma(p*x + q)
			l2, _ := math.Lgamma(p * x)
			ll += wx * (l1 - l2 + p*x*math.Log(x))
			if withGrad {
				d1 := digamma(p*x + q)
				gp += wx * x * (d1 - digamma(p*x) + math.Log(x))
				gq += wx * d1
			}
			if withHess {
				t1 := trigamma(p*x + q)
				hpp += wx * x * x * (t1 - trigamma(p*x))
				hpq += wx * x * t1
				hqq += wx * t1
			}
		}
		if withGrad {
			gp += d.sumWXLZ - s[0]
			gq += d.sumW*(lg-psiQ) - s[1]
			gg := d.sumW*q/g - (p*s[2] + q*s[3])
			if grad != nil {
				grad[0] = -p * gp
				grad[1] = -q * gq
				grad[2] = -g * gg
			}
			if withHess {
				hqq -= d.sumW * trigamma(q)
				hpg := -s[2]
				hqg := d.sumW/g - s[3]
				hgg := -d.sumW*q/(g*g) + p*s[4] + q*s[5]
				logHessian(hess, []float64{p, q, g}, []float64{gp, gq, gg}, [][]float64{
					{hpp, hpq, hpg},
					{hpq, hqq, hqg},
					{hpg, hqg, hgg},
				})
			}
		}
		return -ll
	}
}

// FitGammaGamma fits the Gamma-Gamma spend model by maximum likelihood on the customers with repeat
// transactions (frequency > 0) and a positive mean repeat spend (monetary > 0); others are ignored.
// weights may be nil (every customer counts once). Parameter names: p, q, gamma. It fails when fewer
// than two customers qualify, or when the estimate has q <= 1 (an infinite population mean spend:
// use FitMeanSpend for such heavy-tailed data).
func FitGammaGamma(frequency []float64, monetary []float64, weights []float64) (SpendModel, error) {
	d, mean, err := newGGData(frequency, monetary, weights)
	if err != nil {
		return nil, err
	}
	return fitGammaGamma(d, mean)
}

// FitGammaGammaCells is FitGammaGamma for customers in cells (frequency from their cell).
func FitGammaGammaCells(c Cells, monetary []float64) (SpendModel, error) {
	return FitGammaGammaFunc(c.frequency, monetary)
}

// FitGammaGammaFunc is FitGammaGamma with customer i's frequency given by freq(i), asked for in
// customer order, for callers that hold the frequencies in a layout of their own. A cell's
// frequency is a random read per customer (cells are in order of first appearance): at ten
// million customers, read twice, more than a second; a summary's is a sequential one.
func FitGammaGammaFunc(freq func(i int) float64, monetary []float64) (SpendModel, error) {
	d, mean, err := newGGDataOf(len(monetary), freq, monetary, nil)
	if err != nil {
		return nil, err
	}
	return fitGammaGamma(d, mean)
}

func fitGammaGamma(d *ggData, mean float64) (SpendModel, error) {
	const name = "GammaGamma"
	// Starting points: E[z] = p gamma/(q-1) matched to the observed mean spend.
	raw := [][]float64{{2, 3, mean}, {5, 4, mean * 3 / 5}, {1, 2, mean}, {10, 10, mean * 9 / 10}}
	starts := make([][]float64, len(raw))
	for i, p := range raw {
		starts[i] = []float64{math.Log(p[0]), math.Log(p[1]), math.Log(p[2])}
	}
	var sub objective
	if len(d.x) > subsampleThreshold {
		sub = ggObjective(d.subsample(subsampleThreshold / 2))
	}
	res, err := fitTwoStageNewton(name, gammaGammaNames, ggLikelihood(d), sub, starts)
	if err != nil {
		return nil, err
	}
	return newGammaGammaFit(res, mean)
}

// newGammaGammaFit is the model of a fit, refused when q <= 1.
func newGammaGammaFit(res FitResult, mean float64) (SpendModel, error) {
	if !(res.Params[1] > 1) {
		return nil, fmt.Errorf("GammaGamma: %w: q = %.4g <= 1 means an infinite mean spend; use the Mean spend model", errFit, res.Params[1])
	}
	return &gammaGamma{fit: res, p: res.Params[0], q: res.Params[1], g: res.Params[2], fallback: mean}, nil
}

// newGGData keeps the repeat buyers with positive spend; mean is their mean repeat transaction value.
func newGGData(frequency []float64, monetary []float64, weights []float64) (*ggData, float64, error) {
	if len(monetary) != len(frequency) || (weights != nil && len(weights) != len(frequency)) {
		return nil, 0, fmt.Errorf("GammaGamma: frequency, monetary and weights differ in length (%d, %d, %d)", len(frequency), len(monetary), len(weights))
	}
	return newGGDataOf(len(frequency), func(i int) float64 { return frequency[i] }, monetary, weights)
}

// newGGDataOf is newGGData with the frequency of customer i given by freq (customers in cells
// need no per-customer array of it).
func newGGDataOf(n int, freq func(i int) float64, monetary []float64, weights []float64) (*ggData, float64, error) {
	const name = "GammaGamma"
	if len(monetary) != n {
		return nil, 0, fmt.Errorf("%s: frequency and monetary differ in length (%d, %d)", name, n, len(monetary))
	}
	// count first: the rows are allocated once, at their size (a million repeat buyers would
	// otherwise leave ~100 MB of doubled slices behind)
	kept := 0
	for i := range n {
		if x := freq(i); x > 0 && monetary[i] > 0 && (weights == nil || weights[i] != 0) {
			kept++
		}
	}
	d := &ggData{x: make([]float64, 0, kept), z: make([]float64, 0, kept)}
	if weights != nil {
		d.w = make([]float64, 0, kept)
	}
	xd := newDistinctIndex(64)
	xiList := make([]int32, 0, kept)
	for i := range n {
		x := freq(i)
		m := monetary[i]
		w := 1.0
		if weights != nil {
			w = weights[i]
		}
		if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 || math.IsInf(m, 0) || math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return nil, 0, fmt.Errorf("%s: customer %d: invalid input (frequency=%g, monetary=%g, weight=%g)", name, i, x, m, w)
		}
		if !(x > 0) || !(m > 0) || w == 0 {
			continue
		}
		d.x = append(d.x, x)
		d.z = append(d.z, m)
		if d.w != nil {
			d.w = append(d.w, w)
		}
		xiList = append(xiList, xd.add(x))
	}
	if len(d.x) < 2 {
		return nil, 0, fmt.Errorf("%s: %w: %d customers with repeat transactions and positive spend, need at least 2", name, errFit, len(d.x))
	}
	d.finish(xd, xiList)
	var sumWXZ, sumWX float64
	for i := range d.x {
		sumWXZ += d.weight(i) * d.x[i] * d.z[i]
		sumWX += d.weight(i) * d.x[i]
	}
	return d, sumWXZ / sumWX, nil
}

// meanSpend is the "Mean" spend model: a customer's own mean repeat spend, or for customers without
// repeat transactions the population mean repeat transaction value.
type meanSpend struct {
	fit  FitResult
	mean float64
}

// FitMeanSpend returns the "Mean" spend model: a customer with repeat transactions is expected to
// spend their own mean repeat spend (monetary, clamped at 0); a customer without repeat transactions
// the population mean repeat transaction value sum(w x m)/sum(w x) over customers with x > 0 (0 when
// there are none). Its single parameter "mean" carries a standard error (ratio-estimator variance over
// customers) and a log-scale variance for uncertainty draws.
func FitMeanSpend(frequency []float64, monetary []float64, weights []float64) SpendModel {
	return fitMeanSpend(min(len(frequency), len(monetary)), func(i int) float64 { return frequency[i] }, monetary, weights)
}

// FitMeanSpendCells is FitMeanSpend for customers in cells (frequency from their cell).
func FitMeanSpendCells(c Cells, monetary []float64) SpendModel {
	return fitMeanSpend(min(len(c.Index), len(monetary)), c.frequency, monetary, nil)
}

// FitMeanSpendFunc is FitMeanSpend with customer i's frequency given by freq(i) (see
// FitGammaGammaFunc).
func FitMeanSpendFunc(freq func(i int) float64, monetary []float64) SpendModel {
	return fitMeanSpend(len(monetary), freq, monetary, nil)
}

func (c Cells) frequency(i int) float64 { return c.Rows[c.Index[i]].X }

func fitMeanSpend(n int, freq func(i int) float64, monetary []float64, weights []float64) SpendModel {
	var swxm, swx float64
	for i := 0; i < n; i++ {
		x, m := freq(i), clampMonetary(monetary[i])
		w := 1.0
		if weights != nil && i < len(weights) {
			w = weights[i]
		}
		if !(x > 0) || math.IsInf(x, 0) || !(w > 0) || math.IsInf(w, 0) {
			continue
		}
		swxm += w * x * m
		swx += w * x
	}
	mean := 0.0
	if swx > 0 {
		mean = swxm / swx
	}
	var v float64
	for i := 0; i < n && swx > 0; i++ {
		x, m := freq(i), clampMonetary(monetary[i])
		w := 1.0
		if weights != nil && i < len(weights) {
			w = weights[i]
		}
		if !(x > 0) || math.IsInf(x, 0) || !(w > 0) || math.IsInf(w, 0) {
			continue
		}
		e := x * (m - mean)
		v += w * e * e
	}
	fr := FitResult{Model: "Mean", ParamNames: []string{"mean"}, Params: []float64{mean}, StdErrors: []float64{0}, Converged: true}
	if swx > 0 {
		se := math.Sqrt(v) / swx
		fr.StdErrors[0] = se
		if mean > 0 {
			fr.LogCovariance = [][]float64{{(se / mean) * (se / mean)}}
		}
	}
	return &meanSpend{fit: fr, mean: mean}
}

func (m *meanSpend) Fit() FitResult { return m.fit }

func (m *meanSpend) WithParams(params []float64) SpendModel {
	if len(params) != 1 || !(params[0] >= 0) || math.IsInf(params[0], 0) {
		panic(fmt.Sprintf("ltv: Mean spend model needs one non-negative finite parameter, got %v", params))
	}
	n := &meanSpend{fit: m.fit, mean: params[0]}
	n.fit.Params = []float64{params[0]}
	return n
}

func (m *meanSpend) spendCoefficients(x float64) (float64, float64) {
	if x > 0 {
		return 0, 1
	}
	return m.mean, 0
}

func (m *meanSpend) ExpectedSpend(x, monetary float64) float64 {
	a, b := m.spendCoefficients(x)
	return a + b*clampMonetary(monetary)
}
