package summary

import (
	"bytes"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/ltv-operator/ltv-operator/internal/synth"
)

var benchCols = Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount", Attributes: []string{"channel", "country"}}

// synthGzip generates a synthetic shop's log, gzip-compressed, in memory.
func synthGzip(tb testing.TB, customers int) (data []byte, rows int) {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	rows, err := synth.Write(zw, synth.Config{Customers: customers, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), rows
}

// benchReadCSV measures ReadCSV on gzip-compressed synthetic data (generated outside the timer;
// MB/s are of compressed input).
func benchReadCSV(b *testing.B, customers int) {
	raw, rows := synthGzip(b, customers)
	opts := Options{CalibrationEnd: synth.DefaultStart.AddDate(0, 0, synth.DefaultDays-1), Unit: Week}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := ReadCSV(bytes.NewReader(raw), benchCols, opts)
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Customers) != customers || s.Rows != rows {
			b.Fatalf("%d customers, %d rows", len(s.Customers), s.Rows)
		}
	}
	b.ReportMetric(float64(rows), "rows/op")
}

func BenchmarkReadCSV100k(b *testing.B) { benchReadCSV(b, 100_000) }
func BenchmarkReadCSV1M(b *testing.B)   { benchReadCSV(b, 1_000_000) }
