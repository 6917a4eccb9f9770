package controllers

import (
	"context"
	"fmt"
	"math"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/report"
)

// Field indexes over LTVComputations, so that a change of a ConfigMap or Secret re-runs only the
// computations that use it.
const (
	indexConfigMaps = "ltv.spec.configMaps"
	indexSecrets    = "ltv.spec.secrets"
	indexSelects    = "ltv.spec.selectsSegments"
)

func configMapsOf(obj client.Object) []string {
	c := obj.(*v1alpha1.LTVComputation)
	if c.Spec.Source.ConfigMap != nil {
		return []string{c.Spec.Source.ConfigMap.Name}
	}
	return nil
}

func secretsOf(obj client.Object) []string {
	c := obj.(*v1alpha1.LTVComputation)
	var out []string
	if h := c.Spec.Source.HTTP; h != nil && h.HeadersSecretRef != nil {
		out = append(out, h.HeadersSecretRef.Name)
	}
	if p := c.Spec.Source.Postgres; p != nil {
		out = append(out, p.ConnectionSecretRef.Name)
	}
	if o := c.Spec.Output.Customers; o != nil && o.Postgres != nil {
		out = append(out, o.Postgres.ConnectionSecretRef.Name)
	}
	return out
}

func selectsSegments(obj client.Object) []string {
	if obj.(*v1alpha1.LTVComputation).Spec.SegmentSelector != nil {
		return []string{"true"}
	}
	return nil
}

// SetupWithManager registers the controller, its indexes and watches.
func (r *LTVComputationReconciler) SetupWithManager(mgr ctrl.Manager, maxConcurrent int) error {
	idx := mgr.GetFieldIndexer()
	ctx := context.Background()
	for name, fn := range map[string]client.IndexerFunc{indexConfigMaps: configMapsOf, indexSecrets: secretsOf, indexSelects: selectsSegments} {
		if err := idx.IndexField(ctx, &v1alpha1.LTVComputation{}, name, fn); err != nil {
			return fmt.Errorf("index %s: %w", name, err)
		}
	}
	b := ctrl.NewControllerManagedBy(mgr)
	if r.Wakeup != nil {
		b = b.WatchesRawSource(source.Channel(r.Wakeup, &handler.EnqueueRequestForObject{}))
	}
	if !r.NoSecrets {
		b = b.Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.byIndex(indexSecrets)),
			builder.WithPredicates(predicate.ResourceVersionChangedPredicate{}), builder.OnlyMetadata)
	}
	return b.
		For(&v1alpha1.LTVComputation{}, builder.WithPredicates(
			// Status writes change neither generation nor annotations: they never start a run.
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		// Deleting a computation cancels its run at once.
		Watches(&v1alpha1.LTVComputation{}, r.goneHandler()).
		Owns(&batchv1.Job{}). // a run's Job finishing (or deleted) records the run
		// ... and frees a slot for the computations queued in its namespace.
		Watches(&batchv1.Job{}, handler.EnqueueRequestsFromMapFunc(r.queuedIn), builder.WithPredicates(predicate.Funcs{
			CreateFunc: func(event.CreateEvent) bool { return false },
		})).
		// ConfigMaps and Secrets are watched by metadata only and read directly when a
		// reconcile needs them (directContent): the manager does not hold every ConfigMap and
		// Secret of the cluster.
		// Publish the results again when someone deletes the ConfigMap or edits it.
		Owns(&corev1.ConfigMap{}, builder.WithPredicates(editedByOthers()), builder.OnlyMetadata).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.byIndex(indexConfigMaps)), builder.OnlyMetadata).
		Watches(&v1alpha1.CustomerSegment{}, r.segmentHandler(),
			builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: maxConcurrent}).
		Named("ltvcomputation").
		Complete(r)
}

