package ltv

import (
	"fmt"
	"math"
	"sync"
)

// betaGeo is the BG/NBD model (Fader, Hardie & Lee 2005) and, with modified set, the MBG/NBD model
// (Batislam, Denizel & Filiztekin 2007). While active, a customer buys as a Poisson process with rate
// lambda ~ Gamma(r, alpha); after each purchase (BG/NBD: each repeat purchase; MBG/NBD: also right
// after the first purchase) the customer becomes inactive with probability p ~ Beta(a, b).
//
// Both share one implementation with k = 0 (BG/NBD) or k = 1 (MBG/NBD): the customer has survived x+k
// dropout opportunities when observed alive with x repeat purchases.
type betaGeo struct {
	fit      FitResult
	modified bool
	// tables are the row tables of the distinct rows the model was fitted on (nil unless fitted
	// on distinct rows as given), for predictions on those rows.
	tables   *rowTables
	r, alpha float64
	a, b     float64
	k        float64
	logAlpha float64
}

var betaGeoNames = []string{"r", "alpha", "a", "b"}

// FitBGNBD fits the BG/NBD model by maximum likelihood. rows may be per-customer (Weight 0 or 1) or
// already unique rows with weights; they are compressed to unique (X, Tx, T) rows before fitting.
func FitBGNBD(rows []RFM) (PurchaseModel, error) {
	return fitBetaGeo(rows, false, false)
}

// FitBGNBDCells is FitBGNBD on customers already collapsed into cells (their rows are distinct).
func FitBGNBDCells(c Cells) (PurchaseModel, error) {
	return fitBetaGeo(c.Rows, false, true)
}

func (m *betaGeo) modelName() string {
	if m.modified {
		return "ModifiedBGNBD"
	}
	return "BGNBD"
}

func newBetaGeo(modified bool, params []float64) *betaGeo {
	if len(params) != 4 {
		panic(fmt.Sprintf("ltv: BG/NBD-type model needs 4 parameters, got %d", len(params)))
	}
	for i, v := range params {
		if !(v > 0) || math.IsInf(v, 0) {
			panic(fmt.Sprintf("ltv: BG/NBD-type model: parameter %s = %g is not positive and finite", betaGeoNames[i], v))
		}
	}
	m := &betaGeo{modified: modified, r: params[0], alpha: params[1], a: params[2], b: params[3]}
	if modified {
		m.k = 1
	}
	m.logAlpha = math.Log(m.alpha)
	return m
}

func (m *betaGeo) Fit() FitResult { return m.fit }

func (m *betaGeo) WithParams(params []float64) PurchaseModel {
	n := newBetaGeo(m.modified, params)
	n.fit = m.fit
	n.fit.Model = m.modelName()
	n.fit.ParamNames = betaGeoNames
	n.fit.Params = append([]float64(nil), params...)
	return n
}

// hasDropoutTerm reports whether the likelihood of a customer with x repeat purchases has the term
// for "became inactive after the last purchase" (BG/NBD: only when x > 0).
func (m *betaGeo) hasDropoutTerm(x float64) bool { return m.k > 0 || x > 0 }

// logLikelihoodRow is the log-likelihood of one customer:
//
//	L = B(a, b+x+k)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+T)^(r+x))
//	  + [x>0 or k=1] B(a+1, b+x+k-1)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+tx)^(r+x)),
//
// evaluated as C(x) + r log(alpha) - (r+x) log(alpha+T) + softplus(log(a/(b+x+k-1)) + (r+x) log((alpha+T)/(alpha+tx))).
func (m *betaGeo) logLikelihoodRow(x, tx, T float64) float64 {
	r, a, b, k := m.r, m.a, m.b, m.k
	rx := r + x
	lgr, _ := math.Lgamma(rx)
	lg0, _ := math.Lgamma(r)
	c := lgr - lg0 + lnBeta(a, b+x+k) - lnBeta(a, b)
	lt := math.Log(m.alpha + T)
	ll := c + r*m.logAlpha - rx*lt
	if m.hasDropoutTerm(x) {
		z := math.Log(a) - math.Log(b+x+k-1) + rx*(lt-math.Log(m.alpha+tx))
		sp, _ := softplus(z)
		ll += sp
	}
	return ll
}

