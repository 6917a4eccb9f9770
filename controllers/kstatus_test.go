package controllers_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/config/argocd"
)

// gitopsHealth reads the object as Flux and Argo CD do (unstructured, from the API server) and
// returns what kstatus computes and what the shipped Argo CD health check says.
func gitopsHealth(t *testing.T, kind, ns, name string, edit func(*unstructured.Unstructured)) (*status.Result, argocd.Health) {
	t.Helper()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind(kind))
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(u)
	}
	res, err := status.Compute(u)
	if err != nil {
		t.Fatal(err)
	}
	h, err := argocd.Evaluate(argocd.Script, u.Object)
	if err != nil {
		t.Fatal(err)
	}
	return res, h
}

func expectHealth(t *testing.T, what string, res *status.Result, h argocd.Health, wantKstatus status.Status, wantArgo string) {
	t.Helper()
	if res.Status != wantKstatus {
		t.Errorf("%s: kstatus %s (%s), want %s", what, res.Status, res.Message, wantKstatus)
	}
	if h.Status != wantArgo {
		t.Errorf("%s: Argo CD health %+v, want %s", what, h, wantArgo)
	}
}

// kstatus (what Flux's healthChecks and `wait` use) and the Argo CD health check agree with the
// operator's conditions: a finished computation is Current/Healthy, one that waits or retries
// InProgress/Progressing, a stalled one Failed/Degraded.
func TestKstatusAndArgoHealth(t *testing.T) {
	ctx := context.Background()

	t.Run("finished", func(t *testing.T) {
		ns := newNamespace(t)
		createShop(t, ns, nil)
		waitCondition(t, ns, "shop", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		res, h := gitopsHealth(t, "LTVComputation", ns, "shop", nil)
		expectHealth(t, "finished computation", res, h, status.CurrentStatus, "Healthy")

		// A generation the operator has not seen yet is in progress, whatever the conditions say.
		res, h = gitopsHealth(t, "LTVComputation", ns, "shop", func(u *unstructured.Unstructured) { u.SetGeneration(u.GetGeneration() + 1) })
		expectHealth(t, "unobserved generation", res, h, status.InProgressStatus, "Progressing")

		// Suspended with a result: still Current for kstatus (nothing is pending), Suspended in Argo CD.
		patchSpec(t, ns, "shop", func(s *v1alpha1.LTVComputationSpec) { s.Schedule = "0 3 * * *"; s.Suspend = ptr.To(true) })
		waitCondition(t, ns, "shop", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSuspended)
		res, h = gitopsHealth(t, "LTVComputation", ns, "shop", nil)
		expectHealth(t, "suspended computation", res, h, status.CurrentStatus, "Suspended")
	})

	t.Run("waiting for its source", func(t *testing.T) {
		ns := newNamespace(t)
		obj := &v1alpha1.LTVComputation{
			ObjectMeta: metav1.ObjectMeta{Name: "late", Namespace: ns},
			Spec: v1alpha1.LTVComputationSpec{
				Source:      v1alpha1.Source{ConfigMap: &v1alpha1.ConfigMapSource{Name: "not-yet", Key: "orders.csv"}},
				Observation: v1alpha1.Observation{End: shopEnd},
			},
		}
		if err := k8sClient.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		waitCondition(t, ns, "late", v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSourceNotFound)
		res, h := gitopsHealth(t, "LTVComputation", ns, "late", nil)
		expectHealth(t, "computation waiting for its ConfigMap", res, h, status.InProgressStatus, "Progressing")
	})

	t.Run("retrying", func(t *testing.T) {
		// The source answers 503: the run is retried with backoff (Reconciling=True) until
		// the server recovers.
		ns := newNamespace(t)
		flaky := newFlakyShop(t)
		createShop(t, ns, flaky.use)
		t.Cleanup(func() { deleteComputations(ns) })
		waitCondition(t, ns, "shop", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonProgressingWithRetry)
		res, h := gitopsHealth(t, "LTVComputation", ns, "shop", nil)
		expectHealth(t, "computation retrying", res, h, status.InProgressStatus, "Progressing")

		flaky.heal()
		waitCondition(t, ns, "shop", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
		res, h = gitopsHealth(t, "LTVComputation", ns, "shop", nil)
		expectHealth(t, "computation after the retry", res, h, status.CurrentStatus, "Healthy")
	})

	t.Run("stalled", func(t *testing.T) {
		ns := newNamespace(t)
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: ns}, Data: map[string]string{"orders.csv": "customer_id,date,amount\nc1,2026-01-01,ten\n"}}
		if err := k8sClient.Create(ctx, cm); err != nil {
			t.Fatal(err)
		}
		obj := &v1alpha1.LTVComputation{
			ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: ns},
			Spec: v1alpha1.LTVComputationSpec{
				Source:      v1alpha1.Source{ConfigMap: &v1alpha1.ConfigMapSource{Name: "orders", Key: "orders.csv"}},
				Observation: v1alpha1.Observation{End: shopEnd},
			},
		}
		if err := k8sClient.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
		waitCondition(t, ns, "bad", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonInvalidData)
		res, h := gitopsHealth(t, "LTVComputation", ns, "bad", nil)
		expectHealth(t, "computation with bad data", res, h, status.FailedStatus, "Degraded")
	})

	t.Run("invalid schedule", func(t *testing.T) {
		ns := newNamespace(t)
		createScheduled(t, ns, func(s *v1alpha1.LTVComputationSpec) { s.Schedule = "CRON_TZ=Europe/Warsaw 0 3 * * *" })
		waitCondition(t, ns, "shop", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonInvalidSchedule)
		res, h := gitopsHealth(t, "LTVComputation", ns, "shop", nil)
		expectHealth(t, "computation with an invalid schedule", res, h, status.FailedStatus, "Degraded")
	})

	t.Run("segments", func(t *testing.T) {
		ns := newNamespace(t)
		createSegment(t, ns, "good", nil, v1alpha1.CustomerSegmentSpec{Filter: "customer.frequency >= 1"})
		createSegment(t, ns, "typo", nil, v1alpha1.CustomerSegmentSpec{Filter: "customer.frequencyy >= 1"})
		eventually(t, 30*time.Second, "both segments observed", func() (bool, string) {
			g, b := getSegment(t, ns, "good"), getSegment(t, ns, "typo")
			return g.Status.ObservedGeneration == g.Generation && b.Status.ObservedGeneration == b.Generation, spew(g.Status) + " / " + spew(b.Status)
		})
		res, h := gitopsHealth(t, "CustomerSegment", ns, "good", nil)
		expectHealth(t, "valid segment", res, h, status.CurrentStatus, "Healthy")
		res, h = gitopsHealth(t, "CustomerSegment", ns, "typo", nil)
		expectHealth(t, "segment with an invalid filter", res, h, status.FailedStatus, "Degraded")
	})
}
