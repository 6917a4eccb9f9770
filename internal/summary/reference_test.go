package summary

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// txRow is a test transaction.
type txRow struct {
	id     string
	ts     time.Time
	amount float64
	attrs  []string
}

// reference computes the summary the slow, obvious way, straight from the documented
// definitions: all rows in memory, sets of days per customer.
func reference(rows []txRow, opts Options) (map[string]Customer, refCounts) {
	calEnd := dayOf(opts.CalibrationEnd)
	obsEnd := calEnd
	if !opts.ObservationEnd.IsZero() {
		obsEnd = dayOf(opts.ObservationEnd)
	}
	unit := opts.Unit
	if unit == "" {
		unit = Week
	}
	type acc struct {
		purchase map[int32]bool // calibration days with a non-negative row
		value    map[int32]float64
		holdDays map[int32]bool
		total    float64
		hold     float64
		orders   int
		attrRow  int // index of the attribute row
		attrDay  int32
		attrNano int64
	}
	var counts refCounts
	accs := map[string]*acc{}
	for i, r := range rows {
		day, nanos := splitTime(r.ts)
		if day > obsEnd {
			counts.future++
			continue
		}
		if r.amount < 0 && opts.Returns == ReturnsExclude {
			counts.excluded++
			continue
		}
		a := accs[r.id]
		if a == nil {
			a = &acc{purchase: map[int32]bool{}, value: map[int32]float64{}, holdDays: map[int32]bool{}, attrRow: -1}
			accs[r.id] = a
		}
		if day > calEnd {
			a.hold += r.amount
			if r.amount >= 0 {
				a.holdDays[day] = true
			}
			continue
		}
		a.orders++
		a.total += r.amount
		a.value[day] += r.amount
		if r.amount >= 0 {
			a.purchase[day] = true
			if a.attrRow < 0 || day < a.attrDay || day == a.attrDay && nanos < a.attrNano {
				a.attrRow, a.attrDay, a.attrNano = i, day, nanos
			}
		}
	}
	out := map[string]Customer{}
	for id, a := range accs {
		if len(a.purchase) == 0 {
			if len(a.holdDays) > 0 {
				counts.holdoutOnly++
			}
			continue
		}
		var days []int32
		for d := range a.purchase {
			days = append(days, d)
		}
		slices.Sort(days)
		first, last := days[0], days[len(days)-1]
		c := Customer{
			ID:                  id,
			FirstPurchase:       dayTime(first),
			LastPurchase:        dayTime(last),
			Frequency:           len(days) - 1,
			Recency:             unit.FromDays(float64(last - first)),
			Age:                 unit.FromDays(float64(calEnd - first)),
			HistoricValue:       a.total,
			Orders:              a.orders,
			HoldoutTransactions: len(a.holdDays),
			HoldoutValue:        a.hold,
		}
		if c.Frequency > 0 {
			c.Monetary = (a.total - a.value[first]) / float64(c.Frequency)
		}
		if attrs := rows[a.attrRow].attrs; len(attrs) > 0 {
			c.Attributes = attrs
		}
		out[id] = c
		counts.transactions += len(days)
	}
	return out, counts
}

type refCounts struct {
	future, excluded, holdoutOnly, transactions int
}

