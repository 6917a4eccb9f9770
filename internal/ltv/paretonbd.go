package ltv

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// ParetoNBD is the Pareto/NBD model (Schmittlein, Morrison & Colombo 1987): while alive a customer
// buys as a Poisson process with rate lambda ~ Gamma(r, alpha) and stays alive for an exponential
// lifetime with rate mu ~ Gamma(s, beta). alpha and beta are in the data's time unit; r and s have no
// unit. Expressions follow Fader, Hardie & Lee (2005) and Fader & Hardie (2005), "A note on deriving
// the Pareto/NBD model and related expressions".
type ParetoNBD struct {
	R, Alpha, S, Beta float64
	fit               FitResult
}

var paretoNBDNames = []string{"r", "alpha", "s", "beta"}

const paretoNBDModel = "ParetoNBD"

// NewParetoNBD returns the model with the given parameters (all positive and finite).
func NewParetoNBD(r, alpha, s, beta float64) (*ParetoNBD, error) {
	for i, v := range []float64{r, alpha, s, beta} {
		if !(v > 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s: parameter %s = %g is not positive and finite", paretoNBDModel, paretoNBDNames[i], v)
		}
	}
	m := &ParetoNBD{R: r, Alpha: alpha, S: s, Beta: beta}
	m.fit = FitResult{Model: paretoNBDModel, ParamNames: paretoNBDNames, Params: []float64{r, alpha, s, beta}}
	return m, nil
}

// Fit returns the maximum-likelihood fit (or, for a model from NewParetoNBD or WithParams, its
// parameters).
func (m *ParetoNBD) Fit() FitResult { return m.fit }

// WithParams returns the model with parameters (r, alpha, s, beta). It panics on a parameter that is
// not positive and finite.
func (m *ParetoNBD) WithParams(params []float64) PurchaseModel {
	if len(params) != 4 {
		panic(fmt.Sprintf("ltv: Pareto/NBD needs 4 parameters, got %d", len(params)))
	}
	n, err := NewParetoNBD(params[0], params[1], params[2], params[3])
	if err != nil {
		panic("ltv: " + err.Error())
	}
	n.fit = m.fit
	n.fit.Model = paretoNBDModel
	n.fit.ParamNames = paretoNBDNames
	n.fit.Params = append([]float64(nil), params...)
	return n
}

// pnbdPoint holds the parameters and the per-evaluation constants of the likelihood.
type pnbdPoint struct {
	r, alpha, s, beta float64
	alphaGE           bool // alpha >= beta: the hypergeometric is expanded around alpha
}

func (m *ParetoNBD) point() pnbdPoint {
	return pnbdPoint{r: m.R, alpha: m.Alpha, s: m.S, beta: m.Beta, alphaGE: m.Alpha >= m.Beta}
}

// logJ returns log J(t) and, when grad is non-nil, its derivatives with respect to (r, alpha, s, beta).
// J(t) = (r+s+x) int_t^inf (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau is the building block of the
// A0 term of Fader & Hardie (2005): A0 = J(tx) - J(T), i.e. their differences of
// 2F1(r+s+x, s+1; r+s+x+1; .)/(alpha+.)^(r+s+x) (alpha >= beta) or 2F1(r+s+x, r+x; r+s+x+1; .)/(beta+.)^(r+s+x).
//
// With p = r+x, q = s+1, A = r+s+x, Euler's transformation of their hypergeometric gives, for
// alpha >= beta, J(t) = (alpha+t)^-p (beta+t)^-(q-1) G(p; z), z = (alpha-beta)/(alpha+t), and for
// alpha < beta, J(t) = (alpha+t)^-(p-1) (beta+t)^-q G(q; z), z = (beta-alpha)/(beta+t), with
// G(P; z) = 2F1(1, P; A+1; z) = sum_k (P)_k/(A+1)_k z^k: positive terms whose ratios stay below z,
// so the series needs no care for large x (z near 1 goes to the general 2F1).
// lu = log(alpha+t), lv = log(beta+t). The result is split as log J = base + log g; g is returned
// separately (g >= 1) so that the likelihood can use it without a logarithm.
func (pt *pnbdPoint) logJ(x, t, lu, lv float64, grad *[4]float64) (base, g float64) {
	p, q := pt.r+x, pt.s+1
	C := pt.r + pt.s + x + 1
	var P, z, omz float64
	if pt.alphaGE {
		P = p
		z = (pt.alpha - pt.beta) / (pt.alpha + t)
		omz = (pt.beta + t) / (pt.alpha + t)
	} else {
		P = q
		z = (pt.beta - pt.alpha) / (pt.beta + t)
		omz = (pt.alpha + t) / (pt.beta + t)
	}
	lg, g, dP, dC, dz := seriesG(P, C, z, omz, grad != nil)
	if pt.alphaGE {
		base = -p*lu - (q-1)*lv + lg
	} else {
		base = -(p-1)*lu - q*lv + lg
	}
	if grad == nil {
		return base, g
	}
	ia, ib := 1/(pt.alpha+t), 1/(pt.beta+t)
	// d/dr: p and A+1 move; d/ds: q and A+1 move.
	if pt.alphaGE {
		dzA := omz * ia // (beta+t)/(alpha+t)^2
		dzB := -ia
		grad[0] = -lu + dP + dC
		grad[2] = -lv + dC
		grad[1] = -p*ia + dz*dzA
		grad[3] = -(q-1)*ib + dz*dzB
	} else {
		dzB := omz * ib
		dzA := -ib
		grad[0] = -lu + dC
		grad[2] = -lv + dP + dC
		grad[1] = -(p-1)*ia + dz*dzA
		grad[3] = -q*ib + dz*dzB
	}
	return base, g
}

