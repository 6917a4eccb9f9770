package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/conditions"
	"github.com/ltv-operator/ltv-operator/internal/plan"
	"github.com/ltv-operator/ltv-operator/internal/report"
	"github.com/ltv-operator/ltv-operator/internal/runpolicy"
)

// summarizeAndPatch is the one place that records a reconcile: conditions, the run record,
// the Event, metrics, status.lastAttemptedRevision, the status patch and the requeue. err is
// what the steps returned: a *runError is recorded; any other error (an API error) leaves
// status alone and is retried with backoff.
func (s *scope) summarizeAndPatch(ctx context.Context, err error) (ctrl.Result, error) {
	if goneDuring(ctx, err) {
		// Deleted during the reconcile: the run stopped; status, Events and the results
		// ConfigMap are not written for an object that is gone.
		logf.FromContext(ctx).Info("computation deleted during its run: the run is stopped and nothing is recorded")
		return ctrl.Result{}, nil
	}
	re := asRunError(err)
	if err != nil && re == nil {
		return ctrl.Result{}, err
	}
	switch {
	case s.pending != "" && re == nil:
		return s.inFlight(ctx)
	case s.run != nil:
		s.finishRun(ctx, re)
	case re != nil:
		s.refuse(re)
	default:
		s.idle()
	}
	s.trimHistory()
	if err := s.patch(ctx); err != nil {
		return ctrl.Result{}, err
	}
	if s.job != nil && s.run != nil {
		s.r.markJobRecorded(ctx, s.job)
	}
	if re != nil && re.kind == kindTransient && s.run != nil {
		// Retried after the backoff kept in status.nextRetryTime, not the controller's, which
		// starts within milliseconds and forgets its count when the operator restarts.
		return ctrl.Result{RequeueAfter: max(time.Second, retryAt(s.obj).Sub(s.r.Clock.Now()))}, nil
	}
	if re != nil && re.kind == kindTransient {
		// Returning an error retries with the controller's exponential backoff.
		return ctrl.Result{}, fmt.Errorf("%s: %s", re.reason, s.failureMessage(re))
	}
	return s.requeue(), nil
}

// finishRun records the run that ended: its result, or its failure with the last good result
// kept.
func (s *scope) finishRun(ctx context.Context, re *runError) {
	obj, run := s.obj, s.run
	done := metav1.NewTime(s.r.Clock.Now())
	run.CompletionTime = &done
	obj.Status.LastAttemptedRevision = s.runRevision
	if s.request != "" {
		obj.Status.LastHandledReconcileAt = s.request
	}
	log := logf.FromContext(ctx)
	obj.Status.NextRetryTime = nil
	if re != nil {
		obj.Status.Failures++
		if re.kind == kindTransient {
			// Retried after a backoff over the consecutive failures, kept in status.
			next := s.r.backoff().NextRetry(done.Time, obj.Status.Failures)
			obj.Status.NextRetryTime = &metav1.Time{Time: next}
		}
		run.Reason, run.Message = re.reason, truncate(re.Error(), 1024)
		s.addRun(*run)
		msg := s.failureMessage(re)
		setFailure(s.conds, re, msg)
		s.event(corev1.EventTypeWarning, re.reason, msg)
		s.recordMetrics(nil, re.reason)
		log.Info("run failed", "trigger", run.Trigger, "reason", re.reason, "message", msg)
		return
	}
	obj.Status.Failures = 0
	previous := obj.Status.Result
	obj.Status.Result = statusResult(s.res, s.configMap, s.table)
	obj.Status.LastSuccessfulTime = &metav1.Time{Time: s.res.ComputedAt}
	run.Succeeded, run.Customers, run.AverageLTV, run.Reason = true, s.res.Customers, obj.Status.Result.AverageLTV, v1alpha1.ReasonSucceeded
	s.addRun(*run)
	msg := successMessage(obj.Status.Result)
	s.conds.Ready(v1alpha1.ReasonSucceeded, msg)
	s.event(corev1.EventTypeNormal, v1alpha1.ReasonSucceeded, msg)
	s.checkDrift(previous, s.res)
	s.recordMetrics(s.res, v1alpha1.ReasonSucceeded)
	log.Info("run succeeded", "trigger", run.Trigger, "customers", s.res.Customers, "averageLTV", s.res.AverageLTV)
}

// inFlight records a run without an outcome yet (a Job running or queued) and looks again
// after the poll interval; the Job's own events usually come first.
func (s *scope) inFlight(ctx context.Context) (ctrl.Result, error) {
	reason := v1alpha1.ReasonProgressing
	if s.queued {
		reason = v1alpha1.ReasonQueued
	}
	s.conds.Progressing(reason, s.pending)
	if err := s.patch(ctx); err != nil {
		return ctrl.Result{}, err
	}
	poll := s.r.Jobs.Poll
	if poll <= 0 {
		poll = defaultJobPoll
	}
	return ctrl.Result{RequeueAfter: poll}, nil
}

