package schedule

import (
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseRefusesBadInput(t *testing.T) {
	cases := []struct{ expr, tz, want string }{
		{"TZ=Europe/Warsaw 0 3 * * *", "", "TZ= and CRON_TZ="},
		{"CRON_TZ=UTC 0 3 * * *", "", "TZ= and CRON_TZ="},
		{"0 3 * *", "", "not a valid cron expression"},
		{"61 3 * * *", "", "not a valid cron expression"},
		{"0 3 * * *", "Mars/Olympus", `"Mars/Olympus" is not a known IANA time zone`},
		{"0 3 * * *", "Local", "not a known IANA time zone"},
	}
	for _, c := range cases {
		_, err := Parse(c.expr, c.tz)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q, %q) = %v, want error containing %q", c.expr, c.tz, err, c.want)
		}
	}
}

func TestNextHonoursTimeZone(t *testing.T) {
	s, err := Parse("0 3 * * *", "Europe/Warsaw")
	if err != nil {
		t.Fatal(err)
	}
	// 03:00 in Warsaw in winter (UTC+1) is 02:00 UTC.
	got := s.Next(mustTime(t, "2026-11-26T08:00:00Z")).UTC()
	if want := mustTime(t, "2026-11-27T02:00:00Z"); !got.Equal(want) {
		t.Fatalf("next = %s, want %s", got, want)
	}
}

func TestDue(t *testing.T) {
	s, err := Parse("0 3 * * *", "")
	if err != nil {
		t.Fatal(err)
	}
	hour := time.Hour
	cases := []struct {
		name     string
		now      string
		last     string
		deadline *time.Duration
		wantRun  string // "" for none
		wantNext string
	}{
		{"not yet due", "2026-11-26T02:00:00Z", "2026-11-25T03:00:00Z", nil, "", "2026-11-26T03:00:00Z"},
		{"due now", "2026-11-26T03:00:00Z", "2026-11-25T03:00:00Z", nil, "2026-11-26T03:00:00Z", "2026-11-27T03:00:00Z"},
		{"already ran this slot", "2026-11-26T04:00:00Z", "2026-11-26T03:00:00Z", nil, "", "2026-11-27T03:00:00Z"},
		{"three days down, no deadline: only the latest", "2026-11-29T05:00:00Z", "2026-11-25T03:00:00Z", nil, "2026-11-29T03:00:00Z", "2026-11-30T03:00:00Z"},
		{"missed within deadline", "2026-11-26T03:30:00Z", "2026-11-25T03:00:00Z", &hour, "2026-11-26T03:00:00Z", "2026-11-27T03:00:00Z"},
		{"missed beyond deadline", "2026-11-26T04:30:00Z", "2026-11-25T03:00:00Z", &hour, "", "2026-11-27T03:00:00Z"},
		{"long downtime beyond deadline", "2027-03-01T10:00:00Z", "2026-11-25T03:00:00Z", &hour, "", "2027-03-02T03:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run, next, err := s.Due(mustTime(t, c.now), mustTime(t, c.last), c.deadline)
			if err != nil {
				t.Fatal(err)
			}
			if c.wantRun == "" && run != nil {
				t.Errorf("run = %s, want none", run.UTC())
			}
			if c.wantRun != "" && (run == nil || !run.Equal(mustTime(t, c.wantRun))) {
				t.Errorf("run = %v, want %s", run, c.wantRun)
			}
			if !next.Equal(mustTime(t, c.wantNext)) {
				t.Errorf("next = %s, want %s", next.UTC(), c.wantNext)
			}
		})
	}
}

// After any downtime, however long and however frequent the schedule, exactly the latest missed
// time is due: never an error, never a pile.
func TestDueAfterLongDowntime(t *testing.T) {
	s, err := Parse("* * * * *", "")
	if err != nil {
		t.Fatal(err)
	}
	// A year of minutes without a deadline: the latest minute runs.
	run, next, err := s.Due(mustTime(t, "2027-11-26T00:00:30Z"), mustTime(t, "2026-11-26T00:00:00Z"), nil)
	if err != nil || run == nil || !run.Equal(mustTime(t, "2027-11-26T00:00:00Z")) || !next.Equal(mustTime(t, "2027-11-26T00:01:00Z")) {
		t.Fatalf("run = %v, next = %v, err = %v", run, next, err)
	}
	// With a deadline, the same.
	d := 10 * time.Minute
	run, _, err = s.Due(mustTime(t, "2027-11-26T00:00:30Z"), mustTime(t, "2026-11-26T00:00:00Z"), &d)
	if err != nil || run == nil || !run.Equal(mustTime(t, "2027-11-26T00:00:00Z")) {
		t.Fatalf("run = %v, err = %v", run, err)
	}
	// A yearly schedule, down for three years: the last New Year.
	y, _ := Parse("@yearly", "Europe/Warsaw")
	run, _, err = y.Due(mustTime(t, "2029-06-01T00:00:00Z"), mustTime(t, "2026-01-01T00:00:00Z"), nil)
	if err != nil || run == nil || !run.Equal(mustTime(t, "2028-12-31T23:00:00Z")) {
		t.Fatalf("yearly run = %v, err = %v", run, err)
	}
}

func TestParseRefusesScheduleThatNeverFires(t *testing.T) {
	if _, err := Parse("0 0 30 2 *", ""); err == nil || !strings.Contains(err.Error(), "never fires") {
		t.Fatalf("err = %v, want never fires", err)
	}
	if _, err := Parse("0 0 29 2 *", ""); err != nil {
		t.Fatalf("29 February fires in leap years: %v", err)
	}
}

// latest agrees with a plain forward scan, for assorted schedules, zones and windows.
func TestLatestMatchesForwardScan(t *testing.T) {
	exprs := []string{"* * * * *", "*/7 * * * *", "0 3 * * *", "30 2 * * 0", "* 3 * * *", "0 0 1 */3 *", "0 12 29 2 *", "@weekly", "15 1,13 * * 1-5"}
	zones := []string{"", "Europe/Warsaw", "America/New_York", "Asia/Kolkata"}
	start := mustTime(t, "2026-01-01T00:00:00Z")
	for _, e := range exprs {
		for _, z := range zones {
			s, err := Parse(e, z)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 40; i++ {
				// Deterministic spread of (after, now) pairs from minutes to years apart.
				after := start.Add(time.Duration(i*i*577) * time.Minute)
				now := after.Add(time.Duration(1+i*i*i*i*i/150) * time.Minute) // up to about 2 years
				var want time.Time
				n := 0
				for t := s.Next(after); !t.IsZero() && !t.After(now) && n < 5000; t = s.Next(t) {
					want = t
					n++
				}
				if n == 5000 {
					continue // the forward scan would take too long for the test
				}
				if got := s.latest(after, now); !got.Equal(want) {
					t.Fatalf("%q %q latest(%s, %s) = %s, want %s", e, z, after, now, got, want)
				}
			}
			now := start.AddDate(0, 7, 3)
			if p := s.Prev(now); p.After(now) || !s.Next(p).After(now) {
				t.Errorf("%q %q Prev(%s) = %s, next after it %s", e, z, now, p, s.Next(p))
			}
		}
	}
}
