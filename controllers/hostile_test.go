package controllers_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
)

func gzipOf(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A truncated gzip stream in a ConfigMap is a permanent data error naming the ConfigMap key, the
// gzip stream and the truncation (it was "reading the input: unexpected EOF", retried forever).
func TestTruncatedGzipConfigMapStalls(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	gz := gzipOf(t, []byte(strings.Repeat(shopCSV, 3)))
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: ns},
		BinaryData: map[string][]byte{"orders.csv.gz": gz[:len(gz)*2/3]}}
	if err := k8sClient.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	obj := &v1alpha1.LTVComputation{
		ObjectMeta: metav1.ObjectMeta{Name: "truncated", Namespace: ns},
		Spec: v1alpha1.LTVComputationSpec{
			Source:      v1alpha1.Source{ConfigMap: &v1alpha1.ConfigMapSource{Name: "orders", Key: "orders.csv.gz"}},
			Observation: v1alpha1.Observation{End: shopEnd},
		},
	}
	if err := k8sClient.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	got := waitCondition(t, ns, obj.Name, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonInvalidData)
	msg := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionStalled).Message
	for _, want := range []string{`ConfigMap ` + ns + `/orders key "orders.csv.gz"`, "gzip stream", "truncated"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not mention %s", msg, want)
		}
	}
}
