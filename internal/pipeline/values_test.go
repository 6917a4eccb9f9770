package pipeline

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/ltv-operator/ltv-operator/internal/report"
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
		for i := range scores.Summary.Customers() {
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
		for i := range scores.Summary.Customers() {
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

// cohorts.csv of the hand-made shop, every number written down: margin 0.25, observed to 03-31.
// January (a, b): month 0 revenue 10 + 25 - 5 = 30, both active, 0.25*30/2 = 3.75 per customer;
// February: a's 30, cumulative 0.25*60/2 = 7.5; March: nothing. March (c): 100, 25 per customer.
func TestCohortsFile(t *testing.T) {
	cfg := baseConfig("2026-03-31", ModelHistorical)
	cfg.GrossMargin = 0.25
	res, _, err := Run(context.Background(), cfg, csvSource(valuesShop))
	if err != nil {
		t.Fatal(err)
	}
	files, err := report.Files(res)
	if err != nil {
		t.Fatal(err)
	}
	want := `cohort,months_since_acquisition,customers,active_customers,revenue,cumulative_margin_per_customer,expected_cumulative_margin_per_customer
2026-01,0,2,2,30.00,3.75,
2026-01,1,2,1,30.00,7.50,
2026-01,2,2,0,0.00,7.50,
2026-03,0,1,1,100.00,25.00,
`
	if got := string(files[report.CohortsFile]); got != want {
		t.Errorf("cohorts.csv:\n%s\nwant:\n%s", got, want)
	}
	// summary.json leaves the tables to their CSVs; a Job's JSON result carries them.
	if strings.Contains(string(files[report.SummaryFile]), "cohortTables") {
		t.Error("summary.json holds the cohort tables")
	}
	js, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back report.Result
	if err := json.Unmarshal(js, &back); err != nil || !reflect.DeepEqual(back.CohortTables, res.CohortTables) {
		t.Errorf("cohort tables lost in JSON: %v", err)
	}
	if res.CohortsNote != "" || len(res.Cohorts) != 2 || res.Cohorts[0].Cohort != "2026-03" || res.Cohorts[1].ValueAt3Months != nil {
		t.Errorf("cohort summary %+v, note %q", res.Cohorts, res.CohortsNote)
	}
}

// Observed payback on the hand-made shop (margin 0.25): month 0 over both cohorts is
// 0.25 x (30 + 100) / 3 = 10.83 per customer; months 1 and 2 only January's: 7.5.
func TestObservedPayback(t *testing.T) {
	for _, c := range []struct {
		cac  float64
		want *int
	}{{10, intPtr(0)}, {7, intPtr(0)}, {12, nil}} {
		cfg := baseConfig("2026-03-31", ModelHistorical)
		cfg.GrossMargin = 0.25
		cfg.AcquisitionCost = &AcquisitionCost{Default: c.cac}
		res, _, err := Run(context.Background(), cfg, csvSource(valuesShop))
		if err != nil {
			t.Fatal(err)
		}
		got := res.NewCustomer.ObservedPaybackMonths
		if (got == nil) != (c.want == nil) || (got != nil && *got != *c.want) {
			t.Errorf("CAC %g: observed payback %v, want %v", c.cac, got, c.want)
		}
	}
	// Without c's row only the January cohort (a, b) is left: 3.75 per customer in month 0, 7.5 by
	// the end of month 1, which repays a CAC of 7.
	cfg := baseConfig("2026-03-31", ModelHistorical)
	cfg.GrossMargin = 0.25
	cfg.AcquisitionCost = &AcquisitionCost{Default: 7}
	res, _, err := Run(context.Background(), cfg, csvSource(valuesShop[:strings.Index(valuesShop, "c,")]))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.NewCustomer.ObservedPaybackMonths; got == nil || *got != 1 {
		t.Errorf("January only, CAC 7: observed payback %v, want 1", got)
	}
}

func intPtr(v int) *int { return &v }
