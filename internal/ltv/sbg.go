package ltv

import (
	"fmt"
	"math"
)

// ShiftedBetaGeometric is the shifted-beta-geometric (sBG) model of contractual retention (Fader &
// Hardie 2007, "How to project customer retention"): at the end of every period each customer
// churns with a probability theta that is constant for the customer and distributed Beta(Alpha, Beta)
// across customers. The aggregate retention rate rises over time as the most churn-prone leave.
//
// Units: time is counted in whole contract periods (the periods of the cohort data it was fitted on:
// months, years, ...). Period t runs from t-1 to t; every customer is active in period 1. Discount
// rates are per period.
type ShiftedBetaGeometric struct {
	Alpha, Beta float64
}

// SBGFit is a fitted sBG model with its maximum-likelihood diagnostics (parameters "alpha", "beta").
type SBGFit struct {
	ShiftedBetaGeometric
	FitResult
}

// Survival is S(t) = P(still active after t periods) = B(alpha, beta+t)/B(alpha, beta), the share of
// the initial cohort expected to be active after t renewal opportunities; S(0) = 1. It is defined for
// real t >= 0 through the beta function (the model's values are at whole t).
func (m ShiftedBetaGeometric) Survival(t float64) float64 {
	if !(t > 0) {
		if t == 0 {
			return 1
		}
		return math.NaN()
	}
	return math.Exp(m.logSurvival(t))
}

func (m ShiftedBetaGeometric) logSurvival(t float64) float64 {
	a, b := m.Alpha, m.Beta
	if t == math.Floor(t) && t <= 2000 {
		// Product of the retention rates: prod_{i=1..t} (beta+i-1)/(alpha+beta+i-1).
		s := 0.0
		for i := 0.0; i < t; i++ {
			s += math.Log1p(-a / (a + b + i))
		}
		return s
	}
	l1, _ := math.Lgamma(b + t)
	l2, _ := math.Lgamma(a + b)
	l3, _ := math.Lgamma(b)
	l4, _ := math.Lgamma(a + b + t)
	return l1 + l2 - l3 - l4
}

// Churn is P(T = t), the probability that a new customer's last period is period t (churns at the
// end of period t), t >= 1: B(alpha+1, beta+t-1)/B(alpha, beta) = S(t-1) alpha/(alpha+beta+t-1).
func (m ShiftedBetaGeometric) Churn(t int) float64 {
	if t < 1 {
		return 0
	}
	ft := float64(t)
	return math.Exp(m.logSurvival(ft-1)) * m.Alpha / (m.Alpha + m.Beta + ft - 1)
}

// Retention is the retention rate r_t = S(t)/S(t-1) = (beta+t-1)/(alpha+beta+t-1): the share of the
// customers active in period t who renew into period t+1, t >= 1.
func (m ShiftedBetaGeometric) Retention(t int) float64 {
	if t < 1 {
		return math.NaN()
	}
	ft := float64(t)
	return (m.Beta + ft - 1) / (m.Alpha + m.Beta + ft - 1)
}

// ExpectedLifetime is the expected number of periods a new customer stays, E[T] = sum_{t>=0} S(t) =
// (alpha+beta-1)/(alpha-1) for alpha > 1; +Inf when alpha <= 1 (the mean lifetime is infinite).
func (m ShiftedBetaGeometric) ExpectedLifetime() float64 {
	if m.Alpha <= 1 {
		return math.Inf(1)
	}
	return (m.Alpha + m.Beta - 1) / (m.Alpha - 1)
}

// DiscountedExpectedLifetime is DEL(d) = sum_{t>=0} S(t)/(1+d)^t = 2F1(1, beta; alpha+beta; 1/(1+d)):
// the present value, in payments, of a new customer who pays 1 at the start of every period while
// active (the first payment, at acquisition, undiscounted), with discount rate d > 0 per period.
// Multiply by the payment per period (times margin) for the customer's lifetime value.
func (m ShiftedBetaGeometric) DiscountedExpectedLifetime(d float64) float64 {
	if !(d > 0) {
		if d == 0 {
			return m.ExpectedLifetime()
		}
		return math.NaN()
	}
	z := 1 / (1 + d)
	return hyp2f1Comp(1, m.Beta, m.Alpha+m.Beta, z, d/(1+d))
}

