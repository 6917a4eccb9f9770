package summary

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

// Amounts so large that their sums overflow float64 (two rows of 1e308 make +Inf) are refused
// with the row, the column and the reason, instead of reaching the results as +Inf.
func TestReadCSVRefusesAmountsThatOverflow(t *testing.T) {
	in := "customer_id,date,amount\na,1997-01-01,1e308\na,1997-02-01,1e308\nb,1997-01-01,5\n"
	_, err := ReadCSV(strings.NewReader(in), simple, Options{CalibrationEnd: calEnd97})
	var re *RowError
	if !errors.As(err, &re) || re.Line != 2 || re.Column != "amount" || !strings.Contains(re.Reason, "largest amount") {
		t.Fatalf("want a row error on line 2, column amount: %v", err)
	}
	if !strings.Contains(err.Error(), `line 2: column "amount": "1e308"`) {
		t.Errorf("message: %v", err)
	}
	// skipped as invalid rows when allowed: the rest is summarised and finite
	s, err := ReadCSV(strings.NewReader(in), simple, Options{CalibrationEnd: calEnd97, MaxInvalidRows: 2})
	if err != nil || s.InvalidRows != 2 || len(s.Customers()) != 1 || math.IsInf(s.Revenue, 0) {
		t.Fatalf("%v %+v", err, s)
	}
	// the largest accepted amount, and its negative, pass
	ok := "customer_id,date,amount\na,1997-01-01,1e15\na,1997-02-01,-1e15\n"
	if _, err := ReadCSV(strings.NewReader(ok), simple, Options{CalibrationEnd: calEnd97}); err != nil {
		t.Fatal(err)
	}
}

func TestBuilderRefusesAmountsThatOverflow(t *testing.T) {
	b := NewBuilder(Options{CalibrationEnd: calEnd97, MaxInvalidRows: 5}, nil)
	day := time.Date(1997, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, a := range []float64{math.MaxFloat64, -1e300, 1e16} {
		err := b.Add("a", day, a, nil)
		var re *RowError
		if !errors.As(err, &re) || re.Column != "amount" || !strings.Contains(re.Reason, "largest amount") {
			t.Fatalf("amount %g: %v", a, err)
		}
	}
	if err := b.Add("a", day, 12.5, nil); err != nil {
		t.Fatal(err)
	}
	s, err := b.Finish()
	if err != nil || s.InvalidRows != 3 || s.Revenue != 12.5 {
		t.Fatalf("%v %+v", err, s)
	}
}

// Customer ids that cannot be stored in a PostgreSQL text column or written unambiguously to
// CSV (a NUL byte, invalid UTF-8) are refused with the row.
func TestCustomerIDsWithNULOrInvalidUTF8AreRefused(t *testing.T) {
	for _, id := range []string{"a\x00b", "\xff\xfe", "caf\xe9"} {
		in := "customer_id,date,amount\nok,1997-01-01,5\n" + id + ",1997-01-01,5\n"
		_, err := ReadCSV(strings.NewReader(in), simple, Options{CalibrationEnd: calEnd97})
		var re *RowError
		if !errors.As(err, &re) || re.Line != 3 || re.Column != "customer_id" {
			t.Fatalf("id %q: %v", id, err)
		}
		if !strings.Contains(re.Reason, "NUL") && !strings.Contains(re.Reason, "UTF-8") {
			t.Errorf("id %q: reason %q", id, re.Reason)
		}
		if strings.ContainsRune(err.Error(), 0) || !strings.Contains(err.Error(), "line 3") {
			t.Errorf("message %q", err.Error())
		}
		b := NewBuilder(Options{CalibrationEnd: calEnd97}, nil)
		if err := b.Add(id, time.Date(1997, 1, 1, 0, 0, 0, 0, time.UTC), 1, nil); !errors.As(err, &re) || re.Column != "customerID" {
			t.Errorf("Builder.Add(%q): %v", id, err)
		}
	}
	// valid multi-byte UTF-8 is a customer like any other
	s, err := ReadCSV(strings.NewReader("customer_id,date,amount\nzoë,1997-01-01,5\n顧客,1997-01-02,5\n"), simple, Options{CalibrationEnd: calEnd97})
	if err != nil || len(s.Customers()) != 2 {
		t.Fatalf("%v %+v", err, s)
	}
}

// A gzip stream cut short says so (the gzip stream, truncated) and wraps ErrTruncatedInput.
func TestReadCSVTruncatedGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for i := range 2000 {
		if i == 0 {
			io.WriteString(zw, "customer_id,date,amount\n")
		}
		io.WriteString(zw, "c"+strings.Repeat("x", i%7)+",1997-01-01,5\n")
	}
	zw.Close()
	cut := buf.Bytes()[:buf.Len()/2]
	_, err := ReadCSV(bytes.NewReader(cut), simple, Options{CalibrationEnd: calEnd97})
	if !errors.Is(err, ErrTruncatedInput) || !strings.Contains(err.Error(), "gzip stream is truncated") {
		t.Fatalf("want a truncated gzip stream: %v", err)
	}
}
