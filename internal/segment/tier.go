package segment

import (
	"errors"
	"fmt"
	"math"
)

// percentileTolerance absorbs floating-point rounding when a customer's ValuePercentile is
// compared with 100 − TopPercent, so that a customer exactly on the boundary is excluded.
const percentileTolerance = 1e-9

// ValueTier selects customers by predicted value. Set fields are combined with AND; at least one
// must be set.
//
//   - TopPercent p (0 < p ≤ 100) matches customers with ValuePercentile > 100 − p (compared with
//     a tolerance of 1e-9 percentage points, so a customer exactly on the boundary is excluded
//     despite rounding). With n customers of distinct predicted values that is the ⌈p·n/100⌉
//     most valuable ones (p=20 over 10 customers: 2; p=25 over 10: 3), the same count TopShare
//     uses. Ties are never split: customers with equal predicted values share one percentile
//     (the share with lower or equal value), so a tie straddling the boundary is included whole.
//   - MinPredictedValue is inclusive and MaxPredictedValue exclusive: min ≤ value < max, so tiers
//     with adjacent bounds partition customers without overlap. min = max is valid (the API
//     accepts it) and matches nobody; min > max is invalid.
type ValueTier struct {
	TopPercent                           *float64
	MinPredictedValue, MaxPredictedValue *float64
}

// Validate reports whether the tier is well formed.
func (t ValueTier) Validate() error {
	if t.TopPercent == nil && t.MinPredictedValue == nil && t.MaxPredictedValue == nil {
		return errors.New("value tier sets none of topPercent, minPredictedValue, maxPredictedValue")
	}
	if p := t.TopPercent; p != nil && (math.IsNaN(*p) || *p <= 0 || *p > 100) {
		return fmt.Errorf("value tier topPercent must be in (0, 100], got %v", *p)
	}
	if v := t.MinPredictedValue; v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
		return fmt.Errorf("value tier minPredictedValue must be a finite number, got %v", *v)
	}
	if v := t.MaxPredictedValue; v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
		return fmt.Errorf("value tier maxPredictedValue must be a finite number, got %v", *v)
	}
	if t.MinPredictedValue != nil && t.MaxPredictedValue != nil && *t.MinPredictedValue > *t.MaxPredictedValue {
		return fmt.Errorf("value tier minPredictedValue (%v) must not exceed maxPredictedValue (%v)",
			*t.MinPredictedValue, *t.MaxPredictedValue)
	}
	return nil
}

// Match reports whether the customer is in the tier. ValuePercentile must have been filled by
// Percentiles when TopPercent is set. An invalid tier (see Validate) matches nobody.
func (t ValueTier) Match(c *Customer) bool {
	if t.Validate() != nil {
		return false
	}
	return t.match(c)
}

// match is Match without validation, for Assign, which validates once.
func (t ValueTier) match(c *Customer) bool {
	if p := t.TopPercent; p != nil && !(c.ValuePercentile > 100-*p+percentileTolerance) {
		return false
	}
	if v := t.MinPredictedValue; v != nil && !(c.PredictedValue >= *v) {
		return false
	}
	if v := t.MaxPredictedValue; v != nil && !(c.PredictedValue < *v) {
		return false
	}
	return true
}
