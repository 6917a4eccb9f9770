// Package jobmode_test is the envtest wiring of Job-mode runs: Jobs created with the pinned
// revision, one run at a time, adoption of a running Job by a restarted manager, and the Job
// deleted with its computation. It has its own control plane because it stops and restarts
// managers. There is no kubelet: the test plays the run's Pod (runs internal/jobrun on the
// Job's environment) and the Job controller (sets the Job's status).
package jobmode_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/controllers"
	"github.com/ltv-operator/ltv-operator/internal/jobrun"
)

var (
	cfg    *rest.Config
	k8s    client.Client
	scheme = runtime.NewScheme()
	// podLogs is what the fake kubelet printed per Pod.
	podLogs sync.Map
)

const csv = "customer_id,date,amount\na,2026-01-05,10\na,2026-02-05,20\nb,2026-01-10,5\nc,2026-03-01,7.5\nc,2026-03-20,2.5\n"

func TestMain(m *testing.M) {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = filepath.Join("..", "..", "bin", "k8s")
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true, BinaryAssetsDirectory: assets}
	var err error
	if cfg, err = env.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting the test control plane:", err)
		os.Exit(1)
	}
	k8s, _ = client.New(cfg, client.Options{Scheme: scheme})
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

// startManager runs a manager whose computations default to Job mode, until the returned
// function stops it (a manager restart is a stop and a new start).
func startManager(t *testing.T) (stop func()) {
	t.Helper()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)}})
	if err != nil {
		t.Fatal(err)
	}
	r := &controllers.LTVComputationReconciler{Client: mgr.GetClient(), Scheme: scheme, Clock: clock.RealClock{},
		DefaultExecution: v1alpha1.ExecutionJob,
		Jobs: controllers.JobOptions{Image: "registry.example/ltv-operator:test", APIReader: mgr.GetAPIReader(), Poll: time.Second, MaxPerNamespace: 2,
			Results: func(_ context.Context, pod *corev1.Pod, limit int64) ([]byte, error) {
				b, ok := podLogs.Load(pod.Namespace + "/" + pod.Name)
				if !ok {
					return nil, fmt.Errorf("no log")
				}
				return b.([]byte), nil
			}}}
	if err := r.SetupWithManager(mgr, 2); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = mgr.Start(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func namespace(t *testing.T, name string) string {
	t.Helper()
	must(t, k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}))
	must(t, k8s.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: name}, Data: map[string]string{"o.csv": csv}}))
	return name
}

func computation(ns, name string) *v1alpha1.LTVComputation {
	return &v1alpha1.LTVComputation{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: v1alpha1.LTVComputationSpec{
		Source:      v1alpha1.Source{ConfigMap: &v1alpha1.ConfigMapSource{Name: "orders", Key: "o.csv"}},
		Observation: v1alpha1.Observation{End: "2026-03-31"},
		Model:       v1alpha1.Model{Type: v1alpha1.ModelHistorical},
		Execution:   &v1alpha1.Execution{Resources: &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resourceMust("256Mi")}}},
	}}
}

// jobsOf lists the computation's Jobs.
func jobsOf(t *testing.T, obj *v1alpha1.LTVComputation) []batchv1.Job {
	t.Helper()
	var list batchv1.JobList
	must(t, k8s.List(context.Background(), &list, client.InNamespace(obj.Namespace), client.MatchingLabels{controllers.LabelComputationUID: string(obj.UID)}))
	return list.Items
}

func waitJobs(t *testing.T, obj *v1alpha1.LTVComputation, n int) []batchv1.Job {
	t.Helper()
	var jobs []batchv1.Job
	eventually(t, fmt.Sprintf("%d Jobs of %s", n, obj.Name), func() bool { jobs = jobsOf(t, obj); return len(jobs) == n })
	return jobs
}

// runPod plays the Job's Pod: it creates the Pod, runs internal/jobrun on the Job's own
// environment and volume (the ConfigMap's key as the file), keeps its log for the manager, and
// marks the Pod and the Job finished.
func runPod(t *testing.T, job *batchv1.Job) {
	t.Helper()
	ctx := context.Background()
	c := job.Spec.Template.Spec.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil { // as the kubelet resolves it
			var secret corev1.Secret
			must(t, k8s.Get(ctx, client.ObjectKey{Namespace: job.Namespace, Name: e.ValueFrom.SecretKeyRef.Name}, &secret))
			env[e.Name] = string(secret.Data[e.ValueFrom.SecretKeyRef.Key])
		}
	}
	dir := t.TempDir()
	jobrun.SourceDir = dir
	must(t, os.WriteFile(filepath.Join(dir, jobrun.SourceFile), []byte(csv), 0o600))
	var stdout, stderr bytes.Buffer
	code := jobrun.Main(ctx, func(k string) string { return env[k] }, &stdout, &stderr)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-x", Namespace: job.Namespace,
		Labels:          map[string]string{batchv1.JobNameLabel: job.Name},
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))}},
		Spec: job.Spec.Template.Spec}
	must(t, k8s.Create(ctx, pod))
	podLogs.Store(pod.Namespace+"/"+pod.Name, append(stderr.Bytes(), stdout.Bytes()...))
	pod.Status.Phase = corev1.PodSucceeded
	if code != 0 {
		pod.Status.Phase = corev1.PodFailed
	}
	must(t, k8s.Status().Update(ctx, pod))
	now := metav1.Now()
	job.Status.StartTime = &now
	if code == 0 {
		job.Status.CompletionTime = &now
		job.Status.Succeeded = 1
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now}}
	} else {
		job.Status.Failed = 1
		job.Status.Conditions = []batchv1.JobCondition{
			{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: "BackoffLimitExceeded"},
			{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: "BackoffLimitExceeded"}}
	}
	must(t, k8s.Status().Update(ctx, job))
}

