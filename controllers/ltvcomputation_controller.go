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
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
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

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/conditions"
	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/plan"
	"github.com/ltv-operator/ltv-operator/internal/report"
	"github.com/ltv-operator/ltv-operator/internal/runpolicy"
	"github.com/ltv-operator/ltv-operator/internal/schedule"
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
	// DeleteRows deletes a deleted computation's rows from its customers sink
	// (deletionPolicy Delete); nil adds no finalizer.
	DeleteRows DeleteRowsFunc
	// Metrics records run outcomes; nil records nothing.
	Metrics MetricsRecorder
	// Wakeup, when set, makes the controller look at the computations sent on it. Tests that
	// step a fake Clock use it: RequeueAfter waits in real time.
	Wakeup <-chan event.GenericEvent
	// DefaultExecution is the mode of computations whose spec.execution.mode is unset;
	// empty means InProcess.
	DefaultExecution v1alpha1.ExecutionMode
	// Jobs configures Job-mode runs.
	Jobs JobOptions
	// NoSecrets: the manager may read no Secret; InProcess computations that need one stall
	// with AccessDenied.
	NoSecrets bool
	// RetryBackoff is the wait before retrying a run that failed transiently, in both modes;
	// nil: runpolicy.DefaultBackoff (10 s doubling, at most 5 min). It is measured with Clock
	// and kept in status.nextRetryTime, so a restarted operator continues it.
	RetryBackoff *runpolicy.Backoff
	// APIReader reads past the cache: whether a computation still exists before anything is
	// written for it. nil uses the client.
	APIReader client.Reader

	jobs   jobTracker
	runs   runRegistry // in-flight reconciles, cancelled when their computation is deleted
	nsLock sync.Mutex  // serializes counting and creating Jobs, for --max-jobs-per-namespace
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

