package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	httpsource "github.com/ltv-operator/ltv-operator/internal/source/http"
)

// resolveHTTPSource resolves spec.source.http: the headers Secret (from the computation's namespace;
// resolveSource has refused other namespaces) and the source.
//
// The revision is the spec of the source and the Secret's resourceVersion: the file's ETag or
// Last-Modified would need a request, so a new file at the same URL is read on schedule or on
// request, and a change of the spec or of the Secret re-runs the computation.
func resolveHTTPSource(ctx context.Context, c client.Client, obj *v1alpha1.LTVComputation) (*resolvedSource, error) {
	spec := obj.Spec.Source.HTTP
	specJSON, _ := json.Marshal(spec)
	sum := sha256.Sum256(specJSON)
	revision := "http:" + hex.EncodeToString(sum[:8])

	var headers map[string]string
	if ref := spec.HeadersSecretRef; ref != nil {
		var secret corev1.Secret
		if err := c.Get(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: ref.Name}, &secret); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, waitingf(revision+";secret:none", v1alpha1.ReasonSourceNotFound,
					"Secret %s/%s not found (spec.source.http.headersSecretRef); the computation runs when it appears", obj.Namespace, ref.Name)
			}
			return nil, err
		}
		revision += ";secret-version:" + secret.ResourceVersion
		headers = make(map[string]string, len(secret.Data))
		for k, v := range secret.Data {
			headers[k] = string(v)
		}
	}

	cfg := httpsource.Config{URL: spec.URL, Format: httpsource.Format(spec.Format), Headers: headers}
	if spec.MaxBytes != nil {
		cfg.MaxBytes = *spec.MaxBytes
	}
	if spec.TimeoutSeconds != nil {
		cfg.Timeout = time.Duration(*spec.TimeoutSeconds) * time.Second
	}
	src, err := httpsource.New(cfg)
	if err != nil {
		reason := v1alpha1.ReasonInvalidSpec
		var pe *pipeline.Error
		if errors.As(err, &pe) {
			reason = pe.Reason
		}
		kind := kindStalled
		if reason == v1alpha1.ReasonSourceUnavailable {
			kind = kindTransient
		}
		return nil, &runError{kind: kind, reason: reason, revision: revision, err: err}
	}
	return &resolvedSource{source: src, revision: revision}, nil
}