// pnbdSeriesMaxZ is the largest z summed by logG's own series (at most about 450 terms); beyond it
// the general hypergeometric (transformation to 1-z) is used.
const pnbdSeriesMaxZ = 0.92

// seriesG returns G = 2F1(1, P; C; z) = sum_k (P)_k/(C)_k z^k for 0 < P < C and 0 <= z < 1
// (omz = 1-z) as exp(lg)*g, and when derivs, d log G / dP, d log G / dC and d log G / dz.
// Up to z = pnbdSeriesMaxZ it sums the series itself (lg = 0, 1 <= g < 1/(1-z)).
func seriesG(P, C, z, omz float64, derivs bool) (lg, g, dP, dC, dz float64) {
	if z > pnbdSeriesMaxZ {
		lg, dP, dC, dz = logGGeneral(P, C, z, omz, derivs)
		return lg, 1, dP, dC, dz
	}
	if z == 0 {
		return 0, 1, 0, 0, P / C
	}
	g = 1.0
	gP, gC, gz := 0.0, 0.0, 0.0
	cur := 1.0 // (P)_k/(C)_k z^k
	hp, hc := 0.0, 0.0
	for k := 0; k < 2000; k++ {
		fk := float64(k)
		ic := 1 / (C + fk)
		d := cur * (P + fk) * ic // term_{k+1} / z
		next := d * z
		g += next
		if derivs {
			hp += 1 / (P + fk)
			hc += ic
			gP += next * hp
			gC -= next * hc
			gz += (fk + 1) * d
		}
		cur = next
		if cur*(fk+2) <= 1e-17*g*omz {
			break
		}
	}
	return 0, g, gP / g, gC / g, gz / g
}

// seriesGBatch returns G = 2F1(1, P; C; z) (as seriesG, without derivatives) for each z in zs, in
// decreasing order, with omzs = 1-z, in buf.g. The series of all z advance together, so that the
// terms' ratios (P+k)/(C+k) are computed once and the loop over the z has no dependency between
// iterations; z leave from the end of the list (the smallest, converging first) by seriesG's rule.
func seriesGBatch(P, C float64, zs, omzs []float64, buf *pnbdCellBuf) []float64 {
	n := len(zs)
	buf.cur, buf.g = growFloats(buf.cur, n), growFloats(buf.g, n)
	cur, g := buf.cur, buf.g
	// Cells beyond pnbdSeriesMaxZ (at the front) take the general hypergeometric, z = 0 (at the
	// back) gives 1.
	first := 0
	for first < n && zs[first] > pnbdSeriesMaxZ {
		lg, g0, _, _, _ := seriesG(P, C, zs[first], omzs[first], false)
		g[first] = g0 * math.Exp(lg)
		first++
	}
	last := n
	for last > first && zs[last-1] == 0 {
		last--
		g[last] = 1
	}
	for i := first; i < last; i++ {
		cur[i], g[i] = 1, 1
	}
	for k := 0; k < 2000 && last > first; k++ {
		fk := float64(k)
		ratio := (P + fk) / (C + fk)
		cz, gz, zz := cur[first:last], g[first:last], zs[first:last]
		for i := range cz {
			next := cz[i] * ratio * zz[i]
			gz[i] += next
			cz[i] = next
		}
		// seriesG's stopping rule, for the cells at the end (smallest z, fastest convergence).
		for last > first && cur[last-1]*(fk+2) <= 1e-17*g[last-1]*omzs[last-1] {
			last--
		}
	}
	return g
}

