//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/testutil/pgtest"
)

// jobsPerNamespace is the --max-jobs-per-namespace the Job-mode steps install.
const jobsPerNamespace = 3

func postgresSpec(ref v1alpha1.SecretKeyReference, mode v1alpha1.ExecutionMode) v1alpha1.LTVComputationSpec {
	return v1alpha1.LTVComputationSpec{
		Source: v1alpha1.Source{
			Postgres: &v1alpha1.PostgresSource{ConnectionSecretRef: ref, Table: "sales.orders"},
			Columns:  v1alpha1.Columns{CustomerID: "customer_id", Timestamp: "ordered_at", Amount: "total"},
		},
		Observation: v1alpha1.Observation{End: "1998-06-30", TimeUnit: v1alpha1.TimeUnitWeek},
		Model:       v1alpha1.Model{Type: v1alpha1.ModelHistorical},
		Economics:   v1alpha1.Economics{GrossMargin: "0.3"},
		Execution:   &v1alpha1.Execution{Mode: mode},
	}
}

// testJobPostgres: the same PostgreSQL-sourced spec runs InProcess (the manager reads the
// Secret), then, after the manager lost all access to Secrets, as a Job whose Pod reads the DSN
// from the Secret itself. The results are identical to the cent; the run's progress is in
// `kubectl logs job/<name>`.
// The server lives as long as parent: the next step uses it.
func testJobPostgres(t, parent *testing.T, hostIP, podCIDR string) (ns, dsn string) {
	srv, err := pgtest.StartListening(hostIP, podCIDR)
	if err != nil {
		pgtest.Unavailable(t, err)
	}
	parent.Cleanup(func() { _ = srv.Close() })
	dsn, err = srv.CreateDatabase(context.Background(), "jobs")
	must(t, err)
	pgtest.Exec(t, dsn, "CREATE SCHEMA sales")
	pgtest.LoadCSV(t, dsn, "sales.orders", "customer_id text, ordered_at date, total numeric(12,2)",
		readFile(t, "testdata/cdnow_sample_transactions.csv"))
	secret := func(ns string) {
		create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "warehouse", Namespace: ns}, StringData: map[string]string{"dsn": srv.DSNAt(hostIP, "jobs")}})
	}
	ref := v1alpha1.SecretKeyReference{Name: "warehouse", Key: "dsn"}

	inproc := "e2e-inprocess"
	createNamespace(t, inproc)
	secret(inproc)
	create(t, &v1alpha1.LTVComputation{ObjectMeta: metav1.ObjectMeta{Name: "cdnow", Namespace: inproc}, Spec: postgresSpec(ref, v1alpha1.ExecutionInProcess)})
	want := waitReady(t, inproc, "cdnow", 2*time.Minute)

	// The manager loses every Secret: the ClusterRole has no secrets rule, --read-secrets=false.
	helm(t, "upgrade", release, filepath.Join(root, "charts", "ltv-operator"), "-n", operatorNS, "--reuse-values",
		"--set", "rbac.readSecrets=false", "--set", fmt.Sprintf("execution.maxJobsPerNamespace=%d", jobsPerNamespace), "--wait", "--timeout", "3m")
	ns = "e2e-jobs"
	createNamespace(t, ns)
	secret(ns)
	sa := "system:serviceaccount:" + operatorNS + ":" + release
	if out, _ := exec.Command(kubectl, "auth", "can-i", "get", "secrets", "-n", ns, "--as", sa).CombinedOutput(); strings.TrimSpace(string(out)) != "no" {
		t.Fatalf("kubectl auth can-i get secrets -n %s --as %s: %q, want no", ns, sa, out)
	}
	create(t, &v1alpha1.LTVComputation{ObjectMeta: metav1.ObjectMeta{Name: "cdnow", Namespace: ns}, Spec: postgresSpec(ref, v1alpha1.ExecutionJob)})
	got := waitReady(t, ns, "cdnow", 3*time.Minute)
	run := got.Status.RecentRuns[0]
	if run.Job == "" {
		t.Fatalf("the run did not execute as a Job: %+v", run)
	}
	w, g := want.Status.Result, got.Status.Result
	for _, f := range [][3]string{
		{"averageLTV", w.AverageLTV, g.AverageLTV}, {"medianLTV", w.MedianLTV, g.MedianLTV}, {"totalLTV", w.TotalLTV, g.TotalLTV},
		{"revenue", w.Revenue, g.Revenue}, {"top20", w.Top20PercentValueShare, g.Top20PercentValueShare},
		{"customers", fmt.Sprint(w.Customers), fmt.Sprint(g.Customers)}, {"transactions", fmt.Sprint(w.Transactions), fmt.Sprint(g.Transactions)},
	} {
		if f[1] != f[2] {
			t.Errorf("%s: InProcess %s, Job %s", f[0], f[1], f[2])
		}
	}
	if g.Customers != cdnowPeople {
		t.Errorf("Job run counted %d customers, want %d", g.Customers, cdnowPeople)
	}
	stamp := regexp.MustCompile(`"computedAt": *"[^"]*",?`)
	if a, b := stamp.ReplaceAllString(resultsFile(t, inproc, w.ResultsConfigMap), ""), stamp.ReplaceAllString(resultsFile(t, ns, g.ResultsConfigMap), ""); a != b {
		t.Errorf("summary.json differs between InProcess and Job (computedAt aside):\n%.400s\n%.400s", a, b)
	}
	t.Logf("InProcess and Job: %d customers, average LTV %s, total %s", g.Customers, g.AverageLTV, g.TotalLTV)

	logs, err := exec.Command(kubectl, "-n", ns, "logs", "job/"+run.Job).CombinedOutput()
	must(t, err)
	if !strings.Contains(string(logs), "ltv run: run succeeded") || !strings.Contains(string(logs), "reading the source") {
		t.Errorf("kubectl logs job/%s shows no progress:\n%s", run.Job, logs)
	}
	var job batchv1.Job
	must(t, k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: run.Job}, &job))
	if job.Spec.TTLSecondsAfterFinished == nil || *job.Spec.TTLSecondsAfterFinished <= 0 {
		t.Errorf("the Job has no ttlSecondsAfterFinished")
	}
	return ns, dsn
}