// lnBeta is log B(a, b).
func lnBeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
}

// aliveLogit returns z with P(alive) = 1/(1+exp(z)).
func (m *betaGeo) aliveLogit(x, tx, T float64) float64 {
	if !m.hasDropoutTerm(x) {
		return math.Inf(-1)
	}
	return math.Log(m.a) - math.Log(m.b+x+m.k-1) + (m.r+x)*(math.Log(m.alpha+T)-math.Log(m.alpha+tx))
}

// ProbabilityAlive is 1/(1 + [x>0 or k=1] a/(b+x+k-1) ((alpha+T)/(alpha+tx))^(r+x)); for BG/NBD it is 1
// for a customer without repeat purchases.
func (m *betaGeo) ProbabilityAlive(x, tx, T float64) float64 {
	return logistic(m.aliveLogit(x, tx, T))
}

// powTablePool recycles the power tables of probabilityAliveRows (one per uncertainty draw).
var powTablePool = sync.Pool{New: func() any { return new([]float64) }}

func (m *betaGeo) probabilityAliveRows(tb *rowTables, out []float64) {
	nt := len(tb.times)
	logs := make([]float64, nt)
	lmin, lmax := math.Inf(1), math.Inf(-1)
	for i, t := range tb.times {
		logs[i] = math.Log(m.alpha + t)
		lmin, lmax = math.Min(lmin, logs[i]), math.Max(lmax, logs[i])
	}
	cs := make([]float64, len(tb.xs))
	la := math.Log(m.a)
	for j, x := range tb.xs {
		if m.hasDropoutTerm(x) {
			cs[j] = la - math.Log(m.b+x+m.k-1)
		} else {
			cs[j] = math.Inf(-1)
		}
	}
	// When there are few distinct (x, time) combinations, tabulate a/(b+x+k-1) (alpha+t)^(r+x)
	// (relative to the middle time) so that a row costs a division instead of an exponential.
	var pow, ec []float64
	if len(tb.xs)*nt <= len(tb.rows)/2 {
		ec = make([]float64, len(cs))
		for j, c := range cs {
			ec[j] = math.Exp(c)
		}
		buf := powTablePool.Get().(*[]float64)
		defer powTablePool.Put(buf)
		if cap(*buf) < len(tb.xs)*nt {
			*buf = make([]float64, len(tb.xs)*nt)
		}
		pow = (*buf)[:len(tb.xs)*nt]
		mid := (lmin + lmax) / 2
		for j, x := range tb.xs {
			row := pow[j*nt : (j+1)*nt]
			if (m.r+x)*(lmax-lmin)/2 > 600 || math.IsInf(cs[j], -1) {
				for i := range row {
					row[i] = math.NaN() // direct evaluation for this x
				}
				continue
			}
			for i, l := range logs {
				row[i] = math.Exp((m.r + x) * (l - mid))
			}
		}
	}
	for i := range tb.rows {
		j := tb.xi[i]
		c := cs[j]
		if math.IsInf(c, -1) {
			out[i] = 1
			continue
		}
		if pow != nil {
			if pT := pow[int(j)*nt+int(tb.ti[i])]; !math.IsNaN(pT) {
				out[i] = 1 / (1 + ec[j]*pT/pow[int(j)*nt+int(tb.txi[i])])
				continue
			}
		}
		out[i] = logistic(c + (m.r+tb.xs[j])*(logs[tb.ti[i]]-logs[tb.txi[i]]))
	}
}

