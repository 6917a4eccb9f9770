//go:build e2e

// Package e2e runs the user journey against the operator installed as users install it: its own
// image, running as a Pod on a real node (hack/node.sh), installed from the Helm chart and then from
// dist/install.yaml. `make e2e` sets the environment:
//
//	KUBECONFIG        the node's admin kubeconfig
//	E2E_IMAGE         the operator image, already in the node's containerd (repository:tag)
//	E2E_HOST_IP       this machine's address on the pods' bridge (servers the pods must reach listen there)
//	E2E_POD_CIDR      the pods' addresses (PostgreSQL lets them in)
//	HELM              the helm binary
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/testutil/pgtest"
)

const (
	operatorNS  = "ltv-operator-system"
	release     = "ltv-operator"
	leaseName   = "ltv-operator.analytics.ltv-operator.io"
	managerUID  = 65532
	cdnowTotal  = "103.56" // CDNOW sample: 2357 customers, revenue / customers (Historical, margin 1)
	cdnowPeople = 2357
)

var (
	root    = mustAbs("../..")
	kubectl = filepath.Join(root, "bin", "k8s", "kubectl")
	k8s     client.Client
	// restConfig is the suite's admin configuration (client-go's typed clients use it).
	restConfig *rest.Config
	// managerLogs collects every manager Pod's log before the Pod goes away, for the RBAC check.
	managerLogs strings.Builder
)

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}

func env(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run the e2e suite with `make e2e` (hack/e2e.sh sets it)", name)
	}
	return v
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}

func setup(t *testing.T) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", env(t, "KUBECONFIG"))
	if err != nil {
		t.Fatal(err)
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	restConfig = cfg
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOperator is the whole journey, in order: each step builds on the previous one.
func TestOperator(t *testing.T) {
	setup(t)
	image := env(t, "E2E_IMAGE")
	hostIP := env(t, "E2E_HOST_IP")
	podCIDR := env(t, "E2E_POD_CIDR")
	repo, tag, _ := strings.Cut(image, ":")

	restrictedNamespace(t, operatorNS)
	helm(t, "install", release, filepath.Join(root, "charts", "ltv-operator"), "-n", operatorNS,
		"--set", "image.repository="+repo, "--set", "image.tag="+tag, "--set", "image.pullPolicy=Never",
		// the http sources of the journey are served by the host, which the default policy
		// refuses when it is the API server's address too
		"--set", "httpSourcePolicy.allowCIDRs={"+hostIP+"/32}",
		"--wait", "--timeout", "3m")
	if !t.Run("manager runs as a Pod under its ServiceAccount as uid 65532", testManagerPod) {
		t.FailNow()
	}
	t.Run("CDNOW Historical from a ConfigMap", func(t *testing.T) { testCDNOWConfigMap(t, "e2e-cdnow") })
	t.Run("PostgreSQL source and scores sink, DSN in a Secret", func(t *testing.T) { testPostgres(t, hostIP, podCIDR) })
	t.Run("metrics scraped from the Pod", testMetrics)
	t.Run("manager Pod deleted during a run", func(t *testing.T) { testPodDeletedDuringRun(t, hostIP) })
	t.Run("two replicas: one leader runs computations, handover", testLeaderElection)
	var jobsNS, jobsDSN string
	t.Run("Job mode: PostgreSQL DSN read by the Pod, not the manager; equal to InProcess", func(st *testing.T) {
		jobsNS, jobsDSN = testJobPostgres(st, t, hostIP, podCIDR)
	})
	if jobsNS != "" {
		t.Run("Job mode: OOMKilled names the limit and keeps the result", func(t *testing.T) { testJobOOM(t, jobsNS, jobsDSN) })
	}
	t.Run("Job mode: a killed run Pod is retried", func(t *testing.T) { testJobPodKilled(t, hostIP) })
	t.Run("Job mode: 20 computations, at most 3 Jobs at once", testJobsConcurrency)
	collectManagerLogs(t)
	t.Run("no RBAC error in the manager's logs", testNoForbidden)
	t.Run("helm uninstall leaves no operator objects", testHelmUninstall)

	t.Run("dist/install.yaml", func(t *testing.T) { testReleaseManifest(t, image) })
}

// ---------------------------------------------------------------------------------------------
// steps

func testManagerPod(t *testing.T) {
	pods := managerPods(t)
	if len(pods) != 1 {
		t.Fatalf("%d manager Pods, want 1", len(pods))
	}
	pod := pods[0]
	if pod.Spec.ServiceAccountName != release {
		t.Errorf("ServiceAccount %q, want %q", pod.Spec.ServiceAccountName, release)
	}
	// The process itself, seen from the node: not what the spec asks for, what runs.
	uid := processUID(t, "/manager")
	if uid != managerUID {
		t.Errorf("the manager process runs as uid %d, want %d", uid, managerUID)
	}
	var ns corev1.Namespace
	must(t, k8s.Get(context.Background(), client.ObjectKey{Name: operatorNS}, &ns))
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace labels %v", ns.Labels)
	}
}

