package pipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"testing"

	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/report"
)

// On CDNOW with BG/NBD + Gamma-Gamma every customer's row carries the bounds ltv.CLVIntervals
// gives for the run's inputs and seed (the same draws as the average LTV's interval), bracketing
// the predicted value; top-customers.csv prints them at the currency's precision. Models without
// an interval (Historical, Formula) leave them nil and the CSV cells empty.
func TestPredictedValueBoundsInScores(t *testing.T) {
	cfg := baseConfig("1997-09-30", ModelBGNBD)
	cfg.IntervalDraws = 0 // the default 200
	res, scores, err := Run(context.Background(), cfg, csvSource(cdnow(t)))
	if err != nil {
		t.Fatal(err)
	}
	if res.AverageLTVInterval == nil || scores.ValueLower == nil {
		t.Fatalf("no interval: %+v, %d bounds", res.AverageLTVInterval, len(scores.ValueLower))
	}
	pm, err := refitForTest(scores)
	if err != nil {
		t.Fatal(err)
	}
	n := len(scores.Summary.Customers())
	rows := make([]ltv.RFM, n)
	freq, monetary := make([]float64, n), make([]float64, n)
	for i, c := range scores.Summary.Customers() {
		rows[i] = ltv.RFM{X: float64(c.Frequency), Tx: c.Recency, T: c.Age, Weight: 1}
		freq[i], monetary[i] = float64(c.Frequency), c.Monetary
	}
	sm, err := ltv.FitGammaGamma(freq, monetary, nil)
	if err != nil {
		t.Fatal(err)
	}
	iv, b, err := ltv.CLVIntervals(pm, sm, rows, monetary, clvConfig(cfg), []ltv.IntervalRequest{{}}, 200, 1, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(iv[0].Low-res.AverageLTVInterval.Low) > 1e-9 || math.Abs(iv[0].High-res.AverageLTVInterval.High) > 1e-9 {
		t.Errorf("average interval %+v, run's %+v", iv[0], res.AverageLTVInterval)
	}
	outside := 0
	for i := range scores.Summary.Customers() {
		row := scores.Row(i, nil)
		if row.PredictedValueLower == nil || row.PredictedValueUpper == nil {
			t.Fatalf("customer %s: no bounds", row.ID)
		}
		lo, hi := *row.PredictedValueLower, *row.PredictedValueUpper
		if math.Abs(lo-b.Low[i]) > 1e-9*math.Max(1, math.Abs(lo)) || math.Abs(hi-b.High[i]) > 1e-9*math.Max(1, math.Abs(hi)) {
			t.Fatalf("customer %s: bounds [%v, %v], ltv.CLVIntervals [%v, %v]", row.ID, lo, hi, b.Low[i], b.High[i])
		}
		if !(lo <= row.PredictedValue && row.PredictedValue <= hi) {
			outside++
		}
	}
	if outside > n/100 {
		t.Errorf("predicted value outside its bounds for %d of %d customers", outside, n)
	}

	files, err := report.Files(res)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(files[report.TopCustomersFile])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for j, h := range recs[0] {
		col[h] = j
	}
	top := res.Top[0]
	if got, want := recs[1][col["predicted_value_lower"]], report.Money(*top.PredictedValueLower, "USD"); got != want || got == "" {
		t.Errorf("top-customers.csv predicted_value_lower %q, want %q", got, want)
	}
	if got, want := recs[1][col["predicted_value_upper"]], report.Money(*top.PredictedValueUpper, "USD"); got != want {
		t.Errorf("top-customers.csv predicted_value_upper %q, want %q", got, want)
	}

	for _, model := range []string{ModelHistorical, ModelFormula} {
		cfg := baseConfig("1997-09-30", model)
		cfg.IntervalDraws = 0
		res, scores, err := Run(context.Background(), cfg, csvSource(cdnow(t)))
		if err != nil {
			t.Fatal(err)
		}
		if r := scores.Row(0, nil); r.PredictedValueLower != nil || r.PredictedValueUpper != nil {
			t.Errorf("%s: bounds %v %v, want none", model, r.PredictedValueLower, r.PredictedValueUpper)
		}
		files, err := report.Files(res)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(bytes.NewReader(files[report.TopCustomersFile])).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if c := recs[1][col["predicted_value_lower"]] + recs[1][col["predicted_value_upper"]]; c != "" {
			t.Errorf("%s: top-customers.csv bounds %q, want empty", model, c)
		}
	}
}
