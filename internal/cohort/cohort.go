// Package cohort builds acquisition cohorts from a transaction log: customers grouped by the
// calendar month of their first purchase, followed month by month since (month 0 is the
// acquisition month itself). For each cohort and month it counts the customers who purchased and
// accumulates their net margin per acquired customer, so that what cohorts actually did can be
// held against a model's expectation for a new customer. It imports nothing from Kubernetes.
package cohort

import (
	"slices"
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
	// customers lists the customers seen, in the summary's order, so that sums do not depend on
	// a map's; months holds their months, each customer's a contiguous run.
	customers []customer
	months    []monthActivity
	attrs     func(i int) []string
	attrNames []string
}

// customer is one customer's acquisition; its monthly activity is Builder.months[monthsFrom:monthsTo].
type customer struct {
	firstAmount          float64 // net amount of firstDay
	index                int32   // in the summary
	firstDay             int32
	month                int32 // acquisition month index
	monthsFrom, monthsTo int32
	dayOfMonth           uint8 // firstDay's day of its month, from 0
}

// monthActivity is a customer's calendar month: its net amount, and whether a purchase was made.
type monthActivity struct {
	amount    float64
	month     int32
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

// dayAmount is one row of a customer's.
type dayAmount struct {
	amount float64
	day    int32
}

// FromActivity builds the cohorts of a summary's customers from its activity (every admitted row
// as customer index, day, amount, in chunks): customer i has the attribute values attrs(i). A
// customer's first day is that of their earliest row (a refund included), its amount the net of
// that day; a non-positive amount counts towards the month's margin but not as a purchase.
//
// The rows are first grouped by customer (a counting sort, keeping their order): gathering each
// row into its customer's state directly was a random read per row over every customer's state,
// most of the time spent.
func FromActivity(end time.Time, attributeNames []string, customers int, attrs func(i int) []string, chunks [][]summary.Activity) *Builder {
	b := newBuilder(end, attributeNames)
	b.attrs = attrs
	start := make([]int32, customers+1)
	minDay := b.endDay
	for _, rows := range chunks {
		for _, r := range rows {
			if r.Day <= b.endDay {
				start[r.Customer+1]++
				minDay = min(minDay, r.Day)
			}
		}
	}
	for i := range customers {
		start[i+1] += start[i]
	}
	next := slices.Clone(start[:customers])
	byCustomer := make([]dayAmount, start[customers])
	for _, rows := range chunks {
		for _, r := range rows {
			if r.Day <= b.endDay {
				byCustomer[next[r.Customer]] = dayAmount{amount: r.Amount, day: r.Day}
				next[r.Customer]++
			}
		}
	}
	next = nil
	// at most a month per row: allocated once (the pages a shop's fewer months leave are never
	// touched)
	b.months = make([]monthActivity, 0, len(byCustomer))
	monthOf := newMonthTable(minDay, b.endDay)
	b.firstMonth = b.endMonth
	for i := range customers {
		rows := byCustomer[start[i]:start[i+1]]
		if len(rows) == 0 {
			continue
		}
		c := customer{index: int32(i), firstDay: rows[0].day, monthsFrom: int32(len(b.months))}
		for _, r := range rows {
			c.firstDay = min(c.firstDay, r.day)
		}
		for _, r := range rows {
			if r.day == c.firstDay {
				c.firstAmount += r.amount
			}
			m := monthOf.of(r.day)
			own := b.months[c.monthsFrom:]
			k := slices.IndexFunc(own, func(a monthActivity) bool { return a.month == m })
			if k < 0 {
				b.months = append(b.months, monthActivity{month: m, amount: r.amount, purchased: r.amount > 0})
				continue
			}
			own[k].amount += r.amount
			own[k].purchased = own[k].purchased || r.amount > 0
		}
		c.monthsTo = int32(len(b.months))
		c.month = monthOf.of(c.firstDay)
		c.dayOfMonth = uint8(dayTime(c.firstDay).Day() - 1)
		b.firstMonth = min(b.firstMonth, int(c.month))
		b.customers = append(b.customers, c)
	}
	return b
}

// monthTable is the month index of every day from first to the observation end: the rows' days
// fall in a few years, and a month from a table is many times quicker than from a time.Time.
type monthTable struct {
	first  int32
	months []int32
}

func newMonthTable(first, last int32) monthTable {
	t := monthTable{first: first, months: make([]int32, max(last-first+1, 0))}
	for i := 0; i < len(t.months); {
		d := dayTime(first + int32(i))
		m := int32(monthIndex(d))
		// the rest of d's month in one run
		end := min(i+daysIn(d)-d.Day()+1, len(t.months))
		for ; i < end; i++ {
			t.months[i] = m
		}
	}
	return t
}

func (t monthTable) of(day int32) int32 { return t.months[day-t.first] }

// daysIn is the number of days of d's month.
func daysIn(d time.Time) int {
	return time.Date(d.Year(), d.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()
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
	for i := range b.customers {
		c := &b.customers[i]
		if keep != nil && !keep(b.attrs(int(c.index))) {
			continue
		}
		am := int(c.month)
		bc := byMonth[am-b.firstMonth]
		if bc == nil {
			bc = &building{co: Cohort{Month: time.Date(am/12, time.Month(am%12+1), 1, 0, 0, 0, 0, time.UTC)}}
			bc.co.Months = make([]Month, b.endMonth-am+1)
			for k := range bc.co.Months {
				end := bc.co.Month.AddDate(0, k+1, -1)
				if end.After(b.End) {
					end = dayTime(b.endDay)
				}
				bc.co.Months[k].End = end
			}
			byMonth[am-b.firstMonth] = bc
		}
		co := &bc.co
		co.Customers++
		co.FirstOrders += c.firstAmount
		bc.days[c.dayOfMonth]++
		for _, m := range b.months[c.monthsFrom:c.monthsTo] {
			k := int(m.month) - am
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
func (b *Builder) Customers() int { return len(b.customers) }

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
