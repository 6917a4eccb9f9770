package controllers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // zones for the tests, as the manager binary embeds them

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "github.com/ltv-operator/ltv-operator/api/v1alpha1"
)

// Scheduling tests step the suite's fake clock and wake the controller through the
// controllers.Options.Wakeup hook, since RequeueAfter waits in real time.
//
// Objects get their creationTimestamp from the API server's (real) clock, and a computation
// never runs slots from before its creation. Each test therefore starts the fake clock a
// little after the real time, and puts its daily slot six hours later: no slot falls between
// the creation and the test's start.

// startScheduleTest sets the fake clock to just after the real time and returns it with the
// test's daily slot, six hours later. Tests share the clock and run one at a time.
func startScheduleTest(t *testing.T) (start, slot time.Time) {
	t.Helper()
	start = time.Now().UTC().Truncate(time.Minute).Add(2 * time.Minute)
	fakeClock.SetTime(start)
	return start, start.Add(6 * time.Hour)
}

// setClock moves the fake clock.
func setClock(to time.Time) { fakeClock.SetTime(to) }

// dailyAt is a cron schedule firing every day at t's time of day in loc.
func dailyAt(t time.Time, loc *time.Location) string {
	l := t.In(loc)
	return fmt.Sprintf("%d %d * * *", l.Minute(), l.Hour())
}

// dayBefore is the observation end of a run with nominal time t in loc.
func dayBefore(t time.Time, loc *time.Location) string {
	return t.In(loc).AddDate(0, 0, -1).Format(time.DateOnly)
}

// createScheduled creates the shop computation with a schedule and the default observation end.
func createScheduled(t *testing.T, ns string, spec func(*v1alpha1.LTVComputationSpec)) {
	t.Helper()
	createShop(t, ns, func(s *v1alpha1.LTVComputationSpec) {
		s.Observation.End = ""
		spec(s)
	})
	t.Cleanup(func() { deleteComputations(ns) })
}

// deleteComputations removes a test's computations, so that later tests moving the shared
// clock never wake them.
func deleteComputations(ns string) {
	_ = k8sClient.DeleteAllOf(context.Background(), &v1alpha1.LTVComputation{}, client.InNamespace(ns))
}

// settle wakes the computation and waits until the controller has reconciled it: for
// assertions that nothing happened.
func settle(t *testing.T, ns, name string) {
	t.Helper()
	before := apiCalls.snapshot(ns).Reconciles[name]
	wakeup(ns, name)
	eventually(t, 10*time.Second, "a reconcile of "+name, func() (bool, string) {
		n := apiCalls.snapshot(ns).Reconciles[name]
		return n > before, fmt.Sprintf("%d reconciles", n)
	})
	// The reconcile started; without a run it ends within milliseconds.
	time.Sleep(500 * time.Millisecond)
}

// wakeUntil wakes the computation until cond holds (a wakeup sent while a reconcile of the
// same object runs is merged into it, so one may not be enough).
func wakeUntil(t *testing.T, ns, name, what string, cond func(*v1alpha1.LTVComputation) bool) *v1alpha1.LTVComputation {
	t.Helper()
	var obj *v1alpha1.LTVComputation
	eventually(t, 30*time.Second, what, func() (bool, string) {
		obj = getLTV(t, ns, name)
		if cond(obj) && meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReconciling) == nil {
			return true, ""
		}
		wakeup(ns, name)
		return false, describe(obj) + " " + scheduleState(obj)
	})
	return obj
}

