package pipeline

import (
	"context"
	"math"
	"testing"
)

// A hand-made shop: a's orders 10 + 30 (net 40), b's 25 - 5 (net 20, a return), c's 100.
const valuesShop = `customer_id,date,amount
a,2026-01-05,10
a,2026-02-10,30
b,2026-01-20,25
b,2026-01-20,-5
c,2026-03-01,100
`

func TestHistoricPredictedTotalValue(t *testing.T) {
	const margin = 0.25
	// historic values: a 40*0.25 = 10, b 20*0.25 = 5, c 100*0.25 = 25; average 40/3.
	wantHistoric := map[string]float64{"a": 10, "b": 5, "c": 25}

	t.Run("Historical", func(t *testing.T) {
		cfg := baseConfig("2026-03-31", ModelHistorical)
		cfg.GrossMargin = margin
		res, scores, err := Run(context.Background(), cfg, csvSource(valuesShop))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(res.HistoricValue.Total-40) > 1e-12 || math.Abs(res.HistoricValue.Average-40.0/3) > 1e-12 {
			t.Errorf("historic value %+v, want total 40, average 13.333", res.HistoricValue)
		}
		// Historical predicts nothing: total = historic, and its model value is the realised margin.
		if res.TotalValue != res.HistoricValue || res.PredictedValue.Total != 40 || res.TotalLTV != 40 {
			t.Errorf("total %+v, predicted %+v, totalLTV %g", res.TotalValue, res.PredictedValue, res.TotalLTV)
		}
		for i := range scores.Summary.Customers {
			row := scores.Row(i, nil)
			if row.HistoricValue != wantHistoric[row.ID] || row.TotalValue != row.HistoricValue ||
				row.HistoricRevenue != wantHistoric[row.ID]/margin {
				t.Errorf("%s: %+v", row.ID, row)
			}
		}
	})

	t.Run("Formula", func(t *testing.T) {
		cfg := baseConfig("2026-03-31", ModelFormula)
		cfg.GrossMargin = margin
		cfg.Segments = []SegmentSpec{{Name: "whole", Filter: "customer.totalValue > customer.historicValue"}}
		res, scores, err := Run(context.Background(), cfg, csvSource(valuesShop))
		if err != nil {
			t.Fatal(err)
		}
		var sumPredicted float64
		for i := range scores.Summary.Customers {
			row := scores.Row(i, nil)
			if row.HistoricValue != wantHistoric[row.ID] || math.Abs(row.TotalValue-(row.HistoricValue+row.PredictedValue)) > 1e-12 {
				t.Errorf("%s: historic %g total %g predicted %g", row.ID, row.HistoricValue, row.TotalValue, row.PredictedValue)
			}
			sumPredicted += row.PredictedValue
		}
		if math.Abs(res.TotalValue.Total-(40+sumPredicted)) > 1e-9 || math.Abs(res.PredictedValue.Total-res.TotalLTV) > 1e-12 {
			t.Errorf("totals: total %+v predicted %+v (sum %g)", res.TotalValue, res.PredictedValue, sumPredicted)
		}
		// Every customer has some predicted value, so the CEL filter on totalValue selects all three.
		if len(res.Segments) != 1 || res.Segments[0].Customers != 3 || res.Segments[0].TotalValue != res.TotalValue {
			t.Errorf("segment %+v", res.Segments)
		}
	})
}
