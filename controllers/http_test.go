package controllers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
)

// httpCDNOW is the CDNOW sample, served by the tests' HTTP servers.
func httpCDNOW(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("../testdata/cdnow_sample_transactions.csv")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// httpComputation creates a computation of the CDNOW sample read from url.
func httpComputation(t *testing.T, ns, name, url string, secret *v1alpha1.LocalObjectReference) {
	t.Helper()
	obj := &v1alpha1.LTVComputation{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.LTVComputationSpec{
			Source:      v1alpha1.Source{HTTP: &v1alpha1.HTTPSource{URL: url, HeadersSecretRef: secret}},
			Observation: v1alpha1.Observation{End: "1997-09-30", TimeUnit: v1alpha1.TimeUnitWeek},
		},
	}
	if err := k8sClient.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
}

func httpCondition(obj *v1alpha1.LTVComputation, condType string) *metav1.Condition {
	return meta.FindStatusCondition(obj.Status.Conditions, condType)
}

// A computation reading the CDNOW CSV over HTTP, with a token from a Secret that the server
// checks, becomes Ready with the sample's 2357 customers; the token appears nowhere in status.
func TestHTTPSourceCDNOW(t *testing.T) {
	data := httpCDNOW(t)
	var authorized atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer cdn0w-t0ken" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		authorized.Add(1)
		w.Header().Set("Content-Type", "text/csv")
		w.Write(data)
	}))
	defer srv.Close()
	ns := newNamespace(t)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shop-files", Namespace: ns},
		StringData: map[string]string{"Authorization": "Bearer cdn0w-t0ken\n"}}
	if err := k8sClient.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	httpComputation(t, ns, "cdnow", srv.URL+"/exports/transactions.csv?sig=abc", &v1alpha1.LocalObjectReference{Name: "shop-files"})
	obj := waitCondition(t, ns, "cdnow", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	if obj.Status.Result.Customers != 2357 {
		t.Errorf("customers = %d, want 2357", obj.Status.Result.Customers)
	}
	if authorized.Load() == 0 {
		t.Error("the server never saw the token")
	}
	if !strings.Contains(obj.Status.LastAttemptedRevision, "secret-version:") {
		t.Errorf("revision %q does not follow the Secret", obj.Status.LastAttemptedRevision)
	}
}

// A missing headers Secret waits (neither stalled nor retried); the computation runs when the
// Secret appears.
func TestHTTPSourceWaitsForItsSecret(t *testing.T) {
	data := httpCDNOW(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "k3y" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		w.Write(data)
	}))
	defer srv.Close()
	ns := newNamespace(t)
	httpComputation(t, ns, "cdnow", srv.URL+"/tx.csv", &v1alpha1.LocalObjectReference{Name: "later"})
	obj := waitCondition(t, ns, "cdnow", v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonSourceNotFound)
	if httpCondition(obj, v1alpha1.ConditionStalled) != nil || httpCondition(obj, v1alpha1.ConditionReconciling) != nil {
		t.Errorf("a missing Secret should wait: %s", describe(obj))
	}
	if msg := httpCondition(obj, v1alpha1.ConditionReady).Message; !strings.Contains(msg, "Secret "+ns+"/later not found") {
		t.Errorf("message %q", msg)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "later", Namespace: ns}, StringData: map[string]string{"X-Api-Key": "k3y"}}
	if err := k8sClient.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	obj = waitCondition(t, ns, "cdnow", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	if obj.Status.Result.Customers != 2357 {
		t.Errorf("customers = %d, want 2357", obj.Status.Result.Customers)
	}
}

