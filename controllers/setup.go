package controllers

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/netpolicy"
	"github.com/ltv-operator/ltv-operator/internal/runpolicy"
)

// The manager's metrics endpoint authenticates scrapers with TokenReviews and authorizes them
// with SubjectAccessReviews (--metrics-secure, the default).
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// Options configure the controllers.
type Options struct {
	Clock         clock.PassiveClock
	MaxConcurrent int
	RunTimeout    time.Duration
	// Wakeup is a test hook: the LTVComputation controller reconciles the objects sent on it,
	// so tests that step a fake Clock can make it look again (RequeueAfter waits in real
	// time). Production leaves it nil.
	Wakeup <-chan event.GenericEvent
	// DefaultExecution is the mode of computations that set none (InProcess when empty).
	DefaultExecution v1alpha1.ExecutionMode
	// Jobs configures Job mode. Setup fills APIReader and, when nil, Results (the Pods' logs).
	Jobs JobOptions
	// NoSecrets: the manager reads and watches no Secret (its RBAC grants none); computations
	// that need one must run as Jobs.
	NoSecrets bool
	// RetryBackoff is the wait before retrying a run that failed transiently; nil:
	// runpolicy.DefaultBackoff.
	RetryBackoff *runpolicy.Backoff
	// HTTPSourcePolicy decides which addresses http sources may reach (the manager's
	// --http-source-* flags); nil means the safe default: loopback, link-local, cloud metadata
	// and unspecified addresses refused.
	HTTPSourcePolicy *netpolicy.Policy
}

// Setup registers both controllers with the manager. The manager binary and the integration
// tests call it, so tests run the wiring that ships.
func Setup(mgr ctrl.Manager, opts Options) error {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.HTTPSourcePolicy == nil {
		p, err := netpolicy.New(netpolicy.Config{})
		if err != nil {
			return err
		}
		opts.HTTPSourcePolicy = p
	}
	if opts.MaxConcurrent < 1 {
		opts.MaxConcurrent = 1
	}
	// ConfigMaps and Secrets are read directly, never cached (see directContent).
	c := withDirectContent(mgr.GetClient(), mgr.GetAPIReader())
	ltv := &LTVComputationReconciler{
		Client:     c,
		Scheme:     mgr.GetScheme(),
		Recorder:   mgr.GetEventRecorder("ltv-operator"),
		Clock:      opts.Clock,
		RunTimeout: opts.RunTimeout,
		Wakeup:     opts.Wakeup,

		DefaultExecution: opts.DefaultExecution,
		Jobs:             opts.Jobs,
		NoSecrets:        opts.NoSecrets,
		RetryBackoff:     opts.RetryBackoff,
	}
	ltv.Jobs.APIReader = mgr.GetAPIReader()
	ltv.APIReader = mgr.GetAPIReader()
	if ltv.Jobs.Results == nil {
		logs, err := PodLogReader(mgr.GetConfig())
		if err != nil {
			return err
		}
		ltv.Jobs.Results = logs
	}
	m, err := NewMetrics(metrics.Registry)
	if err != nil {
		return err
	}
	ltv.Metrics = m
	policy := opts.HTTPSourcePolicy
	ltv.HTTPSource = func(ctx context.Context, c client.Client, obj *v1alpha1.LTVComputation) (*resolvedSource, error) {
		return resolveHTTPSource(ctx, c, obj, policy)
	}
	ltv.PostgresSource = resolvePostgresSource
	ltv.CustomersSink = writePostgresCustomers
	if !opts.NoSecrets {
		ltv.DeleteRows = deletePostgresCustomers
	}
	if err := ltv.SetupWithManager(mgr, opts.MaxConcurrent); err != nil {
		return err
	}
	seg := &CustomerSegmentReconciler{
		Client:   c,
		Scheme:   mgr.GetScheme(),
		Recorder: mgr.GetEventRecorder("ltv-operator"),
	}
	return seg.SetupWithManager(mgr)
}

// PodLogReader reads the end of a run Pod's log through the API server (pods/log): the last
// lines, at most limit bytes, of the run container.
func PodLogReader(cfg *rest.Config) (ResultReader, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, pod *corev1.Pod, limit int64) ([]byte, error) {
		tail := int64(2)
		return cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{
			Container: jobContainer, TailLines: &tail, LimitBytes: &limit,
		}).DoRaw(ctx)
	}, nil
}
