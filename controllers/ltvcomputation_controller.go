// Package controllers reconciles LTVComputations and CustomerSegments. Controllers decide when to
// run and record the outcome; the computation itself is internal/pipeline.
package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/plan"
	"github.com/ltv-operator/ltv-operator/internal/report"
	"github.com/ltv-operator/ltv-operator/internal/schedule"
)

// Run triggers, recorded in status.recentRuns.
const (
	TriggerChange   = "Change"
	TriggerRequest  = "Request"
	TriggerSchedule = "Schedule"
)

// SourceFunc resolves a source kind that needs more than the API server (HTTP, PostgreSQL).
type SourceFunc func(ctx context.Context, c client.Client, obj *v1alpha1.LTVComputation) (*resolvedSource, error)

// CustomersSinkFunc writes every customer's scores; it returns the table written.
type CustomersSinkFunc func(ctx context.Context, c client.Client, obj *v1alpha1.LTVComputation, scores *pipeline.Scores, computedAt time.Time) (string, error)

// LTVComputationReconciler runs LTVComputations when they are created or changed, when their
// data or segments change, on request and on schedule, and records the outcome.
type LTVComputationReconciler struct {
	client.Client
	Scheme   *runtime.Scheme
	Recorder events.EventRecorder
	// Clock is injected so tests control time.
	Clock clock.PassiveClock
	// RunTimeout bounds one run.
	RunTimeout time.Duration
	// HTTPSource and PostgresSource resolve those source kinds; nil refuses them.
	HTTPSource     SourceFunc
	PostgresSource SourceFunc
	// CustomersSink writes output.customers; nil refuses it.
	CustomersSink CustomersSinkFunc
	// Metrics records run outcomes; nil records nothing.
	Metrics MetricsRecorder
	// Wakeup, when set, makes the controller look at the computations sent on it. Tests that
	// step a fake Clock use it: RequeueAfter waits in real time.
	Wakeup <-chan event.GenericEvent
}

// MetricsRecorder receives the outcome of every run.
type MetricsRecorder interface {
	// RunFinished records a run; res is nil when it failed (reason says why).
	RunFinished(obj *v1alpha1.LTVComputation, res *report.Result, reason string, duration time.Duration)
	// Observe is called on every reconcile: it publishes the last result from status when the
	// recorder has none for the computation (after the operator restarted).
	Observe(obj *v1alpha1.LTVComputation)
	// Forget drops the series of a deleted computation.
	Forget(namespace, name string)
}