func TestJobPinnedRevisionOneAtATime(t *testing.T) {
	stop := startManager(t)
	defer stop()
	ns := namespace(t, "pinned")
	obj := computation(ns, "shop")
	must(t, k8s.Create(context.Background(), obj))

	job := waitJobs(t, obj, 1)[0]
	if ref := metav1.GetControllerOf(&job); ref == nil || ref.UID != obj.UID {
		t.Fatalf("the Job is not controlled by the computation: %v", job.OwnerReferences)
	}
	pod := job.Spec.Template.Spec
	c := pod.Containers[0]
	if c.Image != "registry.example/ltv-operator:test" || strings.Join(c.Args, " ") != "job" {
		t.Errorf("container runs %s %v", c.Image, c.Args)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken || *job.Spec.BackoffLimit != 0 || job.Spec.TTLSecondsAfterFinished == nil {
		t.Errorf("token, backoffLimit or TTL: %v %v %v", pod.AutomountServiceAccountToken, job.Spec.BackoffLimit, job.Spec.TTLSecondsAfterFinished)
	}
	var spec jobrun.Spec
	for _, e := range c.Env {
		if e.Name == jobrun.EnvRun {
			must(t, json.Unmarshal([]byte(e.Value), &spec))
		}
	}
	first := job.Annotations[controllers.AnnotationRevision]
	if spec.Revision == "" || spec.Revision != first || spec.Spec.Model.Type != v1alpha1.ModelHistorical || spec.Job != job.Name {
		t.Fatalf("the Job's run spec is not pinned to its revision: %+v (annotation %q)", spec, first)
	}
	waitCondition(t, obj, v1alpha1.ConditionReconciling, metav1.ConditionTrue)

	// A spec change during the run changes neither the run nor the number of Jobs.
	// (retried on conflicts: the manager writes status meanwhile)
	must(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		latest := get(t, obj)
		latest.Spec.Model.HorizonMonths = 24
		latest.Spec.Economics.GrossMargin = "0.5"
		return k8s.Update(context.Background(), latest)
	}))
	time.Sleep(2 * time.Second)
	if jobs := jobsOf(t, obj); len(jobs) != 1 {
		t.Fatalf("%d Jobs during one run, want 1", len(jobs))
	}

	runPod(t, &job)
	// The run is recorded for the revision it computed; then the changed spec runs as a new Job.
	var done *v1alpha1.LTVComputation
	eventually(t, "the first run recorded", func() bool {
		done = get(t, obj)
		return len(done.Status.RecentRuns) >= 1 && done.Status.Result != nil
	})
	run := done.Status.RecentRuns[0]
	if !run.Succeeded || run.Job != job.Name || done.Status.Result.Customers != 3 {
		t.Fatalf("run %+v result %+v", run, done.Status.Result)
	}
	var cm corev1.ConfigMap
	must(t, k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "shop-results"}, &cm))
	jobs := waitJobs(t, obj, 2)
	for _, j := range jobs {
		if j.Name != job.Name && j.Annotations[controllers.AnnotationRevision] == first {
			t.Errorf("the second Job has the first revision")
		}
	}
}

