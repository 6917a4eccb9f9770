package controllers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/ltv-operator/ltv-operator/controllers"
	"github.com/ltv-operator/ltv-operator/internal/runpolicy"
)

// restartNamespace is seen only by the managers TestBackoffSurvivesRestart starts and stops,
// not by the suite's.
const restartNamespace = "ltv-restart"

// startRestartManager runs the operator's controllers in a manager of its own, on a real clock,
// watching restartNamespace only; its API writes are counted in counts. stop stops it.
func startRestartManager(t *testing.T, counts *callCounts, backoff runpolicy.Backoff) (stop func()) {
	t.Helper()
	logs := &syncBuffer{}
	mgr, err := ctrl.NewManager(testEnv.Config, ctrl.Options{
		Scheme:     scheme,
		Logger:     zap.New(zap.WriteTo(logs), zap.UseDevMode(false)),
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Cache:      cache.Options{DefaultFieldSelector: fields.OneTermEqualSelector("metadata.namespace", restartNamespace)},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		NewClient: func(cfg *rest.Config, o client.Options) (client.Client, error) {
			c, err := client.New(cfg, o)
			if err != nil {
				return nil, err
			}
			return &countingClient{Client: c, counts: counts}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := controllers.Setup(mgr, controllers.Options{Clock: clock.RealClock{}, MaxConcurrent: 1, RunTimeout: time.Minute,
		HTTPSourcePolicy: suiteHTTPPolicy, RetryBackoff: &backoff}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("manager: %v", err)
			}
			if t.Failed() {
				t.Logf("manager logs:\n%s", logs.String())
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// A computation failing transiently keeps its backoff across a restart of the operator: the
// restarted manager retries at status.nextRetryTime, not at once, and each retry writes status
// once.
func TestBackoffSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	createOrFail(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: restartNamespace}})
	var mu sync.Mutex
	var hits []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, time.Now())
		mu.Unlock()
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	hitCount := func() int { mu.Lock(); defer mu.Unlock(); return len(hits) }

	backoff := runpolicy.Backoff{Initial: 3 * time.Second, Max: time.Minute}
	first := &callCounts{byNamespace: map[string]*namespaceCalls{}}
	stopFirst := startRestartManager(t, first, backoff)
	httpComputation(t, restartNamespace, "flaky", srv.URL+"/tx.csv", nil)
	defer func() { _ = k8sClient.Delete(ctx, getLTV(t, restartNamespace, "flaky")) }()

	eventually(t, 30*time.Second, "two failed attempts recorded", func() (bool, string) {
		o := getLTV(t, restartNamespace, "flaky")
		return o.Status.Failures == 2 && o.Status.NextRetryTime != nil, describe(o)
	})
	stopFirst()
	restarted := time.Now()
	obj := getLTV(t, restartNamespace, "flaky")
	next := obj.Status.NextRetryTime.Time
	if hitCount() != 2 {
		t.Fatalf("%d requests for 2 attempts", hitCount())
	}
	// first attempt: the Reconciling checkpoint and its failure; the retry: its failure only
	if w := first.snapshot(restartNamespace).Writes["patch status LTVComputation"]; w != 3 {
		t.Errorf("%d status writes for two attempts, want 3 (a retry writes once)", w)
	}
	if wait := next.Sub(restarted); wait < 2*time.Second {
		t.Fatalf("the next retry is %s after the restart: too close to tell a continued backoff", wait)
	}

	second := &callCounts{byNamespace: map[string]*namespaceCalls{}}
	startRestartManager(t, second, backoff)
	eventually(t, 30*time.Second, "the retry after the restart", func() (bool, string) {
		return hitCount() >= 3, ""
	})
	mu.Lock()
	third := hits[2]
	mu.Unlock()
	if third.Before(next) {
		t.Errorf("the restarted operator retried at %s, %s after the restart, before status.nextRetryTime %s",
			third.Format(time.StampMilli), third.Sub(restarted).Round(time.Millisecond), next.Format(time.StampMilli))
	}
	eventually(t, 30*time.Second, "the third failure recorded", func() (bool, string) {
		o := getLTV(t, restartNamespace, "flaky")
		return o.Status.Failures == 3, describe(o)
	})
	obj = getLTV(t, restartNamespace, "flaky")
	if obj.Status.NextRetryTime == nil || obj.Status.NextRetryTime.Sub(third) < 11*time.Second {
		t.Errorf("after the third failure the next retry is %v, want 12 s after it (3 s doubling)", obj.Status.NextRetryTime)
	}
	if w := second.snapshot(restartNamespace).Writes["patch status LTVComputation"]; w != 1 {
		t.Errorf("the restarted manager wrote status %d times for one attempt", w)
	}
}
