package pipeline

import (
	"bytes"
	"context"
	"math"
	"testing"

	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/summary"
	"github.com/ltv-operator/ltv-operator/internal/synth"
)

// Every breakdown value gets a 90% interval of its average LTV that contains its point estimate
// and equals the interval of that channel's customers alone from the same parameter draws (seed),
// computed here from the customers' attributes in the scores.
func TestBreakdownIntervals(t *testing.T) {
	var buf bytes.Buffer
	if _, err := synth.Write(&buf, synth.Config{Customers: 4000, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig("2025-12-31", ModelBGNBD)
	cfg.Unit = summary.Day
	cfg.Columns.Attributes = []string{"channel"}
	cfg.BreakdownBy = []string{"channel"}
	cfg.IntervalDraws = 100
	res, scores, err := Run(context.Background(), cfg, csvSource(buf.String()))
	if err != nil {
		t.Fatal(err)
	}
	if res.AverageLTVInterval == nil {
		t.Fatal("no overall interval")
	}
	rows := make([]ltv.RFM, len(scores.Summary.Customers()))
	monetary := make([]float64, len(rows))
	for i, c := range scores.Summary.Customers() {
		rows[i] = ltv.RFM{X: float64(c.Frequency), Tx: c.Recency, T: c.Age, Weight: 1}
		monetary[i] = c.Monetary
	}
	pm, err := refitForTest(scores)
	if err != nil {
		t.Fatal(err)
	}
	sm, err := ltv.FitGammaGamma(freqOf(scores), monetary, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range res.Breakdowns[0].Values {
		iv := v.AverageLTVInterval
		if iv == nil || !(iv.Low <= v.AverageLTV && v.AverageLTV <= iv.High) || iv.Level != 0.9 {
			t.Errorf("channel %s: interval %+v does not contain the average %.4f", v.Value, iv, v.AverageLTV)
			continue
		}
		var members []int32
		for i, c := range scores.Summary.Customers() {
			if c.Attributes[0] == v.Value {
				members = append(members, int32(i))
			}
		}
		direct, err := ltv.AverageCLVIntervals(pm, sm, rows, monetary, clvConfig(cfg), []ltv.IntervalRequest{{Name: "all"}, {Name: v.Value, Members: members}}, 100, 1, 0.9)
		if err != nil {
			t.Fatal(err)
		}
		if d := direct[1]; math.Abs(d.Low-iv.Low) > 1e-9*math.Abs(d.Low) || math.Abs(d.High-iv.High) > 1e-9*math.Abs(d.High) {
			t.Errorf("channel %s: interval %.6f..%.6f, direct %.6f..%.6f", v.Value, iv.Low, iv.High, d.Low, d.High)
		}
		t.Logf("channel %-12s %5d customers: average LTV %.2f, 90%% interval %.2f..%.2f", v.Value, v.Customers, v.AverageLTV, iv.Low, iv.High)
	}
}

func freqOf(s *Scores) []float64 {
	out := make([]float64, len(s.Summary.Customers()))
	for i, c := range s.Summary.Customers() {
		out[i] = float64(c.Frequency)
	}
	return out
}
