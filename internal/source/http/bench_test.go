package httpsource

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/parquet-go/parquet-go"

	"github.com/ltv-operator/ltv-operator/internal/summary"
	"github.com/ltv-operator/ltv-operator/internal/synth"
)

var benchCols = summary.Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount", Attributes: []string{"channel", "country"}}

var benchOpts = summary.Options{CalibrationEnd: synth.DefaultStart.AddDate(0, 0, synth.DefaultDays-1), Unit: summary.Week}

// benchGzip is the synthetic shop's log, gzip-compressed: the file named by LTV_HTTP_BENCH_FILE
// (for example the output of `go run ./cmd/ltv-synth -customers 1000000 -out /tmp/x.csv.gz`)
// when set, else generated in memory.
func benchGzip(b *testing.B, customers int) []byte {
	b.Helper()
	if name := os.Getenv("LTV_HTTP_BENCH_FILE"); name != "" {
		data, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := synth.Write(zw, synth.Config{Customers: customers, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// benchParquet converts the log to Parquet (string ID, DATE, DOUBLE, string attributes; zstd).
func benchParquet(b *testing.B, gz []byte) []byte {
	b.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		b.Fatal(err)
	}
	r := csv.NewReader(zr)
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		b.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	type row struct {
		CustomerID string  `parquet:"customer_id,dict"`
		Date       int32   `parquet:"date,date"`
		Amount     float64 `parquet:"amount"`
		Channel    string  `parquet:"channel,dict"`
		Country    string  `parquet:"country,dict"`
	}
	var out bytes.Buffer
	w := parquet.NewGenericWriter[row](&out, parquet.Compression(&parquet.Zstd))
	batch := make([]row, 0, 10000)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		d, err := time.Parse(time.DateOnly, rec[col["date"]])
		if err != nil {
			b.Fatal(err)
		}
		amount, _ := strconv.ParseFloat(rec[col["amount"]], 64)
		batch = append(batch, row{rec[col["customer_id"]], int32(d.Unix() / 86400), amount, rec[col["channel"]], rec[col["country"]]})
		if len(batch) == cap(batch) {
			if _, err := w.Write(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if _, err := w.Write(batch); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return out.Bytes()
}

// benchHTTP serves data over loopback and summarises it per iteration; MB/s are of the bytes on
// the wire.
func benchHTTP(b *testing.B, data []byte, format Format) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
	}))
	defer srv.Close()
	src, err := New(Config{URL: srv.URL + "/tx", Format: format, MaxBytes: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := processCPU()
	var customers int
	for b.Loop() {
		s, err := src.Summarize(context.Background(), benchCols, benchOpts)
		if err != nil {
			b.Fatal(err)
		}
		customers = len(s.Customers())
	}
	b.ReportMetric(float64(customers), "customers")
	b.ReportMetric(float64(processCPU()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
}

func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkReadCSVGzip1M is summary.ReadCSV of the same bytes from memory: the baseline for
// the HTTP figures.
func BenchmarkReadCSVGzip1M(b *testing.B) {
	data := benchGzip(b, 1_000_000)
	b.SetBytes(int64(len(data)))
	cpu0 := processCPU()
	for b.Loop() {
		if _, err := summary.ReadCSV(bytes.NewReader(data), benchCols, benchOpts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
}

func BenchmarkHTTPCSVGzip1M(b *testing.B) { benchHTTP(b, benchGzip(b, 1_000_000), FormatCSV) }

func BenchmarkHTTPCSVGzip100k(b *testing.B) { benchHTTP(b, benchGzip(b, 100_000), FormatCSV) }

func BenchmarkHTTPParquet100k(b *testing.B) {
	benchHTTP(b, benchParquet(b, benchGzip(b, 100_000)), FormatParquet)
}

func BenchmarkHTTPParquet1M(b *testing.B) {
	benchHTTP(b, benchParquet(b, benchGzip(b, 1_000_000)), FormatParquet)
}
