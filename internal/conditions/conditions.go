// Package conditions sets an object's kstatus conditions: Ready always present once the object
// was seen, Reconciling and Stalled only while true. Each setter leaves the three in a state
// kstatus reads unambiguously.
package conditions

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
)

// Setter applies kstatus rules to an object's conditions: Ready always present,
// Reconciling and Stalled only while true.
type Setter struct {
	Conditions *[]metav1.Condition
	Generation int64
}

func (c Setter) set(condType string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(c.Conditions, metav1.Condition{
		Type: condType, Status: status, Reason: reason, Message: Truncate(message, 32768), ObservedGeneration: c.Generation,
	})
}

func (c Setter) remove(condType string) { meta.RemoveStatusCondition(c.Conditions, condType) }

// Ready marks success: Ready=True, nothing reconciling or stalled.
func (c Setter) Ready(reason, message string) {
	c.set(v1alpha1.ConditionReady, metav1.ConditionTrue, reason, message)
	c.remove(v1alpha1.ConditionReconciling)
	c.remove(v1alpha1.ConditionStalled)
}

// Progressing marks work in progress (or a retry pending) without touching Ready's status
// unless it is absent.
func (c Setter) Progressing(reason, message string) {
	if meta.FindStatusCondition(*c.Conditions, v1alpha1.ConditionReady) == nil {
		c.set(v1alpha1.ConditionReady, metav1.ConditionUnknown, reason, message)
	}
	c.set(v1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, message)
	c.remove(v1alpha1.ConditionStalled)
}

// Retrying marks a transient failure: Ready=False, Reconciling=True until the retry succeeds.
func (c Setter) Retrying(reason, message string) {
	c.set(v1alpha1.ConditionReady, metav1.ConditionFalse, reason, message)
	c.set(v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonProgressingWithRetry, message)
	c.remove(v1alpha1.ConditionStalled)
}

// Waiting marks a failure that resolves by itself when a watched object appears or changes:
// Ready=False, neither reconciling nor stalled.
func (c Setter) Waiting(reason, message string) {
	c.set(v1alpha1.ConditionReady, metav1.ConditionFalse, reason, message)
	c.remove(v1alpha1.ConditionReconciling)
	c.remove(v1alpha1.ConditionStalled)
}

// Stalled marks an error only a change of spec or data can fix.
func (c Setter) Stalled(reason, message string) {
	c.set(v1alpha1.ConditionReady, metav1.ConditionFalse, reason, message)
	c.set(v1alpha1.ConditionStalled, metav1.ConditionTrue, reason, message)
	c.remove(v1alpha1.ConditionReconciling)
}

// Truncate shortens s to n bytes, ending in "..." when it was longer.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