func resultsFile(t *testing.T, ns, cm string) string {
	t.Helper()
	var c corev1.ConfigMap
	must(t, k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: cm}, &c))
	return c.Data["summary.json"]
}

// testJobOOM: 400,000 customers (one summary row each in the Pod) run as a Job with 512Mi, then
// with a memory limit too small for them: the run is reported as OOMKilled, naming the limit, and
// the previous result stays. Raising the limit runs it again.
func testJobOOM(t *testing.T, ns, dsn string) {
	pgtest.Exec(t, dsn, `CREATE TABLE sales.big AS SELECT 'c' || g AS customer_id, date '1997-01-01' + (g % 500) AS ordered_at,
		((g % 100) + 1)::numeric(12,2) AS total FROM generate_series(1, 400000) g`)
	spec := postgresSpec(v1alpha1.SecretKeyReference{Name: "warehouse", Key: "dsn"}, v1alpha1.ExecutionJob)
	spec.Source.Postgres.Table = "sales.big"
	create(t, &v1alpha1.LTVComputation{ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: ns}, Spec: spec})
	setMemory(t, ns, "big", "512Mi")
	before := waitReady(t, ns, "big", 3*time.Minute)
	if before.Status.Result.Customers != 400000 {
		t.Fatalf("%d customers, want 400000", before.Status.Result.Customers)
	}
	setMemory(t, ns, "big", "20Mi")
	patchAnnotation(t, ns, "big", v1alpha1.RequestedAtAnnotation, time.Now().Format(time.RFC3339Nano))
	var obj *v1alpha1.LTVComputation
	waitFor(t, 3*time.Minute, "the run to be reported OOMKilled", func() (bool, string) {
		obj = getLTV(t, ns, "big")
		c := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady)
		return c != nil && c.Reason == v1alpha1.ReasonOOMKilled, describe(obj)
	})
	ready := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady)
	if !strings.Contains(ready.Message, "20Mi") || !strings.Contains(ready.Message, "previous result is kept") {
		t.Errorf("Ready message %q names neither the limit nor the kept result", ready.Message)
	}
	if obj.Status.Result == nil || obj.Status.Result.AverageLTV != before.Status.Result.AverageLTV {
		t.Errorf("the previous result was not kept: %+v", obj.Status.Result)
	}
	if r := resultsFile(t, ns, before.Status.Result.ResultsConfigMap); r == "" {
		t.Error("the results ConfigMap lost its summary")
	}
	t.Logf("Ready: %s", ready.Message)
	setMemory(t, ns, "big", "512Mi")
	waitFor(t, 3*time.Minute, "a successful run with the raised limit", func() (bool, string) {
		obj = getLTV(t, ns, "big")
		return isReady(obj) && len(obj.Status.RecentRuns) > 0 && obj.Status.RecentRuns[0].Succeeded && obj.Status.RecentRuns[0].StartTime.After(ready.LastTransitionTime.Time), describe(obj)
	})
}

func setMemory(t *testing.T, ns, name, limit string) {
	t.Helper()
	obj := getLTV(t, ns, name)
	patch := client.MergeFrom(obj.DeepCopy())
	obj.Spec.Execution.Resources = &corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(limit)},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(limit)}}
	must(t, k8s.Patch(context.Background(), obj, patch))
}

