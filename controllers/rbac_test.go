package controllers_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/controllers"
)

// rbacNamespace is the namespace of TestManagerUnderGeneratedRBAC; the suite's own manager
// leaves it alone, so that only the manager under test reconciles it.
const rbacNamespace = "ltv-rbac"

const (
	operatorNamespace = "ltv-operator-system"
	operatorSA        = "ltv-operator-controller-manager"
)

// syncBuffer is a log sink safe for the manager's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// readManifests decodes the YAML documents of a file of config/rbac.
func readManifests[T any](t *testing.T, file string) []T {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "config", "rbac", file))
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for _, doc := range strings.Split(string(data), "\n---") {
		if strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(doc), "---")) == "" {
			continue
		}
		var v T
		if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out = append(out, v)
	}
	return out
}

func createOrFail(t *testing.T, obj client.Object) {
	t.Helper()
	if err := k8sClient.Create(context.Background(), obj); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// The manager runs as the operator's ServiceAccount bound ONLY to the generated roles
// (config/rbac/role.yaml cluster-wide, leader_election_role.yaml in the operator's namespace),
// with leader election on, as in a cluster: a computation reaches Ready, its Event is written,
// the lease is held, and no request is forbidden. A verb missing from the markers fails here.
func TestManagerUnderGeneratedRBAC(t *testing.T) {
	ctx := context.Background()
	createOrFail(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}})
	createOrFail(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: rbacNamespace}})
	subject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: operatorSA, Namespace: operatorNamespace}

	for _, cr := range readManifests[rbacv1.ClusterRole](t, "role.yaml") {
		cr.Name = "rbac-test-" + cr.Name
		createOrFail(t, &cr)
		createOrFail(t, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: cr.Name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cr.Name},
			Subjects:   []rbacv1.Subject{subject},
		})
	}
	for _, r := range readManifests[rbacv1.Role](t, "leader_election_role.yaml") {
		r.Namespace = operatorNamespace
		createOrFail(t, &r)
		createOrFail(t, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: r.Name, Namespace: operatorNamespace},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: r.Name},
			Subjects:   []rbacv1.Subject{subject},
		})
	}

	cfg := rest.CopyConfig(testEnv.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + operatorNamespace + ":" + operatorSA,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + operatorNamespace, "system:authenticated"},
	}
	logs := &syncBuffer{}
	// client-go reports refused Events (the leader election's among them) through klog
	klog.SetLogger(zap.New(zap.WriteTo(logs), zap.UseDevMode(false)))
	defer klog.ClearLogger()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme,
		Logger:                        zap.New(zap.WriteTo(logs), zap.UseDevMode(false)),
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		LeaderElection:                true,
		LeaderElectionID:              "ltv-operator.analytics.ltv-operator.io",
		LeaderElectionNamespace:       operatorNamespace,
		LeaderElectionReleaseOnCancel: true,
		// cluster-wide list and watch, as the operator does, limited to this test's namespace
		// by a field selector so that the suite's objects are not reconciled twice
		Cache:      cache.Options{DefaultFieldSelector: fields.OneTermEqualSelector("metadata.namespace", rbacNamespace)},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := controllers.Setup(mgr, controllers.Options{Clock: clock.RealClock{}, MaxConcurrent: 1, RunTimeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
		if t.Failed() {
			t.Logf("manager logs:\n%s", logs.String())
		}
	}()

	createShop(t, rbacNamespace, nil)
	waitCondition(t, rbacNamespace, "shop", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
	eventually(t, 30*time.Second, "the run's Event and the leader lease", func() (bool, string) {
		var evs eventsv1.EventList
		if err := k8sClient.List(ctx, &evs, client.InNamespace(rbacNamespace)); err != nil {
			return false, err.Error()
		}
		var lease coordinationv1.Lease
		if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "ltv-operator.analytics.ltv-operator.io"}, &lease); err != nil {
			return false, err.Error()
		}
		if len(evs.Items) == 0 {
			return false, "no Event"
		}
		return lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "", "lease not held"
	})
	for _, line := range strings.Split(logs.String(), "\n") {
		if l := strings.ToLower(line); strings.Contains(l, "forbidden") || strings.Contains(l, "reconciler error") {
			t.Errorf("manager log: %s", line)
		}
	}
}
