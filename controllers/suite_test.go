package controllers_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/controllers"
	"github.com/ltv-operator/ltv-operator/internal/runpolicy"
)

// The suite runs the operator's controllers, wired as the manager binary wires them, against a
// real kube-apiserver and etcd (envtest). KUBEBUILDER_ASSETS or bin/k8s provides the binaries
// (make envtest).
var (
	k8sClient client.Client
	testEnv   *envtest.Environment
	fakeClock *clocktesting.FakeClock
	scheme    = runtime.NewScheme()
	nsCounter atomic.Int64
	// wakeups reaches the controllers.Options.Wakeup hook: see wakeup.
	wakeups = make(chan event.GenericEvent, 1024)
	// apiCalls counts what the manager's client does, per namespace: see countingClient.
	apiCalls = &callCounts{byNamespace: map[string]*namespaceCalls{}}
	// managerClient reads from the operator's informer cache.
	managerClient client.Client
	// suiteLogs has what the suite's manager logged (errors, or everything with TEST_VERBOSE):
	// tests look for "Reconciler error" there.
	suiteLogs = &syncBuffer{}
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	logf.SetLogger(zap.New(zap.WriteTo(io.MultiWriter(os.Stderr, suiteLogs)), zap.UseDevMode(false), zap.Level(zapLevel())))
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))

	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join("..", "bin", "k8s")
	}
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err := testEnv.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the test control plane (run `make envtest`): %v\n", err)
		return 1
	}
	defer func() { _ = testEnv.Stop() }()

	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		// Tests that run managers of their own use namespaces this one does not see.
		Cache: cache.Options{DefaultFieldSelector: fields.AndSelectors(
			fields.OneTermNotEqualSelector("metadata.namespace", rbacNamespace),
			fields.OneTermNotEqualSelector("metadata.namespace", restartNamespace))},
		NewClient: func(config *rest.Config, options client.Options) (client.Client, error) {
			c, err := client.New(config, options)
			if err != nil {
				return nil, err
			}
			return &countingClient{Client: c, counts: apiCalls}, nil
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	managerClient = mgr.GetClient()
	fakeClock = clocktesting.NewFakeClock(time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC))
	if err := controllers.Setup(mgr, controllers.Options{Clock: fakeClock, MaxConcurrent: 4, RunTimeout: time.Minute, Wakeup: wakeups, HTTPSourcePolicy: suiteHTTPPolicy,
		// fakeClock stands still unless a test moves it: retries must not wait for it.
		RetryBackoff: &runpolicy.Backoff{}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	code := m.Run()
	cancel()
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
	}
	return code
}

func zapLevel() zapcore.Level {
	if os.Getenv("TEST_VERBOSE") != "" {
		return -1
	}
	return 2
}

// newNamespace creates a namespace of the test's own.
func newNamespace(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%s", nsCounter.Add(1), strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())))
	if len(name) > 60 {
		name = name[:60]
	}
	name = strings.TrimRight(name, "-")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k8sClient.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return name
}

// eventually polls cond until it returns true or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last state: %s", timeout, what, last)
}

func getLTV(t *testing.T, ns, name string) *v1alpha1.LTVComputation {
	t.Helper()
	var obj v1alpha1.LTVComputation
	if err := k8sClient.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &obj); err != nil {
		t.Fatal(err)
	}
	return &obj
}

func describe(obj *v1alpha1.LTVComputation) string {
	var parts []string
	for _, c := range obj.Status.Conditions {
		parts = append(parts, fmt.Sprintf("%s=%s(%s: %s)", c.Type, c.Status, c.Reason, c.Message))
	}
	return fmt.Sprintf("gen=%d observed=%d runs=%d conditions=[%s]", obj.Generation, obj.Status.ObservedGeneration, len(obj.Status.RecentRuns), strings.Join(parts, "; "))
}

// waitCondition waits until the computation's condition has the status and reason, for the
// current generation.
func waitCondition(t *testing.T, ns, name, condType string, status metav1.ConditionStatus, reason string) *v1alpha1.LTVComputation {
	t.Helper()
	var obj *v1alpha1.LTVComputation
	eventually(t, 30*time.Second, fmt.Sprintf("%s %s=%s reason %s", name, condType, status, reason), func() (bool, string) {
		obj = getLTV(t, ns, name)
		c := meta.FindStatusCondition(obj.Status.Conditions, condType)
		ok := c != nil && c.Status == status && (reason == "" || c.Reason == reason) && obj.Status.ObservedGeneration == obj.Generation
		return ok, describe(obj)
	})
	return obj
}

