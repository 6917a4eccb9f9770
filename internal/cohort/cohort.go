// Package cohort builds acquisition cohorts from a transaction log: customers grouped by the
// calendar month of their first purchase, followed month by month since (month 0 is the
// acquisition month itself). For each cohort and month it counts the customers who purchased and
// accumulates their net margin per acquired customer, so that what cohorts actually did can be
// held against a model's expectation for a new customer. It imports nothing from Kubernetes.
package cohort

import (
	"time"

	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// Builder holds the customers' acquisition and monthly activity (see FromActivity).
type Builder struct {
	// End is the last observed day (inclusive, UTC date); later transactions are ignored.
	End time.Time

	endMonth   int // month index of End
	endDay     int32
	firstMonth int // the earliest acquisition month index
	// order lists the customers in the summary's order, so that sums do not depend on a map's.
	order     []*customer
	attrNames []string
}

// customer is one customer's acquisition and monthly activity (calendar month -> net amount,
// whether a purchase was made).
type customer struct {
	firstDay    int32
	firstAmount float64 // net amount of firstDay
	month       int     // acquisition month index, set once every row is in
	dayOfMonth  uint8   // firstDay's day of its month, from 0
	attrs       []string
	months      []monthActivity
}

type monthActivity struct {
	month     int
	amount    float64
	purchased bool
}

func newBuilder(end time.Time, attributeNames []string) *Builder {
	return &Builder{End: end, endMonth: monthIndex(end), endDay: dayNumber(end), attrNames: attributeNames}
}

func monthIndex(t time.Time) int { return t.Year()*12 + int(t.Month()) - 1 }

func dayNumber(t time.Time) int32 {
	y, m, d := t.UTC().Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func dayTime(d int32) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

func (c *customer) addMonth(m int, amount float64) {
	for i := range c.months {
		if c.months[i].month == m {
			c.months[i].amount += amount
			c.months[i].purchased = c.months[i].purchased || amount > 0
			return
		}
	}
	c.months = append(c.months, monthActivity{month: m, amount: amount, purchased: amount > 0})
}

// FromActivity builds the cohorts of a summary's customers from its activity (every admitted row
// as customer index, day, amount, in chunks): customer i has the attribute values attrs(i). A
// customer's first day is that of their earliest row (a refund included), its amount the net of
// that day; a non-positive amount counts towards the month's margin but not as a purchase.
func FromActivity(end time.Time, attributeNames []string, customers int, attrs func(i int) []string, chunks [][]summary.Activity) *Builder {
	b := newBuilder(end, attributeNames)
	slab := make([]customer, customers) // one allocation, not one per customer
	seen := make([]bool, customers)
	// room for four months per customer in one allocation too (a customer with more grows its own)
	const monthsEach = 4
	months := make([]monthActivity, monthsEach*customers)
	monthOf := monthTable{first: 1} // empty
	for _, rows := range chunks {
		for _, r := range rows {
			if r.Day > b.endDay {
				continue
			}
			c := &slab[r.Customer]
			switch {
			case !seen[r.Customer]:
				seen[r.Customer] = true
				c.firstDay, c.firstAmount, c.attrs = r.Day, r.Amount, attrs(int(r.Customer))
				k := monthsEach * int(r.Customer)
				c.months = months[k : k : k+monthsEach]
			case r.Day < c.firstDay:
				c.firstDay, c.firstAmount = r.Day, r.Amount
			case r.Day == c.firstDay:
				c.firstAmount += r.Amount
			}
			c.addMonth(monthOf.of(r.Day), r.Amount)
		}
	}
	b.order = make([]*customer, 0, customers)
	b.firstMonth = b.endMonth
	for i := range slab {
		if seen[i] {
			c := &slab[i]
			c.month = monthOf.of(c.firstDay)
			c.dayOfMonth = uint8(c.firstDay - monthOf.first)
			b.firstMonth = min(b.firstMonth, c.month)
			b.order = append(b.order, c)
		}
	}
	return b
}

// monthTable caches the month index of the days of one month: rows come in runs of nearby days.
type monthTable struct {
	first, last int32 // days of the cached month; last < first when empty
	month       int
}

func (m *monthTable) of(day int32) int {
	if day < m.first || day > m.last || m.last < m.first {
		t := dayTime(day)
		m.month = monthIndex(t)
		start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		m.first = dayNumber(start)
		m.last = dayNumber(start.AddDate(0, 1, -1))
	}
	return m.month
}

// Cohort is the customers acquired in one calendar month, month by month since.
type Cohort struct {
	// Month is the acquisition month (the first day of it).
	Month time.Time
	// Customers acquired in the month.
	Customers int
	// FirstOrders is the customers' total first-purchase-day net amount.
	FirstOrders float64
	// AcquisitionDays count the customers acquired on each day of the month, for the model's
	// expectation over the exact time each customer has been observed.
	AcquisitionDays []DayCount
	// Months[k] is month k since acquisition, up to the last observed month.
	Months []Month
}

// DayCount is the number of customers acquired on one day.
type DayCount struct {
	Day       time.Time
	Customers int
}

// Month is one month of a cohort.
type Month struct {
	// Active is the number of the cohort's customers with a purchase in the month.
	Active int
	// Revenue is the cohort's net amount in the month.
	Revenue float64
	// CumulativeRevenue is the cohort's net amount from acquisition to the month's end.
	CumulativeRevenue float64
	// End is the last observed day of the month (the observation end for the last month).
	End time.Time
}

// Cohorts returns the cohorts of the customers whose attribute values keep accepts (nil: all),
// oldest first.
func (b *Builder) Cohorts(keep func(attrs []string) bool) []Cohort {
	type building struct {
		co   Cohort
		days [31]int // customers acquired on each day of the month
	}
	byMonth := make([]*building, b.endMonth-b.firstMonth+1)
	for _, c := range b.order {
		if keep != nil && !keep(c.attrs) {
			continue
		}
		bc := byMonth[c.month-b.firstMonth]
		if bc == nil {
			bc = &building{co: Cohort{Month: time.Date(c.month/12, time.Month(c.month%12+1), 1, 0, 0, 0, 0, time.UTC)}}
			bc.co.Months = make([]Month, b.endMonth-c.month+1)
			for k := range bc.co.Months {
				end := bc.co.Month.AddDate(0, k+1, -1)
				if end.After(b.End) {
					end = dayTime(b.endDay)
				}
				bc.co.Months[k].End = end
			}
			byMonth[c.month-b.firstMonth] = bc
		}
		co := &bc.co
		co.Customers++
		co.FirstOrders += c.firstAmount
		bc.days[c.dayOfMonth]++
		for _, m := range c.months {
			k := m.month - c.month
			co.Months[k].Revenue += m.amount
			if m.purchased {
				co.Months[k].Active++
			}
		}
	}
	out := make([]Cohort, 0, len(byMonth))
	for _, bc := range byMonth {
		if bc == nil {
			continue
		}
		co := &bc.co
		var cum float64
		for k := range co.Months {
			cum += co.Months[k].Revenue
			co.Months[k].CumulativeRevenue = cum
		}
		for d, n := range bc.days {
			if n > 0 {
				co.AcquisitionDays = append(co.AcquisitionDays, DayCount{Day: co.Month.AddDate(0, 0, d), Customers: n})
			}
		}
		out = append(out, *co)
	}
	return out
}

// Customers is the number of customers seen.
func (b *Builder) Customers() int { return len(b.order) }

// daysPerMonth is the mean length of a Gregorian month, the unit of the models' horizon.
const daysPerMonth = 365.25 / 12

// Expected is a model's expected cumulative margin per acquired customer of the cohort by the end
// of each observed month: margin x (the cohort's average first order + repeatSpend x the mean over
// its customers of E[X(t)]), t the time from the customer's acquisition day to the month's last
// observed day (whole days, as the summary's T). Like the realised figure it is undiscounted and
// without retention costs.
func Expected(co Cohort, margin, repeatSpend float64, repeat func(months float64) float64) []float64 {
	out := make([]float64, len(co.Months))
	if co.Customers == 0 {
		return out
	}
	first := co.FirstOrders / float64(co.Customers)
	for k, m := range co.Months {
		var sum float64
		for _, d := range co.AcquisitionDays {
			days := m.End.Sub(d.Day).Hours() / 24
			sum += float64(d.Customers) * repeat(days/daysPerMonth)
		}
		out[k] = margin * (first + repeatSpend*sum/float64(co.Customers))
	}
	return out
}
