package controllers

import (
	"time"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Options configure the controllers.
type Options struct {
	Clock         clock.PassiveClock
	MaxConcurrent int
	RunTimeout    time.Duration
	// Wakeup is a test hook: the LTVComputation controller reconciles the objects sent on it,
	// so tests that step a fake Clock can make it look again (RequeueAfter waits in real
	// time). Production leaves it nil.
	Wakeup <-chan event.GenericEvent
}

// Setup registers both controllers with the manager. The manager binary and the integration
// tests call it, so tests run the wiring that ships.
func Setup(mgr ctrl.Manager, opts Options) error {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.MaxConcurrent < 1 {
		opts.MaxConcurrent = 1
	}
	ltv := &LTVComputationReconciler{
		Client:     mgr.GetClient(),
		Scheme:     mgr.GetScheme(),
		Recorder:   mgr.GetEventRecorder("ltv-operator"),
		Clock:      opts.Clock,
		RunTimeout: opts.RunTimeout,
		Wakeup:     opts.Wakeup,
	}
	m, err := NewMetrics(metrics.Registry)
	if err != nil {
		return err
	}
	ltv.Metrics = m
	ltv.HTTPSource = resolveHTTPSource
	ltv.PostgresSource = resolvePostgresSource
	ltv.CustomersSink = writePostgresCustomers
	if err := ltv.SetupWithManager(mgr, opts.MaxConcurrent); err != nil {
		return err
	}
	seg := &CustomerSegmentReconciler{
		Client:   mgr.GetClient(),
		Scheme:   mgr.GetScheme(),
		Recorder: mgr.GetEventRecorder("ltv-operator"),
	}
	return seg.SetupWithManager(mgr)
}