func scheduleState(obj *v1alpha1.LTVComputation) string {
	f := func(t *metav1.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	var runs []string
	for _, r := range obj.Status.RecentRuns {
		runs = append(runs, fmt.Sprintf("%s@%s", r.Trigger, f(r.ScheduledTime)))
	}
	return fmt.Sprintf("last=%s next=%s runs=[%s]", f(obj.Status.LastScheduleTime), f(obj.Status.NextScheduleTime), strings.Join(runs, " "))
}

// patchSpec changes the spec with a merge patch (no conflicts with the controller's status
// writes).
func patchSpec(t *testing.T, ns, name string, change func(*v1alpha1.LTVComputationSpec)) {
	t.Helper()
	obj := getLTV(t, ns, name)
	patch := client.MergeFrom(obj.DeepCopy())
	change(&obj.Spec)
	if err := k8sClient.Patch(context.Background(), obj, patch); err != nil {
		t.Fatal(err)
	}
}

func sameTime(a *metav1.Time, b time.Time) bool {
	return a != nil && a.Time.Equal(b.Truncate(time.Second))
}

// A scheduled computation runs at its slot, records the nominal time, and observes up to the
// day before it; a change re-runs the same slot with the same answer; a request runs now and
// counts in the history without moving the schedule.
func TestScheduleRunsAtItsTime(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	start, slot := startScheduleTest(t)
	createScheduled(t, ns, func(s *v1alpha1.LTVComputationSpec) { s.Schedule = dailyAt(slot, time.UTC) })

	// Created between slots: it runs once at once, for the latest slot (yesterday's).
	obj := waitRuns(t, ns, "shop", 1)
	prev := slot.AddDate(0, 0, -1)
	first := obj.Status.RecentRuns[0]
	if first.Trigger != "Change" || !sameTime(first.ScheduledTime, prev) || !sameTime(&first.StartTime, start) {
		t.Errorf("first run = %+v, want a Change run for %s started at %s", first, prev, start)
	}
	if got, want := obj.Status.Result.ObservationEnd, dayBefore(prev, time.UTC); got != want {
		t.Errorf("first observationEnd = %s, want %s", got, want)
	}
	if obj.Status.LastScheduleTime != nil || !sameTime(obj.Status.NextScheduleTime, slot) {
		t.Errorf("after the first run: %s, want no lastScheduleTime and next %s", scheduleState(obj), slot)
	}

	// Nothing happens before the slot.
	setClock(slot.Add(-time.Minute))
	settle(t, ns, "shop")
	if n := len(getLTV(t, ns, "shop").Status.RecentRuns); n != 1 {
		t.Fatalf("%d runs before the slot, want 1", n)
	}

	// At the slot: a scheduled run with the nominal time.
	ranAt := slot.Add(30 * time.Second)
	setClock(ranAt)
	obj = wakeUntil(t, ns, "shop", "the scheduled run", func(o *v1alpha1.LTVComputation) bool { return len(o.Status.RecentRuns) == 2 })
	run := obj.Status.RecentRuns[0]
	if run.Trigger != "Schedule" || !run.Succeeded || !sameTime(run.ScheduledTime, slot) || !sameTime(&run.StartTime, ranAt) {
		t.Errorf("scheduled run = %+v, want Schedule for %s started at %s", run, slot, ranAt)
	}
	if !sameTime(obj.Status.LastScheduleTime, slot) || !sameTime(obj.Status.NextScheduleTime, slot.AddDate(0, 0, 1)) {
		t.Errorf("after the scheduled run: %s", scheduleState(obj))
	}
	if !sameTime(obj.Status.LastSuccessfulTime, ranAt) || !obj.Status.Result.ComputedAt.Time.Equal(ranAt) {
		t.Errorf("lastSuccessfulTime = %v, computedAt = %v, want %s", obj.Status.LastSuccessfulTime, obj.Status.Result.ComputedAt, ranAt)
	}
	wantEnd := dayBefore(slot, time.UTC)
	if obj.Status.Result.ObservationEnd != wantEnd {
		t.Errorf("observationEnd = %s, want %s (the day before the nominal time)", obj.Status.Result.ObservationEnd, wantEnd)
	}
	scheduled := obj.Status.Result

	// Waking it again in the same slot starts nothing.
	settle(t, ns, "shop")
	if n := len(getLTV(t, ns, "shop").Status.RecentRuns); n != 2 {
		t.Fatalf("%d runs after a second look at the same slot, want 2", n)
	}

	// Hours later new data arrives, dated after the observation end: the Change run re-runs
	// the same slot and gives the same answer.
	setClock(slot.Add(5 * time.Hour))
	var cm corev1.ConfigMap
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "orders"}, &cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["orders.csv"] += fmt.Sprintf("c1,%s,500.00,email\nc9,%s,70.00,email\n", slot.Format(time.DateOnly), slot.Format(time.DateOnly))
	if err := k8sClient.Update(ctx, &cm); err != nil {
		t.Fatal(err)
	}
	obj = waitRuns(t, ns, "shop", 3)
	rerun := obj.Status.RecentRuns[0]
	if rerun.Trigger != "Change" || !sameTime(rerun.ScheduledTime, slot) {
		t.Errorf("re-run = %+v, want a Change run for the slot %s", rerun, slot)
	}
	got := obj.Status.Result
	if got.ObservationEnd != scheduled.ObservationEnd || got.AverageLTV != scheduled.AverageLTV || got.Customers != scheduled.Customers || got.TotalLTV != scheduled.TotalLTV {
		t.Errorf("re-running the slot changed the answer: %+v, before %+v", got, scheduled)
	}
	if got.DataDigest == scheduled.DataDigest || got.ExcludedRows != scheduled.ExcludedRows+2 {
		t.Errorf("the re-run did not read the new data: digest %s excluded %d", got.DataDigest, got.ExcludedRows)
	}
	if !sameTime(obj.Status.LastScheduleTime, slot) {
		t.Errorf("a Change run moved lastScheduleTime: %s", scheduleState(obj))
	}

	// A request runs now, observes up to yesterday, and counts in the history; the schedule
	// does not move.
	requestAt := slot.Add(20 * time.Hour) // the next day in UTC
	setClock(requestAt)
	patch := client.MergeFrom(obj.DeepCopy())
	obj.Annotations = map[string]string{v1alpha1.RequestedAtAnnotation: "manual-1"}
	if err := k8sClient.Patch(ctx, obj, patch); err != nil {
		t.Fatal(err)
	}
	obj = waitRuns(t, ns, "shop", 4)
	req := obj.Status.RecentRuns[0]
	if req.Trigger != "Request" || !req.Succeeded || !sameTime(req.ScheduledTime, requestAt) || obj.Status.LastHandledReconcileAt != "manual-1" {
		t.Errorf("request run = %+v, lastHandledReconcileAt %q", req, obj.Status.LastHandledReconcileAt)
	}
	if obj.Status.Result.ObservationEnd != dayBefore(requestAt, time.UTC) {
		t.Errorf("request observationEnd = %s, want %s", obj.Status.Result.ObservationEnd, dayBefore(requestAt, time.UTC))
	}
	if !sameTime(obj.Status.LastScheduleTime, slot) || !sameTime(obj.Status.NextScheduleTime, slot.AddDate(0, 0, 1)) {
		t.Errorf("a request moved the schedule: %s", scheduleState(obj))
	}
}

