package pipeline

import (
	"fmt"
	"math"
	"strconv"

	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/report"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// fittedModel is what the steps after the fit need from it.
type fittedModel struct {
	purchase ltv.PurchaseModel
	spend    ltv.SpendModel
	cells    ltv.Cells
	monetary []float64
	// values are the predictions; their Intervals reuse what the predictions prepared.
	values *ltv.CellValues
}

func clvConfig(cfg Config) ltv.CLVConfig {
	return ltv.CLVConfig{
		HorizonMonths:        cfg.HorizonMonths,
		PeriodsPerMonth:      cfg.Unit.PeriodsPerMonth(),
		AnnualDiscountRate:   cfg.AnnualDiscountRate,
		GrossMargin:          cfg.GrossMargin,
		MonthlyRetentionCost: cfg.RetentionCostPerMonth,
	}
}

// probabilistic fits a purchase model and a spend model and predicts every customer's value.
func probabilistic(cfg Config, sum *summary.Summary, res *report.Result) (*fittedModel, *ltv.CellValues, error) {
	cells, monetary := cellsOf(sum)
	// The two fits are independent: the spend model's runs alongside (both search on small
	// subsamples first, one core each, before their passes over all rows).
	type spendFit struct {
		model       ltv.SpendModel
		spend, note string
	}
	spendDone := make(chan spendFit, 1)
	// the summary's frequencies, read in order (a cell's are random reads)
	frequency := func(i int) float64 { return float64(sum.Frequency(i)) }
	go func() {
		f := spendFit{spend: cfg.Spend}
		if cfg.Spend == SpendGammaGamma {
			var err error
			if f.model, err = ltv.FitGammaGammaFunc(frequency, monetary); err != nil {
				// Gamma-Gamma needs repeat buyers whose spend varies (q > 1); without them the
				// customers' own means are the honest estimate.
				f.spend, f.note = SpendMean, fmt.Sprintf("Gamma-Gamma could not be fitted (%v); spend model Mean used instead", err)
			}
		}
		if f.model == nil {
			f.model = ltv.FitMeanSpendFunc(frequency, monetary)
		}
		spendDone <- f
	}()
	var pm ltv.PurchaseModel
	var err error
	switch cfg.Model {
	case ModelBGNBD:
		pm, err = ltv.FitBGNBDCells(cells)
	case ModelParetoNBD:
		pm, err = ltv.FitParetoNBDCells(cells)
	case ModelModifiedBGNBD:
		pm, err = ltv.FitModifiedBGNBDCells(cells)
	}
	spent := <-spendDone
	if err != nil {
		return nil, nil, permanent(ReasonFitFailed, "%v", err)
	}
	sm, spend, note := spent.model, spent.spend, spent.note
	collectPhase(len(monetary))
	values, err := ltv.PredictCellValues(pm, sm, cells, monetary, clvConfig(cfg))
	if err != nil {
		return nil, nil, permanent(ReasonFitFailed, "%s: %v", cfg.Model, err)
	}
	collectPhase(len(monetary))
	for i, v := range values.CLV() {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil, permanent(ReasonFitFailed, "%s: prediction for customer %q is not finite", cfg.Model, sum.ID(i))
		}
	}

	pf, sf := pm.Fit(), sm.Fit()
	res.Model = report.ModelResult{
		Type: cfg.Model, Spend: spend, Parameters: map[string]float64{}, StandardErrors: map[string]float64{},
		Converged: pf.Converged && (sf.Converged || sf.Model == "Mean"), Iterations: pf.Iterations, GradientNorm: pf.GradientNorm,
	}
	for _, f := range []ltv.FitResult{pf, sf} {
		for j, name := range f.ParamNames {
			res.Model.Parameters[name] = f.Params[j]
			if j < len(f.StdErrors) && f.StdErrors[j] > 0 {
				res.Model.StandardErrors[name] = f.StdErrors[j]
			}
		}
	}
	if note != "" {
		res.Model.Notes = append(res.Model.Notes, note)
	}
	ll := pf.LogLikelihood
	res.Model.LogLikelihood = &ll
	if len(sf.ParamNames) > 0 {
		sll := sf.LogLikelihood
		res.Model.SpendLogLikelihood = &sll
	}
	return &fittedModel{purchase: pm, spend: sm, cells: cells, monetary: monetary, values: values}, values, nil
}