// ExpectedPurchases is the conditional expectation (FHL 2005 eq. 10; Batislam et al. 2007 for MBG/NBD):
// P(alive | x, tx, T) times the expected purchases in (T, T+t] of a customer alive at T.
func (m *betaGeo) ExpectedPurchases(t, x, tx, T float64) float64 {
	if !(t > 0) {
		return 0
	}
	return m.ProbabilityAlive(x, tx, T) * m.expectedIfAlive(t, x, T)
}

// UnconditionalExpected is E[X(t)] = (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]
// for BG/NBD and b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))] for MBG/NBD: the
// conditional expectation of a customer just acquired (x = tx = T = 0).
func (m *betaGeo) UnconditionalExpected(t float64) float64 {
	return m.ExpectedPurchases(t, 0, 0, 0)
}

// expectedIfAlive is E[purchases in (T, T+t] | alive at T, x]:
//
//	(a+b+x+k-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+k; a+b+x+k-1; z)],  z = t/(alpha+T+t),
//
// evaluated through Euler's transformation as (a+b+x+k-1)/(a-1) [1 - (1-z)^(a-1) 2F1(a+b+k-1-r, a-1; a+b+x+k-1; z)],
// whose terms stay bounded for large x. The removable singularity at a = 1 is bridged by linear
// interpolation between a = 1 -/+ 1e-4.
func (m *betaGeo) expectedIfAlive(t, x, T float64) float64 {
	if !(t > 0) {
		return 0
	}
	const h = 1e-4
	if d := m.a - 1; math.Abs(d) < h {
		lo := m.expectedIfAliveAt(1-h, t, x, T)
		hi := m.expectedIfAliveAt(1+h, t, x, T)
		return lo + (hi-lo)*(d+h)/(2*h)
	}
	return m.expectedIfAliveAt(m.a, t, x, T)
}

func (m *betaGeo) expectedIfAliveAt(a, t, x, T float64) float64 {
	r, b, k := m.r, m.b, m.k
	z := t / (m.alpha + T + t)
	lomz := math.Log((m.alpha + T) / (m.alpha + T + t)) // log(1-z) without cancellation
	c := a + b + x + k - 1
	f := math.Exp((a-1)*lomz) * hyp2f1(a+b+k-1-r, a-1, c, z)
	v := c / (a - 1) * (1 - f)
	if !(v >= 0) || math.IsInf(v, 0) {
		// Only reachable through a hypergeometric failure; the expectation is bounded by the
		// expected purchases of an immortal customer, (r+x) t/(alpha+T).
		return math.Min(math.Max(finiteOr(v, 0), 0), (r+x)*t/(m.alpha+T))
	}
	return v
}

// survivalIfAlive is P(alive at T+t | alive at T, x): with lambda ~ Gamma(r+x, alpha+T) and
// p ~ Beta(a, b+x+k) a posteriori, E[exp(-lambda p t)] = (1-z)^(r+x) 2F1(r+x, b+x+k; a+b+x+k; z),
// evaluated as (1-z)^a 2F1(a+b+k-r, a; a+b+x+k; z), z = t/(alpha+T+t).
func (m *betaGeo) survivalIfAlive(t, x, T float64) float64 {
	if !(t > 0) {
		return 1
	}
	a, b, k := m.a, m.b, m.k
	z := t / (m.alpha + T + t)
	lomz := math.Log((m.alpha + T) / (m.alpha + T + t))
	s := math.Exp(a*lomz) * hyp2f1(a+b+k-m.r, a, a+b+x+k, z)
	return math.Min(math.Max(finiteOr(s, 0), 0), 1)
}

// pairTerms computes the per-(x, T) horizon sums of clvPrep.terms; when approximate, by Chebyshev
// interpolation over log(alpha+T) within each x (the expectations are E_p[h(p t/(alpha+T))]).
func (m *betaGeo) pairTerms(pairs []RFM, ppm float64, discount []float64, withCost, approximate bool, expected, disc, alive []float64) {
	if approximate {
		pairTermsInterpolated(m, m.alpha, pairs, ppm, discount, withCost, expected, disc, alive)
		return
	}
	pairTermsDirect(m, pairs, ppm, discount, withCost, expected, disc, alive)
}