// +kubebuilder:rbac:groups=analytics.ltv-operator.io,resources=ltvcomputations,verbs=get;list;watch
// +kubebuilder:rbac:groups=analytics.ltv-operator.io,resources=ltvcomputations/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=analytics.ltv-operator.io,resources=customersegments,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Reconcile decides whether a run is due, runs it and records the outcome.
func (r *LTVComputationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var obj v1alpha1.LTVComputation
	if err := r.Get(ctx, req.NamespacedName, &obj); err != nil {
		if client.IgnoreNotFound(err) == nil && r.Metrics != nil {
			r.Metrics.Forget(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	if r.Metrics != nil {
		r.Metrics.Observe(&obj)
	}
	s := &runState{r: r, obj: &obj, base: obj.DeepCopy(), now: r.Clock.Now()}
	s.conds = conditionSetter{conditions: &obj.Status.Conditions, generation: obj.Generation}
	return s.reconcile(ctx)
}

// runState is one reconcile of one computation.
type runState struct {
	r     *LTVComputationReconciler
	obj   *v1alpha1.LTVComputation
	base  *v1alpha1.LTVComputation // last state written, for merge patches
	conds conditionSetter
	now   time.Time

	sched *schedule.Schedule
	next  time.Time
	// started is when the run began (wall clock, for the duration metric).
	started time.Time
	// request is the requestedAt value the run answers, if any.
	request string
}

func (s *runState) reconcile(ctx context.Context) (ctrl.Result, error) {
	obj := s.obj
	obj.Status.ObservedGeneration = obj.Generation
	suspended := obj.Spec.Suspend != nil && *obj.Spec.Suspend

	var scheduledAt *time.Time
	if obj.Spec.Schedule != "" {
		sched, err := schedule.Parse(obj.Spec.Schedule, deref(obj.Spec.TimeZone))
		if err == nil {
			last := obj.CreationTimestamp.Time
			if obj.Status.LastScheduleTime != nil {
				last = obj.Status.LastScheduleTime.Time
			}
			var deadline *time.Duration
			if d := obj.Spec.StartingDeadlineSeconds; d != nil {
				dd := time.Duration(*d) * time.Second
				deadline = &dd
			}
			scheduledAt, s.next, err = sched.Due(s.now, last, deadline)
		}
		if err != nil {
			obj.Status.NextScheduleTime = nil
			// Whatever the fix, the next valid reconcile runs again and rewrites the conditions.
			obj.Status.LastAttemptedRevision = ""
			if r := obj.Annotations[v1alpha1.RequestedAtAnnotation]; r != "" {
				obj.Status.LastHandledReconcileAt = r // handled: by refusing the schedule
			}
			already := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionStalled)
			s.conds.stalled(v1alpha1.ReasonInvalidSchedule, err.Error())
			if already == nil || already.Reason != v1alpha1.ReasonInvalidSchedule || already.Message != err.Error() {
				// Once per distinct problem, not on every reconcile.
				s.event(corev1.EventTypeWarning, v1alpha1.ReasonInvalidSchedule, err.Error())
			}
			return ctrl.Result{}, s.patchStatus(ctx)
		}
		s.sched = sched
		if suspended {
			scheduledAt = nil
			obj.Status.NextScheduleTime = nil
		} else {
			obj.Status.NextScheduleTime = &metav1.Time{Time: s.next}
		}
	} else {
		obj.Status.NextScheduleTime = nil
	}

	requested := obj.Annotations[v1alpha1.RequestedAtAnnotation]
	requestPending := requested != "" && requested != obj.Status.LastHandledReconcileAt

	segments, segmentsRevision, err := s.r.selectedSegments(ctx, obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	src, srcErr := s.r.resolveSource(ctx, obj)
	var sourceErr *sourceError
	if srcErr != nil && !errors.As(srcErr, &sourceErr) {
		return ctrl.Result{}, srcErr // an API error: retried with backoff
	}
	dataRevision := ""
	switch {
	case src != nil:
		dataRevision = src.revision
	case sourceErr != nil:
		dataRevision = sourceErr.revision
	}
	revision := fmt.Sprintf("spec=%s;data=%s;segments=%s%s", inputsDigest(&obj.Spec), dataRevision, segmentsRevision, s.r.sinkRevision(ctx, obj))

	// Resumed: the conditions still say Suspended. When the last run succeeded its result
	// stands and Ready says so again; otherwise the run is repeated to find out.
	resumed := !suspended && hasReason(obj.Status.Conditions, v1alpha1.ConditionReady, v1alpha1.ReasonSuspended)
	lastSucceeded := obj.Status.Result != nil && len(obj.Status.RecentRuns) > 0 && obj.Status.RecentRuns[0].Succeeded

	var trigger string
	switch {
	case scheduledAt != nil:
		// A due slot also answers a pending request: one run, and the slot is not lost.
		trigger = TriggerSchedule
	case requestPending:
		trigger = TriggerRequest
	case resumed && !lastSucceeded:
		trigger = TriggerChange
	case revision != obj.Status.LastAttemptedRevision && !suspended:
		trigger = TriggerChange
	case obj.Status.Result != nil && !suspended && !s.r.resultsConfigMapExists(ctx, obj):
		// Someone deleted the published results: publish them again.
		trigger = TriggerChange
	}
	if trigger == "" {
		if suspended {
			s.markSuspended()
		} else {
			if resumed {
				s.conds.ready(v1alpha1.ReasonSucceeded, successMessage(obj.Status.Result))
			}
			// The new generation changed nothing a run depends on (history limit, alerts,
			// schedule): the conditions still hold for it.
			for i, c := range obj.Status.Conditions {
				switch c.Type {
				case v1alpha1.ConditionReady, v1alpha1.ConditionReconciling, v1alpha1.ConditionStalled:
					obj.Status.Conditions[i].ObservedGeneration = obj.Generation
				}
			}
		}
		s.trimHistory()
		return s.requeue(), s.patchStatus(ctx)
	}

	nominal := s.now
	switch {
	case trigger == TriggerSchedule:
		nominal = *scheduledAt
		obj.Status.LastScheduleTime = &metav1.Time{Time: nominal}
	case trigger == TriggerChange && obj.Status.LastScheduleTime != nil:
		// A changed spec or data (or a retry) re-runs the last scheduled slot, so it answers
		// for that slot.
		nominal = obj.Status.LastScheduleTime.Time
	case trigger == TriggerChange && s.sched != nil:
		// No slot ran yet: answer for the schedule's latest slot, as a scheduled run would
		// have, so that re-runs before the first scheduled one agree.
		if prev := s.sched.Prev(s.now); !prev.IsZero() {
			nominal = prev
		}
	}
	if requestPending {
		// Echoed when the run ends, so that a client waiting for lastHandledReconcileAt
		// knows its run finished (as with Flux's own kinds).
		s.request = requested
	}
	s.started = time.Now()
	run := v1alpha1.RunRecord{Trigger: trigger, StartTime: metav1.Time{Time: s.now}, ScheduledTime: &metav1.Time{Time: nominal}}

	if sourceErr != nil {
		permanent := !sourceErr.waiting && sourceErr.reason != v1alpha1.ReasonSourceUnavailable
		if permanent || sourceErr.waiting {
			obj.Status.LastAttemptedRevision = revision
		} else {
			// Retried with backoff: the retry must find something to do.
			obj.Status.LastAttemptedRevision = ""
		}
		return s.fail(ctx, run, sourceErr.reason, sourceErr.err.Error(), permanent, sourceErr.waiting)
	}

	s.conds.progressing(v1alpha1.ReasonProgressing, fmt.Sprintf("Run started (%s)", strings.ToLower(trigger)))
	if err := s.patchStatus(ctx); err != nil {
		return ctrl.Result{}, err
	}

	var loc *time.Location
	if s.sched != nil {
		loc = s.sched.Location()
	}
	end, err := plan.ObservationEnd(&obj.Spec, nominal, loc)
	if err != nil {
		obj.Status.LastAttemptedRevision = revision
		return s.fail(ctx, run, v1alpha1.ReasonInvalidSpec, err.Error(), true, false)
	}
	cfg, err := plan.Config(&obj.Spec, end, segments)
	if err != nil {
		pe := pipeline.Classify(err)
		obj.Status.LastAttemptedRevision = revision
		return s.fail(ctx, run, pe.Reason, pe.Error(), pe.Permanent, false)
	}
	cfg.Now = s.r.Clock.Now
	runCtx, cancel := context.WithTimeout(ctx, s.r.runTimeout())
	defer cancel()
	res, scores, err := pipeline.Run(runCtx, cfg, src.source)
	if err != nil {
		pe := pipeline.Classify(err)
		if pe.Permanent {
			obj.Status.LastAttemptedRevision = revision
		} else {
			obj.Status.LastAttemptedRevision = ""
		}
		return s.fail(ctx, run, pe.Reason, pe.Error(), pe.Permanent, false)
	}

	table := ""
	if obj.Spec.Output.Customers != nil {
		if s.r.CustomersSink == nil {
			obj.Status.LastAttemptedRevision = revision
			return s.fail(ctx, run, v1alpha1.ReasonInvalidSpec, "spec.output.customers is not supported by this operator build", true, false)
		}
		table, err = s.r.CustomersSink(runCtx, s.r.Client, obj, scores, res.ComputedAt)
		if err != nil {
			var se *sourceError
			if errors.As(err, &se) {
				obj.Status.LastAttemptedRevision = revision
				return s.fail(ctx, run, se.reason, se.err.Error(), true, false)
			}
			obj.Status.LastAttemptedRevision = ""
			return s.fail(ctx, run, v1alpha1.ReasonSinkFailed, "writing spec.output.customers: "+err.Error(), false, false)
		}
	}
	cmName, err := s.r.writeResultsConfigMap(ctx, obj, res)
	if err != nil {
		var se *sourceError
		if errors.As(err, &se) {
			// The name is taken by someone else's ConfigMap: retrying cannot help.
			obj.Status.LastAttemptedRevision = revision
			return s.fail(ctx, run, se.reason, se.err.Error(), true, false)
		}
		obj.Status.LastAttemptedRevision = ""
		return s.fail(ctx, run, v1alpha1.ReasonSinkFailed, "writing the results ConfigMap: "+err.Error(), false, false)
	}
	obj.Status.LastAttemptedRevision = revision
	return s.succeed(ctx, run, res, cmName, table)
}

func (s *runState) succeed(ctx context.Context, run v1alpha1.RunRecord, res *report.Result, cmName, table string) (ctrl.Result, error) {
	obj := s.obj
	previous := obj.Status.Result
	obj.Status.Result = statusResult(res, cmName, table)
	obj.Status.LastSuccessfulTime = &metav1.Time{Time: res.ComputedAt}
	done := metav1.NewTime(s.r.Clock.Now())
	run.CompletionTime = &done
	run.Succeeded = true
	run.Customers = res.Customers
	run.AverageLTV = obj.Status.Result.AverageLTV
	run.Reason = v1alpha1.ReasonSucceeded
	s.addRun(run)
	s.handledRequest()
	msg := successMessage(obj.Status.Result)
	s.conds.ready(v1alpha1.ReasonSucceeded, msg)
	s.event(corev1.EventTypeNormal, v1alpha1.ReasonSucceeded, msg)
	s.checkDrift(previous, res)
	s.recordMetrics(res, v1alpha1.ReasonSucceeded)
	logf.FromContext(ctx).Info("run succeeded", "trigger", run.Trigger, "customers", res.Customers, "averageLTV", res.AverageLTV)
	return s.requeue(), s.patchStatus(ctx)
}

// fail records a failed run. Permanent failures stall until the spec or data change; waiting
// failures resolve when a watched object appears; the others are retried with backoff. The last
// good result stays in status and in the results ConfigMap.
func (s *runState) fail(ctx context.Context, run v1alpha1.RunRecord, reason, message string, permanent, waiting bool) (ctrl.Result, error) {
	done := metav1.NewTime(s.r.Clock.Now())
	run.CompletionTime = &done
	run.Reason = reason
	run.Message = truncate(message, 1024)
	s.addRun(run)
	s.handledRequest()
	if s.obj.Status.Result != nil {
		message += " (the previous result is kept)"
	}
	switch {
	case permanent:
		s.conds.stalled(reason, message)
	case waiting:
		s.conds.waiting(reason, message)
	default:
		s.conds.retrying(reason, message)
	}
	s.event(corev1.EventTypeWarning, reason, message)
	s.recordMetrics(nil, reason)
	logf.FromContext(ctx).Info("run failed", "trigger", run.Trigger, "reason", reason, "message", message)
	if err := s.patchStatus(ctx); err != nil {
		return ctrl.Result{}, err
	}
	if !permanent && !waiting {
		// Returning an error retries with the controller's exponential backoff.
		return ctrl.Result{}, fmt.Errorf("%s: %s", reason, message)
	}
	return s.requeue(), nil
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

func (s *runState) markSuspended() {
	if s.obj.Status.Result != nil {
		s.conds.ready(v1alpha1.ReasonSuspended, "Suspended: no scheduled runs; status shows the last result")
	} else {
		s.conds.waiting(v1alpha1.ReasonSuspended, "Suspended before the first run")
	}
}

func (s *runState) addRun(run v1alpha1.RunRecord) {
	s.obj.Status.RecentRuns = append([]v1alpha1.RunRecord{run}, s.obj.Status.RecentRuns...)
	s.trimHistory()
}

// handledRequest echoes the requestedAt annotation the run answered.
func (s *runState) handledRequest() {
	if s.request != "" {
		s.obj.Status.LastHandledReconcileAt = s.request
	}
}

// trimHistory applies spec.runHistoryLimit, also when it was lowered without a run.
func (s *runState) trimHistory() {
	limit := plan.DefaultRunHistoryLimit
	if l := s.obj.Spec.RunHistoryLimit; l != nil && *l > 0 {
		limit = int(*l)
	}
	if len(s.obj.Status.RecentRuns) > limit {
		s.obj.Status.RecentRuns = s.obj.Status.RecentRuns[:limit]
	}
}

// requeue wakes the computation at its next scheduled time.
func (s *runState) requeue() ctrl.Result {
	if s.sched == nil || s.obj.Status.NextScheduleTime == nil {
		return ctrl.Result{}
	}
	wait := s.next.Sub(s.r.Clock.Now())
	if wait < time.Second {
		wait = time.Second
	}
	return ctrl.Result{RequeueAfter: wait}
}

// patchStatus writes the status when it changed, as a merge patch against the last write.
func (s *runState) patchStatus(ctx context.Context) error {
	if equalStatus(&s.base.Status, &s.obj.Status) {
		return nil
	}
	if err := s.r.Status().Patch(ctx, s.obj, client.MergeFrom(s.base)); err != nil {
		return err
	}
	s.base = s.obj.DeepCopy()
	return nil
}

func (s *runState) event(eventType, reason, message string) {
	if s.r.Recorder == nil {
		return
	}
	s.r.Recorder.Eventf(s.obj, nil, eventType, reason, "Reconcile", "%s", truncate(message, 1024))
}

func (s *runState) recordMetrics(res *report.Result, reason string) {
	if s.r.Metrics != nil {
		s.r.Metrics.RunFinished(s.obj, res, reason, time.Since(s.started))
	}
}

// inputsDigest identifies the parts of the spec a run's answer depends on. Scheduling and
// bookkeeping fields (schedule, timeZone, startingDeadlineSeconds, suspend, runHistoryLimit,
// alerts) are left out, so that changing them (suspending, resuming, lowering the history limit)
// starts no run; a new schedule takes effect at its next slot.
func inputsDigest(spec *v1alpha1.LTVComputationSpec) string {
	in := spec.DeepCopy()
	in.Schedule, in.TimeZone, in.StartingDeadlineSeconds, in.Suspend, in.RunHistoryLimit, in.Alerts = "", nil, nil, nil, nil, nil
	b, err := json.Marshal(in)
	if err != nil {
		return "unknown"
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func (r *LTVComputationReconciler) runTimeout() time.Duration {
	if r.RunTimeout > 0 {
		return r.RunTimeout
	}
	return 30 * time.Minute
}

// sinkRevision follows the customers sink's Secret, so that fixing it starts a run at once
// instead of at the next backoff retry.
func (r *LTVComputationReconciler) sinkRevision(ctx context.Context, obj *v1alpha1.LTVComputation) string {
	o := obj.Spec.Output.Customers
	if o == nil || o.Postgres == nil {
		return ""
	}
	var secret corev1.Secret
	if err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: o.Postgres.ConnectionSecretRef.Name}, &secret); err != nil {
		return ";sink=missing"
	}
	return ";sink=" + secret.ResourceVersion
}

// resultsConfigMapExists reports whether the results ConfigMap is still there (from the cache).
func (r *LTVComputationReconciler) resultsConfigMapExists(ctx context.Context, obj *v1alpha1.LTVComputation) bool {
	var cm corev1.ConfigMap
	err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: resultsConfigMapName(obj)}, &cm)
	return !apierrors.IsNotFound(err)
}

// selectedSegments lists the CustomerSegments the computation selects, sorted by name, and a
// revision that changes when any of them (or the selection) changes.
func (r *LTVComputationReconciler) selectedSegments(ctx context.Context, obj *v1alpha1.LTVComputation) ([]v1alpha1.CustomerSegment, string, error) {
	if obj.Spec.SegmentSelector == nil {
		return nil, "", nil
	}
	sel, err := metav1.LabelSelectorAsSelector(obj.Spec.SegmentSelector)
	if err != nil {
		return nil, "", err
	}
	var list v1alpha1.CustomerSegmentList
	if err := r.List(ctx, &list, client.InNamespace(obj.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, "", err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	h := sha256.New()
	for _, s := range list.Items {
		fmt.Fprintf(h, "%s/%s/%d;", s.Name, s.UID, s.Generation)
	}
	return list.Items, hex.EncodeToString(h.Sum(nil))[:16], nil
}

func segmentSelects(obj *v1alpha1.LTVComputation, seg *v1alpha1.CustomerSegment) bool {
	if obj.Spec.SegmentSelector == nil || obj.Namespace != seg.Namespace {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(obj.Spec.SegmentSelector)
	return err == nil && sel.Matches(labels.Set(seg.Labels))
}

func hasReason(conds []metav1.Condition, condType, reason string) bool {
	c := meta.FindStatusCondition(conds, condType)
	return c != nil && c.Reason == reason
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
