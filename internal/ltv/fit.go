package ltv

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/optimize"
)

// FitResult describes a maximum-likelihood fit. Parameters are in the literature's names and units.
type FitResult struct {
	Model      string
	ParamNames []string
	Params     []float64
	// StdErrors are the parameters' standard errors from the inverse Hessian (delta method through
	// the log transform); zero when the Hessian was not positive definite.
	StdErrors []float64
	// LogCovariance is the covariance of the log-parameters (the scale the optimiser works on),
	// used to draw parameters for uncertainty intervals. Nil when unavailable.
	LogCovariance [][]float64
	LogLikelihood float64
	Converged     bool
	Iterations    int
	// GradientNorm is the norm of the log-likelihood's gradient over the log-parameters at the
	// last point where it was evaluated: the optimum, or the point Newton's unevaluated final
	// step started from (see newtonFinalStep).
	GradientNorm float64

	logParams []float64 // the optimiser's log-parameters (exactly; for withCovariance)
}

// Param returns the named parameter, or NaN when the model has no such parameter.
func (f FitResult) Param(name string) float64 {
	for i, n := range f.ParamNames {
		if n == name {
			return f.Params[i]
		}
	}
	return math.NaN()
}

// objective is a negative log-likelihood over log-parameters. When grad is non-nil it must be
// filled with the gradient with respect to the log-parameters.
type objective func(logTheta, grad []float64) float64

// hessianObjective is an objective that also fills hess, when it is not nil, with the Hessian
// over the log-parameters (n rows of n). A non-nil hess implies the gradient is computed too.
type hessianObjective func(logTheta, grad []float64, hess [][]float64) float64

// objective is h without the Hessian.
func (h hessianObjective) objective() objective {
	return func(logTheta, grad []float64) float64 { return h(logTheta, grad, nil) }
}

// logHessian sets hess to the Hessian of the negative log-likelihood over log-parameters, from
// the log-likelihood's gradient g and Hessian h over the parameters theta:
// d2/dlog_i dlog_j = theta_i theta_j h_ij + [i == j] theta_i g_i, negated.
func logHessian(hess [][]float64, theta, g []float64, h [][]float64) {
	for i := range theta {
		for j := range theta {
			v := theta[i] * theta[j] * h[i][j]
			if i == j {
				v += theta[i] * g[i]
			}
			hess[i][j] = -v
		}
	}
}

// trigamma is the second derivative of log Gamma at x > 0 (the Hurwitz zeta function at 2).
func trigamma(x float64) float64 { return mathext.Zeta(2, x) }

// errFit marks every fitting failure so callers can tell it from input errors.
var errFit = errors.New("fit failed")

// maximizeLikelihood minimises negLL over log-parameters from each starting point and keeps the best
// optimum. Working in log space keeps every parameter positive without constraints.
//
// The optimiser sees negLL divided by its magnitude at the start, so that the gradient threshold means
// the same for 2,000 customers as for 10 million. A value and its gradient are computed in one call
// of negLL and cached: gonum's line search asks for the function and then the gradient at the same
// point. The fit counts as converged when the gradient norm is below 1e-6 * |log-likelihood| (a line
// search that can make no further progress there is a normal end, not a failure).
func maximizeLikelihood(model string, names []string, negLL objective, starts [][]float64) (FitResult, error) {
	return maximize(model, names, negLL, starts, false, gradientThreshold, true)
}

// gradientThreshold is the norm of the scaled gradient (see maximizeLikelihood) at which BFGS
// stops. subsampleGradientThreshold is the looser one of a multi-start search on a subsample:
// its optimum only starts the polish on every row, which goes on to gradientThreshold, and the
// subsample's own optimum is off the full data's by far more than 1e-6 (at 100k customers the
// search took 179 evaluations at 1e-9, 69 at 1e-6, to the same polished fit).
const (
	gradientThreshold          = 1e-9
	subsampleGradientThreshold = 1e-6
)

