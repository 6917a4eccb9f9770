package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
	"github.com/ltv-operator/ltv-operator/internal/jobrun"
	"github.com/ltv-operator/ltv-operator/internal/netpolicy"
)

// Labels and annotations of a run's Job. The annotations pin what the run answers, so that a
// restarted manager adopts a running Job with everything it needs to record it.
const (
	LabelComputationUID        = "analytics.ltv-operator.io/computation-uid"
	AnnotationRevision         = "analytics.ltv-operator.io/revision"
	AnnotationTrigger          = "analytics.ltv-operator.io/trigger"
	AnnotationScheduledTime    = "analytics.ltv-operator.io/scheduled-time"
	AnnotationRequestedAt      = "analytics.ltv-operator.io/requested-at"
	AnnotationRecorded         = "analytics.ltv-operator.io/recorded"
	jobContainer               = "run"
	defaultJobTTL              = time.Hour
	defaultJobPoll             = 15 * time.Second
	defaultMaxJobsPerNamespace = 4
)

// JobOptions configure Job-mode runs.
type JobOptions struct {
	// Image is the operator's image the run's Pod runs (`manager job`).
	Image string
	// TTL after which finished Jobs are deleted (ttlSecondsAfterFinished); 0: one hour.
	TTL time.Duration
	// MaxPerNamespace bounds the Jobs running at once in one namespace; 0: 4.
	MaxPerNamespace int
	// Poll is how often a running Job's Pods are looked at (image pull errors do not finish a
	// Job); 0: 15 s.
	Poll time.Duration
	// APIReader reads past the cache: a Job just created, and the run's Pods.
	APIReader client.Reader
	// Results reads the run Pod's result line; nil refuses Job mode.
	Results ResultReader
	// HTTPSourcePolicy is the manager's http source policy (its --http-source-* flags), handed to
	// the run's Pod so that a Job-mode fetch is held to it as an in-process one is; nil: the
	// default policy.
	HTTPSourcePolicy *netpolicy.Config
}

// ResultReader returns the end of a run Pod's log, where the Pod printed its envelope, reading
// at most limit bytes.
type ResultReader func(ctx context.Context, pod *corev1.Pod, limit int64) ([]byte, error)

// jobTracker remembers what the cache may not show yet: Jobs this process created (so that a
// reconcile on a stale cache starts no second one) and Jobs whose run it recorded.
type jobTracker struct {
	mu       sync.Mutex
	expected map[types.UID]types.NamespacedName // computation -> its new Job
	recorded map[types.UID]bool                 // Job -> recorded
}

func (t *jobTracker) expect(c types.UID, job types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.expected == nil {
		t.expected = map[types.UID]types.NamespacedName{}
	}
	t.expected[c] = job
}

func (t *jobTracker) expectation(c types.UID) (types.NamespacedName, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	j, ok := t.expected[c]
	return j, ok
}

func (t *jobTracker) observed(c types.UID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.expected, c)
}

func (t *jobTracker) markRecorded(job types.UID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.recorded == nil {
		t.recorded = map[types.UID]bool{}
	}
	t.recorded[job] = true
}

func (t *jobTracker) isRecorded(job types.UID) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.recorded[job]
}

// executionMode is the computation's mode, or the operator's default.
func (r *LTVComputationReconciler) executionMode(obj *v1alpha1.LTVComputation) v1alpha1.ExecutionMode {
	if e := obj.Spec.Execution; e != nil && e.Mode != "" {
		return e.Mode
	}
	if r.DefaultExecution != "" {
		return r.DefaultExecution
	}
	return v1alpha1.ExecutionInProcess
}