// betaGeoData is the fitting data: unique rows indexed by distinct x and distinct times.
type betaGeoData struct {
	tb   *rowTables
	w    []float64
	sumW float64
}

func newBetaGeoData(rows []RFM) *betaGeoData {
	d := &betaGeoData{tb: newRowTables(rows), w: make([]float64, len(rows))}
	for i, r := range rows {
		d.w[i] = rowWeight(r)
		d.sumW += d.w[i]
	}
	return d
}

// partial sums of one worker
type betaGeoPartial struct {
	ll, gr, galpha float64
	sx             []float64 // per distinct x: sum of w * sigmoid
	// With the Hessian: sums of the rows' second derivatives in r and alpha, and per distinct x
	// the sums of w s(1-s), w s(1-s) dl and w s(1-s) (r+x) D (s the sigmoid, dl the log ratio of
	// the times, D its derivative in alpha).
	hrr, hra, haa float64
	s1, s2, s3    []float64
}

// betaGeoObjective returns the negative log-likelihood over log-parameters with its analytic gradient.
func betaGeoObjective(d *betaGeoData, k float64) objective {
	return betaGeoLikelihood(d, k).objective()
}

// betaGeoLikelihood is betaGeoObjective with the analytic Hessian too. Terms that depend only on
// x (Gamma and Beta functions) are computed once per distinct x, log(alpha+t) once per distinct
// time, so a row costs one exp and one log1p; rows are split across the CPUs.
//
// Per row, with z = log(a/(b+x+k-1)) + (r+x) dl, dl = log((alpha+T)/(alpha+t_x)), the likelihood
// is -(r+x) log(alpha+T) + softplus(z) (the softplus only when z is finite); its second
// derivatives are those of z weighted by s(1-s) plus the second derivatives of z weighted by s.
func betaGeoLikelihood(d *betaGeoData, k float64) hessianObjective {
	tb := d.tb
	nx, nt := len(tb.xs), len(tb.times)
	parts := make([]betaGeoPartial, workers())
	for i := range parts {
		parts[i].sx = make([]float64, nx)
	}
	cx := make([]float64, nx)   // log(a/(b+x+k-1)) or -Inf
	logs := make([]float64, nt) // log(alpha+t)
	invs := make([]float64, nt) // 1/(alpha+t)
	return func(lt, grad []float64, hess [][]float64) float64 {
		r, alpha, a, b := math.Exp(lt[0]), math.Exp(lt[1]), math.Exp(lt[2]), math.Exp(lt[3])
		if !(r > 0 && alpha > 0 && a > 0 && b > 0) || math.IsInf(r+alpha+a+b, 0) {
			return math.Inf(1)
		}
		la := math.Log(a)
		for j, x := range tb.xs {
			if k > 0 || x > 0 {
				cx[j] = la - math.Log(b+x+k-1)
			} else {
				cx[j] = math.Inf(-1)
			}
		}
		for i, t := range tb.times {
			logs[i] = math.Log(alpha + t)
			invs[i] = 1 / (alpha + t)
		}
		withHess := hess != nil
		withGrad := grad != nil || withHess
		for w := range parts {
			p := &parts[w]
			p.ll, p.gr, p.galpha = 0, 0, 0
			clear(p.sx)
			p.hrr, p.hra, p.haa = 0, 0, 0
			if withHess {
				if p.s1 == nil {
					p.s1, p.s2, p.s3 = make([]float64, nx), make([]float64, nx), make([]float64, nx)
				}
				clear(p.s1)
				clear(p.s2)
				clear(p.s3)
			}
		}
		parallelFor(len(tb.rows), 16384, func(lo, hi, wk int) {
			p := &parts[wk]
			var ll, gr, gal float64
			var hrr, hra, haa float64
			for i := lo; i < hi; i++ {
				w := d.w[i]
				j := tb.xi[i]
				rx := r + tb.xs[j]
				ti := tb.ti[i]
				lT := logs[ti]
				ll -= w * rx * lT
				c := cx[j]
				if withGrad {
					gr -= w * lT
					gal -= w * rx * invs[ti]
				}
				if withHess {
					iT := invs[ti]
					hra -= w * iT
					haa += w * rx * iT * iT
				}
				if math.IsInf(c, -1) {
					continue
				}
				txi := tb.txi[i]
				dl := lT - logs[txi]
				sp, s := softplus(c + rx*dl)
				ll += w * sp
				if withGrad {
					ws := w * s
					gr += ws * dl
					gal += ws * rx * (invs[ti] - invs[txi])
					p.sx[j] += ws
					if withHess {
						iT, it := invs[ti], invs[txi]
						dd := iT - it
						v := ws * (1 - s) // w s(1-s)
						hrr += v * dl * dl
						hra += v*dl*rx*dd + ws*dd
						haa += v*rx*rx*dd*dd + ws*rx*(it*it-iT*iT)
						p.s1[j] += v
						p.s2[j] += v * dl
						p.s3[j] += v * rx * dd
					}
				}
			}
			p.ll, p.gr, p.galpha = ll, gr, gal
			p.hrr, p.hra, p.haa = hrr, hra, haa
		})
		var ll, gr, gal float64
		var hrr, hra, haa, hrA, hrB, haA, haB, hAA, hAB, hBB float64
		for w := range parts {
			ll += parts[w].ll
			gr += parts[w].gr
			gal += parts[w].galpha
			hrr += parts[w].hrr
			hra += parts[w].hra
			haa += parts[w].haa
		}
		lgr, _ := math.Lgamma(r)
		lgab, _ := math.Lgamma(a + b)
		lgb, _ := math.Lgamma(b)
		ll += r * math.Log(alpha) * d.sumW
		var ga, gb float64
		var psiR, psiAB, psiB float64
		var triR, triAB, triB float64
		if withGrad {
			psiR, psiAB, psiB = digamma(r), digamma(a+b), digamma(b)
			gr += math.Log(alpha) * d.sumW
			gal += r * d.sumW / alpha
		}
		if withHess {
			triR, triAB, triB = trigamma(r), trigamma(a+b), trigamma(b)
			hra += d.sumW / alpha
			haa -= r * d.sumW / (alpha * alpha)
		}
		for j, x := range tb.xs {
			wx := tb.xWeights[j]
			l1, _ := math.Lgamma(r + x)
			l2, _ := math.Lgamma(b + x + k)
			l3, _ := math.Lgamma(a + b + x + k)
			ll += wx * (l1 - lgr + l2 - lgb - l3 + lgab)
			if withGrad {
				p3 := digamma(a + b + x + k)
				gr += wx * (digamma(r+x) - psiR)
				ga += wx * (psiAB - p3)
				gb += wx * (digamma(b+x+k) - psiB - p3 + psiAB)
				if !math.IsInf(cx[j], -1) {
					var sx float64
					for w := range parts {
						sx += parts[w].sx[j]
					}
					ga += sx / a
					gb -= sx / (b + x + k - 1)
					if withHess {
						var s1, s2, s3 float64
						for w := range parts {
							s1 += parts[w].s1[j]
							s2 += parts[w].s2[j]
							s3 += parts[w].s3[j]
						}
						ib := 1 / (b + x + k - 1)
						hrA += s2 / a
						hrB -= s2 * ib
						haA += s3 / a
						haB -= s3 * ib
						hAA += (s1 - sx) / (a * a)
						hAB -= s1 * ib / a
						hBB += (s1 + sx) * ib * ib
					}
				}
			}
			if withHess {
				t3 := trigamma(a + b + x + k)
				hrr += wx * (trigamma(r+x) - triR)
				hAA += wx * (triAB - t3)
				hAB += wx * (triAB - t3)
				hBB += wx * (trigamma(b+x+k) - triB - t3 + triAB)
			}
		}
		if grad != nil {
			// d(-ll)/d(log theta) = -theta * d ll/d theta
			grad[0] = -r * gr
			grad[1] = -alpha * gal
			grad[2] = -a * ga
			grad[3] = -b * gb
		}
		if withHess {
			logHessian(hess, []float64{r, alpha, a, b}, []float64{gr, gal, ga, gb}, [][]float64{
				{hrr, hra, hrA, hrB},
				{hra, haa, haA, haB},
				{hrA, haA, hAA, hAB},
				{hrB, haB, hAB, hBB},
			})
		}
		return -ll
	}
}