// maximizeLikelihoodCheapGrad is maximizeLikelihood for objectives whose gradient costs little more
// than their value (analytic gradients): every evaluation computes both, so the line search's
// function-then-gradient requests at one point cost a single pass over the data.
func maximizeLikelihoodCheapGrad(model string, names []string, negLL objective, starts [][]float64) (FitResult, error) {
	return maximize(model, names, negLL, starts, true, gradientThreshold, true)
}

// searchSubsample is maximizeLikelihoodCheapGrad for the multi-start search on a subsample,
// stopping at subsampleGradientThreshold.
func searchSubsample(model string, names []string, negLL objective, starts [][]float64) (FitResult, error) {
	return maximize(model, names, negLL, starts, true, subsampleGradientThreshold, true)
}

// searchSubsampleNoCovariance is searchSubsample without the covariance (the n gradients of
// its finite-difference Hessian), for a search whose result may be discarded: withCovariance
// adds it afterwards to the one kept.
func searchSubsampleNoCovariance(model string, names []string, negLL objective, starts [][]float64) (FitResult, error) {
	return maximize(model, names, negLL, starts, true, subsampleGradientThreshold, false)
}

// withCovariance adds the covariance and standard errors of the finite-difference Hessian at a
// fit's optimum (as maximize computes them) to a fit found without them.
func withCovariance(res FitResult, negLL objective) FitResult {
	setCovariance(&res, inverseHessian(negLL, res.logParams))
	return res
}

// setParams sets res.Params from log-parameters, failing on a parameter that is zero or not
// finite (the fit diverged).
func setParams(res *FitResult, logParams []float64) error {
	res.Params = make([]float64, len(logParams))
	for i, v := range logParams {
		res.Params[i] = math.Exp(v)
		if math.IsNaN(res.Params[i]) || math.IsInf(res.Params[i], 0) || res.Params[i] == 0 {
			return fmt.Errorf("%s: %w: parameter %s diverged", res.Model, errFit, res.ParamNames[i])
		}
	}
	return nil
}

// setCovariance sets res's covariance of the log-parameters to cov (nil: none, a Hessian that
// was not positive definite) and the standard errors from it (zero without it).
func setCovariance(res *FitResult, cov [][]float64) {
	res.LogCovariance, res.StdErrors = cov, make([]float64, len(res.Params))
	if cov == nil {
		return
	}
	for i := range res.Params {
		res.StdErrors[i] = res.Params[i] * math.Sqrt(cov[i][i])
	}
}

func maximize(model string, names []string, negLL objective, starts [][]float64, cheapGrad bool, threshold float64, covariance bool) (FitResult, error) {
	best := FitResult{Model: model, ParamNames: names, LogLikelihood: math.Inf(-1)}
	var bestLog []float64
	var lastErr error
	n := len(names)
	for _, start := range starts {
		res, scale, err := minimizeScaled(negLL, start, n, cheapGrad, threshold)
		if err == nil && res != nil && res.F != math.MaxFloat64 && scale > 10*math.Max(1, math.Abs(res.F*scale)) {
			// The start was far worse than the optimum, so the scaled gradient threshold was loose:
			// continue from there on the optimum's scale.
			res, scale, err = minimizeScaled(negLL, res.X, n, cheapGrad, threshold)
		}
		if res == nil {
			lastErr = err
			continue
		}
		ll := -res.F * scale
		if math.IsNaN(ll) || math.IsInf(ll, 0) || res.F == math.MaxFloat64 {
			lastErr = fmt.Errorf("log-likelihood is not finite")
			continue
		}
		if ll > best.LogLikelihood {
			grad := make([]float64, n)
			ll = -negLL(res.X, grad)
			best.LogLikelihood = ll
			best.Iterations = res.Stats.MajorIterations
			best.GradientNorm = norm(grad)
			best.Converged = best.GradientNorm < 1e-6*math.Max(1, math.Abs(ll))
			bestLog = res.X
		}
	}
	if bestLog == nil {
		return best, fmt.Errorf("%s: %w: %v", model, errFit, lastErr)
	}
	if err := setParams(&best, bestLog); err != nil {
		return best, err
	}
	best.logParams = bestLog
	if !covariance {
		return best, nil
	}
	return withCovariance(best, negLL), nil
}