// currentJob is the computation's Job whose run is not recorded yet: running, or finished since
// the last reconcile. nil when there is none.
func (r *LTVComputationReconciler) currentJob(ctx context.Context, obj *v1alpha1.LTVComputation) (*batchv1.Job, error) {
	var list batchv1.JobList
	if err := r.List(ctx, &list, client.InNamespace(obj.Namespace), client.MatchingLabels{LabelComputationUID: string(obj.UID)}); err != nil {
		return nil, err
	}
	inHistory := map[string]bool{}
	for _, run := range obj.Status.RecentRuns {
		inHistory[run.Job] = true
	}
	var jobs []*batchv1.Job
	for i := range list.Items {
		j := &list.Items[i]
		if !metav1.IsControlledBy(j, obj) || j.Labels[LabelPurpose] != "" || j.Annotations[AnnotationRecorded] != "" || inHistory[j.Name] || r.jobs.isRecorded(j.UID) || !j.DeletionTimestamp.IsZero() {
			continue
		}
		jobs = append(jobs, j)
	}
	if exp, ok := r.jobs.expectation(obj.UID); ok {
		found := false
		for _, j := range list.Items {
			found = found || j.Name == exp.Name
		}
		if found {
			r.jobs.observed(obj.UID)
		} else {
			// Created by this process, not in the cache yet: read it from the API server.
			var j batchv1.Job
			switch err := r.Jobs.APIReader.Get(ctx, exp, &j); {
			case apierrors.IsNotFound(err):
				r.jobs.observed(obj.UID)
			case err != nil:
				return nil, err
			default:
				jobs = append(jobs, &j)
			}
		}
	}
	if len(jobs) == 0 {
		return nil, nil
	}
	// One run at a time: there is one, unless a manager crashed between creating a Job and
	// recording the previous one; the oldest is recorded first.
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].CreationTimestamp.Before(&jobs[b].CreationTimestamp) })
	return jobs[0], nil
}

// jobName is a run's Job name: the computation's name and a hash of its UID and start time,
// within the 63 characters a Pod's job-name label allows.
func jobName(obj *v1alpha1.LTVComputation, start time.Time) string {
	sum := sha256.Sum256([]byte(string(obj.UID) + start.UTC().Format(time.RFC3339Nano)))
	name := obj.Name
	if len(name) > 48 {
		name = name[:48]
	}
	return name + "-" + hex.EncodeToString(sum[:4])
}

// runSpec pins the decided run for its Pod.
func (s *scope) runSpec(name string) (*jobrun.Spec, error) {
	cfg, err := s.pipelineConfig() // validates the spec before a Pod is started for it
	if err != nil {
		return nil, err
	}
	spec := &jobrun.Spec{Namespace: s.obj.Namespace, Name: s.obj.Name, UID: string(s.obj.UID), Job: name, Revision: s.runRevision,
		ObservationEnd: cfg.ObservationEnd.Format(time.DateOnly), Spec: s.obj.Spec}
	for _, seg := range s.segments {
		spec.Segments = append(spec.Segments, jobrun.Segment{Name: seg.Name, Spec: seg.Spec})
	}
	if s.obj.Spec.Source.ConfigMap != nil && s.src != nil {
		spec.DataDigest = s.src.revision
	}
	return spec, nil
}

// startJob creates the run's Job unless the namespace already runs its share of Jobs.
func (s *scope) startJob(ctx context.Context) error {
	r := s.r
	if r.Jobs.Image == "" || r.Jobs.Results == nil {
		return stalledf(v1alpha1.ReasonInvalidSpec, "spec.execution.mode Job: this operator has no --job-image")
	}
	name := jobName(s.obj, s.now)
	spec, err := s.runSpec(name)
	if err != nil {
		return err
	}
	job, err := r.buildJob(s.obj, spec, s.run, s.request)
	if err != nil {
		return err
	}
	r.nsLock.Lock()
	defer r.nsLock.Unlock()
	running, err := r.runningJobs(ctx, s.obj.Namespace)
	if err != nil {
		return err
	}
	if running >= r.maxJobsPerNamespace() {
		// Not started: the slot stays due, so that the run answers it when it starts.
		s.obj.Status.LastScheduleTime = s.base.Status.LastScheduleTime
		s.pending, s.queued = fmt.Sprintf("Queued: %d runs are running in namespace %s (the operator's --max-jobs-per-namespace)", running, s.obj.Namespace), true
		s.done = true
		return nil
	}
	if err := r.Create(ctx, job); err != nil && !apierrors.IsAlreadyExists(err) {
		return transient(v1alpha1.ReasonPodFailed, fmt.Errorf("creating Job %s/%s: %w", job.Namespace, job.Name, err))
	}
	r.jobs.expect(s.obj.UID, client.ObjectKeyFromObject(job))
	s.pending = fmt.Sprintf("Run started (%s) as Job %s", strings.ToLower(s.run.Trigger), job.Name)
	s.done = true
	return nil
}

// runningJobs counts the operator's unfinished Jobs in a namespace, with those created but not
// in the cache yet.
func (r *LTVComputationReconciler) runningJobs(ctx context.Context, ns string) (int, error) {
	var list batchv1.JobList
	if err := r.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{LabelManagedBy: ManagedByValue}); err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	n := 0
	for _, j := range list.Items {
		seen[j.Name] = true
		if _, done := jobFinished(&j); !done {
			n++
		}
	}
	r.jobs.mu.Lock()
	for _, exp := range r.jobs.expected {
		if exp.Namespace == ns && !seen[exp.Name] {
			n++
		}
	}
	r.jobs.mu.Unlock()
	return n, nil
}

