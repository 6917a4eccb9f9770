package controllers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
)

// warnings lists the messages of the Warning events with the reason about the object.
func warnings(t *testing.T, ns, name, reason string) []string {
	t.Helper()
	var list corev1.EventList
	if err := k8sClient.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name && e.Reason == reason && e.Type == corev1.EventTypeWarning {
			out = append(out, e.Message)
		}
	}
	return out
}

// A run that moves average LTV by more than spec.alerts.maxChangePercent against the previous
// successful run records status.drift and emits a Warning Event LTVDrift; a small move does
// neither.
func TestDriftWarning(t *testing.T) {
	ns := newNamespace(t)
	day := time.Now().UTC().Truncate(time.Minute).Add(time.Hour)
	setClock(day)
	createShop(t, ns, func(s *v1alpha1.LTVComputationSpec) {
		s.Economics.GrossMargin = "0.50"
		s.Alerts = &v1alpha1.Alerts{MaxChangePercent: 10}
	})
	first := waitRuns(t, ns, "shop", 1)
	if first.Status.Drift != nil {
		t.Errorf("the first run has nothing to drift from: %+v", first.Status.Drift)
	}

	// The next day the margin (and so, with the Historical model, every customer's value)
	// falls from 50% to 41%: average LTV drops 18%.
	setClock(day.Add(24 * time.Hour))
	patchSpec(t, ns, "shop", func(s *v1alpha1.LTVComputationSpec) { s.Economics.GrossMargin = "0.41" })
	obj := waitRuns(t, ns, "shop", 2)
	d := obj.Status.Drift
	if d == nil {
		t.Fatalf("no status.drift after an 18%% drop: %s", describe(obj))
	}
	wantMsg := fmt.Sprintf("Average LTV dropped 18.0%% since the run of %s: %s -> %s USD (limit 10%%)",
		day.Format("2006-01-02 15:04 MST"), first.Status.Result.AverageLTV, obj.Status.Result.AverageLTV)
	if d.Message != wantMsg || d.ChangePercent != "-18.0" || d.PreviousAverageLTV != first.Status.Result.AverageLTV || !d.DetectedAt.Time.Equal(day.Add(24*time.Hour)) {
		t.Errorf("drift = %+v, want message %q", d, wantMsg)
	}
	eventually(t, 10*time.Second, "a LTVDrift warning", func() (bool, string) {
		w := warnings(t, ns, "shop", v1alpha1.ReasonLTVDrift)
		return len(w) == 1 && w[0] == wantMsg, strings.Join(w, " | ")
	})
	// The run itself succeeded: drift is a warning, not a failure.
	if !obj.Status.RecentRuns[0].Succeeded || obj.Status.Result.AverageLTV == first.Status.Result.AverageLTV {
		t.Errorf("run = %+v", obj.Status.RecentRuns[0])
	}

	// A small move (41% to 40%: -2.4%) passes without a warning; status.drift keeps the last
	// drift detected, with its time.
	setClock(day.Add(48 * time.Hour))
	patchSpec(t, ns, "shop", func(s *v1alpha1.LTVComputationSpec) { s.Economics.GrossMargin = "0.40" })
	obj = waitRuns(t, ns, "shop", 3)
	time.Sleep(time.Second) // events are written asynchronously
	if w := warnings(t, ns, "shop", v1alpha1.ReasonLTVDrift); len(w) != 1 {
		t.Errorf("LTVDrift warnings after a 2.4%% move: %q", w)
	}
	if obj.Status.Drift == nil || obj.Status.Drift.Message != wantMsg {
		t.Errorf("status.drift after a small move = %+v", obj.Status.Drift)
	}

	// A rise beyond the limit warns too.
	setClock(day.Add(72 * time.Hour))
	patchSpec(t, ns, "shop", func(s *v1alpha1.LTVComputationSpec) { s.Economics.GrossMargin = "0.50" })
	obj = waitRuns(t, ns, "shop", 4)
	if d := obj.Status.Drift; d == nil || d.ChangePercent != "25.0" || !strings.HasPrefix(d.Message, "Average LTV rose 25.0% since the run of "+day.Add(48*time.Hour).Format("2006-01-02 15:04 MST")) {
		t.Errorf("drift after +25%% = %+v", obj.Status.Drift)
	}
	eventually(t, 10*time.Second, "a second LTVDrift warning", func() (bool, string) {
		w := warnings(t, ns, "shop", v1alpha1.ReasonLTVDrift)
		return len(w) == 2, strings.Join(w, " | ")
	})
}
