package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func sample() *Result {
	cac, ratio := 10.0, 3.5
	return &Result{
		ComputedAt: time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC), ObservationEnd: "2026-11-25", TimeUnit: "Week",
		HorizonMonths: 12, Currency: "USD", Customers: 2, AverageLTV: 35, TotalLTV: 70, MedianLTV: 35,
		Model:      ModelResult{Type: "BGNBD", Parameters: map[string]float64{"r": 0.24}},
		Segments:   []Segment{{Name: "vip, \"gold\"", Customers: 1, AverageLTV: 60, TotalLTV: 60, ValueShare: 60.0 / 70}},
		Breakdowns: []Breakdown{{Attribute: "sales channel", Values: []BreakdownValue{{Value: "email", Customers: 2, AverageLTV: 35, TotalLTV: 70, ValueShare: 1, AcquisitionCost: &cac, LTVToCAC: &ratio}}}},
		Top: []CustomerRow{
			{ID: "a", PredictedValue: 60, Attributes: map[string]string{"channel": "email"}, Segments: []string{"vip"}},
			{ID: "b", PredictedValue: 10, Attributes: map[string]string{"channel": "email", "country": "PL"}},
		},
	}
}

func TestFiles(t *testing.T) {
	files, err := Files(sample())
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(files[SummaryFile], &back); err != nil {
		t.Fatal(err)
	}
	if back.AverageLTV != 35 || back.Model.Parameters["r"] != 0.24 || back.Top != nil {
		t.Errorf("summary.json round trip: %+v", back)
	}
	segs, err := csv.NewReader(bytes.NewReader(files[SegmentsFile])).ReadAll()
	if err != nil || len(segs) != 2 || segs[1][0] != `vip, "gold"` || segs[1][1] != "1" {
		t.Errorf("segments.csv = %q, %v", segs, err)
	}
	b, ok := files["breakdown-sales_channel.csv"]
	if !ok {
		t.Fatalf("no breakdown file; keys %v", keys(files))
	}
	rows, _ := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if rows[1][0] != "email" || rows[1][5] != "10.00" || rows[1][6] != "3.5" {
		t.Errorf("breakdown rows = %q", rows)
	}
	top, _ := csv.NewReader(bytes.NewReader(files[TopCustomersFile])).ReadAll()
	if strings.Join(top[0][len(top[0])-2:], ",") != "channel,country" || top[1][0] != "a" || top[2][len(top[2])-1] != "PL" || top[1][9] != "vip" {
		t.Errorf("top-customers.csv = %q", top)
	}
}

func TestWriteTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Average LTV", "35.00 USD", "BGNBD: r=0.24", "By sales channel", "3.50"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, buf.String())
		}
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
