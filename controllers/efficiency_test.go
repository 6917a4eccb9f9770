package controllers_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
)

// Reconciles are counted per computation by the suite's counting client (one Get of the
// LTVComputation per reconcile).

func createComputation(t *testing.T, ns, name, configMap string, spec func(*v1alpha1.LTVComputationSpec)) {
	t.Helper()
	obj := &v1alpha1.LTVComputation{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.LTVComputationSpec{
			Source:      v1alpha1.Source{ConfigMap: &v1alpha1.ConfigMapSource{Name: configMap, Key: "orders.csv"}},
			Observation: v1alpha1.Observation{End: shopEnd},
		},
	}
	if spec != nil {
		spec(&obj.Spec)
	}
	if err := k8sClient.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
}

func createOrders(t *testing.T, ns, name, data string) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string]string{"orders.csv": data}}
	if err := k8sClient.Create(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	waitCached(t, cm)
	return cm
}

// quiet waits d and returns the reconciles per computation in that time.
func quiet(ns string, d time.Duration) map[string]int {
	before := apiCalls.snapshot(ns)
	time.Sleep(d)
	after := apiCalls.snapshot(ns)
	out := map[string]int{}
	for name, n := range after.Reconciles {
		if n != before.Reconciles[name] {
			out[name] = n - before.Reconciles[name]
		}
	}
	return out
}

// A finished computation without a schedule is reconciled once, and its own writes (status,
// results ConfigMap, events) do not wake it again.
func TestFinishedComputationIsNotReconciledAgain(t *testing.T) {
	ns := newNamespace(t)
	createOrders(t, ns, "orders", shopCSV)
	createComputation(t, ns, "once", "orders", nil)
	waitCondition(t, ns, "once", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	if extra := quiet(ns, 3*time.Second); len(extra) != 0 {
		t.Errorf("reconciles in the 3 s after Ready: %v, want none", extra)
	}
	calls := apiCalls.snapshot(ns)
	if calls.Reconciles["once"] != 1 {
		t.Errorf("%d reconciles in all, want 1", calls.Reconciles["once"])
	}
	t.Logf("writes of one run: %v", calls.Writes)
	// One run writes: the Reconciling condition, the results ConfigMap, the final status.
	want := map[string]int{"patch status LTVComputation": 2, "create ConfigMap": 1}
	for k, v := range want {
		if calls.Writes[k] != v {
			t.Errorf("%s: %d, want %d (all writes: %v)", k, calls.Writes[k], v, calls.Writes)
		}
	}
	if sum(calls.Writes) != 3 {
		t.Errorf("writes: %v, want 3", calls.Writes)
	}
}

// A ConfigMap change wakes only the computations that read it; an unrelated ConfigMap wakes
// none.
func TestConfigMapChangeRerunsOnlyItsComputations(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	cmA := createOrders(t, ns, "orders-a", shopCSV)
	createOrders(t, ns, "orders-b", shopCSV)
	createComputation(t, ns, "a", "orders-a", nil)
	createComputation(t, ns, "b", "orders-b", nil)
	waitRuns(t, ns, "a", 1)
	waitRuns(t, ns, "b", 1)
	time.Sleep(500 * time.Millisecond)
	before := apiCalls.snapshot(ns)

	// Unrelated ConfigMaps, created and changed: nobody wakes.
	other := createOrders(t, ns, "unrelated", "x")
	other.Data["orders.csv"] = "y"
	if err := k8sClient.Update(ctx, other); err != nil {
		t.Fatal(err)
	}
	if extra := quiet(ns, time.Second); len(extra) != 0 {
		t.Errorf("an unrelated ConfigMap woke %v", extra)
	}

	cmA.Data["orders.csv"] = shopCSV + "c5,2026-07-01,40.00,organic\n"
	if err := k8sClient.Update(ctx, cmA); err != nil {
		t.Fatal(err)
	}
	a := waitRuns(t, ns, "a", 2)
	if a.Status.Result.Customers != 4 {
		t.Errorf("a did not read the new data: %d customers", a.Status.Result.Customers)
	}
	time.Sleep(time.Second)
	after := apiCalls.snapshot(ns)
	if d := after.Reconciles["a"] - before.Reconciles["a"]; d != 1 {
		t.Errorf("a reconciled %d times for one change of its ConfigMap, want 1", d)
	}
	if d := after.Reconciles["b"] - before.Reconciles["b"]; d != 0 {
		t.Errorf("b reconciled %d times for a change of a's ConfigMap, want 0", d)
	}
	if b := getLTV(t, ns, "b"); len(b.Status.RecentRuns) != 1 {
		t.Errorf("b ran again: %d runs", len(b.Status.RecentRuns))
	}
}

// A segment change wakes only the computations whose selector matches it (before or after
// the change), and re-runs them.
func TestSegmentChangeRerunsOnlySelectingComputations(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	createOrders(t, ns, "orders", shopCSV)
	createSegment(t, ns, "repeaters", map[string]string{"team": "growth"}, v1alpha1.CustomerSegmentSpec{Filter: "customer.frequency >= 1"})
	createSegment(t, ns, "everyone", map[string]string{"team": "finance"}, v1alpha1.CustomerSegmentSpec{Filter: "true"})
	for _, team := range []string{"growth", "finance"} {
		createComputation(t, ns, team, "orders", func(s *v1alpha1.LTVComputationSpec) {
			s.SegmentSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": team}}
		})
		waitRuns(t, ns, team, 1)
	}
	time.Sleep(500 * time.Millisecond)
	before := apiCalls.snapshot(ns)

	seg := getSegment(t, ns, "repeaters")
	seg.Spec.Filter = "customer.frequency >= 2"
	if err := k8sClient.Update(ctx, seg); err != nil {
		t.Fatal(err)
	}
	waitRuns(t, ns, "growth", 2)
	time.Sleep(time.Second)
	after := apiCalls.snapshot(ns)
	if d := after.Reconciles["finance"] - before.Reconciles["finance"]; d != 0 {
		t.Errorf("finance reconciled %d times for a growth segment, want 0", d)
	}
	if d := after.Reconciles["growth"] - before.Reconciles["growth"]; d != 1 {
		t.Errorf("growth reconciled %d times, want 1", d)
	}

	// Moving the segment to finance wakes both: growth loses it, finance gains it.
	patch := client.MergeFrom(seg.DeepCopy())
	seg.Labels = map[string]string{"team": "finance"}
	if err := k8sClient.Patch(ctx, seg, patch); err != nil {
		t.Fatal(err)
	}
	g := waitRuns(t, ns, "growth", 3)
	f := waitRuns(t, ns, "finance", 2)
	names := func(o *v1alpha1.LTVComputation) string {
		s := ""
		for _, r := range o.Status.Result.Segments {
			s += r.Name + " "
		}
		return s
	}
	if names(g) != "" || names(f) != "everyone repeaters " {
		t.Errorf("segments after the move: growth [%s], finance [%s]", names(g), names(f))
	}
}
