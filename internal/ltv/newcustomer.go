package ltv

import (
	"errors"
	"fmt"
	"math"
)

// NewCustomer describes, at the moment of acquisition, what one more customer is expected to bring.
// Every figure is for a customer who has just made their first purchase.
type NewCustomer struct {
	// FirstOrder is the value (revenue) of the first purchase, usually the average first order of
	// the customers acquired so far.
	FirstOrder float64
	// RepeatSpend is the expected value (revenue) of one repeat purchase.
	RepeatSpend float64
	// RepeatPurchases is E[X(months)]: the expected number of repeat purchases in the first
	// `months` months after acquisition (the unconditional expectation of a purchase model).
	// It must be non-decreasing with RepeatPurchases(0) = 0.
	RepeatPurchases func(months float64) float64
	// Survival is P(still a customer `months` months after acquisition); retention costs are
	// paid while the customer is expected to be alive. Nil means always alive.
	Survival func(months float64) float64
}

// NewCustomerValue is the lifetime value of a new customer and how it accrues.
type NewCustomerValue struct {
	// Value is the expected discounted margin over the horizon, first order included: the
	// lifetime value of a new customer.
	Value float64
	// Cumulative[m] is the expected discounted margin accrued by the end of month m after
	// acquisition (Cumulative[0] is the first order's margin; len = HorizonMonths+1).
	Cumulative []float64
	// RepeatPurchases is E[X(HorizonMonths)], the expected repeat purchases over the horizon.
	RepeatPurchases float64
}

// NewCustomerLTV is the lifetime value of a new customer:
//
//	LTV = margin * FirstOrder
//	    + sum over m = 1..H of [margin * RepeatSpend * (E[X(m)] - E[X(m-1)]) - cost * S(m-1)] / (1+d)^m
//
// with the same conventions as CLVConfig: months of 365.25/12 days, month m's margin and retention
// cost paid at its end and discounted by (1+d)^m, d the monthly rate; S(m-1) is the probability of
// being alive at the start of month m. The first order is paid at acquisition, undiscounted.
func NewCustomerLTV(nc NewCustomer, cfg CLVConfig) (NewCustomerValue, error) {
	if err := cfg.Validate(); err != nil {
		return NewCustomerValue{}, fmt.Errorf("new-customer LTV: %w", err)
	}
	if nc.RepeatPurchases == nil {
		return NewCustomerValue{}, errors.New("new-customer LTV: no repeat-purchase curve")
	}
	if !finite(nc.FirstOrder) || !finite(nc.RepeatSpend) {
		return NewCustomerValue{}, fmt.Errorf("new-customer LTV: first order %g and repeat spend %g must be finite", nc.FirstOrder, nc.RepeatSpend)
	}
	H := cfg.HorizonMonths
	d := cfg.MonthlyDiscountRate()
	out := NewCustomerValue{Cumulative: make([]float64, H+1)}
	acc := cfg.GrossMargin * nc.FirstOrder
	out.Cumulative[0] = acc
	prev := 0.0
	for m := 1; m <= H; m++ {
		e := finiteOr(nc.RepeatPurchases(float64(m)), prev)
		if e < prev { // E[X(t)] is non-decreasing; guard against rounding
			e = prev
		}
		alive := 1.0
		if nc.Survival != nil {
			alive = math.Min(math.Max(finiteOr(nc.Survival(float64(m-1)), 0), 0), 1)
		}
		acc += (cfg.GrossMargin*nc.RepeatSpend*(e-prev) - cfg.MonthlyRetentionCost*alive) / math.Pow(1+d, float64(m))
		out.Cumulative[m] = acc
		prev = e
	}
	out.Value, out.RepeatPurchases = acc, prev
	return out, nil
}

// PaybackMonths is the number of whole months after acquisition by whose end the cumulative
// discounted margin (cumulative, as NewCustomerValue.Cumulative) reaches the acquisition cost:
// 0 when the first order alone repays it. ok is false when it is not repaid within the horizon.
func PaybackMonths(cumulative []float64, cac float64) (months int, ok bool) {
	for m, v := range cumulative {
		if v >= cac {
			return m, true
		}
	}
	return 0, false
}

// PurchaseCurves returns a fitted purchase model's repeat-purchase and survival curves for a new
// customer, in months after acquisition (periodsPerMonth data time units per month). The survival
// curve is nil for models that do not provide one.
func PurchaseCurves(pm PurchaseModel, periodsPerMonth float64) (repeat, survival func(months float64) float64) {
	repeat = func(months float64) float64 { return pm.UnconditionalExpected(months * periodsPerMonth) }
	if f, ok := pm.(aliveFactorizer); ok {
		// A new customer is alive at acquisition (x = 0, T = 0): survivalIfAlive from there is the
		// unconditional survival curve.
		survival = func(months float64) float64 { return f.survivalIfAlive(months*periodsPerMonth, 0, 0) }
	}
	return repeat, survival
}

// NewCustomerSpend is the spend model's expected value of a repeat purchase by a customer of whom
// nothing is known yet (the population mean: p gamma/(q-1) for Gamma-Gamma).
func NewCustomerSpend(sm SpendModel) float64 {
	return finiteOr(sm.ExpectedSpend(0, 0), 0)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
