package ltv

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// TestPolishStopsOnRoundingNoise: a negative log-likelihood of 4e6 whose value carries rounding
// noise of 1e-5 (as Gamma-Gamma's does at 1M customers, where terms of 1e9 cancel) must not make the
// polish halve its line search on noise; it stops once the step is below a thousandth of the
// standard errors, at the optimum within that.
func TestPolishStopsOnRoundingNoise(t *testing.T) {
	opt := []float64{1.7, 1.3, 2.8}
	// A strongly correlated Hessian (as Gamma-Gamma's p and gamma are), curvature ~1e6: standard
	// errors of about 1e-3 in log space.
	hess := [][]float64{{2e6, 0, -1.9e6}, {0, 1e6, 0}, {-1.9e6, 0, 2e6}}
	evals := 0
	negLL := func(x, grad []float64) float64 {
		evals++
		f := 4e6
		for i := range x {
			g := 0.0
			for j := range x {
				g += hess[i][j] * (x[j] - opt[j])
			}
			f += (x[i] - opt[i]) * g / 2
			if grad != nil {
				grad[i] = g // exact
			}
		}
		// the value rounded to 1e-5, as a sum of terms of 1e9 rounds it
		return math.Round(f/1e-5) * 1e-5
	}
	// the start's inverse Hessian estimate ignores the correlation, as a crude estimate would
	inv := [][]float64{{1 / 2e6, 0, 0}, {0, 1 / 1e6, 0}, {0, 0, 1 / 2e6}}
	start := []float64{opt[0] + 3e-3, opt[1] - 2e-3, opt[2] + 1e-3}
	res, err := polishLikelihood("test", []string{"a", "b", "c"}, negLL, start, inv)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d evaluations", evals)
	if evals > 30 {
		t.Errorf("%d evaluations, want at most 30", evals)
	}
	// covariance = inverse Hessian; compare in standard errors
	cov := invertSymmetric(hess)
	for i, p := range res.Params {
		se := math.Sqrt(cov[i][i])
		if d := math.Abs(math.Log(p) - opt[i]); d > 0.01*se {
			t.Errorf("parameter %d: log %.9f, optimum %.9f: %.2g standard errors off", i, math.Log(p), opt[i], d/se)
		}
	}
}

