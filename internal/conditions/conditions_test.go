package conditions

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
)

// invariants checks what kstatus needs: Ready present; Reconciling and Stalled only when True
// and never both; Ready=True never with Stalled; the conditions observe the current generation,
// except Ready while Reconciling: it then still describes the last finished run (kstatus reads
// the object as InProgress, and Ready's observedGeneration says which generation it describes).
func invariants(t *testing.T, conds []metav1.Condition, generation int64) {
	t.Helper()
	ready := meta.FindStatusCondition(conds, v1alpha1.ConditionReady)
	if ready == nil {
		t.Fatal("Ready is absent")
	}
	rec := meta.FindStatusCondition(conds, v1alpha1.ConditionReconciling)
	stalled := meta.FindStatusCondition(conds, v1alpha1.ConditionStalled)
	for _, c := range []*metav1.Condition{rec, stalled} {
		if c != nil && c.Status != metav1.ConditionTrue {
			t.Errorf("%s is present with status %s; kstatus wants it only while True", c.Type, c.Status)
		}
	}
	if rec != nil && stalled != nil {
		t.Error("Reconciling and Stalled at once")
	}
	if ready.Status == metav1.ConditionTrue && stalled != nil {
		t.Error("Ready=True while stalled")
	}
	for _, c := range conds {
		if c.Type == v1alpha1.ConditionReady && rec != nil {
			continue
		}
		if c.ObservedGeneration != generation {
			t.Errorf("%s observes generation %d, want %d", c.Type, c.ObservedGeneration, generation)
		}
		if c.Reason == "" {
			t.Errorf("%s has no reason", c.Type)
		}
	}
}

func TestSettersKeepKstatusInvariants(t *testing.T) {
	setters := map[string]func(Setter){
		"Ready":       func(s Setter) { s.Ready(v1alpha1.ReasonSucceeded, "ok") },
		"Progressing": func(s Setter) { s.Progressing(v1alpha1.ReasonProgressing, "running") },
		"Retrying":    func(s Setter) { s.Retrying(v1alpha1.ReasonSourceUnavailable, "db down") },
		"Waiting":     func(s Setter) { s.Waiting(v1alpha1.ReasonSourceNotFound, "no ConfigMap") },
		"Stalled":     func(s Setter) { s.Stalled(v1alpha1.ReasonInvalidSpec, "bad spec") },
	}
	// Every setter after every other one, from an empty list: the invariants hold whatever
	// the previous state.
	for first, f := range setters {
		for second, g := range setters {
			var conds []metav1.Condition
			f(Setter{Conditions: &conds, Generation: 1})
			invariants(t, conds, 1)
			g(Setter{Conditions: &conds, Generation: 2})
			t.Run(first+"_then_"+second, func(t *testing.T) { invariants(t, conds, 2) })
		}
	}
}

func TestSetterStates(t *testing.T) {
	status := func(conds []metav1.Condition, typ string) string {
		if c := meta.FindStatusCondition(conds, typ); c != nil {
			return string(c.Status) + "/" + c.Reason
		}
		return "absent"
	}
	var conds []metav1.Condition
	s := Setter{Conditions: &conds, Generation: 1}

	s.Progressing(v1alpha1.ReasonProgressing, "first run")
	if got := status(conds, v1alpha1.ConditionReady); got != "Unknown/Progressing" {
		t.Errorf("first run: Ready %s, want Unknown/Progressing", got)
	}
	s.Ready(v1alpha1.ReasonSucceeded, "done")
	s.Progressing(v1alpha1.ReasonProgressing, "second run")
	if got := status(conds, v1alpha1.ConditionReady); got != "True/Succeeded" {
		t.Errorf("a later run keeps Ready of the last result: %s", got)
	}
	s.Retrying(v1alpha1.ReasonSourceUnavailable, "db down")
	if got := status(conds, v1alpha1.ConditionReconciling); got != "True/"+v1alpha1.ReasonProgressingWithRetry {
		t.Errorf("retrying: Reconciling %s", got)
	}
	if got := status(conds, v1alpha1.ConditionReady); got != "False/SourceUnavailable" {
		t.Errorf("retrying: Ready %s", got)
	}
	s.Stalled(v1alpha1.ReasonInvalidSpec, "bad")
	if got := status(conds, v1alpha1.ConditionStalled); got != "True/InvalidSpec" {
		t.Errorf("stalled: Stalled %s", got)
	}
	s.Waiting(v1alpha1.ReasonSourceNotFound, "wait")
	if status(conds, v1alpha1.ConditionStalled) != "absent" || status(conds, v1alpha1.ConditionReconciling) != "absent" {
		t.Errorf("waiting leaves neither Stalled nor Reconciling: %v", conds)
	}
	s.Stalled(v1alpha1.ReasonInvalidSpec, strings.Repeat("x", 40000))
	if n := len(meta.FindStatusCondition(conds, v1alpha1.ConditionReady).Message); n > 32768 {
		t.Errorf("message of %d bytes; the CRD allows 32768", n)
	}
}
