package schedule

import (
	"testing"
	"time"
)

// FuzzParse checks that no expression or time zone makes Parse panic, and that a schedule it
// accepts moves forward: Next is after its start, Prev at or before it.
func FuzzParse(f *testing.F) {
	for _, seed := range [][2]string{
		{"0 3 * * *", "Europe/Warsaw"},
		{"*/15 * * * *", ""},
		{"@daily", "America/New_York"},
		{"0 0 29 2 *", "UTC"},
		{"0 0 30 2 *", ""},
		{"TZ=UTC 0 3 * * *", ""},
		{"0 2 * * 0", "Europe/London"},
		{"59 23 31 12 6", "Pacific/Kiritimati"},
		{"0-59/0 * * * *", ""},
		{"1-0 * * * *", ""},
		{"@every 0s", ""},
		{"* * * * * *", ""},
		{"0 3 * * *", "Local"},
		{"0 3 * * *", "../../etc/passwd"},
	} {
		f.Add(seed[0], seed[1])
	}
	start := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr, zone string) {
		s, err := Parse(expr, zone)
		if err != nil {
			if s != nil {
				t.Fatal("a schedule and an error")
			}
			return
		}
		if next := s.Next(start); !next.IsZero() && !next.After(start) {
			t.Fatalf("%q in %q: Next(%v) = %v", expr, zone, start, next)
		}
		if prev := s.Prev(start); !prev.IsZero() && prev.After(start) {
			t.Fatalf("%q in %q: Prev(%v) = %v", expr, zone, start, prev)
		}
	})
}
