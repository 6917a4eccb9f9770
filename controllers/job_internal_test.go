package controllers

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
)

func TestJobFailureNamesTheCause(t *testing.T) {
	limit := corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}
	pod := func(status corev1.PodStatus) corev1.Pod {
		return corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "run", Resources: limit}}}, Status: status}
	}
	failed := batchv1.Job{Spec: batchv1.JobSpec{ActiveDeadlineSeconds: ptr.To[int64](60)}}
	failed.Name = "shop-1"
	failedWith := func(reason string) *batchv1.Job {
		j := failed.DeepCopy()
		j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: reason, Message: "m"}}
		return j
	}
	cases := []struct {
		name, reason, contains string
		job                    *batchv1.Job
		pods                   []corev1.Pod
	}{
		{"OOM names the limit", v1alpha1.ReasonOOMKilled, "memory limit 64Mi", failedWith("BackoffLimitExceeded"), []corev1.Pod{pod(corev1.PodStatus{
			ContainerStatuses: []corev1.ContainerStatus{{Name: "run", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled"}}}}})}},
		{"evicted", v1alpha1.ReasonEvicted, "disk pressure", failedWith("BackoffLimitExceeded"), []corev1.Pod{pod(corev1.PodStatus{Reason: "Evicted", Message: "disk pressure"})}},
		{"deadline", v1alpha1.ReasonDeadlineExceeded, "60s", failedWith(batchv1.JobReasonDeadlineExceeded), nil},
		{"deleted Pod", v1alpha1.ReasonPodFailed, "BackoffLimitExceeded", failedWith("BackoffLimitExceeded"), nil},
	}
	for _, tc := range cases {
		re := jobFailure(tc.job, tc.pods)
		if re.reason != tc.reason || re.kind != kindTransient || !strings.Contains(re.Error(), tc.contains) {
			t.Errorf("%s: %s %s %q", tc.name, re.reason, re.kind, re.Error())
		}
	}
	stuck := []corev1.Pod{{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Image: "bad:1",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "not found"}}}}}}}
	if re := stuckPod(stuck); re == nil || re.reason != v1alpha1.ReasonImagePullFailed || !strings.Contains(re.Error(), "bad:1") {
		t.Errorf("image pull: %v", re)
	}
	if stuckPod(nil) != nil {
		t.Error("no Pods: not stuck")
	}
}