func TestJobAdoptedAfterRestartAndDeletedWithComputation(t *testing.T) {
	stop := startManager(t)
	ns := namespace(t, "adopt")
	obj := computation(ns, "shop")
	must(t, k8s.Create(context.Background(), obj))
	job := waitJobs(t, obj, 1)[0]
	stop()

	// A new manager (nothing in memory) finds the running Job and starts no other.
	stop = startManager(t)
	defer stop()
	time.Sleep(3 * time.Second)
	if jobs := jobsOf(t, obj); len(jobs) != 1 {
		t.Fatalf("%d Jobs after the restart, want the adopted one", len(jobs))
	}
	runPod(t, &job)
	eventually(t, "the adopted run recorded", func() bool {
		o := get(t, obj)
		return len(o.Status.RecentRuns) == 1 && o.Status.RecentRuns[0].Job == job.Name && o.Status.RecentRuns[0].Succeeded &&
			meta.IsStatusConditionTrue(o.Status.Conditions, v1alpha1.ConditionReady)
	})
	time.Sleep(2 * time.Second)
	if o := get(t, obj); len(o.Status.RecentRuns) != 1 {
		t.Fatalf("the finished Job was recorded %d times", len(o.Status.RecentRuns))
	}

	// Start another run, then delete the computation: its Job goes with it (envtest has no
	// garbage collector, so this is the manager's doing).
	o := get(t, obj)
	o.Annotations = map[string]string{v1alpha1.RequestedAtAnnotation: "now"}
	must(t, k8s.Update(context.Background(), o))
	waitJobs(t, obj, 2)
	must(t, k8s.Delete(context.Background(), obj))
	eventually(t, "the computation's Jobs deleted", func() bool {
		for _, j := range jobsOf(t, obj) {
			if j.DeletionTimestamp.IsZero() {
				return false
			}
		}
		return true
	})
}

func TestFailedPodKeepsResultAndRetries(t *testing.T) {
	stop := startManager(t)
	defer stop()
	ns := namespace(t, "failing")
	obj := computation(ns, "shop")
	must(t, k8s.Create(context.Background(), obj))
	runPod(t, ptr.To(waitJobs(t, obj, 1)[0]))
	eventually(t, "a result", func() bool { return get(t, obj).Status.Result != nil })

	// The next run's Pod is OOMKilled: the reason names the limit, the result stays, a retry follows.
	o := get(t, obj)
	o.Annotations = map[string]string{v1alpha1.RequestedAtAnnotation: "again"}
	must(t, k8s.Update(context.Background(), o))
	var second batchv1.Job
	eventually(t, "the second Job", func() bool {
		for _, j := range jobsOf(t, obj) {
			if _, done := finished(&j); !done {
				second = j
				return true
			}
		}
		return false
	})
	ctx := context.Background()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: second.Name + "-oom", Namespace: ns, Labels: map[string]string{batchv1.JobNameLabel: second.Name},
		OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(&second, batchv1.SchemeGroupVersion.WithKind("Job"))}},
		Spec: second.Spec.Template.Spec}
	must(t, k8s.Create(ctx, pod))
	pod.Status.Phase = corev1.PodFailed
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "run", Image: "x", State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}}}
	must(t, k8s.Status().Update(ctx, pod))
	podLogs.Store(ns+"/"+pod.Name, []byte("progress only\n"))
	now := metav1.Now()
	second.Status.StartTime, second.Status.Failed = &now, 1
	second.Status.Conditions = []batchv1.JobCondition{
		{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: "BackoffLimitExceeded"},
		{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: "BackoffLimitExceeded"}}
	must(t, k8s.Status().Update(ctx, &second))

	var failed *v1alpha1.LTVComputation
	eventually(t, "the OOM recorded", func() bool {
		failed = get(t, obj)
		c := meta.FindStatusCondition(failed.Status.Conditions, v1alpha1.ConditionReady)
		return c != nil && c.Reason == v1alpha1.ReasonOOMKilled
	})
	c := meta.FindStatusCondition(failed.Status.Conditions, v1alpha1.ConditionReady)
	if !strings.Contains(c.Message, "256Mi") || !strings.Contains(c.Message, "previous result is kept") || failed.Status.Result == nil {
		t.Errorf("Ready %q; result %v", c.Message, failed.Status.Result != nil)
	}
	if !meta.IsStatusConditionTrue(failed.Status.Conditions, v1alpha1.ConditionReconciling) {
		t.Error("an OOM is retried: Reconciling should be True")
	}
	// The retry comes after the backoff (10 s), as a new Job.
	eventually(t, "the retry's Job", func() bool { return len(jobsOf(t, obj)) == 3 })
}

func finished(j *batchv1.Job) (bool, bool) {
	for _, c := range j.Status.Conditions {
		if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) {
			return c.Type == batchv1.JobComplete, true
		}
	}
	return false, false
}

func get(t *testing.T, obj *v1alpha1.LTVComputation) *v1alpha1.LTVComputation {
	t.Helper()
	var o v1alpha1.LTVComputation
	if err := k8s.Get(context.Background(), client.ObjectKeyFromObject(obj), &o); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return &o
}

func waitCondition(t *testing.T, obj *v1alpha1.LTVComputation, typ string, status metav1.ConditionStatus) {
	t.Helper()
	eventually(t, typ+"="+string(status), func() bool {
		c := meta.FindStatusCondition(get(t, obj).Status.Conditions, typ)
		return c != nil && c.Status == status
	})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func resourceMust(s string) resource.Quantity { return resource.MustParse(s) }
