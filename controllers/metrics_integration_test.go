package controllers_test

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
)

// namespaceGatherer gathers the operator's ltv_ series of one namespace from the manager's
// registry (the one its /metrics endpoint serves).
type namespaceGatherer string

func (ns namespaceGatherer) Gather() ([]*dto.MetricFamily, error) {
	all, err := metrics.Registry.Gather()
	if err != nil {
		return nil, err
	}
	var out []*dto.MetricFamily
	for _, mf := range all {
		if !strings.HasPrefix(mf.GetName(), "ltv_") {
			continue
		}
		var kept []*dto.Metric
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "namespace" && l.GetValue() == string(ns) {
					kept = append(kept, m)
				}
			}
		}
		if len(kept) > 0 {
			mf.Metric = kept
			out = append(out, mf)
		}
	}
	return out, nil
}

var _ prometheus.Gatherer = namespaceGatherer("")

// series returns the values of a metric's series in the namespace, keyed by their other
// labels ("name=shop,result=Succeeded"); histograms give their sample count.
func series(t *testing.T, ns, name string) map[string]float64 {
	t.Helper()
	mfs, err := namespaceGatherer(ns).Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.Metric {
			var keys []string
			for _, l := range m.Label {
				if l.GetName() != "namespace" {
					keys = append(keys, l.GetName()+"="+l.GetValue())
				}
			}
			sort.Strings(keys)
			var v float64
			switch {
			case m.Gauge != nil:
				v = m.Gauge.GetValue()
			case m.Counter != nil:
				v = m.Counter.GetValue()
			case m.Histogram != nil:
				v = float64(m.Histogram.GetSampleCount())
			}
			out[strings.Join(keys, ",")] = v
		}
	}
	return out
}

func decimal(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return v
}

// The manager's metrics endpoint publishes each computation's result and runs, and each
// segment's figures; a failed run counts without touching the result; deleting the
// computation removes its series.
func TestMetricsOnTheManagerRegistry(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	growth := map[string]string{"team": "growth"}
	createSegment(t, ns, "repeaters", growth, v1alpha1.CustomerSegmentSpec{Filter: "customer.frequency >= 1"})
	createSegment(t, ns, "email", growth, v1alpha1.CustomerSegmentSpec{Filter: `customer.attributes["channel"] == "email"`})
	createShop(t, ns, func(s *v1alpha1.LTVComputationSpec) { s.SegmentSelector = &metav1.LabelSelector{MatchLabels: growth} })
	obj := waitCondition(t, ns, "shop", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	res := obj.Status.Result

	// Exact series, as Prometheus scrapes them.
	want := fmt.Sprintf(`
# HELP ltv_computation_customers Customers in the last successful run of the LTVComputation.
# TYPE ltv_computation_customers gauge
ltv_computation_customers{name="shop",namespace="%[1]s"} 3
# HELP ltv_computation_runs_total LTVComputation runs by result: Succeeded or the failure's condition reason.
# TYPE ltv_computation_runs_total counter
ltv_computation_runs_total{name="shop",namespace="%[1]s",result="Succeeded"} 1
# HELP ltv_segment_customers Customers in the CustomerSegment in the computation's last successful run.
# TYPE ltv_segment_customers gauge
ltv_segment_customers{computation="shop",namespace="%[1]s",segment="email"} 1
ltv_segment_customers{computation="shop",namespace="%[1]s",segment="repeaters"} 2
`, ns)
	if err := testutil.GatherAndCompare(namespaceGatherer(ns), strings.NewReader(want),
		"ltv_computation_customers", "ltv_computation_runs_total", "ltv_segment_customers"); err != nil {
		t.Error(err)
	}
	// Money and ratios at full precision agree with the rounded status.
	near := func(what string, got map[string]float64, key string, status string, tol float64) {
		t.Helper()
		v, ok := got[key]
		if !ok || math.Abs(v-decimal(t, status)) > tol {
			t.Errorf("%s{%s} = %v (present %v), status says %s", what, key, v, ok, status)
		}
	}
	near("ltv_computation_average_ltv", series(t, ns, "ltv_computation_average_ltv"), "name=shop", res.AverageLTV, 0.005)
	near("ltv_computation_ltv_to_cac_ratio", series(t, ns, "ltv_computation_ltv_to_cac_ratio"), "name=shop", res.LTVToCAC, 0.005)
	for _, s := range res.Segments {
		key := "computation=shop,segment=" + s.Name
		near("ltv_segment_average_ltv", series(t, ns, "ltv_segment_average_ltv"), key, s.AverageLTV, 0.005)
		near("ltv_segment_value_share_ratio", series(t, ns, "ltv_segment_value_share_ratio"), key, s.ValueShare, 0.00005)
	}
	// status carries whole seconds.
	near("ltv_computation_last_success_timestamp_seconds", series(t, ns, "ltv_computation_last_success_timestamp_seconds"), "name=shop",
		strconv.FormatInt(obj.Status.LastSuccessfulTime.Unix(), 10), 1)
	if got := series(t, ns, "ltv_computation_run_duration_seconds"); got["name=shop"] != 1 {
		t.Errorf("run duration histogram = %v, want one run", got)
	}

	// A failed run counts by its reason; the last result stays published.
	var cm corev1.ConfigMap
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "orders"}, &cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["orders.csv"] += "c9,2026-05-01,oops,email\n"
	if err := k8sClient.Update(ctx, &cm); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, ns, "shop", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonInvalidData)
	eventually(t, 10*time.Second, "the failed run counted", func() (bool, string) {
		got := series(t, ns, "ltv_computation_runs_total")
		return got["name=shop,result=InvalidData"] == 1 && got["name=shop,result=Succeeded"] == 1, fmt.Sprint(got)
	})
	if got := series(t, ns, "ltv_computation_customers"); got["name=shop"] != 3 {
		t.Errorf("customers after a failed run = %v, want the last result's 3", got)
	}
	if got := series(t, ns, "ltv_computation_run_duration_seconds"); got["name=shop"] != 2 {
		t.Errorf("run duration histogram = %v, want two runs", got)
	}

	// Deleting the computation removes every series of it.
	if err := k8sClient.Delete(ctx, obj); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the series gone", func() (bool, string) {
		n, err := testutil.GatherAndCount(namespaceGatherer(ns))
		return err == nil && n == 0, fmt.Sprintf("%d series, err %v", n, err)
	})
}
