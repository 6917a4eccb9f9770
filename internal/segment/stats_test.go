package segment

import (
	"math"
	"testing"
)

// tenValues are ten customers' predicted values; sorted: 0, 9.5, 15.25, 35.5, 52, 88, 120,
// 199.75, 260, 410; total 1190.
var tenValues = []float64{120, 35.5, 0, 410, 88, 15.25, 260, 52, 199.75, 9.5}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestPercentiles(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		want   []float64
	}{
		{"ten distinct", tenValues, []float64{70, 40, 10, 100, 60, 30, 90, 50, 80, 20}},
		{"ties share the upper percentile", []float64{3, 1, 3, 2}, []float64{100, 25, 100, 50}},
		{"all equal", []float64{7, 7, 7}, []float64{100, 100, 100}},
		{"one", []float64{-3}, []float64{100}},
		{"negative and zero", []float64{0, -1, 1}, []float64{200.0 / 3, 100.0 / 3, 100}},
		{"NaN sorts lowest", []float64{math.NaN(), 1}, []float64{50, 100}},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := make([]Customer, len(tt.values))
			for i, v := range tt.values {
				cs[i].PredictedValue = v
			}
			Percentiles(cs)
			for i := range cs {
				if cs[i].ValuePercentile != tt.want[i] {
					t.Errorf("customer %d (value %v): percentile %v, want %v", i, tt.values[i], cs[i].ValuePercentile, tt.want[i])
				}
			}
		})
	}
}

func TestAggregate(t *testing.T) {
	tests := []struct {
		name    string
		members []int32
		total   float64
		want    Aggregates
	}{
		{"all", []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 1190,
			Aggregates{Customers: 10, AverageLTV: 119, MedianLTV: 70, TotalLTV: 1190, ValueShare: 1}},
		{"even count", []int32{0, 3, 6, 8}, 1190, // 120, 410, 260, 199.75
			Aggregates{Customers: 4, AverageLTV: 247.4375, MedianLTV: 229.875, TotalLTV: 989.75, ValueShare: 989.75 / 1190}},
		{"odd count", []int32{9, 1, 5}, 1190, // 9.5, 35.5, 15.25
			Aggregates{Customers: 3, AverageLTV: 60.25 / 3, MedianLTV: 15.25, TotalLTV: 60.25, ValueShare: 60.25 / 1190}},
		{"one", []int32{2}, 1190,
			Aggregates{Customers: 1, AverageLTV: 0, MedianLTV: 0, TotalLTV: 0, ValueShare: 0}},
		{"empty", nil, 1190, Aggregates{}},
		{"total zero: no share", []int32{3}, 0,
			Aggregates{Customers: 1, AverageLTV: 410, MedianLTV: 410, TotalLTV: 410}},
		{"total negative: no share", []int32{3}, -5,
			Aggregates{Customers: 1, AverageLTV: 410, MedianLTV: 410, TotalLTV: 410}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Aggregate(tenValues, tt.members, tt.total)
			if got.Customers != tt.want.Customers || !near(got.AverageLTV, tt.want.AverageLTV) ||
				!near(got.MedianLTV, tt.want.MedianLTV) || !near(got.TotalLTV, tt.want.TotalLTV) ||
				!near(got.ValueShare, tt.want.ValueShare) {
				t.Errorf("Aggregate = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAggregateCompensatedSum(t *testing.T) {
	// 1e16 + 1 + 1 - 1e16: a naive left-to-right sum gives 0.
	values := []float64{1e16, 1, 1, -1e16}
	if got := Aggregate(values, []int32{0, 1, 2, 3}, 2).TotalLTV; got != 2 {
		t.Errorf("TotalLTV = %v, want 2", got)
	}
}

func TestTopShare(t *testing.T) {
	tests := []struct {
		name     string
		values   []float64
		fraction float64
		want     float64
	}{
		{"top 20% of 10 is 2", tenValues, 0.2, (410 + 260) / 1190.0},
		{"top 10% of 10 is 1", tenValues, 0.1, 410 / 1190.0},
		{"top 25% of 10 is 3", tenValues, 0.25, (410 + 260 + 199.75) / 1190.0},
		{"top 70% of 10 is 7, not 8", tenValues, 0.7, (1190 - 0 - 9.5 - 15.25) / 1190.0},
		{"top 5% of 10 is 1", tenValues, 0.05, 410 / 1190.0},
		{"all", tenValues, 1, 1},
		{"more than all", tenValues, 2, 1},
		{"zero fraction", tenValues, 0, 0},
		{"negative fraction", tenValues, -0.2, 0},
		{"NaN fraction", tenValues, math.NaN(), 0},
		{"no customers", nil, 0.2, 0},
		{"total zero", []float64{0, 0, 0}, 0.2, 0},
		{"total negative", []float64{-5, 3, 1}, 0.5, 0},
		{"negative values can push a share above 1", []float64{-10, 50, 10}, 0.5, 60 / 50.0},
		{"ties", []float64{5, 5, 5, 5}, 0.5, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TopShare(tt.values, tt.fraction); !near(got, tt.want) {
				t.Errorf("TopShare(%v) = %v, want %v", tt.fraction, got, tt.want)
			}
		})
	}
}

// TestTopShareMatchesTier checks that TopShare and ValueTier.TopPercent select the same customers
// when values are distinct.
func TestTopShareMatchesTier(t *testing.T) {
	cs := customersWithValues(tenValues...)
	for _, p := range []float64{5, 10, 20, 25, 33.3, 50, 70, 99, 100} {
		var members []int32
		for i := range cs {
			if (ValueTier{TopPercent: &p}).Match(&cs[i]) {
				members = append(members, int32(i))
			}
		}
		a := Aggregate(tenValues, members, 1190)
		if got := TopShare(tenValues, p/100); !near(got, a.ValueShare) {
			t.Errorf("top %v%%: TopShare %v, tier share %v", p, got, a.ValueShare)
		}
	}
}
