package ltv

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
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
	GradientNorm  float64
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

// errFit marks every fitting failure so callers can tell it from input errors.
var errFit = errors.New("fit failed")

// maximizeLikelihood minimises negLL over log-parameters from each starting point and keeps the best
// optimum. Working in log space keeps every parameter positive without constraints.
func maximizeLikelihood(model string, names []string, negLL objective, starts [][]float64) (FitResult, error) {
	best := FitResult{Model: model, ParamNames: names, LogLikelihood: math.Inf(-1)}
	var bestLog []float64
	var lastErr error
	for _, start := range starts {
		problem := optimize.Problem{
			Func: func(x []float64) float64 { return finiteOr(negLL(x, nil), math.MaxFloat64) },
			Grad: func(grad, x []float64) {
				negLL(x, grad)
				for i := range grad {
					grad[i] = finiteOr(grad[i], 0)
				}
			},
		}
		settings := &optimize.Settings{
			GradientThreshold: 1e-7,
			MajorIterations:   2000,
			Converger:         &optimize.FunctionConverge{Absolute: 1e-12, Relative: 1e-12, Iterations: 50},
		}
		res, err := optimize.Minimize(problem, append([]float64(nil), start...), settings, &optimize.BFGS{})
		if res == nil {
			lastErr = err
			continue
		}
		ll := -res.F
		if math.IsNaN(ll) || math.IsInf(ll, 0) || res.F == math.MaxFloat64 {
			lastErr = fmt.Errorf("log-likelihood is not finite")
			continue
		}
		if ll > best.LogLikelihood {
			grad := make([]float64, len(names))
			negLL(res.X, grad)
			best.LogLikelihood = ll
			best.Iterations = res.Stats.MajorIterations
			best.GradientNorm = norm(grad)
			best.Converged = err == nil && best.GradientNorm < 1e-3*math.Max(1, math.Abs(ll))
			bestLog = res.X
		}
	}
	if bestLog == nil {
		return best, fmt.Errorf("%s: %w: %v", model, errFit, lastErr)
	}
	best.Params = make([]float64, len(bestLog))
	for i, v := range bestLog {
		best.Params[i] = math.Exp(v)
		if math.IsNaN(best.Params[i]) || math.IsInf(best.Params[i], 0) || best.Params[i] == 0 {
			return best, fmt.Errorf("%s: %w: parameter %s diverged", model, errFit, names[i])
		}
	}
	best.StdErrors = make([]float64, len(bestLog))
	if cov := inverseHessian(negLL, bestLog); cov != nil {
		best.LogCovariance = cov
		for i := range bestLog {
			best.StdErrors[i] = best.Params[i] * math.Sqrt(cov[i][i])
		}
	}
	return best, nil
}

// inverseHessian differentiates the analytic gradient numerically at x and inverts the result.
// It returns nil when the Hessian is not positive definite (a flat or degenerate likelihood).
func inverseHessian(negLL objective, x []float64) [][]float64 {
	n := len(x)
	h := mat.NewSymDense(n, nil)
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