// compareWithReference checks a summary against the reference.
func compareWithReference(t *testing.T, s *Summary, rows []txRow, opts Options) {
	t.Helper()
	want, counts := reference(rows, opts)
	if len(s.Customers()) != len(want) {
		t.Fatalf("%d customers, reference %d", len(s.Customers()), len(want))
	}
	if !sort.SliceIsSorted(s.Customers(), func(i, j int) bool { return s.Customer(i).ID < s.Customer(j).ID }) {
		t.Error("customers not sorted by ID")
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	for _, c := range s.Customers() {
		w, ok := want[c.ID]
		if !ok {
			t.Fatalf("unexpected customer %q", c.ID)
		}
		if c.Frequency != w.Frequency || !c.FirstPurchase.Equal(w.FirstPurchase) || !c.LastPurchase.Equal(w.LastPurchase) ||
			c.Orders != w.Orders || c.HoldoutTransactions != w.HoldoutTransactions ||
			!near(c.Recency, w.Recency) || !near(c.Age, w.Age) || !near(c.Monetary, w.Monetary) ||
			!near(c.HistoricValue, w.HistoricValue) || !near(c.HoldoutValue, w.HoldoutValue) ||
			!slices.Equal(c.Attributes, w.Attributes) {
			t.Fatalf("customer %q:\n got  %+v\n want %+v", c.ID, c, w)
		}
	}
	if s.FutureRows != counts.future || s.ExcludedReturns != counts.excluded || s.HoldoutOnlyCustomers != counts.holdoutOnly ||
		s.Transactions != counts.transactions {
		t.Errorf("counts: future %d excluded %d holdout-only %d transactions %d; reference %+v",
			s.FutureRows, s.ExcludedReturns, s.HoldoutOnlyCustomers, s.Transactions, counts)
	}
	var revenue float64
	for _, c := range s.Customers() {
		revenue += c.HistoricValue
	}
	if !near(s.Revenue, revenue) {
		t.Errorf("Revenue %v, sum of HistoricValue %v", s.Revenue, revenue)
	}
}

// randomRows makes a random transaction log around the calibration end: a few customers with
// long histories (spans well over 64 days, so that shuffling exercises the ambiguous-day path),
// same-day rows, zero and negative amounts, times of day, and attribute values.
func randomRows(rng *rand.Rand, customers int, calEnd time.Time) []txRow {
	channels := []string{"email", "paid_search", "organic", "with,comma", `with "quote"`, "multi\nline"}
	var rows []txRow
	for c := range customers {
		id := fmt.Sprintf("cust-%d", rng.IntN(customers*3)) // some ids collide: more rows per customer
		if c%7 == 0 {
			id = fmt.Sprint(c) // short numeric ids too
		}
		n := 1 + rng.IntN(25)
		startDay := -rng.IntN(400)
		for range n {
			day := startDay + rng.IntN(500)
			ts := calEnd.AddDate(0, 0, day)
			if rng.IntN(3) == 0 {
				ts = ts.Add(time.Duration(rng.Int64N(int64(24 * time.Hour))))
			}
			amount := math.Round(rng.Float64()*20000-2000) / 100
			if rng.IntN(10) == 0 {
				amount = 0
			}
			rows = append(rows, txRow{id, ts, amount, []string{channels[rng.IntN(len(channels))], fmt.Sprint(rng.IntN(3))}})
			if rng.IntN(5) == 0 { // a second row the same day
				rows = append(rows, txRow{id, ts.Add(time.Minute), math.Round(rng.Float64()*5000) / 100, []string{"email", "x"}})
			}
		}
	}
	return rows
}

var refCols = Columns{CustomerID: "id", Timestamp: "ts", Amount: "amount", Attributes: []string{"channel", "tier"}}

// toCSV renders rows as CSV with the given style.
func toCSV(rows []txRow, crlf, quoteAll bool) []byte {
	var b bytes.Buffer
	nl := "\n"
	if crlf {
		nl = "\r\n"
	}
	q := func(s string) string {
		if quoteAll || strings.ContainsAny(s, ",\"\r\n") {
			return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
		}
		return s
	}
	b.WriteString("ts,id,extra,amount,channel,tier" + nl)
	for i, r := range rows {
		ts := r.ts.UTC().Format(time.RFC3339Nano)
		switch {
		case r.ts.UTC().Truncate(24*time.Hour).Equal(r.ts.UTC()) && i%2 == 0:
			ts = r.ts.UTC().Format(time.DateOnly)
		case i%3 == 0:
			ts = r.ts.In(time.FixedZone("", -5*3600)).Format(time.RFC3339Nano)
		case i%5 == 0:
			ts = r.ts.UTC().Format("2006-01-02 15:04:05.999999999")
		}
		amount := fmt.Sprintf("%.2f", r.amount)
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s%s", q(ts), q(r.id), q("x"), q(amount), q(r.attrs[0]), q(r.attrs[1]), nl)
	}
	return b.Bytes()
}

func TestReadCSVMatchesReference(t *testing.T) {
	calEnd := date("2024-06-30")
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"net", Options{CalibrationEnd: calEnd, Unit: Day}},
		{"exclude holdout", Options{CalibrationEnd: calEnd, ObservationEnd: calEnd.AddDate(0, 3, 0), Unit: Week, Returns: ReturnsExclude}},
		{"net holdout month", Options{CalibrationEnd: calEnd, ObservationEnd: calEnd.AddDate(0, 0, 45), Unit: Month, Returns: ReturnsNet}},
	} {
		for seed := range uint64(4) {
			rng := rand.New(rand.NewPCG(seed, 42))
			rows := randomRows(rng, 300, calEnd)
			sorted := slices.Clone(rows)
			sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].ts.Before(sorted[j].ts) })
			shuffled := slices.Clone(rows)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			reversed := slices.Clone(sorted)
			slices.Reverse(reversed)
			byCustomer := slices.Clone(sorted)
			sort.SliceStable(byCustomer, func(i, j int) bool { return byCustomer[i].id < byCustomer[j].id })

			var first *Summary
			for _, order := range []struct {
				name string
				rows []txRow
			}{{"as generated", rows}, {"chronological", sorted}, {"shuffled", shuffled}, {"reversed", reversed}, {"by customer", byCustomer}} {
				t.Run(fmt.Sprintf("%s/%d/%s", tc.name, seed, order.name), func(t *testing.T) {
					for _, style := range []struct{ crlf, quoteAll bool }{{false, false}, {true, true}} {
						s, err := ReadCSV(bytes.NewReader(toCSV(order.rows, style.crlf, style.quoteAll)), refCols, tc.opts)
						if err != nil {
							t.Fatal(err)
						}
						compareWithReference(t, s, order.rows, tc.opts)
						// Each order matches the reference; across orders the sums may differ in the
						// last bits and attribute ties go to the first row, so compare the rest.
						if first == nil {
							first = s
						} else {
							sameUpToOrder(t, first, s)
						}
					}
				})
			}
		}
	}
}

