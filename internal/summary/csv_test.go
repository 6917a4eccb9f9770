package summary

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

var (
	calEnd97 = date("1997-09-30")
	simple   = Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount"}
	withAttr = Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount", Attributes: []string{"channel"}}
)

func read(t *testing.T, input string, cols Columns, opts Options) *Summary {
	t.Helper()
	s, err := ReadCSV(strings.NewReader(input), cols, opts)
	if err != nil {
		t.Fatalf("ReadCSV: %v", err)
	}
	return s
}

func customer(t *testing.T, s *Summary, id string) Customer {
	t.Helper()
	for _, c := range s.Customers() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("customer %q not in the summary", id)
	return Customer{}
}

func TestTimeUnit(t *testing.T) {
	for _, tc := range []struct {
		u            TimeUnit
		days, want   float64
		perMonth     float64
		perMonthDesc string
	}{
		{Day, 10, 10, 30.4375, "Day"},
		{Week, 273, 39, 30.4375 / 7, "Week"},
		{Month, 365.25, 12, 1, "Month"},
		{"", 14, 2, 30.4375 / 7, "empty = Week"},
	} {
		if got := tc.u.FromDays(tc.days); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s.FromDays(%v) = %v, want %v", tc.perMonthDesc, tc.days, got, tc.want)
		}
		if got := tc.u.PeriodsPerMonth(); math.Abs(got-tc.perMonth) > 1e-12 {
			t.Errorf("%s.PeriodsPerMonth() = %v, want %v", tc.perMonthDesc, got, tc.perMonth)
		}
	}
}

// TestSummaryByHand checks one small log against values worked out by hand.
func TestSummaryByHand(t *testing.T) {
	in := "customer_id,date,amount,channel\n" +
		"a,1997-01-01,10,email\n" +
		"a,1997-01-01,5,paid\n" + // same day: merged, the first row's attributes stay
		"a,1997-01-08,20,organic\n" +
		"a,1997-01-08,2,organic\n" +
		"a,1997-01-29,30,organic\n" +
		"b,1997-09-30,7,social\n" + // on the calibration end day
		"c,1997-10-05,9,email\n" + // holdout only
		"a,1997-10-02,4,x\n" + // holdout
		"a,1997-10-02,1,x\n" + // holdout, same day
		"a,1997-11-15,3,x\n" + // holdout
		"b,1998-01-01,100,x\n" // after the observation end
	s := read(t, in, withAttr, Options{CalibrationEnd: calEnd97, ObservationEnd: date("1997-12-31"), Unit: Week})
	if len(s.Customers()) != 2 || s.HoldoutOnlyCustomers != 1 || s.FutureRows != 1 || s.Rows != 11 || s.Transactions != 4 {
		t.Fatalf("customers %d holdout-only %d future %d rows %d transactions %d", len(s.Customers()), s.HoldoutOnlyCustomers, s.FutureRows, s.Rows, s.Transactions)
	}
	a := customer(t, s, "a")
	want := Customer{
		ID: "a", Attributes: []string{"email"},
		FirstPurchase: date("1997-01-01"), LastPurchase: date("1997-01-29"),
		Frequency: 2, Recency: 28.0 / 7, Age: 272.0 / 7,
		Monetary:      (22.0 + 30) / 2,
		HistoricValue: 67, Orders: 5,
		HoldoutTransactions: 2, HoldoutValue: 8,
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("a:\n got  %+v\n want %+v", a, want)
	}
	b := customer(t, s, "b")
	if b.Frequency != 0 || b.Recency != 0 || b.Age != 0 || b.Monetary != 0 || b.HistoricValue != 7 || b.HoldoutTransactions != 0 {
		t.Errorf("b: %+v", b)
	}
	if s.Revenue != 74 || !reflect.DeepEqual(s.AttributeNames, []string{"channel"}) {
		t.Errorf("revenue %v, attribute names %v", s.Revenue, s.AttributeNames)
	}
}