// logGGeneral is logG through the general hypergeometric, with central differences for the
// parameter derivatives and d/dz 2F1(1,P;C;z) = (P/C) 2F1(2, P+1; C+1; z).
func logGGeneral(P, C, z, omz float64, derivs bool) (lg, dP, dC, dz float64) {
	lg, _ = logHyp2f1Comp(1, P, C, z, omz)
	if !derivs {
		return lg, 0, 0, 0
	}
	h := 1e-6 * math.Max(1, P)
	lp, _ := logHyp2f1Comp(1, P+h, C, z, omz)
	lm, _ := logHyp2f1Comp(1, P-h, C, z, omz)
	dP = (lp - lm) / (2 * h)
	h = 1e-6 * math.Max(1, C)
	lp, _ = logHyp2f1Comp(1, P, C+h, z, omz)
	lm, _ = logHyp2f1Comp(1, P, C-h, z, omz)
	dC = (lp - lm) / (2 * h)
	l2, _ := logHyp2f1Comp(2, P+1, C+1, z, omz)
	dz = P / C * math.Exp(l2-lg)
	return lg, dP, dC, dz
}

// rowLL returns the log-likelihood of one customer without the constant part
// log Gamma(r+x) - log Gamma(r) + r log(alpha) + s log(beta), as M + log(br) with br in [1, 2]:
//
//	log[ (alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) (J(tx) - J(T)) ],
//
// and adds its derivatives to grad (weighted by w) when grad is non-nil. lsA is log(s/(r+s+x)),
// luT and lvT are log(alpha+T) and log(beta+T), jx and jT are J(tx) and J(T) (with their derivatives
// when grad is non-nil).
func (pt *pnbdPoint) rowLL(x, T, luT, lvT, lsA float64, jx, jT *pnbdJ, w float64, grad *[4]float64) (M, br float64) {
	p := pt.r + x
	l1 := -p*luT - pt.s*lvT
	bx, gvx := jx.base, jx.g
	bT, gvT := jT.base, jT.g
	gx, gT := &jx.grad, &jT.grad
	bx += lsA
	bT += lsA
	// J(tx) >= J(T) and s J(T)/(r+s+x) <= the first term, so with M = max(l1, bx) each of the three
	// exponentials is at most 1 (times g) and the bracket lies in [1, 2] (up to g's factor).
	var e1, ex float64
	if l1 >= bx {
		M, e1, ex = l1, 1, gvx*math.Exp(bx-l1)
	} else {
		M, e1, ex = bx, math.Exp(l1-bx), gvx
	}
	eT := gvT * math.Exp(bT-M)
	br = e1 + ex - eT
	if !(br > 0) {
		// Only rounding when tx = T can make ex - eT negative.
		br = e1
		ex, eT = 0, 0
	}
	if grad != nil {
		// d log(s/A): r: -1/A; s: 1/s - 1/A.
		A := pt.r + pt.s + x
		dsA0 := -1 / A
		dsA2 := 1/pt.s - 1/A
		var d [4]float64
		d[0] = e1*(-luT) + (ex-eT)*dsA0 + ex*gx[0] - eT*gT[0]
		d[1] = e1*(-p/(pt.alpha+T)) + ex*gx[1] - eT*gT[1]
		d[2] = e1*(-lvT) + (ex-eT)*dsA2 + ex*gx[2] - eT*gT[2]
		d[3] = e1*(-pt.s/(pt.beta+T)) + ex*gx[3] - eT*gT[3]
		f := w / br
		for i := range d {
			grad[i] += f * d[i]
		}
	}
	return M, br
}

// pnbdJ is a cached J(t): logJ's two parts and the derivatives of log J.
type pnbdJ struct {
	base, g float64
	grad    [4]float64
}

// pnbdData is the fitting data as columns.
type pnbdData struct {
	x, tx, t, w []float64
	xi          []int32   // index into xs
	xs          []float64 // distinct x values
	xw          []float64 // total weight per distinct x
	totalW      float64
	// When the rows share (x, time) cells (times in whole days: see rowTables.cells), J and its
	// derivatives are computed once per cell and the logarithms once per distinct time.
	tb    *rowTables
	cells *rowCells
}

func newPNBDData(rows []RFM) *pnbdData {
	d := &pnbdData{
		x: make([]float64, len(rows)), tx: make([]float64, len(rows)), t: make([]float64, len(rows)),
		w: make([]float64, len(rows)), xi: make([]int32, len(rows)),
	}
	pos := map[float64]int32{}
	for i, r := range rows {
		d.x[i], d.tx[i], d.t[i], d.w[i] = r.X, r.Tx, r.T, rowWeight(r)
		j, ok := pos[r.X]
		if !ok {
			j = int32(len(d.xs))
			pos[r.X] = j
			d.xs = append(d.xs, r.X)
			d.xw = append(d.xw, 0)
		}
		d.xi[i] = j
		d.xw[j] += d.w[i]
		d.totalW += d.w[i]
	}
	// Cells need distinct times to be shared; with continuous times, stop indexing them early.
	if tb := newRowTablesUpTo(rows, len(rows)/4); tb != nil {
		if c := tb.cells(); c != nil {
			d.tb, d.cells = tb, c
		}
	}
	return d
}