// testCDNOWConfigMap: the CDNOW sample as CSV in a ConfigMap, Historical: 2357 customers and an
// average of 103.56 (the sample's revenue over its customers, recomputed here from the file).
func testCDNOWConfigMap(t *testing.T, ns string) {
	createNamespace(t, ns)
	data := readFile(t, "testdata/cdnow_sample_transactions.csv")
	customers, average := independentHistorical(t, data)
	if customers != cdnowPeople || fmt.Sprintf("%.2f", average) != cdnowTotal {
		t.Fatalf("the test data changed: %d customers, average %.4f", customers, average)
	}
	create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cdnow", Namespace: ns}, Data: map[string]string{"tx.csv": string(data)}})
	create(t, &v1alpha1.LTVComputation{
		ObjectMeta: metav1.ObjectMeta{Name: "cdnow", Namespace: ns},
		Spec: v1alpha1.LTVComputationSpec{
			Source:      v1alpha1.Source{ConfigMap: &v1alpha1.ConfigMapSource{Name: "cdnow", Key: "tx.csv"}},
			Observation: v1alpha1.Observation{End: "1998-06-30", TimeUnit: v1alpha1.TimeUnitWeek},
			Model:       v1alpha1.Model{Type: v1alpha1.ModelHistorical},
		},
	})
	obj := waitReady(t, ns, "cdnow", 2*time.Minute)
	res := obj.Status.Result
	if res.Customers != int64(customers) || res.AverageLTV != fmt.Sprintf("%.2f", average) {
		t.Errorf("customers %d average %s, want %d %.2f", res.Customers, res.AverageLTV, customers, average)
	}
	var cm corev1.ConfigMap
	must(t, k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: res.ResultsConfigMap}, &cm))
	if !strings.Contains(cm.Data["summary.json"], `"customers": 2357`) && !strings.Contains(cm.Data["summary.json"], `"customers":2357`) {
		t.Errorf("summary.json does not say 2357 customers: %.300s", cm.Data["summary.json"])
	}
}

