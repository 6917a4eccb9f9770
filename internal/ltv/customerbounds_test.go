package ltv

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// membersOf is the customers of an interval group of n customers (nil Members: every one).
func membersOf(req IntervalRequest, n int) []int32 {
	if req.Members != nil {
		return req.Members
	}
	all := make([]int32, n)
	for i := range all {
		all[i] = int32(i)
	}
	return all
}

// quantile7 is the type-7 quantile of v (sorted here), written apart from quantileSorted.
func quantile7(v []float64, q float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	lo := math.Floor(pos)
	hi := math.Ceil(pos)
	return s[int(lo)] + (pos-lo)*(s[int(hi)]-s[int(lo)])
}

// TestCustomerBoundsBootstrap: on CDNOW (the published BG/NBD fit and its covariance, Gamma-Gamma,
// with and without a retention cost; Pareto/NBD; the Mean spend model) every customer's bounds equal the 5% and 95% quantiles of that customer's CLV computed directly
// (PredictCustomers, customer by customer) at each of the same 200 parameter draws. The draws'
// purchase terms are interpolated over T (relative error below 1e-9, see pairTermsInterpolated),
// PredictCustomers' are not: tolerance 1e-8 relative. The bounds bracket the point estimate for
// (nearly) every customer, and the group intervals are those of AverageCLVIntervals.
func TestCustomerBoundsBootstrap(t *testing.T) {
	rows, zbar, bg, gg := cdnowModels(t)
	pnbd, err := FitParetoNBD(rows)
	if err != nil {
		t.Fatal(err)
	}
	freq := make([]float64, len(rows))
	for i, r := range rows {
		freq[i] = r.X
	}
	cases := []struct {
		name string
		pm   PurchaseModel
		sm   SpendModel
		cost float64
	}{
		{"BG/NBD+GammaGamma", bg, gg, 0.05},
		{"BG/NBD+GammaGamma", bg, gg, 0},
		{"ParetoNBD+GammaGamma", pnbd, gg, 0.05},
		{"BG/NBD+Mean", bg, FitMeanSpend(freq, zbar, nil), 0.05},
	}
	for _, tc := range cases {
		pm, sm, cost := tc.pm, tc.sm, tc.cost
		t.Logf("%s, retention cost %g", tc.name, cost)
		cfg := CLVConfig{HorizonMonths: 12, PeriodsPerMonth: 365.25 / 12 / 7, AnnualDiscountRate: 0.1, GrossMargin: 0.3, MonthlyRetentionCost: cost}
		const draws, seed = 200, 7
		groups := []IntervalRequest{{Name: "all"}}
		iv, b, err := CLVIntervals(pm, sm, rows, zbar, cfg, groups, draws, seed, 0.9)
		if err != nil {
			t.Fatal(err)
		}
		avg, err := AverageCLVIntervals(pm, sm, rows, zbar, cfg, groups, draws, seed, 0.9)
		if err != nil {
			t.Fatal(err)
		}
		if iv[0] != avg[0] {
			t.Errorf("cost %g: group interval %+v, AverageCLVIntervals %+v", cost, iv[0], avg[0])
		}

		// The same draws, evaluated customer by customer.
		rng := rand.New(rand.NewPCG(uint64(seed), 0x6c74762d696e7476))
		pDraws, err := drawLogNormal(pm.Fit(), draws, rng, func([]float64) bool { return true })
		if err != nil {
			t.Fatal(err)
		}
		sDraws, err := drawLogNormal(sm.Fit(), draws, rng, func(p []float64) bool { return sm.Fit().Model != "GammaGamma" || p[1] > 1 })
		if err != nil {
			t.Fatal(err)
		}
		n := len(rows)
		perCustomer := make([][]float64, n)
		for i := range perCustomer {
			perCustomer[i] = make([]float64, draws)
		}
		out := make([]CustomerValue, n)
		for k := 0; k < draws; k++ {
			if err := PredictCustomers(pm.WithParams(pDraws[k]), sm.WithParams(sDraws[k]), rows, zbar, cfg, out); err != nil {
				t.Fatal(err)
			}
			for i := range out {
				perCustomer[i][k] = out[i].CLV
			}
		}
		if err := PredictCustomers(pm, sm, rows, zbar, cfg, out); err != nil {
			t.Fatal(err)
		}
		var worst float64
		outside := 0
		for i := 0; i < n; i++ {
			lo, hi := quantile7(perCustomer[i], 0.05), quantile7(perCustomer[i], 0.95)
			for _, c := range [][2]float64{{lo, b.Low[i]}, {hi, b.High[i]}} {
				d := math.Abs(c[0]-c[1]) / math.Max(1, math.Abs(c[0]))
				worst = math.Max(worst, d)
				if d > 1e-8 {
					t.Fatalf("cost %g: customer %d %+v: bounds [%.10g, %.10g], direct quantiles [%.10g, %.10g]", cost, i, rows[i], b.Low[i], b.High[i], lo, hi)
				}
			}
			if p := out[i].CLV; !(b.Low[i] <= p && p <= b.High[i]) {
				outside++
			}
			if cost == 0 && b.Low[i] < 0 {
				t.Errorf("customer %d: negative lower bound %g without a retention cost", i, b.Low[i])
			}
		}
		t.Logf("cost %g: %d customers, largest relative difference to the direct quantiles %.2g; point outside its bounds for %d",
			cost, n, worst, outside)
		if outside > n/100 {
			t.Errorf("cost %g: the point estimate is outside its bounds for %d of %d customers", cost, outside, n)
		}
	}
}

