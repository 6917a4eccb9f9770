package summary

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func TestRowIsAtMost48Bytes(t *testing.T) {
	if n := unsafe.Sizeof(row{}); n > 48 {
		t.Fatalf("a customer takes %d bytes in a Summary, want at most 48", n)
	}
}

const tableCSV = `customer_id,date,amount,channel
b,2024-01-03,10,email
a,2024-01-01,5,social
b,2024-02-03,-2,email
c,2024-03-01,7,email
a,2024-01-20,4,web
b,2024-02-10,6,email
`

func TestAppenderRebuildsTheSameSummary(t *testing.T) {
	opts := Options{CalibrationEnd: time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC), Unit: Month}
	want, err := ReadCSV(strings.NewReader(tableCSV), Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount", Attributes: []string{"channel"}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	// appended out of order: the Appender sorts by id
	app := NewAppender(opts, []string{"channel"})
	for _, i := range []int{2, 0, 1} {
		app.Append(want.Customer(i))
	}
	got := app.Summary()
	if !reflect.DeepEqual(got.Customers(), want.Customers()) {
		t.Fatalf("got\n %+v\nwant\n %+v", got.Customers(), want.Customers())
	}
	// Recency and Age follow from the days: b bought on Jan 3 and Feb 10, the end is Mar 31
	b := got.Customer(1)
	if b.ID != "b" || b.Recency != 38/(365.25/12) || b.Age != 88/(365.25/12) {
		t.Errorf("b: recency %v age %v, want %v %v", b.Recency, b.Age, 38/(365.25/12), 88/(365.25/12))
	}
	// equal attribute tuples are stored once
	if a, c := got.Attributes(0), got.Attributes(2); &a[0] == &c[0] {
		t.Errorf("a (social) and c (email) share a tuple")
	}
	if b, c := got.Attributes(1), got.Attributes(2); &b[0] != &c[0] {
		t.Errorf("b and c (both email) do not share their tuple")
	}
}

func TestActivityKeepsEveryAdmittedRow(t *testing.T) {
	cols := Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount"}
	opts := Options{CalibrationEnd: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), ActivityCustomers: 3}
	s, err := ReadCSV(strings.NewReader(tableCSV), cols, opts)
	if err != nil {
		t.Fatal(err)
	}
	// c's row is after the end: a and b remain, with 2 and 3 rows in the order read
	type act struct {
		id     string
		day    string
		amount float64
	}
	var got []act
	for _, a := range slices.Concat(s.Activity...) {
		got = append(got, act{s.ID(int(a.Customer)), time.Unix(int64(a.Day)*86400, 0).UTC().Format(time.DateOnly), a.Amount})
	}
	want := []act{{"b", "2024-01-03", 10}, {"a", "2024-01-01", 5}, {"b", "2024-02-03", -2}, {"a", "2024-01-20", 4}, {"b", "2024-02-10", 6}}
	if !reflect.DeepEqual(got, want) || s.ActivityNote != "" {
		t.Fatalf("activity %v (note %q), want %v", got, s.ActivityNote, want)
	}

	opts.ActivityCustomers = 1
	s, err = ReadCSV(strings.NewReader(tableCSV), cols, opts)
	if err != nil {
		t.Fatal(err)
	}
	if s.Activity != nil || !strings.Contains(s.ActivityNote, "more than 1 customers") {
		t.Fatalf("over the limit: %d rows kept, note %q", len(s.Activity), s.ActivityNote)
	}
	opts.ActivityCustomers = 0
	if s, err = ReadCSV(strings.NewReader(tableCSV), cols, opts); err != nil || s.Activity != nil || s.ActivityNote != "" {
		t.Fatalf("not asked for: %d rows kept, note %q, %v", len(s.Activity), s.ActivityNote, err)
	}
}

// Past one chunk the activity is every admitted row still, in the order read: here over three
// chunks, with the first one grown from small and a customer whose only rows are past the end.
func TestActivitySpansChunks(t *testing.T) {
	var csv strings.Builder
	csv.WriteString("customer_id,date,amount\n")
	type act struct {
		id     string
		day    string
		amount float64
	}
	var want []act
	rows := 3*activityChunk + 17
	for r := range rows {
		id := fmt.Sprintf("c%d", r%1000)
		d := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r%50)
		if r%1000 == 999 {
			d = d.AddDate(1, 0, 0) // after the end: c999 is no customer
		}
		amount := float64(r%97) + 0.5
		fmt.Fprintf(&csv, "%s,%s,%g\n", id, d.Format(time.DateOnly), amount)
		if r%1000 != 999 {
			want = append(want, act{id, d.Format(time.DateOnly), amount})
		}
	}
	opts := Options{CalibrationEnd: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), ActivityCustomers: 1000}
	s, err := ReadCSV(strings.NewReader(csv.String()), Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Activity) < 3 {
		t.Fatalf("%d chunks for %d rows, want at least 3", len(s.Activity), rows)
	}
	var got []act
	for _, a := range slices.Concat(s.Activity...) {
		got = append(got, act{s.ID(int(a.Customer)), time.Unix(int64(a.Day)*86400, 0).UTC().Format(time.DateOnly), a.Amount})
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows kept, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d: %v, want %v", i, got[i], want[i])
		}
	}
}

// The radix sort of Finish orders as the comparison sort, whatever the prefixes share.
func TestRadixSortKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, gen := range []func() uint64{
		func() uint64 { return rng.Uint64() },
		func() uint64 { return uint64(rng.IntN(1000)) << 24 },             // most bytes equal
		func() uint64 { return 0x3030303030303030 | rng.Uint64()&0x0f0f }, // digits
		func() uint64 { return 7 },                                        // all equal
	} {
		keys := make([]sortKey, 100_000)
		for i := range keys {
			keys[i] = sortKey{pfx: gen(), idx: int32(i)}
		}
		want := slices.Clone(keys)
		slices.SortStableFunc(want, func(x, y sortKey) int { return cmp.Compare(x.pfx, y.pfx) })
		radixSortKeys(keys)
		if !slices.Equal(keys, want) {
			t.Fatal("radix sort differs from a stable comparison sort")
		}
	}
}

// Above radixMin customers Finish sorts by radix: the customers still come out in byte order of
// their ids, including ids that share their first bytes and ids that are prefixes of others.
func TestFinishSortsManyCustomersByID(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	b := NewBuilder(Options{CalibrationEnd: time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)}, nil)
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := map[string]bool{}
	for len(ids) < radixMin+5000 {
		var id string
		switch rng.IntN(3) {
		case 0:
			id = fmt.Sprintf("cust-%07d", rng.IntN(10_000_000)) // a shared prefix, 8 more bytes
		case 1:
			id = fmt.Sprintf("cust-%07d-%d", rng.IntN(1000), rng.IntN(100)) // tie on 8 bytes
		default:
			id = fmt.Sprintf("%x", rng.Uint64()>>uint(rng.IntN(60))) // any length
		}
		ids[id] = true
		if err := b.Add(id, day, 1, nil); err != nil {
			t.Fatal(err)
		}
	}
	s, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != len(ids) {
		t.Fatalf("%d customers, want %d", s.Len(), len(ids))
	}
	for i := 1; i < s.Len(); i++ {
		if s.ID(i-1) >= s.ID(i) {
			t.Fatalf("customers %d and %d out of order: %q, %q", i-1, i, s.ID(i-1), s.ID(i))
		}
	}
}