func testPostgres(t *testing.T, hostIP, podCIDR string) {
	srv, err := pgtest.StartListening(hostIP, podCIDR)
	if err != nil {
		pgtest.Unavailable(t, err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	ctx := context.Background()
	dsn, err := srv.CreateDatabase(ctx, "shop")
	must(t, err)
	pgtest.Exec(t, dsn, "CREATE SCHEMA sales", "CREATE SCHEMA analytics")
	pgtest.LoadCSV(t, dsn, "sales.orders", "customer_id text, ordered_at date, total numeric(12,2)",
		readFile(t, "testdata/cdnow_sample_transactions.csv"))

	ns := "e2e-postgres"
	createNamespace(t, ns)
	// The Pod reaches the server at the host's bridge address; the DSN is only in the Secret.
	podDSN := srv.DSNAt(hostIP, "shop")
	create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "warehouse", Namespace: ns}, StringData: map[string]string{"dsn": podDSN}})
	ref := v1alpha1.SecretKeyReference{Name: "warehouse", Key: "dsn"}
	create(t, &v1alpha1.LTVComputation{
		ObjectMeta: metav1.ObjectMeta{Name: "cdnow", Namespace: ns},
		Spec: v1alpha1.LTVComputationSpec{
			Source: v1alpha1.Source{
				Postgres: &v1alpha1.PostgresSource{ConnectionSecretRef: ref, Table: "sales.orders"},
				Columns:  v1alpha1.Columns{CustomerID: "customer_id", Timestamp: "ordered_at", Amount: "total"},
			},
			Observation: v1alpha1.Observation{End: "1998-06-30", TimeUnit: v1alpha1.TimeUnitWeek},
			Model:       v1alpha1.Model{Type: v1alpha1.ModelHistorical},
			Output: v1alpha1.Output{Customers: &v1alpha1.CustomersOutput{
				Postgres: &v1alpha1.PostgresSink{ConnectionSecretRef: ref, Table: "analytics.customer_ltv"}}},
		},
	})
	obj := waitReady(t, ns, "cdnow", 2*time.Minute)
	if obj.Status.Result.Customers != cdnowPeople || obj.Status.Result.AverageLTV != cdnowTotal {
		t.Errorf("customers %d average %s, want %d %s", obj.Status.Result.Customers, obj.Status.Result.AverageLTV, cdnowPeople, cdnowTotal)
	}
	conn, err := pgx.Connect(ctx, dsn)
	must(t, err)
	defer conn.Close(ctx)
	var rows int
	must(t, conn.QueryRow(ctx, "SELECT count(*) FROM analytics.customer_ltv WHERE computation = $1", ns+"/cdnow").Scan(&rows))
	if rows != cdnowPeople {
		t.Errorf("the scores table holds %d rows for %s/cdnow, want %d", rows, ns, cdnowPeople)
	}
	status := fmt.Sprintf("%+v", obj.Status)
	if strings.Contains(status, srv.Password) {
		t.Error("the database password appears in status")
	}

	// deletionPolicy Delete (the default): deleting the computation deletes its rows first (in Job
	// mode through a Job whose Pod gets the DSN from the Secret), then the computation goes.
	must(t, k8s.Delete(ctx, obj))
	waitFor(t, 2*time.Minute, ns+"/cdnow to be deleted with its rows", func() (bool, string) {
		var o v1alpha1.LTVComputation
		err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "cdnow"}, &o)
		if err == nil {
			return false, fmt.Sprintf("still there, finalizers %v", o.Finalizers)
		}
		return apierrors.IsNotFound(err), err.Error()
	})
	must(t, conn.QueryRow(ctx, "SELECT count(*) FROM analytics.customer_ltv WHERE computation = $1", ns+"/cdnow").Scan(&rows))
	if rows != 0 {
		t.Errorf("%d rows of the deleted computation %s/cdnow are left in the scores table", rows, ns)
	}
}

// testMetrics: the metrics are served over HTTPS (self-signed) to a ServiceAccount token bound to
// the chart's metrics-reader ClusterRole; no token is refused (401), and so is a token of a
// ServiceAccount without the binding (403).
func testMetrics(t *testing.T) {
	pod := managerPods(t)[0]
	if pod.Status.PodIP == "" {
		t.Fatal("the manager Pod has no IP")
	}
	ctx := context.Background()
	cs, err := kubernetes.NewForConfig(restConfig)
	must(t, err)
	url := "https://" + net.JoinHostPort(pod.Status.PodIP, "8443") + "/metrics"
	token := func(sa string) string {
		t.Helper()
		_, err := cs.CoreV1().ServiceAccounts(operatorNS).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.CoreV1().ServiceAccounts(operatorNS).Delete(ctx, sa, metav1.DeleteOptions{}) })
		tr, err := cs.CoreV1().ServiceAccounts(operatorNS).CreateToken(ctx, sa,
			&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
		must(t, err)
		return tr.Status.Token
	}

	if code, _ := httpsGet(t, url, ""); code != http.StatusUnauthorized {
		t.Errorf("GET %s without a token: HTTP %d, want 401", url, code)
	}
	if code, _ := httpsGet(t, url, token("e2e-no-metrics")); code != http.StatusForbidden {
		t.Errorf("GET %s with a token not bound to metrics-reader: HTTP %d, want 403", url, code)
	}

	scraper := "e2e-metrics-scraper"
	tok := token(scraper)
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-metrics-scraper"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: release + "-metrics-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: scraper, Namespace: operatorNS}},
	}
	_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})
	must(t, err)
	t.Cleanup(func() { _ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{}) })
	var body string
	// the manager caches authorization decisions for a few seconds
	waitFor(t, time.Minute, "an authorized scrape", func() (bool, string) {
		code, b := httpsGet(t, url, tok)
		body = b
		return code == http.StatusOK, fmt.Sprintf("HTTP %d", code)
	})
	for _, want := range []string{
		`ltv_computation_customers{name="cdnow",namespace="e2e-cdnow"} 2357`,
		`ltv_computation_average_ltv{name="cdnow",namespace="e2e-cdnow"} 103.56`,
		`ltv_computation_runs_total{`,
		`controller_runtime_reconcile_total{`,
	} {
		if !containsSeries(body, want) {
			t.Errorf("/metrics of %s has no %s", pod.Name, want)
		}
	}
}

