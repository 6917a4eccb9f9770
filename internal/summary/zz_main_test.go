package summary

import (
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"
)

func TestZZReadFile(t *testing.T) {
	path := os.Getenv("RC_FILE")
	if path == "" {
		t.Skip()
	}
	if p := os.Getenv("RC_PROF"); p != "" {
		f, _ := os.Create(p)
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	s, err := ReadCSV(f, benchCols, Options{CalibrationEnd: date("2025-12-31"), Unit: Week})
	if err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("%v: %d customers %d rows, heapsys %d MB, total alloc %d MB, numgc %d", time.Since(start), len(s.Customers), s.Rows, ms.HeapSys>>20, ms.TotalAlloc>>20, ms.NumGC)
}

func BenchmarkZZPlain(b *testing.B) {
	path := os.Getenv("RC_PLAIN")
	if path == "" {
		b.Skip()
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	c0 := cpuNow()
	defer func() { b.ReportMetric(float64(cpuNow()-c0)/float64(b.N), "cpu-ns/op") }()
	for b.Loop() {
		bl := NewBuilder(Options{CalibrationEnd: date("2025-12-31"), Unit: Week}, benchCols.Attributes)
		p, _ := newCSVParser(bl, benchCols)
		p.agg = startAggregator(bl)
		if err := p.feed(raw); err != nil {
			b.Fatal(err)
		}
		if err := p.finish(); err != nil {
			b.Fatal(err)
		}
		p.agg.finish()
		if os.Getenv("RC_FINISH") != "" {
			bl.Finish()
		}
	}
}

func cpuNow() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func TestZZFinish(t *testing.T) {
	path := os.Getenv("RC_PLAIN")
	if path == "" {
		t.Skip()
	}
	raw, _ := os.ReadFile(path)
	bl := NewBuilder(Options{CalibrationEnd: date("2025-12-31"), Unit: Week}, benchCols.Attributes)
	p, _ := newCSVParser(bl, benchCols)
	p.agg = startAggregator(bl)
	p.feed(raw)
	p.finish()
	p.agg.finish()
	nlog := 0
	for _, c := range bl.dayLog {
		nlog += len(c)
	}
	t.Logf("log entries %d", nlog)
	c0 := cpuNow()
	if pp := os.Getenv("RC_PROF"); pp != "" {
		f, _ := os.Create(pp)
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	s, err := bl.Finish()
	t.Logf("Finish: %d customers, %.0f ms cpu", len(s.Customers), float64(cpuNow()-c0)/1e6)
	_ = err
}