// TestCustomerBoundsDelta: beyond IntervalSampleRows unique rows (forced here on CDNOW) every
// customer's bounds are CLV +- 1.645 sd with sd^2 = g' Sigma g, here computed directly per customer:
// the gradient coordinate by coordinate in the log-parameters (central differences of a tenth of a
// standard error, PredictCustomers at each shifted parameter vector) and each model's full
// LogCovariance. The implementation differentiates along the covariance's Cholesky columns
// instead; both are exact for a linear function, so they differ by the differences' truncation
// error: tolerance 1e-3 of the half-width (plus 1e-9). Without a retention cost the lower bound is
// clipped at 0. The bounds are also compared, loosely, with the bootstrap's. The groups' intervals
// come from the same passes: average +- 1.645 sd with the gradient of the group's average, here
// the mean of its customers' direct gradients, to the same tolerance.
func TestCustomerBoundsDelta(t *testing.T) {
	rows, zbar, pm, sm := cdnowModels(t)
	defer func(v int) { IntervalSampleRows = v }(IntervalSampleRows)
	for _, cost := range []float64{0.05, 0} {
		cfg := CLVConfig{HorizonMonths: 12, PeriodsPerMonth: 365.25 / 12 / 7, AnnualDiscountRate: 0.1, GrossMargin: 0.3, MonthlyRetentionCost: cost}
		IntervalSampleRows = 1 << 30
		_, boot, err := CLVIntervals(pm, sm, rows, zbar, cfg, nil, 200, 1, 0.9)
		if err != nil {
			t.Fatal(err)
		}
		IntervalSampleRows = 500
		var repeat []int32
		for i, r := range rows {
			if r.X > 0 {
				repeat = append(repeat, int32(i))
			}
		}
		groups := []IntervalRequest{{Name: "all"}, {Name: "repeat", Members: repeat}, {Name: "none", Members: []int32{}}}
		iv, b, err := CLVIntervals(pm, sm, rows, zbar, cfg, groups, 200, 1, 0.9)
		if err != nil {
			t.Fatal(err)
		}
		n := len(rows)
		groupVariance := make([]float64, len(groups))
		point := make([]CustomerValue, n)
		if err := PredictCustomers(pm, sm, rows, zbar, cfg, point); err != nil {
			t.Fatal(err)
		}
		variance := make([]float64, n)
		plus, minus := make([]CustomerValue, n), make([]CustomerValue, n)
		for model := 0; model < 2; model++ {
			f := pm.Fit()
			if model == 1 {
				f = sm.Fit()
			}
			k := len(f.Params)
			grad := make([][]float64, k) // grad[j][i]
			for j := 0; j < k; j++ {
				h := 0.1 * math.Sqrt(f.LogCovariance[j][j])
				at := func(sign float64) []float64 {
					p := append([]float64(nil), f.Params...)
					p[j] = math.Exp(math.Log(p[j]) + sign*h)
					return p
				}
				for side, out := range [][]CustomerValue{plus, minus} {
					sign := []float64{1, -1}[side]
					p, s := pm, sm
					if model == 0 {
						p = pm.WithParams(at(sign))
					} else {
						s = sm.WithParams(at(sign))
					}
					if err := PredictCustomers(p, s, rows, zbar, cfg, out); err != nil {
						t.Fatal(err)
					}
				}
				grad[j] = make([]float64, n)
				for i := range grad[j] {
					grad[j][i] = (plus[i].CLV - minus[i].CLV) / (2 * h)
				}
			}
			for i := 0; i < n; i++ {
				for a := 0; a < k; a++ {
					for c := 0; c < k; c++ {
						variance[i] += grad[a][i] * f.LogCovariance[a][c] * grad[c][i]
					}
				}
			}
			for g, req := range groups {
				members := membersOf(req, n)
				if len(members) == 0 {
					continue
				}
				mean := make([]float64, k)
				for a := 0; a < k; a++ {
					for _, i := range members {
						mean[a] += grad[a][i]
					}
					mean[a] /= float64(len(members))
				}
				for a := 0; a < k; a++ {
					for c := 0; c < k; c++ {
						groupVariance[g] += mean[a] * f.LogCovariance[a][c] * mean[c]
					}
				}
			}
		}
		z := distuv.UnitNormal.Quantile(0.95)
		var worst float64
		var widthRatio []float64
		for i := 0; i < n; i++ {
			half := z * math.Sqrt(variance[i])
			lo, hi := point[i].CLV-half, point[i].CLV+half
			if cost == 0 {
				lo = math.Max(lo, 0)
			}
			tol := 1e-3*half + 1e-9
			if math.Abs(b.Low[i]-lo) > tol || math.Abs(b.High[i]-hi) > tol {
				t.Fatalf("cost %g: customer %d %+v: delta bounds [%.10g, %.10g], direct [%.10g, %.10g]", cost, i, rows[i], b.Low[i], b.High[i], lo, hi)
			}
			if half > 0 {
				worst = math.Max(worst, math.Max(math.Abs(b.Low[i]-lo), math.Abs(b.High[i]-hi))/half)
			}
			if !(b.Low[i] <= point[i].CLV && point[i].CLV <= b.High[i]) {
				t.Errorf("cost %g: customer %d: point %g outside [%g, %g]", cost, i, point[i].CLV, b.Low[i], b.High[i])
			}
			if w := boot.High[i] - boot.Low[i]; w > 0 {
				widthRatio = append(widthRatio, (b.High[i]-b.Low[i])/w)
			}
		}
		for g, req := range groups {
			members := membersOf(req, n)
			got := iv[g]
			if len(members) == 0 {
				if got != (Interval{Name: req.Name}) {
					t.Errorf("cost %g: empty group: %+v", cost, got)
				}
				continue
			}
			var avg float64
			for _, i := range members {
				avg += point[i].CLV
			}
			avg /= float64(len(members))
			half := z * math.Sqrt(groupVariance[g])
			if got.Customers != len(members) || math.Abs(got.Point-avg) > 1e-9*math.Abs(avg) ||
				math.Abs(got.Low-(avg-half)) > 1e-3*half || math.Abs(got.High-(avg+half)) > 1e-3*half {
				t.Errorf("cost %g: group %s: %+v, direct %d customers, %.10g +- %.10g", cost, req.Name, got, len(members), avg, half)
			}
			t.Logf("cost %g: group %-6s %.4f +- %.4f (direct +- %.4f)", cost, req.Name, got.Point, (got.High-got.Low)/2, half)
		}
		sort.Float64s(widthRatio)
		med := widthRatio[len(widthRatio)/2]
		t.Logf("cost %g: largest difference to the direct delta bounds %.2g of the half-width; delta/bootstrap width: median %.3f, 5%% %.3f, 95%% %.3f",
			cost, worst, med, widthRatio[len(widthRatio)/20], widthRatio[len(widthRatio)*19/20])
		if !(med > 0.8 && med < 1.25) {
			t.Errorf("cost %g: median delta/bootstrap width ratio %g", cost, med)
		}
	}
}

