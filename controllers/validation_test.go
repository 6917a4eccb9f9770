package controllers_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
)

// The CRD's schema and CEL rules refuse bad specs at apply time with a message naming the field.
func TestInvalidSpecsAreRefused(t *testing.T) {
	ns := newNamespace(t)
	base := func() v1alpha1.LTVComputationSpec {
		return v1alpha1.LTVComputationSpec{Source: v1alpha1.Source{ConfigMap: &v1alpha1.ConfigMapSource{Name: "o", Key: "o.csv"}}}
	}
	cases := []struct {
		name   string
		mutate func(*v1alpha1.LTVComputationSpec)
		want   []string
	}{
		{"two sources", func(s *v1alpha1.LTVComputationSpec) {
			s.Source.HTTP = &v1alpha1.HTTPSource{URL: "https://example.com/o.csv"}
		}, []string{"spec.source", "exactly one of configMap, http or postgres"}},
		{"no source", func(s *v1alpha1.LTVComputationSpec) { s.Source.ConfigMap = nil }, []string{"exactly one of configMap, http or postgres"}},
		{"margin above 1", func(s *v1alpha1.LTVComputationSpec) { s.Economics.GrossMargin = "1.5" }, []string{"spec.economics.grossMargin", "between 0 and 1"}},
		{"negative margin", func(s *v1alpha1.LTVComputationSpec) { s.Economics.GrossMargin = "-0.2" }, []string{"spec.economics.grossMargin"}},
		{"negative discount rate", func(s *v1alpha1.LTVComputationSpec) { s.Economics.AnnualDiscountRate = "-0.1" }, []string{"spec.economics.annualDiscountRate"}},
		{"unknown model", func(s *v1alpha1.LTVComputationSpec) { s.Model.Type = "Magic" }, []string{"spec.model.type", "Unsupported value"}},
		{"unknown time unit", func(s *v1alpha1.LTVComputationSpec) { s.Observation.TimeUnit = "Fortnight" }, []string{"spec.observation.timeUnit"}},
		{"bad end date", func(s *v1alpha1.LTVComputationSpec) { s.Observation.End = "Nov 1" }, []string{"spec.observation.end"}},
		{"acquisition cost not a number", func(s *v1alpha1.LTVComputationSpec) {
			s.Economics.AcquisitionCost = &v1alpha1.AcquisitionCost{ByAttribute: "channel", Values: map[string]v1alpha1.NonNegativeDecimal{"email": "cheap"}}
		}, []string{"spec.economics.acquisitionCost.values.email"}},
		{"values without byAttribute", func(s *v1alpha1.LTVComputationSpec) {
			s.Economics.AcquisitionCost = &v1alpha1.AcquisitionCost{Values: map[string]v1alpha1.NonNegativeDecimal{"email": "5"}}
		}, []string{"values requires byAttribute"}},
		{"time zone without schedule", func(s *v1alpha1.LTVComputationSpec) { tz := "UTC"; s.TimeZone = &tz }, []string{"timeZone requires schedule"}},
		{"postgres table and query", func(s *v1alpha1.LTVComputationSpec) {
			s.Source.ConfigMap = nil
			s.Source.Postgres = &v1alpha1.PostgresSource{ConnectionSecretRef: v1alpha1.SecretKeyReference{Name: "db", Key: "dsn"}, Table: "t", Query: "SELECT 1"}
		}, []string{"exactly one of table or query"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := base()
			c.mutate(&spec)
			obj := &v1alpha1.LTVComputation{ObjectMeta: metav1.ObjectMeta{GenerateName: "invalid-", Namespace: ns}, Spec: spec}
			err := k8sClient.Create(context.Background(), obj)
			if err == nil {
				t.Fatalf("the API server accepted %s", c.name)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	// And a valid spec passes, so the cases above fail for their own reason.
	ok := &v1alpha1.LTVComputation{ObjectMeta: metav1.ObjectMeta{Name: "valid", Namespace: ns}, Spec: base()}
	if err := k8sClient.Create(context.Background(), ok); err != nil {
		t.Fatalf("a valid spec was refused: %v", err)
	}
}