// A 404 stalls the computation with the status code (and neither the URL's query nor the body)
// in the message;
// a 401 stalls it as AccessDenied without the token the server echoed.
func TestHTTPSourceNotFoundStalls(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/private") {
			http.Error(w, "bad credentials: "+r.Header.Get("Authorization"), http.StatusUnauthorized)
			return
		}
		http.Error(w, "NoSuchKey: exports/gone.csv", http.StatusNotFound)
	}))
	defer srv.Close()
	ns := newNamespace(t)
	httpComputation(t, ns, "gone", srv.URL+"/exports/gone.csv?token=t0psecret", nil)
	obj := waitCondition(t, ns, "gone", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonSourceNotFound)
	msg := httpCondition(obj, v1alpha1.ConditionStalled).Message
	for _, want := range []string{"404", srv.URL + "/exports/gone.csv"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Stalled message %q does not mention %q", msg, want)
		}
	}
	// the body is the server's: not copied into status (an http source must not be a way to
	// read internal services)
	if strings.Contains(msg, "NoSuchKey") {
		t.Errorf("Stalled message %q quotes the answer's body", msg)
	}
	if strings.Contains(msg, "t0psecret") {
		t.Errorf("Stalled message %q contains the URL's query", msg)
	}
	if r := httpCondition(obj, v1alpha1.ConditionReady); r.Status != metav1.ConditionFalse || r.Reason != v1alpha1.ReasonSourceNotFound {
		t.Errorf("Ready = %+v", r)
	}

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: ns},
		StringData: map[string]string{"Authorization": "Bearer wr0ng-but-secret"}}
	if err := k8sClient.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	httpComputation(t, ns, "private", srv.URL+"/private/tx.csv", &v1alpha1.LocalObjectReference{Name: "creds"})
	obj = waitCondition(t, ns, "private", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonAccessDenied)
	msg = httpCondition(obj, v1alpha1.ConditionStalled).Message
	if !strings.Contains(msg, "401") || strings.Contains(msg, "wr0ng-but-secret") {
		t.Errorf("Stalled message %q: want the status code and not the token", msg)
	}
	for _, run := range obj.Status.RecentRuns {
		if strings.Contains(run.Message, "wr0ng-but-secret") {
			t.Errorf("run message %q contains the token", run.Message)
		}
	}
}

// A 503 is retried with backoff (Ready=False, Reconciling=True ProgressingWithRetry) and the
// computation becomes Ready when the server recovers, with no change to the spec.
func TestHTTPSourceRetriesUntilTheServerRecovers(t *testing.T) {
	data := httpCDNOW(t)
	var up atomic.Bool
	var failures atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			failures.Add(1)
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		w.Write(data)
	}))
	defer srv.Close()
	ns := newNamespace(t)
	httpComputation(t, ns, "cdnow", srv.URL+"/tx.csv", nil)
	obj := waitCondition(t, ns, "cdnow", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonProgressingWithRetry)
	ready := httpCondition(obj, v1alpha1.ConditionReady)
	if ready.Status != metav1.ConditionFalse || ready.Reason != v1alpha1.ReasonSourceUnavailable || !strings.Contains(ready.Message, "503") {
		t.Errorf("Ready = %+v, want False/SourceUnavailable with 503", ready)
	}
	if httpCondition(obj, v1alpha1.ConditionStalled) != nil {
		t.Errorf("a 503 must not stall: %s", describe(obj))
	}
	eventuallyRetried(t, &failures)
	up.Store(true)
	obj = waitCondition(t, ns, "cdnow", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	if obj.Status.Result.Customers != 2357 {
		t.Errorf("customers = %d, want 2357", obj.Status.Result.Customers)
	}
	if httpCondition(obj, v1alpha1.ConditionReconciling) != nil {
		t.Errorf("still reconciling: %s", describe(obj))
	}
}

// eventuallyRetried waits until the server has failed at least twice: the controller retries.
func eventuallyRetried(t *testing.T, failures *atomic.Int32) {
	t.Helper()
	eventually(t, 30*time.Second, "a retry after the 503", func() (bool, string) {
		return failures.Load() >= 2, ""
	})
}

// A headers Secret in another namespace is refused.
func TestHTTPSourceRefusesOtherNamespacesSecrets(t *testing.T) {
	ns := newNamespace(t)
	httpComputation(t, ns, "cdnow", "http://127.0.0.1:1/tx.csv", &v1alpha1.LocalObjectReference{Name: "creds", Namespace: "kube-system"})
	obj := waitCondition(t, ns, "cdnow", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonAccessDenied)
	if msg := httpCondition(obj, v1alpha1.ConditionStalled).Message; !strings.Contains(msg, "headersSecretRef") {
		t.Errorf("message %q", msg)
	}
}
