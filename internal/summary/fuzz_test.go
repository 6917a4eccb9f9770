package summary

import (
	"bytes"
	"compress/gzip"
	"math"
	"sort"
	"testing"
)

// FuzzReadCSV checks that no input makes ReadCSV panic, and that whatever it returns is
// consistent.
func FuzzReadCSV(f *testing.F) {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write([]byte(formatsCSV))
	w.Close()
	for _, seed := range []string{
		formatsCSV,
		gz.String(),
		"customer_id,date,amount,channel\r\na,1997-01-01T10:00:00+02:00,1.5,x\r\na,19970105,-2,y\r\n",
		"customer_id,date,amount,channel\n\"a\"\"b\",\"1997-01-01\",\"3\",\"x\ny\"\n",
		"customer_id,date,amount,channel\n\"unterminated,1997-01-01,1,x\n",
		"customer_id,date,amount,channel\n\"a\"b,1997-01-01,1,x\na,1997-10-02,1,x\n",
		"\xef\xbb\xbfcustomer_id,date,amount,channel\na,1997-09-30 23:59:59.999,1e2,\n",
		"customer_id,date,amount,channel\na,1997-01-01,1,x,extra\n,1997-01-01,1,x\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []Options{
			{CalibrationEnd: calEnd97},
			{CalibrationEnd: calEnd97, ObservationEnd: date("1998-06-30"), Unit: Day, Returns: ReturnsExclude, MaxInvalidRows: 1000},
			{CalibrationEnd: calEnd97, Unit: Month, Returns: ReturnsReject, MaxInvalidRows: 3},
		} {
			s, err := ReadCSV(bytes.NewReader(data), withAttr, opts)
			if err != nil {
				if s != nil {
					t.Fatal("a summary and an error")
				}
				continue
			}
			if len(s.Customers()) == 0 || s.InvalidRows > opts.MaxInvalidRows || len(s.InvalidSamples) > 5 {
				t.Fatalf("inconsistent summary %+v", s)
			}
			if !sort.SliceIsSorted(s.Customers(), func(i, j int) bool { return s.Customer(i).ID < s.Customer(j).ID }) {
				t.Fatal("customers not sorted")
			}
			tx := 0
			for _, c := range s.Customers() {
				if c.ID == "" || c.Frequency < 0 || c.Recency < 0 || c.Recency > c.Age || c.Orders < c.Frequency+1 ||
					c.LastPurchase.Before(c.FirstPurchase) || len(c.Attributes) != 1 ||
					math.IsNaN(c.Monetary) || math.IsInf(c.HistoricValue, 0) || c.HoldoutTransactions < 0 {
					t.Fatalf("inconsistent customer %+v", c)
				}
				tx += c.Frequency + 1
			}
			if tx != s.Transactions {
				t.Fatalf("transactions %d, customers' %d", s.Transactions, tx)
			}
		}
	})
}
