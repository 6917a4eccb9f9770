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

// SubscriptionModel is a fitted shifted-beta-geometric model of renewals (Fader & Hardie 2007):
// each subscriber churns at every renewal with probability theta ~ Beta(alpha, beta).
type SubscriptionModel struct {
	Alpha, Beta float64
	fit         FitResult
}

// Fit returns the fit's diagnostics.
func (m *SubscriptionModel) Fit() FitResult { return m.fit }

// logSurvival is log S(t) = log B(alpha, beta+t) - log B(alpha, beta): the log probability of
// surviving t renewals.
func sbgLogSurvival(alpha, beta float64, t int) float64 {
	return lbeta(alpha, beta+float64(t)) - lbeta(alpha, beta)
}

// sbgLogChurnAt is log P(T = t) = log B(alpha+1, beta+t-1) - log B(alpha, beta), t >= 1.
func sbgLogChurnAt(alpha, beta float64, t int) float64 {
	return lbeta(alpha+1, beta+float64(t)-1) - lbeta(alpha, beta)
}

func lbeta(a, b float64) float64 {
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	return la + lb - lab
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
			a, b := math.Exp(th[0]), math.Exp(th[1])
			ll := 0.0
			for t, w := range churned {
				ll += w * sbgLogChurnAt(a, b, t)
			}
			for t, w := range active {
				ll += w * sbgLogSurvival(a, b, t)
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
	return &SubscriptionModel{Alpha: fit.Params[0], Beta: fit.Params[1], fit: fit}, nil
}

// ExpectedRenewals is the expected number of the next `periods` renewals an active subscriber
// with `renewals` renewals so far makes, each weighted by discount^k (k = 1..periods); with
// discount 1 it is the plain expected count.
func (m *SubscriptionModel) ExpectedRenewals(renewals, periods int, discount float64) float64 {
	base := sbgLogSurvival(m.Alpha, m.Beta, renewals)
	sum, factor := 0.0, 1.0
	for k := 1; k <= periods; k++ {
		factor *= discount
		sum += factor * math.Exp(sbgLogSurvival(m.Alpha, m.Beta, renewals+k)-base)
	}
	return sum
}