// betaGeoStarts returns starting points (log-parameters) scaled to the data's purchase rate.
func betaGeoStarts(rows []RFM) [][]float64 {
	var sx, st float64
	for _, r := range rows {
		w := rowWeight(r)
		sx += w * r.X
		st += w * r.T
	}
	rate := 1.0
	if sx > 0 && st > 0 {
		rate = sx / st
	}
	raw := [][]float64{
		{1, 1 / rate, 1, 1},
		{0.3, 0.15 / rate, 0.8, 2.5},
		{2, 4 / rate, 2, 6},
	}
	out := make([][]float64, len(raw))
	for i, p := range raw {
		out[i] = make([]float64, len(p))
		for j, v := range p {
			out[i][j] = math.Log(v)
		}
	}
	return out
}

// subsampleThreshold is the number of unique rows above which the multi-start search runs on a
// subsample and only the best optimum is polished on all rows.
const subsampleThreshold = 10000

// subsampleRows keeps every row without repeat purchases (few unique rows carrying much weight) and
// every stride-th other row with its weight multiplied by stride.
func subsampleRows(rows []RFM, target int) []RFM {
	stride := len(rows) / target
	if stride < 2 {
		return rows
	}
	out := make([]RFM, 0, target+1024)
	n := 0
	for _, r := range rows {
		if r.X == 0 {
			r.Weight = rowWeight(r)
			out = append(out, r)
			continue
		}
		if n%stride == 0 {
			r.Weight = rowWeight(r) * float64(stride)
			out = append(out, r)
		}
		n++
	}
	return out
}