// testPodDeletedDuringRun: a computation with a result is re-run against a slow HTTP source; the
// manager Pod is deleted in the middle of the download. The run's Job goes on, the Deployment's
// new Pod adopts it and records it exactly once, and the previous result stays in status and in
// the ConfigMap throughout.
func testPodDeletedDuringRun(t *testing.T, hostIP string) {
	url, slow, requests := slowCSVServer(t, hostIP, readFile(t, "testdata/cdnow_sample_transactions.csv"), 200*time.Millisecond)

	ns := "e2e-restart"
	createNamespace(t, ns)
	create(t, &v1alpha1.LTVComputation{
		ObjectMeta: metav1.ObjectMeta{Name: "cdnow", Namespace: ns},
		Spec: v1alpha1.LTVComputationSpec{
			Source:      v1alpha1.Source{HTTP: &v1alpha1.HTTPSource{URL: url}},
			Observation: v1alpha1.Observation{End: "1998-06-30", TimeUnit: v1alpha1.TimeUnitWeek},
			Model:       v1alpha1.Model{Type: v1alpha1.ModelHistorical},
		},
	})
	first := waitReady(t, ns, "cdnow", 2*time.Minute)
	resultsCM := first.Status.Result.ResultsConfigMap

	slow.Store(true)
	before := requests.Load()
	requested := time.Now().UTC().Format(time.RFC3339Nano)
	patchAnnotation(t, ns, "cdnow", "reconcile.fluxcd.io/requestedAt", requested)
	waitFor(t, time.Minute, "the re-run to start downloading", func() (bool, string) {
		return requests.Load() > before, fmt.Sprintf("%d requests", requests.Load())
	})
	time.Sleep(2 * time.Second)
	old := managerPods(t)[0]
	collectManagerLogs(t)
	must(t, k8s.Delete(context.Background(), &old, client.GracePeriodSeconds(5)))

	// Throughout, the last good result stays: status.result and the ConfigMap.
	deadline := time.Now().Add(3 * time.Minute)
	var obj *v1alpha1.LTVComputation
	for {
		obj = getLTV(t, ns, "cdnow")
		if obj.Status.Result == nil || obj.Status.Result.AverageLTV != cdnowTotal {
			t.Fatalf("the previous result is gone during the restart: %+v", obj.Status.Result)
		}
		var cm corev1.ConfigMap
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: resultsCM}, &cm); err != nil {
			t.Fatalf("results ConfigMap during the restart: %v", err)
		}
		if obj.Status.LastHandledReconcileAt == requested && isReady(obj) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the requested run did not finish after the restart: %s", describe(obj))
		}
		time.Sleep(time.Second)
	}
	succeeded := 0
	for _, r := range obj.Status.RecentRuns {
		if r.Succeeded && r.Trigger == "Request" {
			succeeded++
		}
	}
	if succeeded != 1 {
		t.Errorf("%d successful requested runs, want exactly 1: %+v", succeeded, obj.Status.RecentRuns)
	}
	now := managerPods(t)
	if len(now) != 1 || now[0].Name == old.Name {
		t.Fatalf("manager Pods after the delete: %v (deleted %s)", podNames(now), old.Name)
	}
	// The chart runs computations as Jobs: the run went on in its own Pod through the manager's
	// restart, and the new manager adopted it (one download, recorded with its Job).
	if n := requests.Load(); n != before+1 {
		t.Errorf("%d downloads since the request, want the run Job's one", n-before)
	}
	if obj.Status.RecentRuns[0].Job == "" {
		t.Errorf("the requested run did not execute as a Job: %+v", obj.Status.RecentRuns[0])
	}
	if ran := podsThatRan(t, ns); len(ran) != 1 || ran[0] != now[0].Name {
		t.Errorf("the run finished in %v, want the new Pod %s", ran, now[0].Name)
	}
}

