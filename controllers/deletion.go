package controllers

import (
	"context"
	"encoding/json"
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
	"github.com/ltv-operator/ltv-operator/internal/jobrun"
	pgsink "github.com/ltv-operator/ltv-operator/internal/sink/postgres"
)

// FinalizerCustomersRows holds the deletion of a computation with a customers sink and
// deletionPolicy Delete until its rows are deleted from the table.
const FinalizerCustomersRows = "analytics.ltv-operator.io/customers-rows"

// LabelPurpose marks the Job that deletes a deleted computation's rows (PurposeDeleteRows),
// as opposed to its runs.
const (
	LabelPurpose      = "analytics.ltv-operator.io/purpose"
	PurposeDeleteRows = "delete-rows"
)

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
	want := wantsRowsFinalizer(obj) && (r.DeleteRows != nil || r.canRunJobs())
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

// errConflict ends a reconcile that lost a write to a newer version of the object: it is
// reconciled again shortly, so it is not an error.
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
	if (r.DeleteRows == nil || r.executionMode(obj) == v1alpha1.ExecutionJob) && r.canRunJobs() {
		// A Job-mode computation's Secrets are not the manager's to read, and with
		// --read-secrets=false it cannot: a Job's Pod, which gets the sink's by reference as
		// runs do, deletes the rows.
		return r.deleteRowsInJob(ctx, obj)
	}
	if r.DeleteRows == nil {
		// No Secret access and no Job image: the rows stay.
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
		return ctrl.Result{}, r.deletionFailed(ctx, obj, err)
	}
	log.Info("deleted the computation's rows from its customers table", "table", table)
	return ctrl.Result{}, r.removeFinalizer(ctx, obj)
}

// deletionFailed records that the rows cannot be deleted yet (Ready, a Warning Event naming
// the table and how to force the deletion) and returns the error that retries it with the
// controller's exponential backoff.
func (r *LTVComputationReconciler) deletionFailed(ctx context.Context, obj *v1alpha1.LTVComputation, err error) error {
	msg := fmt.Sprintf("Deleting the rows of %s/%s from table %s (spec.output.customers.deletionPolicy: Delete): %v; retried with backoff. "+
		"To delete the computation without deleting them, set spec.output.customers.deletionPolicy to Orphan or remove the finalizer %s",
		obj.Namespace, obj.Name, obj.Spec.Output.Customers.Postgres.Table, err, FinalizerCustomersRows)
	base := obj.DeepCopy()
	conditions.Setter{Conditions: &obj.Status.Conditions, Generation: obj.Generation}.Retrying(v1alpha1.ReasonDeletionFailed, msg)
	if !equalStatus(&base.Status, &obj.Status) {
		if perr := r.Status().Patch(ctx, obj, client.MergeFrom(base)); client.IgnoreNotFound(perr) != nil {
			logf.FromContext(ctx).Error(perr, "recording the deletion failure")
		}
		if r.Recorder != nil {
			r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, v1alpha1.ReasonDeletionFailed, "Delete", "%s", truncate(msg, 1024))
		}
	}
	return fmt.Errorf("%s: %s", v1alpha1.ReasonDeletionFailed, msg)
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
		if metav1.IsControlledBy(j, obj) && j.DeletionTimestamp.IsZero() && j.Labels[LabelPurpose] != PurposeDeleteRows {
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
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.Labels[LabelPurpose] != PurposeDeleteRows {
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

// canRunJobs: the operator can start Jobs (it has an image for them).
func (r *LTVComputationReconciler) canRunJobs() bool {
	return r.Jobs.Image != "" && r.Jobs.Results != nil && r.Jobs.APIReader != nil
}

// deleteRowsInJob deletes the rows through a Job when the manager may read no Secret: the Pod
// gets the sink's connection string by reference (secretKeyRef) and runs `manager job` with
// DeleteRows; its exit code is the answer. One such Job at a time; a failed one is named in
// Ready and an Event, deleted, and retried with backoff.
func (r *LTVComputationReconciler) deleteRowsInJob(ctx context.Context, obj *v1alpha1.LTVComputation) (ctrl.Result, error) {
	poll := r.Jobs.Poll
	if poll <= 0 {
		poll = defaultJobPoll
	}
	if busy, err := r.stopRuns(ctx, obj); err != nil || busy {
		return ctrl.Result{RequeueAfter: 2 * time.Second}, err
	}
	var jobs batchv1.JobList
	if err := r.Jobs.APIReader.List(ctx, &jobs, client.InNamespace(obj.Namespace),
		client.MatchingLabels{LabelComputationUID: string(obj.UID), LabelPurpose: PurposeDeleteRows}); err != nil {
		return ctrl.Result{}, err
	}
	for i := range jobs.Items {
		j := &jobs.Items[i]
		if !metav1.IsControlledBy(j, obj) || !j.DeletionTimestamp.IsZero() {
			continue
		}
		succeeded, finished := jobFinished(j)
		switch {
		case !finished:
			return ctrl.Result{RequeueAfter: poll}, nil
		case succeeded:
			logf.FromContext(ctx).Info("Job deleted the computation's rows from its customers table", "job", j.Name)
			return ctrl.Result{}, r.removeFinalizer(ctx, obj)
		}
		if err := r.Delete(ctx, j, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, r.deletionFailed(ctx, obj, fmt.Errorf("Job %s failed (kubectl logs job/%s says why)", j.Name, j.Name))
	}
	job, err := r.buildDeleteRowsJob(obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.Create(ctx, job); err != nil && !apierrors.IsAlreadyExists(err) {
		return ctrl.Result{}, r.deletionFailed(ctx, obj, fmt.Errorf("creating Job %s: %w", job.Name, err))
	}
	return ctrl.Result{RequeueAfter: poll}, nil
}

// buildDeleteRowsJob is a run's Job reduced to deleting the rows: the sink's connection string
// by reference, no source.
func (r *LTVComputationReconciler) buildDeleteRowsJob(obj *v1alpha1.LTVComputation) (*batchv1.Job, error) {
	now := metav1.NewTime(r.Clock.Now())
	name := jobName(obj, now.Time)
	spec := &jobrun.Spec{Namespace: obj.Namespace, Name: obj.Name, UID: string(obj.UID), Job: name, Spec: obj.Spec, DeleteRows: true}
	job, err := r.buildJob(obj, spec, &v1alpha1.RunRecord{Trigger: "Delete", ScheduledTime: &now}, "")
	if err != nil {
		return nil, err
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	job.Labels[LabelPurpose] = PurposeDeleteRows
	job.Spec.Template.Labels = job.Labels
	pod := &job.Spec.Template.Spec
	pod.Volumes = []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	c := &pod.Containers[0]
	c.VolumeMounts = []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}}
	c.Env = []corev1.EnvVar{{Name: jobrun.EnvRun, Value: string(specJSON)}, secretEnv(jobrun.EnvSinkDSN, obj.Spec.Output.Customers.Postgres.ConnectionSecretRef)}
	return job, nil
}