// The schedule is read in spec.timeZone: the slot, nextScheduleTime and the observation end
// (the day before the nominal time in that zone) follow it.
func TestScheduleTimeZone(t *testing.T) {
	ns := newNamespace(t)
	_, slot := startScheduleTest(t)
	// A zone far from UTC in which the slot falls on another calendar day than in UTC, so
	// that the observation end tells the zones apart.
	zone := "Pacific/Kiritimati" // UTC+14
	if slot.Hour() < 10 {
		zone = "Pacific/Pago_Pago" // UTC-11
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	if dayBefore(slot, loc) == dayBefore(slot, time.UTC) {
		t.Fatalf("test setup: %s is the same day in %s and UTC", slot, zone)
	}
	createScheduled(t, ns, func(s *v1alpha1.LTVComputationSpec) {
		s.Schedule = dailyAt(slot, loc)
		s.TimeZone = ptr.To(zone)
	})
	obj := waitRuns(t, ns, "shop", 1)
	if !sameTime(obj.Status.NextScheduleTime, slot) {
		t.Errorf("nextScheduleTime = %v, want %s (%s in %s)", obj.Status.NextScheduleTime, slot, dailyAt(slot, loc), zone)
	}
	if got, want := obj.Status.Result.ObservationEnd, dayBefore(slot.AddDate(0, 0, -1), loc); got != want {
		t.Errorf("first observationEnd = %s, want %s", got, want)
	}
	setClock(slot.Add(time.Minute))
	obj = wakeUntil(t, ns, "shop", "the scheduled run", func(o *v1alpha1.LTVComputation) bool { return len(o.Status.RecentRuns) == 2 })
	if run := obj.Status.RecentRuns[0]; run.Trigger != "Schedule" || !sameTime(run.ScheduledTime, slot) {
		t.Errorf("run = %+v, want Schedule at %s", run, slot)
	}
	if got, want := obj.Status.Result.ObservationEnd, dayBefore(slot, loc); got != want {
		t.Errorf("observationEnd = %s, want %s: the day before the nominal time in %s (in UTC it would be %s)", got, want, zone, dayBefore(slot, time.UTC))
	}
}

// An unknown zone, a TZ=/CRON_TZ= prefix or a schedule that never fires stalls with reason
// InvalidSchedule and a message that says what to fix; fixing it recovers.
func TestInvalidScheduleStalls(t *testing.T) {
	cases := []struct {
		name, schedule, zone string
		mention              []string
	}{
		{"unknown zone", "0 3 * * *", "Mars/Olympus", []string{`timeZone: "Mars/Olympus" is not a known IANA time zone`}},
		{"TZ prefix", "TZ=Europe/Warsaw 0 3 * * *", "", []string{"TZ= and CRON_TZ= prefixes are not supported", "spec.timeZone"}},
		{"CRON_TZ prefix", "CRON_TZ=UTC 0 3 * * *", "", []string{"TZ= and CRON_TZ= prefixes are not supported"}},
		{"not cron", "every day at 3", "", []string{`"every day at 3" is not a valid cron expression`}},
		{"never fires", "0 0 30 2 *", "", []string{`"0 0 30 2 *" never fires`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns := newNamespace(t)
			createScheduled(t, ns, func(s *v1alpha1.LTVComputationSpec) {
				s.Schedule = c.schedule
				if c.zone != "" {
					s.TimeZone = ptr.To(c.zone)
				}
			})
			obj := waitCondition(t, ns, "shop", v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonInvalidSchedule)
			msg := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionStalled).Message
			for _, m := range c.mention {
				if !strings.Contains(msg, m) {
					t.Errorf("message %q does not say %q", msg, m)
				}
			}
			if r := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady); r.Status != metav1.ConditionFalse || r.Reason != v1alpha1.ReasonInvalidSchedule {
				t.Errorf("Ready = %+v", r)
			}
			if len(obj.Status.RecentRuns) != 0 || obj.Status.NextScheduleTime != nil {
				t.Errorf("a computation with an invalid schedule ran or has a next time: %s", scheduleState(obj))
			}
			assertEvent(t, ns, "shop", v1alpha1.ReasonInvalidSchedule)

			patchSpec(t, ns, "shop", func(s *v1alpha1.LTVComputationSpec) {
				s.Schedule, s.TimeZone = "0 3 * * *", ptr.To("Europe/Warsaw")
			})
			obj = waitCondition(t, ns, "shop", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSucceeded)
			if meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionStalled) != nil || obj.Status.NextScheduleTime == nil {
				t.Errorf("after the fix: %s %s", describe(obj), scheduleState(obj))
			}
		})
	}
}