func fitBetaGeo(rows []RFM, modified, distinct bool) (PurchaseModel, error) {
	name := "BGNBD"
	var k float64
	if modified {
		name, k = "ModifiedBGNBD", 1
	}
	unique, err := fittableRows(name, rows, distinct)
	if err != nil {
		return nil, err
	}
	var sub objective
	if len(unique) > subsampleThreshold {
		sub = betaGeoObjective(newBetaGeoData(subsampleRows(unique, subsampleThreshold/2)), k)
	}
	data := newBetaGeoData(unique)
	res, err := fitTwoStageNewton(name, betaGeoNames, betaGeoLikelihood(data, k), sub, betaGeoStarts(unique))
	if err != nil {
		return nil, err
	}
	m := newBetaGeo(modified, res.Params)
	m.fit = res
	if distinct {
		m.tables = data.tb
	}
	return m, nil
}

// fittableRows checks a purchase model's data and compresses it (unless its rows are distinct
// already): customers, valid (x, t_x, T), and at least one repeat transaction, without which
// purchase rates cannot be estimated.
func fittableRows(name string, rows []RFM, distinct bool) ([]RFM, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: %w: no customers", name, errFit)
	}
	if err := validateRFM(name, rows); err != nil {
		return nil, err
	}
	unique := rows
	if !distinct {
		unique, _ = Compress(rows)
	}
	for _, r := range unique {
		if r.X > 0 {
			return unique, nil
		}
	}
	return nil, fmt.Errorf("%s: %w: no customer has repeat transactions, so purchase rates cannot be estimated", name, errFit)
}