// refuse records an error found before any run (an invalid schedule): whatever the fix, the
// next valid reconcile runs again and rewrites the conditions.
func (s *scope) refuse(re *runError) {
	obj := s.obj
	obj.Status.LastAttemptedRevision = ""
	if r := obj.Annotations[v1alpha1.RequestedAtAnnotation]; r != "" {
		obj.Status.LastHandledReconcileAt = r // handled: by refusing
	}
	already := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady)
	msg := re.Error()
	setFailure(s.conds, re, msg)
	if already == nil || already.Reason != re.reason || already.Message != msg {
		// Once per distinct problem, not on every reconcile.
		s.event(corev1.EventTypeWarning, re.reason, msg)
	}
}

// idle records a reconcile that started no run.
func (s *scope) idle() {
	obj := s.obj
	switch s.decision.Idle {
	case runpolicy.IdleSuspended:
		if obj.Status.Result != nil {
			s.conds.Ready(v1alpha1.ReasonSuspended, "Suspended: no scheduled runs; status shows the last result")
		} else {
			s.conds.Waiting(v1alpha1.ReasonSuspended, "Suspended before the first run")
		}
		return
	case runpolicy.IdleBackoff:
		return // the failure's conditions stand until the retry
	case runpolicy.IdleResumed:
		s.conds.Ready(v1alpha1.ReasonSucceeded, successMessage(obj.Status.Result))
	}
	// The new generation changed nothing a run depends on (history limit, alerts, schedule):
	// the conditions still hold for it.
	for i, c := range obj.Status.Conditions {
		switch c.Type {
		case v1alpha1.ConditionReady, v1alpha1.ConditionReconciling, v1alpha1.ConditionStalled:
			obj.Status.Conditions[i].ObservedGeneration = obj.Generation
		}
	}
}

// setFailure sets the conditions of a failure of the given kind.
func setFailure(c conditions.Setter, re *runError, msg string) {
	switch re.kind {
	case kindStalled:
		c.Stalled(re.reason, msg)
	case kindWaiting:
		c.Waiting(re.reason, msg)
	default:
		c.Retrying(re.reason, msg)
	}
}

func (s *scope) failureMessage(re *runError) string {
	if s.obj.Status.Result != nil && s.run != nil {
		return re.Error() + " (the previous result is kept)"
	}
	return re.Error()
}

// successMessage is Ready's message after a successful run.
func successMessage(r *v1alpha1.ComputationResult) string {
	msg := fmt.Sprintf("Computed %s LTV of %d customers: average %s %s, total %s %s", r.Model.Type, r.Customers,
		r.AverageLTV, r.Currency, r.TotalLTV, r.Currency)
	if r.LTVToCAC != "" {
		msg += ", LTV:CAC " + r.LTVToCAC
	}
	return msg
}

func (s *scope) addRun(run v1alpha1.RunRecord) {
	s.obj.Status.RecentRuns = append([]v1alpha1.RunRecord{run}, s.obj.Status.RecentRuns...)
}

// trimHistory applies spec.runHistoryLimit, also when it was lowered without a run.
func (s *scope) trimHistory() {
	limit := plan.DefaultRunHistoryLimit
	if l := s.obj.Spec.RunHistoryLimit; l != nil && *l > 0 {
		limit = int(*l)
	}
	if len(s.obj.Status.RecentRuns) > limit {
		s.obj.Status.RecentRuns = s.obj.Status.RecentRuns[:limit]
	}
}

// requeue wakes the computation at its next scheduled time, or when a retry's backoff ends.
func (s *scope) requeue() ctrl.Result {
	if s.decision.Idle == runpolicy.IdleBackoff && !s.decision.Run() && !s.in.RetryAt.IsZero() {
		wait := max(time.Second, s.in.RetryAt.Sub(s.r.Clock.Now()))
		if s.sched == nil || s.obj.Status.NextScheduleTime == nil || s.next.Sub(s.r.Clock.Now()) > wait {
			return ctrl.Result{RequeueAfter: wait}
		}
	}
	if s.sched == nil || s.obj.Status.NextScheduleTime == nil {
		return ctrl.Result{}
	}
	wait := s.next.Sub(s.r.Clock.Now())
	if wait < time.Second {
		wait = time.Second
	}
	return ctrl.Result{RequeueAfter: wait}
}

// patch writes the status when it changed, as a merge patch against the last write.
func (s *scope) patch(ctx context.Context) error {
	if equalStatus(&s.base.Status, &s.obj.Status) {
		return nil
	}
	if err := s.r.Status().Patch(ctx, s.obj, client.MergeFrom(s.base)); err != nil {
		if apierrors.IsNotFound(err) {
			return errGone // deleted since it was read: not an error
		}
		return err
	}
	s.base = s.obj.DeepCopy()
	return nil
}

func (s *scope) event(eventType, reason, message string) {
	if s.r.Recorder == nil {
		return
	}
	s.r.Recorder.Eventf(s.obj, nil, eventType, reason, "Reconcile", "%s", truncate(message, 1024))
}

func (s *scope) recordMetrics(res *report.Result, reason string) {
	if s.r.Metrics != nil {
		s.r.Metrics.RunFinished(s.obj, res, reason, time.Since(s.started))
	}
}