// minimizeScaled runs gonum's BFGS on negLL/scale from start, with scale = max(1, |negLL(start)|),
// until the scaled gradient's norm is below threshold. A nil result comes with the reason.
func minimizeScaled(negLL objective, start []float64, n int, cheapGrad bool, threshold float64) (*optimize.Result, float64, error) {
	scale := math.Abs(negLL(start, nil))
	if math.IsNaN(scale) || math.IsInf(scale, 0) {
		return nil, 1, fmt.Errorf("log-likelihood is not finite at the starting point")
	}
	scale = math.Max(scale, 1)
	var (
		cacheX  = make([]float64, n)
		cacheG  = make([]float64, n)
		cacheF  float64
		cacheOK bool // cacheX holds the point of cacheF and cacheG
	)
	eval := func(x []float64) {
		if cacheOK && equalSlices(x, cacheX) {
			return
		}
		copy(cacheX, x)
		cacheF = finiteOr(negLL(x, cacheG), math.MaxFloat64)
		cacheOK = true
		for i := range cacheG {
			cacheG[i] = finiteOr(cacheG[i], 0) / scale
		}
	}
	problem := optimize.Problem{
		Func: func(x []float64) float64 {
			var f float64
			if cheapGrad {
				eval(x)
				f = cacheF
			} else {
				f = finiteOr(negLL(x, nil), math.MaxFloat64)
			}
			if f == math.MaxFloat64 {
				return math.MaxFloat64
			}
			return f / scale
		},
		Grad: func(grad, x []float64) {
			eval(x)
			copy(grad, cacheG)
		},
	}
	settings := &optimize.Settings{
		GradientThreshold: threshold,
		MajorIterations:   1000,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-14, Relative: 1e-14, Iterations: 20},
	}
	res, err := optimize.Minimize(problem, append([]float64(nil), start...), settings, &optimize.BFGS{})
	return res, scale, err
}

func equalSlices(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// inverseHessian differentiates the analytic gradient numerically at x and inverts the result.
// It returns nil when the Hessian is not positive definite (a flat or degenerate likelihood).
func inverseHessian(negLL objective, x []float64) [][]float64 {
	n := len(x)
	gp, gm := make([]float64, n), make([]float64, n)
	xs := append([]float64(nil), x...)
	cols := make([][]float64, n)
	for j := 0; j < n; j++ {
		step := 1e-5 * math.Max(1, math.Abs(x[j]))
		xs[j] = x[j] + step
		negLL(xs, gp)
		xs[j] = x[j] - step
		negLL(xs, gm)
		xs[j] = x[j]
		cols[j] = make([]float64, n)
		for i := 0; i < n; i++ {
			cols[j][i] = (gp[i] - gm[i]) / (2 * step)
		}
	}
	return invertSymmetric(cols)
}

// invertSymmetric symmetrises a finite-difference Hessian (cols[j] = d grad / d x_j) and inverts it;
// nil when it is not positive definite or not finite.
func invertSymmetric(cols [][]float64) [][]float64 {
	n := len(cols)
	h := mat.NewSymDense(n, nil)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			v := (cols[i][j] + cols[j][i]) / 2
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil
			}
			h.SetSym(i, j, v)
		}
	}
	var chol mat.Cholesky
	if ok := chol.Factorize(h); !ok {
		return nil
	}
	var inv mat.SymDense
	if err := chol.InverseTo(&inv); err != nil {
		return nil
	}
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, n)
		for j := range out[i] {
			out[i][j] = inv.At(i, j)
		}
	}
	return out
}

