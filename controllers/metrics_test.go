package controllers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/report"
)

var computationGauges = []string{
	"ltv_computation_customers", "ltv_computation_average_ltv", "ltv_computation_ltv_to_cac_ratio",
	"ltv_computation_last_success_timestamp_seconds", "ltv_computation_runs_total",
	"ltv_segment_customers", "ltv_segment_average_ltv", "ltv_segment_value_share_ratio",
}

func computation(ns, name string) *v1alpha1.LTVComputation {
	return &v1alpha1.LTVComputation{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func TestMetricsPublishAndForget(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	ratio := 2.5
	res := &report.Result{
		ComputedAt: time.Unix(1795000000, 500e6), Customers: 120, AverageLTV: 61.25, LTVToCAC: &ratio,
		Segments: []report.Segment{
			{Name: "champions", Customers: 12, AverageLTV: 300, ValueShare: 0.49},
			{Name: "at-risk", Customers: 30, AverageLTV: 20.5, ValueShare: 0.0837},
		},
	}
	shop := computation("shop", "ltv")
	m.RunFinished(shop, nil, v1alpha1.ReasonInvalidData, 20*time.Millisecond)
	m.RunFinished(shop, res, v1alpha1.ReasonSucceeded, 1500*time.Millisecond)
	m.RunFinished(computation("other", "ltv"), res, v1alpha1.ReasonSucceeded, time.Second)

	want := `
# HELP ltv_computation_average_ltv Average lifetime value per customer in the last successful run, in the computation's currency.
# TYPE ltv_computation_average_ltv gauge
ltv_computation_average_ltv{name="ltv",namespace="other"} 61.25
ltv_computation_average_ltv{name="ltv",namespace="shop"} 61.25
# HELP ltv_computation_customers Customers in the last successful run of the LTVComputation.
# TYPE ltv_computation_customers gauge
ltv_computation_customers{name="ltv",namespace="other"} 120
ltv_computation_customers{name="ltv",namespace="shop"} 120
# HELP ltv_computation_last_success_timestamp_seconds Unix time the last successful run of the LTVComputation finished.
# TYPE ltv_computation_last_success_timestamp_seconds gauge
ltv_computation_last_success_timestamp_seconds{name="ltv",namespace="other"} 1.7950000005e+09
ltv_computation_last_success_timestamp_seconds{name="ltv",namespace="shop"} 1.7950000005e+09
# HELP ltv_computation_ltv_to_cac_ratio Average LTV over average acquisition cost in the last successful run (only with spec.economics.acquisitionCost).
# TYPE ltv_computation_ltv_to_cac_ratio gauge
ltv_computation_ltv_to_cac_ratio{name="ltv",namespace="other"} 2.5
ltv_computation_ltv_to_cac_ratio{name="ltv",namespace="shop"} 2.5
# HELP ltv_computation_runs_total LTVComputation runs by result: Succeeded or the failure's condition reason.
# TYPE ltv_computation_runs_total counter
ltv_computation_runs_total{name="ltv",namespace="other",result="Succeeded"} 1
ltv_computation_runs_total{name="ltv",namespace="shop",result="InvalidData"} 1
ltv_computation_runs_total{name="ltv",namespace="shop",result="Succeeded"} 1
# HELP ltv_segment_average_ltv Average lifetime value of the segment's customers in the computation's last successful run.
# TYPE ltv_segment_average_ltv gauge
ltv_segment_average_ltv{computation="ltv",namespace="other",segment="at-risk"} 20.5
ltv_segment_average_ltv{computation="ltv",namespace="other",segment="champions"} 300
ltv_segment_average_ltv{computation="ltv",namespace="shop",segment="at-risk"} 20.5
ltv_segment_average_ltv{computation="ltv",namespace="shop",segment="champions"} 300
# HELP ltv_segment_customers Customers in the CustomerSegment in the computation's last successful run.
# TYPE ltv_segment_customers gauge
ltv_segment_customers{computation="ltv",namespace="other",segment="at-risk"} 30
ltv_segment_customers{computation="ltv",namespace="other",segment="champions"} 12
ltv_segment_customers{computation="ltv",namespace="shop",segment="at-risk"} 30
ltv_segment_customers{computation="ltv",namespace="shop",segment="champions"} 12
# HELP ltv_segment_value_share_ratio The segment's share of the computation's total lifetime value (0 to 1).
# TYPE ltv_segment_value_share_ratio gauge
ltv_segment_value_share_ratio{computation="ltv",namespace="other",segment="at-risk"} 0.0837
ltv_segment_value_share_ratio{computation="ltv",namespace="other",segment="champions"} 0.49
ltv_segment_value_share_ratio{computation="ltv",namespace="shop",segment="at-risk"} 0.0837
ltv_segment_value_share_ratio{computation="ltv",namespace="shop",segment="champions"} 0.49
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), computationGauges...); err != nil {
		t.Error(err)
	}
	// The duration histogram has both runs of shop, in the right buckets.
	want = `
# HELP ltv_computation_run_duration_seconds Duration of LTVComputation runs, successful or not.
# TYPE ltv_computation_run_duration_seconds histogram
ltv_computation_run_duration_seconds_bucket{name="ltv",namespace="shop",le="0.05"} 1
ltv_computation_run_duration_seconds_bucket{name="ltv",namespace="shop",le="0.125"} 1
ltv_computation_run_duration_seconds_bucket{name="ltv",namespace="shop",le="0.3125"} 1
ltv_computation_run_duration_seconds_bucket{name="ltv",namespace="shop",le="0.78125"} 1
ltv_computation_run_duration_seconds_bucket{name="ltv",namespace="shop",le="1.953125"} 2
ltv_computation_run_duration_seconds_bucket{name="ltv",namespace="shop",le="4.8828125"} 2
ltv_computation_run_duration_seconds_bucket{name="ltv",namespace="shop",le="12.20703125"} 2
ltv_computation_run_duration_seconds_bucket{name="ltv",namespace="shop",le="30.517578125"} 2
ltv_computation_run_duration_seconds_bucket{name="ltv",namespace="shop",le="76.2939453125"} 2
ltv_computation_run_duration_seconds_bucket{name="ltv",namespace="shop",le="190.73486328125"} 2
ltv_computation_run_duration_seconds_bucket{name="ltv",namespace="shop",le="476.837158203125"} 2
ltv_computation_run_duration_seconds_bucket{name="ltv",namespace="shop",le="1192.0928955078125"} 2
ltv_computation_run_duration_seconds_bucket{name="ltv",namespace="shop",le="+Inf"} 2
ltv_computation_run_duration_seconds_sum{name="ltv",namespace="shop"} 1.52
ltv_computation_run_duration_seconds_count{name="ltv",namespace="shop"} 2
`
	m.Forget("other", "ltv")
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ltv_computation_run_duration_seconds"); err != nil {
		t.Error(err)
	}

	// A segment no longer selected loses its series; no LTV:CAC loses that series.
	res2 := *res
	res2.LTVToCAC = nil
	res2.Segments = res.Segments[:1]
	m.RunFinished(shop, &res2, v1alpha1.ReasonSucceeded, time.Second)
	if n := testutil.CollectAndCount(m.segCustomers); n != 1 {
		t.Errorf("%d segment series after at-risk left the selection, want 1", n)
	}
	if n := testutil.CollectAndCount(m.ltvToCAC); n != 0 {
		t.Errorf("%d LTV:CAC series without acquisition costs, want 0", n)
	}

	// Forget leaves nothing of the computation.
	m.Forget("shop", "ltv")
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 0 {
		t.Errorf("%d series left after Forget (err %v)", n, err)
	}
}

// Observe publishes the result in status after a restart, once; later runs replace it.
func TestMetricsObserveRestoresFromStatus(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	obj := computation("shop", "ltv")
	m.Observe(obj) // no result yet: nothing
	if n, _ := testutil.GatherAndCount(reg); n != 0 {
		t.Fatalf("%d series without a result", n)
	}
	done := metav1.NewTime(time.Unix(1795000000, 0))
	obj.Status.LastSuccessfulTime = &done
	obj.Status.Result = &v1alpha1.ComputationResult{
		Customers: 3, AverageLTV: "58.05", LTVToCAC: "6.45",
		Segments: []v1alpha1.SegmentResult{{Name: "loyal", Customers: 2, AverageLTV: "80.00", ValueShare: "0.9187"}},
	}
	m.Observe(obj)
	checks := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"customers", m.customers.WithLabelValues("shop", "ltv"), 3},
		{"average", m.averageLTV.WithLabelValues("shop", "ltv"), 58.05},
		{"ltv:cac", m.ltvToCAC.WithLabelValues("shop", "ltv"), 6.45},
		{"last success", m.lastSuccess.WithLabelValues("shop", "ltv"), 1795000000},
		{"segment customers", m.segCustomers.WithLabelValues("shop", "ltv", "loyal"), 2},
		{"segment average", m.segAverageLTV.WithLabelValues("shop", "ltv", "loyal"), 80},
		{"segment share", m.segValueShare.WithLabelValues("shop", "ltv", "loyal"), 0.9187},
	}
	for _, c := range checks {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	// Status changed by a run this process recorded: Observe does not go back to status.
	m.RunFinished(obj, &report.Result{Customers: 4, AverageLTV: 70, ComputedAt: time.Unix(1795000100, 0)}, v1alpha1.ReasonSucceeded, time.Second)
	m.Observe(obj)
	if got := testutil.ToFloat64(m.averageLTV.WithLabelValues("shop", "ltv")); got != 70 {
		t.Errorf("average after a run and an Observe = %v, want 70", got)
	}
}

// Registering twice on one registry (two managers in a process) shares the collectors.
func TestMetricsRegisterTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	b.RunFinished(computation("ns", "x"), nil, v1alpha1.ReasonNoData, time.Millisecond)
	if got := testutil.ToFloat64(a.runs.WithLabelValues("ns", "x", v1alpha1.ReasonNoData)); got != 1 {
		t.Errorf("runs seen through the first recorder = %v, want 1", got)
	}
}

// Segment series are bounded per computation.
func TestMetricsBoundSegments(t *testing.T) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	res := &report.Result{Customers: 1}
	for i := 0; i < 150; i++ {
		res.Segments = append(res.Segments, report.Segment{Name: fmt.Sprintf("s%03d", i)})
	}
	m.RunFinished(computation("ns", "x"), res, v1alpha1.ReasonSucceeded, time.Millisecond)
	if n := testutil.CollectAndCount(m.segCustomers); n != maxMetricSegments {
		t.Errorf("%d segment series, want %d", n, maxMetricSegments)
	}
}

// The value backtest's gauges follow the last successful run: present with a backtest, gone
// when a later run has none; Observe restores them from status after a restart.
func TestMetricsBacktestGauges(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	relErr, capture := -0.156, 0.502
	res := &report.Result{ComputedAt: time.Unix(1795000000, 0), Customers: 10, AverageLTV: 5,
		Backtest: &report.Backtest{Value: &report.ValueBacktest{RelativeError: &relErr, Top10PercentCapture: &capture}}}
	shop := computation("shop", "ltv")
	m.RunFinished(shop, res, v1alpha1.ReasonSucceeded, time.Second)
	want := `
# HELP ltv_computation_backtest_relative_error Value backtest of the last successful run (with observation.holdoutPeriods): (predicted - actual) / actual holdout net margin of all calibration customers.
# TYPE ltv_computation_backtest_relative_error gauge
ltv_computation_backtest_relative_error{name="ltv",namespace="shop"} -0.156
# HELP ltv_computation_backtest_top_decile_capture_ratio Value backtest of the last successful run: share of the actual holdout net margin held by the 10% of customers with the highest predictions (0 to 1).
# TYPE ltv_computation_backtest_top_decile_capture_ratio gauge
ltv_computation_backtest_top_decile_capture_ratio{name="ltv",namespace="shop"} 0.502
`
	names := []string{"ltv_computation_backtest_relative_error", "ltv_computation_backtest_top_decile_capture_ratio"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	res.Backtest = nil
	m.RunFinished(shop, res, v1alpha1.ReasonSucceeded, time.Second)
	if n, err := testutil.GatherAndCount(reg, names...); err != nil || n != 0 {
		t.Errorf("after a run without backtest: %d series, %v", n, err)
	}

	// After a restart: from status.
	m2, err := NewMetrics(prometheus.NewPedanticRegistry())
	if err != nil {
		t.Fatal(err)
	}
	obj := computation("shop", "ltv")
	obj.Status.Result = statusResult(&report.Result{ComputedAt: time.Unix(1795000000, 0), AverageLTV: 5,
		Backtest: &report.Backtest{Value: &report.ValueBacktest{RelativeError: &relErr, Top10PercentCapture: &capture}}}, "cm", "")
	m2.Observe(obj)
	if got := testutil.ToFloat64(m2.backtestTopDecile.WithLabelValues("shop", "ltv")); got != 0.502 {
		t.Errorf("top-decile capture after restart = %v, want 0.502", got)
	}
}