// pnbdBlock is the number of rows per unit of parallel work. Partial sums are kept per block and
// added in block order, so the result does not depend on the number of workers.
const pnbdBlock = 4096

// negLL returns the negative log-likelihood at log-parameters theta and fills grad (with respect to
// the log-parameters) when non-nil.
func (d *pnbdData) negLL(theta, grad []float64) float64 {
	r, alpha, s, beta := math.Exp(theta[0]), math.Exp(theta[1]), math.Exp(theta[2]), math.Exp(theta[3])
	pt := pnbdPoint{r: r, alpha: alpha, s: s, beta: beta, alphaGE: alpha >= beta}
	la, lb := math.Log(alpha), math.Log(beta)
	withGrad := grad != nil
	// Per distinct x: log Gamma(r+x) - log Gamma(r), its r-derivative, and (without cells) J(0) for
	// rows with tx = 0.
	nx := len(d.xs)
	lgx := make([]float64, nx)
	psx := make([]float64, nx)
	lsA := make([]float64, nx)
	j0 := make([]pnbdJ, nx)
	lgr, _ := math.Lgamma(r)
	var psr float64
	if withGrad {
		psr = digamma(r)
	}
	for k, x := range d.xs {
		l, _ := math.Lgamma(r + x)
		lgx[k] = l - lgr
		lsA[k] = math.Log(s / (r + s + x))
		var gp *[4]float64
		if withGrad {
			psx[k] = digamma(r+x) - psr
			gp = &j0[k].grad
		}
		if d.cells == nil {
			j0[k].base, j0[k].g = pt.logJ(x, 0, la, lb, gp)
		}
	}
	// Constant part: sum_x w_x (lgx + r log alpha + s log beta).
	ll := 0.0
	var g [4]float64
	for k := range d.xs {
		wx := d.xw[k]
		ll += wx * (lgx[k] + r*la + s*lb)
		if withGrad {
			g[0] += wx * (psx[k] + la)
			g[1] += wx * r / alpha
			g[2] += wx * lb
			g[3] += wx * s / beta
		}
	}
	// Per distinct time log(alpha+t), log(beta+t) and per cell J, when the rows share cells.
	var lu, lv []float64
	var jc []pnbdJ
	if c := d.cells; c != nil {
		tb := d.tb
		lu, lv = make([]float64, len(tb.times)), make([]float64, len(tb.times))
		for k, t := range tb.times {
			lu[k], lv[k] = math.Log(alpha+t), math.Log(beta+t)
		}
		jc = make([]pnbdJ, len(c.xi))
		pnbdParallel((len(jc)+pnbdBlock-1)/pnbdBlock, func(b int) {
			for q := b * pnbdBlock; q < min((b+1)*pnbdBlock, len(jc)); q++ {
				k := c.ti[q]
				var gp *[4]float64
				if withGrad {
					gp = &jc[q].grad
				}
				jc[q].base, jc[q].g = pt.logJ(tb.xs[c.xi[q]], tb.times[k], lu[k], lv[k], gp)
			}
		})
	}
	n := len(d.x)
	nb := (n + pnbdBlock - 1) / pnbdBlock
	parts := make([]float64, nb)
	var gparts [][4]float64
	if withGrad {
		gparts = make([][4]float64, nb)
	}
	block := func(b int) {
		lo, hi := b*pnbdBlock, min((b+1)*pnbdBlock, n)
		sum := 0.0
		var gb *[4]float64
		if withGrad {
			gb = &gparts[b]
		}
		// Unit-weight rows multiply their brackets (each in [1, 2]) and take one logarithm per 64.
		prod, np := 1.0, 0
		var jxv, jTv pnbdJ
		for i := lo; i < hi; i++ {
			k := d.xi[i]
			x, T := d.x[i], d.t[i]
			var jx, jT *pnbdJ
			var luT, lvT float64
			if c := d.cells; c != nil {
				jx, jT = &jc[c.cTx[i]], &jc[c.cT[i]]
				ti := d.tb.ti[i]
				luT, lvT = lu[ti], lv[ti]
			} else {
				luT, lvT = math.Log(alpha+T), math.Log(beta+T)
				var gp *[4]float64
				if withGrad {
					gp = &jTv.grad
				}
				jTv.base, jTv.g = pt.logJ(x, T, luT, lvT, gp)
				jT = &jTv
				if tx := d.tx[i]; tx == 0 {
					jx = &j0[k]
				} else {
					if withGrad {
						gp = &jxv.grad
					}
					jxv.base, jxv.g = pt.logJ(x, tx, math.Log(alpha+tx), math.Log(beta+tx), gp)
					jx = &jxv
				}
			}
			w := d.w[i]
			M, br := pt.rowLL(x, T, luT, lvT, lsA[k], jx, jT, w, gb)
			if w == 1 {
				sum += M
				prod *= br
				if np++; np == 64 {
					sum += math.Log(prod)
					prod, np = 1, 0
				}
			} else {
				sum += w * (M + math.Log(br))
			}
		}
		parts[b] = sum + math.Log(prod)
	}
	pnbdParallel(nb, block)
	for b := 0; b < nb; b++ {
		ll += parts[b]
		if withGrad {
			for i := range g {
				g[i] += gparts[b][i]
			}
		}
	}
	if withGrad {
		// Chain rule to log-parameters.
		g[0] *= r
		g[1] *= alpha
		g[2] *= s
		g[3] *= beta
		for i := range grad {
			grad[i] = -g[i]
		}
	}
	if math.IsNaN(ll) {
		return math.Inf(1)
	}
	return -ll
}