// After downtime the latest missed slot runs once if it is within startingDeadlineSeconds, and
// not at all beyond it; older missed slots never pile up.
func TestStartingDeadlineAfterDowntime(t *testing.T) {
	ns := newNamespace(t)
	_, slot := startScheduleTest(t)
	createScheduled(t, ns, func(s *v1alpha1.LTVComputationSpec) {
		s.Schedule = dailyAt(slot, time.UTC)
		s.StartingDeadlineSeconds = ptr.To[int64](3600)
	})
	waitRuns(t, ns, "shop", 1)

	// Down for three days and a half hour: four slots missed, the latest 30 minutes ago.
	latest := slot.AddDate(0, 0, 3)
	setClock(latest.Add(30 * time.Minute))
	obj := wakeUntil(t, ns, "shop", "one catch-up run", func(o *v1alpha1.LTVComputation) bool { return len(o.Status.RecentRuns) >= 2 })
	for i := 0; i < 3; i++ {
		settle(t, ns, "shop")
	}
	obj = getLTV(t, ns, "shop")
	if len(obj.Status.RecentRuns) != 2 {
		t.Fatalf("%d runs after the downtime, want exactly one catch-up: %s", len(obj.Status.RecentRuns)-1, scheduleState(obj))
	}
	if run := obj.Status.RecentRuns[0]; run.Trigger != "Schedule" || !sameTime(run.ScheduledTime, latest) || obj.Status.Result.ObservationEnd != dayBefore(latest, time.UTC) {
		t.Errorf("catch-up run = %+v (observationEnd %s), want the latest missed slot %s", run, obj.Status.Result.ObservationEnd, latest)
	}
	if !sameTime(obj.Status.LastScheduleTime, latest) || !sameTime(obj.Status.NextScheduleTime, latest.AddDate(0, 0, 1)) {
		t.Errorf("after the catch-up: %s", scheduleState(obj))
	}

	// Down again for two days; the latest missed slot is two hours old: beyond the deadline.
	tooLate := latest.AddDate(0, 0, 2)
	setClock(tooLate.Add(2 * time.Hour))
	obj = wakeUntil(t, ns, "shop", "the next time to move on", func(o *v1alpha1.LTVComputation) bool {
		return sameTime(o.Status.NextScheduleTime, tooLate.AddDate(0, 0, 1))
	})
	settle(t, ns, "shop")
	obj = getLTV(t, ns, "shop")
	if len(obj.Status.RecentRuns) != 2 || !sameTime(obj.Status.LastScheduleTime, latest) {
		t.Errorf("a slot beyond the deadline ran: %s", scheduleState(obj))
	}

	// The next slot runs on time.
	setClock(tooLate.AddDate(0, 0, 1).Add(time.Second))
	obj = wakeUntil(t, ns, "shop", "the next slot", func(o *v1alpha1.LTVComputation) bool { return len(o.Status.RecentRuns) == 3 })
	if run := obj.Status.RecentRuns[0]; run.Trigger != "Schedule" || !sameTime(run.ScheduledTime, tooLate.AddDate(0, 0, 1)) {
		t.Errorf("run = %+v", run)
	}
}

