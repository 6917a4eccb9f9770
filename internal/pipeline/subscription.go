package pipeline

import (
	"math"

	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/report"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// subscription values subscribers with the shifted-beta-geometric model. Each time unit is one
// billing period: a customer's renewals are their repeat payments' periods since the first
// (recency rounded to whole periods); a customer whose last payment is more than one period
// before the end of observation has churned. Active subscribers are worth their expected
// discounted future payments over the horizon; churned ones nothing.
func subscription(cfg Config, sum *summary.Summary, values []ltv.CustomerValue, res *report.Result) (*ltv.SubscriptionModel, error) {
	subs := make([]ltv.Subscriber, sum.Len())
	for i, c := range sum.All() {
		renewals := int(math.Round(c.Recency))
		observed := int(math.Floor(c.Age + 1e-9))
		subs[i] = ltv.Subscriber{Renewals: renewals, Churned: observed > renewals+1}
	}
	m, err := ltv.FitSubscriptions(subs)
	if err != nil {
		return nil, permanent(ReasonFitFailed, "%v", err)
	}
	perMonth := cfg.Unit.PeriodsPerMonth()
	periods := int(math.Round(float64(cfg.HorizonMonths) * perMonth))
	periodsPerYear := 12 * perMonth
	discount := 1 / math.Pow(1+cfg.AnnualDiscountRate, 1/periodsPerYear)
	retentionPerPeriod := cfg.RetentionCostPerMonth / perMonth
	for i, c := range sum.All() {
		if subs[i].Churned {
			continue
		}
		payment := c.HistoricValue / float64(c.Frequency+1)
		renewals := m.ExpectedRenewals(subs[i].Renewals, periods, discount)
		values[i] = ltv.CustomerValue{
			ExpectedPurchases: m.ExpectedRenewals(subs[i].Renewals, periods, 1),
			ProbabilityAlive:  1,
			ExpectedSpend:     payment,
			CLV:               renewals * (cfg.GrossMargin*payment - retentionPerPeriod),
		}
	}
	f := m.Fit()
	ll := f.LogLikelihood
	res.Model = report.ModelResult{
		Type: ModelShiftedBetaGeometric, Converged: f.Converged, Iterations: f.Iterations, GradientNorm: f.GradientNorm,
		Parameters: map[string]float64{"alpha": m.Alpha, "beta": m.Beta}, LogLikelihood: &ll,
		StandardErrors: map[string]float64{},
	}
	for j, name := range f.ParamNames {
		if f.StdErrors[j] > 0 {
			res.Model.StandardErrors[name] = f.StdErrors[j]
		}
	}
	return m, nil
}
