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

// maxLookBack bounds the windows latest searches before it scans from its lower bound.
const maxLookBack = 10 * 366 * 24 * time.Hour

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
	// A cron schedule repeats at least every few years, so one that finds no time within the
	// parser's five-year search from any start never fires (such as "0 0 30 2 *").
	if c.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, loc)).IsZero() {
		return nil, fmt.Errorf("schedule: %q never fires", expr)
	}
	return &Schedule{cron: c, loc: loc}, nil
}

// Location is the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }

// Next is the first scheduled time strictly after t.
func (s *Schedule) Next(t time.Time) time.Time { return s.cron.Next(t.In(s.loc)) }

// Prev is the latest scheduled time at or before t (zero if there is none in the five years
// before t).
func (s *Schedule) Prev(t time.Time) time.Time { return s.latest(t.AddDate(-5, 0, 0), t) }

// latest is the latest scheduled time in (after, now], or zero. It looks back from now in
// windows that double, scanning each forward, so its cost depends on how long ago the latest
// time was, not on how long ago after is: a schedule every minute after a year of downtime
// costs a handful of steps, not half a million.
func (s *Schedule) latest(after, now time.Time) time.Time {
	if !now.After(after) {
		return time.Time{}
	}
	span := now.Sub(after)
	for w := time.Minute; ; w *= 2 {
		from := now.Add(-w)
		if w >= span || w > maxLookBack {
			// A cron schedule fires at least every eight years (29 February on a weekday), so
			// a longer window finding nothing would find nothing further back either.
			from = after
		}
		var latest time.Time
		for t := s.Next(from); !t.IsZero() && !t.After(now); t = s.Next(t) {
			latest = t
		}
		if !latest.IsZero() || from.Equal(after) {
			return latest
		}
	}
}

// Due decides whether a scheduled run should start at now. last is the nominal time of the last
// scheduled run (or the object's creation time when it never ran). It returns the nominal time of
// the run to start, if any, and the next scheduled time after now. When runs were missed only the
// most recent is considered, and only if it is within deadline (nil: no deadline): after any
// downtime at most one run starts, never a pile.
func (s *Schedule) Due(now, last time.Time, deadline *time.Duration) (run *time.Time, next time.Time, err error) {
	next = s.Next(now)
	if next.IsZero() {
		return nil, time.Time{}, errors.New("schedule: no start time within five years")
	}
	after := last
	if deadline != nil && now.Add(-*deadline).After(after) {
		// Runs older than the deadline can never start.
		after = now.Add(-*deadline)
	}
	latest := s.latest(after, now)
	if latest.IsZero() {
		return nil, next, nil
	}
	if deadline != nil && now.Sub(latest) > *deadline {
		return nil, next, nil
	}
	return &latest, next, nil
}
