package summary

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"syscall"
	"testing"
	"time"

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
		if s.Len() != customers || s.Rows != rows {
			b.Fatalf("%d customers, %d rows", s.Len(), s.Rows)
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

// BenchmarkBuilderAdd100k measures Builder.Add and Finish on the rows of the 100k-customer
// synthetic shop (parsed outside the timer).
func BenchmarkBuilderAdd100k(b *testing.B) {
	var buf bytes.Buffer
	if _, err := synth.Write(&buf, synth.Config{Customers: 100_000, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	type row struct {
		id     string
		ts     time.Time
		amount float64
		attrs  []string
	}
	rows := make([]row, len(recs)-1)
	for i, r := range recs[1:] {
		ts, _ := time.Parse(time.DateOnly, r[1])
		a, _ := strconv.ParseFloat(r[2], 64)
		rows[i] = row{r[0], ts, a, r[3:5]}
	}
	opts := Options{CalibrationEnd: synth.DefaultStart.AddDate(0, 0, synth.DefaultDays-1), Unit: Week}
	b.ReportAllocs()
	for b.Loop() {
		bl := NewBuilder(opts, benchCols.Attributes)
		for _, r := range rows {
			if err := bl.Add(r.id, r.ts, r.amount, r.attrs); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := bl.Finish(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(rows)), "ns/row")
}
