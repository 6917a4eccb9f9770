package pipeline

import (
	"context"
	"io"
	"sync"
	"syscall"
	"testing"

	"github.com/ltv-operator/ltv-operator/internal/summary"
	"github.com/ltv-operator/ltv-operator/internal/synth"
)

// summarySource hands out a summary built once, so that benchmarks time the models only.
type summarySource struct{ s *summary.Summary }

func (s summarySource) Summarize(context.Context, summary.Columns, summary.Options) (*summary.Summary, error) {
	return s.s, nil
}

var synth1M struct {
	once sync.Once
	s    *summary.Summary
	err  error
}

// synthSummary1M is the summary of internal/synth's shop with 1M customers in its 5 default
// channels (about 9.5M rows), streamed from the generator into the summary builder.
func synthSummary1M(b *testing.B, cfg Config) *summary.Summary {
	synth1M.once.Do(func() {
		pr, pw := io.Pipe()
		go func() {
			_, err := synth.Write(pw, synth.Config{Customers: 1_000_000, Seed: 1})
			pw.CloseWithError(err)
		}()
		synth1M.s, synth1M.err = summary.ReadCSV(pr, cfg.Columns, summary.Options{CalibrationEnd: cfg.ObservationEnd, Unit: cfg.Unit})
	})
	if synth1M.err != nil {
		b.Fatal(synth1M.err)
	}
	return synth1M.s
}

// BenchmarkFitBy1M times a BG/NBD + Gamma-Gamma run on 1M customers (weeks, 12 months, breakdown
// by channel, no intervals) without and with model.fitBy: channel (5 channels); the difference is
// what partitioned fits add end to end.
func BenchmarkFitBy1M(b *testing.B) {
	cfg := synthConfig()
	cfg.Unit = summary.Week
	cfg.BreakdownBy = []string{"channel"}
	sum := synthSummary1M(b, cfg)
	for _, fitBy := range []string{"", "channel"} {
		name := "pooled"
		if fitBy != "" {
			name = "fitBy=" + fitBy
		}
		b.Run(name, func(b *testing.B) {
			c := cfg
			c.FitBy = fitBy
			start := cpuSeconds()
			defer func() { b.ReportMetric((cpuSeconds()-start)/float64(b.N), "cpu-s/op") }()
			for i := 0; i < b.N; i++ {
				res, _, err := Run(context.Background(), c, summarySource{sum})
				if err != nil {
					b.Fatal(err)
				}
				if fitBy != "" && (res.FitBy == nil || len(res.FitBy.Values) != 5) {
					b.Fatalf("fitBy %+v", res.FitBy)
				}
			}
		})
	}
}

// cpuSeconds is the process's user + system CPU time: on a shared machine, wall time measures the
// neighbours as much as the code.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
