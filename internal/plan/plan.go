// Package plan translates an LTVComputation's spec into a pipeline.Config: defaults applied,
// decimals parsed, the observation end resolved. It is the one place the API types meet the
// pure pipeline, shared by the controller and ltvctl.
package plan

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// Defaults the CRD also declares; applied here too for objects built in code or read by ltvctl.
const (
	DefaultHorizonMonths   = 12
	DefaultTopCustomers    = 100
	DefaultRunHistoryLimit = 10
)

// ObservationEnd is the last whole day a run observes: spec.observation.end when set, otherwise
// the last complete day before the run's nominal time in loc (the day before a 03:00 run), so
// that re-running one scheduled slot gives the same answer.
func ObservationEnd(spec *v1alpha1.LTVComputationSpec, nominal time.Time, loc *time.Location) (time.Time, error) {
	if spec.Observation.End != "" {
		t, err := time.Parse(time.DateOnly, spec.Observation.End)
		if err != nil {
			return time.Time{}, fmt.Errorf("spec.observation.end: %q is not a date (YYYY-MM-DD)", spec.Observation.End)
		}
		return t, nil
	}
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := nominal.In(loc).AddDate(0, 0, -1).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
}

// Config builds the pipeline configuration for one run. segments are the selected
// CustomerSegments, already sorted by name.
func Config(spec *v1alpha1.LTVComputationSpec, end time.Time, segments []v1alpha1.CustomerSegment) (pipeline.Config, error) {
	cfg := pipeline.Config{
		ObservationEnd: end,
		Unit:           summary.TimeUnit(orDefault(string(spec.Observation.TimeUnit), string(v1alpha1.TimeUnitWeek))),
		Returns:        summary.ReturnsPolicy(orDefault(string(spec.Returns), string(v1alpha1.ReturnsNet))),
		Columns: summary.Columns{
			CustomerID: orDefault(spec.Source.Columns.CustomerID, "customer_id"),
			Timestamp:  orDefault(spec.Source.Columns.Timestamp, "date"),
			Amount:     orDefault(spec.Source.Columns.Amount, "amount"),
			Attributes: spec.Source.Columns.Attributes,
		},
		Model:         orDefault(string(spec.Model.Type), string(v1alpha1.ModelHistorical)),
		Spend:         orDefault(string(spec.Model.Spend), string(v1alpha1.SpendGammaGamma)),
		HorizonMonths: int(spec.Model.HorizonMonths),
		Currency:      orDefault(spec.Economics.Currency, "USD"),
		BreakdownBy:   spec.BreakdownBy,
		TopCustomers:  DefaultTopCustomers,
	}
	if cfg.HorizonMonths == 0 {
		cfg.HorizonMonths = DefaultHorizonMonths
	}
	if spec.Model.ChurnWindowDays != nil {
		cfg.ChurnWindowDays = int(*spec.Model.ChurnWindowDays)
	}
	if spec.Observation.HoldoutPeriods != nil {
		cfg.HoldoutPeriods = int(*spec.Observation.HoldoutPeriods)
	}
	if spec.Source.MaxInvalidRows != nil {
		cfg.MaxInvalidRows = int(*spec.Source.MaxInvalidRows)
	}
	if spec.Output.TopCustomers != nil {
		cfg.TopCustomers = int(*spec.Output.TopCustomers)
	}
	var err error
	p := parser{}
	cfg.LifetimeMonths = p.decimal("spec.model.lifetimeMonths", spec.Model.LifetimeMonths, 0)
	cfg.FitBy = spec.Model.FitBy
	cfg.TargetLTVToCAC = p.decimal("spec.economics.targetLTVToCAC", spec.Economics.TargetLTVToCAC, pipeline.DefaultTargetLTVToCAC)
	cfg.GrossMargin = p.decimal("spec.economics.grossMargin", spec.Economics.GrossMargin, 1)
	cfg.AnnualDiscountRate = p.decimal("spec.economics.annualDiscountRate", spec.Economics.AnnualDiscountRate, 0)
	cfg.RetentionCostPerMonth = p.decimal("spec.economics.retentionCostPerMonth", spec.Economics.RetentionCostPerMonth, 0)
	if ac := spec.Economics.AcquisitionCost; ac != nil {
		cfg.AcquisitionCost = &pipeline.AcquisitionCost{
			Default:     p.decimal("spec.economics.acquisitionCost.default", ac.Default, 0),
			ByAttribute: ac.ByAttribute,
			Values:      map[string]float64{},
		}
		for k, v := range ac.Values {
			cfg.AcquisitionCost.Values[k] = p.decimal("spec.economics.acquisitionCost.values["+k+"]", string(v), 0)
		}
	}
	for _, s := range segments {
		seg := pipeline.SegmentSpec{Name: s.Name, Filter: s.Spec.Filter}
		if t := s.Spec.ValueTier; t != nil {
			if t.TopPercent != nil {
				v := float64(*t.TopPercent)
				seg.TopPercent = &v
			}
			if t.MinPredictedValue != nil {
				v := p.decimal("CustomerSegment "+s.Name+" spec.valueTier.minPredictedValue", *t.MinPredictedValue, 0)
				seg.MinPredictedValue = &v
			}
			if t.MaxPredictedValue != nil {
				v := p.decimal("CustomerSegment "+s.Name+" spec.valueTier.maxPredictedValue", *t.MaxPredictedValue, 0)
				seg.MaxPredictedValue = &v
			}
		}
		cfg.Segments = append(cfg.Segments, seg)
	}
	if err = p.err; err != nil {
		return cfg, &pipeline.Error{Reason: pipeline.ReasonInvalidSpec, Permanent: true, Err: err}
	}
	return cfg, cfg.Validate()
}

type parser struct{ err error }

func (p *parser) decimal(field, s string, def float64) float64 {
	if s == "" {
		return def
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("%s: %q is not a decimal number", field, s)
	}
	return v
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// PostgresMode is spec.source.postgres.mode with its default (Aggregate) applied.
func PostgresMode(s *v1alpha1.PostgresSource) v1alpha1.PostgresMode {
	if s == nil || s.Mode == "" {
		return v1alpha1.PostgresModeAggregate
	}
	return s.Mode
}
