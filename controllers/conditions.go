package controllers

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
)

// conditionSetter applies kstatus rules to an object's conditions: Ready always present,
// Reconciling and Stalled only while true.
type conditionSetter struct {
	conditions *[]metav1.Condition
	generation int64
}

func (c conditionSetter) set(condType string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(c.conditions, metav1.Condition{
		Type: condType, Status: status, Reason: reason, Message: truncate(message, 32768), ObservedGeneration: c.generation,
	})
}

func (c conditionSetter) remove(condType string) { meta.RemoveStatusCondition(c.conditions, condType) }

// ready marks success: Ready=True, nothing reconciling or stalled.
func (c conditionSetter) ready(reason, message string) {
	c.set(v1alpha1.ConditionReady, metav1.ConditionTrue, reason, message)
	c.remove(v1alpha1.ConditionReconciling)
	c.remove(v1alpha1.ConditionStalled)
}

// progressing marks work in progress (or a retry pending) without touching Ready's status
// unless it is absent.
func (c conditionSetter) progressing(reason, message string) {
	if meta.FindStatusCondition(*c.conditions, v1alpha1.ConditionReady) == nil {
		c.set(v1alpha1.ConditionReady, metav1.ConditionUnknown, reason, message)
	}
	c.set(v1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, message)
	c.remove(v1alpha1.ConditionStalled)
}

// retrying marks a transient failure: Ready=False, Reconciling=True until the retry succeeds.
func (c conditionSetter) retrying(reason, message string) {
	c.set(v1alpha1.ConditionReady, metav1.ConditionFalse, reason, message)
	c.set(v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonProgressingWithRetry, message)
	c.remove(v1alpha1.ConditionStalled)
}

// waiting marks a failure that resolves by itself when a watched object appears or changes:
// Ready=False, neither reconciling nor stalled.
func (c conditionSetter) waiting(reason, message string) {
	c.set(v1alpha1.ConditionReady, metav1.ConditionFalse, reason, message)
	c.remove(v1alpha1.ConditionReconciling)
	c.remove(v1alpha1.ConditionStalled)
}

// stalled marks an error only a change of spec or data can fix.
func (c conditionSetter) stalled(reason, message string) {
	c.set(v1alpha1.ConditionReady, metav1.ConditionFalse, reason, message)
	c.set(v1alpha1.ConditionStalled, metav1.ConditionTrue, reason, message)
	c.remove(v1alpha1.ConditionReconciling)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