// numericGradient fills grad with central differences of f; for models without an analytic gradient.
func numericGradient(f func([]float64) float64, x, grad []float64) {
	xs := append([]float64(nil), x...)
	for i := range x {
		step := 1e-6 * math.Max(1, math.Abs(x[i]))
		xs[i] = x[i] + step
		fp := f(xs)
		xs[i] = x[i] - step
		fm := f(xs)
		xs[i] = x[i]
		grad[i] = (fp - fm) / (2 * step)
	}
}

func norm(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

func finiteOr(v, fallback float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fallback
	}
	return v
}

// fitTwoStage fits large data sets quickly: when sub (the objective of a weighted subsample whose
// total weight matches the full data) is not nil, the multi-start search runs on sub, and only its
// best optimum is polished on the full objective, starting from the subsample's inverse Hessian
// (which estimates the full data's). Without sub it is maximizeLikelihoodCheapGrad.
func fitTwoStage(model string, names []string, full, sub objective, starts [][]float64) (FitResult, error) {
	if sub == nil {
		return maximizeLikelihoodCheapGrad(model, names, full, starts)
	}
	pre, err := searchSubsample(model, names, sub, starts)
	if err != nil {
		return maximizeLikelihoodCheapGrad(model, names, full, starts)
	}
	start := make([]float64, len(pre.Params))
	for i, v := range pre.Params {
		start[i] = math.Log(v)
	}
	if pre.LogCovariance == nil {
		return maximizeLikelihoodCheapGrad(model, names, full, [][]float64{start})
	}
	return polishLikelihood(model, names, full, start, pre.LogCovariance)
}

// fitTwoStageNewton is fitTwoStage for a likelihood with an analytic Hessian: the polish on the
// full data takes Newton steps (newtonPolish), and the covariance is the inverse of the Hessian
// at the optimum, not a finite difference of the gradient. On data small enough for the search
// to run on every row, the search's optimum gets the analytic covariance.
func fitTwoStageNewton(model string, names []string, full hessianObjective, sub objective, starts [][]float64) (FitResult, error) {
	if sub == nil {
		res, err := maximizeLikelihoodCheapGrad(model, names, full.objective(), starts)
		if err != nil {
			return res, err
		}
		return withHessianCovariance(res, full), nil
	}
	pre, err := searchSubsample(model, names, sub, starts)
	if err != nil {
		return maximizeLikelihoodCheapGrad(model, names, full.objective(), starts)
	}
	start := make([]float64, len(pre.Params))
	for i, v := range pre.Params {
		start[i] = math.Log(v)
	}
	if pre.LogCovariance == nil {
		return maximizeLikelihoodCheapGrad(model, names, full.objective(), [][]float64{start})
	}
	return newtonPolish(model, names, full, start, pre.LogCovariance)
}

// withHessianCovariance replaces a fit's covariance and standard errors by the analytic
// Hessian's at its optimum (none when that Hessian is not positive definite).
func withHessianCovariance(res FitResult, negLL hessianObjective) FitResult {
	n := len(res.Params)
	x := make([]float64, n)
	for i, v := range res.Params {
		x[i] = math.Log(v)
	}
	hess := newSquare(n)
	negLL(x, make([]float64, n), hess)
	setCovariance(&res, invertSymmetric(hess))
	return res
}

func newSquare(n int) [][]float64 {
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, n)
	}
	return m
}

// descent sets d to the step -inv g (inv an inverse Hessian or its estimate) and returns the
// slope of the objective along it, d.g (minus the Newton decrement).
func descent(d []float64, inv [][]float64, g []float64) float64 {
	slope := 0.0
	for i := range d {
		d[i] = 0
		for j := range d {
			d[i] -= inv[i][j] * g[j]
		}
		slope += d[i] * g[i]
	}
	return slope
}

// newtonFinalStep is the Newton decrement below which newtonPolish takes its last step without
// evaluating it: a step of at most sqrt(1e-4) = 0.01 standard errors.
const newtonFinalStep = 1e-4

