package v1alpha1

// Condition types, following kstatus: Ready is always present once the object has been seen;
// Reconciling and Stalled are present only while true.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
)

// Condition reasons. Events use the same reasons, so `kubectl get events` and conditions agree.
const (
	ReasonSucceeded            = "Succeeded"
	ReasonProgressing          = "Progressing"
	ReasonProgressingWithRetry = "ProgressingWithRetry"
	ReasonSuspended            = "Suspended"
	ReasonSourceNotFound       = "SourceNotFound"
	ReasonSourceUnavailable    = "SourceUnavailable"
	ReasonInvalidData          = "InvalidData"
	ReasonMissingColumn        = "MissingColumn"
	ReasonNoData               = "NoData"
	ReasonFitFailed            = "FitFailed"
	ReasonInvalidSpec          = "InvalidSpec"
	ReasonInvalidSchedule      = "InvalidSchedule"
	ReasonInvalidFilter        = "InvalidFilter"
	ReasonAccessDenied         = "AccessDenied"
	// ReasonSourceRefusedByPolicy: the operator's http source policy refused the address a URL
	// (or one of its redirects) leads to (--http-source-allow-cidrs and related flags).
	ReasonSourceRefusedByPolicy = "SourceRefusedByPolicy"
	ReasonSinkFailed            = "SinkFailed"
	// ReasonDeletionFailed: the computation is being deleted and its rows in the customers
	// table cannot be deleted yet (spec.output.customers.deletionPolicy Delete); retried with
	// backoff.
	ReasonDeletionFailed = "DeletionFailed"
	ReasonLTVDrift       = "LTVDrift"
	// Job mode: why a run's Pod failed, and a run waiting for a free slot.
	ReasonOOMKilled        = "OOMKilled"
	ReasonEvicted          = "Evicted"
	ReasonDeadlineExceeded = "DeadlineExceeded"
	ReasonImagePullFailed  = "ImagePullFailed"
	ReasonPodFailed        = "PodFailed"
	ReasonInvalidResult    = "InvalidResult"
	ReasonQueued           = "Queued"
)

// RequestedAtAnnotation requests a run now when its value changes (the Flux convention, so
// `flux reconcile`-style tooling and `kubectl annotate` both work).
const RequestedAtAnnotation = "reconcile.fluxcd.io/requestedAt"
