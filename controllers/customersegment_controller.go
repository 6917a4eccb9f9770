package controllers

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"sort"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/conditions"
	"github.com/ltv-operator/ltv-operator/internal/report"
	"github.com/ltv-operator/ltv-operator/internal/segment"
)

// maxSegmentComputations bounds status.computations.
const maxSegmentComputations = 100

// CustomerSegmentReconciler validates segments and collects their aggregates from the results
// ConfigMaps of the computations that select them. It writes only CustomerSegment status.
type CustomerSegmentReconciler struct {
	client.Client
	Scheme   *runtime.Scheme
	Recorder events.EventRecorder
}

// +kubebuilder:rbac:groups=analytics.ltv-operator.io,resources=customersegments,verbs=get;list;watch
// +kubebuilder:rbac:groups=analytics.ltv-operator.io,resources=customersegments/status,verbs=get;update;patch

// Reconcile compiles the filter and gathers the segment's results.
func (r *CustomerSegmentReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var seg v1alpha1.CustomerSegment
	if err := r.Get(ctx, req.NamespacedName, &seg); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	base := seg.DeepCopy()
	conds := conditions.Setter{Conditions: &seg.Status.Conditions, Generation: seg.Generation}
	seg.Status.ObservedGeneration = seg.Generation

	if msg, ok := validateSegment(&seg); !ok {
		stalledBefore := hasTrueCondition(base.Status.Conditions, v1alpha1.ConditionStalled, base.Generation == seg.Generation)
		conds.Stalled(v1alpha1.ReasonInvalidFilter, msg)
		if !stalledBefore && r.Recorder != nil {
			r.Recorder.Eventf(&seg, nil, corev1.EventTypeWarning, v1alpha1.ReasonInvalidFilter, "Validate", "%s", msg)
		}
	} else {
		conds.Ready(v1alpha1.ReasonSucceeded, "Filter compiles")
	}

	computations, err := r.collect(ctx, &seg)
	if err != nil {
		return ctrl.Result{}, err
	}
	seg.Status.Computations = computations
	if equality.Semantic.DeepEqual(base.Status, seg.Status) {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, r.Status().Patch(ctx, &seg, client.MergeFrom(base))
}

// validateSegment compiles the filter and checks the tier; the message is shown to users.
func validateSegment(seg *v1alpha1.CustomerSegment) (string, bool) {
	if seg.Spec.Filter != "" {
		if _, err := segment.Compile(seg.Spec.Filter); err != nil {
			return "spec.filter: " + err.Error(), false
		}
	}
	if t := seg.Spec.ValueTier; t != nil && t.MinPredictedValue != nil && t.MaxPredictedValue != nil {
		lo, err1 := strconv.ParseFloat(*t.MinPredictedValue, 64)
		hi, err2 := strconv.ParseFloat(*t.MaxPredictedValue, 64)
		if err1 != nil || err2 != nil || lo > hi {
			return "spec.valueTier: minPredictedValue must be a decimal not above maxPredictedValue", false
		}
	}
	return "", true
}

func hasTrueCondition(conds []metav1.Condition, condType string, sameGeneration bool) bool {
	for _, c := range conds {
		if c.Type == condType && c.Status == metav1.ConditionTrue && sameGeneration {
			return true
		}
	}
	return false
}

// collect reads the segment's row from every results ConfigMap in its namespace.
func (r *CustomerSegmentReconciler) collect(ctx context.Context, seg *v1alpha1.CustomerSegment) ([]v1alpha1.SegmentComputation, error) {
	var cms corev1.ConfigMapList
	if err := r.List(ctx, &cms, client.InNamespace(seg.Namespace), client.MatchingLabels{LabelManagedBy: ManagedByValue}); err != nil {
		return nil, err
	}
	var out []v1alpha1.SegmentComputation
	for i := range cms.Items {
		cm := &cms.Items[i]
		owner := metav1.GetControllerOf(cm)
		if owner == nil || owner.Kind != "LTVComputation" {
			continue
		}
		data, ok, err := resultFile(cm, report.SegmentsFile)
		if err != nil || !ok {
			continue
		}
		row, ok := segmentRow(data, seg.Name)
		if !ok {
			continue
		}
		sc := v1alpha1.SegmentComputation{Name: owner.Name}
		sc.Customers, _ = strconv.ParseInt(row["customers"], 10, 64)
		sc.AverageLTV = decimalString(row["average_ltv"], money)
		sc.TotalLTV = decimalString(row["total_ltv"], money)
		sc.ValueShare = decimalString(row["value_share"], share)
		if t, err := time.Parse(time.RFC3339, cm.Annotations[AnnotationComputedAt]); err == nil {
			sc.ComputedAt = &metav1.Time{Time: t}
		}
		out = append(out, sc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if len(out) > maxSegmentComputations {
		out = out[:maxSegmentComputations]
	}
	return out, nil
}

// segmentRow finds a segment's row in segments.csv.
func segmentRow(data []byte, name string) (map[string]string, bool) {
	rd := csv.NewReader(bytes.NewReader(data))
	header, err := rd.Read()
	if err != nil {
		return nil, false
	}
	for {
		rec, err := rd.Read()
		if err == io.EOF || err != nil {
			return nil, false
		}
		if len(rec) == len(header) && rec[0] == name {
			row := make(map[string]string, len(header))
			for i, h := range header {
				row[h] = rec[i]
			}
			return row, true
		}
	}
}

func decimalString(s string, format func(float64) string) string {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return ""
	}
	return format(v)
}

// SetupWithManager registers the controller; results ConfigMaps wake the segments of their
// namespace.
func (r *CustomerSegmentReconciler) SetupWithManager(mgr ctrl.Manager) error {
	managed := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetLabels()[LabelManagedBy] == ManagedByValue })
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.CustomerSegment{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// By metadata only: collect reads the results ConfigMaps directly (directContent).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.segmentsInNamespace), builder.WithPredicates(managed), builder.OnlyMetadata).
		Named("customersegment").
		Complete(r)
}

func (r *CustomerSegmentReconciler) segmentsInNamespace(ctx context.Context, obj client.Object) []reconcile.Request {
	var list v1alpha1.CustomerSegmentList
	if err := r.List(ctx, &list, client.InNamespace(obj.GetNamespace())); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, s := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: s.Namespace, Name: s.Name}})
	}
	return out
}