func TestReturnsPolicies(t *testing.T) {
	in := "customer_id,date,amount\n" +
		"a,1997-01-01,50\n" +
		"a,1997-01-01,-10\n" + // refund on the first day: lowers the first day's value
		"a,1997-02-01,30\n" +
		"a,1997-03-01,-5\n" + // refund on a day without a purchase: not a transaction, lowers the repeat spend
		"a,1997-04-01,20\n" +
		"b,1997-05-01,-8\n" + // refunds only: not a customer
		"c,1997-06-01,-4\n" + // refund before the first purchase, on the day that becomes the first
		"c,1997-06-01,0\n" + // a zero amount is a purchase
		"c,1997-07-01,12\n"
	opts := Options{CalibrationEnd: calEnd97, Unit: Day}

	s := read(t, in, simple, opts)
	a := customer(t, s, "a")
	if a.Frequency != 2 || a.HistoricValue != 85 || a.Monetary != (30-5+20)/2.0 || a.Orders != 5 {
		t.Errorf("Net, a: %+v", a)
	}
	c := customer(t, s, "c")
	if c.Frequency != 1 || c.HistoricValue != 8 || c.Monetary != 12 || !c.FirstPurchase.Equal(date("1997-06-01")) {
		t.Errorf("Net, c: %+v", c)
	}
	if len(s.Customers()) != 2 || s.ExcludedReturns != 0 {
		t.Errorf("Net: %d customers, %d excluded", len(s.Customers()), s.ExcludedReturns)
	}

	opts.Returns = ReturnsExclude
	s = read(t, in, simple, opts)
	a = customer(t, s, "a")
	if a.Frequency != 2 || a.HistoricValue != 100 || a.Monetary != 25 || a.Orders != 3 || s.ExcludedReturns != 4 {
		t.Errorf("Exclude, a: %+v, excluded %d", a, s.ExcludedReturns)
	}

	opts.Returns = ReturnsReject
	_, err := ReadCSV(strings.NewReader(in), simple, opts)
	var re *RowError
	if !errors.As(err, &re) || re.Line != 3 || re.Column != "amount" || re.Value != "-10" {
		t.Fatalf("Reject: %v", err)
	}
	if want := `line 3: column "amount": "-10" is negative and returns is Reject`; !strings.Contains(err.Error(), want) {
		t.Errorf("Reject: %q does not contain %q", err, want)
	}
	opts.MaxInvalidRows = 10
	s = read(t, in, simple, opts)
	if s.InvalidRows != 4 || len(s.InvalidSamples) != 4 || s.InvalidSamples[0].Line != 3 {
		t.Errorf("Reject within maxInvalidRows: %d invalid, samples %v", s.InvalidRows, s.InvalidSamples)
	}
}

func TestAttributesFromFirstTransaction(t *testing.T) {
	in := "customer_id,date,amount,channel\n" +
		"a,2024-03-05T10:00:00Z,5,late\n" +
		"a,2024-03-05T08:00:00Z,5,early\n" + // earlier the same day, after in the file
		"a,2024-03-07,5,later-day\n" +
		"b,2024-03-05,5,first-row\n" +
		"b,2024-03-05,5,tie\n" + // same timestamp: the first row wins
		"c,2024-03-09,5,second\n" +
		"c,2024-03-08,5,first\n" + // an earlier day arrives later
		"d,2024-03-05,-5,refund\n" + // a refund is not the first transaction
		"d,2024-03-06,5,purchase\n"
	s := read(t, in, withAttr, Options{CalibrationEnd: date("2024-12-31"), Unit: Day})
	for id, want := range map[string]string{"a": "early", "b": "first-row", "c": "first", "d": "purchase"} {
		if got := customer(t, s, id).Attributes; len(got) != 1 || got[0] != want {
			t.Errorf("%s: attributes %v, want [%s]", id, got, want)
		}
	}
}

