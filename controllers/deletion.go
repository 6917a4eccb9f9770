package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/conditions"
	pgsink "github.com/ltv-operator/ltv-operator/internal/sink/postgres"
)

// FinalizerCustomersRows holds the deletion of a computation with a customers sink and
// deletionPolicy Delete until its rows are deleted from the table.
const FinalizerCustomersRows = "analytics.ltv-operator.io/customers-rows"

// DeleteRowsFunc deletes a computation's rows from its customers sink and names the table.
type DeleteRowsFunc func(ctx context.Context, c client.Client, obj *v1alpha1.LTVComputation) (string, error)

// wantsRowsFinalizer: the computation writes a customers table whose rows are deleted with it.
func wantsRowsFinalizer(obj *v1alpha1.LTVComputation) bool {
	o := obj.Spec.Output.Customers
	return o != nil && o.Postgres != nil && o.DeletionPolicy != v1alpha1.DeletionPolicyOrphan
}

// syncFinalizer adds the rows finalizer when the computation writes a customers table with
// deletionPolicy Delete, and removes it otherwise (Orphan, or no sink any more: the rows
// stay). A metadata patch with optimistic locking, so that others' finalizers are kept.
func (r *LTVComputationReconciler) syncFinalizer(ctx context.Context, obj *v1alpha1.LTVComputation) error {
	want := wantsRowsFinalizer(obj) && r.DeleteRows != nil
	if want == controllerutil.ContainsFinalizer(obj, FinalizerCustomersRows) {
		return nil
	}
	base := obj.DeepCopy()
	if want {
		controllerutil.AddFinalizer(obj, FinalizerCustomersRows)
	} else {
		controllerutil.RemoveFinalizer(obj, FinalizerCustomersRows)
	}
	err := r.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsConflict(err) {
		// Changed meanwhile: its update event reconciles it again.
		return errConflict
	}
	return err
}

// errConflict ends a reconcile that lost a write to someone else's: the object's update
// reconciles it again, so it is not an error.
var errConflict = errors.New("the computation changed during the reconcile")

// finalize runs when a computation is being deleted: its Jobs are deleted (a run's Pod writes
// the table in Job mode: it must be gone first), then its rows in the customers table, then
// the finalizer. A sink that cannot be reached is retried with backoff; Ready and a Warning
// Event (reason DeletionFailed) name the table and how to delete the computation without it.
func (r *LTVComputationReconciler) finalize(ctx context.Context, obj *v1alpha1.LTVComputation) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(obj, FinalizerCustomersRows) {
		return ctrl.Result{}, nil
	}
	log := logf.FromContext(ctx)
	if obj.Spec.Output.Customers == nil || obj.Spec.Output.Customers.DeletionPolicy == v1alpha1.DeletionPolicyOrphan {
		return ctrl.Result{}, r.removeFinalizer(ctx, obj)
	}
	if r.DeleteRows == nil {
		// This operator cannot read the sink's Secret (--read-secrets=false): the rows stay.
		msg := fmt.Sprintf("The rows of %s/%s in table %s are left: this operator cannot read Secrets (--read-secrets=false), so it cannot delete them",
			obj.Namespace, obj.Name, obj.Spec.Output.Customers.Postgres.Table)
		if r.Recorder != nil {
			r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, v1alpha1.ReasonDeletionFailed, "Delete", "%s", msg)
		}
		log.Info(msg)
		return ctrl.Result{}, r.removeFinalizer(ctx, obj)
	}
	if busy, err := r.stopRuns(ctx, obj); err != nil || busy {
		// Polled: a Pod's deletion is not watched.
		return ctrl.Result{RequeueAfter: 2 * time.Second}, err
	}
	table, err := r.DeleteRows(ctx, r.Client, obj)
	if err != nil {
		msg := fmt.Sprintf("Deleting the rows of %s/%s from table %s (spec.output.customers.deletionPolicy: Delete): %v; retried with backoff. "+
			"To delete the computation without deleting them, set spec.output.customers.deletionPolicy to Orphan or remove the finalizer %s",
			obj.Namespace, obj.Name, obj.Spec.Output.Customers.Postgres.Table, err, FinalizerCustomersRows)
		base := obj.DeepCopy()
		conditions.Setter{Conditions: &obj.Status.Conditions, Generation: obj.Generation}.Retrying(v1alpha1.ReasonDeletionFailed, msg)
		if !equalStatus(&base.Status, &obj.Status) {
			if perr := r.Status().Patch(ctx, obj, client.MergeFrom(base)); client.IgnoreNotFound(perr) != nil {
				log.Error(perr, "recording the deletion failure")
			}
			if r.Recorder != nil {
				r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, v1alpha1.ReasonDeletionFailed, "Delete", "%s", truncate(msg, 1024))
			}
		}
		// Retried with the controller's exponential backoff.
		return ctrl.Result{}, fmt.Errorf("%s: %s", v1alpha1.ReasonDeletionFailed, msg)
	}
	log.Info("deleted the computation's rows from its customers table", "table", table)
	return ctrl.Result{}, r.removeFinalizer(ctx, obj)
}

func (r *LTVComputationReconciler) removeFinalizer(ctx context.Context, obj *v1alpha1.LTVComputation) error {
	base := obj.DeepCopy()
	controllerutil.RemoveFinalizer(obj, FinalizerCustomersRows)
	return client.IgnoreNotFound(r.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})))
}

// stopRuns deletes the computation's Jobs and reports whether any of their Pods may still run
// (and write the table). InProcess runs were cancelled when the deletion began (goneHandler),
// and a reconcile never overlaps another of the same computation.
func (r *LTVComputationReconciler) stopRuns(ctx context.Context, obj *v1alpha1.LTVComputation) (bool, error) {
	if r.Jobs.APIReader == nil {
		return false, nil
	}
	owned := client.MatchingLabels{LabelComputationUID: string(obj.UID)}
	var jobs batchv1.JobList
	if err := r.Jobs.APIReader.List(ctx, &jobs, client.InNamespace(obj.Namespace), owned); err != nil {
		return false, err
	}
	for i := range jobs.Items {
		j := &jobs.Items[i]
		if metav1.IsControlledBy(j, obj) && j.DeletionTimestamp.IsZero() {
			if err := r.Delete(ctx, j, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				return false, err
			}
		}
	}
	var pods corev1.PodList
	if err := r.Jobs.APIReader.List(ctx, &pods, client.InNamespace(obj.Namespace), owned); err != nil {
		return false, err
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			return true, nil // stopped by the garbage collector with its Job
		}
	}
	return false, nil
}

// deletePostgresCustomers is the DeleteRowsFunc of spec.output.customers.postgres.
func deletePostgresCustomers(ctx context.Context, c client.Client, obj *v1alpha1.LTVComputation) (string, error) {
	spec := obj.Spec.Output.Customers.Postgres
	const field = "spec.output.customers.postgres.connectionSecretRef"
	if err := sameNamespace(obj, field, spec.ConnectionSecretRef.Namespace); err != nil {
		return "", err
	}
	dsn, _, err := connectionString(ctx, c, obj, spec.ConnectionSecretRef, field, "")
	if err != nil {
		return "", err
	}
	sink := &pgsink.Sink{DSN: dsn, Table: spec.Table, ConnectTimeout: sinkConnectTimeout}
	if _, err := sink.Delete(ctx, obj.Namespace+"/"+obj.Name); err != nil {
		return "", err
	}
	return spec.Table, nil
}
