// Package pipeline runs one lifetime value computation: source → per-customer summary → model →
// segments → report. The controller and ltvctl both call Run, so a computation gives the same
// answer in the cluster and on a laptop. It imports nothing from Kubernetes.
package pipeline

import (
	"errors"
	"fmt"
	"time"

	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// Model types, as in the LTVComputation API.
const (
	ModelHistorical           = "Historical"
	ModelFormula              = "Formula"
	ModelBGNBD                = "BGNBD"
	ModelParetoNBD            = "ParetoNBD"
	ModelModifiedBGNBD        = "ModifiedBGNBD"
	ModelShiftedBetaGeometric = "ShiftedBetaGeometric"

	SpendGammaGamma = "GammaGamma"
	SpendMean       = "Mean"
)

// Config is a computation, resolved: every default applied, every decimal parsed.
type Config struct {
	// ObservationEnd is the last day observed (inclusive).
	ObservationEnd time.Time
	Unit           summary.TimeUnit
	// HoldoutPeriods > 0 fits on data up to ObservationEnd - HoldoutPeriods units and scores the rest.
	HoldoutPeriods int
	Returns        summary.ReturnsPolicy
	MaxInvalidRows int
	Columns        summary.Columns

	Model         string
	Spend         string
	HorizonMonths int
	// ChurnWindowDays is the window of the churn outlook; 0 means 90.
	ChurnWindowDays int
	// LifetimeMonths is Formula's customer lifespan; 0 means HorizonMonths.
	LifetimeMonths float64
	// FitBy, when set, is an attribute whose values get their own purchase and spend fits for the
	// new-customer economics (with a fallback to the pooled fit for small values).
	FitBy string

	Currency              string
	GrossMargin           float64
	AnnualDiscountRate    float64
	RetentionCostPerMonth float64
	AcquisitionCost       *AcquisitionCost
	// TargetLTVToCAC is the LTV:CAC ratio affordable CAC aims at; 0 means DefaultTargetLTVToCAC.
	TargetLTVToCAC float64

	BreakdownBy  []string
	Segments     []SegmentSpec
	TopCustomers int
	// IntervalDraws is the number of parameter draws for uncertainty intervals (0: default 200;
	// negative: no intervals).
	IntervalDraws int
	// Now stamps the result; time.Now when nil.
	Now func() time.Time
}

// AcquisitionCost is the cost of one new customer, overall or by an attribute's value.
type AcquisitionCost struct {
	Default     float64
	ByAttribute string
	Values      map[string]float64
}

// SegmentSpec is one CustomerSegment: a CEL filter, a value tier, or both.
type SegmentSpec struct {
	Name              string
	Filter            string
	TopPercent        *float64
	MinPredictedValue *float64
	MaxPredictedValue *float64
}

// CalibrationEnd is the last day the models are fitted on.
func (c *Config) CalibrationEnd() time.Time {
	if c.HoldoutPeriods <= 0 {
		return c.ObservationEnd
	}
	return c.ObservationEnd.AddDate(0, 0, -c.holdoutDays())
}

func (c *Config) holdoutDays() int {
	return int(float64(c.HoldoutPeriods)/c.Unit.FromDays(1) + 0.5)
}

// Validate checks what the API's schema cannot.
func (c *Config) Validate() error {
	var errs []error
	if c.ObservationEnd.IsZero() {
		errs = append(errs, errors.New("observation end is not set"))
	}
	switch c.Model {
	case ModelHistorical, ModelFormula, ModelBGNBD, ModelParetoNBD, ModelModifiedBGNBD, ModelShiftedBetaGeometric:
	default:
		errs = append(errs, fmt.Errorf("model.type %q is not supported", c.Model))
	}
	switch c.Spend {
	case SpendGammaGamma, SpendMean:
	default:
		errs = append(errs, fmt.Errorf("model.spend %q is not supported", c.Spend))
	}
	if c.HorizonMonths < 1 {
		errs = append(errs, fmt.Errorf("model.horizonMonths must be at least 1, got %d", c.HorizonMonths))
	}
	if c.GrossMargin < 0 || c.GrossMargin > 1 {
		errs = append(errs, fmt.Errorf("economics.grossMargin must be between 0 and 1, got %g", c.GrossMargin))
	}
	if c.AnnualDiscountRate < 0 {
		errs = append(errs, fmt.Errorf("economics.annualDiscountRate must not be negative, got %g", c.AnnualDiscountRate))
	}
	attrs := map[string]bool{}
	for _, a := range c.Columns.Attributes {
		attrs[a] = true
	}
	for _, b := range c.BreakdownBy {
		if !attrs[b] {
			errs = append(errs, fmt.Errorf("breakdownBy %q is not one of source.columns.attributes %v", b, c.Columns.Attributes))
		}
	}
	if c.FitBy != "" && !attrs[c.FitBy] {
		errs = append(errs, fmt.Errorf("model.fitBy %q is not one of source.columns.attributes %v", c.FitBy, c.Columns.Attributes))
	}
	if c.FitBy != "" && c.Model != ModelBGNBD && c.Model != ModelParetoNBD && c.Model != ModelModifiedBGNBD {
		errs = append(errs, fmt.Errorf("model.fitBy needs a fitted purchase model (BGNBD, ParetoNBD or ModifiedBGNBD), not %s", c.Model))
	}
	if c.TargetLTVToCAC < 0 {
		errs = append(errs, fmt.Errorf("economics.targetLTVToCAC must be positive, got %g", c.TargetLTVToCAC))
	}
	if ac := c.AcquisitionCost; ac != nil && ac.ByAttribute != "" && !attrs[ac.ByAttribute] {
		errs = append(errs, fmt.Errorf("economics.acquisitionCost.byAttribute %q is not one of source.columns.attributes %v", ac.ByAttribute, c.Columns.Attributes))
	}
	if err := errors.Join(errs...); err != nil {
		return &Error{Reason: ReasonInvalidSpec, Permanent: true, Err: err}
	}
	return nil
}