// newtonPolish minimises negLL from a start close to the optimum by Newton's method on the
// analytic Hessian, with a backtracking line search that tries the full step first. Near the
// optimum of a large data set's likelihood the quadratic model is nearly exact, so from a
// subsample's optimum (tens of standard errors away) two or three steps reach it, where the
// quasi-Newton polish took five and then n more gradients for the covariance. Its last step,
// once the Newton decrement is below newtonFinalStep, is not evaluated (see there). It hands
// over to polishLikelihood (from where it got to, with invHessian or the last covariance) when a
// Hessian is not positive definite or a step finds no decrease.
func newtonPolish(model string, names []string, negLL hessianObjective, start []float64, invHessian [][]float64) (FitResult, error) {
	n := len(start)
	x := append([]float64(nil), start...)
	g, hess := make([]float64, n), newSquare(n)
	f := negLL(x, g, hess)
	fallback := func(from []float64, inv [][]float64) (FitResult, error) {
		res, err := polishLikelihood(model, names, negLL.objective(), from, inv)
		if err != nil {
			return res, err
		}
		return withHessianCovariance(res, negLL), nil
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fallback(start, invHessian)
	}
	d, xn, gn, hn := make([]float64, n), make([]float64, n), make([]float64, n), newSquare(n)
	for iter := 0; iter < 50; iter++ {
		cov := invertSymmetric(hess)
		if cov == nil {
			return fallback(x, invHessian)
		}
		slope := descent(d, cov, g)
		// The Newton decrement -slope: see polishLikelihood. Below newtonFinalStep the quadratic
		// model is exact far below the standard errors, so its last step is taken without
		// evaluating where it lands: the point, its log-likelihood (-f plus half the decrement)
		// and the covariance (the Hessian moves by a fraction 1e-2/sqrt(rows) over a hundredth of
		// a standard error) are the model's. The gradient norm reported is the last evaluated.
		if -slope <= math.Max(2e-14*math.Abs(f), newtonFinalStep) {
			gnorm := norm(g)
			for i := range x {
				x[i] += d[i]
			}
			f += slope / 2
			res := FitResult{Model: model, ParamNames: names, LogLikelihood: -f, Iterations: iter + 1, GradientNorm: gnorm}
			res.Converged = res.GradientNorm < 1e-6*math.Max(1, math.Abs(f))
			if err := setParams(&res, x); err != nil {
				return res, err
			}
			setCovariance(&res, cov)
			return res, nil
		}
		step := 1.0
		accepted := false
		for k := 0; k < 40; k++ {
			for i := range xn {
				xn[i] = x[i] + step*d[i]
			}
			fn := negLL(xn, gn, hn)
			if fn <= f+1e-4*step*slope && !math.IsNaN(fn) {
				f, accepted = fn, true
				break
			}
			step /= 2
		}
		if !accepted {
			return fallback(x, cov)
		}
		x, xn = xn, x
		g, gn = gn, g
		hess, hn = hn, hess
	}
	return fallback(x, invHessian)
}

// newtonDecrementSE is the Newton decrement below which polishLikelihood stops: a step of at most
// sqrt(1e-6) = 0.001 standard errors in every direction.
const newtonDecrementSE = 1e-6