// TestGammaGammaPolishEvaluations: on 1M repeat buyers Gamma-Gamma's likelihood sums terms of 1e9
// to about 4e6, so its value carries rounding noise far above the decrease a converged quasi-Newton
// step predicts; the polish must stop there instead of halving its line search on that noise.
func TestGammaGammaPolishEvaluations(t *testing.T) {
	if testing.Short() {
		t.Skip("1M rows")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	n := 1_000_000
	freq, mon := make([]float64, n), make([]float64, n)
	src := rand.NewPCG(3, 4)
	nu := distuv.Gamma{Alpha: 3.67, Beta: 16.8, Src: src}
	for i := range freq {
		x := 1 + math.Floor(rng.ExpFloat64()*9)
		freq[i] = x
		z := distuv.Gamma{Alpha: 5.66 * x, Beta: nu.Rand() * x, Src: src}
		mon[i] = math.Round(z.Rand()*100) / 100
	}
	d := &ggData{}
	xd := newDistinctIndex(64)
	var xi []int32
	for i := range freq {
		d.x, d.z, d.w = append(d.x, freq[i]), append(d.z, mon[i]), append(d.w, 1)
		xi = append(xi, xd.add(freq[i]))
	}
	d.finish(xd, xi)
	full := ggObjective(d)
	evals := 0
	counted := func(x, g []float64) float64 { evals++; return full(x, g) }
	starts := [][]float64{{math.Log(2), math.Log(3), math.Log(30)}, {math.Log(5), math.Log(4), math.Log(18)}}
	res, err := fitTwoStage("GammaGamma", gammaGammaNames, counted, ggObjective(d.subsample(subsampleThreshold/2)), starts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d evaluations on 1M rows: %v, gradient norm %g", evals, res.Params, res.GradientNorm)
	if !res.Converged {
		t.Errorf("not converged: %+v", res)
	}
	if evals > 25 {
		t.Errorf("%d evaluations of the full likelihood, want at most 25", evals)
	}

	// Newton's polish on the analytic Hessian: a few evaluations, the same optimum within a
	// hundredth of a standard error, and the covariance of forward differences of the gradient
	// within their error (of the order of their step, 1e-5, times the third derivatives: 1e-3).
	fullH := ggLikelihood(d)
	evalsH := 0
	countedH := func(x, g []float64, h [][]float64) float64 { evalsH++; return fullH(x, g, h) }
	resH, err := fitTwoStageNewton("GammaGamma", gammaGammaNames, countedH, ggObjective(d.subsample(subsampleThreshold/2)), starts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Newton: %d evaluations: %v, gradient norm %g", evalsH, resH.Params, resH.GradientNorm)
	if !resH.Converged || evalsH > 5 {
		t.Errorf("Newton polish: converged %v after %d evaluations, want converged within 5", resH.Converged, evalsH)
	}
	for i := range res.Params {
		se := math.Sqrt(resH.LogCovariance[i][i])
		if d := math.Abs(math.Log(resH.Params[i]) - math.Log(res.Params[i])); d > 0.01*se {
			t.Errorf("parameter %d: Newton %.9g, quasi-Newton %.9g: %.2g standard errors apart", i, resH.Params[i], res.Params[i], d/se)
		}
		for j := range res.Params {
			a, b := resH.LogCovariance[i][j], res.LogCovariance[i][j]
			if math.Abs(a-b) > 1e-3*math.Sqrt(resH.LogCovariance[i][i]*resH.LogCovariance[j][j]) {
				t.Errorf("covariance[%d][%d]: analytic %.9g, finite differences %.9g", i, j, a, b)
			}
		}
	}
}

// newtonPolish hands over to the quasi-Newton polish when the Hessian is not positive definite
// (far from the optimum of a likelihood that is not convex there), and still reaches the optimum
// with the analytic covariance.
func TestNewtonPolishFallsBackOnIndefiniteHessian(t *testing.T) {
	// f(x, y) = cosh-shaped in x (convex), a double well in y: y^4/4 - y^2/2 + 0.3 y, whose second
	// derivative 3y^2 - 1 is negative for |y| < 0.58; the start y = 0 is there.
	negLL := func(v, grad []float64, hess [][]float64) float64 {
		x, y := v[0], v[1]
		f := math.Cosh(x-0.4) + y*y*y*y/4 - y*y/2 + 0.3*y
		if grad != nil || hess != nil {
			gx, gy := math.Sinh(x-0.4), y*y*y-y+0.3
			if grad != nil {
				grad[0], grad[1] = gx, gy
			}
			if hess != nil {
				hess[0][0], hess[0][1], hess[1][0], hess[1][1] = math.Cosh(x-0.4), 0, 0, 3*y*y-1
			}
		}
		return f
	}
	res, err := newtonPolish("test", []string{"x", "y"}, negLL, []float64{0, 0}, [][]float64{{1, 0}, {0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	// the minimum: x = 0.4, y the root of y^3 - y + 0.3 = 0 below -0.58
	y := -1.0
	for range 50 {
		y -= (y*y*y - y + 0.3) / (3*y*y - 1)
	}
	// The polish stops once a step would move less than a thousandth of a standard error (here
	// about 0.6): within 2e-3 of the optimum.
	if lx, ly := math.Log(res.Params[0]), math.Log(res.Params[1]); math.Abs(lx-0.4) > 2e-3 || math.Abs(ly-y) > 2e-3 {
		t.Errorf("optimum (%.9f, %.9f), want (0.4, %.9f)", lx, ly, y)
	}
	if res.LogCovariance == nil || math.Abs(res.LogCovariance[1][1]-1/(3*y*y-1)) > 2e-3 {
		t.Errorf("covariance %v, want the inverse Hessian with [1][1] = %.9f", res.LogCovariance, 1/(3*y*y-1))
	}
}

// trigamma against its closed forms at 1/2, 1 and 2, its recurrence psi1(x) = psi1(x+1) + 1/x^2,
// and central differences of digamma (hyp2f1.go's, accurate to a few units in the last place;
// gonum's Digamma is off by 5e-11 below x = 7, which shows in such differences).
func TestTrigamma(t *testing.T) {
	for _, c := range []struct{ x, want float64 }{
		{0.5, math.Pi * math.Pi / 2}, {1, math.Pi * math.Pi / 6}, {2, math.Pi*math.Pi/6 - 1},
	} {
		if got := trigamma(c.x); math.Abs(got-c.want) > 1e-14*c.want {
			t.Errorf("trigamma(%g) = %.17g, want %.17g", c.x, got, c.want)
		}
	}
	for _, x := range []float64{1e-3, 0.07, 0.3, 1.7, 4.2, 11, 250, 1e5} {
		if got, want := trigamma(x), trigamma(x+1)+1/(x*x); math.Abs(got-want) > 1e-13*want {
			t.Errorf("trigamma(%g) = %.17g, trigamma(x+1) + 1/x^2 = %.17g", x, got, want)
		}
		h := 1e-5 * x
		num := (digamma(x+h) - digamma(x-h)) / (2 * h)
		if got := trigamma(x); math.Abs(got-num) > 1e-7*got {
			t.Errorf("trigamma(%g) = %.12g, numeric derivative of digamma %.12g", x, got, num)
		}
	}
}