// testLeaderElection: with two replicas exactly one Pod holds the lease and runs computations;
// deleting it hands the lease to the other, which then runs them.
func testLeaderElection(t *testing.T) {
	helm(t, "upgrade", release, filepath.Join(root, "charts", "ltv-operator"), "-n", operatorNS,
		"--reuse-values", "--set", "replicaCount=2", "--wait", "--timeout", "3m")
	waitFor(t, 2*time.Minute, "two ready manager Pods", func() (bool, string) {
		pods := managerPods(t)
		ready := 0
		for _, p := range pods {
			if podReady(p) {
				ready++
			}
		}
		return ready == 2 && len(pods) == 2, fmt.Sprintf("%d of %d ready", ready, len(pods))
	})
	leader := leaseHolder(t)
	ns := "e2e-leader"
	testCDNOWConfigMap(t, ns)
	ran := podsThatRan(t, ns)
	if len(ran) != 1 || ran[0] != leader {
		t.Errorf("computation %s/cdnow ran in %v, want only in the leader %s", ns, ran, leader)
	}

	collectManagerLogs(t)
	var pod corev1.Pod
	must(t, k8s.Get(context.Background(), client.ObjectKey{Namespace: operatorNS, Name: leader}, &pod))
	must(t, k8s.Delete(context.Background(), &pod, client.GracePeriodSeconds(0)))
	var next string
	waitFor(t, 2*time.Minute, "another Pod to take the lease", func() (bool, string) {
		next = leaseHolderMaybe(t)
		return next != "" && next != leader, "holder " + next
	})
	ns2 := "e2e-handover"
	testCDNOWConfigMap(t, ns2)
	if ran := podsThatRan(t, ns2); len(ran) != 1 || ran[0] != next {
		t.Errorf("after the handover %s/cdnow ran in %v, want only in the new leader %s", ns2, ran, next)
	}
}

func testNoForbidden(t *testing.T) {
	logs := managerLogs.String()
	if !strings.Contains(logs, "starting the manager") {
		t.Fatalf("no manager log was collected (%d bytes)", len(logs))
	}
	for _, line := range strings.Split(logs, "\n") {
		// An Event refused because its namespace is being deleted is not an RBAC error.
		if strings.Contains(strings.ToLower(line), "forbidden") && !strings.Contains(line, "because it is being terminated") {
			t.Errorf("RBAC error in the manager's log: %s", line)
		}
	}
}

func testHelmUninstall(t *testing.T) {
	helm(t, "uninstall", release, "-n", operatorNS, "--wait", "--timeout", "2m")
	waitFor(t, 2*time.Minute, "the operator's objects to go", func() (bool, string) {
		left := operatorObjects(t)
		return len(left) == 0, strings.Join(left, ", ")
	})
	// The CRDs stay (helm never deletes what crds/ installed), and so do the users' computations.
	var crds metav1.PartialObjectMetadataList
	crds.SetGroupVersionKind(apiextensionsGVK)
	must(t, k8s.List(context.Background(), &crds))
	kept := 0
	for _, c := range crds.Items {
		if strings.HasSuffix(c.Name, ".analytics.ltv-operator.io") {
			kept++
		}
	}
	if kept != 2 {
		t.Errorf("%d of the operator's 2 CRDs are left after helm uninstall; docs/install.md says helm keeps them", kept)
	}
	if obj := getLTV(t, "e2e-cdnow", "cdnow"); obj.Status.Result == nil {
		t.Error("a computation lost its result when the operator was uninstalled")
	}
	deleteNamespaces(t, "e2e-cdnow", "e2e-postgres", "e2e-restart", "e2e-leader", "e2e-handover")
}

