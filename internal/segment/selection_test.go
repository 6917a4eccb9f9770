package segment

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// nthElement puts at k what a sort puts there, with the smaller values before and the larger after,
// on random, sorted, reversed, constant and few-valued inputs of many sizes.
func TestNthElementAgreesWithSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := map[string]func(n int) []float64{
		"random": func(n int) []float64 {
			v := make([]float64, n)
			for i := range v {
				v[i] = rng.NormFloat64()
			}
			return v
		},
		"sorted": func(n int) []float64 {
			v := make([]float64, n)
			for i := range v {
				v[i] = float64(i)
			}
			return v
		},
		"reversed": func(n int) []float64 {
			v := make([]float64, n)
			for i := range v {
				v[i] = float64(n - i)
			}
			return v
		},
		"constant": func(n int) []float64 { return make([]float64, n) },
		"three values": func(n int) []float64 {
			v := make([]float64, n)
			for i := range v {
				v[i] = float64(rng.IntN(3))
			}
			return v
		},
	}
	for name, gen := range inputs {
		for _, n := range []int{1, 2, 3, 17, 100, 1001, 50000} {
			for _, k := range []int{0, n / 2, n - 1, rng.IntN(n)} {
				v := gen(n)
				want := slices.Sorted(slices.Values(v))
				nthElement(v, k)
				if v[k] != want[k] {
					t.Fatalf("%s n=%d k=%d: got %v, want %v", name, n, k, v[k], want[k])
				}
				for i := range k {
					if v[i] > v[k] {
						t.Fatalf("%s n=%d k=%d: v[%d]=%v > v[k]=%v", name, n, k, i, v[i], v[k])
					}
				}
				for i := k + 1; i < n; i++ {
					if v[i] < v[k] {
						t.Fatalf("%s n=%d k=%d: v[%d]=%v < v[k]=%v", name, n, k, i, v[i], v[k])
					}
				}
			}
		}
	}
}

// Overall is Aggregate over everyone and TopShare, from one copy of the values.
func TestOverallEqualsAggregateAndTopShare(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 2, 5, 10, 101, 1000, 20000} {
		values := make([]float64, n)
		all := make([]int32, n)
		for i := range values {
			values[i] = math.Floor(rng.ExpFloat64()*100) / 4 // ties too
			all[i] = int32(i)
		}
		total := Sum(values)
		for _, f := range []float64{0.2, 0.5, 0.7, 1} {
			a, share := Overall(values, total, f)
			want := Aggregate(values, all, total)
			if a != want {
				t.Errorf("n=%d: Overall %+v, Aggregate %+v", n, a, want)
			}
			if w := TopShare(values, f); math.Abs(share-w) > 1e-12*math.Max(1, w) {
				t.Errorf("n=%d f=%v: top share %v, TopShare %v", n, f, share, w)
			}
		}
	}
}
