package cohort

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ltv-operator/ltv-operator/internal/summary"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// The hand-made shop, observed until 2026-03-15, summarised by package summary (its activity is
// what the cohorts are built from):
//
//	a (email):  2026-01-10 +20, 2026-01-10 +5 (same day), 2026-02-03 +30, 2026-03-20 +99 (after the end)
//	b (social): 2026-01-31 +40, 2026-03-01 -10 (a refund only)
//	c (email):  2026-02-14 +15 (read before its earlier row), 2026-02-01 +10
//
// Cohort 2026-01 (a, b): month 0 revenue 20+5+40 = 65, active 2; month 1 (Feb) 30, active 1 (a);
// month 2 (Mar, to the 15th) -10, active 0.
// Cohort 2026-02 (c, first day 02-01 with +10): month 0 revenue 25, active 1; month 1 (Mar) 0.
func handShop(t *testing.T) *Builder {
	const csv = `customer_id,date,amount,channel
a,2026-01-10,20,email
a,2026-01-10,5,email
a,2026-02-03,30,email
a,2026-03-20,99,email
b,2026-01-31,40,social
b,2026-03-01,-10,social
c,2026-02-14,15,paid
c,2026-02-01,10,email
`
	s, err := summary.ReadCSV(strings.NewReader(csv), summary.Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount", Attributes: []string{"channel"}},
		summary.Options{CalibrationEnd: day("2026-03-15"), ActivityCustomers: 10})
	if err != nil {
		t.Fatal(err)
	}
	b := FromActivity(day("2026-03-15"), []string{"channel"}, s.Len(), s.Attributes, s.Activity)
	if b.Customers() != 3 {
		t.Fatalf("%d customers, want 3", b.Customers())
	}
	return b
}

func TestCohortsHandShop(t *testing.T) {
	cos := handShop(t).Cohorts(nil)
	if len(cos) != 2 {
		t.Fatalf("%d cohorts, want 2", len(cos))
	}
	jan, feb := cos[0], cos[1]
	if !jan.Month.Equal(day("2026-01-01")) || jan.Customers != 2 || jan.FirstOrders != 65 {
		t.Errorf("January cohort %+v", jan)
	}
	want := []Month{
		{Active: 2, Revenue: 65, CumulativeRevenue: 65, End: day("2026-01-31")},
		{Active: 1, Revenue: 30, CumulativeRevenue: 95, End: day("2026-02-28")},
		{Active: 0, Revenue: -10, CumulativeRevenue: 85, End: day("2026-03-15")},
	}
	checkMonths(t, "January", jan.Months, want)
	// c's first day is 02-01 (+10), whatever the order of its rows.
	if !feb.Month.Equal(day("2026-02-01")) || feb.Customers != 1 || feb.FirstOrders != 10 {
		t.Errorf("February cohort %+v", feb)
	}
	checkMonths(t, "February", feb.Months, []Month{
		{Active: 1, Revenue: 25, CumulativeRevenue: 25, End: day("2026-02-28")},
		{Active: 0, Revenue: 0, CumulativeRevenue: 25, End: day("2026-03-15")},
	})
	if got := jan.AcquisitionDays; len(got) != 2 || !got[0].Day.Equal(day("2026-01-10")) || got[1].Customers != 1 {
		t.Errorf("acquisition days %+v", got)
	}

	// By channel: the first transaction's value (c is email, not paid).
	email := handShop(t).Cohorts(func(a []string) bool { return a[0] == "email" })
	if len(email) != 2 || email[0].Customers != 1 || email[0].Months[0].Revenue != 25 || email[1].Customers != 1 {
		t.Errorf("email cohorts %+v", email)
	}
}

func checkMonths(t *testing.T, name string, got, want []Month) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d months, want %d", name, len(got), len(want))
	}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("%s month %d: %+v, want %+v", name, k, got[k], want[k])
		}
	}
}

// The expectation averages E[X(t)] over the exact observed times: with E[X(t)] = t (months), the
// January cohort at the end of February has a observed 49 days (01-10 .. 02-28) and b 28 days.
func TestExpected(t *testing.T) {
	jan := handShop(t).Cohorts(nil)[0]
	got := Expected(jan, 0.5, 10, func(m float64) float64 { return m })
	dpm := 365.25 / 12
	want := []float64{
		0.5 * (32.5 + 10*(21/dpm+0/dpm)/2),
		0.5 * (32.5 + 10*(49/dpm+28/dpm)/2),
		0.5 * (32.5 + 10*(64/dpm+43/dpm)/2),
	}
	for k := range want {
		if math.Abs(got[k]-want[k]) > 1e-12 {
			t.Errorf("month %d: expected %.12f, want %.12f", k, got[k], want[k])
		}
	}
}