// testReleaseManifest: the same image from dist/install.yaml, a computation, and a clean delete.
func testReleaseManifest(t *testing.T, image string) {
	manifest := strings.ReplaceAll(string(readFile(t, "dist/install.yaml")), releaseImage(t), image)
	manifest = strings.ReplaceAll(manifest, "imagePullPolicy: IfNotPresent", "imagePullPolicy: Never")
	path := filepath.Join(t.TempDir(), "install.yaml")
	must(t, os.WriteFile(path, []byte(manifest), 0o644))
	run(t, kubectl, "apply", "--server-side", "--force-conflicts", "-f", path)
	run(t, kubectl, "-n", operatorNS, "rollout", "status", "deployment", "--timeout=3m")
	testCDNOWConfigMap(t, "e2e-manifest")
	collectManagerLogs(t)
	testNoForbidden(t)
	deleteNamespaces(t, "e2e-manifest")
	run(t, kubectl, "delete", "-f", path, "--wait", "--timeout=3m")
	waitFor(t, 2*time.Minute, "everything from dist/install.yaml to go", func() (bool, string) {
		left := operatorObjects(t)
		var ns corev1.Namespace
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: operatorNS}, &ns); err == nil {
			left = append(left, "namespace "+operatorNS)
		}
		var crds metav1.PartialObjectMetadataList
		crds.SetGroupVersionKind(apiextensionsGVK)
		must(t, k8s.List(context.Background(), &crds))
		for _, c := range crds.Items {
			if strings.HasSuffix(c.Name, ".analytics.ltv-operator.io") {
				left = append(left, "crd "+c.Name)
			}
		}
		return len(left) == 0, strings.Join(left, ", ")
	})
}

// ---------------------------------------------------------------------------------------------
// helpers

var apiextensionsGVK = metav1.SchemeGroupVersion.WithKind("CustomResourceDefinitionList")

func init() {
	apiextensionsGVK.Group, apiextensionsGVK.Version = "apiextensions.k8s.io", "v1"
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func helm(t *testing.T, args ...string) string {
	t.Helper()
	return run(t, env(t, "HELM"), args...)
}

func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	must(t, err)
	return b
}

func create(t *testing.T, obj client.Object) {
	t.Helper()
	must(t, k8s.Create(context.Background(), obj))
}

func restrictedNamespace(t *testing.T, name string) {
	t.Helper()
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
	}}})
}

func createNamespace(t *testing.T, name string) {
	t.Helper()
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
}

func deleteNamespaces(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		err := k8s.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting namespace %s: %v", n, err)
		}
	}
}

func getLTV(t *testing.T, ns, name string) *v1alpha1.LTVComputation {
	t.Helper()
	var obj v1alpha1.LTVComputation
	must(t, k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &obj))
	return &obj
}

func isReady(obj *v1alpha1.LTVComputation) bool {
	c := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == obj.Generation && obj.Status.Result != nil
}

func describe(obj *v1alpha1.LTVComputation) string {
	var b strings.Builder
	for _, c := range obj.Status.Conditions {
		fmt.Fprintf(&b, "%s=%s %s: %s; ", c.Type, c.Status, c.Reason, c.Message)
	}
	fmt.Fprintf(&b, "runs %d", len(obj.Status.RecentRuns))
	return b.String()
}