// queuedIn maps a Job to the computations of its namespace waiting for a free slot.
func (r *LTVComputationReconciler) queuedIn(ctx context.Context, obj client.Object) []reconcile.Request {
	var list v1alpha1.LTVComputationList
	if err := r.List(ctx, &list, client.InNamespace(obj.GetNamespace())); err != nil {
		return nil
	}
	var queued []v1alpha1.LTVComputation
	for _, c := range list.Items {
		if hasReason(c.Status.Conditions, v1alpha1.ConditionReconciling, v1alpha1.ReasonQueued) {
			queued = append(queued, c)
		}
	}
	return requestsFor(queued)
}

// byIndex maps an object to the computations in its namespace whose index lists its name.
func (r *LTVComputationReconciler) byIndex(index string) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		var list v1alpha1.LTVComputationList
		if err := r.List(ctx, &list, client.InNamespace(obj.GetNamespace()), client.MatchingFields{index: obj.GetName()}); err != nil {
			return nil
		}
		return requestsFor(list.Items)
	}
}

// segmentHandler wakes the computations whose segmentSelector matches a segment before or after
// a change: a label change can remove a segment from a selection, so matching the new labels
// alone would miss it.
func (r *LTVComputationReconciler) segmentHandler() handler.EventHandler {
	type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q queue) { r.enqueueSelecting(ctx, q, e.Object) },
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q queue) {
			r.enqueueSelecting(ctx, q, e.ObjectOld, e.ObjectNew)
		},
		DeleteFunc:  func(ctx context.Context, e event.DeleteEvent, q queue) { r.enqueueSelecting(ctx, q, e.Object) },
		GenericFunc: func(ctx context.Context, e event.GenericEvent, q queue) { r.enqueueSelecting(ctx, q, e.Object) },
	}
}

func (r *LTVComputationReconciler) enqueueSelecting(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], segs ...client.Object) {
	if len(segs) == 0 || segs[0] == nil {
		return
	}
	var list v1alpha1.LTVComputationList
	if err := r.List(ctx, &list, client.InNamespace(segs[0].GetNamespace()), client.MatchingFields{indexSelects: "true"}); err != nil {
		return
	}
	for i := range list.Items {
		c := &list.Items[i]
		for _, o := range segs {
			if seg, ok := o.(*v1alpha1.CustomerSegment); ok && segmentSelects(c, seg) {
				q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: c.Namespace, Name: c.Name}})
				break
			}
		}
	}
}

func requestsFor(items []v1alpha1.LTVComputation) []reconcile.Request {
	out := make([]reconcile.Request, 0, len(items))
	for _, c := range items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: c.Namespace, Name: c.Name}})
	}
	return out
}

func equalStatus(a, b *v1alpha1.LTVComputationStatus) bool { return equality.Semantic.DeepEqual(a, b) }

// checkDrift warns when average LTV moved more than spec.alerts.maxChangePercent since the
// previous successful run.
func (s *scope) checkDrift(previous *v1alpha1.ComputationResult, res *report.Result) {
	alerts := s.obj.Spec.Alerts
	if alerts == nil || previous == nil {
		return
	}
	prev, err := strconv.ParseFloat(previous.AverageLTV, 64)
	if err != nil || prev == 0 {
		return
	}
	change := (res.AverageLTV - prev) / math.Abs(prev) * 100
	if math.Abs(change) <= float64(alerts.MaxChangePercent) {
		return
	}
	verb := "rose"
	if change < 0 {
		verb = "dropped"
	}
	last := "the previous run"
	if t := previous.ComputedAt; !t.IsZero() {
		last = "the run of " + t.UTC().Format("2006-01-02 15:04 MST")
	}
	msg := fmt.Sprintf("Average LTV %s %.1f%% since %s: %s -> %s %s (limit %d%%)", verb, math.Abs(change), last,
		previous.AverageLTV, money(res.AverageLTV), res.Currency, alerts.MaxChangePercent)
	s.obj.Status.Drift = &v1alpha1.Drift{
		ChangePercent: strconv.FormatFloat(change, 'f', 1, 64), PreviousAverageLTV: previous.AverageLTV,
		DetectedAt: metav1.NewTime(res.ComputedAt), Message: msg,
	}
	s.event(corev1.EventTypeWarning, v1alpha1.ReasonLTVDrift, msg)
}
