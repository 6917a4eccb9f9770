package ltv

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
)

// P(no purchase in (T, T+w] | alive) for heavy buyers, where A(u) decays like e^{-(r+x) v}:
// the per-row quadrature and the tabulated curve against 20,000 panels of a 16-point rule,
// within 1e-10 relative. (A single 64-point rule over [0, v(w)], the per-row path before issue
// 12, was off by up to 96% here.)
func TestParetoNoPurchaseHeavyBuyers(t *testing.T) {
	m, err := NewParetoNBD(0.6, 3, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [][3]float64{{11000, 20, 90}, {11000, 20, 12.857}, {3000, 116, 90}, {900, 20, 90}, {40, 45, 90}} {
		x, T, w := c[0], c[1], c[2]
		aT, bT, k := m.Alpha+T, m.Beta+T, m.R+x
		A := func(u float64) float64 { return math.Exp(-k * math.Log1p(u/aT)) }
		S := func(u float64) float64 { return math.Exp(-m.S * math.Log1p(u/bT)) }
		B := func(u float64) float64 { return m.S / bT * math.Exp(-(m.S+1)*math.Log1p(u/bT)) }
		V := math.Log1p(w / aT)
		const P = 20000
		integral := 0.0
		for p := 0; p < P; p++ {
			a, b := V*float64(p)/P, V*float64(p+1)/P
			integral += quad.Fixed(func(v float64) float64 {
				u := aT * math.Expm1(v)
				return A(u) * B(u) * aT * math.Exp(v)
			}, a, b, 16, quad.Legendre{}, 0)
		}
		want := A(w)*S(w) + integral
		var cv pnbdCurve
		cv.reset(m, x, T)
		for name, got := range map[string]float64{"curve": cv.at(w), "per row": m.noPurchaseIfAlive(w, x, T)} {
			if math.Abs(got-want) > 1e-10*want {
				t.Errorf("x=%v T=%v w=%v: %s %.12g, want %.12g", x, T, w, name, got, want)
			}
		}
	}
}
