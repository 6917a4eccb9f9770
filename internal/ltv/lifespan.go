package ltv

import "math"

// LapseMonths is how long a customer may go without a purchase before the lifespan estimate
// counts them as churned: a quarter.
const LapseMonths = 3.0

// ChurnEstimate is the monthly churn rate observed in a customer base and the lifespan it implies.
type ChurnEstimate struct {
	// Churned customers: the last purchase more than LapseMonths before the end of observation.
	Churned int
	// ExposureMonths are the customer-months at risk before the lapse window (the last
	// LapseMonths, in which churn cannot be seen yet): for a churned customer from the first
	// purchase to one month after the last (the month of the last purchase was lived), for the
	// others from the first purchase to the start of the lapse window, where they were alive.
	ExposureMonths float64
	// MonthlyChurnRate is Churned / ExposureMonths: the maximum-likelihood rate of a constant
	// monthly churn (geometric lifetimes) over the observation up to the lapse window, customers
	// still active being censored there.
	MonthlyChurnRate float64
	// LifetimeMonths is 1 / MonthlyChurnRate, the expected lifespan; +Inf when nobody churned.
	LifetimeMonths float64
}

// EstimateChurn estimates the monthly churn rate from each customer's time of last purchase since
// the first (recency) and time observed since the first purchase (age), both in months.
func EstimateChurn(recencyMonths, ageMonths []float64) ChurnEstimate {
	var e ChurnEstimate
	for i, tx := range recencyMonths {
		T := ageMonths[i]
		if T-tx > LapseMonths {
			e.Churned++
			e.ExposureMonths += tx + 1
		} else {
			e.ExposureMonths += math.Max(T-LapseMonths, 0)
		}
	}
	e.LifetimeMonths = math.Inf(1)
	if e.Churned > 0 && e.ExposureMonths > 0 {
		e.MonthlyChurnRate = float64(e.Churned) / e.ExposureMonths
		e.LifetimeMonths = 1 / e.MonthlyChurnRate
	}
	return e
}
