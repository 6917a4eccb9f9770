package jobmode_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/controllers"
	"github.com/ltv-operator/ltv-operator/internal/jobrun"
	"github.com/ltv-operator/ltv-operator/internal/testutil/pgtest"
)

func rowsOf(t *testing.T, dsn, computation string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	must(t, err)
	defer conn.Close(ctx)
	var n int
	must(t, conn.QueryRow(ctx, "SELECT count(*) FROM analytics.customer_ltv WHERE computation = $1", computation).Scan(&n))
	return n
}

// A manager that may read no Secret (this suite's: no DeleteRows function) deletes a deleted
// computation's rows through a Job whose Pod gets the sink's connection string by reference,
// then lets the computation go.
func TestRowsDeletedByAJobWithoutSecretAccess(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	pgtest.Exec(t, dsn, "CREATE SCHEMA analytics")
	ctx := context.Background()
	stop := startManager(t)
	defer stop()
	ns := namespace(t, "delete-rows")
	must(t, k8s.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "scores", Namespace: ns}, StringData: map[string]string{"dsn": dsn}}))
	obj := computation(ns, "shop")
	obj.Spec.Output.Customers = &v1alpha1.CustomersOutput{Postgres: &v1alpha1.PostgresSink{
		ConnectionSecretRef: v1alpha1.SecretKeyReference{Name: "scores", Key: "dsn"}, Table: "analytics.customer_ltv"}}
	must(t, k8s.Create(ctx, obj))
	runPod(t, &waitJobs(t, obj, 1)[0])
	waitCondition(t, obj, v1alpha1.ConditionReady, metav1.ConditionTrue)
	if n := rowsOf(t, dsn, ns+"/shop"); n != 3 {
		t.Fatalf("%d rows after the run, want 3", n)
	}
	if !slices.Contains(get(t, obj).Finalizers, controllers.FinalizerCustomersRows) {
		t.Fatalf("no finalizer: %v", get(t, obj).Finalizers)
	}

	must(t, k8s.Delete(ctx, get(t, obj)))
	var cleanup batchv1.Job
	eventually(t, "the Job deleting the rows", func() bool {
		var list batchv1.JobList
		must(t, k8s.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{controllers.LabelPurpose: controllers.PurposeDeleteRows}))
		if len(list.Items) == 1 {
			cleanup = list.Items[0]
		}
		return len(list.Items) == 1
	})
	pod := cleanup.Spec.Template.Spec
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil || v.Secret != nil {
			t.Errorf("the Job mounts %s: it needs only the sink's connection string", v.Name)
		}
	}
	var ref *corev1.SecretKeySelector
	for _, e := range pod.Containers[0].Env {
		if e.Name == jobrun.EnvSinkDSN && e.ValueFrom != nil {
			ref = e.ValueFrom.SecretKeyRef
		}
	}
	if ref == nil || ref.Name != "scores" {
		t.Errorf("the sink's connection string is not passed by reference: %+v", pod.Containers[0].Env)
	}
	if n := rowsOf(t, dsn, ns+"/shop"); n != 3 {
		t.Errorf("rows deleted before the Job ran: %d", n)
	}
	runPod(t, &cleanup)
	eventually(t, "the computation gone", func() bool {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), &v1alpha1.LTVComputation{})
		return apierrors.IsNotFound(err)
	})
	if n := rowsOf(t, dsn, ns+"/shop"); n != 0 {
		t.Errorf("%d rows left", n)
	}
}
