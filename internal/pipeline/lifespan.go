package pipeline

import (
	"fmt"
	"math"

	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// formulaLifetime is the Formula model's customer lifespan in months: model.lifetimeMonths when
// set, otherwise one over the monthly churn rate observed in the data (ltv.EstimateChurn), capped
// at the horizon. note explains an estimate.
func formulaLifetime(cfg Config, sum *summary.Summary) (months float64, note string) {
	if cfg.LifetimeMonths > 0 {
		return cfg.LifetimeMonths, ""
	}
	perMonth := cfg.Unit.PeriodsPerMonth()
	recency := make([]float64, sum.Len())
	age := make([]float64, sum.Len())
	for i, c := range sum.All() {
		recency[i], age[i] = c.Recency/perMonth, c.Age/perMonth
	}
	e := ltv.EstimateChurn(recency, age)
	horizon := float64(cfg.HorizonMonths)
	if math.IsInf(e.LifetimeMonths, 1) {
		return horizon, fmt.Sprintf("lifetime: no customer has gone %g months without a purchase, so no churn is observed; horizonMonths used", ltv.LapseMonths)
	}
	months = math.Min(e.LifetimeMonths, horizon)
	return months, fmt.Sprintf("lifetime estimated from churn: %d of %d customers without a purchase in the last %g months over %.0f customer-months, %.4f a month, 1/churn = %.2f months (capped at horizonMonths %d)",
		e.Churned, sum.Len(), ltv.LapseMonths, e.ExposureMonths, e.MonthlyChurnRate, e.LifetimeMonths, cfg.HorizonMonths)
}