func TestTimestampFormats(t *testing.T) {
	for _, tc := range []struct {
		ts  string
		day string
	}{
		{"1997-01-02", "1997-01-02"},
		{"19970102", "1997-01-02"},
		{"1997-01-02T10:11:12Z", "1997-01-02"},
		{"1997-01-02T10:11:12.123456789Z", "1997-01-02"},
		{"1997-01-02T23:30:00-02:00", "1997-01-03"}, // converted to UTC
		{"1997-01-02T01:00:00+05:00", "1997-01-01"},
		{"1997-01-02T01:00:00+0500", "1997-01-01"},
		{"1997-01-02 10:11:12", "1997-01-02"},
		{"1997-01-02 10:11:12.5", "1997-01-02"},
		{"1996-02-29", "1996-02-29"},
		{"2000-02-29", "2000-02-29"},
		{" 1997-01-02 ", "1997-01-02"},
	} {
		in := "customer_id,date,amount\na," + tc.ts + ",1\n"
		s := read(t, in, simple, Options{CalibrationEnd: date("2001-01-01")})
		if got := s.Customer(0).FirstPurchase.Format(time.DateOnly); got != tc.day {
			t.Errorf("%q: day %s, want %s", tc.ts, got, tc.day)
		}
	}
	for _, bad := range []string{"1997-13-01", "1997-02-29", "1900-02-29", "1997-1-2", "02/01/1997", "1997-01-02T25:00:00Z",
		"1997-01-02T10:11", "1997-01-02T10:11:12+5", "1997-01-02T10:11:12Zjunk", "1997-01-02T10:11:12.", "", "yesterday", "19971301"} {
		in := "customer_id,date,amount\na,2000-01-01,1\na," + bad + ",1\n"
		_, err := ReadCSV(strings.NewReader(in), simple, Options{CalibrationEnd: date("2001-01-01")})
		var re *RowError
		if !errors.As(err, &re) || re.Line != 3 || re.Column != "date" {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestAmounts(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
	}{{"12", 12}, {"12.50", 12.5}, {"-0.05", -0.05}, {"+3", 3}, {".5", 0.5}, {"5.", 5}, {"1e3", 1000}, {"1.5E-2", 0.015},
		{"0.1", 0.1}, {"123456789012.34", 123456789012.34}, {"999999999999999.9", 999999999999999.9}, {"-1e15", -1e15}, {"0.000000000000000000000001", 1e-24},
		{`"7.25"`, 7.25}} {
		// a zero purchase the same day makes a customer even of a negative amount
		s := read(t, "customer_id,date,amount\na,2000-01-01,0\na,2000-01-01,"+tc.in+"\n", simple, Options{CalibrationEnd: date("2001-01-01")})
		if got := s.Customer(0).HistoricValue; got != tc.want {
			t.Errorf("%s: %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"NaN", "Inf", "-Inf", "1e999", "12,x", "1.2.3", "0x10", "1_000", "$5", "", "-", ".", "1e", "5 5", "1e16", "-1e308", "1234567890123456789"} {
		in := "customer_id,date,amount\na,2000-01-01,\"" + bad + "\"\n"
		_, err := ReadCSV(strings.NewReader(in), simple, Options{CalibrationEnd: date("2001-01-01")})
		var re *RowError
		if !errors.As(err, &re) || re.Line != 2 || re.Column != "amount" || re.Value != bad {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestRowErrors(t *testing.T) {
	header := "customer_id,date,amount\n"
	good := "a,1997-01-01,1\n"
	for _, tc := range []struct {
		name, rows string
		want       string // the error's text
		line       int
	}{
		{"amount", good + `b,1997-01-02,"12,x"` + "\n", `line 3: column "amount": "12,x" is not a number`, 3},
		{"timestamp", good + good + "b,1997-13-01,1\n", `line 4: column "date": "1997-13-01" is not a date or timestamp`, 4},
		{"empty id", ",1997-01-01,1\n", `line 2: column "customer_id": customer ID is empty`, 2},
		{"blank id", "  ,1997-01-01,1\n", `line 2: column "customer_id": customer ID is empty`, 2},
		{"too many fields", good + "b,1997-01-01,1,extra\n", "line 3: has 4 fields, the header has 3", 3},
		{"too few fields", "b,1997-01-01\n", "line 2: has 2 fields, the header has 3", 2},
		{"bad quote", good + `"b"x,1997-01-01,1` + "\n", `line 3: column "customer_id": has a quoted field followed by other characters`, 3},
		{"unterminated quote", good + `b,"1997-01-01,1` + "\n", `line 3: column "date": unterminated quoted field`, 3},
		{"after a multi-line field", `"a` + "\n" + `b",1997-01-01,1` + "\n" + "c,1997-01-01,x\n", `line 4: column "amount": "x" is not a number`, 4},
		{"after an empty line", good + "\n" + "c,1997-01-01,x\n", `line 4: column "amount"`, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(header+tc.rows), simple, Options{CalibrationEnd: calEnd97})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			var re *RowError
			var ie *InvalidRowsError
			if !errors.As(err, &re) || re.Line != tc.line || !errors.As(err, &ie) || ie.Count != 1 || ie.First != re {
				t.Errorf("error %#v: want an *InvalidRowsError wrapping a *RowError for line %d", err, tc.line)
			}
		})
	}
}

func TestMaxInvalidRows(t *testing.T) {
	in := "customer_id,date,amount\n" +
		"a,1997-01-01,1\n" +
		"a,1997-02-30,1\n" + // line 3
		"b,1997-01-01,1\n" +
		"b,1997-01-03,zz\n" + // line 5
		",1997-01-01,1\n" + // line 6
		"c,1997-01-01,1\n"
	opts := Options{CalibrationEnd: calEnd97, MaxInvalidRows: 3}
	s := read(t, in, simple, opts)
	if s.InvalidRows != 3 || len(s.InvalidSamples) != 3 || len(s.Customers()) != 3 || s.Rows != 6 {
		t.Fatalf("invalid %d, samples %d, customers %d, rows %d", s.InvalidRows, len(s.InvalidSamples), len(s.Customers()), s.Rows)
	}
	for i, line := range []int{3, 5, 6} {
		if s.InvalidSamples[i].Line != line {
			t.Errorf("sample %d is line %d, want %d", i, s.InvalidSamples[i].Line, line)
		}
	}
	opts.MaxInvalidRows = 2
	_, err := ReadCSV(strings.NewReader(in), simple, opts)
	var ie *InvalidRowsError
	if !errors.As(err, &ie) || ie.Count != 3 || ie.Max != 2 || ie.First.Line != 3 {
		t.Fatalf("%v", err)
	}
	if want := `3 invalid rows, more than maxInvalidRows (2); the first: line 3: column "date": "1997-02-30" is not a date`; !strings.Contains(err.Error(), want) {
		t.Errorf("%q does not contain %q", err, want)
	}
	// samples are bounded
	var many strings.Builder
	many.WriteString("customer_id,date,amount\na,1997-01-01,1\n")
	for range 20 {
		many.WriteString("a,1997-01-01,bad\n")
	}
	s = read(t, many.String(), simple, Options{CalibrationEnd: calEnd97, MaxInvalidRows: 100})
	if s.InvalidRows != 20 || len(s.InvalidSamples) != 5 {
		t.Errorf("%d invalid, %d samples", s.InvalidRows, len(s.InvalidSamples))
	}
}

func TestColumnErrors(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		cols        Columns
		want        string
	}{
		{"missing", "a,b,c\n1,2,3\n", simple, `column "customer_id" not found in header ["a" "b" "c"]`},
		{"missing attribute", "customer_id,date,amount\n", withAttr, `column "channel" not found in header`},
		{"duplicate", "customer_id,date,amount,amount\n", simple, `column "amount" appears 2 times in header`},
		{"empty input", "", simple, "the input is empty: no header line"},
		{"blank lines only", "\n\r\n\n", simple, "the input is empty: no header line"},
		{"unmapped id", "customer_id,date,amount\n", Columns{Timestamp: "date", Amount: "amount"}, "no column is mapped to the customer ID"},
		{"malformed header", `"customer_id,date,amount` + "\n", simple, "malformed header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tc.input), tc.cols, Options{CalibrationEnd: calEnd97})
			var ce *ColumnError
			if !errors.As(err, &ce) {
				t.Fatalf("%v: not a *ColumnError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestNoData(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		want        string
	}{
		{"header only", "customer_id,date,amount\n", "no data: no data rows"},
		{"all after the observation end", "customer_id,date,amount\na,1998-01-01,1\n", "no transactions on or before the calibration end 1997-09-30 (1 data rows, 1 after the observation end 1997-09-30)"},
		{"holdout only", "customer_id,date,amount\na,1997-10-01,1\n", "no transactions on or before the calibration end"},
		{"refunds only", "customer_id,date,amount\na,1997-01-01,-1\n", "no transactions on or before the calibration end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tc.input), simple, Options{CalibrationEnd: calEnd97, ObservationEnd: date("1997-12-31")})
			if !errors.Is(err, ErrNoData) {
				t.Fatalf("%v: does not wrap ErrNoData", err)
			}
			if tc.name == "all after the observation end" {
				_, err = ReadCSV(strings.NewReader(tc.input), simple, Options{CalibrationEnd: calEnd97})
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, opts := range []Options{
		{},
		{CalibrationEnd: calEnd97, Unit: "Year"},
		{CalibrationEnd: calEnd97, Returns: "Keep"},
		{CalibrationEnd: calEnd97, ObservationEnd: date("1997-01-01")},
		{CalibrationEnd: calEnd97, MaxInvalidRows: -1},
	} {
		if _, err := ReadCSV(strings.NewReader("customer_id,date,amount\na,1997-01-01,1\n"), simple, opts); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%+v: %v", opts, err)
		}
		b := NewBuilder(opts, nil)
		if err := b.Add("a", date("1997-01-01"), 1, nil); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("Add with %+v: %v", opts, err)
		}
		if _, err := b.Finish(); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("Finish with %+v: %v", opts, err)
		}
	}
}

func TestBuilderAddErrors(t *testing.T) {
	b := NewBuilder(Options{CalibrationEnd: calEnd97, Returns: ReturnsReject, MaxInvalidRows: 10}, []string{"channel"})
	for _, tc := range []struct {
		id     string
		amount float64
		attrs  []string
		want   string
	}{
		{"", 1, []string{"x"}, "customer ID is empty"},
		{"a", math.NaN(), []string{"x"}, "is not a finite number"},
		{"a", math.Inf(1), []string{"x"}, "is not a finite number"},
		{"a", 1, nil, "has 0 attribute values, want 1 (channel)"},
		{"a", -1, []string{"x"}, "is negative and returns is Reject"},
	} {
		err := b.Add(tc.id, date("1997-01-01"), tc.amount, tc.attrs)
		var re *RowError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v", tc, err)
		}
	}
	if err := b.Add("a", date("1997-01-01"), 1, []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Add("a", date("1998-01-01"), 1, []string{"x"}); err != nil {
		t.Fatal(err)
	}
	s, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if s.InvalidRows != 5 || s.Rows != 7 || s.FutureRows != 1 || len(s.Customers()) != 1 || s.Digest != "" {
		t.Errorf("%+v", s)
	}
	b = NewBuilder(Options{CalibrationEnd: calEnd97}, nil)
	b.Add("", date("1997-01-01"), 1, nil)
	b.Add("a", date("1997-01-01"), 1, nil)
	if _, err := b.Finish(); !errors.As(err, new(*InvalidRowsError)) {
		t.Errorf("Finish after an invalid row with MaxInvalidRows 0: %v", err)
	}
}

const formatsCSV = "customer_id,date,amount,channel\n" +
	"1,1997-01-01,10.00,email\n" +
	"2,1997-01-02,5,\"paid, search\"\n" +
	"1,1997-02-01,\"7.5\",\"say \"\"hi\"\"\"\n" +
	"3,1997-03-01,1,\"two\nlines\"\n" +
	"\n" +
	"2,1997-04-01,2,x\n"

// TestFormats checks that gzip, CRLF, a missing final newline, a byte-order mark and quoting
// all give the same summary, and that Digest is the SHA-256 of the bytes read.
func TestFormats(t *testing.T) {
	opts := Options{CalibrationEnd: calEnd97}
	want := read(t, formatsCSV, withAttr, opts)
	if got := customer(t, want, "2").Attributes[0]; got != "paid, search" {
		t.Errorf("quoted attribute %q", got)
	}
	if got := customer(t, want, "3").Attributes[0]; got != "two\nlines" {
		t.Errorf("multi-line attribute %q", got)
	}
	gz := func(s string, members int) string {
		var b bytes.Buffer
		part := len(s) / members
		for i := range members {
			w := gzip.NewWriter(&b)
			end := (i + 1) * part
			if i == members-1 {
				end = len(s)
			}
			w.Write([]byte(s[i*part : end]))
			w.Close()
		}
		return b.String()
	}
	for name, input := range map[string]string{
		"gzip":               gz(formatsCSV, 1),
		"gzip, 3 members":    gz(formatsCSV, 3),
		"crlf":               strings.ReplaceAll(formatsCSV, "\n", "\r\n"),
		"no final newline":   strings.TrimSuffix(formatsCSV, "\n"),
		"bom":                "\xef\xbb\xbf" + formatsCSV,
		"spaces in header":   strings.Replace(formatsCSV, "customer_id,date", " customer_id , date", 1),
		"quoted header":      strings.Replace(formatsCSV, "customer_id,date", `"customer_id","date"`, 1),
		"quoted everything":  "\"customer_id\",\"date\",\"amount\",\"channel\"\r\n\"1\",\"1997-01-01\",\"10.00\",\"email\"\r\n\"2\",\"1997-01-02\",\"5\",\"paid, search\"\r\n\"1\",\"1997-02-01\",\"7.5\",\"say \"\"hi\"\"\"\r\n\"3\",\"1997-03-01\",\"1\",\"two\nlines\"\r\n\"2\",\"1997-04-01\",\"2\",\"x\"",
		"crlf, gzip":         gz(strings.ReplaceAll(formatsCSV, "\n", "\r\n"), 1),
		"extra column first": strings.NewReplacer("customer_id,", "x,customer_id,", "\n1,", "\n,1,", "\n2,", "\nq,2,", "\n3,", "\n\"\",3,").Replace(formatsCSV),
	} {
		t.Run(name, func(t *testing.T) {
			got := read(t, input, withAttr, opts)
			if !reflect.DeepEqual(got.Customers(), want.Customers()) {
				t.Errorf("customers differ:\n got  %+v\n want %+v", got.Customers(), want.Customers())
			}
			sum := sha256.Sum256([]byte(input))
			if got.Digest != "sha256:"+hex.EncodeToString(sum[:]) {
				t.Errorf("digest %s is not the SHA-256 of the input", got.Digest)
			}
		})
	}
	// a reader that returns one byte at a time
	got, err := ReadCSV(iotest.OneByteReader(strings.NewReader(gz(formatsCSV, 1))), withAttr, opts)
	if err != nil || !reflect.DeepEqual(got.Customers(), want.Customers()) {
		t.Errorf("one byte at a time: %v", err)
	}
	// a broken gzip stream is an error, not a summary
	broken := gz(formatsCSV, 1)
	if _, err := ReadCSV(strings.NewReader(broken[:len(broken)-6]), withAttr, opts); err == nil {
		t.Error("no error for a truncated gzip stream")
	}
	if _, err := ReadCSV(strings.NewReader(broken[:len(broken)-6]), withAttr, opts); errors.Is(err, ErrCorruptInput) {
		t.Errorf("a truncated stream is marked corrupt: %v", err)
	}
	flipped := []byte(broken)
	flipped[len(flipped)-5] ^= 0xff // the length in the trailer
	if _, err := ReadCSV(bytes.NewReader(flipped), withAttr, opts); !errors.Is(err, ErrCorruptInput) {
		t.Errorf("bad trailer: %v", err)
	}
	flipped = []byte(broken)
	flipped[2] = 7 // not deflate
	if _, err := ReadCSV(bytes.NewReader(flipped), withAttr, opts); !errors.Is(err, ErrCorruptInput) {
		t.Errorf("bad header: %v", err)
	}
	if _, err := ReadCSV(iotest.ErrReader(io.ErrClosedPipe), withAttr, opts); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("reader error: %v", err)
	}
}

// TestChunkBoundaries feeds the parser a log cut into pieces at every position, so that rows,
// quoted fields, CRLF pairs and the header straddle buffer boundaries.
func TestChunkBoundaries(t *testing.T) {
	input := strings.ReplaceAll(formatsCSV, "\n2,1997-04-01", "\r\n2,1997-04-01") + "4,1997-05-01,3,\"\"\"\"\n5,1997-05-02,4,\"a\r\nb\"\r\n"
	opts := Options{CalibrationEnd: calEnd97}
	summarize := func(pieces ...string) *Summary {
		b := NewBuilder(opts, withAttr.Attributes)
		p, err := newCSVParser(b, withAttr)
		if err != nil {
			t.Fatal(err)
		}
		p.agg = startAggregator(b)
		for _, piece := range pieces {
			if err := p.feed([]byte(piece)); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.finish(); err != nil {
			t.Fatal(err)
		}
		p.agg.finish()
		s, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	want := summarize(input)
	if len(want.Customers()) != 5 || customer(t, want, "4").Attributes[0] != `"` || customer(t, want, "5").Attributes[0] != "a\nb" {
		t.Fatalf("%+v", want.Customers())
	}
	for i := 0; i <= len(input); i++ {
		for j := i; j <= len(input); j += 7 {
			got := summarize(input[:i], input[i:j], input[j:])
			if !reflect.DeepEqual(got.Customers(), want.Customers()) || got.Rows != want.Rows {
				t.Fatalf("cut at %d and %d: got %+v", i, j, got.Customers())
			}
		}
	}
}

func TestLongRecord(t *testing.T) {
	in := "customer_id,date,amount\n\"" + strings.Repeat("x\n", maxRecord) + "\",1997-01-01,1\n"
	_, err := ReadCSV(strings.NewReader(in), simple, Options{CalibrationEnd: calEnd97, MaxInvalidRows: 5})
	var re *RowError
	if !errors.As(err, &re) || re.Line != 2 || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("%v", err)
	}
}

func TestCustomersSortedByIDCommonPrefix(t *testing.T) {
	ids := []string{"customer-1", "customer-10", "customer-2", "customer-", "customer-000000000001", "customer-000000000000", "customer-0000000000001", "customer-\x01", "customer-\x01\x01"}
	var in strings.Builder
	in.WriteString("customer_id,date,amount\n")
	for _, id := range ids {
		in.WriteString("\"" + id + "\",1997-01-01,1\n")
	}
	s := read(t, in.String(), simple, Options{CalibrationEnd: calEnd97})
	var got []string
	for _, c := range s.Customers() {
		got = append(got, c.ID)
	}
	want := slices.Clone(ids)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ids %q, want %q", got, want)
	}
}

func TestCustomersSortedByID(t *testing.T) {
	in := "customer_id,date,amount\n" + "b,1997-01-01,1\n" + "10,1997-01-01,1\n" + "a,1997-01-01,1\n" + "9,1997-01-01,1\n" +
		"customer-000000002,1997-01-01,1\n" + "customer-000000001,1997-01-01,1\n" + "ab,1997-01-01,1\n" + "a\x01,1997-01-01,1\n"
	s := read(t, in, simple, Options{CalibrationEnd: calEnd97})
	var ids []string
	for _, c := range s.Customers() {
		ids = append(ids, c.ID)
	}
	want := []string{"10", "9", "a", "a\x01", "ab", "b", "customer-000000001", "customer-000000002"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("ids %q, want %q", ids, want)
	}
}

// TestLongQuotedFieldAcrossBuffers: a quoted field with a million line breaks that straddles the
// reader's buffers is parsed in linear time (a quadratic re-scan would not finish).
func TestLongQuotedFieldAcrossBuffers(t *testing.T) {
	in := "customer_id,date,amount\na,1997-01-01,1\n\"" + strings.Repeat("\n", maxRecord-100) + "\",1997-01-01,1\nb,1997-01-02,x\n"
	_, err := ReadCSV(strings.NewReader(in), simple, Options{CalibrationEnd: calEnd97})
	var re *RowError
	if !errors.As(err, &re) || re.Line != maxRecord-100+4 {
		t.Errorf("%v", err)
	}
}

// The plain amounts' fast path reads every amount it accepts to the value the general parser and
// strconv give (correctly rounded), and declines the rest: signs, points, leading zeros, 1 to 20
// digits, stray characters.
func TestPlainAmountAgreesWithGeneral(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	alphabet := []byte("0123456789.-+e,x ")
	accepted := 0
	for range 200_000 {
		n := 1 + rng.IntN(20)
		b := make([]byte, n)
		for i := range b {
			if rng.IntN(10) < 8 {
				b[i] = byte('0' + rng.IntN(10))
			} else {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		fast, ok := parsePlainAmount(b)
		if !ok {
			continue
		}
		accepted++
		general, gok := parseAmountGeneral(b)
		want, err := strconv.ParseFloat(string(b), 64)
		if !gok || err != nil || fast != general || fast != want {
			t.Fatalf("%q: fast path %v, general %v (%v), strconv %v (%v)", b, fast, general, gok, want, err)
		}
	}
	if accepted < 10_000 {
		t.Fatalf("only %d of the random amounts took the fast path", accepted)
	}
	for _, s := range []string{"", "-", "+", ".", "-.", "1e5", "1.2.3", "0x10", "1234567890123456", " 1", "1,5"} {
		if f, ok := parsePlainAmount([]byte(s)); ok {
			t.Errorf("%q: fast path accepted it as %v", s, f)
		}
	}
}