// pnbdParallel runs fn(0..n-1) on all workers, handing out items through an atomic counter.
func pnbdParallel(n int, fn func(int)) {
	w := min(workers(), n)
	if w <= 1 {
		for b := 0; b < n; b++ {
			fn(b)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for k := 0; k < w; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b := int(next.Add(1)) - 1
				if b >= n {
					return
				}
				fn(b)
			}
		}()
	}
	wg.Wait()
}

// pnbdSubsampleAt is the number of unique rows above which the multi-start search runs on a
// subsample of pnbdSubsampleSize rows and only its best optimum is refined on all rows.
const (
	pnbdSubsampleAt   = 60000
	pnbdSubsampleSize = 20000
)

// pnbdSubsample keeps every stride-th row, weights multiplied by the stride (times and purchase
// counts are continuous for most data, so unlike BG/NBD there is no small set of heavy rows).
func pnbdSubsample(rows []RFM, target int) []RFM {
	stride := len(rows) / target
	if stride < 2 {
		return rows
	}
	out := make([]RFM, 0, len(rows)/stride+1)
	for i := 0; i < len(rows); i += stride {
		r := rows[i]
		r.Weight = rowWeight(r) * float64(stride)
		out = append(out, r)
	}
	return out
}

// pnbdStarts returns starting log-parameters scaled to the data: alpha from the mean purchase rate,
// beta from the mean observation time.
func pnbdStarts(rows []RFM) [][]float64 {
	var sx, st, sw float64
	for _, r := range rows {
		w := rowWeight(r)
		sx += w * r.X
		st += w * r.T
		sw += w
	}
	rate, meanT := 1.0, 1.0
	if sx > 0 && st > 0 {
		rate = sx / st
	}
	if st > 0 && sw > 0 {
		meanT = st / sw
	}
	raw := [][]float64{
		{1, 1 / rate, 1, meanT},
		{0.5, 0.5 / rate, 0.5, meanT / 2},
		{0.3, 0.3 / rate, 2, 6 * meanT},
		{2, 2 / rate, 0.3, meanT / 5},
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

// pnbdMultiStart runs the starts one after the other on d and stops as soon as two of them reach the
// same optimum (log-likelihood within 1e-6 relative, parameters within 1e-3); otherwise it runs them
// all. It returns the best fit, with the covariance computed for it alone.
func pnbdMultiStart(d *pnbdData, starts [][]float64) (FitResult, bool) {
	var found []FitResult
	best := -1
	for _, st := range starts {
		fr, err := searchSubsampleNoCovariance(paretoNBDModel, paretoNBDNames, d.negLL, [][]float64{st})
		if err != nil {
			continue
		}
		agree := false
		for _, o := range found {
			if math.Abs(o.LogLikelihood-fr.LogLikelihood) <= 1e-6*math.Abs(fr.LogLikelihood) && pnbdSameParams(o.Params, fr.Params) {
				agree = true
			}
		}
		found = append(found, fr)
		if best < 0 || fr.LogLikelihood > found[best].LogLikelihood {
			best = len(found) - 1
		}
		if agree {
			break
		}
	}
	if best < 0 {
		return FitResult{}, false
	}
	return withCovariance(found[best], d.negLL), true
}

// pnbdLogParams returns the logarithms of positive parameters.
func pnbdLogParams(p []float64) []float64 {
	out := make([]float64, len(p))
	for i, v := range p {
		out[i] = math.Log(v)
	}
	return out
}

func pnbdSameParams(a, b []float64) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-3*math.Max(math.Abs(a[i]), math.Abs(b[i])) {
			return false
		}
	}
	return true
}

// FitParetoNBD fits the Pareto/NBD model by maximum likelihood. rows may be per-customer or unique
// rows with weights. The log-likelihood per row (Fader & Hardie 2005, eq. 9-10) is evaluated in log
// space with an analytic gradient (the hypergeometric's parameter derivatives are summed alongside
// it) and in parallel over blocks of rows; when rows share (x, time) cells (times in whole days), the
// hypergeometric terms are computed once per cell. Several starts are tried; with more than 60,000 unique
// rows they run on a 20,000-row subsample (stopping once two agree) and the best is then refined on all rows.
func FitParetoNBD(rows []RFM) (PurchaseModel, error) {
	return fitParetoNBD(rows, false)
}

