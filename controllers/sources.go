package controllers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/pipeline"
)

// resolvedSource is a computation's source, ready to run, with the revision of its data when
// the operator can know it without reading the data (a ConfigMap's content digest); "" otherwise.
type resolvedSource struct {
	source   pipeline.Source
	revision string
}

// resolveSource looks up what the computation's source needs from the cluster. In Job mode
// it reads no Secret: the run's Pod gets them by reference, and the revision follows the spec.
func (r *LTVComputationReconciler) resolveSource(ctx context.Context, c *v1alpha1.LTVComputation, jobMode bool) (*resolvedSource, error) {
	src := c.Spec.Source
	if !jobMode && r.NoSecrets && needsSecret(c) {
		return nil, stalledf(v1alpha1.ReasonAccessDenied, "this operator is installed without access to Secrets (--read-secrets=false): run the computation as a Job (spec.execution.mode: Job), whose Pod reads them")
	}
	switch {
	case src.ConfigMap != nil:
		return r.configMapSource(ctx, c)
	case src.HTTP != nil:
		if err := sameNamespace(c, "spec.source.http.headersSecretRef", refNamespace(src.HTTP.HeadersSecretRef)); err != nil {
			return nil, err
		}
		if jobMode {
			return &resolvedSource{revision: specRevision("http:", src.HTTP)}, nil
		}
		if r.HTTPSource == nil {
			return nil, stalledf(v1alpha1.ReasonInvalidSpec, "spec.source.http is not supported by this operator build")
		}
		return r.HTTPSource(ctx, r.Client, c)
	case src.Postgres != nil:
		if err := sameNamespace(c, "spec.source.postgres.connectionSecretRef", src.Postgres.ConnectionSecretRef.Namespace); err != nil {
			return nil, err
		}
		if jobMode {
			return &resolvedSource{revision: specRevision("postgres:", src.Postgres, src.Columns)}, nil
		}
		if r.PostgresSource == nil {
			return nil, stalledf(v1alpha1.ReasonInvalidSpec, "spec.source.postgres is not supported by this operator build")
		}
		return r.PostgresSource(ctx, r.Client, c)
	}
	return nil, stalledf(v1alpha1.ReasonInvalidSpec, "spec.source: none of configMap, http or postgres is set")
}

func refNamespace(ref *v1alpha1.LocalObjectReference) string {
	if ref == nil {
		return ""
	}
	return ref.Namespace
}

// sameNamespace refuses references to other namespaces: a computation may read only its own
// namespace's Secrets, whoever is allowed to create it.
func sameNamespace(c *v1alpha1.LTVComputation, field, namespace string) error {
	if namespace != "" && namespace != c.Namespace {
		return stalledf(v1alpha1.ReasonAccessDenied, "%s: namespace %q is not the computation's namespace %q; references to other namespaces are refused", field, namespace, c.Namespace)
	}
	return nil
}

func (r *LTVComputationReconciler) configMapSource(ctx context.Context, c *v1alpha1.LTVComputation) (*resolvedSource, error) {
	ref := c.Spec.Source.ConfigMap
	var cm corev1.ConfigMap
	if err := r.Get(ctx, types.NamespacedName{Namespace: c.Namespace, Name: ref.Name}, &cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, waitingf("", v1alpha1.ReasonSourceNotFound, "ConfigMap %s/%s not found (spec.source.configMap.name); the computation runs when it appears", c.Namespace, ref.Name)
		}
		return nil, err
	}
	var data []byte
	if v, ok := cm.Data[ref.Key]; ok {
		data = []byte(v)
	} else if v, ok := cm.BinaryData[ref.Key]; ok {
		data = v
	} else {
		return nil, waitingf("configmap-version:"+cm.ResourceVersion, v1alpha1.ReasonSourceNotFound,
			"ConfigMap %s/%s has no key %q (spec.source.configMap.key); the computation runs when it appears", c.Namespace, ref.Name, ref.Key)
	}
	sum := sha256.Sum256(data)
	return &resolvedSource{
		source: pipeline.CSVSource{Open: func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}},
		revision: "sha256:" + hex.EncodeToString(sum[:]),
	}, nil
}

// specRevision identifies a source by its spec alone.
func specRevision(prefix string, parts ...any) string {
	b, _ := json.Marshal(parts)
	sum := sha256.Sum256(b)
	return prefix + hex.EncodeToString(sum[:8])
}

// needsSecret reports whether a computation's source or sink reads a Secret.
func needsSecret(c *v1alpha1.LTVComputation) bool {
	return len(secretsOf(c)) > 0
}