func waitReady(t *testing.T, ns, name string, timeout time.Duration) *v1alpha1.LTVComputation {
	t.Helper()
	var obj *v1alpha1.LTVComputation
	waitFor(t, timeout, ns+"/"+name+" Ready", func() (bool, string) {
		var o v1alpha1.LTVComputation
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &o); err != nil {
			return false, err.Error()
		}
		obj = &o
		return isReady(obj), describe(obj)
	})
	return obj
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			collectManagerLogs(t)
			tail := managerLogs.String()
			if len(tail) > 4000 {
				tail = tail[len(tail)-4000:]
			}
			t.Fatalf("timed out after %v waiting for %s: %s\nmanager logs (tail):\n%s", timeout, what, last, tail)
		}
		time.Sleep(time.Second)
	}
}

func patchAnnotation(t *testing.T, ns, name, key, value string) {
	t.Helper()
	obj := getLTV(t, ns, name)
	patch := client.MergeFrom(obj.DeepCopy())
	if obj.Annotations == nil {
		obj.Annotations = map[string]string{}
	}
	obj.Annotations[key] = value
	must(t, k8s.Patch(context.Background(), obj, patch))
}

func managerPods(t *testing.T) []corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	must(t, k8s.List(context.Background(), &pods, client.InNamespace(operatorNS),
		client.MatchingLabels{"app.kubernetes.io/name": "ltv-operator"}))
	var live []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			live = append(live, p)
		}
	}
	return live
}

func podNames(pods []corev1.Pod) []string {
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	return names
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

var collected = map[string]bool{}
var collectMu sync.Mutex

// collectManagerLogs appends the log of every manager Pod (each Pod's container once per call
// point; the latest wins) to managerLogs.
func collectManagerLogs(t *testing.T) {
	t.Helper()
	var pods corev1.PodList
	if err := k8s.List(context.Background(), &pods, client.InNamespace(operatorNS)); err != nil {
		return
	}
	collectMu.Lock()
	defer collectMu.Unlock()
	for _, p := range pods.Items {
		out, err := exec.Command(kubectl, "-n", operatorNS, "logs", p.Name, "--all-containers").CombinedOutput()
		if err != nil {
			continue
		}
		fmt.Fprintf(&managerLogs, "=== %s\n%s\n", p.Name, out)
	}
}

// podsThatRan names the manager Pods whose log shows a run of a computation in namespace ns.
func podsThatRan(t *testing.T, ns string) []string {
	t.Helper()
	var ran []string
	for _, p := range managerPods(t) {
		out, err := exec.Command(kubectl, "-n", operatorNS, "logs", p.Name).CombinedOutput()
		must(t, err)
		if bytes.Contains(out, []byte(`"run succeeded"`)) && bytes.Contains(out, []byte(`"namespace":"`+ns+`"`)) {
			ran = append(ran, p.Name)
		}
	}
	return ran
}

func leaseHolderMaybe(t *testing.T) string {
	t.Helper()
	var lease coordinationv1.Lease
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: operatorNS, Name: leaseName}, &lease); err != nil {
		return ""
	}
	if lease.Spec.HolderIdentity == nil {
		return ""
	}
	pod, _, _ := strings.Cut(*lease.Spec.HolderIdentity, "_")
	return pod
}

func leaseHolder(t *testing.T) string {
	t.Helper()
	var holder string
	waitFor(t, time.Minute, "a lease holder", func() (bool, string) {
		holder = leaseHolderMaybe(t)
		return holder != "", "none"
	})
	return holder
}

// operatorObjects lists what the chart or the manifest created that still exists.
func operatorObjects(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	var left []string
	sel := client.MatchingLabels{"app.kubernetes.io/name": "ltv-operator"}
	lists := map[string]client.ObjectList{
		"deployment": &appsv1.DeploymentList{}, "pod": &corev1.PodList{}, "service": &corev1.ServiceList{},
		"serviceaccount": &corev1.ServiceAccountList{}, "configmap": &corev1.ConfigMapList{},
	}
	for kind, list := range lists {
		must(t, k8s.List(ctx, list, client.InNamespace(operatorNS), sel))
		items, _ := meta.ExtractList(list)
		for _, it := range items {
			left = append(left, kind+" "+it.(client.Object).GetName())
		}
	}
	for _, kind := range []string{"ClusterRoleList", "ClusterRoleBindingList", "RoleList", "RoleBindingList"} {
		var l metav1.PartialObjectMetadataList
		l.SetGroupVersionKind(metav1.SchemeGroupVersion.WithKind(kind))
		gvk := l.GroupVersionKind()
		gvk.Group, gvk.Version = "rbac.authorization.k8s.io", "v1"
		l.SetGroupVersionKind(gvk)
		opts := []client.ListOption{}
		if strings.HasPrefix(kind, "Role") {
			opts = append(opts, client.InNamespace(operatorNS))
		}
		must(t, k8s.List(ctx, &l, opts...))
		for _, it := range l.Items {
			if strings.HasPrefix(it.Name, "ltv-operator") {
				left = append(left, kind+" "+it.Name)
			}
		}
	}
	return left
}