func sameUpToOrder(t *testing.T, a, b *Summary) {
	t.Helper()
	if len(a.Customers()) != len(b.Customers()) {
		t.Fatalf("%d vs %d customers", len(a.Customers()), len(b.Customers()))
	}
	near := func(x, y float64) bool { return math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y)) }
	for i := range a.Customers() {
		x, y := a.Customer(i), b.Customer(i)
		if x.ID != y.ID || x.Frequency != y.Frequency || x.Recency != y.Recency || x.Age != y.Age ||
			x.Orders != y.Orders || x.HoldoutTransactions != y.HoldoutTransactions ||
			!near(x.Monetary, y.Monetary) || !near(x.HistoricValue, y.HistoricValue) || !near(x.HoldoutValue, y.HoldoutValue) {
			t.Fatalf("the summary depends on the row order:\n %+v\n %+v", x, y)
		}
	}
}

// TestAmbiguousDaysResolved drives the Builder directly with a customer whose rows make the
// O(1) state unable to place a day, and checks that Finish settles it exactly.
func TestAmbiguousDaysResolved(t *testing.T) {
	calEnd := date("2024-12-31")
	opts := Options{CalibrationEnd: calEnd, ObservationEnd: calEnd.AddDate(1, 0, 0), Unit: Day}
	d := func(n int) time.Time { return date("2024-01-01").AddDate(0, 0, n) }
	rows := []txRow{
		{"a", d(0), 10, nil}, {"a", d(100), 10, nil}, {"a", d(200), 10, nil}, // in order
		{"a", d(100), 5, nil},  // interior and old: ambiguous, already known
		{"a", d(50), 5, nil},   // ambiguous, new
		{"a", d(50), 1, nil},   // ambiguous again, the same new day
		{"a", d(120), 1, nil},  // ambiguous, new
		{"a", d(190), 1, nil},  // within 64 days of the last one: exact
		{"a", d(-30), 2, nil},  // before the first: exact, new first day
		{"a", d(0), 3, nil},    // the old first day: ambiguous, known
		{"a", d(400), 7, nil},  // holdout
		{"a", d(600), 7, nil},  // holdout
		{"a", d(480), 7, nil},  // holdout, ambiguous, new
		{"a", d(600), 1, nil},  // holdout, known
		{"b", d(300), 10, nil}, // another customer
	}
	b := NewBuilder(opts, nil)
	for _, r := range rows {
		if err := b.Add(r.id, r.ts, r.amount, r.attrs); err != nil {
			t.Fatal(err)
		}
	}
	b.flushAdds()
	if len(b.pending) == 0 {
		t.Fatal("the test rows did not exercise the ambiguous path")
	}
	s, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	compareWithReference(t, s, rows, opts)
	a := s.Customer(0)
	if a.Frequency != 6 || a.HoldoutTransactions != 3 {
		t.Errorf("customer a: x = %d (want 6: days -30, 0, 50, 100, 120, 190, 200), holdout %d (want 3)", a.Frequency, a.HoldoutTransactions)
	}
}

