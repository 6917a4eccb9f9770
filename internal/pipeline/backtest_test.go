package pipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/mathext"

	"github.com/ltv-operator/ltv-operator/internal/summary"
	"github.com/ltv-operator/ltv-operator/internal/synth"
)

// rawRow is one transaction read straight from the CSV, for independent recomputation.
type rawRow struct {
	id, channel string
	day         time.Time
	amount      float64
	cents       int64
}

func readRaw(t *testing.T, data string) []rawRow {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]rawRow, 0, len(recs)-1)
	for _, r := range recs[1:] {
		a, err := strconv.ParseFloat(r[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		row := rawRow{id: r[0], day: day(r[1]), amount: a, cents: int64(math.Round(a * 100))}
		if len(r) > 3 {
			row.channel = r[3]
		}
		out = append(out, row)
	}
	return out
}

// holdoutCents is each calibration customer's holdout spend in cents, from the raw rows.
func holdoutCents(rows []rawRow, calEnd, end time.Time) map[string]int64 {
	first := map[string]time.Time{}
	for _, r := range rows {
		if f, ok := first[r.id]; !ok || r.day.Before(f) {
			first[r.id] = r.day
		}
	}
	out := map[string]int64{}
	for id, f := range first {
		if !f.After(calEnd) {
			out[id] = 0
		}
	}
	for _, r := range rows {
		if _, ok := out[r.id]; ok && r.day.After(calEnd) && !r.day.After(end) {
			out[r.id] += r.cents
		}
	}
	return out
}

// The published result does not depend on the backtest: with and without a holdout, every
// headline figure, parameter, segment, breakdown and top customer is identical.
func TestHeadlineIndependentOfHoldout(t *testing.T) {
	var buf bytes.Buffer
	if _, err := synth.Write(&buf, synth.Config{Customers: 3000, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	for _, model := range []string{ModelBGNBD, ModelParetoNBD, ModelFormula} {
		cfg := baseConfig("2025-12-31", model)
		cfg.Unit = summary.Day
		cfg.Columns.Attributes = []string{"channel", "country"}
		cfg.BreakdownBy = []string{"channel"}
		cfg.GrossMargin = 0.3
		cfg.Segments = []SegmentSpec{{Name: "repeat", Filter: "customer.frequency > 0"}}
		fixed := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
		cfg.Now = fixed
		without, _, err := Run(context.Background(), cfg, csvSource(buf.String()))
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		cfg.HoldoutPeriods = 90
		with, _, err := Run(context.Background(), cfg, csvSource(buf.String()))
		if err != nil {
			t.Fatalf("%s with holdout: %v", model, err)
		}
		if with.Backtest == nil || with.Backtest.Value == nil || with.Backtest.Error != "" {
			t.Fatalf("%s: no value backtest: %+v", model, with.Backtest)
		}
		if reflect.DeepEqual(with.Backtest.Model.Parameters, with.Model.Parameters) && model != ModelFormula {
			t.Errorf("%s: the backtest's calibration fit has the headline's parameters", model)
		}
		stripped := *with
		stripped.Backtest, stripped.Validation, stripped.CalibrationEnd = nil, nil, ""
		if !reflect.DeepEqual(&stripped, without) {
			t.Errorf("%s: the headline changed with holdoutPeriods: average LTV %v vs %v, parameters %v vs %v",
				model, with.AverageLTV, without.AverageLTV, with.Model.Parameters, without.Model.Parameters)
		}
	}
}

// On the CDNOW sample with a 39-week holdout, the backtest's actual values equal the raw holdout
// spend to the cent, and its predicted total equals an independent implementation of BG/NBD's
// conditional expectation (Fader, Hardie & Lee 2005, eq. 10, with gonum's 2F1) times the
// Gamma-Gamma conditional mean, at the backtest's own parameters.
func TestValueBacktestOnCDNOW(t *testing.T) {
	data := cdnow(t)
	cfg := baseConfig("1998-06-30", ModelBGNBD)
	cfg.HoldoutPeriods = 39
	res, _, err := Run(context.Background(), cfg, csvSource(data))
	if err != nil {
		t.Fatal(err)
	}
	bt := res.Backtest
	if bt == nil || bt.Value == nil {
		t.Fatalf("no value backtest: %+v", bt)
	}
	rows := readRaw(t, data)
	calEnd := day("1997-09-30")
	want := holdoutCents(rows, calEnd, day("1998-06-30"))
	var cents int64
	for _, c := range want {
		cents += c
	}
	if int64(len(want)) != bt.Customers || int64(len(want)) != bt.Value.Customers {
		t.Errorf("backtest customers = %d/%d, want %d", bt.Customers, bt.Value.Customers, len(want))
	}
	if got := int64(math.Round(bt.Value.Actual * 100)); got != cents || math.Abs(bt.Value.Actual-float64(cents)/100) > 1e-6 {
		t.Errorf("actual holdout value = %.6f, want %d cents", bt.Value.Actual, cents)
	}

	// Independent prediction from the raw rows and the calibration parameters.
	p := bt.Model.Parameters
	r, alpha, a, b := p["r"], p["alpha"], p["a"], p["b"]
	gp, gq, gg := p["p"], p["q"], p["gamma"]
	type cal struct {
		days  map[time.Time]float64
		first time.Time
	}
	cs := map[string]*cal{}
	for _, row := range rows {
		if row.day.After(calEnd) {
			continue
		}
		c := cs[row.id]
		if c == nil {
			c = &cal{days: map[time.Time]float64{}, first: row.day}
			cs[row.id] = c
		}
		c.days[row.day] += row.amount
		if row.day.Before(c.first) {
			c.first = row.day
		}
	}
	const L = 39.0
	predicted := 0.0
	for _, c := range cs {
		x := float64(len(c.days) - 1)
		last, m := c.first, 0.0
		for d, v := range c.days {
			if d.After(last) {
				last = d
			}
			if !d.Equal(c.first) {
				m += v
			}
		}
		if x > 0 {
			m /= x
		}
		tx := last.Sub(c.first).Hours() / 24 / 7
		T := calEnd.Sub(c.first).Hours() / 24 / 7
		num := (a + b + x - 1) / (a - 1) * (1 - math.Pow((alpha+T)/(alpha+T+L), r+x)*mathext.Hypergeo(r+x, b+x, a+b+x-1, L/(alpha+T+L)))
		den := 1.0
		if x > 0 {
			den += a / (b + x - 1) * math.Pow((alpha+T)/(alpha+tx), r+x)
		}
		spend := gp * (gg + x*m) / (gp*x + gq - 1)
		predicted += num / den * spend
	}
	if rel := math.Abs(bt.Value.Predicted-predicted) / predicted; rel > 1e-6 {
		t.Errorf("predicted holdout value = %.4f, independent %.4f (relative difference %.2g)", bt.Value.Predicted, predicted, rel)
	}
	t.Logf("CDNOW 39+39 weeks: predicted %.2f vs actual %.2f (relative error %+.3f), MAE %.2f, RMSE %.2f, top-10%% capture %.3f, top-20%% %.3f, Spearman %.3f",
		bt.Value.Predicted, bt.Value.Actual, *bt.Value.RelativeError, bt.Value.MeanAbsoluteError, bt.Value.RootMeanSquaredError,
		*bt.Value.Top10PercentCapture, *bt.Value.Top20PercentCapture, *bt.Value.Spearman)
	if len(bt.Deciles) != 10 {
		t.Errorf("deciles: %d, want 10", len(bt.Deciles))
	}
}

// capture is the share of the total actual value held by the top fraction by score: customers
// sorted by score, ⌊k⌋ whole plus the fractional share of the next (no ties in the scores used).
func capture(score, actual []float64, fraction float64) float64 {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return score[idx[a]] > score[idx[b]] })
	k := fraction * float64(len(score))
	top, total := 0.0, 0.0
	for j, i := range idx {
		total += actual[i]
		switch {
		case float64(j+1) <= k:
			top += actual[i]
		case float64(j) < k:
			top += (k - float64(j)) * actual[i]
		}
	}
	return top / total
}

// On a simulated shop with known parameters, ranking customers by the true model's expected holdout
// value (BG/NBD and Gamma-Gamma at the simulator's parameters) captures more of the actual holdout
// value in the top decile than ranking them by last year's spend; the fitted model's capture, as the
// backtest reports it, does too. Per channel, the actual totals equal the raw holdout spend.
func TestBacktestBeatsNaiveRankingOnSimulatedShop(t *testing.T) {
	sc := synth.Config{Customers: 20000, Seed: 11, Channels: []string{"web", "store"}}
	var buf bytes.Buffer
	if _, err := synth.Write(&buf, sc); err != nil {
		t.Fatal(err)
	}
	data := buf.String()
	cfg := baseConfig("2025-12-31", ModelBGNBD)
	cfg.Unit = summary.Day
	cfg.HoldoutPeriods = 120
	cfg.Columns.Attributes = []string{"channel"}
	cfg.BreakdownBy = []string{"channel"}
	res, _, err := Run(context.Background(), cfg, csvSource(data))
	if err != nil {
		t.Fatal(err)
	}
	bt := res.Backtest
	if bt == nil || bt.Value == nil || bt.Value.Top10PercentCapture == nil {
		t.Fatalf("no value backtest: %+v", bt)
	}
	calEnd := cfg.CalibrationEnd()
	rows := readRaw(t, data)
	actualCents := holdoutCents(rows, calEnd, cfg.ObservationEnd)

	// Per-customer calibration summary from the raw rows, and last year's spend.
	type cal struct {
		days        map[time.Time]float64
		first, last time.Time
		lastYear    float64
		channel     string
	}
	cs := map[string]*cal{}
	for _, row := range rows {
		if row.day.After(calEnd) {
			continue
		}
		c := cs[row.id]
		if c == nil {
			c = &cal{days: map[time.Time]float64{}, first: row.day, last: row.day, channel: row.channel}
			cs[row.id] = c
		}
		c.days[row.day] += row.amount
		if row.day.After(c.last) {
			c.last = row.day
		}
		if row.day.After(calEnd.AddDate(-1, 0, 0)) {
			c.lastYear += row.amount
		}
	}
	ids := make([]string, 0, len(cs))
	for id := range cs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	truth := make([]float64, len(ids))
	naive := make([]float64, len(ids))
	actual := make([]float64, len(ids))
	byChannel := map[string]int64{}
	L := float64(cfg.holdoutDays())
	r, alpha, a, b := synth.DefaultR, synth.DefaultAlpha, synth.DefaultA, synth.DefaultB
	p, q, g := synth.DefaultP, synth.DefaultQ, synth.DefaultGamma
	for k, id := range ids {
		c := cs[id]
		x := float64(len(c.days) - 1)
		m := 0.0
		for d, v := range c.days {
			if !d.Equal(c.first) {
				m += v
			}
		}
		if x > 0 {
			m /= x
		}
		tx := c.last.Sub(c.first).Hours() / 24
		T := calEnd.Sub(c.first).Hours() / 24
		num := (a + b + x - 1) / (a - 1) * (1 - math.Pow((alpha+T)/(alpha+T+L), r+x)*mathext.Hypergeo(r+x, b+x, a+b+x-1, L/(alpha+T+L)))
		den := 1.0
		if x > 0 {
			den += a / (b + x - 1) * math.Pow((alpha+T)/(alpha+tx), r+x)
		}
		// A tiny tie-breaker keeps the independent capture free of ties.
		truth[k] = num/den*p*(g+x*m)/(p*x+q-1) + 1e-9*float64(k)/float64(len(ids))
		naive[k] = c.lastYear + 1e-9*float64(k)/float64(len(ids))
		actual[k] = float64(actualCents[id]) / 100
		byChannel[c.channel] += actualCents[id]
	}
	trueCap, naiveCap := capture(truth, actual, 0.1), capture(naive, actual, 0.1)
	fitted := *bt.Value.Top10PercentCapture
	t.Logf("top-decile capture: true model %.3f, fitted model %.3f, last year's spend %.3f; total relative error %+.3f",
		trueCap, fitted, naiveCap, *bt.Value.RelativeError)
	if !(trueCap > naiveCap) {
		t.Errorf("true model's top-decile capture %.3f does not beat last year's spend %.3f", trueCap, naiveCap)
	}
	if !(fitted > naiveCap) {
		t.Errorf("fitted model's top-decile capture %.3f does not beat last year's spend %.3f", fitted, naiveCap)
	}
	// The fitted model ranks nearly as well as the truth (sampling error of 20,000 customers).
	if math.Abs(fitted-trueCap) > 0.03 {
		t.Errorf("fitted capture %.3f is far from the true model's %.3f", fitted, trueCap)
	}
	if len(bt.Breakdowns) != 1 || len(bt.Breakdowns[0].Values) != 2 {
		t.Fatalf("breakdown backtest: %+v", bt.Breakdowns)
	}
	for _, v := range bt.Breakdowns[0].Values {
		if got := int64(math.Round(v.Actual * 100)); got != byChannel[v.Name] {
			t.Errorf("channel %s: actual %.2f, want %d cents", v.Name, v.Actual, byChannel[v.Name])
		}
	}
}
