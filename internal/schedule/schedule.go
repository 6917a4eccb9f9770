// Package schedule interprets a computation's cron schedule with CronJob's semantics: an IANA
// time zone, at most one catch-up run after downtime within a starting deadline, never a pile of
// missed runs.
package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// maxMissedScan bounds the scan for missed runs; a schedule every minute over ten weeks of
// downtime stays under it.
const maxMissedScan = 100000

// Schedule is a parsed cron schedule in a time zone.
type Schedule struct {
	cron cron.Schedule
	loc  *time.Location
}

// Parse checks a cron expression and an IANA time zone name ("" is UTC). Time-zone prefixes in
// the expression (TZ=, CRON_TZ=) are refused: the zone belongs in timeZone, where it is validated.
func Parse(expr, timeZone string) (*Schedule, error) {
	trimmed := strings.TrimSpace(expr)
	if strings.HasPrefix(trimmed, "TZ=") || strings.HasPrefix(trimmed, "CRON_TZ=") {
		return nil, errors.New("schedule: TZ= and CRON_TZ= prefixes are not supported, set spec.timeZone instead")
	}
	loc := time.UTC
	if timeZone != "" {
		var err error
		if loc, err = time.LoadLocation(timeZone); err != nil || timeZone == "Local" {
			return nil, fmt.Errorf("timeZone: %q is not a known IANA time zone", timeZone)
		}
	}
	c, err := cron.ParseStandard(trimmed)
	if err != nil {
		return nil, fmt.Errorf("schedule: %q is not a valid cron expression: %v", expr, err)
	}
	return &Schedule{cron: c, loc: loc}, nil
}

// Location is the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// Next is the first scheduled time strictly after t.
func (s *Schedule) Next(t time.Time) time.Time { return s.cron.Next(t.In(s.loc)) }

// Due decides whether a scheduled run should start at now. last is the nominal time of the last
// scheduled run (or the object's creation time when it never ran). It returns the nominal time of
// the run to start, if any, and the next scheduled time after now. When runs were missed only the
// most recent is considered, and only if it is within deadline (nil: no deadline).
func (s *Schedule) Due(now, last time.Time, deadline *time.Duration) (run *time.Time, next time.Time, err error) {
	start := last
	if deadline != nil && now.Add(-*deadline).After(start) {
		// Runs older than the deadline can never start: skip scanning them.
		start = now.Add(-*deadline)
	}
	var latest time.Time
	n := 0
	for t := s.Next(start); !t.After(now); t = s.Next(t) {
		latest = t
		if n++; n > maxMissedScan {
			return nil, time.Time{}, fmt.Errorf("more than %d missed start times since %s: check the schedule", maxMissedScan, last.UTC().Format(time.RFC3339))
		}
	}
	next = s.Next(now)
	if latest.IsZero() {
		return nil, next, nil
	}
	if deadline != nil && now.Sub(latest) > *deadline {
		return nil, next, nil
	}
	return &latest, next, nil
}
