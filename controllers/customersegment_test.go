package controllers_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
)

func createSegment(t *testing.T, ns, name string, labels map[string]string, spec v1alpha1.CustomerSegmentSpec) {
	t.Helper()
	seg := &v1alpha1.CustomerSegment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}, Spec: spec}
	if err := k8sClient.Create(context.Background(), seg); err != nil {
		t.Fatal(err)
	}
}

func getSegment(t *testing.T, ns, name string) *v1alpha1.CustomerSegment {
	t.Helper()
	var seg v1alpha1.CustomerSegment
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &seg); err != nil {
		t.Fatal(err)
	}
	return &seg
}

func TestSegmentsAggregatedAndReported(t *testing.T) {
	ns := newNamespace(t)
	growth := map[string]string{"team": "growth"}
	createSegment(t, ns, "email", growth, v1alpha1.CustomerSegmentSpec{Filter: `customer.attributes["channel"] == "email"`})
	createSegment(t, ns, "repeaters", growth, v1alpha1.CustomerSegmentSpec{Filter: `customer.frequency >= 1`})
	createSegment(t, ns, "top-third", growth, v1alpha1.CustomerSegmentSpec{ValueTier: &v1alpha1.ValueTier{TopPercent: ptr.To[int32](34)}})
	createSegment(t, ns, "unselected", map[string]string{"team": "other"}, v1alpha1.CustomerSegmentSpec{Filter: "true"})
	createShop(t, ns, func(s *v1alpha1.LTVComputationSpec) {
		s.SegmentSelector = &metav1.LabelSelector{MatchLabels: growth}
	})
	obj := waitCondition(t, ns, "shop", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)

	// Historical at 30% margin: c1 = 51.00 (email, repeat), c2 = 24.00, c3 = 19.65 (repeat).
	want := map[string]struct {
		customers int64
		total     string
	}{"email": {1, "51.00"}, "repeaters": {2, "70.65"}, "top-third": {2, "75.00"}} // the top ceil(34% of 3) = 2 customers
	if len(obj.Status.Result.Segments) != len(want) {
		t.Fatalf("segments = %+v, want %d", obj.Status.Result.Segments, len(want))
	}
	for _, s := range obj.Status.Result.Segments {
		w, ok := want[s.Name]
		if !ok || s.Customers != w.customers || s.TotalLTV != w.total {
			t.Errorf("segment %s = %+v, want %+v", s.Name, s, w)
		}
	}
	// The segment controller reports the computation's figures on the segment.
	eventually(t, 30*time.Second, "segment status.computations", func() (bool, string) {
		seg := getSegment(t, ns, "repeaters")
		return len(seg.Status.Computations) == 1 && seg.Status.Computations[0].Name == "shop" &&
			seg.Status.Computations[0].Customers == 2 && seg.Status.Computations[0].TotalLTV == "70.65" &&
			meta.IsStatusConditionTrue(seg.Status.Conditions, v1alpha1.ConditionReady), spew(seg.Status)
	})
	if seg := getSegment(t, ns, "unselected"); len(seg.Status.Computations) != 0 {
		t.Errorf("an unselected segment reports computations: %+v", seg.Status.Computations)
	}

	// Changing a selected segment re-runs the computation.
	updateSegment(t, ns, "email", func(s *v1alpha1.CustomerSegment) {
		s.Spec.Filter = `customer.attributes["channel"] == "organic"`
	})
	eventually(t, 30*time.Second, "re-run after the segment changed", func() (bool, string) {
		o := getLTV(t, ns, "shop")
		for _, s := range o.Status.Result.Segments {
			if s.Name == "email" {
				return s.TotalLTV == "19.65", describe(o)
			}
		}
		return false, describe(o)
	})
}

func TestInvalidFilter(t *testing.T) {
	ns := newNamespace(t)
	createSegment(t, ns, "typo", map[string]string{"team": "growth"}, v1alpha1.CustomerSegmentSpec{Filter: `customer.predictedValu > 100.0`})
	var seg *v1alpha1.CustomerSegment
	eventually(t, 30*time.Second, "segment Stalled with InvalidFilter", func() (bool, string) {
		seg = getSegment(t, ns, "typo")
		c := meta.FindStatusCondition(seg.Status.Conditions, v1alpha1.ConditionStalled)
		return c != nil && c.Status == metav1.ConditionTrue && c.Reason == v1alpha1.ReasonInvalidFilter && seg.Status.ObservedGeneration == seg.Generation, spew(seg.Status)
	})
	msg := meta.FindStatusCondition(seg.Status.Conditions, v1alpha1.ConditionStalled).Message
	if !strings.Contains(msg, "predictedValu") {
		t.Errorf("message %q does not carry the compiler's error", msg)
	}
	if r := meta.FindStatusCondition(seg.Status.Conditions, v1alpha1.ConditionReady); r == nil || r.Status != metav1.ConditionFalse {
		t.Errorf("Ready = %+v, want False", r)
	}
	assertSegmentEvent(t, ns, "typo", v1alpha1.ReasonInvalidFilter)

	// A computation selecting it stalls with the same reason, naming the segment.
	createShop(t, ns, func(s *v1alpha1.LTVComputationSpec) {
		s.SegmentSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "growth"}}
	})
	obj := waitCondition(t, ns, "shop", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonInvalidFilter)
	if c := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionStalled); !strings.Contains(c.Message, `"typo"`) {
		t.Errorf("message %q does not name the segment", c.Message)
	}

	// Fixing the filter makes both Ready.
	updateSegment(t, ns, "typo", func(s *v1alpha1.CustomerSegment) {
		s.Spec.Filter = `customer.predictedValue > 100.0`
	})
	waitCondition(t, ns, "shop", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	eventually(t, 30*time.Second, "segment Ready", func() (bool, string) {
		s := getSegment(t, ns, "typo")
		return meta.IsStatusConditionTrue(s.Status.Conditions, v1alpha1.ConditionReady) && meta.FindStatusCondition(s.Status.Conditions, v1alpha1.ConditionStalled) == nil, spew(s.Status)
	})
}

func assertSegmentEvent(t *testing.T, ns, name, reason string) {
	t.Helper()
	eventually(t, 10*time.Second, "event "+reason, func() (bool, string) {
		var list corev1.EventList
		if err := k8sClient.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		for _, e := range list.Items {
			if e.InvolvedObject.Name == name && e.InvolvedObject.Kind == "CustomerSegment" && e.Reason == reason {
				return true, ""
			}
		}
		return false, strconv.Itoa(len(list.Items)) + " events"
	})
}

func spew(s v1alpha1.CustomerSegmentStatus) string {
	var parts []string
	for _, c := range s.Conditions {
		parts = append(parts, c.Type+"="+string(c.Status)+"("+c.Reason+": "+c.Message+")")
	}
	return strings.Join(parts, "; ") + " computations=" + strconv.Itoa(len(s.Computations))
}
