package summary

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func testdata(name string) string { return filepath.Join("..", "..", "testdata", name) }

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func readCSVFile(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open(testdata(name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

var cdnowCols = Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount"}

// TestCDNOWReproducesPublishedRFM checks the summary against the published 39-week RFM summary of
// the CDNOW sample, customer by customer.
func TestCDNOWReproducesPublishedRFM(t *testing.T) {
	f, err := os.Open(testdata("cdnow_sample_transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ReadCSV(f, cdnowCols, Options{CalibrationEnd: date("1997-09-30"), Unit: Week})
	if err != nil {
		t.Fatal(err)
	}
	want := readCSVFile(t, "cdnow_sample_rfm_39w.csv")[1:]
	if len(s.Customers()) != len(want) || len(want) != 2357 {
		t.Fatalf("got %d customers, the published summary has %d", len(s.Customers()), len(want))
	}
	byID := make(map[string]Customer, len(s.Customers()))
	for _, c := range s.Customers() {
		byID[c.ID] = c
	}
	var repeat, transactions int
	for _, w := range want {
		c, ok := byID[w[0]]
		if !ok {
			t.Fatalf("customer %s missing", w[0])
		}
		x, _ := strconv.Atoi(w[1])
		tx, _ := strconv.ParseFloat(w[2], 64)
		T, _ := strconv.ParseFloat(w[3], 64)
		zbar, _ := strconv.ParseFloat(w[4], 64)
		if c.Frequency != x {
			t.Errorf("customer %s: x = %d, published %d", c.ID, c.Frequency, x)
		}
		for _, v := range []struct {
			name      string
			got, want float64
		}{{"t_x", c.Recency, tx}, {"T", c.Age, T}, {"zbar", c.Monetary, zbar}} {
			// the file has 2 decimals, rounded half up: |got - published| <= 0.005
			if math.Abs(v.got-v.want) > 0.005+1e-9 {
				t.Errorf("customer %s: %s = %.4f, published %.2f", c.ID, v.name, v.got, v.want)
			}
		}
		if x > 0 {
			repeat++
		}
		transactions += x + 1
	}
	if repeat != 946 {
		t.Errorf("%d repeat buyers, the literature has 946", repeat)
	}
	if s.Transactions != transactions {
		t.Errorf("Transactions = %d, want %d", s.Transactions, transactions)
	}
	if s.Rows != 6919 {
		t.Errorf("Rows = %d, want 6919", s.Rows)
	}
	if s.Digest == "" || s.InvalidRows != 0 {
		t.Errorf("digest %q, invalid rows %d", s.Digest, s.InvalidRows)
	}
}
