// Package numeric holds small numerical helpers shared by the pure packages.
package numeric

import "math"

// Sum is a Neumaier compensated sum: adding n values loses no more than a couple of units in the
// last place of the result, whatever their order and magnitudes, where a plain running sum of
// many amounts drifts by up to n units (so that a revenue of cents prints as 138840.67999999996).
type Sum struct{ s, c float64 }

// Add adds v.
func (s *Sum) Add(v float64) {
	t := s.s + v
	if math.Abs(s.s) >= math.Abs(v) {
		s.c += (s.s - t) + v
	} else {
		s.c += (v - t) + s.s
	}
	s.s = t
}

// Value is the sum so far.
func (s *Sum) Value() float64 { return s.s + s.c }