// Without startingDeadlineSeconds any downtime ends with one run of the latest missed slot.
func TestNoDeadlineCatchesUpOnce(t *testing.T) {
	ns := newNamespace(t)
	_, slot := startScheduleTest(t)
	createScheduled(t, ns, func(s *v1alpha1.LTVComputationSpec) { s.Schedule = dailyAt(slot, time.UTC) })
	waitRuns(t, ns, "shop", 1)
	latest := slot.AddDate(0, 0, 40)
	setClock(latest.Add(7 * time.Hour))
	wakeUntil(t, ns, "shop", "one catch-up run", func(o *v1alpha1.LTVComputation) bool { return len(o.Status.RecentRuns) >= 2 })
	for i := 0; i < 3; i++ {
		settle(t, ns, "shop")
	}
	obj := getLTV(t, ns, "shop")
	if len(obj.Status.RecentRuns) != 2 || !sameTime(obj.Status.RecentRuns[0].ScheduledTime, latest) {
		t.Errorf("after 40 missed slots: %s, want one run for %s", scheduleState(obj), latest)
	}
}

// suspend stops scheduled runs and runs on change; status still follows the generation;
// resuming starts nothing unless a slot was missed, which then runs once.
func TestSuspendAndResume(t *testing.T) {
	ns := newNamespace(t)
	_, slot := startScheduleTest(t)
	createScheduled(t, ns, func(s *v1alpha1.LTVComputationSpec) { s.Schedule = dailyAt(slot, time.UTC) })
	obj := waitRuns(t, ns, "shop", 1)

	update := func(change func(*v1alpha1.LTVComputationSpec)) { t.Helper(); patchSpec(t, ns, "shop", change) }

	// Suspending: observed at once, no run, no next time, Ready keeps the last result.
	update(func(s *v1alpha1.LTVComputationSpec) { s.Suspend = ptr.To(true) })
	obj = waitCondition(t, ns, "shop", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSuspended)
	if len(obj.Status.RecentRuns) != 1 || obj.Status.NextScheduleTime != nil {
		t.Errorf("suspending: %s", scheduleState(obj))
	}

	// The slot passes: nothing runs.
	setClock(slot.Add(10 * time.Minute))
	settle(t, ns, "shop")
	// A spec change while suspended is observed, and runs nothing.
	update(func(s *v1alpha1.LTVComputationSpec) { s.Economics.GrossMargin = "0.60" })
	eventually(t, 30*time.Second, "the new generation observed", func() (bool, string) {
		o := getLTV(t, ns, "shop")
		r := meta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionReady)
		return o.Status.ObservedGeneration == o.Generation && r != nil && r.ObservedGeneration == o.Generation, describe(o)
	})
	settle(t, ns, "shop")
	obj = getLTV(t, ns, "shop")
	if len(obj.Status.RecentRuns) != 1 || obj.Status.LastScheduleTime != nil {
		t.Fatalf("a suspended computation ran: %s", scheduleState(obj))
	}

	// Resuming: the slot missed while suspended runs once (CronJob semantics without a
	// deadline), with the new margin.
	update(func(s *v1alpha1.LTVComputationSpec) { s.Suspend = nil })
	obj = waitRuns(t, ns, "shop", 2)
	settle(t, ns, "shop")
	obj = getLTV(t, ns, "shop")
	if len(obj.Status.RecentRuns) != 2 || obj.Status.RecentRuns[0].Trigger != "Schedule" || !sameTime(obj.Status.RecentRuns[0].ScheduledTime, slot) {
		t.Fatalf("resuming: %s, want one run of the missed slot %s", scheduleState(obj), slot)
	}
	if !sameTime(obj.Status.NextScheduleTime, slot.AddDate(0, 0, 1)) || obj.Status.ObservedGeneration != obj.Generation {
		t.Errorf("after resuming: %s %s", describe(obj), scheduleState(obj))
	}
	if r := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady); r.Reason != v1alpha1.ReasonSucceeded {
		t.Errorf("Ready after resuming = %+v", r)
	}

	// Suspending and resuming between slots starts nothing.
	update(func(s *v1alpha1.LTVComputationSpec) { s.Suspend = ptr.To(true) })
	waitCondition(t, ns, "shop", v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonSuspended)
	update(func(s *v1alpha1.LTVComputationSpec) { s.Suspend = ptr.To(false) })
	obj = waitCondition(t, ns, "shop", v1alpha1.ConditionReady, metav1.ConditionTrue, "")
	settle(t, ns, "shop")
	obj = getLTV(t, ns, "shop")
	if len(obj.Status.RecentRuns) != 2 || obj.Status.NextScheduleTime == nil {
		t.Errorf("suspend and resume between slots: %s", scheduleState(obj))
	}
}