// FitParetoNBDCells is FitParetoNBD on customers already collapsed into cells.
func FitParetoNBDCells(c Cells) (PurchaseModel, error) {
	return fitParetoNBD(c.Rows, true)
}

func fitParetoNBD(rows []RFM, distinct bool) (PurchaseModel, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: %w: no customers", paretoNBDModel, errFit)
	}
	if err := validateRFM(paretoNBDModel, rows); err != nil {
		return nil, err
	}
	unique := rows
	if !distinct {
		unique, _ = Compress(rows)
	}
	var sx float64
	for _, r := range unique {
		sx += r.X
	}
	if sx == 0 {
		return nil, fmt.Errorf("%s: %w: no repeat purchases in the data", paretoNBDModel, errFit)
	}
	starts := pnbdStarts(unique)
	d := newPNBDData(unique)
	var res FitResult
	var err error
	if len(unique) > pnbdSubsampleAt {
		sub := newPNBDData(pnbdSubsample(unique, pnbdSubsampleSize))
		pre, ok := pnbdMultiStart(sub, starts)
		switch {
		case !ok:
			res, err = maximizeLikelihoodCheapGrad(paretoNBDModel, paretoNBDNames, d.negLL, starts)
		case pre.LogCovariance == nil:
			res, err = maximizeLikelihoodCheapGrad(paretoNBDModel, paretoNBDNames, d.negLL, [][]float64{pnbdLogParams(pre.Params)})
		default:
			// The subsample's weights add up to the full data's, so its inverse Hessian estimates
			// the full data's: a quasi-Newton polish from there needs only a few evaluations.
			res, err = polishLikelihood(paretoNBDModel, paretoNBDNames, d.negLL, pnbdLogParams(pre.Params), pre.LogCovariance)
		}
	} else {
		res, err = maximizeLikelihoodCheapGrad(paretoNBDModel, paretoNBDNames, d.negLL, starts)
	}
	if err != nil {
		return nil, err
	}
	m, err := NewParetoNBD(res.Params[0], res.Params[1], res.Params[2], res.Params[3])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errFit, err)
	}
	m.fit = res
	return m, nil
}

// logAliveOdds returns log[(1-P(alive))/P(alive)] for a customer with (x, tx, T):
// log[s/(r+s+x) (J(tx) - J(T))] - log[(alpha+T)^-(r+x) (beta+T)^-s].
func (m *ParetoNBD) logAliveOdds(x, tx, T float64) float64 {
	if !(tx < T) {
		return math.Inf(-1)
	}
	pt := m.point()
	bx, gx := pt.logJ(x, tx, math.Log(m.Alpha+tx), math.Log(m.Beta+tx), nil)
	return m.logAliveOddsWith(x, T, bx+math.Log(gx))
}

// logAliveOddsWith is logAliveOdds given log J(tx).
func (m *ParetoNBD) logAliveOddsWith(x, T, lx float64) float64 {
	pt := m.point()
	luT, lvT := math.Log(m.Alpha+T), math.Log(m.Beta+T)
	l1 := -(m.R+x)*luT - m.S*lvT
	bT, gT := pt.logJ(x, T, luT, lvT, nil)
	lT := bT + math.Log(gT)
	if !(lx > lT) {
		return math.Inf(-1)
	}
	// log(e^lx - e^lT) = lx + log(-expm1(lT-lx))
	return math.Log(m.S/(m.R+m.S+x)) + lx + math.Log(-math.Expm1(lT-lx)) - l1
}

// ProbabilityAlive is P(alive at T | x, tx, T) = 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0).
func (m *ParetoNBD) ProbabilityAlive(x, tx, T float64) float64 {
	return logistic(m.logAliveOdds(x, tx, T))
}

// expectedIfAlive is E[purchases in (T, T+t] | alive at T, x]: a posteriori lambda ~ Gamma(r+x,
// alpha+T) and mu ~ Gamma(s, beta+T), so
//
//	(r+x)/(alpha+T) * (beta+T)/(s-1) * [1 - ((beta+T)/(beta+T+t))^(s-1)],
//
// computed as (r+x)/(alpha+T) (beta+T) (-expm1(-(s-1) log1p(t/(beta+T))))/(s-1), which is continuous
// through s = 1 (the limit (beta+T) log(1 + t/(beta+T))).
func (m *ParetoNBD) expectedIfAlive(t, x, T float64) float64 {
	return (m.R + x) / (m.Alpha + T) * m.expectedIfAlivePerRate(t, T)
}

