package segment

import (
	"math"
	"strings"
	"testing"
)

func ptr(v float64) *float64 { return &v }

func TestValueTierValidate(t *testing.T) {
	tests := []struct {
		name string
		tier ValueTier
		want string // "" for valid
	}{
		{"top 20", ValueTier{TopPercent: ptr(20)}, ""},
		{"top 100", ValueTier{TopPercent: ptr(100)}, ""},
		{"top tiny", ValueTier{TopPercent: ptr(0.001)}, ""},
		{"range", ValueTier{MinPredictedValue: ptr(100), MaxPredictedValue: ptr(500)}, ""},
		{"negative min", ValueTier{MinPredictedValue: ptr(-50)}, ""},
		{"only max", ValueTier{MaxPredictedValue: ptr(10)}, ""},
		{"all three", ValueTier{TopPercent: ptr(10), MinPredictedValue: ptr(1), MaxPredictedValue: ptr(2)}, ""},
		{"empty", ValueTier{}, "sets none of"},
		{"top 0", ValueTier{TopPercent: ptr(0)}, "topPercent must be in (0, 100]"},
		{"top negative", ValueTier{TopPercent: ptr(-5)}, "topPercent must be in (0, 100]"},
		{"top over 100", ValueTier{TopPercent: ptr(100.5)}, "topPercent must be in (0, 100]"},
		{"top NaN", ValueTier{TopPercent: ptr(math.NaN())}, "topPercent must be in (0, 100]"},
		{"min NaN", ValueTier{MinPredictedValue: ptr(math.NaN())}, "minPredictedValue must be a finite number"},
		{"max Inf", ValueTier{MaxPredictedValue: ptr(math.Inf(1))}, "maxPredictedValue must be a finite number"},
		{"min equals max", ValueTier{MinPredictedValue: ptr(5), MaxPredictedValue: ptr(5)}, ""},
		{"min above max", ValueTier{MinPredictedValue: ptr(6), MaxPredictedValue: ptr(5)}, "must not exceed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.tier.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// tierMembers returns the predicted values of the customers matching the tier.
func tierMembers(tier ValueTier, cs []Customer) []float64 {
	var out []float64
	for i := range cs {
		if tier.Match(&cs[i]) {
			out = append(out, cs[i].PredictedValue)
		}
	}
	return out
}

func customersWithValues(values ...float64) []Customer {
	cs := make([]Customer, len(values))
	for i, v := range values {
		cs[i] = Customer{ID: string(rune('a' + i)), PredictedValue: v}
	}
	Percentiles(cs)
	return cs
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestValueTierTopPercent(t *testing.T) {
	ten := customersWithValues(5, 1, 9, 3, 7, 2, 10, 4, 8, 6) // percentiles 10, 20, ..., 100
	ties := customersWithValues(1, 2, 2, 3)                   // percentiles 25, 75, 75, 100
	same := customersWithValues(4, 4, 4, 4, 4)                // all 100
	tests := []struct {
		name string
		cs   []Customer
		top  float64
		want []float64 // predicted values of members, in input order
	}{
		{"top 20 of 10: percentile 80 excluded", ten, 20, []float64{9, 10}},
		{"top 10 of 10", ten, 10, []float64{10}},
		{"top 25 of 10 rounds up to 3", ten, 25, []float64{9, 10, 8}},
		{"top 19.999 of 10", ten, 19.999, []float64{9, 10}},
		{"top 20.001 of 10", ten, 20.001, []float64{9, 10, 8}},
		{"top 5 of 10 still takes one", ten, 5, []float64{10}},
		{"top 100 of 10", ten, 100, []float64{5, 1, 9, 3, 7, 2, 10, 4, 8, 6}},
		{"top 70 of 10 is 7, not 8", ten, 70, []float64{5, 9, 7, 10, 4, 8, 6}},
		{"ties: top 25 is the maximum", ties, 25, []float64{3}},
		{"ties: a tie straddling the boundary is included whole", ties, 26, []float64{2, 2, 3}},
		{"ties: top 50 includes the tie", ties, 50, []float64{2, 2, 3}},
		{"ties: top 75 excludes the minimum", ties, 75, []float64{2, 2, 3}},
		{"ties: top 76 includes the minimum", ties, 76, []float64{1, 2, 2, 3}},
		{"all equal: everyone is top", same, 1, []float64{4, 4, 4, 4, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tierMembers(ValueTier{TopPercent: ptr(tt.top)}, tt.cs)
			if !equalFloats(got, tt.want) {
				t.Errorf("topPercent %v: members %v, want %v", tt.top, got, tt.want)
			}
		})
	}
}

func TestValueTierTopPercentRounding(t *testing.T) {
	// For every n and every integer k, topPercent = 100k/n takes exactly k customers despite
	// floating-point rounding in both the percentile and the threshold.
	for n := 1; n <= 200; n++ {
		values := make([]float64, n)
		for i := range values {
			values[i] = float64(i)
		}
		cs := customersWithValues(values...)
		for k := 1; k <= n; k++ {
			top := 100 * float64(k) / float64(n)
			if got := len(tierMembers(ValueTier{TopPercent: &top}, cs)); got != k {
				t.Fatalf("n=%d topPercent=%v: %d members, want %d", n, top, got, k)
			}
		}
	}
}

func TestValueTierRange(t *testing.T) {
	cs := customersWithValues(0, 99.99, 100, 250, 499.99, 500, 1000, -5)
	tests := []struct {
		name     string
		min, max *float64
		want     []float64
	}{
		{"min inclusive", ptr(100), nil, []float64{100, 250, 499.99, 500, 1000}},
		{"max exclusive", nil, ptr(100), []float64{0, 99.99, -5}},
		{"both", ptr(100), ptr(500), []float64{100, 250, 499.99}},
		{"negative values", ptr(-10), ptr(0), []float64{-5}},
		{"min equals max matches nobody", ptr(100), ptr(100), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tierMembers(ValueTier{MinPredictedValue: tt.min, MaxPredictedValue: tt.max}, cs)
			if !equalFloats(got, tt.want) {
				t.Errorf("members %v, want %v", got, tt.want)
			}
		})
	}

	// Adjacent tiers partition the customers.
	tiers := []ValueTier{
		{MaxPredictedValue: ptr(100)},
		{MinPredictedValue: ptr(100), MaxPredictedValue: ptr(500)},
		{MinPredictedValue: ptr(500)},
	}
	for i := range cs {
		n := 0
		for _, tier := range tiers {
			if tier.Match(&cs[i]) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("value %v is in %d tiers, want 1", cs[i].PredictedValue, n)
		}
	}
}

func TestValueTierCombined(t *testing.T) {
	cs := customersWithValues(5, 1, 9, 3, 7, 2, 10, 4, 8, 6)
	tier := ValueTier{TopPercent: ptr(50), MaxPredictedValue: ptr(9)}
	if got, want := tierMembers(tier, cs), []float64{7, 8, 6}; !equalFloats(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}
	// An invalid tier matches nobody.
	if got := tierMembers(ValueTier{TopPercent: ptr(0)}, cs); len(got) != 0 {
		t.Errorf("invalid tier matched %v", got)
	}
}