// polishLikelihood minimises negLL from a start close to the optimum by BFGS whose inverse Hessian
// starts at invHessian (an estimate of the optimum's), with a backtracking line search that tries
// the full quasi-Newton step first: from a good start a handful of evaluations reach the gradient
// threshold. It falls back to maximizeLikelihoodCheapGrad when the steps stop making progress.
func polishLikelihood(model string, names []string, negLL objective, start []float64, invHessian [][]float64) (FitResult, error) {
	n := len(start)
	x := append([]float64(nil), start...)
	g := make([]float64, n)
	f := negLL(x, g)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return maximizeLikelihoodCheapGrad(model, names, negLL, [][]float64{start})
	}
	h := make([][]float64, n)
	for i := range h {
		h[i] = append([]float64(nil), invHessian[i]...)
	}
	tol := 1e-9 * math.Max(1, math.Abs(f))
	d, xn, gn := make([]float64, n), make([]float64, n), make([]float64, n)
	s, y, hy := make([]float64, n), make([]float64, n), make([]float64, n)
	iter, stalled := 0, 0
	ok := false
	for ; iter < 100; iter++ {
		if norm(g) < tol {
			ok = true
			break
		}
		slope := descent(d, h, g)
		if !(slope < 0) {
			break
		}
		// Newton decrement: the quasi-Newton model predicts a fall of f by at most -slope/2. Below
		// the rounding of a sum over many rows (1e-14 of f) no line search can verify progress, and
		// the step (H g) is already far below the parameters' standard errors: converged. The
		// decrement is also the squared length of the step in standard errors (H estimates the
		// inverse of the negative log-likelihood's Hessian, the parameters' covariance), so below
		// newtonDecrementSE the step moves no parameter by more than a thousandth of its standard
		// error. Without that bound, a likelihood whose terms cancel (Gamma-Gamma at 1M customers:
		// terms of 1e9, a sum of 4e6, rounding noise 1e-5) made the line search halve its step 40
		// times per iteration on noise: 120 wasted passes over the data.
		if -slope <= math.Max(2e-14*math.Abs(f), newtonDecrementSE) {
			ok = true
			break
		}
		step, fn := 1.0, math.Inf(1)
		accepted := false
		for k := 0; k < 40; k++ {
			for i := range xn {
				xn[i] = x[i] + step*d[i]
			}
			fn = negLL(xn, gn)
			if fn <= f+1e-4*step*slope && !math.IsNaN(fn) {
				accepted = true
				break
			}
			step /= 2
		}
		if !accepted {
			break
		}
		sy := 0.0
		for i := range s {
			s[i] = xn[i] - x[i]
			y[i] = finiteOr(gn[i], 0) - g[i]
			sy += s[i] * y[i]
		}
		if sy > 1e-12*norm(s)*norm(y) {
			// H <- (I - rho s y') H (I - rho y s') + rho s s'
			rho := 1 / sy
			yhy := 0.0
			for i := range hy {
				hy[i] = 0
				for j := range hy {
					hy[i] += h[i][j] * y[j]
				}
				yhy += y[i] * hy[i]
			}
			for i := range h {
				for j := range h[i] {
					h[i][j] += -rho*(hy[i]*s[j]+s[i]*hy[j]) + (rho*rho*yhy+rho)*s[i]*s[j]
				}
			}
		}
		if f-fn <= 1e-15*math.Abs(f) {
			stalled++
		} else {
			stalled = 0
		}
		copy(x, xn)
		copy(g, gn)
		f = fn
		if stalled >= 3 {
			ok = norm(g) < 1e3*tol
			break
		}
	}
	if !ok {
		return maximizeLikelihoodCheapGrad(model, names, negLL, [][]float64{x})
	}
	res := FitResult{Model: model, ParamNames: names, LogLikelihood: -f, Iterations: iter, GradientNorm: norm(g)}
	res.Converged = res.GradientNorm < 1e-6*math.Max(1, math.Abs(f))
	if err := setParams(&res, x); err != nil {
		return res, err
	}
	setCovariance(&res, inverseHessianForward(negLL, x, g))
	return res, nil
}

// inverseHessianForward is inverseHessian by forward differences of the analytic gradient from g, the
// gradient at x: half the evaluations, with a relative error of about the step (1e-5), ample for
// standard errors and parameter draws.
func inverseHessianForward(negLL objective, x, g []float64) [][]float64 {
	n := len(x)
	gp := make([]float64, n)
	xs := append([]float64(nil), x...)
	cols := make([][]float64, n)
	for j := 0; j < n; j++ {
		step := 1e-5 * math.Max(1, math.Abs(x[j]))
		xs[j] = x[j] + step
		negLL(xs, gp)
		xs[j] = x[j]
		cols[j] = make([]float64, n)
		for i := 0; i < n; i++ {
			cols[j][i] = (gp[i] - g[i]) / step
		}
	}
	return invertSymmetric(cols)
}