// expectedIfAlivePerRate is expectedIfAlive divided by the posterior mean rate (r+x)/(alpha+T):
// the expected lifetime in (T, T+t], (beta+T)/(s-1) [1 - ((beta+T)/(beta+T+t))^(s-1)].
func (m *ParetoNBD) expectedIfAlivePerRate(t, T float64) float64 {
	if !(t > 0) {
		return 0
	}
	bT := m.Beta + T
	L := math.Log1p(t / bT)
	return bT * L * expm1Ratio(-(m.S-1)*L)
}

// pairTerms computes the per-(x, T) horizon sums of clvPrep.terms (as pairTermsDirect does, exactly).
// expectedIfAlive(t, x, T) is (r+x)/(alpha+T) times a function of (t, T) alone and survivalIfAlive
// does not depend on x, so the sums over the months are computed once per distinct T and scaled.
func (m *ParetoNBD) pairTerms(pairs []RFM, ppm float64, discount []float64, withCost, _ bool, expected, disc, alive []float64) {
	td := newDistinctIndex(256)
	var he, hd, ha []float64 // per distinct T: the sums divided by (r+x)/(alpha+T), and the survival sum
	for i, pr := range pairs {
		k := int(td.add(pr.T))
		if k == len(he) {
			T := pr.T
			prev, d, a := 0.0, 0.0, 0.0
			for mo := 1; mo <= len(discount); mo++ {
				g := m.expectedIfAlivePerRate(float64(mo)*ppm, T)
				if g < prev {
					g = prev
				}
				d += (g - prev) * discount[mo-1]
				prev = g
				if withCost {
					a += m.survivalIfAlive(float64(mo-1)*ppm, 0, T) * discount[mo-1]
				}
			}
			he, hd, ha = append(he, prev), append(hd, d), append(ha, a)
		}
		f := (m.R + pr.X) / (m.Alpha + pr.T)
		expected[i], disc[i], alive[i] = f*he[k], f*hd[k], ha[k]
	}
}

// survivalIfAlive is P(alive at T+t | alive at T) = ((beta+T)/(beta+T+t))^s.
func (m *ParetoNBD) survivalIfAlive(t, x, T float64) float64 {
	if !(t > 0) {
		return 1
	}
	return math.Exp(-m.S * math.Log1p(t/(m.Beta+T)))
}

// ExpectedPurchases is the conditional expectation E[X(T, T+t] | x, tx, T] (Fader & Hardie 2005,
// eq. 22): P(alive) times expectedIfAlive.
func (m *ParetoNBD) ExpectedPurchases(t, x, tx, T float64) float64 {
	if !(t > 0) {
		return 0
	}
	return m.ProbabilityAlive(x, tx, T) * m.expectedIfAlive(t, x, T)
}

// UnconditionalExpected is E[X(t)] = r beta/(alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] for a new
// customer (continuous through s = 1).
func (m *ParetoNBD) UnconditionalExpected(t float64) float64 {
	return m.expectedIfAlive(t, 0, 0)
}

// pnbdCellPool recycles the per-time and per-cell tables of probabilityAliveRows (one set per
// uncertainty draw).
var pnbdCellPool = sync.Pool{New: func() any { return new(pnbdCellBuf) }}

type pnbdCellBuf struct{ la, lb, e, w, cx, cur, g []float64 }

