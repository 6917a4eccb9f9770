package controllers_test

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/config/argocd"
)

// Before the operator's first reconcile, the object as the API server returns it from the
// create (what a GitOps tool sees at once) has status.observedGeneration -1 (the CRD's default),
// so kstatus reports InProgress rather than Current: an object without conditions whose
// observedGeneration were absent would be Current, and a `flux`/`kubectl wait` would pass
// before anything was computed. Both kinds.
func TestInProgressBeforeTheFirstReconcile(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	for _, obj := range []map[string]any{
		{"apiVersion": v1alpha1.GroupVersion.String(), "kind": "LTVComputation", "metadata": map[string]any{"name": "fresh", "namespace": ns},
			"spec": map[string]any{"source": map[string]any{"configMap": map[string]any{"name": "none", "key": "orders.csv"}}, "observation": map[string]any{"end": shopEnd}}},
		{"apiVersion": v1alpha1.GroupVersion.String(), "kind": "CustomerSegment", "metadata": map[string]any{"name": "fresh", "namespace": ns},
			"spec": map[string]any{"valueTier": map[string]any{"topPercent": int64(20)}}},
	} {
		u := &unstructured.Unstructured{Object: obj}
		if err := k8sClient.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		og, found, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
		if !found || og != -1 {
			t.Errorf("%s: status.observedGeneration %d (found %v) as created, want -1", u.GetKind(), og, found)
		}
		res, err := status.Compute(u)
		if err != nil {
			t.Fatal(err)
		}
		h, err := argocd.Evaluate(argocd.Script, u.Object)
		if err != nil {
			t.Fatal(err)
		}
		expectHealth(t, u.GetKind()+" before the first reconcile", res, h, status.InProgressStatus, "Progressing")
	}
	// and the operator then sets it
	waitCondition(t, ns, "fresh", v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSourceNotFound)
	if got := getLTV(t, ns, "fresh"); got.Status.ObservedGeneration != got.Generation {
		t.Errorf("observedGeneration %d, generation %d", got.Status.ObservedGeneration, got.Generation)
	}
}
