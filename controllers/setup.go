package controllers

import (
	"time"

	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
)

// Options configure the controllers.
type Options struct {
	Clock         clock.PassiveClock
	MaxConcurrent int
	RunTimeout    time.Duration
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
	}
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
