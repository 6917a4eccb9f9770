package ltv

import (
	"fmt"
	"math"
)

// Subscriber is one subscriber's renewal history in whole periods: Renewals is how many renewals
// they made after the first payment, Churned whether they have stopped (observed to miss a
// renewal). An active subscriber is right-censored: all we know is that they survived Renewals
// renewal opportunities.
type Subscriber struct {
	Renewals int
	Churned  bool
}

// SubscriptionModel is a shifted-beta-geometric model of renewals (Fader & Hardie 2007) fitted
// to subscribers observed for different lengths of time.
type SubscriptionModel struct {
	ShiftedBetaGeometric
	fit FitResult
}

// Fit returns the fit's diagnostics.
func (m *SubscriptionModel) Fit() FitResult { return m.fit }

// logChurnAt is log P(T = t) = log S(t-1) + log(alpha/(alpha+beta+t-1)), t >= 1.
func (m ShiftedBetaGeometric) logChurnAt(t int) float64 {
	return m.logSurvival(float64(t-1)) + math.Log(m.Alpha/(m.Alpha+m.Beta+float64(t)-1))
}

// FitSubscriptions fits the shifted-beta-geometric model to subscribers observed for different
// lengths of time: churned subscribers contribute P(T = renewals+1), active ones S(renewals).
func FitSubscriptions(subs []Subscriber) (*SubscriptionModel, error) {
	const model = "ShiftedBetaGeometric"
	churned := map[int]float64{}
	active := map[int]float64{}
	nChurned := 0
	for _, s := range subs {
		if s.Renewals < 0 {
			return nil, fmt.Errorf("%s: negative renewal count %d", model, s.Renewals)
		}
		if s.Churned {
			churned[s.Renewals+1]++
			nChurned++
		} else {
			active[s.Renewals]++
		}
	}
	if nChurned == 0 {
		return nil, fmt.Errorf("%s: %w: no subscriber has churned yet, so the churn rate cannot be estimated", model, errFit)
	}
	negLL := func(theta, grad []float64) float64 {
		f := func(th []float64) float64 {
			m := ShiftedBetaGeometric{Alpha: math.Exp(th[0]), Beta: math.Exp(th[1])}
			ll := 0.0
			for t, w := range churned {
				ll += w * m.logChurnAt(t)
			}
			for t, w := range active {
				ll += w * m.logSurvival(float64(t))
			}
			return -ll
		}
		if grad != nil {
			numericGradient(f, theta, grad)
		}
		return f(theta)
	}
	starts := [][]float64{{0, 0}, {math.Log(0.5), math.Log(2)}, {math.Log(2), math.Log(5)}}
	fit, err := maximizeLikelihood(model, []string{"alpha", "beta"}, negLL, starts)
	if err != nil {
		return nil, err
	}
	return &SubscriptionModel{ShiftedBetaGeometric: ShiftedBetaGeometric{Alpha: fit.Params[0], Beta: fit.Params[1]}, fit: fit}, nil
}

// ExpectedRenewals is the expected number of the next `periods` renewals an active subscriber
// with `renewals` renewals so far makes, each weighted by discount^k (k = 1..periods); with
// discount 1 it is the plain expected count.
func (m *SubscriptionModel) ExpectedRenewals(renewals, periods int, discount float64) float64 {
	// S(n+k)/S(n) is the product of the retention rates of periods n+1..n+k.
	sum, factor, survival := 0.0, 1.0, 1.0
	for k := 1; k <= periods; k++ {
		factor *= discount
		survival *= m.Retention(renewals + k)
		sum += factor * survival
	}
	return sum
}
