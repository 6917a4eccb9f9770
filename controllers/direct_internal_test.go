package controllers

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/event"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
)

// ConfigMaps and Secrets are read from the API server, everything else from the cache.
func TestDirectContentReadsContentPastTheCache(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: "shop"}, Data: map[string]string{"a": "b"}}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "dsn", Namespace: "shop"}}
	ltv := &v1alpha1.LTVComputation{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "shop"}}
	cached := fake.NewClientBuilder().WithScheme(scheme).WithObjects(ltv).Build()
	direct := fake.NewClientBuilder().WithScheme(scheme).WithObjects(cm, secret).Build()
	c := withDirectContent(cached, direct)
	ctx := context.Background()
	if err := c.Get(ctx, client.ObjectKeyFromObject(cm), &corev1.ConfigMap{}); err != nil {
		t.Errorf("ConfigMap: %v", err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(secret), &corev1.Secret{}); err != nil {
		t.Errorf("Secret: %v", err)
	}
	var cms corev1.ConfigMapList
	if err := c.List(ctx, &cms, client.InNamespace("shop")); err != nil || len(cms.Items) != 1 {
		t.Errorf("ConfigMap list: %d, %v", len(cms.Items), err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ltv), &v1alpha1.LTVComputation{}); err != nil {
		t.Errorf("LTVComputation from the cache: %v", err)
	}
}

// Updates of a results ConfigMap pass when someone else made them: not the operator's own
// writes, which change its annotations.
func TestEditedByOthers(t *testing.T) {
	meta := func(rv, digest, computedAt string) *metav1.PartialObjectMetadata {
		m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{ResourceVersion: rv, Annotations: map[string]string{}}}
		if digest != "" {
			m.Annotations[AnnotationContentDigest] = digest
		}
		m.Annotations[AnnotationComputedAt] = computedAt
		return m
	}
	p := editedByOthers()
	for _, tc := range []struct {
		name     string
		old, new *metav1.PartialObjectMetadata
		want     bool
	}{
		{"the operator's new result", meta("1", "d1", "t1"), meta("2", "d2", "t2"), false},
		{"the operator's same result, new time", meta("1", "d1", "t1"), meta("2", "d1", "t2"), false},
		{"data edited", meta("1", "d1", "t1"), meta("2", "d1", "t1"), true},
		{"digest removed", meta("1", "d1", "t1"), meta("2", "", "t1"), true},
		{"resync", meta("1", "d1", "t1"), meta("1", "d1", "t1"), false},
		{"written before digests", meta("1", "", "t1"), meta("2", "", "t1"), false},
	} {
		if got := p.Update(event.UpdateEvent{ObjectOld: tc.old, ObjectNew: tc.new}); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if p.Create(event.CreateEvent{Object: meta("1", "d1", "t1")}) {
		t.Error("creation passes")
	}
}
