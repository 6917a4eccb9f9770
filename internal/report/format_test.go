package report

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"strings"
	"testing"
)

func TestMoneyAndNumberFormats(t *testing.T) {
	cases := []struct {
		v        float64
		currency string
		want     string
	}{
		{2.2378001756922654e+06, "USD", "2237800.18"},
		{138840.67999999996, "USD", "138840.68"},
		{1e21, "EUR", "1000000000000000000000.00"},
		{-0.001, "USD", "0.00"},
		{-12.345, "USD", "-12.35"}, // -12.345 is stored as -12.3450000000000006
		{1234.5, "JPY", "1234"},    // an exact tie rounds to even
		{1234.51, "JPY", "1235"},
		{1.2345, "kwd", "1.234"}, // 1.2345 is stored as 1.23449999999999993
		{5, "", "5.00"},
	}
	for _, c := range cases {
		if got := Money(c.v, c.currency); got != c.want {
			t.Errorf("Money(%v, %q) = %q, want %q", c.v, c.currency, got, c.want)
		}
	}
	tenth, fifth := 0.1, 0.2
	for v, want := range map[float64]string{1e-20: "0.00000000000000000001", tenth + fifth: "0.30000000000000004", 3e15: "3000000000000000"} {
		if got := Number(v); got != want {
			t.Errorf("Number(%v) = %q, want %q", v, got, want)
		}
	}
}

// No cell of any CSV is in exponent notation, and every money column has exactly the currency's
// decimals.
func TestCSVsNeverUseExponents(t *testing.T) {
	r := sample()
	r.TotalLTV = 2.2378001756922654e+06
	r.Segments[0].TotalLTV = 138840.67999999996
	r.Segments[0].ValueShare = 1e-7
	r.Top[0].Recency = 1e-9
	r.Top[0].HistoricValue = 1e22
	r.Backtest = &Backtest{Value: &ValueBacktest{Customers: 3, Predicted: 1e-8, Actual: 3e7}, Deciles: []DecileBacktest{{Decile: 1, Customers: 1, Predicted: 2e-9, Actual: 1e9}}}
	files, err := Files(r)
	if err != nil {
		t.Fatal(err)
	}
	exp := regexp.MustCompile(`^-?[0-9.]+[eE][-+]?[0-9]+$`)
	money := regexp.MustCompile(`^-?[0-9]+\.[0-9]{2}$`)
	moneyCols := map[string]bool{"average_ltv": true, "median_ltv": true, "total_ltv": true, "predicted_value": true, "historic_value": true,
		"monetary": true, "acquisition_cost": true, "predicted": true, "actual": true, "mean_absolute_error": true, "average_ltv_low": true, "average_ltv_high": true}
	for name, b := range files {
		if !strings.HasSuffix(name, ".csv") {
			continue
		}
		rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, row := range rows[1:] {
			for j, cell := range row {
				if exp.MatchString(cell) {
					t.Errorf("%s column %s: %q is in exponent notation", name, rows[0][j], cell)
				}
				if moneyCols[rows[0][j]] && cell != "" && !money.MatchString(cell) {
					t.Errorf("%s column %s: %q is not fixed to cents", name, rows[0][j], cell)
				}
			}
		}
	}
}