// TestBuilderMatchesReadCSV checks that Add and ReadCSV agree.
func TestBuilderMatchesReadCSV(t *testing.T) {
	calEnd := date("2024-06-30")
	opts := Options{CalibrationEnd: calEnd, ObservationEnd: calEnd.AddDate(0, 1, 0), Unit: Week}
	rows := randomRows(rand.New(rand.NewPCG(9, 9)), 200, calEnd)
	b := NewBuilder(opts, refCols.Attributes)
	for _, r := range rows {
		if err := b.Add(r.id, r.ts, r.amount, r.attrs); err != nil {
			t.Fatal(err)
		}
	}
	viaAdd, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	viaCSV, err := ReadCSV(bytes.NewReader(toCSV(rows, false, false)), refCols, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(viaAdd.Customers(), viaCSV.Customers()) {
		t.Error("Builder.Add and ReadCSV disagree")
	}
	compareWithReference(t, viaAdd, rows, opts)
}

// TestDayTrackerRandomOrders hammers the day bookkeeping: customers with many transaction days
// over long spans, in random orders, so that days leave the 64-day window, first days move and
// ambiguous days are frequent; the counts must match the reference exactly.
func TestDayTrackerRandomOrders(t *testing.T) {
	calEnd := date("2024-12-31")
	opts := Options{CalibrationEnd: calEnd, ObservationEnd: calEnd.AddDate(0, 6, 0), Unit: Day}
	rng := rand.New(rand.NewPCG(5, 6))
	pendingSeen := 0
	for round := range 30 {
		var rows []txRow
		for c := range 20 {
			span := 1 + rng.IntN(900)
			n := 1 + rng.IntN(120)
			for range n {
				day := calEnd.AddDate(0, 0, -700+rng.IntN(span))
				rows = append(rows, txRow{fmt.Sprint(c), day, float64(rng.IntN(100)), nil})
			}
		}
		switch round % 3 {
		case 0:
			rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		case 1: // chronological runs in random order (concatenated exports)
			sort.SliceStable(rows, func(i, j int) bool { return rows[i].ts.Before(rows[j].ts) })
			for k := 0; k < 4; k++ {
				a, b := rng.IntN(len(rows)), rng.IntN(len(rows))
				if a > b {
					a, b = b, a
				}
				slices.Reverse(rows[a:b])
			}
		case 2:
			sort.SliceStable(rows, func(i, j int) bool { return rows[i].ts.After(rows[j].ts) })
		}
		b := NewBuilder(opts, nil)
		for _, r := range rows {
			if err := b.Add(r.id, r.ts, r.amount, nil); err != nil {
				t.Fatal(err)
			}
		}
		b.flushAdds()
		pendingSeen += len(b.pending)
		s, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		compareWithReference(t, s, rows, opts)
	}
	if pendingSeen == 0 {
		t.Error("no ambiguous day was exercised")
	}
}