// +kubebuilder:rbac:groups=analytics.ltv-operator.io,resources=ltvcomputations,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=analytics.ltv-operator.io,resources=ltvcomputations/finalizers,verbs=update
// +kubebuilder:rbac:groups=analytics.ltv-operator.io,resources=ltvcomputations/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=analytics.ltv-operator.io,resources=customersegments,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list
// +kubebuilder:rbac:groups="",resources=pods/log,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Reconcile runs the ordered steps of one reconcile: observe the schedule, gather the inputs
// (every read), decide, execute the run, publish its result. The steps only fill the scope;
// one deferred summarizeAndPatch writes status, Events and metrics from it.
func (r *LTVComputationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	obj, err := r.load(ctx, req)
	if obj == nil {
		return ctrl.Result{}, err
	}
	if !obj.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, obj)
	}
	if err := r.syncFinalizer(ctx, obj); err != nil {
		if errors.Is(err, errConflict) {
			// The cache was behind (often our own status write, whose event the predicates
			// drop): look again shortly rather than wait for an event that may not come.
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		return ctrl.Result{}, err
	}
	// Deleting the computation cancels ctx (goneHandler): the run stops and nothing more is
	// written for it.
	ctx, stop := r.runs.start(ctx, obj.UID)
	defer stop()
	s := newScope(r, obj)
	defer func() { result, retErr = s.summarizeAndPatch(ctx, retErr) }()
	for _, step := range []func(context.Context) error{s.observeSchedule, s.gatherInputs, s.decide, s.execute, s.publish} {
		if err := step(ctx); err != nil || s.done {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, nil
}

// load reads the computation; nil when it is gone (its metrics and Jobs are dropped).
func (r *LTVComputationReconciler) load(ctx context.Context, req ctrl.Request) (*v1alpha1.LTVComputation, error) {
	var obj v1alpha1.LTVComputation
	if err := r.Get(ctx, req.NamespacedName, &obj); err != nil {
		if client.IgnoreNotFound(err) != nil {
			return nil, err
		}
		if r.Metrics != nil {
			r.Metrics.Forget(req.Namespace, req.Name)
		}
		return nil, r.deleteJobsOf(ctx, req.NamespacedName)
	}
	if !obj.DeletionTimestamp.IsZero() {
		return &obj, nil
	}
	if r.Metrics != nil {
		r.Metrics.Observe(&obj)
	}
	return &obj, nil
}

// scope is one reconcile of one computation: what each step found, in the order they ran.
type scope struct {
	r     *LTVComputationReconciler
	obj   *v1alpha1.LTVComputation
	base  *v1alpha1.LTVComputation // last state written, for merge patches
	conds conditions.Setter
	now   time.Time
	// done stops the steps: nothing (more) to do in this reconcile.
	done bool

	// observeSchedule
	sched *schedule.Schedule
	next  time.Time
	due   *time.Time

	// gatherInputs
	jobMode  bool
	job      *batchv1.Job // Job mode: the run in flight, or finished and not recorded yet
	in       runpolicy.Input
	segments []v1alpha1.CustomerSegment
	src      *resolvedSource
	srcErr   *runError

	// decide
	decision    runpolicy.Decision
	run         *v1alpha1.RunRecord // the run started or adopted; nil when none
	runRevision string              // the revision the run computes
	// pending says why the run has no outcome yet (a Job running or queued).
	pending string
	queued  bool
	request string    // the requestedAt value the run answers
	started time.Time // wall clock, for the duration metric

	// execute and publish
	res       *report.Result
	scores    *pipeline.Scores
	table     string
	configMap string
}

func newScope(r *LTVComputationReconciler, obj *v1alpha1.LTVComputation) *scope {
	s := &scope{r: r, obj: obj, base: obj.DeepCopy(), now: r.Clock.Now()}
	s.conds = conditions.Setter{Conditions: &obj.Status.Conditions, Generation: obj.Generation}
	obj.Status.ObservedGeneration = obj.Generation
	return s
}

// observeSchedule parses the schedule and finds the slot due now. An invalid schedule stalls
// the computation before any run.
func (s *scope) observeSchedule(context.Context) error {
	obj := s.obj
	suspended := obj.Spec.Suspend != nil && *obj.Spec.Suspend
	obj.Status.NextScheduleTime = nil
	if obj.Spec.Schedule == "" {
		return nil
	}
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
		s.due, s.next, err = sched.Due(s.now, last, deadline)
	}
	if err != nil {
		return stalledf(v1alpha1.ReasonInvalidSchedule, "%s", err.Error())
	}
	s.sched = sched
	if suspended {
		s.due = nil
	} else {
		obj.Status.NextScheduleTime = &metav1.Time{Time: s.next}
	}
	return nil
}

// gatherInputs does every read the decision and the run need: segments, source, revision,
// whether the published results still exist.
func (s *scope) gatherInputs(ctx context.Context) error {
	obj := s.obj
	segments, segmentsRevision, err := s.r.selectedSegments(ctx, obj)
	if err != nil {
		return err
	}
	s.segments = segments
	if s.jobMode = s.r.executionMode(obj) == v1alpha1.ExecutionJob; s.jobMode {
		if s.job, err = s.r.currentJob(ctx, obj); err != nil {
			return err
		}
	}
	src, err := s.r.resolveSource(ctx, obj, s.jobMode)
	if err != nil && asRunError(err) == nil {
		return err // an API error: retried with backoff
	}
	s.src, s.srcErr = src, asRunError(err)
	dataRevision := ""
	switch {
	case src != nil:
		dataRevision = src.revision
	case s.srcErr != nil:
		dataRevision = s.srcErr.revision
	}
	requested := obj.Annotations[v1alpha1.RequestedAtAnnotation]
	suspended := obj.Spec.Suspend != nil && *obj.Spec.Suspend
	s.in = runpolicy.Input{
		Now:                   s.now,
		Suspended:             suspended,
		Due:                   s.due,
		RequestPending:        requested != "" && requested != obj.Status.LastHandledReconcileAt,
		Resumed:               !suspended && hasReason(obj.Status.Conditions, v1alpha1.ConditionReady, v1alpha1.ReasonSuspended),
		LastSucceeded:         obj.Status.Result != nil && len(obj.Status.RecentRuns) > 0 && obj.Status.RecentRuns[0].Succeeded,
		HasResult:             obj.Status.Result != nil,
		ResultsPublished:      obj.Status.Result == nil || s.r.resultsPublished(ctx, obj),
		Revision:              fmt.Sprintf("spec=%s;data=%s;segments=%s%s", inputsDigest(&obj.Spec), dataRevision, segmentsRevision, s.r.sinkRevision(ctx, obj, s.jobMode)),
		LastAttemptedRevision: obj.Status.LastAttemptedRevision,
	}
	if t := obj.Status.LastScheduleTime; t != nil {
		s.in.LastSlot = &t.Time
	}
	if s.sched != nil {
		s.in.PrevSlot = s.sched.Prev(s.now)
	}
	s.in.RetryAt = retryAt(obj)
	return nil
}

// decide applies the pure run decision and, when a run starts, opens its run record.
func (s *scope) decide(context.Context) error {
	if s.job != nil {
		s.adoptJob() // one run at a time: the Job's run is this reconcile's
		return nil
	}
	s.decision = runpolicy.Decide(s.in)
	if !s.decision.Run() {
		s.done = true
		return nil
	}
	if s.decision.SetLastSlot {
		s.obj.Status.LastScheduleTime = &metav1.Time{Time: s.decision.Nominal}
	}
	if s.in.RequestPending {
		// Echoed when the run ends, so that a client waiting for lastHandledReconcileAt
		// knows its run finished (as with Flux's own kinds).
		s.request = s.obj.Annotations[v1alpha1.RequestedAtAnnotation]
	}
	s.started, s.runRevision = time.Now(), s.in.Revision
	s.run = &v1alpha1.RunRecord{Trigger: s.decision.Trigger, StartTime: metav1.Time{Time: s.now},
		ScheduledTime: &metav1.Time{Time: s.decision.Nominal}}
	return nil
}

// execute runs the computation: in a Job (started, or collected when it finished), or in the
// manager: the pipeline, then the customers sink.
func (s *scope) execute(ctx context.Context) error {
	if s.job != nil {
		return s.collectJob(ctx)
	}
	if s.srcErr != nil {
		return s.srcErr
	}
	if s.jobMode {
		return s.startJob(ctx)
	}
	if !meta.IsStatusConditionTrue(s.obj.Status.Conditions, v1alpha1.ConditionReconciling) {
		// A checkpoint: Reconciling=True while the run lasts. A retry already shows it
		// (ProgressingWithRetry): one status write per attempt.
		s.conds.Progressing(v1alpha1.ReasonProgressing, fmt.Sprintf("Run started (%s)", strings.ToLower(s.run.Trigger)))
		if err := s.patch(ctx); err != nil {
			return err
		}
	}
	cfg, err := s.pipelineConfig()
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithTimeout(ctx, s.r.runTimeout())
	defer cancel()
	if s.res, s.scores, err = pipeline.Run(runCtx, cfg, s.src.source); err != nil {
		if goneDuring(runCtx, err) {
			return errGone
		}
		return fromPipeline(err)
	}
	if s.obj.Spec.Output.Customers == nil {
		return nil
	}
	if s.r.CustomersSink == nil {
		return stalledf(v1alpha1.ReasonInvalidSpec, "spec.output.customers is not supported by this operator build")
	}
	if err := s.checkAlive(runCtx); err != nil {
		return err // rows written now would belong to nobody
	}
	if s.table, err = s.r.CustomersSink(runCtx, s.r.Client, s.obj, s.scores, s.res.ComputedAt); err != nil {
		if goneDuring(runCtx, err) {
			return errGone // the transaction was rolled back
		}
		if re := asRunError(err); re != nil {
			return &runError{kind: kindStalled, reason: re.reason, err: re.err}
		}
		return transient(v1alpha1.ReasonSinkFailed, fmt.Errorf("writing spec.output.customers: %w", err))
	}
	return nil
}

// pipelineConfig is the run's configuration: the spec, the nominal time's observation end and
// the selected segments.
func (s *scope) pipelineConfig() (pipeline.Config, error) {
	var loc *time.Location
	if s.sched != nil {
		loc = s.sched.Location()
	}
	end, err := plan.ObservationEnd(&s.obj.Spec, s.decision.Nominal, loc)
	if err != nil {
		return pipeline.Config{}, stalledf(v1alpha1.ReasonInvalidSpec, "%s", err.Error())
	}
	cfg, err := plan.Config(&s.obj.Spec, end, s.segments)
	if err != nil {
		return pipeline.Config{}, fromPipeline(err)
	}
	cfg.Now = s.r.Clock.Now
	return cfg, nil
}

// publish writes the results ConfigMap; summarizeAndPatch puts the result in status.
func (s *scope) publish(ctx context.Context) error {
	if err := s.checkAlive(ctx); err != nil {
		return err
	}
	name, err := s.r.writeResultsConfigMap(ctx, s.obj, s.res)
	if err != nil {
		if re := asRunError(err); re != nil {
			// The name is taken by someone else's ConfigMap: retrying cannot help.
			return re
		}
		return transient(v1alpha1.ReasonSinkFailed, fmt.Errorf("writing the results ConfigMap: %w", err))
	}
	s.configMap = name
	return nil
}

// inputsDigest identifies the parts of the spec a run's answer depends on. Scheduling and
// bookkeeping fields (schedule, timeZone, startingDeadlineSeconds, suspend, runHistoryLimit,
// alerts) and where runs execute (execution) are left out, so that changing them (suspending, resuming, lowering the history limit)
// starts no run; a new schedule takes effect at its next slot.
func inputsDigest(spec *v1alpha1.LTVComputationSpec) string {
	in := spec.DeepCopy()
	in.Schedule, in.TimeZone, in.StartingDeadlineSeconds, in.Suspend, in.RunHistoryLimit, in.Alerts, in.Execution = "", nil, nil, nil, nil, nil, nil
	if in.Output.Customers != nil {
		in.Output.Customers.DeletionPolicy = "" // what happens on deletion changes no answer
	}
	b, err := json.Marshal(in)
	if err != nil {
		return "unknown"
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func (r *LTVComputationReconciler) backoff() runpolicy.Backoff {
	if r.RetryBackoff != nil {
		return *r.RetryBackoff
	}
	return runpolicy.DefaultBackoff
}

func (r *LTVComputationReconciler) runTimeout() time.Duration {
	if r.RunTimeout > 0 {
		return r.RunTimeout
	}
	return 30 * time.Minute
}

// sinkRevision follows the customers sink's Secret, so that fixing it starts a run at once
// instead of at the next backoff retry.
// In Job mode the manager reads no Secret: the Pod reads the sink's, and a fix is retried.
func (r *LTVComputationReconciler) sinkRevision(ctx context.Context, obj *v1alpha1.LTVComputation, jobMode bool) string {
	o := obj.Spec.Output.Customers
	if o == nil || o.Postgres == nil || jobMode || r.NoSecrets {
		return ""
	}
	var secret corev1.Secret
	if err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: o.Postgres.ConnectionSecretRef.Name}, &secret); err != nil {
		return ";sink=missing"
	}
	return ";sink=" + secret.ResourceVersion
}

// resultsPublished reports whether the results ConfigMap is still there (from the cache) with
// the content the operator published: deleted or edited, the results are published again.
func (r *LTVComputationReconciler) resultsPublished(ctx context.Context, obj *v1alpha1.LTVComputation) bool {
	var cm corev1.ConfigMap
	err := r.Get(ctx, client.ObjectKey{Namespace: obj.Namespace, Name: resultsConfigMapName(obj)}, &cm)
	if apierrors.IsNotFound(err) {
		return false
	}
	return err != nil || !metav1.IsControlledBy(&cm, obj) || !resultsTampered(&cm)
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

// Run triggers, recorded in status.recentRuns.
const (
	TriggerChange   = runpolicy.TriggerChange
	TriggerRequest  = runpolicy.TriggerRequest
	TriggerSchedule = runpolicy.TriggerSchedule
)
