package controllers_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/netpolicy"
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

// suiteHTTPPolicy is the suite manager's http source policy: the defaults, with the tests'
// servers on 127.0.0.1 allowed (other loopback addresses stay refused).
var suiteHTTPPolicy = func() *netpolicy.Policy {
	p, err := netpolicy.New(netpolicy.Config{AllowCIDRs: []string{"127.0.0.1/32"}})
	if err != nil {
		panic(err)
	}
	return p
}()

// An http source pointed at a refused address (cloud metadata, another loopback address, or a
// redirect to one) stalls the computation with a reason naming the policy; nothing is fetched.
func TestHTTPSourceRefusedByPolicyStalls(t *testing.T) {
	var refusedHits atomic.Int32
	refusedSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { refusedHits.Add(1) }))
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skip(err)
	}
	refusedSrv.Listener.Close()
	refusedSrv.Listener = l
	refusedSrv.Start()
	defer refusedSrv.Close()
	redirect := httptest.NewServer(http.RedirectHandler("http://169.254.169.254/latest/meta-data/iam/security-credentials/", http.StatusFound))
	defer redirect.Close()

	ns := newNamespace(t)
	for name, url := range map[string]string{
		"metadata": "http://169.254.169.254/latest/meta-data/",
		"loopback": refusedSrv.URL + "/orders.csv",
		"redirect": redirect.URL + "/orders.csv",
	} {
		policyComputation(t, ns, name, url)
	}
	for _, name := range []string{"metadata", "loopback", "redirect"} {
		got := waitCondition(t, ns, name, v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonSourceRefusedByPolicy)
		msg := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionStalled).Message
		if !strings.Contains(msg, "http source policy") || !strings.Contains(msg, "--http-source-allow-cidrs") {
			t.Errorf("%s: message %q", name, msg)
		}
	}
	if refusedHits.Load() != 0 {
		t.Errorf("the refused server got %d requests", refusedHits.Load())
	}
}

func policyComputation(t *testing.T, ns, name, url string) {
	t.Helper()
	obj := &v1alpha1.LTVComputation{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.LTVComputationSpec{
			Source:      v1alpha1.Source{HTTP: &v1alpha1.HTTPSource{URL: url}},
			Observation: v1alpha1.Observation{End: "1997-09-30"},
		},
	}
	if err := k8sClient.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
}