// runHistoryLimit bounds recentRuns, newest first; lowering it trims without a run; requests
// count in the history like other runs.
func TestRunHistoryLimit(t *testing.T) {
	ns := newNamespace(t)
	ctx := context.Background()
	createShop(t, ns, func(s *v1alpha1.LTVComputationSpec) { s.RunHistoryLimit = ptr.To[int32](3) })
	t.Cleanup(func() { deleteComputations(ns) })
	waitRuns(t, ns, "shop", 1)
	for i := 1; i <= 4; i++ {
		setClock(fakeClock.Now().Add(time.Minute)) // runs start at distinct times
		obj := getLTV(t, ns, "shop")
		patch := client.MergeFrom(obj.DeepCopy())
		obj.Annotations = map[string]string{v1alpha1.RequestedAtAnnotation: fmt.Sprintf("request-%d", i)}
		if err := k8sClient.Patch(ctx, obj, patch); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, fmt.Sprintf("request %d handled", i), func() (bool, string) {
			o := getLTV(t, ns, "shop")
			return o.Status.LastHandledReconcileAt == fmt.Sprintf("request-%d", i) && meta.IsStatusConditionTrue(o.Status.Conditions, v1alpha1.ConditionReady), describe(o)
		})
	}
	obj := getLTV(t, ns, "shop")
	if len(obj.Status.RecentRuns) != 3 {
		t.Fatalf("%d runs kept, want 3", len(obj.Status.RecentRuns))
	}
	for _, r := range obj.Status.RecentRuns {
		if r.Trigger != "Request" || !r.Succeeded {
			t.Errorf("run %+v, want the three latest requests", r)
		}
	}
	newest := obj.Status.RecentRuns[0]

	patchSpec(t, ns, "shop", func(s *v1alpha1.LTVComputationSpec) { s.RunHistoryLimit = ptr.To[int32](1) })
	eventually(t, 30*time.Second, "history trimmed to 1", func() (bool, string) {
		o := getLTV(t, ns, "shop")
		return len(o.Status.RecentRuns) == 1 && o.Status.ObservedGeneration == o.Generation, describe(o)
	})
	obj = getLTV(t, ns, "shop")
	if !obj.Status.RecentRuns[0].StartTime.Equal(&newest.StartTime) || obj.Status.RecentRuns[0].Trigger != "Request" {
		t.Errorf("lowering the limit started a run or dropped the newest: %+v", obj.Status.RecentRuns[0])
	}
	if r := meta.FindStatusCondition(obj.Status.Conditions, v1alpha1.ConditionReady); r == nil || r.ObservedGeneration != obj.Generation || r.Status != metav1.ConditionTrue {
		t.Errorf("Ready does not follow the generation: %+v", r)
	}
}

