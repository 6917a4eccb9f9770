package segment

import (
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