// testJobPodKilled: the run's Pod is deleted in the middle of a slow download; the run fails
// with a named reason and is retried as a new Job, which succeeds.
func testJobPodKilled(t *testing.T, hostIP string) {
	url, slow, _ := slowCSVServer(t, hostIP, readFile(t, "testdata/cdnow_sample_transactions.csv"), 300*time.Millisecond)
	slow.Store(true)

	ns := "e2e-job-killed"
	createNamespace(t, ns)
	create(t, &v1alpha1.LTVComputation{ObjectMeta: metav1.ObjectMeta{Name: "cdnow", Namespace: ns}, Spec: v1alpha1.LTVComputationSpec{
		Source:      v1alpha1.Source{HTTP: &v1alpha1.HTTPSource{URL: url}},
		Observation: v1alpha1.Observation{End: "1998-06-30", TimeUnit: v1alpha1.TimeUnitWeek},
		Model:       v1alpha1.Model{Type: v1alpha1.ModelHistorical},
		Execution:   &v1alpha1.Execution{Mode: v1alpha1.ExecutionJob},
	}})
	var pod corev1.Pod
	waitFor(t, 2*time.Minute, "the run's Pod to be running", func() (bool, string) {
		var pods corev1.PodList
		must(t, k8s.List(context.Background(), &pods, client.InNamespace(ns)))
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				pod = p
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d pods", len(pods.Items))
	})
	time.Sleep(3 * time.Second)
	must(t, k8s.Delete(context.Background(), &pod, client.GracePeriodSeconds(0)))
	slow.Store(false)
	obj := waitReady(t, ns, "cdnow", 3*time.Minute)
	runs := obj.Status.RecentRuns
	if len(runs) < 2 || runs[1].Succeeded || runs[0].Job == runs[1].Job {
		t.Fatalf("want a failed run then a retry in another Job: %+v", runs)
	}
	t.Logf("killed Pod %s: run failed with %s (%s); retried as Job %s", pod.Name, runs[1].Reason, runs[1].Message, runs[0].Job)
}

// testJobsConcurrency: 20 computations created at once run as 20 Jobs, never more than
// --max-jobs-per-namespace at a time in their namespace.
func testJobsConcurrency(t *testing.T) {
	ns := "e2e-many"
	createNamespace(t, ns)
	create(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cdnow", Namespace: ns},
		Data: map[string]string{"tx.csv": string(readFile(t, "testdata/cdnow_sample_transactions.csv"))}})
	const n = 20
	start := time.Now()
	for i := range n {
		create(t, &v1alpha1.LTVComputation{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c%02d", i), Namespace: ns}, Spec: v1alpha1.LTVComputationSpec{
			Source:      v1alpha1.Source{ConfigMap: &v1alpha1.ConfigMapSource{Name: "cdnow", Key: "tx.csv"}},
			Observation: v1alpha1.Observation{End: "1998-06-30", TimeUnit: v1alpha1.TimeUnitWeek},
			Model:       v1alpha1.Model{Type: v1alpha1.ModelHistorical},
			Execution:   &v1alpha1.Execution{Mode: v1alpha1.ExecutionJob},
		}})
	}
	var peak atomic.Int32
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			var jobs batchv1.JobList
			if err := k8s.List(context.Background(), &jobs, client.InNamespace(ns)); err != nil {
				continue
			}
			active := int32(0)
			for _, j := range jobs.Items {
				if j.Status.CompletionTime == nil && !jobFailed(&j) {
					active++
				}
			}
			if active > peak.Load() {
				peak.Store(active)
			}
		}
	}()
	waitFor(t, 6*time.Minute, "20 computations Ready", func() (bool, string) {
		var list v1alpha1.LTVComputationList
		must(t, k8s.List(context.Background(), &list, client.InNamespace(ns)))
		ready := 0
		for i := range list.Items {
			if isReady(&list.Items[i]) {
				ready++
			}
		}
		return ready == n, fmt.Sprintf("%d of %d Ready", ready, n)
	})
	close(stop)
	<-done
	var list v1alpha1.LTVComputationList
	must(t, k8s.List(context.Background(), &list, client.InNamespace(ns)))
	jobs := map[string]bool{}
	for _, c := range list.Items {
		if len(c.Status.RecentRuns) > 0 {
			jobs[c.Status.RecentRuns[0].Job] = true
		}
	}
	delete(jobs, "")
	if len(jobs) != n {
		t.Errorf("%d distinct Jobs ran the %d computations", len(jobs), n)
	}
	if p := peak.Load(); p > jobsPerNamespace || p < 2 {
		t.Errorf("at most %d Jobs ran at once, want between 2 and %d", p, jobsPerNamespace)
	}
	t.Logf("%d computations as %d Jobs in %s, at most %d at once", n, len(jobs), time.Since(start).Round(time.Second), peak.Load())
}

func jobFailed(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
