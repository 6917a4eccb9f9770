package controllers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/testutil/pgtest"
)

// trickleServer serves the CDNOW sample on loopback slowly: the header and a first chunk at
// once, then one line every tick, so that a run lasts several seconds. It records when a
// request starts and whether the client went away before the body ended.
type trickleServer struct {
	srv       *httptest.Server
	started   atomic.Int32
	abandoned atomic.Int32
	completed atomic.Int32
}

func newTrickleServer(t *testing.T, data []byte, total time.Duration) *trickleServer {
	t.Helper()
	ts := &trickleServer{}
	lines := strings.SplitAfter(string(data), "\n")
	first := len(lines) / 2
	tick := total / time.Duration(len(lines)-first)
	ts.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.started.Add(1)
		w.Header().Set("Content-Type", "text/csv")
		flusher := w.(http.Flusher)
		_, _ = w.Write([]byte(strings.Join(lines[:first], "")))
		flusher.Flush()
		for _, l := range lines[first:] {
			select {
			case <-r.Context().Done():
				ts.abandoned.Add(1)
				return
			case <-time.After(tick):
			}
			if _, err := w.Write([]byte(l)); err != nil {
				ts.abandoned.Add(1)
				return
			}
			flusher.Flush()
		}
		ts.completed.Add(1)
	}))
	t.Cleanup(ts.srv.Close)
	return ts
}

// Deleting a computation in the middle of its run cancels the run: the source's connection is
// dropped, and nothing is written for the computation afterwards (no results ConfigMap, no row
// in the customers table, no status), and no "Reconciler error" is logged.
func TestDeleteDuringRunStopsTheRun(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	pgtest.Exec(t, dsn, "CREATE SCHEMA analytics")
	ns := newNamespace(t)
	pgSecret(t, ns, "scores", dsn)
	ts := newTrickleServer(t, httpCDNOW(t), 8*time.Second)

	obj := &v1alpha1.LTVComputation{
		ObjectMeta: metav1.ObjectMeta{Name: "slow", Namespace: ns},
		Spec: v1alpha1.LTVComputationSpec{
			Source:      v1alpha1.Source{HTTP: &v1alpha1.HTTPSource{URL: ts.srv.URL + "/orders.csv"}},
			Observation: v1alpha1.Observation{End: "1997-09-30", TimeUnit: v1alpha1.TimeUnitWeek},
			Output: v1alpha1.Output{Customers: &v1alpha1.CustomersOutput{Postgres: &v1alpha1.PostgresSink{
				ConnectionSecretRef: v1alpha1.SecretKeyReference{Name: "scores", Key: "dsn"}, Table: "analytics.customer_ltv"}}},
		},
	}
	if err := k8sClient.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the run to start reading", func() (bool, string) {
		o := getLTV(t, ns, "slow")
		return ts.started.Load() > 0 && meta.IsStatusConditionTrue(o.Status.Conditions, v1alpha1.ConditionReconciling), describe(o)
	})
	time.Sleep(500 * time.Millisecond) // well inside the body
	if err := k8sClient.Delete(ctx, obj); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the computation to be gone", func() (bool, string) {
		err := k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), &v1alpha1.LTVComputation{})
		return apierrors.IsNotFound(err), ""
	})
	eventually(t, 5*time.Second, "the run to drop its source's connection", func() (bool, string) {
		return ts.abandoned.Load() > 0, ""
	})
	// Longer than the body would have taken: a run that was not stopped has written by now.
	time.Sleep(10 * time.Second)
	if ts.completed.Load() != 0 {
		t.Error("the source's body was read to its end after the delete")
	}
	var cm corev1.ConfigMap
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "slow-results"}, &cm); !apierrors.IsNotFound(err) {
		t.Errorf("results ConfigMap after the delete: %v (owner %v)", err, cm.OwnerReferences)
	}
	if n := pgCountMaybe(t, dsn, ns+"/slow"); n != 0 {
		t.Errorf("%d rows written to the customers table after the delete", n)
	}
	for _, line := range strings.Split(suiteLogs.String(), "\n") {
		if strings.Contains(line, ns) && (strings.Contains(line, "Reconciler error") || strings.Contains(line, `"level":"error"`)) {
			t.Errorf("error logged for the deleted computation: %s", line)
		}
	}
}
