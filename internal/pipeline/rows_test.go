package pipeline

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/report"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// segmentedScores has n customers in three segments: everyone, the even ones and the multiples
// of three.
func segmentedScores(n int) *Scores {
	end := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	app := summary.NewAppender(summary.Options{CalibrationEnd: end}, nil)
	values := make([]ltv.CustomerValue, n)
	var all, even, third []int32
	for i := range n {
		app.Append(summary.Customer{ID: fmt.Sprintf("c%07d", i), FirstPurchase: end.AddDate(0, -3, 0), LastPurchase: end})
		values[i].CLV = float64(i)
		all = append(all, int32(i))
		if i%2 == 0 {
			even = append(even, int32(i))
		}
		if i%3 == 0 {
			third = append(third, int32(i))
		}
	}
	return &Scores{Summary: app.Summary(), values: &perCustomer{values: values}, SegmentNames: []string{"all", "even", "third"}, Members: [][]int32{all, even, third}}
}

func wantSegments(i int) []string {
	out := []string{"all"}
	if i%2 == 0 {
		out = append(out, "even")
	}
	if i%3 == 0 {
		out = append(out, "third")
	}
	return out
}

// Rows streams: the first row comes before anything proportional to the number of customers is
// allocated (the sink writes millions of rows; an index of every customer's segments would cost
// more than the summary itself), and every row still names its segments.
func TestRowsStreams(t *testing.T) {
	const n = 200_000
	s := segmentedScores(n)
	var before, first runtime.MemStats
	runtime.ReadMemStats(&before)
	i := 0
	err := s.Rows(func(r report.CustomerRow) error {
		if i == 0 {
			runtime.ReadMemStats(&first)
		}
		if r.ID != s.Summary.ID(i) || !slices.Equal(r.Segments, wantSegments(i)) {
			return fmt.Errorf("row %d: %s in %q, want %s in %q", i, r.ID, r.Segments, s.Summary.ID(i), wantSegments(i))
		}
		i++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Fatalf("%d rows, want %d", i, n)
	}
	// 64 KiB is far below n of anything and far above a row's few allocations
	if grew := first.TotalAlloc - before.TotalAlloc; grew > 64<<10 {
		t.Errorf("%d bytes allocated before the first of %d rows", grew, n)
	}
}

// The top customers name their segments too.
func TestTopCustomersSegments(t *testing.T) {
	s := segmentedScores(1000)
	top := topCustomers(Config{TopCustomers: 5}, s)
	for j, r := range top {
		i := 999 - j // values rise with the index
		if r.ID != s.Summary.ID(i) || !slices.Equal(r.Segments, wantSegments(i)) {
			t.Errorf("top %d: %s in %q, want %s in %q", j, r.ID, r.Segments, s.Summary.ID(i), wantSegments(i))
		}
	}
}
