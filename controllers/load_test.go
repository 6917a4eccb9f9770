package controllers_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
)

// reconcileTotal is controller-runtime's controller_runtime_reconcile_total for the
// LTVComputation controller, all results (process-wide).
func reconcileTotal(t *testing.T) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "controller" && l.GetValue() == "ltvcomputation" {
					total += m.Counter.GetValue()
				}
			}
		}
	}
	return total
}

// LTV_LOAD_COMPUTATIONS overrides the number of computations of the load test.
func loadSize(t *testing.T) int {
	n := 200
	if v := os.Getenv("LTV_LOAD_COMPUTATIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("LTV_LOAD_COMPUTATIONS=%q", v)
		}
	}
	return n
}

// 200 computations over one small shared ConfigMap, created at once against the real API
// server, all become Ready; the test reports the time, the reconciles and the API writes per
// computation, and fails when those regress.
func TestLoad200Computations(t *testing.T) {
	n := loadSize(t)
	ns := newNamespace(t)
	ctx := context.Background()
	createOrders(t, ns, "orders", shopCSV)
	t.Cleanup(func() { deleteComputations(ns) })

	reconcilesBefore := reconcileTotal(t)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	names := make(chan string, n)
	for i := 0; i < n; i++ {
		names <- fmt.Sprintf("ltv-%03d", i)
	}
	close(names)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range names {
				obj := &v1alpha1.LTVComputation{}
				obj.Name, obj.Namespace = name, ns
				obj.Spec.Source.ConfigMap = &v1alpha1.ConfigMapSource{Name: "orders", Key: "orders.csv"}
				obj.Spec.Source.Columns.Attributes = []string{"channel"}
				obj.Spec.Observation.End = shopEnd
				obj.Spec.BreakdownBy = []string{"channel"}
				if err := k8sClient.Create(ctx, obj); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	created := time.Since(start)

	ready := 0
	eventually(t, 5*time.Minute, fmt.Sprintf("%d computations Ready", n), func() (bool, string) {
		var list v1alpha1.LTVComputationList
		if err := k8sClient.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		ready = 0
		for _, o := range list.Items {
			if meta.IsStatusConditionTrue(o.Status.Conditions, v1alpha1.ConditionReady) && o.Status.ObservedGeneration == o.Generation {
				ready++
			}
		}
		return ready == n, fmt.Sprintf("%d of %d Ready", ready, n)
	})
	elapsed := time.Since(start)

	// Let everything the runs caused arrive, then count.
	time.Sleep(2 * time.Second)
	calls := apiCalls.snapshot(ns)
	reconciles := sum(calls.Reconciles)
	maxPer := 0
	for _, c := range calls.Reconciles {
		maxPer = max(maxPer, c)
	}
	writes := sum(calls.Writes)
	var events corev1.EventList
	if err := k8sClient.List(ctx, &events, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	eventWrites := 0
	for _, e := range events.Items {
		if e.InvolvedObject.Kind == "LTVComputation" {
			eventWrites++ // a create; repeats would be patches of the series, none here
			if e.Series != nil && e.Series.Count > 1 || e.Count > 1 {
				t.Logf("event %s repeated: %+v", e.Name, e)
			}
		}
	}
	var kinds []string
	for k, v := range calls.Writes {
		kinds = append(kinds, fmt.Sprintf("%s %.2f", k, float64(v)/float64(n)))
	}
	sort.Strings(kinds)
	t.Logf("%d computations: created in %s, all Ready after %s (%.1f/s)", n, created.Round(time.Millisecond), elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	t.Logf("reconciles: %d (%.2f per computation, at most %d); controller_runtime_reconcile_total grew by %.0f",
		reconciles, float64(reconciles)/float64(n), maxPer, reconcileTotal(t)-reconcilesBefore)
	t.Logf("API writes by the operator's client: %d (%.2f per computation: %v); events: %d (%.2f per computation)",
		writes, float64(writes)/float64(n), kinds, eventWrites, float64(eventWrites)/float64(n))

	if reconciles != n || maxPer != 1 {
		t.Errorf("%d reconciles for %d computations (at most %d for one), want exactly one each", reconciles, n, maxPer)
	}
	if writes != 3*n {
		t.Errorf("%d writes for %d computations, want 3 each (status twice, the results ConfigMap)", writes, n)
	}
	if elapsed > 2*time.Minute {
		t.Errorf("%d computations took %s to become Ready", n, elapsed)
	}
}
