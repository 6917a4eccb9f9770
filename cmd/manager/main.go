// Command manager runs the ltv-operator controllers.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones for spec.timeZone in images without /usr/share/zoneinfo

	_ "golang.org/x/crypto/x509roots/fallback" // CA roots for TLS (HTTP sources) in images without /etc/ssl

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/controllers"
	"github.com/ltv-operator/ltv-operator/internal/jobrun"
	"github.com/ltv-operator/ltv-operator/internal/netpolicy"
	"github.com/ltv-operator/ltv-operator/internal/version"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "job" {
		// A Job-mode run's Pod: the same image, another entry point (internal/jobrun).
		os.Exit(jobrun.Main(ctrl.SetupSignalHandler(), os.Getenv, os.Stdout, os.Stderr))
	}
	var (
		metricsAddr   string
		probeAddr     string
		leaderElect   bool
		concurrent    int
		runTimeout    time.Duration
		leaderElectNS string
		showVersion   bool
		watchNS       string
		defaultExec   string
		jobImage      string
		jobTTL        time.Duration
		jobsPerNS     int
		readSecrets   bool
		allowCIDRs    string
		allowHosts    string
		denyCIDRs     string
		secureMetrics bool
		metricsCerts  string
		pprofAddr     string
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "Address the Prometheus metrics endpoint binds to; 0 disables it.")
	flag.BoolVar(&secureMetrics, "metrics-secure", true, "Serve metrics over HTTPS, to clients that authenticate with a token allowed to get the /metrics non-resource URL (ClusterRole metrics-reader); false serves plain HTTP to anyone (local use only).")
	flag.StringVar(&metricsCerts, "metrics-cert-dir", "", "Directory with tls.crt and tls.key for the metrics endpoint; empty: a self-signed certificate generated at start.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "", "Address the Go profiler (net/http/pprof) binds to; empty (the default) disables it. It serves without authentication: bind to localhost.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the health (/healthz) and readiness (/readyz) probes bind to.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader so that only one of several replicas runs computations.")
	flag.StringVar(&leaderElectNS, "leader-election-namespace", "", "Namespace of the leader election lease (default: the pod's namespace).")
	flag.IntVar(&concurrent, "max-concurrent-runs", 2, "Computations run at the same time (each uses all cores while fitting).")
	flag.DurationVar(&runTimeout, "run-timeout", 30*time.Minute, "Longest one computation may run.")
	flag.BoolVar(&showVersion, "version", false, "Print the version and exit.")
	flag.StringVar(&watchNS, "watch-namespaces", "", "Comma-separated namespaces whose computations, segments, ConfigMaps and Secrets the manager watches (default: all).")
	flag.StringVar(&defaultExec, "default-execution", string(v1alpha1.ExecutionInProcess), "Where runs of computations without spec.execution.mode execute: InProcess (in the manager) or Job (a Job in the computation's namespace).")
	flag.StringVar(&jobImage, "job-image", os.Getenv("LTV_JOB_IMAGE"), "Image of Job-mode runs (default: $LTV_JOB_IMAGE, else the manager's own image, read from its Pod).")
	flag.DurationVar(&jobTTL, "job-ttl", time.Hour, "How long finished run Jobs (and their Pods' logs) are kept (ttlSecondsAfterFinished).")
	flag.IntVar(&jobsPerNS, "max-jobs-per-namespace", 4, "Job-mode runs running at once in one namespace; more wait (reason Queued).")
	flag.BoolVar(&readSecrets, "read-secrets", true, "Read and watch Secrets (InProcess computations with PostgreSQL or HTTP-header credentials). false: the manager reads no Secret; such computations need Job mode.")
	flag.StringVar(&allowCIDRs, "http-source-allow-cidrs", "", "Comma-separated CIDRs that http sources may reach although the default policy refuses them (loopback, link-local, cloud metadata, the API server), e.g. 10.77.0.1/32.")
	flag.StringVar(&allowHosts, "http-source-allow-hosts", "", "Comma-separated host names (or *.domain patterns) that http sources may reach whatever their addresses.")
	flag.StringVar(&denyCIDRs, "http-source-deny-cidrs", "", "Comma-separated CIDRs that http sources may never reach (over the allow lists), e.g. the cluster's node or Pod ranges.")
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

	if defaultExec != string(v1alpha1.ExecutionInProcess) && defaultExec != string(v1alpha1.ExecutionJob) {
		log.Error(fmt.Errorf("%q is neither InProcess nor Job", defaultExec), "invalid --default-execution")
		os.Exit(1)
	}
	cacheOpts := cache.Options{DefaultNamespaces: namespaces(watchNS), ByObject: map[client.Object]cache.ByObject{
		// Only the operator's own Jobs are cached.
		&batchv1.Job{}: {Label: labels.SelectorFromSet(labels.Set{controllers.LabelManagedBy: controllers.ManagedByValue})},
	}}
	restConfig := ctrl.GetConfigOrDie()
	if jobImage == "" {
		jobImage = ownImage(restConfig)
	}
	apiAddrs := apiServerAddresses(restConfig)
	policyConfig := netpolicy.Config{
		AllowCIDRs: splitList(allowCIDRs),
		AllowHosts: splitList(allowHosts),
		DenyCIDRs:  splitList(denyCIDRs),
		APIServer:  apiAddrs,
	}
	policy, err := netpolicy.New(policyConfig)
	if err != nil {
		log.Error(err, "invalid http source policy")
		os.Exit(1)
	}
	log.Info("http source policy", "allowCIDRs", splitList(allowCIDRs), "allowHosts", splitList(allowHosts),
		"denyCIDRs", splitList(denyCIDRs), "apiServerAddresses", apiAddrs)

	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsOptions(metricsAddr, secureMetrics, metricsCerts),
		PprofBindAddress:        pprofAddr,
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        "ltv-operator.analytics.ltv-operator.io",
		LeaderElectionNamespace: leaderElectNS,
		// The next leader starts at once when this one stops (a rollout, a deleted Pod) instead of
		// waiting for the lease to expire; safe because the process exits when the manager returns.
		LeaderElectionReleaseOnCancel: true,
		Cache:                         cacheOpts,
	})
	if err != nil {
		log.Error(err, "unable to create the manager")
		os.Exit(1)
	}
	if err := controllers.Setup(mgr, controllers.Options{
		Clock:         clock.RealClock{},
		MaxConcurrent: concurrent,
		RunTimeout:    runTimeout,

		DefaultExecution: v1alpha1.ExecutionMode(defaultExec),
		Jobs: controllers.JobOptions{Image: jobImage, TTL: jobTTL, MaxPerNamespace: jobsPerNS,
			HTTPSourcePolicy: &policyConfig},
		NoSecrets: !readSecrets,
		// refuses loopback, link-local, cloud metadata and the API server unless allowed
		HTTPSourcePolicy: policy,
	}); err != nil {
		log.Error(err, "unable to set up the controllers")
		os.Exit(1)
	}
	utilruntime.Must(mgr.AddHealthzCheck("healthz", healthz.Ping))
	utilruntime.Must(mgr.AddReadyzCheck("readyz", healthz.Ping))

	log.Info("starting the manager", "version", version.String(), "defaultExecution", defaultExec, "jobImage", jobImage, "readSecrets", readSecrets)
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

