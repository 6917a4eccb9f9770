package controllers

import (
	"strconv"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/report"
)

// maxStatusBacktestGroups bounds the backtest's segments and each breakdown's values in status
// (the CRD's MaxItems); backtest.csv has them all.
const maxStatusBacktestGroups = 20

// statusChurn projects churn averages onto status.
func statusChurn(c *report.ChurnOutlook) *v1alpha1.ChurnResult {
	if c == nil {
		return nil
	}
	return &v1alpha1.ChurnResult{WindowDays: int32(c.WindowDays), AverageProbabilityAliveAfter: share(c.AverageProbabilityAliveAfter),
		AverageProbabilityNoPurchase: share(c.AverageProbabilityNoPurchase), CustomersWithNextPurchase: c.CustomersWithNextPurchase}
}

// statusBacktest projects the backtest onto status, bounded.
func statusBacktest(b *report.Backtest) *v1alpha1.BacktestResult {
	if b == nil {
		return nil
	}
	out := &v1alpha1.BacktestResult{CalibrationEnd: b.CalibrationEnd, Error: b.Error}
	if len(b.Model.Parameters) > 0 {
		out.Parameters = map[string]string{}
		for k, v := range b.Model.Parameters {
			out.Parameters[k] = param(v)
		}
	}
	if b.Value != nil {
		v := statusValueBacktest("", b.Value)
		out.Overall = &v
	}
	for i := range b.Segments {
		if i == maxStatusBacktestGroups {
			break
		}
		out.Segments = append(out.Segments, statusValueBacktest(b.Segments[i].Name, &b.Segments[i].ValueBacktest))
	}
	for _, br := range b.Breakdowns {
		if len(out.Breakdowns) == 8 {
			break
		}
		sb := v1alpha1.BreakdownBacktestResult{Attribute: br.Attribute}
		for i := range br.Values {
			if i == maxStatusBacktestGroups {
				break
			}
			sb.Values = append(sb.Values, statusValueBacktest(br.Values[i].Name, &br.Values[i].ValueBacktest))
		}
		out.Breakdowns = append(out.Breakdowns, sb)
	}
	return out
}

func statusValueBacktest(name string, v *report.ValueBacktest) v1alpha1.ValueBacktestResult {
	opt := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', 4, 64)
	}
	return v1alpha1.ValueBacktestResult{
		Name: name, Customers: v.Customers, Predicted: money(v.Predicted), Actual: money(v.Actual),
		RelativeError: opt(v.RelativeError), MeanAbsoluteError: money(v.MeanAbsoluteError), RootMeanSquaredError: money(v.RootMeanSquaredError),
		Top10PercentCapture: opt(v.Top10PercentCapture), Top20PercentCapture: opt(v.Top20PercentCapture), Spearman: opt(v.Spearman),
	}
}