// validate compares the model's expected transactions in the holdout with what happened.
func validate(cfg Config, sum *summary.Summary, pm ltv.PurchaseModel) *report.Validation {
	length := float64(cfg.holdoutDays()) * cfg.Unit.FromDays(1)
	v := &report.Validation{HoldoutPeriods: cfg.HoldoutPeriods}
	groups := make([]report.FrequencyBacktest, 8)
	for g := range groups {
		groups[g].Frequency = strconv.Itoa(g)
	}
	groups[7].Frequency = "7+"
	var absErr float64
	for _, c := range sum.All() {
		pred := pm.ExpectedPurchases(length, float64(c.Frequency), c.Recency, c.Age)
		actual := float64(c.HoldoutTransactions)
		v.PredictedTransactions += pred
		v.ActualTransactions += int64(c.HoldoutTransactions)
		absErr += math.Abs(pred - actual)
		g := min(c.Frequency, 7)
		groups[g].Customers++
		groups[g].Predicted += pred
		groups[g].Actual += actual
	}
	if n := sum.Len(); n > 0 {
		v.MeanAbsoluteError = absErr / float64(n)
	}
	for g := range groups {
		if c := float64(groups[g].Customers); c > 0 {
			groups[g].Predicted /= c
			groups[g].Actual /= c
		}
	}
	v.ByFrequency = groups
	return v
}

// intervals computes 90% intervals for the average LTV overall, per segment and per breakdown
// value, and every customer's bounds of predicted value, all from the same parameter draws. It
// sets the overall and segment intervals in res and the bounds in scores, and returns the
// breakdown values' intervals for setBreakdownIntervals.
func intervals(cfg Config, m *fittedModel, customers customerGroups, res *report.Result, scores *Scores) ([]breakdownInterval, error) {
	members := scores.Members
	draws := cfg.IntervalDraws
	if draws == 0 {
		draws = defaultIntervalDraws
	}
	if draws < 0 {
		return nil, nil
	}
	const level = 0.9
	groups := []ltv.IntervalRequest{{Name: ""}} // nil members: every customer
	for i, s := range res.Segments {
		groups = append(groups, ltv.IntervalRequest{Name: s.Name, Members: members[i]})
	}
	// Then every breakdown value, from the same draws.
	var values []breakdownInterval
	for _, g := range orderedGroups(cfg, customers) {
		for _, v := range g.values {
			groups = append(groups, ltv.IntervalRequest{Name: g.attribute + "=" + v.value, Members: v.members})
			values = append(values, breakdownInterval{attribute: g.attribute, value: v.value})
		}
	}
	ivs, bounds, err := m.values.Intervals(groups, draws, 1, level)
	if err != nil {
		// An interval needs a positive-definite Hessian; without one the point estimates stand.
		return nil, nil
	}
	if finiteBounds(bounds) {
		scores.ValueLower, scores.ValueUpper = bounds.Low, bounds.High
	}
	var out []breakdownInterval
	for i, iv := range ivs {
		r := &report.Interval{Low: iv.Low, High: iv.High, Level: level}
		if math.IsNaN(r.Low) || math.IsNaN(r.High) {
			continue
		}
		switch {
		case i == 0:
			res.AverageLTVInterval = r
		case i <= len(res.Segments):
			res.Segments[i-1].AverageLTVInterval = r
		default:
			b := values[i-1-len(res.Segments)]
			b.interval = r
			out = append(out, b)
		}
	}
	return out, nil
}

// breakdownInterval is the interval of one breakdown value.
type breakdownInterval struct {
	attribute, value string
	interval         *report.Interval
}

// setBreakdownIntervals puts the intervals into the breakdowns of their attribute and value.
func setBreakdownIntervals(res *report.Result, ivs []breakdownInterval) {
	for _, iv := range ivs {
		bi := -1
		for i := range res.Breakdowns {
			if res.Breakdowns[i].Attribute == iv.attribute {
				bi = i
			}
		}
		if bi < 0 {
			continue
		}
		for vi := range res.Breakdowns[bi].Values {
			if res.Breakdowns[bi].Values[vi].Value == iv.value {
				res.Breakdowns[bi].Values[vi].AverageLTVInterval = iv.interval
				break
			}
		}
	}
}

// finiteBounds reports whether every customer's bounds are finite (else none is published).
func finiteBounds(b *ltv.CustomerBounds) bool {
	if b == nil {
		return false
	}
	for i := range b.Low {
		if math.IsNaN(b.Low[i]) || math.IsInf(b.Low[i], 0) || math.IsNaN(b.High[i]) || math.IsInf(b.High[i], 0) {
			return false
		}
	}
	return true
}
