package postgres

import (
	"context"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ltv-operator/ltv-operator/internal/report"
	"github.com/ltv-operator/ltv-operator/internal/testutil/pgtest"
)

// BenchmarkWriteStreams shows that Write streams: the rows are synthesised on the fly (the input
// holds no memory), so what the Go heap gains during the write is the sink's and pgx's own, and
// it must not grow with the number of rows (pgx's CopyFrom sends 64 KiB chunks):
//
//	go test -run '^$' -bench WriteStreams -benchtime 1x ./internal/sink/postgres/
//
// peak-heap-MB is the largest growth of the heap's objects (live and not yet collected) over the
// heap after a GC before the write, sampled every 2 ms; peak-live-MB the largest growth of the
// heap marked live by the GC cycles during the write (what the sink retains, garbage aside).
// alloc-B/row is the per-row garbage. pg-cpu-s/Mrow is the CPU time of the server backend that
// runs the DELETE and the COPY per million rows, go-cpu-s/Mrow this process's (generator, sink,
// pgx, GC).
func BenchmarkWriteStreams(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"100k", 100_000}, {"1M", 1_000_000}, {"3M", 3_000_000}} {
		b.Run(size.name, func(b *testing.B) { benchWrite(b, size.n) })
	}
}

func benchWrite(b *testing.B, n int) {
	dsn := pgtest.NewDatabase(b)
	ctx := context.Background()
	var backend atomic.Int32
	sink := &Sink{DSN: dsn, Table: "customer_ltv", Configure: func(cfg *pgx.ConnConfig) {
		cfg.AfterConnect = func(_ context.Context, c *pgconn.PgConn) error {
			backend.Store(int32(c.PID()))
			return nil
		}
	}}
	// the table is created outside the measurement, and dropped afterwards (3M rows are ~1 GB)
	if _, err := sink.Write(ctx, "bench/warm-up", computedAt, generated(0)); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pgtest.Exec(b, dsn, "DROP TABLE customer_ltv") })
	backend.Store(0)

	runtime.GC()
	s := startSampling(&backend, 2*time.Millisecond)
	var cpu0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &cpu0)
	b.ResetTimer()
	for i := range b.N {
		if i > 0 { // every iteration copies into an empty table; the DELETE finds nothing
			b.StopTimer()
			pgtest.Exec(b, dsn, "TRUNCATE customer_ltv")
			b.StartTimer()
		}
		if got, err := sink.Write(ctx, "bench/streams", computedAt, generated(n)); err != nil || got != int64(n) {
			b.Fatalf("wrote %d rows of %d: %v", got, n, err)
		}
	}
	b.StopTimer()
	var cpu1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &cpu1)
	r := s.stop()

	rows := float64(n) * float64(b.N)
	b.ReportMetric(float64(r.peakObjects)/1e6, "peak-heap-MB")
	b.ReportMetric(float64(r.peakLive)/1e6, "peak-live-MB")
	b.ReportMetric(float64(r.allocated)/rows, "alloc-B/row")
	b.ReportMetric(rows/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(r.pgCPU.Seconds()/rows*1e6, "pg-cpu-s/Mrow")
	goCPU := time.Duration(cpu1.Utime.Nano() + cpu1.Stime.Nano() - cpu0.Utime.Nano() - cpu0.Stime.Nano())
	b.ReportMetric(goCPU.Seconds()/rows*1e6, "go-cpu-s/Mrow")
}

// generated yields n rows made up as they are asked for, every column filled (the attributes
// and segments shared: the pipeline builds them per row, which is garbage here as there).
func generated(n int) Rows {
	attrs := map[string]string{"channel": "email", "country": "PL"}
	segs := []string{"vip", "at-risk"}
	return func(fn func(report.CustomerRow) error) error {
		var id []byte
		for i := range n {
			id = strconv.AppendInt(append(id[:0], "cust-"...), int64(i), 10)
			v := float64(i%1000) / 10
			alive, none, lo, hi := 0.8, 0.3, 0.5*v, 1.5*v
			r := report.CustomerRow{
				ID: string(id), Attributes: attrs, Frequency: i % 20, Recency: 12.5, Age: 52, Monetary: 31.4,
				HistoricRevenue: 3 * v, HistoricValue: v, ExpectedPurchases: 1.7, ProbabilityAlive: 0.9,
				PredictedValue: v, TotalValue: 2 * v, Segments: segs,
				ProbabilityAliveAfterWindow: &alive, ProbabilityNoPurchase: &none, NextPurchaseDate: "2026-02-14",
				PredictedValueLower: &lo, PredictedValueUpper: &hi,
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
}

// sampling watches the heap and the server backend in a goroutine until stop.
type sampling struct {
	backend *atomic.Int32
	quit    chan struct{}
	done    chan sampled
}

type sampled struct {
	peakObjects, peakLive uint64 // growth over the start
	allocated             uint64
	pgCPU                 time.Duration
}

const (
	heapObjects = "/memory/classes/heap/objects:bytes"
	heapLive    = "/gc/heap/live:bytes"
	heapAllocs  = "/gc/heap/allocs:bytes"
)

func startSampling(backend *atomic.Int32, every time.Duration) *sampling {
	s := &sampling{backend: backend, quit: make(chan struct{}), done: make(chan sampled, 1)}
	m := []metrics.Sample{{Name: heapObjects}, {Name: heapLive}, {Name: heapAllocs}}
	metrics.Read(m)
	objects0, live0, allocs0 := m[0].Value.Uint64(), m[1].Value.Uint64(), m[2].Value.Uint64()
	go func() {
		var r sampled
		// a backend's CPU time is read while it lives (it exits when Write closes its
		// connection): the last reading of each backend counts, at most a tick short
		var pid int32
		var last, finished time.Duration
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			metrics.Read(m)
			r.peakObjects = max(r.peakObjects, m[0].Value.Uint64()-min(objects0, m[0].Value.Uint64()))
			r.peakLive = max(r.peakLive, m[1].Value.Uint64()-min(live0, m[1].Value.Uint64()))
			if p := s.backend.Load(); p != 0 {
				if p != pid {
					finished, last, pid = finished+last, 0, p
				}
				if t, ok := cpuTime(p); ok {
					last = t
				}
			}
			select {
			case <-s.quit:
				r.allocated = m[2].Value.Uint64() - allocs0
				r.pgCPU = finished + last
				s.done <- r
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *sampling) stop() sampled {
	close(s.quit)
	return <-s.done
}

// cpuTime is the user and system time of process pid (Linux: /proc/pid/stat, in clock ticks of
// 10 ms, USER_HZ being 100 on every Linux the operator runs on).
func cpuTime(pid int32) (time.Duration, bool) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
	if err != nil {
		return 0, false
	}
	// fields after the command, which is in parentheses and may hold spaces: state is the
	// first, utime the 12th and stime the 13th
	s := string(stat)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}