// growFloats returns s resliced to n, reallocated when too small.
func growFloats(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// pnbdMaxHalfSpan bounds, per x, half the range of the exponents tabulated as exp(L - mid) by
// probabilityAliveRows, so that the table and its reciprocals stay far from overflow and underflow.
const pnbdMaxHalfSpan = 600

// probabilityAliveRows sets out[i] to ProbabilityAlive of tb.rows[i], computing the special
// function once per distinct (x, time) cell of the rows rather than twice per row.
//
// With K(t) = (alpha+t)^-(r+x) (beta+t)^-s and R(x, t) = J(t)/K(t) (see logJ; R = G(r+x; z) for
// alpha >= beta, (1-z) G(s+1; z) otherwise, so R lies between min(alpha, beta)/max(alpha, beta) and
// its inverse), the odds of logAliveOdds are
//
//	s/(r+s+x) (J(tx) - J(T))/K(T) = s/(r+s+x) (R(x, tx) e^D - R(x, T)),  D = L(x, T) - L(x, tx),
//
// with L(x, t) = (r+x) log(alpha+t) + s log(beta+t). Per cell it tabulates E = exp(L - mid_x) and
// W = R/E (mid_x the middle of L over the cells of x), so that a row costs
// odds = s/(r+s+x) E(x, T) (W(x, tx) - W(x, T)): no special function, logarithm or exponential.
// When L spans more than 2*pnbdMaxHalfSpan over the cells of one x, that x's rows compute the log
// odds from R and D instead.
// The result equals ProbabilityAlive up to rounding (the tests check 1e-12 relative). Rows that share
// few cells (continuous times) are computed one by one.
func (m *ParetoNBD) probabilityAliveRows(tb *rowTables, out []float64) {
	c := tb.cells()
	if c == nil {
		m.probabilityAliveEach(tb, out)
		return
	}
	buf := pnbdCellPool.Get().(*pnbdCellBuf)
	defer pnbdCellPool.Put(buf)
	nt, nc, nx := len(tb.times), len(c.xi), len(tb.xs)
	buf.la, buf.lb = growFloats(buf.la, nt), growFloats(buf.lb, nt)
	buf.e, buf.w = growFloats(buf.e, nc), growFloats(buf.w, nc)
	buf.cx = growFloats(buf.cx, nx)
	la, lb, e, w, cx := buf.la, buf.lb, buf.e, buf.w, buf.cx
	for k, t := range tb.times {
		la[k], lb[k] = math.Log(m.Alpha+t), math.Log(m.Beta+t)
	}
	alphaGE := m.Alpha >= m.Beta
	lo, hi := math.Min(m.Alpha, m.Beta), math.Max(m.Alpha, m.Beta)
	d := hi - lo
	for j, x := range tb.xs {
		p := m.R + x
		C := m.R + m.S + x + 1
		P := m.S + 1
		if alphaGE {
			P = p
		}
		lmin, lmax := math.Inf(1), math.Inf(-1)
		cells := c.ti[c.xStart[j]:c.xStart[j+1]]
		ej, wj := e[c.xStart[j]:c.xStart[j+1]], w[c.xStart[j]:c.xStart[j+1]]
		for q, k := range cells {
			t := tb.times[k]
			ej[q], wj[q] = d/(hi+t), (lo+t)/(hi+t) // z, 1-z
		}
		G := seriesGBatch(P, C, ej, wj, buf)
		for q, k := range cells {
			t := tb.times[k]
			R := G[q]
			if !alphaGE {
				R *= (lo + t) / (hi + t)
			}
			L := p*la[k] + m.S*lb[k]
			wj[q], ej[q] = R, L
			lmin, lmax = math.Min(lmin, L), math.Max(lmax, L)
		}
		cx[j] = m.S / (m.R + m.S + x)
		if (lmax-lmin)/2 > pnbdMaxHalfSpan {
			cx[j] = -cx[j] // marks x for the log-odds path: e holds L, w holds R
			continue
		}
		mid := (lmin + lmax) / 2
		for q := range ej {
			ej[q] = math.Exp(ej[q] - mid)
			wj[q] /= ej[q]
		}
	}
	for i := range out {
		cT, cX := c.cT[i], c.cTx[i]
		if cT == cX { // tx = T (tx > T, allowed by rounding, gives odds <= 0 below)
			out[i] = 1
			continue
		}
		f := cx[tb.xi[i]]
		if f < 0 {
			// log odds = log(f R(tx)) + D + log(1 - R(T)/R(tx) e^-D), D = L(T) - L(tx) >= 0.
			D := e[cT] - e[cX]
			y := w[cT] / w[cX] * math.Exp(-D)
			switch {
			case y < 1:
				out[i] = logistic(math.Log(-f*w[cX]) + D + math.Log1p(-y))
			case y >= 1: // only rounding, with tx near T
				out[i] = 1
			default:
				row := tb.rows[i]
				out[i] = m.ProbabilityAlive(row.X, row.Tx, row.T)
			}
			continue
		}
		// Overflows to +Inf (P = 0) only when P is below the smallest normal number.
		odds := f * e[cT] * (w[cX] - w[cT])
		switch {
		case odds > 0:
			out[i] = 1 / (1 + odds)
		case odds <= 0: // only rounding, with tx near T
			out[i] = 1
		default:
			row := tb.rows[i]
			out[i] = m.ProbabilityAlive(row.X, row.Tx, row.T)
		}
	}
}

// probabilityAliveEach is probabilityAliveRows row by row; rows with tx = 0 share J(0) per distinct x.
func (m *ParetoNBD) probabilityAliveEach(tb *rowTables, out []float64) {
	pt := m.point()
	j0 := make([]float64, len(tb.xs))
	la, lb := math.Log(m.Alpha), math.Log(m.Beta)
	for k, x := range tb.xs {
		b, g := pt.logJ(x, 0, la, lb, nil)
		j0[k] = b + math.Log(g)
	}
	for i, row := range tb.rows {
		switch {
		case !(row.Tx < row.T):
			out[i] = 1
		case row.Tx == 0:
			out[i] = logistic(m.logAliveOddsWith(row.X, row.T, j0[tb.xi[i]]))
		default:
			out[i] = m.ProbabilityAlive(row.X, row.Tx, row.T)
		}
	}
}