// DiscountedExpectedResidualLifetime is DERL (Fader & Hardie 2010, "Customer-base valuation in a
// contractual setting: the perils of ignoring heterogeneity", eq. 6) for a customer who has made
// `renewals` renewals (n-1 in the paper, so the customer is at the end of period n = renewals+1,
// about to decide on the next renewal):
//
//	DERL = (beta+n-1)/(alpha+beta+n-1) 2F1(1, beta+n; alpha+beta+n; 1/(1+d)),
//
// the expected present value, in payments per period, of the customer's future payments: the next
// one (due now, if the customer renews) undiscounted, each later one discounted by 1+d per period.
// d > 0 is the discount rate per period; d = 0 gives the undiscounted expected residual lifetime
// (+Inf when alpha <= 1).
func (m ShiftedBetaGeometric) DiscountedExpectedResidualLifetime(d float64, renewals int) float64 {
	if renewals < 0 || !(d >= 0) {
		return math.NaN()
	}
	n := float64(renewals + 1)
	a, b := m.Alpha, m.Beta
	r := (b + n - 1) / (a + b + n - 1)
	if d == 0 {
		if a <= 1 {
			return math.Inf(1)
		}
		// sum_{j>=0} S(n+j)/S(n) = (alpha+beta+n-1)/(alpha-1)
		return r * (a + b + n - 1) / (a - 1)
	}
	return r * hyp2f1Comp(1, b+n, a+b+n, 1/(1+d), d/(1+d))
}

// FitShiftedBetaGeometric fits the sBG model to one cohort's survival: alive[0] is the cohort's size
// at the start and alive[t] the number (or share) still active after t periods, t = 1..k. The
// likelihood is Fader & Hardie (2007, eq. 5): the alive[t-1]-alive[t] customers lost in period t
// contribute P(T = t) each, the alive[k] still active S(k) each. Counts give meaningful standard
// errors; shares give the same estimates but standard errors for a cohort of one customer.
// It needs at least two periods (three values), finite non-negative non-increasing values and
// alive[0] > 0.
func FitShiftedBetaGeometric(alive []float64) (*SBGFit, error) {
	const model = "ShiftedBetaGeometric"
	if len(alive) < 3 {
		return nil, fmt.Errorf("%s: need the cohort size and at least two periods, got %d values", model, len(alive))
	}
	for t, v := range alive {
		if !(v >= 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s: alive[%d] = %g is not a finite non-negative number", model, t, v)
		}
		if t > 0 && v > alive[t-1]*(1+1e-12) {
			return nil, fmt.Errorf("%s: alive[%d] = %g exceeds alive[%d] = %g: survival cannot increase", model, t, v, t-1, alive[t-1])
		}
	}
	if !(alive[0] > 0) {
		return nil, fmt.Errorf("%s: the initial cohort alive[0] must be positive", model)
	}
	k := len(alive) - 1
	lost := make([]float64, k+1) // lost[t], t = 1..k
	for t := 1; t <= k; t++ {
		lost[t] = math.Max(alive[t-1]-alive[t], 0)
	}
	if alive[k] == alive[0] {
		return nil, fmt.Errorf("%s: %w: nobody churned, the churn probability is not identified", model, errFit)
	}
	negLL := func(theta, grad []float64) float64 {
		a, b := math.Exp(theta[0]), math.Exp(theta[1])
		// Running log S(t-1) and its derivatives.
		ls, dsa, dsb := 0.0, 0.0, 0.0
		ll, ga, gb := 0.0, 0.0, 0.0
		for t := 1; t <= k; t++ {
			den := a + b + float64(t) - 1
			if lost[t] > 0 {
				// log P(T=t) = log S(t-1) + log(alpha) - log(alpha+beta+t-1)
				ll += lost[t] * (ls + math.Log(a/den))
				ga += lost[t] * (dsa + 1/a - 1/den)
				gb += lost[t] * (dsb - 1/den)
			}
			// S(t) = S(t-1) (beta+t-1)/(alpha+beta+t-1)
			ls += math.Log1p(-a / den)
			dsa -= 1 / den
			dsb += 1/(b+float64(t)-1) - 1/den
		}
		ll += alive[k] * ls
		ga += alive[k] * dsa
		gb += alive[k] * dsb
		if grad != nil {
			grad[0] = -ga * a
			grad[1] = -gb * b
		}
		if math.IsNaN(ll) {
			return math.Inf(1)
		}
		return -ll
	}
	raw := [][2]float64{{1, 1}, {0.5, 2}, {2, 6}, {0.2, 0.5}}
	starts := make([][]float64, len(raw))
	for i, p := range raw {
		starts[i] = []float64{math.Log(p[0]), math.Log(p[1])}
	}
	res, err := maximizeLikelihoodCheapGrad(model, []string{"alpha", "beta"}, negLL, starts)
	if err != nil {
		return nil, err
	}
	return &SBGFit{ShiftedBetaGeometric: ShiftedBetaGeometric{Alpha: res.Params[0], Beta: res.Params[1]}, FitResult: res}, nil
}