// FromActivity and Cohorts equal a plain computation written here, on random activity in random
// order (refunds, several rows a day, rows after the end, customers without rows, attributes)
// spread over more than two years and over several chunks.
func TestCohortsEqualDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	end := day("2026-03-15")
	endDay := dayNumber(end)
	const customers = 300
	attrs := make([][]string, customers)
	for i := range attrs {
		attrs[i] = []string{[]string{"email", "social", "paid"}[rng.IntN(3)]}
	}
	var chunks [][]summary.Activity
	var all []summary.Activity
	for range 4 {
		var chunk []summary.Activity
		for range 500 {
			a := summary.Activity{Customer: int32(rng.IntN(customers - 20)), Day: endDay - int32(rng.IntN(800)) + 5,
				Amount: float64(rng.IntN(200)-30) / 4}
			chunk = append(chunk, a)
			all = append(all, a)
		}
		chunks = append(chunks, chunk)
	}
	b := FromActivity(end, []string{"channel"}, customers, func(i int) []string { return attrs[i] }, chunks)

	for _, channel := range []string{"", "email", "paid"} {
		keep := func(a []string) bool { return channel == "" || a[0] == channel }
		// the direct computation: first days, then every row into its customer's cohort
		first := map[int32]int32{}
		for _, a := range all {
			if f, ok := first[a.Customer]; a.Day <= endDay && (!ok || a.Day < f) {
				first[a.Customer] = a.Day
			}
		}
		type cell struct{ cohort, k int }
		revenue, firstOrders := map[cell]float64{}, map[int]float64{}
		active := map[cell]map[int32]bool{}
		customersOf, acquired := map[int]int{}, map[int]map[time.Time]int{}
		for c, f := range first {
			if !keep(attrs[c]) {
				continue
			}
			m := monthIndex(dayTime(f))
			customersOf[m]++
			if acquired[m] == nil {
				acquired[m] = map[time.Time]int{}
			}
			acquired[m][dayTime(f)]++
		}
		for _, a := range all {
			f, ok := first[a.Customer]
			if !ok || a.Day > endDay || !keep(attrs[a.Customer]) {
				continue
			}
			m := monthIndex(dayTime(f))
			k := cell{m, monthIndex(dayTime(a.Day)) - m}
			revenue[k] += a.Amount
			if a.Day == f {
				firstOrders[m] += a.Amount
			}
			if a.Amount > 0 {
				if active[k] == nil {
					active[k] = map[int32]bool{}
				}
				active[k][a.Customer] = true
			}
		}
		got := b.Cohorts(func(a []string) bool { return keep(a) })
		if channel == "" {
			got = b.Cohorts(nil)
		}
		if len(got) != len(customersOf) {
			t.Fatalf("%q: %d cohorts, want %d", channel, len(got), len(customersOf))
		}
		for i, co := range got {
			m := monthIndex(co.Month)
			if i > 0 && !co.Month.After(got[i-1].Month) {
				t.Errorf("%q: cohorts out of order at %v", channel, co.Month)
			}
			if co.Customers != customersOf[m] || math.Abs(co.FirstOrders-firstOrders[m]) > 1e-9 {
				t.Errorf("%q %v: %d customers, first orders %g; want %d, %g", channel, co.Month, co.Customers, co.FirstOrders, customersOf[m], firstOrders[m])
			}
			if len(co.AcquisitionDays) != len(acquired[m]) {
				t.Errorf("%q %v: %d acquisition days, want %d", channel, co.Month, len(co.AcquisitionDays), len(acquired[m]))
			}
			for j, d := range co.AcquisitionDays {
				if d.Customers != acquired[m][d.Day] || (j > 0 && !d.Day.After(co.AcquisitionDays[j-1].Day)) {
					t.Errorf("%q %v: acquisition day %v: %d customers, want %d (in order)", channel, co.Month, d.Day, d.Customers, acquired[m][d.Day])
				}
			}
			if want := monthIndex(end) - m + 1; len(co.Months) != want {
				t.Fatalf("%q %v: %d months, want %d", channel, co.Month, len(co.Months), want)
			}
			var cum float64
			for k, mo := range co.Months {
				c := cell{m, k}
				cum += revenue[c]
				wantEnd := time.Date(co.Month.Year(), co.Month.Month()+time.Month(k)+1, 0, 0, 0, 0, 0, time.UTC)
				if wantEnd.After(end) {
					wantEnd = end
				}
				if math.Abs(mo.Revenue-revenue[c]) > 1e-9 || mo.Active != len(active[c]) || math.Abs(mo.CumulativeRevenue-cum) > 1e-9 || !mo.End.Equal(wantEnd) {
					t.Errorf("%q %v month %d: %+v; want revenue %g, active %d, cumulative %g, end %v", channel, co.Month, k, mo, revenue[c], len(active[c]), cum, wantEnd)
				}
			}
		}
	}
	if b.Customers() != len(func() map[int32]bool {
		seen := map[int32]bool{}
		for _, a := range all {
			if a.Day <= endDay {
				seen[a.Customer] = true
			}
		}
		return seen
	}()) {
		t.Errorf("%d customers seen", b.Customers())
	}
}

// The month table agrees with the calendar over leap years and year ends.
func TestMonthTable(t *testing.T) {
	first, last := dayNumber(day("2023-11-17")), dayNumber(day("2028-03-02"))
	mt := newMonthTable(first, last)
	for d := first; d <= last; d++ {
		if got, want := mt.of(d), int32(monthIndex(dayTime(d))); got != want {
			t.Fatalf("%v: month %d, want %d", dayTime(d), got, want)
		}
	}
}