func (r *LTVComputationReconciler) maxJobsPerNamespace() int {
	if r.Jobs.MaxPerNamespace > 0 {
		return r.Jobs.MaxPerNamespace
	}
	return defaultMaxJobsPerNamespace
}

// jobFinished reports whether a Job finished, and whether it succeeded.
func jobFinished(j *batchv1.Job) (succeeded, finished bool) {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, true
		case batchv1.JobFailed:
			return false, true
		}
	}
	return false, false
}

// buildJob is the run's Job: the operator's image running `manager job` on the pinned spec,
// credentials by reference, no API token, restricted security context.
func (r *LTVComputationReconciler) buildJob(obj *v1alpha1.LTVComputation, spec *jobrun.Spec, run *v1alpha1.RunRecord, request string) (*batchv1.Job, error) {
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	exec := obj.Spec.Execution
	if exec == nil {
		exec = &v1alpha1.Execution{}
	}
	labels := map[string]string{LabelManagedBy: ManagedByValue, LabelComputation: computationLabelValue(obj.Name), LabelComputationUID: string(obj.UID)}
	annotations := map[string]string{
		AnnotationRevision: spec.Revision, AnnotationTrigger: run.Trigger,
		AnnotationScheduledTime: run.ScheduledTime.UTC().Format(time.RFC3339Nano),
	}
	if request != "" {
		annotations[AnnotationRequestedAt] = request
	}
	deadline := int64(r.runTimeout().Seconds())
	if exec.ActiveDeadlineSeconds != nil {
		deadline = *exec.ActiveDeadlineSeconds
	}
	ttl := r.Jobs.TTL
	if ttl <= 0 {
		ttl = defaultJobTTL
	}
	resources := corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}}
	if exec.Resources != nil {
		resources = *exec.Resources
	}
	env := []corev1.EnvVar{{Name: jobrun.EnvRun, Value: string(specJSON)}}
	if obj.Spec.Source.HTTP != nil && r.Jobs.HTTPSourcePolicy != nil {
		policy, err := json.Marshal(r.Jobs.HTTPSourcePolicy)
		if err != nil {
			return nil, err
		}
		env = append(env, corev1.EnvVar{Name: jobrun.EnvHTTPSourcePolicy, Value: string(policy)})
	}
	if _, ok := resources.Limits[corev1.ResourceMemory]; ok {
		// A soft heap limit at the memory limit, as the manager's Deployment has.
		env = append(env, corev1.EnvVar{Name: "GOMEMLIMIT", ValueFrom: &corev1.EnvVarSource{
			ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: jobContainer, Resource: "limits.memory"}}})
	}
	volumes, mounts, credentials := runInputs(obj)
	env = append(env, credentials...)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Job, Namespace: obj.Namespace, Labels: labels, Annotations: annotations},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To[int32](0), // the manager retries, after naming the failure
			ActiveDeadlineSeconds:   &deadline,
			TTLSecondsAfterFinished: ptr.To(int32(ttl.Seconds())),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					ServiceAccountName:           exec.ServiceAccountName,
					AutomountServiceAccountToken: ptr.To(false),
					NodeSelector:                 exec.NodeSelector,
					Tolerations:                  exec.Tolerations,
					SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532),
						RunAsGroup: ptr.To[int64](65532), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
					Volumes: volumes,
					Containers: []corev1.Container{{
						Name: jobContainer, Image: r.Jobs.Image, Args: []string{"job"}, Env: env, Resources: resources, VolumeMounts: mounts,
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
						SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
					}},
				},
			},
		},
	}
	return job, controllerutil.SetControllerReference(obj, job, r.Scheme)
}

// runInputs is how the run's Pod gets its source and sink, by reference: the ConfigMap and the
// HTTP headers Secret as read-only volumes, PostgreSQL connection strings as secretKeyRef
// variables. The manager never reads the Secrets.
func runInputs(obj *v1alpha1.LTVComputation) (volumes []corev1.Volume, mounts []corev1.VolumeMount, env []corev1.EnvVar) {
	mounts = []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}}
	volumes = append(volumes, corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	src := obj.Spec.Source
	switch {
	case src.ConfigMap != nil:
		volumes = append(volumes, corev1.Volume{Name: "source", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: src.ConfigMap.Name},
			Items:                []corev1.KeyToPath{{Key: src.ConfigMap.Key, Path: jobrun.SourceFile}}}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "source", MountPath: jobrun.SourceMount, ReadOnly: true})
	case src.HTTP != nil && src.HTTP.HeadersSecretRef != nil:
		volumes = append(volumes, corev1.Volume{Name: "http-headers", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: src.HTTP.HeadersSecretRef.Name}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "http-headers", MountPath: jobrun.HTTPHeadersMount, ReadOnly: true})
	case src.Postgres != nil:
		env = append(env, secretEnv(jobrun.EnvSourceDSN, src.Postgres.ConnectionSecretRef))
	}
	if o := obj.Spec.Output.Customers; o != nil && o.Postgres != nil {
		env = append(env, secretEnv(jobrun.EnvSinkDSN, o.Postgres.ConnectionSecretRef))
	}
	return volumes, mounts, env
}

