package pipeline

import (
	"math"
	"time"

	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/numeric"
	"github.com/ltv-operator/ltv-operator/internal/report"
	"github.com/ltv-operator/ltv-operator/internal/segment"
)

// defaultChurnWindowDays is the churn outlook's window when the spec does not set one.
const defaultChurnWindowDays = 90

// outlooks computes every customer's churn outlook (once per distinct (x, tx, T)) and the
// overall averages.
func outlooks(cfg Config, pm ltv.PurchaseModel, cells ltv.Cells, s *Scores, res *report.Result) {
	days := cfg.ChurnWindowDays
	if days <= 0 {
		days = defaultChurnWindowDays
	}
	w := cfg.Unit.FromDays(float64(days))
	// one outlook per cell; ltv.Outlooks shares the work per (x, T)
	// the cells' P(alive) as the predictions computed them: the same figure, not computed twice
	var alive []float64
	if v, isCells := s.values.(*ltv.CellValues); isCells {
		alive = v.CellAlive()
	}
	unique, ok := ltv.OutlooksGivenAlive(pm, cells.Rows, alive, w)
	if !ok {
		return
	}
	s.outlooks, s.outlookOf = unique, cells.Index
	s.OutlookEnd, s.churnDays = endOfDay(cfg.ObservationEnd), days
	res.Churn = s.churnAverages(nil, days)
}

func (s *Scores) churnAverages(members []int32, days int) *report.ChurnOutlook {
	var alive, none numeric.Sum
	c := &report.ChurnOutlook{WindowDays: days}
	n := 0
	add := func(o ltv.Outlook) {
		alive.Add(o.AliveAfter)
		none.Add(o.NoPurchase)
		if !math.IsNaN(o.NextPurchase) {
			c.CustomersWithNextPurchase++
		}
		n++
	}
	if members == nil {
		for _, j := range s.outlookOf {
			add(s.outlooks[j])
		}
	} else {
		for _, i := range members {
			add(s.Outlook(int(i)))
		}
	}
	if n > 0 {
		c.AverageProbabilityAliveAfter = alive.Value() / float64(n)
		c.AverageProbabilityNoPurchase = none.Value() / float64(n)
	}
	return c
}

// nextPurchase is customer i's median next-purchase date (zero: none): the observation end plus
// NextPurchase time units, as a calendar day.
func (s *Scores) nextPurchase(i int) time.Time {
	t := s.Outlook(i).NextPurchase
	if math.IsNaN(t) {
		return time.Time{}
	}
	days := t / s.Unit.FromDays(1)
	y, m, d := s.OutlookEnd.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(math.Ceil(days)))
}

func (s *Scores) withOutlooks(customers []segment.Customer) {
	if !s.HasOutlooks() {
		return
	}
	for i := range customers {
		o := s.Outlook(i)
		customers[i].ProbabilityAliveAfterWindow = o.AliveAfter
		customers[i].ProbabilityNoPurchase = o.NoPurchase
		customers[i].NextPurchase = s.nextPurchase(i)
	}
}

func (s *Scores) segmentOutlook(seg *report.Segment, members []int32) {
	if !s.HasOutlooks() {
		return
	}
	seg.Churn = s.churnAverages(members, s.churnDays)
}

func (s *Scores) addOutlook(i int, row *report.CustomerRow) {
	if !s.HasOutlooks() {
		return
	}
	o := s.Outlook(i)
	row.ProbabilityAliveAfterWindow, row.ProbabilityNoPurchase = &o.AliveAfter, &o.NoPurchase
	if d := s.nextPurchase(i); !d.IsZero() {
		row.NextPurchaseDate = d.Format(time.DateOnly)
	}
}

// HasOutlooks reports whether the customers have churn outlooks (probabilistic purchase models).
func (s *Scores) HasOutlooks() bool { return s.outlooks != nil }

// Outlook is customer i's churn outlook (see HasOutlooks).
func (s *Scores) Outlook(i int) ltv.Outlook { return s.outlooks[s.outlookOf[i]] }
