package segment

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

var channels = []string{"email", "paid_search", "organic", "referral", "social"}

// genCustomers returns n plausible customers (deterministic for a seed) with percentiles filled.
func genCustomers(n int, seed uint64) []Customer {
	r := rand.New(rand.NewPCG(seed, 1))
	cs := make([]Customer, n)
	attrs := make([]map[string]string, len(channels))
	for i, ch := range channels {
		attrs[i] = map[string]string{"channel": ch, "country": "PL"}
	}
	for i := range cs {
		age := 1 + r.Float64()*545 // days
		x := int64(r.ExpFloat64() * 2)
		recency := 0.0
		if x > 0 {
			recency = r.Float64() * age
		}
		first := testEnd.Add(-time.Duration(age * 24 * float64(time.Hour))).Truncate(24 * time.Hour)
		cs[i] = Customer{
			ID:                fmt.Sprintf("c%07d", i),
			Frequency:         x,
			Recency:           recency,
			Age:               age,
			Monetary:          r.Float64() * 80,
			HistoricValue:     r.Float64() * 500,
			FirstPurchase:     first,
			LastPurchase:      first.Add(time.Duration(recency * 24 * float64(time.Hour))),
			Attributes:        attrs[r.IntN(len(attrs))],
			ExpectedPurchases: r.Float64() * 5,
			ProbabilityAlive:  r.Float64(),
			PredictedValue:    r.ExpFloat64() * 120,
			Orders:            x + 1 + int64(r.IntN(2)),
		}
	}
	Percentiles(cs)
	return cs
}

// directAssign is the reference: a plain loop over Match.
func directAssign(t *testing.T, defs []Definition, cs []Customer) [][]int32 {
	t.Helper()
	out := make([][]int32, len(defs))
	for d, def := range defs {
		out[d] = []int32{}
		for i := range cs {
			if def.Tier != nil && !def.Tier.Match(&cs[i]) {
				continue
			}
			if def.Filter != nil {
				ok, err := def.Filter.Match(&cs[i], testEnd)
				if err != nil {
					t.Fatalf("Match: %v", err)
				}
				if !ok {
					continue
				}
			}
			out[d] = append(out[d], int32(i))
		}
	}
	return out
}

func testDefinitions(t testing.TB) []Definition {
	return []Definition{
		{Name: "high-value-about-to-churn", Filter: mustCompile(t, "customer.predictedValue > 200.0 && customer.probabilityAlive < 0.3")},
		{Name: "top-20", Tier: &ValueTier{TopPercent: ptr(20)}},
		{Name: "email-mid-value", Filter: mustCompile(t, "'channel' in customer.attributes && customer.attributes['channel'] == 'email'"),
			Tier: &ValueTier{MinPredictedValue: ptr(50), MaxPredictedValue: ptr(500)}},
		{Name: "lapsed", Filter: mustCompile(t, "observationEnd - customer.lastPurchase > duration('2160h')")},
		{Name: "loyal", Filter: mustCompile(t, "customer.frequency >= 3 && customer.valuePercentile > 50.0")},
		{Name: "nobody", Filter: mustCompile(t, "customer.orders < 0")},
	}
}

func TestAssignMatchesDirectLoop(t *testing.T) {
	defs := testDefinitions(t)
	for _, n := range []int{0, 1, assignChunk - 1, assignChunk, assignChunk + 1, 50_000} {
		cs := genCustomers(n, uint64(n))
		want := directAssign(t, defs, cs)
		for _, procs := range []int{1, 3, 8} {
			t.Run(fmt.Sprintf("n=%d/procs=%d", n, procs), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				got, err := Assign(defs, cs, testEnd)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(defs) {
					t.Fatalf("%d member lists, want %d", len(got), len(defs))
				}
				for d := range defs {
					if !slices.Equal(got[d], want[d]) {
						t.Errorf("%s: %d members, want %d", defs[d].Name, len(got[d]), len(want[d]))
					}
					if got[d] == nil {
						t.Errorf("%s: nil member list, want empty", defs[d].Name)
					}
				}
			})
		}
	}
	// Sanity: the segments are neither empty nor everyone on the big sample.
	cs := genCustomers(50_000, 50_000)
	got, _ := Assign(defs[:5], cs, testEnd)
	for d, m := range got {
		if len(m) == 0 || len(m) == len(cs) {
			t.Errorf("%s: %d of %d customers; the test data does not exercise it", defs[d].Name, len(m), len(cs))
		}
	}
}

func TestAssignErrors(t *testing.T) {
	cs := genCustomers(20_000, 7)
	for _, i := range []int{19_000, 5_000, 9_000, 12_345} {
		cs[i].Attributes = map[string]string{"country": "DE"}
	}
	strict := mustCompile(t, "customer.attributes['channel'] == 'email'")

	t.Run("lowest failing customer is reported", func(t *testing.T) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
		defs := []Definition{
			{Name: "fine", Filter: mustCompile(t, "customer.frequency > 1")},
			{Name: "email", Filter: strict},
		}
		for range 20 {
			_, err := Assign(defs, cs, testEnd)
			if err == nil {
				t.Fatal("Assign succeeded, want an error")
			}
			want := `segment "email": customer "c0005000": no such key: channel`
			if err.Error() != want {
				t.Fatalf("error %q, want %q", err, want)
			}
		}
	})
	t.Run("tier is checked first", func(t *testing.T) {
		// Only customers below the tier's maximum reach the filter; make the failing ones exceed it.
		for _, i := range []int{19_000, 5_000, 9_000, 12_345} {
			cs[i].PredictedValue = 1e9
		}
		defs := []Definition{{Name: "email-low", Filter: strict, Tier: &ValueTier{MaxPredictedValue: ptr(1e6)}}}
		if _, err := Assign(defs, cs, testEnd); err != nil {
			t.Fatalf("Assign: %v", err)
		}
	})
	t.Run("bad definitions", func(t *testing.T) {
		for _, tt := range []struct {
			def  Definition
			want string
		}{
			{Definition{Name: "empty"}, `segment "empty" has neither a filter nor a value tier`},
			{Definition{Name: "bad-tier", Tier: &ValueTier{TopPercent: ptr(0)}}, `segment "bad-tier": value tier topPercent must be in (0, 100]`},
		} {
			_, err := Assign([]Definition{tt.def}, cs, testEnd)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Assign(%s) = %v, want %q", tt.def.Name, err, tt.want)
			}
		}
	})
	t.Run("no definitions", func(t *testing.T) {
		got, err := Assign(nil, cs, testEnd)
		if err != nil || len(got) != 0 {
			t.Errorf("Assign(nil) = %v, %v", got, err)
		}
	})
}
