package runpolicy

import (
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 3, 3, 0, 5, 0, time.UTC)
	slot := time.Date(2026, 11, 3, 3, 0, 0, 0, time.UTC)
	lastSlot := time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)
	prevSlot := time.Date(2026, 11, 3, 3, 0, 0, 0, time.UTC)
	// upToDate is a computation whose last run succeeded on the current inputs.
	upToDate := Input{Now: now, HasResult: true, ResultsPublished: true, LastSucceeded: true, Revision: "r1", LastAttemptedRevision: "r1"}
	with := func(edit func(*Input)) Input { in := upToDate; edit(&in); return in }

	cases := []struct {
		name        string
		in          Input
		trigger     string
		nominal     time.Time
		setLastSlot bool
		idle        Idle
	}{
		{name: "up to date: nothing runs", in: upToDate, idle: IdleUpToDate},
		{name: "first reconcile runs", in: Input{Now: now, Revision: "r1"}, trigger: TriggerChange, nominal: now},
		{name: "changed spec runs", in: with(func(i *Input) { i.Revision = "r2" }), trigger: TriggerChange, nominal: now},
		{name: "due slot runs for the slot", in: with(func(i *Input) { i.Due = &slot }), trigger: TriggerSchedule, nominal: slot, setLastSlot: true},
		{name: "due slot plus pending request: one scheduled run", in: with(func(i *Input) { i.Due = &slot; i.RequestPending = true }),
			trigger: TriggerSchedule, nominal: slot, setLastSlot: true},
		{name: "due slot plus changed spec: the slot wins", in: with(func(i *Input) { i.Due = &slot; i.Revision = "r2" }),
			trigger: TriggerSchedule, nominal: slot, setLastSlot: true},
		{name: "pending request runs now", in: with(func(i *Input) { i.RequestPending = true; i.LastSlot = &lastSlot }),
			trigger: TriggerRequest, nominal: now},
		{name: "request while suspended still runs", in: with(func(i *Input) { i.Suspended = true; i.RequestPending = true }),
			trigger: TriggerRequest, nominal: now},
		{name: "suspended with a changed spec: nothing runs", in: with(func(i *Input) { i.Suspended = true; i.Revision = "r2" }), idle: IdleSuspended},
		{name: "suspended with deleted results: nothing runs", in: with(func(i *Input) { i.Suspended = true; i.ResultsPublished = false }), idle: IdleSuspended},
		{name: "resumed after a success: its result stands", in: with(func(i *Input) { i.Resumed = true }), idle: IdleResumed},
		{name: "resumed after a failure: runs again", in: with(func(i *Input) { i.Resumed = true; i.LastSucceeded = false }),
			trigger: TriggerChange, nominal: now},
		{name: "resumed with a changed spec: runs", in: with(func(i *Input) { i.Resumed = true; i.Revision = "r2" }),
			trigger: TriggerChange, nominal: now},
		{name: "deleted results are published again", in: with(func(i *Input) { i.ResultsPublished = false }), trigger: TriggerChange, nominal: now},
		{name: "no result, nothing to republish", in: with(func(i *Input) { i.HasResult = false; i.ResultsPublished = false }), idle: IdleUpToDate},
		{name: "retry keeps its slot", in: with(func(i *Input) { i.LastSucceeded = false; i.RetryAt = now; i.LastSlot = &lastSlot }),
			trigger: TriggerChange, nominal: lastSlot},
		{name: "change before the first slot answers for the schedule's latest slot",
			in: with(func(i *Input) { i.Revision = "r2"; i.PrevSlot = prevSlot }), trigger: TriggerChange, nominal: prevSlot},
		{name: "change after a slot re-runs that slot, not the newest one",
			in: with(func(i *Input) { i.Revision = "r2"; i.LastSlot = &lastSlot; i.PrevSlot = prevSlot }), trigger: TriggerChange, nominal: lastSlot},
		{name: "retry before its backoff ends waits", in: with(func(i *Input) { i.LastSucceeded = false; i.RetryAt = now.Add(time.Minute) }), idle: IdleBackoff},
		{name: "retry at the end of its backoff runs", in: with(func(i *Input) { i.LastSucceeded = false; i.RetryAt = now }),
			trigger: TriggerChange, nominal: now},
		{name: "retry after its backoff runs", in: with(func(i *Input) { i.LastSucceeded = false; i.RetryAt = now.Add(-time.Second) }),
			trigger: TriggerChange, nominal: now},
		{name: "changed inputs during the backoff run at once (the fix of the failure)",
			in: with(func(i *Input) { i.LastSucceeded = false; i.Revision = "r2"; i.RetryAt = now.Add(time.Minute) }), trigger: TriggerChange, nominal: now},
		{name: "deleted results during the backoff wait for it", in: with(func(i *Input) { i.ResultsPublished = false; i.RetryAt = now.Add(time.Minute) }), idle: IdleBackoff},
		{name: "a pending retry while suspended: nothing runs", in: with(func(i *Input) { i.Suspended = true; i.RetryAt = now.Add(-time.Second) }), idle: IdleSuspended},
		{name: "a due slot during the backoff runs", in: with(func(i *Input) { i.Due = &slot; i.RetryAt = now.Add(time.Minute) }),
			trigger: TriggerSchedule, nominal: slot, setLastSlot: true},
		{name: "a request during the backoff runs", in: with(func(i *Input) { i.RequestPending = true; i.RetryAt = now.Add(time.Minute) }),
			trigger: TriggerRequest, nominal: now},
		{name: "schedule without a slot yet: now", in: with(func(i *Input) { i.Revision = "r2" }), trigger: TriggerChange, nominal: now},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.in)
			if d.Trigger != tc.trigger {
				t.Fatalf("trigger %q, want %q", d.Trigger, tc.trigger)
			}
			if d.Run() != (tc.trigger != "") {
				t.Errorf("Run() = %v with trigger %q", d.Run(), d.Trigger)
			}
			if !d.Nominal.Equal(tc.nominal) {
				t.Errorf("nominal %v, want %v", d.Nominal, tc.nominal)
			}
			if d.SetLastSlot != tc.setLastSlot {
				t.Errorf("SetLastSlot %v, want %v", d.SetLastSlot, tc.setLastSlot)
			}
			if !d.Run() && d.Idle != tc.idle {
				t.Errorf("idle %v, want %v", d.Idle, tc.idle)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	b := DefaultBackoff
	for failures, want := range map[int32]time.Duration{
		0: 10 * time.Second, 1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 5: 160 * time.Second,
		6: 5 * time.Minute, 7: 5 * time.Minute, 1000: 5 * time.Minute,
	} {
		if got := b.Wait(failures); got != want {
			t.Errorf("Wait(%d) = %s, want %s", failures, got, want)
		}
	}
	if got := (Backoff{}).Wait(9); got != 0 {
		t.Errorf("zero backoff waits %s", got)
	}
	failed := time.Date(2026, 11, 3, 3, 0, 5, 300_000_000, time.UTC)
	if got, want := b.NextRetry(failed, 2), time.Date(2026, 11, 3, 3, 0, 26, 0, time.UTC); !got.Equal(want) {
		t.Errorf("NextRetry = %s, want %s (rounded up to the second status stores)", got, want)
	}
	if got, want := b.NextRetry(failed.Truncate(time.Second), 1), time.Date(2026, 11, 3, 3, 0, 15, 0, time.UTC); !got.Equal(want) {
		t.Errorf("NextRetry = %s, want %s", got, want)
	}
}

// A restarted operator continues the backoff: the decision depends on status only (RetryAt is
// status.nextRetryTime), so the same input gives the same wait, whatever process decides.
func TestBackoffContinuesFromStatus(t *testing.T) {
	failedAt := time.Date(2026, 11, 3, 3, 0, 0, 0, time.UTC)
	retry := DefaultBackoff.NextRetry(failedAt, 4) // 80 s
	in := Input{Revision: "r1", LastAttemptedRevision: "r1", HasResult: true, ResultsPublished: true, RetryAt: retry}
	for _, after := range []time.Duration{0, time.Second, 79 * time.Second} {
		in.Now = failedAt.Add(after)
		if d := Decide(in); d.Run() || d.Idle != IdleBackoff {
			t.Errorf("%s after the failure: %+v, want to wait for the backoff", after, d)
		}
	}
	in.Now = failedAt.Add(80 * time.Second)
	if d := Decide(in); d.Trigger != TriggerChange {
		t.Errorf("at the end of the backoff: %+v, want the retry", d)
	}
}