func secretEnv(name string, ref v1alpha1.SecretKeyReference) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: ref.Name}, Key: ref.Key}}}
}

// adoptJob makes the computation's current Job this reconcile's run: the run record and the
// revision come from the Job, not from the spec as it is now.
func (s *scope) adoptJob() {
	j := s.job
	nominal, err := time.Parse(time.RFC3339Nano, j.Annotations[AnnotationScheduledTime])
	if err != nil {
		nominal = j.CreationTimestamp.Time
	}
	s.run = &v1alpha1.RunRecord{Trigger: j.Annotations[AnnotationTrigger], StartTime: j.CreationTimestamp,
		ScheduledTime: &metav1.Time{Time: nominal}, Job: j.Name}
	s.runRevision = j.Annotations[AnnotationRevision]
	s.request = j.Annotations[AnnotationRequestedAt]
	s.started = j.CreationTimestamp.Time
}

// collectJob looks at the current Job: still running (pending), stuck on its Pod (deleted and
// failed), or finished (its envelope read and validated).
func (s *scope) collectJob(ctx context.Context) error {
	j := s.job
	pods, err := s.r.jobPods(ctx, j)
	if err != nil {
		return err
	}
	succeeded, finished := jobFinished(j)
	if !finished {
		if re := stuckPod(pods); re != nil {
			// A Pod that cannot start does not fail its Job: end the run here.
			if err := s.r.Delete(ctx, j, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
				return err
			}
			return re
		}
		s.pending = fmt.Sprintf("Run (%s) running as Job %s", strings.ToLower(s.run.Trigger), j.Name)
		s.done = true
		return nil
	}
	env, readErr := s.r.readEnvelope(ctx, pods)
	if readErr == nil {
		readErr = env.Validate(&jobrun.Spec{Namespace: s.obj.Namespace, Name: s.obj.Name, UID: string(s.obj.UID), Job: j.Name, Revision: s.runRevision})
	}
	switch {
	case readErr == nil && env.Failure != nil:
		kind := kindTransient
		if env.Failure.Permanent {
			kind = kindStalled
		}
		return &runError{kind: kind, reason: env.Failure.Reason, err: fmt.Errorf("%s", env.Failure.Message)}
	case readErr == nil:
		s.res, s.table = env.Result, env.Table
		return nil
	case !succeeded:
		return jobFailure(j, pods)
	}
	return transient(v1alpha1.ReasonInvalidResult, fmt.Errorf("Job %s succeeded but its result cannot be used: %w", j.Name, readErr))
}

// jobPods lists the Job's Pods, newest first, from the API server (the manager caches no Pods).
func (r *LTVComputationReconciler) jobPods(ctx context.Context, j *batchv1.Job) ([]corev1.Pod, error) {
	var list corev1.PodList
	if err := r.Jobs.APIReader.List(ctx, &list, client.InNamespace(j.Namespace), client.MatchingLabels{batchv1.JobNameLabel: j.Name}); err != nil {
		return nil, err
	}
	var pods []corev1.Pod
	for _, p := range list.Items {
		if metav1.IsControlledBy(&p, j) {
			pods = append(pods, p)
		}
	}
	sort.Slice(pods, func(a, b int) bool { return pods[b].CreationTimestamp.Before(&pods[a].CreationTimestamp) })
	return pods, nil
}

// readEnvelope reads the envelope the newest terminated Pod printed last.
func (r *LTVComputationReconciler) readEnvelope(ctx context.Context, pods []corev1.Pod) (*jobrun.Envelope, error) {
	for i := range pods {
		p := &pods[i]
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			continue
		}
		log, err := r.Jobs.Results(ctx, p, jobrun.MaxEncodedBytes+4096)
		if err != nil {
			return nil, fmt.Errorf("reading Pod %s's log: %w", p.Name, err)
		}
		line, err := jobrun.Find(log)
		if err != nil {
			return nil, err
		}
		return jobrun.Decode(line)
	}
	return nil, jobrun.ErrNoResult
}

