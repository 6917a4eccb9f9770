package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CustomerSegmentSpec defines a group of customers by a CEL filter, a value tier, or both
// (a customer must match both).
// +kubebuilder:validation:XValidation:rule="has(self.filter) || has(self.valueTier)",message="at least one of filter or valueTier must be set"
type CustomerSegmentSpec struct {
	// Description says what the segment is for, in words.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Description string `json:"description,omitempty"`

	// Filter is a CEL expression over `customer` (id, frequency, recency, age, monetary,
	// historicRevenue, historicValue (realised margin), orders, firstPurchase, lastPurchase,
	// attributes, expectedPurchases, probabilityAlive, predictedValue (the model's value),
	// totalValue (historic + predicted), valuePercentile) and `observationEnd` that yields a bool.
	// See docs/cel.md. Example: customer.predictedValue > 200.0 && customer.probabilityAlive < 0.3
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Filter string `json:"filter,omitempty"`

	// ValueTier selects customers by predicted value: the top percent, or a value range.
	// +optional
	ValueTier *ValueTier `json:"valueTier,omitempty"`
}

// ValueTier selects customers by predicted value.
// +kubebuilder:validation:XValidation:rule="has(self.topPercent) || has(self.minPredictedValue) || has(self.maxPredictedValue)",message="set topPercent, minPredictedValue or maxPredictedValue"
// +kubebuilder:validation:XValidation:rule="!has(self.minPredictedValue) || !has(self.maxPredictedValue) || double(self.minPredictedValue) <= double(self.maxPredictedValue)",message="minPredictedValue must not exceed maxPredictedValue"
type ValueTier struct {
	// TopPercent selects the most valuable customers: 20 is the top 20% by predicted value.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	TopPercent *int32 `json:"topPercent,omitempty"`

	// MinPredictedValue selects customers whose predicted value is at least this decimal.
	// +kubebuilder:validation:Pattern=`^-?[0-9]+(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	MinPredictedValue *string `json:"minPredictedValue,omitempty"`

	// MaxPredictedValue selects customers whose predicted value is below this decimal.
	// +kubebuilder:validation:Pattern=`^-?[0-9]+(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	MaxPredictedValue *string `json:"maxPredictedValue,omitempty"`
}

// CustomerSegmentStatus is the observed state of a CustomerSegment.
type CustomerSegmentStatus struct {
	// ObservedGeneration is the generation the status describes; -1 until the operator first
	// reconciles the object, so that kstatus and Argo CD report it in progress, not current.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready (always) and Stalled (while the filter does not compile, reason
	// InvalidFilter with the compiler's message).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Computations lists this segment's aggregates in the results of the LTVComputations that
	// select it.
	// +kubebuilder:validation:MaxItems=100
	// +optional
	Computations []SegmentComputation `json:"computations,omitempty"`
}

// SegmentComputation is the segment as seen by one computation's last successful run.
type SegmentComputation struct {
	// Name of the LTVComputation.
	Name string `json:"name"`
	// Customers in the segment.
	Customers int64 `json:"customers"`
	// AverageLTV of the segment's customers.
	AverageLTV string `json:"averageLTV"`
	// TotalLTV of the segment's customers.
	TotalLTV string `json:"totalLTV"`
	// ValueShare is the segment's share of the computation's total LTV (0..1).
	ValueShare string `json:"valueShare"`
	// ComputedAt is when that run finished.
	// +optional
	ComputedAt *metav1.Time `json:"computedAt,omitempty"`
}

// CustomerSegment declares a group of customers, such as "high value, about to churn", that
// LTVComputations selecting it aggregate in every run.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=cseg,categories=ltv-operator
// +kubebuilder:printcolumn:name="Description",type=string,JSONPath=`.spec.description`,priority=1
// +kubebuilder:printcolumn:name="Filter",type=string,JSONPath=`.spec.filter`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Customers",type=integer,JSONPath=`.status.computations[0].customers`
// +kubebuilder:printcolumn:name="Avg LTV",type=string,JSONPath=`.status.computations[0].averageLTV`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type CustomerSegment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec defines the segment.
	// +required
	Spec CustomerSegmentSpec `json:"spec"`

	// Status is the observed state, written by the operator.
	// +optional
	// +kubebuilder:default={"observedGeneration":-1}
	Status CustomerSegmentStatus `json:"status,omitempty"`
}

// CustomerSegmentList is a list of CustomerSegments.
// +kubebuilder:object:root=true
type CustomerSegmentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the segments.
	Items []CustomerSegment `json:"items"`
}

func init() {
	SchemeBuilder.Register(&CustomerSegment{}, &CustomerSegmentList{})
}
