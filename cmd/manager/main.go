// Command manager runs the ltv-operator controllers.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones for spec.timeZone in images without /usr/share/zoneinfo

	_ "golang.org/x/crypto/x509roots/fallback" // CA roots for TLS (HTTP sources) in images without /etc/ssl

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/controllers"
	"github.com/ltv-operator/ltv-operator/internal/version"
)

func main() {
	var (
		metricsAddr   string
		probeAddr     string
		leaderElect   bool
		concurrent    int
		runTimeout    time.Duration
		leaderElectNS string
		showVersion   bool
		watchNS       string
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "Address the Prometheus metrics endpoint binds to; 0 disables it.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the health (/healthz) and readiness (/readyz) probes bind to.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader so that only one of several replicas runs computations.")
	flag.StringVar(&leaderElectNS, "leader-election-namespace", "", "Namespace of the leader election lease (default: the pod's namespace).")
	flag.IntVar(&concurrent, "max-concurrent-runs", 2, "Computations run at the same time (each uses all cores while fitting).")
	flag.DurationVar(&runTimeout, "run-timeout", 30*time.Minute, "Longest one computation may run.")
	flag.BoolVar(&showVersion, "version", false, "Print the version and exit.")
	flag.StringVar(&watchNS, "watch-namespaces", "", "Comma-separated namespaces whose computations, segments, ConfigMaps and Secrets the manager watches (default: all).")
	opts := zap.Options{Development: false}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	if showVersion {
		fmt.Println("manager", version.String())
		return
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        "ltv-operator.analytics.ltv-operator.io",
		LeaderElectionNamespace: leaderElectNS,
		// The next leader starts at once when this one stops (a rollout, a deleted Pod) instead of
		// waiting for the lease to expire; safe because the process exits when the manager returns.
		LeaderElectionReleaseOnCancel: true,
		Cache:                         cache.Options{DefaultNamespaces: namespaces(watchNS)},
	})
	if err != nil {
		log.Error(err, "unable to create the manager")
		os.Exit(1)
	}
	if err := controllers.Setup(mgr, controllers.Options{
		Clock:         clock.RealClock{},
		MaxConcurrent: concurrent,
		RunTimeout:    runTimeout,
	}); err != nil {
		log.Error(err, "unable to set up the controllers")
		os.Exit(1)
	}
	utilruntime.Must(mgr.AddHealthzCheck("healthz", healthz.Ping))
	utilruntime.Must(mgr.AddReadyzCheck("readyz", healthz.Ping))

	log.Info("starting the manager", "version", version.String())
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "manager stopped with an error")
		os.Exit(1)
	}
}

// namespaces is the cache's namespace set for --watch-namespaces; nil (all namespaces) when empty.
func namespaces(list string) map[string]cache.Config {
	var m map[string]cache.Config
	for _, ns := range strings.Split(list, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			if m == nil {
				m = map[string]cache.Config{}
			}
			m[ns] = cache.Config{}
		}
	}
	return m
}