// stuckPod is a run Pod that cannot start: its image cannot be pulled, or its Secret or
// ConfigMap is missing.
func stuckPod(pods []corev1.Pod) *runError {
	for _, p := range pods {
		for _, cs := range p.Status.ContainerStatuses {
			w := cs.State.Waiting
			if w == nil {
				continue
			}
			switch w.Reason {
			case "ErrImagePull", "ImagePullBackOff", "InvalidImageName":
				return transient(v1alpha1.ReasonImagePullFailed, fmt.Errorf("the run's Pod %s cannot pull image %s: %s", p.Name, cs.Image, w.Message))
			case "CreateContainerConfigError":
				return transient(v1alpha1.ReasonSourceNotFound, fmt.Errorf("the run's Pod %s cannot start: %s", p.Name, w.Message))
			}
		}
	}
	return nil
}

// jobFailure names why a Job without an envelope failed: OOMKilled (with the memory limit),
// evicted, past its deadline, or another Pod failure (a killed or deleted Pod).
func jobFailure(j *batchv1.Job, pods []corev1.Pod) *runError {
	for _, p := range pods {
		if p.Status.Reason == "Evicted" {
			return transient(v1alpha1.ReasonEvicted, fmt.Errorf("the run's Pod %s was evicted: %s", p.Name, p.Status.Message))
		}
		for _, cs := range p.Status.ContainerStatuses {
			t := cs.State.Terminated
			if t == nil || t.Reason != "OOMKilled" {
				continue
			}
			limit := "none"
			for _, c := range p.Spec.Containers {
				if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok && c.Name == cs.Name {
					limit = q.String()
				}
			}
			return transient(v1alpha1.ReasonOOMKilled, fmt.Errorf("the run's Pod %s was OOMKilled: memory limit %s (spec.execution.resources.limits.memory); raise it", p.Name, limit))
		}
	}
	for _, c := range j.Status.Conditions {
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
			if c.Reason == batchv1.JobReasonDeadlineExceeded {
				d := "?"
				if j.Spec.ActiveDeadlineSeconds != nil {
					d = strconv.FormatInt(*j.Spec.ActiveDeadlineSeconds, 10)
				}
				return transient(v1alpha1.ReasonDeadlineExceeded, fmt.Errorf("Job %s ran longer than its deadline of %ss (spec.execution.activeDeadlineSeconds)", j.Name, d))
			}
			return transient(v1alpha1.ReasonPodFailed, fmt.Errorf("Job %s failed (%s): %s", j.Name, c.Reason, c.Message))
		}
	}
	return transient(v1alpha1.ReasonPodFailed, fmt.Errorf("Job %s failed without a result", j.Name))
}

// markJobRecorded remembers that the Job's run is in status, so that it is not recorded twice.
func (r *LTVComputationReconciler) markJobRecorded(ctx context.Context, j *batchv1.Job) {
	r.jobs.markRecorded(j.UID)
	patch := client.MergeFrom(j.DeepCopy())
	if j.Annotations == nil {
		j.Annotations = map[string]string{}
	}
	j.Annotations[AnnotationRecorded] = "true"
	_ = r.Patch(ctx, j, patch) // best effort: status.recentRuns names the Job too
}

// deleteJobsOf deletes the Jobs of a computation that is gone. The garbage collector does it
// too (the Jobs are owned); this is for clusters where it lags.
func (r *LTVComputationReconciler) deleteJobsOf(ctx context.Context, key types.NamespacedName) error {
	if r.Jobs.Results == nil {
		return nil
	}
	var list batchv1.JobList
	if err := r.List(ctx, &list, client.InNamespace(key.Namespace), client.MatchingLabels{LabelManagedBy: ManagedByValue, LabelComputation: computationLabelValue(key.Name)}); err != nil {
		return err
	}
	for i := range list.Items {
		j := &list.Items[i]
		ref := metav1.GetControllerOf(j)
		if ref == nil || ref.Kind != "LTVComputation" || ref.Name != key.Name || !j.DeletionTimestamp.IsZero() {
			continue
		}
		if err := r.Delete(ctx, j, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}

// retryAt is when a computation whose last run failed transiently is retried
// (status.nextRetryTime, set by finishRun from the backoff); zero when no retry is pending.
func retryAt(obj *v1alpha1.LTVComputation) time.Time {
	if t := obj.Status.NextRetryTime; t != nil {
		return t.Time
	}
	return time.Time{}
}
