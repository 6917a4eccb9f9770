// Package v1alpha1 contains the API of ltv-operator: LTVComputation, which declares a customer
// lifetime value computation (data source, model, economics, schedule and outputs), and
// CustomerSegment, which declares a group of customers by a CEL filter or a value tier.
// +kubebuilder:object:generate=true
// +groupName=analytics.ltv-operator.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of these types.
	GroupVersion = schema.GroupVersion{Group: "analytics.ltv-operator.io", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this group version.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this group version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