// ownImage is the image of the manager's own container, read from its Pod ($POD_NAME and
// $POD_NAMESPACE from the downward API); "" when it cannot be known (outside a cluster).
func ownImage(cfg *rest.Config) string {
	name, ns := os.Getenv("POD_NAME"), os.Getenv("POD_NAMESPACE")
	if name == "" || ns == "" {
		return ""
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pod, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	for _, c := range pod.Status.ContainerStatuses {
		if c.Name == "manager" && c.ImageID != "" && !strings.HasPrefix(c.Image, "sha256:") {
			return c.Image
		}
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == "manager" {
			return c.Image
		}
	}
	return ""
}

// metricsOptions serves the metrics over HTTPS with authentication (TokenReview) and
// authorization (SubjectAccessReview of "get" on the /metrics URL) unless secure is false.
func metricsOptions(addr string, secure bool, certDir string) metricsserver.Options {
	opts := metricsserver.Options{BindAddress: addr, SecureServing: secure}
	if secure {
		opts.FilterProvider = filters.WithAuthenticationAndAuthorization
		if certDir != "" {
			opts.CertDir = certDir
			opts.CertName = "tls.crt"
			opts.KeyName = "tls.key"
		}
	}
	return opts
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// apiServerAddresses are the API server's own addresses, which http sources must not reach: the
// host of the manager's configuration (in a Pod, the kubernetes Service's IP), that Service's IP
// from the environment, and the IP addresses its serving certificate names (its advertise
// address, the Service IP), read from a TLS handshake at start, so that no RBAC on Endpoints
// is needed. Best effort: what cannot be learnt is logged, and --http-source-deny-cidrs adds more.
func apiServerAddresses(cfg *rest.Config) []netip.Addr {
	log := ctrl.Log.WithName("setup")
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	add := func(a netip.Addr) {
		if a = a.Unmap(); a.IsValid() && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	addHost := func(host string) {
		if host == "" {
			return
		}
		if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
			add(a)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			log.Info("cannot resolve the API server's host name for the http source policy", "host", host, "error", err.Error())
		}
		for _, a := range addrs {
			add(a)
		}
	}
	addHost(os.Getenv("KUBERNETES_SERVICE_HOST"))
	u, err := url.Parse(cfg.Host)
	if err != nil || u.Host == "" {
		u = &url.URL{Scheme: "https", Host: cfg.Host}
	}
	addHost(u.Hostname())
	if u.Scheme == "https" {
		tlsCfg, err := rest.TLSConfigFor(cfg)
		if err == nil && tlsCfg != nil {
			port := u.Port()
			if port == "" {
				port = "443"
			}
			d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: tlsCfg}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
			cancel()
			if err != nil {
				log.Info("cannot read the API server's certificate for the http source policy", "error", err.Error())
			} else {
				if certs := conn.(*tls.Conn).ConnectionState().PeerCertificates; len(certs) > 0 {
					for _, ip := range certs[0].IPAddresses {
						if a, ok := netip.AddrFromSlice(ip); ok {
							add(a)
						}
					}
				}
				conn.Close()
			}
		}
	}
	return out
}
