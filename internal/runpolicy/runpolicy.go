// Package runpolicy is the run decision of an LTVComputation: given what the controller
// gathered (schedule, request, revisions, previous outcome), which trigger starts a run and
// which nominal slot it answers for, or why nothing runs. It is pure, so it is table-tested
// without an API server.
package runpolicy

import "time"

// Run triggers, recorded in status.recentRuns.
const (
	TriggerChange   = "Change"
	TriggerRequest  = "Request"
	TriggerSchedule = "Schedule"
)

// Idle says why a decision starts no run.
type Idle int

const (
	IdleUpToDate  Idle = iota // nothing a run depends on changed
	IdleSuspended             // spec.suspend: no runs, conditions say so
	IdleResumed               // resumed after a successful run: its result stands
	IdleBackoff               // a failed run's retry waits for Input.RetryAt
)

// Input is everything the run decision depends on, gathered before deciding.
type Input struct {
	Now       time.Time
	Suspended bool
	// Due is the schedule slot due now; nil without a schedule, when none is due or when suspended.
	Due *time.Time
	// LastSlot is status.lastScheduleTime: the slot the last scheduled run answered.
	LastSlot *time.Time
	// PrevSlot is the schedule's latest slot at Now; zero without a schedule.
	PrevSlot time.Time
	// RequestPending: the requestedAt annotation differs from status.lastHandledReconcileAt.
	RequestPending bool
	// Resumed: not suspended, but Ready still says Suspended.
	Resumed bool
	// LastSucceeded: there is a result and the latest run succeeded.
	LastSucceeded bool
	// HasResult: status.result is set; ResultsPublished: its ConfigMap still exists.
	HasResult        bool
	ResultsPublished bool
	// Revision identifies the inputs now; LastAttemptedRevision those of the last run.
	Revision, LastAttemptedRevision string
	// RetryAt, when set, is when a run that failed transiently is retried (status.nextRetryTime,
	// see Backoff): until then nothing runs for it, unless the inputs changed (Revision differs
	// from LastAttemptedRevision), a slot is due or a request is pending.
	RetryAt time.Time
}

// Decision is what a reconcile does: run (Trigger, answering for the Nominal time) or nothing
// (Idle says why).
type Decision struct {
	Trigger string
	Nominal time.Time
	// SetLastSlot: the run answers a newly due slot, recorded in status.lastScheduleTime.
	SetLastSlot bool
	Idle        Idle
}

// Run reports whether the decision starts a run.
func (d Decision) Run() bool { return d.Trigger != "" }

// Decide is the run decision: which trigger, which nominal slot, or why nothing runs. It is a
// pure function of its input.
func Decide(in Input) Decision {
	var d Decision
	inputsChanged := false
	switch {
	case in.Due != nil:
		// A due slot also answers a pending request: one run, and the slot is not lost.
		d.Trigger = TriggerSchedule
	case in.RequestPending:
		d.Trigger = TriggerRequest
	case in.Resumed && !in.LastSucceeded:
		d.Trigger = TriggerChange
	case in.Revision != in.LastAttemptedRevision && !in.Suspended:
		// Changed inputs may be the fix of what failed: run at once, whatever the backoff.
		d.Trigger, inputsChanged = TriggerChange, true
	case !in.RetryAt.IsZero() && !in.Suspended:
		// The retry of a run that failed transiently.
		d.Trigger = TriggerChange
	case in.HasResult && !in.Suspended && !in.ResultsPublished:
		// Someone deleted or edited the published results: publish them again.
		d.Trigger = TriggerChange
	}
	if d.Trigger == TriggerChange && !inputsChanged && in.Now.Before(in.RetryAt) {
		d.Trigger = ""
		d.Idle = IdleBackoff
		return d
	}
	if d.Trigger == "" {
		switch {
		case in.Suspended:
			d.Idle = IdleSuspended
		case in.Resumed:
			d.Idle = IdleResumed
		default:
			d.Idle = IdleUpToDate
		}
		return d
	}
	d.Nominal = in.Now
	switch {
	case d.Trigger == TriggerSchedule:
		d.Nominal, d.SetLastSlot = *in.Due, true
	case d.Trigger == TriggerChange && in.LastSlot != nil:
		// A changed spec or data (or a retry) re-runs the last scheduled slot, so it answers
		// for that slot.
		d.Nominal = *in.LastSlot
	case d.Trigger == TriggerChange && !in.PrevSlot.IsZero():
		// No slot ran yet: answer for the schedule's latest slot, as a scheduled run would
		// have, so that re-runs before the first scheduled one agree.
		d.Nominal = in.PrevSlot
	}
	return d
}

// Backoff is the wait before retrying a run that failed transiently: Initial after the first
// failure, doubling with each consecutive failure, at most Max.
type Backoff struct {
	Initial, Max time.Duration
}

// DefaultBackoff retries after 10 s, 20 s, 40 s, ... at most 5 min.
var DefaultBackoff = Backoff{Initial: 10 * time.Second, Max: 5 * time.Minute}

// Wait is the backoff after the given number of consecutive failures (at least 1).
func (b Backoff) Wait(failures int32) time.Duration {
	d := b.Initial
	for i := int32(1); i < failures && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// NextRetry is when a run that failed transiently at failedAt, its failures-th failure in a
// row, is retried. It is rounded up to a whole second, as status stores it, so that the stored
// time is never earlier than the backoff.
func (b Backoff) NextRetry(failedAt time.Time, failures int32) time.Time {
	wait := b.Wait(failures)
	if wait == 0 {
		return failedAt
	}
	t := failedAt.Add(wait)
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}
