package pipeline

import (
	"context"
	"errors"
	"math"
	"sort"
	"time"

	"github.com/ltv-operator/ltv-operator/internal/backtest"
	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/report"
	"github.com/ltv-operator/ltv-operator/internal/segment"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// runBacktest is the backtest of a computation with a holdout: a second read of the source,
// summarised up to the calibration end, the same model fitted on it, its predictions for the
// holdout compared with what the calibration customers did there. It fails only when the run
// must fail anyway (the context ended, the source cannot be read); a backtest that cannot be
// computed (no calibration data, a failed fit) is reported in Backtest.Error and the headline
// stands.
func runBacktest(ctx context.Context, cfg Config, src Source, defs []segment.Definition) (*report.Backtest, error) {
	calEnd := cfg.CalibrationEnd()
	bt := &report.Backtest{CalibrationEnd: calEnd.Format(time.DateOnly), HoldoutPeriods: cfg.HoldoutPeriods, Model: report.ModelResult{Type: cfg.Model}}
	if cfg.Model == ModelHistorical {
		bt.Error = "the Historical model makes no predictions to backtest"
		return bt, nil
	}
	sum, err := src.Summarize(ctx, cfg.Columns, summary.Options{
		CalibrationEnd: calEnd, ObservationEnd: cfg.ObservationEnd, Unit: cfg.Unit,
		Returns: cfg.Returns, MaxInvalidRows: cfg.MaxInvalidRows,
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		if errors.Is(err, summary.ErrNoData) && ctx.Err() == nil {
			bt.Error = "no transactions up to the calibration end " + bt.CalibrationEnd
			return bt, nil
		}
		return nil, Classify(err)
	}
	bt.Customers = int64(sum.Len())

	bcfg := cfg
	bcfg.IntervalDraws = -1
	scratch := &report.Result{Model: report.ModelResult{Type: cfg.Model}}
	pm, sub, values, err := fitModel(bcfg, sum, scratch)
	if err != nil {
		bt.Error = "calibration fit: " + err.Error()
		return bt, nil
	}
	bt.Model = scratch.Model

	length := float64(cfg.holdoutDays()) * cfg.Unit.FromDays(1) // holdout in time units
	predicted, actual := holdoutValues(cfg, sum, pm, sub, length)
	if pm != nil {
		bt.Transactions = validate(cfg, sum, pm.purchase)
	}
	bt.Value = valueBacktest(backtest.Score(predicted, actual, nil))
	for _, d := range backtest.Deciles(predicted, actual) {
		bt.Deciles = append(bt.Deciles, report.DecileBacktest{Decile: d.Decile, Customers: int64(d.Customers), Predicted: d.Predicted, Actual: d.Actual})
	}
	if len(defs) > 0 {
		customers := segmentCustomers(sum, values, newCustomerValues(cfg, sum, values))
		segment.Percentiles(customers)
		members, err := segment.Assign(defs, customers, endOfDay(calEnd))
		if err != nil {
			return nil, &Error{Reason: ReasonInvalidFilter, Permanent: true, Err: err}
		}
		for i, d := range defs {
			bt.Segments = append(bt.Segments, report.GroupBacktest{Name: d.Name, ValueBacktest: *valueBacktest(backtest.Score(predicted, actual, members[i]))})
		}
	}
	for _, g := range orderedGroups(cfg, groupAttributes(cfg, sum, cfg.BreakdownBy)) {
		b := report.BreakdownBacktest{Attribute: g.attribute}
		for _, v := range g.values {
			b.Values = append(b.Values, report.GroupBacktest{Name: v.value, ValueBacktest: *valueBacktest(backtest.Score(predicted, actual, v.members))})
		}
		bt.Breakdowns = append(bt.Breakdowns, b)
	}
	return bt, nil
}

// holdoutValues returns each calibration customer's predicted and actual net margin in the
// holdout (length time units): grossMargin x amounts, undiscounted, without retention costs.
func holdoutValues(cfg Config, sum *summary.Summary, pm *fittedModel, sub *ltv.SubscriptionModel, length float64) (predicted, actual []float64) {
	n := sum.Len()
	predicted, actual = make([]float64, n), make([]float64, n)
	perMonth := cfg.Unit.PeriodsPerMonth()
	for i, c := range sum.All() {
		actual[i] = cfg.GrossMargin * c.HoldoutValue
		x := float64(c.Frequency)
		switch {
		case pm != nil:
			predicted[i] = cfg.GrossMargin * pm.spend.ExpectedSpend(x, c.Monetary) * pm.purchase.ExpectedPurchases(length, x, c.Recency, c.Age)
		case sub != nil:
			renewals := int(math.Round(c.Recency))
			if observed := int(math.Floor(c.Age + 1e-9)); observed > renewals+1 {
				continue // churned
			}
			payment := c.HistoricValue / (x + 1)
			predicted[i] = cfg.GrossMargin * payment * sub.ExpectedRenewals(renewals, int(math.Round(length)), 1)
		case cfg.Model == ModelFormula:
			// The formula's own rate: spend per month observed (at least one month).
			observed := math.Max(c.Age/perMonth, 1)
			predicted[i] = cfg.GrossMargin * c.HistoricValue / observed * length / perMonth
		}
	}
	return predicted, actual
}

func valueBacktest(m backtest.Metrics) *report.ValueBacktest {
	opt := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	return &report.ValueBacktest{
		Customers: int64(m.Customers), Predicted: m.Predicted, Actual: m.Actual, RelativeError: opt(m.RelativeError),
		MeanAbsoluteError: m.MAE, RootMeanSquaredError: m.RMSE,
		Top10PercentCapture: opt(m.Top10Capture), Top20PercentCapture: opt(m.Top20Capture), Spearman: opt(m.Spearman),
	}
}

type attributeGroup struct {
	attribute string
	values    []struct {
		value   string
		members []int32
	}
}

// orderedGroups lists the groups of each breakdownBy attribute, the most customers first (ties
// by value), as the breakdowns are ordered.
func orderedGroups(cfg Config, groups customerGroups) []attributeGroup {
	var out []attributeGroup
	for _, attr := range cfg.BreakdownBy {
		members := groups[attr]
		order := make([]string, 0, len(members))
		for v := range members {
			order = append(order, v)
		}
		sortByCountThenValue(order, members)
		g := attributeGroup{attribute: attr}
		for _, v := range order {
			g.values = append(g.values, struct {
				value   string
				members []int32
			}{v, members[v]})
		}
		out = append(out, g)
	}
	return out
}

func sortByCountThenValue(values []string, groups map[string][]int32) {
	sort.Slice(values, func(i, j int) bool {
		a, b := values[i], values[j]
		if len(groups[a]) != len(groups[b]) {
			return len(groups[a]) > len(groups[b])
		}
		return a < b
	})
}
