package summary

import (
	"bytes"
	"syscall"
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
	cpu0 := processCPU()
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
	// CPU time (all goroutines, GC included): a steadier figure than ns/op on a shared machine
	b.ReportMetric(float64(processCPU()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
}

func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func BenchmarkReadCSV100k(b *testing.B) { benchReadCSV(b, 100_000) }
func BenchmarkReadCSV1M(b *testing.B)   { benchReadCSV(b, 1_000_000) }
