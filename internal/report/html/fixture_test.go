package html

import (
	"time"

	"github.com/ltv-operator/ltv-operator/internal/report"
)

func p(v float64) *float64 { return &v }

// fullResult has data for every chart.
func fullResult() *report.Result {
	return &report.Result{
		ComputedAt: time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC), ObservationEnd: "2026-10-31", TimeUnit: "Week",
		HorizonMonths: 12, Currency: "USD", Customers: 400, RepeatCustomers: 378, Transactions: 3658, Revenue: 74593.12,
		AverageLTV: 55.95, AverageLTVInterval: &report.Interval{Low: 50.46, High: 60.74, Level: 0.9}, MedianLTV: 40, TotalLTV: 22378,
		LTVToCAC: p(3.02), AffordableCAC: p(18.65), TargetLTVToCAC: 3, Top20PercentValueShare: 0.84, AverageProbabilityAlive: p(0.46),
		ProbabilityAliveHistogram: []int64{153, 17, 11, 10, 13, 18, 11, 16, 51, 100},
		Model:                     report.ModelResult{Type: "BGNBD", Spend: "GammaGamma", Converged: true},
		Breakdowns: []report.Breakdown{{Attribute: "channel", Values: []report.BreakdownValue{
			{Value: "organic", Customers: 90, AverageLTV: 65.53, TotalLTV: 5897, ValueShare: 0.26, AverageLTVInterval: &report.Interval{Low: 58, High: 72, Level: 0.9}},
			{Value: "paid_search", Customers: 120, AverageLTV: 59.7, TotalLTV: 7164, ValueShare: 0.32, AcquisitionCost: p(40), LTVToCAC: p(1.49), AverageLTVInterval: &report.Interval{Low: 54, High: 65, Level: 0.9}},
			{Value: "email", Customers: 80, AverageLTV: 59.37, TotalLTV: 4750, ValueShare: 0.21, AcquisitionCost: p(5), LTVToCAC: p(11.87), AverageLTVInterval: &report.Interval{Low: 52, High: 66, Level: 0.9}},
			{Value: "<script>alert(1)</script>", Customers: 110, AverageLTV: 41, TotalLTV: 4510, ValueShare: 0.2, AcquisitionCost: p(25), LTVToCAC: p(1.64), AverageLTVInterval: &report.Interval{Low: 36, High: 46, Level: 0.9}},
		}}},
		Segments: []report.Segment{
			{Name: "champions", Customers: 80, AverageLTV: 218, TotalLTV: 17440, ValueShare: 0.78},
			{Name: "at-risk", Customers: 40, AverageLTV: 21, TotalLTV: 840, ValueShare: 0.038},
			{Name: "new-customers", Customers: 12, AverageLTV: 0, TotalLTV: 0, ValueShare: 0},
		},
		Backtest: &report.Backtest{
			CalibrationEnd: "2026-08-01", HoldoutPeriods: 13, Customers: 380,
			Transactions: &report.Validation{HoldoutPeriods: 13, ByFrequency: []report.FrequencyBacktest{
				{Frequency: "0", Customers: 100, Predicted: 0.5, Actual: 0.55}, {Frequency: "1", Customers: 60, Predicted: 0.4, Actual: 0.38},
				{Frequency: "2", Customers: 0}, {Frequency: "7+", Customers: 30, Predicted: 4.5, Actual: 4.6},
			}},
			Value: &report.ValueBacktest{Customers: 380, Predicted: 9000, Actual: 10000, RelativeError: p(-0.1), Top10PercentCapture: p(0.58), Spearman: p(0.72)},
			Deciles: []report.DecileBacktest{
				{Decile: 1, Customers: 38, Predicted: 118, Actual: 143}, {Decile: 2, Customers: 38, Predicted: 43, Actual: 50},
				{Decile: 3, Customers: 38, Predicted: 25, Actual: 22}, {Decile: 4, Customers: 38, Predicted: 14, Actual: 12},
				{Decile: 5, Customers: 38, Predicted: 9, Actual: 11}, {Decile: 6, Customers: 38, Predicted: 6, Actual: 5},
				{Decile: 7, Customers: 38, Predicted: 4, Actual: 2}, {Decile: 8, Customers: 38, Predicted: 2, Actual: 1},
				{Decile: 9, Customers: 38, Predicted: 1, Actual: 0}, {Decile: 10, Customers: 38, Predicted: 0.5, Actual: 0},
			},
		},
	}
}

// wantCharts are the charts of fullResult and their data shapes.
var wantCharts = map[string]int{
	"ltv-by-channel":        4,
	"ltv-to-cac-by-channel": 3, // organic has no acquisition cost
	"segment-value-share":   3,
	"probability-alive":     10,
	"backtest-by-frequency": 6, // 3 non-empty frequency groups x predicted, actual
	"backtest-by-decile":    20,
}