// CellValues.Intervals is CellIntervals on the predictions' models and cells: on both paths
// (bootstrap and, past IntervalSampleRows, delta) and with and without a retention cost, its
// first call (the predictions' exact row terms at the fitted parameters) agrees within the draws'
// interpolation error (1e-9 relative), and its points are the predictions' averages; a second
// call (the rows prepared again) equals CellIntervals exactly.
func TestCellValuesIntervals(t *testing.T) {
	rows, zbar, pm, sm := cdnowModels(t)
	defer func(v int) { IntervalSampleRows = v }(IntervalSampleRows)
	var repeat []int32
	for i, r := range rows {
		if r.X > 0 {
			repeat = append(repeat, int32(i))
		}
	}
	groups := []IntervalRequest{{Name: "all"}, {Name: "repeat", Members: repeat}}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	for _, sample := range []int{1 << 30, 500} {
		for _, cost := range []float64{0.05, 0} {
			IntervalSampleRows = sample
			cfg := CLVConfig{HorizonMonths: 12, PeriodsPerMonth: 365.25 / 12 / 7, AnnualDiscountRate: 0.1, GrossMargin: 0.3, MonthlyRetentionCost: cost}
			cells := NewCells(rows)
			v, err := PredictCellValues(pm, sm, cells, zbar, cfg)
			if err != nil {
				t.Fatal(err)
			}
			want, wantB, err := CellIntervals(pm, sm, cells, zbar, cfg, groups, 200, 3, 0.9)
			if err != nil {
				t.Fatal(err)
			}
			got, gotB, err := v.Intervals(groups, 200, 3, 0.9)
			if err != nil {
				t.Fatal(err)
			}
			for g := range groups {
				members := membersOf(groups[g], len(rows))
				var avg float64
				for _, i := range members {
					avg += v.CLV()[i]
				}
				avg /= float64(len(members))
				w, o := want[g], got[g]
				if o.Name != w.Name || o.Customers != w.Customers || !near(o.Low, w.Low) || !near(o.High, w.High) || !near(o.Point, avg) {
					t.Errorf("sample %d cost %g group %s: %+v, CellIntervals %+v, average of the predictions %g", sample, cost, w.Name, o, w, avg)
				}
			}
			for i := range rows {
				if !near(gotB.Low[i], wantB.Low[i]) || !near(gotB.High[i], wantB.High[i]) {
					t.Fatalf("sample %d cost %g customer %d: bounds [%g, %g], CellIntervals [%g, %g]", sample, cost, i, gotB.Low[i], gotB.High[i], wantB.Low[i], wantB.High[i])
				}
			}
			again, againB, err := v.Intervals(groups, 200, 3, 0.9)
			if err != nil {
				t.Fatal(err)
			}
			for g := range groups {
				if again[g] != want[g] {
					t.Errorf("sample %d cost %g group %s: second call %+v, CellIntervals %+v", sample, cost, want[g].Name, again[g], want[g])
				}
			}
			for i := range rows {
				if againB.Low[i] != wantB.Low[i] || againB.High[i] != wantB.High[i] {
					t.Fatalf("sample %d cost %g customer %d: second call's bounds differ", sample, cost, i)
				}
			}
		}
	}
}