// waitRuns waits until the computation has recorded n runs.
func waitRuns(t *testing.T, ns, name string, n int) *v1alpha1.LTVComputation {
	t.Helper()
	var obj *v1alpha1.LTVComputation
	eventually(t, 30*time.Second, fmt.Sprintf("%s to record %d runs", name, n), func() (bool, string) {
		obj = getLTV(t, ns, name)
		return len(obj.Status.RecentRuns) >= n && meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReconciling) == nil ||
			len(obj.Status.RecentRuns) >= n && meta.IsStatusConditionTrue(obj.Status.Conditions, v1alpha1.ConditionStalled), describe(obj)
	})
	return obj
}

// waitCached waits until the operator's informer cache has the object, so that a test creating
// a ConfigMap and then a computation knows the controller will find the ConfigMap at once.
func waitCached(t *testing.T, obj client.Object) {
	t.Helper()
	key := client.ObjectKeyFromObject(obj)
	into := obj.DeepCopyObject().(client.Object)
	switch obj.(type) {
	case *corev1.ConfigMap, *corev1.Secret:
		// The operator caches these by metadata only: a typed Get would start a full informer.
		gvk, err := apiutil.GVKForObject(obj, scheme)
		if err != nil {
			t.Fatal(err)
		}
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(gvk)
		into = m
	}
	eventually(t, 10*time.Second, "the operator's cache to have "+key.String(), func() (bool, string) {
		err := managerClient.Get(context.Background(), key, into)
		return err == nil, fmt.Sprint(err)
	})
}

// wakeup makes the LTVComputation controller reconcile the computation now. Tests that step
// fakeClock need it: the controller's RequeueAfter waits in real time.
func wakeup(ns, name string) {
	wakeups <- event.GenericEvent{Object: &v1alpha1.LTVComputation{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}}
}

// callCounts counts the manager client's calls per namespace.
type callCounts struct {
	mu          sync.Mutex
	byNamespace map[string]*namespaceCalls
}

// namespaceCalls are the calls in one namespace. Reconciles counts Gets of LTVComputations
// by name: the LTVComputation controller gets the object exactly once per reconcile, and
// nothing else in the operator gets one. Writes are by verb and kind ("patch status
// LTVComputation").
type namespaceCalls struct {
	Reconciles map[string]int
	Writes     map[string]int
}

func (c *callCounts) add(ns, name, write string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.byNamespace[ns]
	if n == nil {
		n = &namespaceCalls{Reconciles: map[string]int{}, Writes: map[string]int{}}
		c.byNamespace[ns] = n
	}
	if write == "" {
		n.Reconciles[name]++
	} else {
		n.Writes[write]++
	}
}

// snapshot copies the counts of one namespace.
func (c *callCounts) snapshot(ns string) namespaceCalls {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := namespaceCalls{Reconciles: map[string]int{}, Writes: map[string]int{}}
	if n := c.byNamespace[ns]; n != nil {
		for k, v := range n.Reconciles {
			out.Reconciles[k] = v
		}
		for k, v := range n.Writes {
			out.Writes[k] = v
		}
	}
	return out
}

func sum(m map[string]int) int {
	t := 0
	for _, v := range m {
		t += v
	}
	return t
}

func kindOf(obj runtime.Object) string {
	t := reflect.TypeOf(obj)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// countingClient wraps the manager's client to count reconciles and API writes.
type countingClient struct {
	client.Client
	counts *callCounts
}

func (c *countingClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if _, ok := obj.(*v1alpha1.LTVComputation); ok {
		c.counts.add(key.Namespace, key.Name, "")
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

func (c *countingClient) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	c.counts.add(obj.GetNamespace(), obj.GetName(), "create "+kindOf(obj))
	return c.Client.Create(ctx, obj, opts...)
}

func (c *countingClient) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	c.counts.add(obj.GetNamespace(), obj.GetName(), "update "+kindOf(obj))
	return c.Client.Update(ctx, obj, opts...)
}

func (c *countingClient) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	c.counts.add(obj.GetNamespace(), obj.GetName(), "patch "+kindOf(obj))
	return c.Client.Patch(ctx, obj, patch, opts...)
}

func (c *countingClient) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	c.counts.add(obj.GetNamespace(), obj.GetName(), "delete "+kindOf(obj))
	return c.Client.Delete(ctx, obj, opts...)
}

func (c *countingClient) Status() client.SubResourceWriter {
	return &countingStatusWriter{SubResourceWriter: c.Client.Status(), counts: c.counts}
}

type countingStatusWriter struct {
	client.SubResourceWriter
	counts *callCounts
}

func (w *countingStatusWriter) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	w.counts.add(obj.GetNamespace(), obj.GetName(), "update status "+kindOf(obj))
	return w.SubResourceWriter.Update(ctx, obj, opts...)
}

func (w *countingStatusWriter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	w.counts.add(obj.GetNamespace(), obj.GetName(), "patch status "+kindOf(obj))
	return w.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}
