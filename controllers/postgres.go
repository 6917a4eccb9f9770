package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/plan"
	pgsink "github.com/ltv-operator/ltv-operator/internal/sink/postgres"
	pgsource "github.com/ltv-operator/ltv-operator/internal/source/postgres"
)

// sinkConnectTimeout bounds the connection to the customers sink's database; the run's timeout
// bounds the rest.
const sinkConnectTimeout = 30 * time.Second

// connectionString reads a connection string from a Secret key in the computation's namespace
// (resolveSource and resolvePostgresSink have refused other namespaces). It returns the
// Secret's resourceVersion; a missing Secret or key is a waiting *runError (the Secret watch
// re-runs the computation when it appears). Nothing of the Secret's content enters an error.
func connectionString(ctx context.Context, c client.Client, obj *v1alpha1.LTVComputation, ref v1alpha1.SecretKeyReference, field, revision string) (dsn, version string, err error) {
	var secret corev1.Secret
	if err := c.Get(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: ref.Name}, &secret); err != nil {
		if apierrors.IsNotFound(err) {
			return "", "", waitingf(revision+";secret:none", v1alpha1.ReasonSourceNotFound,
				"Secret %s/%s not found (%s); the computation runs when it appears", obj.Namespace, ref.Name, field)
		}
		return "", "", err
	}
	v, ok := secret.Data[ref.Key]
	if !ok || len(strings.TrimSpace(string(v))) == 0 {
		what := "has no key"
		if ok {
			what = "has an empty key"
		}
		return "", "", waitingf(revision+";secret-version:"+secret.ResourceVersion, v1alpha1.ReasonSourceNotFound,
			"Secret %s/%s %s %q (%s.key); the computation runs when it is set", obj.Namespace, ref.Name, what, ref.Key, field)
	}
	return strings.TrimSpace(string(v)), secret.ResourceVersion, nil
}

// resolvePostgresSource resolves spec.source.postgres: the connection string from its Secret
// and the source, which connects only when the run starts (so that a database that is down is
// a run failure, retried with backoff).
//
// The revision is the source's spec and the Secret's resourceVersion: new rows in the table
// are read on schedule or on request; a change of the spec or of the Secret (a new password)
// re-runs the computation.
func resolvePostgresSource(ctx context.Context, c client.Client, obj *v1alpha1.LTVComputation) (*resolvedSource, error) {
	spec := obj.Spec.Source.Postgres
	specJSON, _ := json.Marshal(struct {
		*v1alpha1.PostgresSource
		Columns v1alpha1.Columns
	}{spec, obj.Spec.Source.Columns})
	sum := sha256.Sum256(specJSON)
	revision := "postgres:" + hex.EncodeToString(sum[:8])

	dsn, version, err := connectionString(ctx, c, obj, spec.ConnectionSecretRef, "spec.source.postgres.connectionSecretRef", revision)
	if err != nil {
		return nil, err
	}
	revision += ";secret-version:" + version
	if spec.Table != "" {
		if _, err := pgsource.ParseTableName(spec.Table); err != nil {
			return nil, &runError{kind: kindStalled, reason: v1alpha1.ReasonInvalidSpec, revision: revision, err: fmt.Errorf("spec.source.postgres.table: %w", err)}
		}
	}
	src := &pgsource.Source{DSN: dsn, Table: spec.Table, Query: spec.Query, Mode: pgsource.Mode(plan.PostgresMode(spec))}
	if spec.TimeoutSeconds != nil {
		src.Timeout = time.Duration(*spec.TimeoutSeconds) * time.Second
	}
	return &resolvedSource{source: src, revision: revision}, nil
}

// writePostgresCustomers is the CustomersSinkFunc of spec.output.customers.postgres: every
// customer's scores into the table, replacing the computation's previous rows atomically.
//
// A reference to another namespace and an invalid table name are stalled (*runError).
// Everything else, a missing Secret or a wrong password included, is retried with backoff:
// the run's revision does not follow the sink's Secret, so a permanent failure would not be
// retried when the Secret is fixed, while a retry is (the Secret watch re-queues the
// computation at once).
func writePostgresCustomers(ctx context.Context, c client.Client, obj *v1alpha1.LTVComputation, scores *pipeline.Scores, computedAt time.Time) (string, error) {
	spec := obj.Spec.Output.Customers.Postgres
	if spec == nil {
		return "", stalledf(v1alpha1.ReasonInvalidSpec, "spec.output.customers: postgres is not set")
	}
	const field = "spec.output.customers.postgres.connectionSecretRef"
	if err := sameNamespace(obj, field, spec.ConnectionSecretRef.Namespace); err != nil {
		return "", err
	}
	if _, err := pgsource.ParseTableName(spec.Table); err != nil {
		return "", stalledf(v1alpha1.ReasonInvalidSpec, "spec.output.customers.postgres.table: %w", err)
	}
	dsn, _, err := connectionString(ctx, c, obj, spec.ConnectionSecretRef, field, "")
	if err != nil {
		if re := asRunError(err); re != nil {
			return "", re.err // retried: see above
		}
		return "", err
	}
	sink := &pgsink.Sink{DSN: dsn, Table: spec.Table, ConnectTimeout: sinkConnectTimeout}
	if _, err := sink.Write(ctx, obj.Namespace+"/"+obj.Name, computedAt, scores.Rows); err != nil {
		return "", err
	}
	return spec.Table, nil
}
