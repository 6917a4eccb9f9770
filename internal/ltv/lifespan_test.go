package ltv

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Customers acquired uniformly over five years buy once a month while alive and leave after
// each month with probability 0.08: the expected lifespan is 1/0.08 = 12.5 months. About 24,000
// churn events: the rate's sampling error is under 1%; the tolerance is 3%.
func TestEstimateChurnKnownRate(t *testing.T) {
	const churn, months, customers = 0.08, 60, 40000
	rng := rand.New(rand.NewPCG(1, 2))
	tx := make([]float64, customers)
	T := make([]float64, customers)
	for i := range tx {
		acquired := rng.IntN(months) // month of the first purchase; observation ends at month 60
		last := acquired
		for last+1 < months && rng.Float64() >= churn {
			last++
		}
		tx[i] = float64(last - acquired)
		T[i] = float64(months - acquired)
	}
	e := EstimateChurn(tx, T)
	t.Logf("estimated churn %.4f a month, lifetime %.2f months (true 0.08, 12.5)", e.MonthlyChurnRate, e.LifetimeMonths)
	if math.Abs(e.MonthlyChurnRate-churn)/churn > 0.03 || math.Abs(e.LifetimeMonths-12.5)/12.5 > 0.03 {
		t.Errorf("churn %.4f, lifetime %.2f months; true 0.08 and 12.5", e.MonthlyChurnRate, e.LifetimeMonths)
	}
}

func TestEstimateChurnNobodyChurned(t *testing.T) {
	// Two customers who bought in the last quarter: no churn seen, an unbounded lifespan.
	e := EstimateChurn([]float64{5, 1}, []float64{6, 2})
	if e.Churned != 0 || !math.IsInf(e.LifetimeMonths, 1) || e.ExposureMonths != 3 {
		t.Errorf("%+v", e)
	}
	// One churned (last purchase 4 months before the end): exposure 1+1; the other, acquired
	// 2 months before the end, is inside the lapse window: 0. Rate 1/2.
	e = EstimateChurn([]float64{1, 1}, []float64{5, 2})
	if e.Churned != 1 || e.ExposureMonths != 2 || e.LifetimeMonths != 2 {
		t.Errorf("%+v", e)
	}
}
