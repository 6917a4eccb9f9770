package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// directContent is the controllers' client: ConfigMaps and Secrets are read from the API
// server when a reconcile needs them, everything else from the informer cache. The manager
// watches ConfigMaps and Secrets by metadata only (builder.OnlyMetadata), so it never holds
// the content of every ConfigMap and Secret in the cluster; reading them through the cache
// would start a full informer for them. Writes go to the wrapped client.
type directContent struct {
	client.Client
	direct client.Reader
}

func withDirectContent(c client.Client, apiReader client.Reader) client.Client {
	if apiReader == nil {
		return c
	}
	return &directContent{Client: c, direct: apiReader}
}

func isContent(obj any) bool {
	switch obj.(type) {
	case *corev1.ConfigMap, *corev1.Secret, *corev1.ConfigMapList, *corev1.SecretList:
		return true
	}
	return false
}

func (d *directContent) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if isContent(obj) {
		return d.direct.Get(ctx, key, obj, opts...)
	}
	return d.Client.Get(ctx, key, obj, opts...)
}

func (d *directContent) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if isContent(list) {
		return d.direct.List(ctx, list, opts...)
	}
	return d.Client.List(ctx, list, opts...)
}

// editedByOthers passes updates of a results ConfigMap (seen by metadata only) that the
// operator did not make: its writes change the computed-at or content-digest annotation, an
// edit of the data by someone else changes neither. The reconcile then compares the content
// with the digest (resultsPublished); an edit of labels alone passes here and starts no run.
func editedByOthers() predicate.Funcs {
	return predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			o, n := e.ObjectOld.GetAnnotations(), e.ObjectNew.GetAnnotations()
			if e.ObjectOld.GetResourceVersion() == e.ObjectNew.GetResourceVersion() {
				return false
			}
			if n[AnnotationContentDigest] == "" {
				return o[AnnotationContentDigest] != "" // the digest removed: look
			}
			return o[AnnotationContentDigest] == n[AnnotationContentDigest] && o[AnnotationComputedAt] == n[AnnotationComputedAt]
		},
	}
}
