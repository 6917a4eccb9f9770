package pipeline

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// The top customers are the first k of a full sort by value (descending), ties by id.
func TestTopCustomersEqualsFullSort(t *testing.T) {
	end := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 5000
	app := summary.NewAppender(summary.Options{CalibrationEnd: end}, nil)
	values := make([]ltv.CustomerValue, n)
	for i := range n {
		app.Append(summary.Customer{ID: fmt.Sprintf("c%05d", i), FirstPurchase: end.AddDate(0, -3, 0), LastPurchase: end})
		values[i].CLV = float64(rng.IntN(50)) // many ties
	}
	s := &Scores{Summary: app.Summary(), values: &perCustomer{values: values}}
	want := make([]int, n)
	for i := range want {
		want[i] = i
	}
	sort.Slice(want, func(a, b int) bool {
		if values[want[a]].CLV != values[want[b]].CLV {
			return values[want[a]].CLV > values[want[b]].CLV
		}
		return s.Summary.ID(want[a]) < s.Summary.ID(want[b])
	})
	for _, k := range []int{1, 7, 100, n, n + 10} {
		got := topCustomers(Config{TopCustomers: k}, s)
		if len(got) != min(k, n) {
			t.Fatalf("k=%d: %d rows", k, len(got))
		}
		for j, r := range got {
			if r.ID != s.Summary.ID(want[j]) {
				t.Fatalf("k=%d: row %d is %s (%.0f), want %s (%.0f)", k, j, r.ID, r.PredictedValue, s.Summary.ID(want[j]), values[want[j]].CLV)
			}
		}
	}
}
