package html

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ltv-operator/ltv-operator/internal/report"
)

func TestNiceTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{
		{0, 65.53, "0 20 40 60 80"},
		{0, 11.87, "0 5 10 15"},
		{0, 0.9, "0 0.2 0.4 0.6 0.8 1"},
		{-12, 30, "-20 -10 0 10 20 30"},
		{0, 0, "0 0.2 0.4 0.6 0.8 1"},
	} {
		ticks := niceTicks(c.lo, c.hi, 5)
		var got []string
		for _, v := range ticks {
			got = append(got, strconv.FormatFloat(v, 'f', -1, 64))
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("niceTicks(%v, %v) = %v, want %s", c.lo, c.hi, got, c.want)
		}
		if ticks[0] > c.lo || ticks[len(ticks)-1] < c.hi {
			t.Errorf("niceTicks(%v, %v) = %v does not cover the range", c.lo, c.hi, ticks)
		}
	}
}

// Bar lengths are proportional to the values, from the zero line, whiskers at the interval's ends.
func TestHBarsGeometry(t *testing.T) {
	lo, hi := 8.0, 12.0
	c := HBars("x", "x", "", []Bar{{Label: "a", Value: 10, Low: &lo, High: &hi}, {Label: "b", Value: 20}, {Label: "c", Value: -5}}, nil, "", 600)
	if c.Points != 3 || len(c.Rects) != 3 {
		t.Fatalf("points %d, rects %d", c.Points, len(c.Rects))
	}
	a, b, neg := c.Rects[0], c.Rects[1], c.Rects[2]
	if math.Abs(b.W/a.W-2) > 1e-9 {
		t.Errorf("bar widths %v and %v are not 1:2", a.W, b.W)
	}
	if math.Abs(neg.W/a.W-0.5) > 1e-9 || neg.X+neg.W != a.X {
		t.Errorf("negative bar %+v does not end at the zero line %v", neg, a.X)
	}
	unit := a.W / 10
	whisker := c.Over[0]
	if math.Abs(whisker.X1-(a.X+8*unit)) > 1e-9 || math.Abs(whisker.X2-(a.X+12*unit)) > 1e-9 {
		t.Errorf("interval %v-%v, want %v-%v", whisker.X1, whisker.X2, a.X+8*unit, a.X+12*unit)
	}
	ref := 3.0
	c = HBars("x", "x", "", []Bar{{Label: "a", Value: 1}}, &ref, "3:1", 600)
	r := c.Over[len(c.Over)-1]
	if r.Class != "reference" || math.Abs(r.X1-(c.Rects[0].X+3*c.Rects[0].W)) > 1e-9 {
		t.Errorf("reference line %+v, want at 3 x the bar of 1 (%+v)", r, c.Rects[0])
	}
}

func TestColumnsGeometry(t *testing.T) {
	c := Columns("x", "x", "", []string{"1", "2"}, []Series{{Class: "predicted", Values: []float64{10, 40}}, {Class: "actual", Values: []float64{20, 0}}}, "", 600, 260)
	if c.Points != 4 {
		t.Fatalf("points %d, want 4", c.Points)
	}
	p1, a1, p2, a2 := c.Rects[0], c.Rects[1], c.Rects[2], c.Rects[3]
	if math.Abs(p2.H/p1.H-4) > 1e-9 || math.Abs(a1.H/p1.H-2) > 1e-9 || a2.H != 0 {
		t.Errorf("heights %v %v %v %v are not 10:20:40:0", p1.H, a1.H, p2.H, a2.H)
	}
	if p1.Y+p1.H != p2.Y+p2.H {
		t.Errorf("columns do not share a baseline")
	}
	if len(c.Legend) != 2 {
		t.Errorf("legend %v", c.Legend)
	}
}

func TestLinesForCohorts(t *testing.T) {
	c := Lines("cohorts", "x", "", []Curve{{Label: "2026-01", X: []float64{0, 1, 2}, Y: []float64{10, 15, 18}}}, "months", 600, 260)
	if c.Points != 1 || strings.Count(c.Polys[0].Points, ",") != 3 {
		t.Errorf("curve %+v", c.Polys)
	}
}

func TestGrouped(t *testing.T) {
	for in, want := range map[string]string{"22378.00": "22,378.00", "400": "400", "-1234567.5": "-1,234,567.5", "999": "999", "1000": "1,000"} {
		if got := Grouped(in); got != want {
			t.Errorf("Grouped(%q) = %q, want %q", in, got, want)
		}
	}
}

var chartRE = regexp.MustCompile(`<figure class="chart" id="([^"]+)" data-points="(\d+)">`)

// Every chart with data is on the page with its data shapes; values are escaped; nothing is
// fetched from anywhere.
func TestRenderFullResult(t *testing.T) {
	page, err := Render(fullResult(), Options{Title: "shop/shop-ltv"})
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	got := map[string]int{}
	for _, m := range chartRE.FindAllStringSubmatch(s, -1) {
		n, _ := strconv.Atoi(m[2])
		got[m[1]] = n
	}
	if len(got) != len(wantCharts) {
		t.Errorf("charts %v, want %v", got, wantCharts)
	}
	for id, n := range wantCharts {
		if got[id] != n {
			t.Errorf("chart %s has %d data points, want %d", id, got[id], n)
		}
	}
	if strings.Count(s, `class="datum`) != sum(wantCharts) {
		t.Errorf("%d data shapes, want %d", strings.Count(s, `class="datum`), sum(wantCharts))
	}
	if strings.Contains(s, "<script>alert") || !strings.Contains(s, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("a breakdown value is not escaped")
	}
	for _, bad := range []string{"http://", "https://", "src=", "href=", "@import", "url("} {
		if strings.Contains(s, bad) {
			t.Errorf("the page contains %q: it must not fetch anything", bad)
		}
	}
	for _, want := range []string{"shop/shop-ltv", "55.95 USD", "22,378.00 USD", "90% interval 50.46 – 60.74", "LTV:CAC", "-10.0%", "Content-Security-Policy"} {
		if !strings.Contains(s, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// Charts without data are left out, never drawn empty: Historical has no P(alive), no
// intervals; without a holdout there is no backtest; no cohorts yet (issue 9).
func TestRenderLeavesOutChartsWithoutData(t *testing.T) {
	r := &report.Result{ObservationEnd: "2026-10-31", Currency: "JPY", Customers: 3, AverageLTV: 1200, TotalLTV: 3600,
		Model:      report.ModelResult{Type: "Historical"},
		Breakdowns: []report.Breakdown{{Attribute: "country", Values: []report.BreakdownValue{{Value: "JP", Customers: 3, AverageLTV: 1200}}}}}
	page, err := Render(r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	var ids []string
	for _, m := range chartRE.FindAllStringSubmatch(s, -1) {
		ids = append(ids, m[1])
	}
	if strings.Join(ids, " ") != "ltv-by-country" {
		t.Errorf("charts %v, want only ltv-by-country", ids)
	}
	for _, absent := range []string{"Backtest", "Cohorts", "Segments", "P(alive)", "whiskers", "1200.00"} {
		if strings.Contains(s, absent) {
			t.Errorf("the page mentions %q", absent)
		}
	}
	if !strings.Contains(s, "1,200 JPY") {
		t.Error("JPY has no decimals")
	}
}