// A scheduled run that fails transiently is retried with backoff; the retry (a Change run)
// still answers for the slot: same nominal time, same observation end.
func TestRetryOfScheduledRunKeepsItsSlot(t *testing.T) {
	ns := newNamespace(t)
	_, slot := startScheduleTest(t)
	// The source answers 503 until healed: the run is retried with backoff.
	flaky := newFlakyShop(t)
	createScheduled(t, ns, func(s *v1alpha1.LTVComputationSpec) {
		s.Schedule = dailyAt(slot, time.UTC)
		flaky.use(s)
		s.RunHistoryLimit = ptr.To[int32](100) // keep every retry
	})
	waitCondition(t, ns, "shop", v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonProgressingWithRetry)

	setClock(slot.Add(time.Minute))
	eventually(t, 30*time.Second, "the scheduled run attempted", func() (bool, string) {
		o := getLTV(t, ns, "shop")
		if sameTime(o.Status.LastScheduleTime, slot) {
			return true, ""
		}
		wakeup(ns, "shop")
		return false, scheduleState(o)
	})
	flaky.heal()
	obj := wakeUntil(t, ns, "shop", "a successful retry", func(o *v1alpha1.LTVComputation) bool {
		return meta.IsStatusConditionTrue(o.Status.Conditions, v1alpha1.ConditionReady)
	})
	ok := obj.Status.RecentRuns[0]
	if !ok.Succeeded || ok.Trigger != "Change" || !sameTime(ok.ScheduledTime, slot) || obj.Status.Result.ObservationEnd != dayBefore(slot, time.UTC) {
		t.Errorf("successful retry = %+v (observationEnd %s), want a Change run for the slot %s", ok, obj.Status.Result.ObservationEnd, slot)
	}
	failedSchedule := false
	for _, r := range obj.Status.RecentRuns[1:] {
		if r.Trigger == "Schedule" && !r.Succeeded && r.Reason == v1alpha1.ReasonSourceUnavailable && sameTime(r.ScheduledTime, slot) {
			failedSchedule = true
		}
	}
	if !failedSchedule {
		t.Errorf("no failed scheduled run for %s in %s", slot, scheduleState(obj))
	}
	if !sameTime(obj.Status.LastScheduleTime, slot) || !sameTime(obj.Status.NextScheduleTime, slot.AddDate(0, 0, 1)) {
		t.Errorf("after the retry: %s", scheduleState(obj))
	}
}