// processUID finds the process on this node whose command line starts with cmd and returns its
// real uid (from /proc).
func processUID(t *testing.T, cmd string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	must(t, err)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !bytes.HasPrefix(cmdline, append([]byte(cmd), 0)) {
			continue
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		must(t, err)
		sc := bufio.NewScanner(bytes.NewReader(status))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "Uid:" {
				uid, err := strconv.Atoi(f[1])
				must(t, err)
				return uid
			}
		}
	}
	t.Fatalf("no process %s on this node", cmd)
	return -1
}

// httpsGet GETs a URL over HTTPS without checking the certificate (the manager's is self-signed),
// with a bearer token unless it is empty, and returns the status code and the body.
func httpsGet(t *testing.T, url, token string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	must(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, string(b)
}

// containsSeries reports whether the exposition has a line starting with prefix; when prefix ends
// in a value, the value is compared numerically to two decimals.
func containsSeries(body, want string) bool {
	name, value, hasValue := strings.Cut(want, "} ")
	for _, line := range strings.Split(body, "\n") {
		if !hasValue {
			if strings.HasPrefix(line, want) {
				return true
			}
			continue
		}
		if !strings.HasPrefix(line, name+"} ") {
			continue
		}
		got, err1 := strconv.ParseFloat(strings.TrimPrefix(line, name+"} "), 64)
		w, err2 := strconv.ParseFloat(value, 64)
		if err1 == nil && err2 == nil && math.Abs(got-w) < 0.005 {
			return true
		}
	}
	return false
}

// independentHistorical: customers and revenue per customer straight from the CSV.
func independentHistorical(t *testing.T, data []byte) (int, float64) {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	rows, err := r.ReadAll()
	must(t, err)
	seen := map[string]bool{}
	var cents int64
	for _, row := range rows[1:] {
		seen[row[0]] = true
		v, err := strconv.ParseFloat(row[2], 64)
		must(t, err)
		cents += int64(math.Round(v * 100))
	}
	return len(seen), float64(cents) / 100 / float64(len(seen))
}

// releaseImage is the image dist/install.yaml pins.
func releaseImage(t *testing.T) string {
	t.Helper()
	for _, line := range strings.Split(string(readFile(t, "dist/install.yaml")), "\n") {
		if s := strings.TrimSpace(line); strings.HasPrefix(s, "image: ") {
			return strings.TrimPrefix(s, "image: ")
		}
	}
	t.Fatal("dist/install.yaml pins no image")
	return ""
}

// slowCSVServer serves data on hostIP (where the pods reach this machine) at the returned URL:
// at once while slow is false, otherwise in 100 pieces with pause after each, so that a run is in
// the middle of the download for a while. requests counts the GETs.
func slowCSVServer(t *testing.T, hostIP string, data []byte, pause time.Duration) (url string, slow *atomic.Bool, requests *atomic.Int32) {
	t.Helper()
	slow, requests = &atomic.Bool{}, &atomic.Int32{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "text/csv")
		if !slow.Load() {
			_, _ = w.Write(data)
			return
		}
		chunk := len(data)/100 + 1
		for off := 0; off < len(data); off += chunk {
			if _, err := w.Write(data[off:min(off+chunk, len(data))]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(pause):
			}
		}
	})}
	ln, err := net.Listen("tcp", net.JoinHostPort(hostIP, "0"))
	must(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/orders.csv", slow, requests
}
